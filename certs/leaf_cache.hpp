#pragma once
// leaf_cache: minted leaves by host, bounded, least recently used out first. Concurrent
// first connections to a host wait for one mint instead of each minting their own.

#include "certs/leaf_minter.hpp"

#include <condition_variable>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace creditgate::certs {

class leaf_cache {
public:
    leaf_cache(std::shared_ptr<const certificate_authority> ca, std::size_t capacity);

    // The leaf for `host` (normalised), minting it if needed. Null with `error` on failure.
    std::shared_ptr<const leaf> get(const std::string& host, std::string& error);

    std::size_t mints() const;  // how many leaves were minted (for tests and metrics)
    const certificate_authority& ca() const { return *ca_; }

private:
    struct entry {
        std::shared_ptr<const leaf> value;  // null while its mint is under way
        std::list<std::string>::iterator lru;
    };
    std::shared_ptr<const certificate_authority> ca_;
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable minted_;
    std::unordered_map<std::string, entry> entries_;
    std::list<std::string> lru_;  // front = most recent
    std::size_t mints_ = 0;
};

}  // namespace creditgate::certs
