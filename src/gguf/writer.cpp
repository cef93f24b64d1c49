#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "gguf/gguf.h"

namespace hearth::gguf {

namespace {

void put_bytes(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
template <typename T>
void put(std::string& out, T v) {
  put_bytes(out, &v, sizeof(T));
}
void put_str(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

[[noreturn]] void mismatch(const std::string& key, ValueType t) {
  fail("gguf writer: metadata key '{}': the value does not hold a {}", key, value_type_name(t));
}

// The range of an integer (or bool) type; fails for other types.
void int_range(const std::string& key, ValueType t, int64_t* lo, uint64_t* hi) {
  *lo = 0;
  switch (t) {
    case ValueType::UINT8:
      *hi = UINT8_MAX;
      return;
    case ValueType::UINT16:
      *hi = UINT16_MAX;
      return;
    case ValueType::UINT32:
      *hi = UINT32_MAX;
      return;
    case ValueType::UINT64:
      *hi = UINT64_MAX;
      return;
    case ValueType::INT8:
      *lo = INT8_MIN, *hi = INT8_MAX;
      return;
    case ValueType::INT16:
      *lo = INT16_MIN, *hi = INT16_MAX;
      return;
    case ValueType::INT32:
      *lo = INT32_MIN, *hi = INT32_MAX;
      return;
    case ValueType::INT64:
      *lo = INT64_MIN, *hi = INT64_MAX;
      return;
    case ValueType::BOOL:
      *hi = 1;
      return;
    default:
      mismatch(key, t);
  }
}

uint64_t signed_bits(const std::string& key, ValueType t, int64_t i) {
  int64_t lo;
  uint64_t hi;
  int_range(key, t, &lo, &hi);
  if (i < lo || (i >= 0 && static_cast<uint64_t>(i) > hi))
    fail("gguf writer: metadata key '{}': {} does not fit in a {}", key, i, value_type_name(t));
  return static_cast<uint64_t>(i);
}

uint64_t unsigned_bits(const std::string& key, ValueType t, uint64_t u) {
  int64_t lo;
  uint64_t hi;
  int_range(key, t, &lo, &hi);
  if (u > hi) fail("gguf writer: metadata key '{}': {} does not fit in a {}", key, u, value_type_name(t));
  return u;
}

// Integer bits of a scalar integer/bool value, checked to fit type t.
uint64_t int_bits(const std::string& key, ValueType t, const Value::Scalar& sc) {
  if (auto* b = std::get_if<bool>(&sc)) return unsigned_bits(key, t, *b ? 1 : 0);
  if (auto* u = std::get_if<uint64_t>(&sc)) return unsigned_bits(key, t, *u);
  if (auto* i = std::get_if<int64_t>(&sc)) return signed_bits(key, t, *i);
  mismatch(key, t);
}

void put_int(std::string& out, ValueType t, uint64_t bits) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      put<uint8_t>(out, static_cast<uint8_t>(bits));
      break;
    case ValueType::UINT16:
    case ValueType::INT16:
      put<uint16_t>(out, static_cast<uint16_t>(bits));
      break;
    case ValueType::UINT32:
    case ValueType::INT32:
      put<uint32_t>(out, static_cast<uint32_t>(bits));
      break;
    default:
      put<uint64_t>(out, bits);
      break;
  }
}

void put_value(std::string& out, const std::string& key, const Value& v) {
  put<uint32_t>(out, static_cast<uint32_t>(v.type));
  switch (v.type) {
    case ValueType::STRING: {
      auto* s = std::get_if<std::string>(&v.scalar);
      if (!s) mismatch(key, v.type);
      put_str(out, *s);
      return;
    }
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: {
      auto* d = std::get_if<double>(&v.scalar);
      if (!d) mismatch(key, v.type);
      if (v.type == ValueType::FLOAT32)
        put<float>(out, static_cast<float>(*d));
      else
        put<double>(out, *d);
      return;
    }
    case ValueType::ARRAY:
      break;
    default:
      put_int(out, v.type, int_bits(key, v.type, v.scalar));
      return;
  }
  if (v.elem_type == ValueType::ARRAY)
    fail("gguf writer: metadata key '{}': nested arrays are not supported", key);
  if (static_cast<uint32_t>(v.elem_type) > static_cast<uint32_t>(ValueType::FLOAT64))
    fail("gguf writer: metadata key '{}': unknown array element type", key);
  put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
  put<uint64_t>(out, v.array_size());
  if (v.elem_type == ValueType::STRING) {
    for (auto& s : v.strings) put_str(out, s);
  } else if (v.elem_type == ValueType::FLOAT32) {
    for (double d : v.floats) put<float>(out, static_cast<float>(d));
  } else if (v.elem_type == ValueType::FLOAT64) {
    for (double d : v.floats) put<double>(out, d);
  } else {
    for (int64_t i : v.ints) {
      uint64_t bits;
      if (v.elem_type == ValueType::BOOL) bits = i != 0;
      // uint64 arrays store values above INT64_MAX wrapped (see Value::ints): write their bits back.
      else if (v.elem_type == ValueType::UINT64)
        bits = static_cast<uint64_t>(i);
      else
        bits = signed_bits(key, v.elem_type, i);
      put_int(out, v.elem_type, bits);
    }
  }
}

}  // namespace

void Writer::set(const std::string& key, Value v) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  kv_.emplace_back(key, std::move(v));
}

