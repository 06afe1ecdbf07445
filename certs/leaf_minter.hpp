#pragma once
// leaf_minter: an ECDSA P-256 server certificate for one host, signed by the local CA:
// DNS SAN for the host, serverAuth, valid 90 days (well under browsers' 200-day cap) and
// backdated an hour for clock skew. RSA is never minted: its key generation takes 140+ ms.

#include "certs/ca.hpp"

#include <memory>
#include <string>

namespace creditgate::certs {

struct leaf {
    std::string host;
    x509_ptr cert;
    evp_pkey_ptr key;
};

// Null with `error` when OpenSSL fails.
std::shared_ptr<const leaf> mint_leaf(const certificate_authority& ca, const std::string& host, std::string& error);

}  // namespace creditgate::certs
