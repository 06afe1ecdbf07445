#pragma once
// host_pattern: host names as the config names them ("api.example.com", "*.example.com",
// "amazon.*") and the normalisation every comparison goes through.

#include <string>
#include <string_view>

namespace creditgate::policies {

// Lower case, trailing dot removed. Does not validate.
std::string normalize_host(std::string_view host);

// Glob match on whole labels: '*' stands for one or more labels, so "*.x.com" matches
// "a.x.com" and "a.b.x.com" but not "x.com". Both sides must already be normalised.
bool host_matches(std::string_view pattern, std::string_view host);

// A syntactically acceptable host name or pattern (letters, digits, '-', '_', dots, '*' labels).
bool is_valid_host_pattern(std::string_view pattern);

}  // namespace creditgate::policies