void Writer::add_tensor(const std::string& name, tensor::Type type, std::vector<int64_t> ne) {
  const auto& ti = tensor::type_info(type);
  if (!ti.name) fail("gguf writer: unknown tensor type for '{}'", name);
  if (name.empty()) fail("gguf writer: a tensor has an empty name");
  if (fd_ >= 0) fail("gguf writer: tensor '{}' added after begin()", name);
  if (ne.empty() || ne.size() > 4) fail("gguf writer: tensor '{}' must have 1 to 4 dimensions", name);
  uint64_t n = 1;
  for (auto d : ne) {
    if (d <= 0) fail("gguf writer: tensor '{}' has a non-positive dimension", name);
    if (mul_overflow(n, static_cast<uint64_t>(d), &n)) fail("gguf writer: tensor '{}' shape overflows", name);
  }
  if (ne[0] % ti.block_size)
    fail("gguf writer: tensor '{}' row length {} is not a multiple of {}", name, ne[0], ti.block_size);
  uint64_t nbytes;
  if (mul_overflow(n / static_cast<uint64_t>(ti.block_size), ti.type_size, &nbytes))
    fail("gguf writer: tensor '{}' is too large", name);
  for (auto& t : tensors_)
    if (t.name == name) fail("gguf writer: duplicate tensor '{}'", name);
  tensors_.push_back(Pending{name, type, std::move(ne), nbytes, 0});
}

void Writer::write_raw(const void* p, uint64_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd_, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      abort();
      fail("cannot write {}: {}", path_, std::strerror(e));
    }
    c += w;
    n -= static_cast<uint64_t>(w);
    pos_ += static_cast<uint64_t>(w);
  }
}

void Writer::write_zeros(uint64_t n) {
  static const char zeros[4096] = {};
  while (n > 0) {
    const uint64_t k = std::min<uint64_t>(n, sizeof(zeros));
    write_raw(zeros, k);
    n -= k;
  }
}

void Writer::begin(const std::string& path) {
  if (fd_ >= 0) fail("gguf writer: begin() called twice");
  // An explicit general.alignment key wins (metadata copied from another file); otherwise it is added
  // when the alignment is not the default.
  for (auto& [k, v] : kv_) {
    if (k != "general.alignment") continue;
    auto* a = std::get_if<uint64_t>(&v.scalar);
    if (v.type != ValueType::UINT32 || !a) fail("gguf writer: general.alignment must be a u32");
    alignment_ = *a;
  }
  if (alignment_ == 0 || alignment_ > (1ull << 31) || (alignment_ & (alignment_ - 1)) != 0)
    fail("gguf writer: alignment {} is not a power of two (1 .. 2^31)", alignment_);
  if (alignment_ != 32) set("general.alignment", Value::u32(static_cast<uint32_t>(alignment_)));
  std::string h;
  h += "GGUF";
  put<uint32_t>(h, 3);
  put<uint64_t>(h, tensors_.size());
  put<uint64_t>(h, kv_.size());
  for (auto& [k, v] : kv_) {
    if (k.empty()) fail("gguf writer: empty metadata key");
    put_str(h, k);
    put_value(h, k, v);
  }
  uint64_t off = 0;
  for (auto& t : tensors_) {
    t.offset = off;
    put_str(h, t.name);
    put<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
    for (auto d : t.ne) put<uint64_t>(h, static_cast<uint64_t>(d));
    put<uint32_t>(h, static_cast<uint32_t>(t.type));
    put<uint64_t>(h, off);
    const uint64_t padded = t.nbytes + (alignment_ - t.nbytes % alignment_) % alignment_;
    if (padded < t.nbytes || add_overflow(off, padded, &off)) fail("gguf writer: tensor data too large");
  }
  const uint64_t header_pad = (alignment_ - h.size() % alignment_) % alignment_;

  path_ = path;
  std::random_device rd;
  tmp_path_ = fmt::format("{}.tmp-{:08x}", path, rd());
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int e = errno;
    tmp_path_.clear();
    fail("cannot create {}.tmp-*: {}", path, std::strerror(e));
  }
  pos_ = 0;
  write_raw(h.data(), h.size());
  write_zeros(header_pad);
  cur_tensor_ = 0;
  cur_written_ = 0;
}

void Writer::write_data(const void* data, uint64_t size) {
  if (fd_ < 0) fail("gguf writer: write_data before begin");
  if (cur_tensor_ >= tensors_.size()) fail("gguf writer: more tensor data than tensors");
  const auto& t = tensors_[cur_tensor_];
  if (size > t.nbytes - cur_written_) fail("gguf writer: too much data for tensor '{}'", t.name);
  if (size > 0 && data == nullptr) fail("gguf writer: null data for tensor '{}'", t.name);
  write_raw(data, size);
  cur_written_ += size;
  if (cur_written_ == t.nbytes) {
    write_zeros((alignment_ - t.nbytes % alignment_) % alignment_);
    ++cur_tensor_;
    cur_written_ = 0;
  }
}

void Writer::finish() {
  if (fd_ < 0) fail("gguf writer: finish before begin");
  if (cur_tensor_ != tensors_.size()) {
    abort();
    fail("gguf writer: {} of {} tensors were written", cur_tensor_, tensors_.size());
  }
  if (::fsync(fd_) != 0) {
    int e = errno;
    abort();
    fail("cannot sync {}: {}", tmp_path_, std::strerror(e));
  }
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) {
    std::filesystem::remove(tmp_path_);
    fail("cannot move {} into place: {}", path_, ec.message());
  }
  tmp_path_.clear();
}

void Writer::abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  tmp_path_.clear();
}

Writer::~Writer() { abort(); }

}  // namespace hearth::gguf
