#include "certs/leaf_cache.hpp"

namespace creditgate::certs {

leaf_cache::leaf_cache(std::shared_ptr<const certificate_authority> ca, std::size_t capacity)
    : ca_(std::move(ca)), capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const leaf> leaf_cache::get(const std::string& host, std::string& error) {
    std::unique_lock lock(mutex_);
    for (;;) {
        auto it = entries_.find(host);
        if (it == entries_.end()) break;
        if (it->second.value) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            return it->second.value;
        }
        minted_.wait(lock);  // another thread mints this host: wait for it (about half a millisecond)
    }
    lru_.push_front(host);
    entries_.emplace(host, entry{nullptr, lru_.begin()});
    lock.unlock();

    auto minted = mint_leaf(*ca_, host, error);  // outside the lock: other hosts go on

    lock.lock();
    auto it = entries_.find(host);
    if (!minted) {
        lru_.erase(it->second.lru);
        entries_.erase(it);
    } else {
        ++mints_;
        it->second.value = minted;
        while (entries_.size() > capacity_) {
            // Evict the least recent finished entry (never one being minted).
            auto victim = std::prev(lru_.end());
            while (!entries_.at(*victim).value && victim != lru_.begin()) --victim;
            if (!entries_.at(*victim).value) break;
            entries_.erase(*victim);
            lru_.erase(victim);
        }
    }
    minted_.notify_all();
    return minted;
}

std::size_t leaf_cache::mints() const {
    std::lock_guard lock(mutex_);
    return mints_;
}

}  // namespace creditgate::certs
