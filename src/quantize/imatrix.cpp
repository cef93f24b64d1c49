#include "quantize/imatrix.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "gguf/gguf.h"

namespace hearth::quantize {

namespace {

constexpr uint32_t kMaxNameLen = 1024;

class Cursor {
 public:
  Cursor(const uint8_t* p, uint64_t n, const std::string& name) : p_(p), n_(n), name_(name) {}
  uint64_t left() const { return n_ - off_; }
  uint64_t offset() const { return off_; }
  int32_t i32(const char* what) {
    need(4, what);
    int32_t v;
    std::memcpy(&v, p_ + off_, 4);
    off_ += 4;
    return v;
  }
  std::string str(uint64_t len, const char* what) {
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + off_), len);
    off_ += len;
    return s;
  }
  const uint8_t* bytes(uint64_t len, const char* what) {
    need(len, what);
    const uint8_t* b = p_ + off_;
    off_ += len;
    return b;
  }

 private:
  void need(uint64_t k, const char* what) {
    if (k > left())
      fail("imatrix file {}: truncated: {} needs {} bytes at offset {}, only {} left", name_, what, k, off_,
           left());
  }
  const uint8_t* p_;
  uint64_t n_, off_ = 0;
  const std::string& name_;
};

void check_values(const std::string& file, const std::string& entry, const std::vector<float>& v) {
  for (size_t j = 0; j < v.size(); ++j) {
    if (!std::isfinite(v[j]))
      fail("imatrix file {}: entry '{}' has a non-finite value at column {}", file, entry, j);
    if (v[j] < 0)
      fail("imatrix file {}: entry '{}' has a negative value ({}) at column {}", file, entry, v[j], j);
  }
}

Imatrix parse_gguf_imatrix(const std::string& path) {
  auto f = gguf::File::open(path, gguf::ReadOptions{.header_only = false, .load_splits = false});
  if (auto* t = f->find("general.type"); t && t->is_string() && t->as_string() != "imatrix")
    fail("{} is not an importance matrix (general.type is '{}')", path, t->as_string());
  Imatrix im;
  im.format = "gguf";
  im.chunks = f->get_int("imatrix.chunk_count", 0);
  if (auto* d = f->find("imatrix.datasets"); d && d->is_array()) {
    for (auto& s : d->strings) im.dataset += (im.dataset.empty() ? "" : ", ") + s;
  }
  const std::string kSums = ".in_sum2", kCounts = ".counts";
  for (const auto& t : f->tensors()) {
    if (!t.name.ends_with(kSums)) continue;
    const std::string name = t.name.substr(0, t.name.size() - kSums.size());
    const gguf::TensorInfo* c = f->find_tensor(name + kCounts);
    if (!c) fail("imatrix file {}: tensor {} has no {}{} tensor", path, t.name, name, kCounts);
    if (t.type != tensor::Type::F32 || c->type != tensor::Type::F32)
      fail("imatrix file {}: {} and {}{} must be F32", path, t.name, name, kCounts);
    if (t.ne[2] != 1 || t.ne[3] != 1)
      fail("imatrix file {}: {} must have at most 2 dimensions ({})", path, t.name, t.shape_string());
    const int64_t ncols = t.ne[0], nmat = t.ne[1];
    if (c->n_elements() != nmat)
      fail("imatrix file {}: {}{} has {} counts for {} matrices", path, name, kCounts, c->n_elements(), nmat);
    if (!t.data || !c->data) fail("imatrix file {}: the data of {} is missing", path, t.name);
    std::vector<float> sums(static_cast<size_t>(ncols * nmat)), counts(static_cast<size_t>(nmat));
    std::memcpy(sums.data(), t.data, sums.size() * sizeof(float));
    std::memcpy(counts.data(), c->data, counts.size() * sizeof(float));
    std::vector<float> e(sums.size());
    for (int64_t j = 0; j < nmat; ++j) {
      const float n = counts[static_cast<size_t>(j)];
      if (!std::isfinite(n) || n < 0)
        fail("imatrix file {}: {}{} has an invalid count ({}) for matrix {}", path, name, kCounts, n, j);
      for (int64_t i = 0; i < ncols; ++i) {
        const size_t k = static_cast<size_t>(j * ncols + i);
        // A matrix that never saw input during calibration: uniform importance.
        e[k] = n > 0 ? sums[k] / n : 1.0f;
      }
    }
    check_values(path, name, e);
    if (!im.data.emplace(name, std::move(e)).second)
      fail("imatrix file {}: duplicate entry '{}'", path, name);
  }
  if (im.data.empty()) fail("{} holds no importance data (no *.in_sum2 tensors)", path);
  return im;
}

}  // namespace

