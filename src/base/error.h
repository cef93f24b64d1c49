// base: errors, logging, mapped files, buffers, the thread pool, CPU features, UTF-8 helpers.
// Knows nothing of models, tensors or HTTP.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace hearth {

// The one exception type hearth throws for bad input or failed operations. The message is written
// for the user: what is wrong and where.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Overflow-checked arithmetic for sizes read from untrusted input.
inline bool mul_overflow(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }
inline bool add_overflow(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_add_overflow(a, b, out); }

}  // namespace hearth
