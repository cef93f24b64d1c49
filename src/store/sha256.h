// store: SHA-256 (OpenSSL EVP) for verified downloads and content addressing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace hearth::store {

// Incremental SHA-256. hex() finishes the hash (the object can be reset() and reused).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void reset();
  void update(const void* data, size_t n);
  std::string hex();  // 64 lowercase hex digits

 private:
  EVP_MD_CTX* ctx_ = nullptr;
};

std::string sha256_hex(std::string_view data);
// Hash of the first `limit` bytes of a file (all of it by default); throws hearth::Error on I/O errors.
std::string sha256_file(const std::string& path, uint64_t limit = UINT64_MAX);

}  // namespace hearth::store