Imatrix parse_legacy_imatrix(const uint8_t* data, uint64_t size, const std::string& name) {
  Cursor c(data, size, name);
  Imatrix im;
  im.format = "legacy";
  const int32_t n = c.i32("the entry count");
  // The smallest entry: name length, a 1-byte name, ncall, nval and one value.
  if (n <= 0 || static_cast<uint64_t>(n) > c.left() / 17)
    fail("imatrix file {}: invalid entry count {} for a file of {} bytes", name, n, size);
  for (int32_t i = 0; i < n; ++i) {
    const int32_t len = c.i32("a name length");
    if (len <= 0 || static_cast<uint32_t>(len) > kMaxNameLen)
      fail("imatrix file {}: entry {} has an invalid name length {} (offset {})", name, i, len,
           c.offset() - 4);
    std::string ename = c.str(static_cast<uint64_t>(len), "an entry name");
    const int32_t ncall = c.i32("a call count");
    if (ncall < 0) fail("imatrix file {}: entry '{}' has a negative call count {}", name, ename, ncall);
    const int32_t nval = c.i32("a value count");
    if (nval <= 0) fail("imatrix file {}: entry '{}' has an invalid value count {}", name, ename, nval);
    if (static_cast<uint64_t>(nval) > c.left() / sizeof(float))
      fail("imatrix file {}: truncated: entry '{}' has {} values ({} bytes) but only {} bytes are left", name,
           ename, nval, static_cast<uint64_t>(nval) * sizeof(float), c.left());
    const uint8_t* p = c.bytes(static_cast<uint64_t>(nval) * sizeof(float), "the values");
    std::vector<float> v(static_cast<size_t>(nval));
    std::memcpy(v.data(), p, v.size() * sizeof(float));
    check_values(name, ename, v);
    // The values are sums over ncall calls: importance is their mean.
    if (ncall > 0)
      for (auto& x : v) x /= static_cast<float>(ncall);
    if (!im.data.emplace(ename, std::move(v)).second)
      fail("imatrix file {}: duplicate entry '{}'", name, ename);
  }
  if (c.left() > 0) {
    // Newer legacy files end with the last call number and the data set's name.
    im.chunks = c.i32("the last call number");
    if (im.chunks < 0) fail("imatrix file {}: negative chunk count {}", name, im.chunks);
    const int32_t dlen = c.i32("the data set name length");
    if (dlen < 0 || static_cast<uint64_t>(dlen) > c.left())
      fail("imatrix file {}: invalid data set name length {}", name, dlen);
    im.dataset = c.str(static_cast<uint64_t>(dlen), "the data set name");
    if (c.left() > 0) fail("imatrix file {}: {} unexpected bytes at the end", name, c.left());
  }
  return im;
}

Imatrix load_imatrix(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail("importance matrix {} not found (or not a file)", path);
  MappedFile m(path);
  if (m.size() >= 4 && std::memcmp(m.data(), "GGUF", 4) == 0) return parse_gguf_imatrix(path);
  if (m.size() < 4) fail("imatrix file {} is too short ({} bytes)", path, m.size());
  return parse_legacy_imatrix(m.data(), m.size(), path);
}

}  // namespace hearth::quantize
