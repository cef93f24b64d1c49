// store: the blob downloader. A blob is fetched into <digest>.partial under a per-blob lock, resumed with a
// Range request when a partial exists (or after a dropped connection), retried with backoff on transient
// failures, hashed while it streams, and moved into place only when its sha256 (and size) match.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "store/http.h"
#include "store/local.h"
#include "store/progress.h"

namespace hearth::store {

struct BlobSource {
  std::string url;
  std::vector<std::string> headers;  // e.g. authorization
  std::string digest;                // expected "sha256:<hex>"; empty: unknown (computed, plain URLs)
  uint64_t size = 0;                 // expected size; 0: unknown
  std::string label;                 // shown in progress lines
  bool gguf = false;                 // the data must start with the GGUF magic
};

// Downloads one blob into the store (or finds it there) and returns its digest.
std::string fetch_blob(LocalStore& store, const BlobSource& src, Progress& progress,
                       const http::RetryPolicy& policy);

// Bytes still to download for these blobs (blobs present count 0, partial downloads count what is left).
uint64_t bytes_to_download(const LocalStore& store, const std::vector<BlobSource>& blobs);

// Downloads every blob (after checking that they fit on the disk) and returns their digests, in order.
std::vector<std::string> fetch_all(LocalStore& store, const std::vector<BlobSource>& blobs,
                                   Progress& progress);

}  // namespace hearth::store
