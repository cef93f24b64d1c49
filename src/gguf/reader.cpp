// gguf reader: parses and validates one GGUF file (or one part of a split model) from untrusted bytes.
// Every count, length, offset and size is checked against the bytes really present before it is used,
// so a bad file gets one hearth::Error naming the key or tensor and the offset, never a crash.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "gguf/gguf.h"

namespace hearth::gguf {

namespace {

constexpr uint64_t kMaxStringLen = 1ull << 30;  // no metadata string is a gigabyte
constexpr uint64_t kMaxArrayLen = 1ull << 32;
constexpr uint64_t kMaxKeys = 1ull << 20;
constexpr uint64_t kMaxTensors = 1ull << 24;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxDim = 1ull << 40;
constexpr uint64_t kMaxElements = 1ull << 48;
// Smallest encodings: a key-value (8-byte key length, 1-byte key, 4-byte type, 1-byte value) and a
// tensor info (8-byte name length, 1-byte name, 4-byte dims, one 8-byte dim, 4-byte type, 8-byte offset).
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorBytes = 8 + 1 + 4 + 8 + 4 + 8;

uint64_t saturating_add(uint64_t a, uint64_t b) {
  uint64_t r;
  return add_overflow(a, b, &r) ? UINT64_MAX : r;
}
uint64_t saturating_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  return mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

// A bounds-checked little-endian reader over untrusted bytes. `context` names what is being read
// (" of metadata key 'x'", " of tensor 'y'") so every error says where it happened.
class Cursor {
 public:
  Cursor(const uint8_t* p, uint64_t size, const std::string& name) : p_(p), size_(size), name_(name) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const std::string& name() const { return name_; }
  const std::string& context() const { return ctx_; }
  void set_context(std::string ctx) { ctx_ = std::move(ctx); }

  void need(uint64_t n, const char* what) {
    if (n > remaining())
      throw TruncatedError(
          fmt::format("{}: truncated: the file ends at byte {} while reading {}{} at offset {} "
                      "({} more bytes needed)",
                      name_, size_, what, ctx_, pos_, n - remaining()),
          saturating_add(pos_, n));
  }
  // `n` items of at least `min_bytes` each must fit in what is left (checked before allocating for them);
  // `at` is where the count was read.
  void need_items(uint64_t n, uint64_t min_bytes, const char* what, uint64_t at) {
    if (n > remaining() / min_bytes)
      throw TruncatedError(fmt::format("{}: truncated or corrupt: {}{} at offset {} is {}, but only {} bytes "
                                       "follow (each item takes at least {} bytes)",
                                       name_, what, ctx_, at, n, remaining(), min_bytes),
                           saturating_add(pos_, saturating_mul(n, min_bytes)));
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    const uint64_t at = pos_;
    const uint64_t len = read<uint64_t>(what);
    if (len > kMaxStringLen)
      fail("{}: {}{} at offset {} has an absurd length {} (more than {} bytes)", name_, what, ctx_, at, len,
           kMaxStringLen);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
  std::string ctx_;
};

uint64_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
      return 8;
    case ValueType::STRING:
      return 8;  // at least its length
    case ValueType::ARRAY:
      return 12;  // at least its element type and length
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

// Reads one integer or bool scalar of type t (element of an int array or a scalar value).
int64_t read_int_bits(Cursor& c, ValueType t, const char* what) {
  switch (t) {
    case ValueType::UINT8:
      return c.read<uint8_t>(what);
    case ValueType::INT8:
      return c.read<int8_t>(what);
    case ValueType::UINT16:
      return c.read<uint16_t>(what);
    case ValueType::INT16:
      return c.read<int16_t>(what);
    case ValueType::UINT32:
      return c.read<uint32_t>(what);
    case ValueType::INT32:
      return c.read<int32_t>(what);
    case ValueType::UINT64:
      return static_cast<int64_t>(c.read<uint64_t>(what));
    case ValueType::INT64:
      return c.read<int64_t>(what);
    case ValueType::BOOL: {
      const uint64_t at = c.pos();
      const uint8_t b = c.read<uint8_t>(what);
      if (b > 1)
        fail("{}: invalid boolean value {}{} at offset {} (must be 0 or 1)", c.name(), b, c.context(), at);
      return b;
    }
    default:
      break;
  }
  fail("{}: internal error: {} is not an integer type", c.name(), value_type_name(t));
}

void read_scalar(Cursor& c, ValueType t, Value& v) {
  const char* what = "the value";
  switch (t) {
    case ValueType::UINT8:
    case ValueType::UINT16:
    case ValueType::UINT32:
    case ValueType::UINT64:
      v.scalar = static_cast<uint64_t>(read_int_bits(c, t, what));
      break;
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64:
      v.scalar = read_int_bits(c, t, what);
      break;
    case ValueType::BOOL:
      v.scalar = read_int_bits(c, t, what) != 0;
      break;
    case ValueType::FLOAT32:
      v.scalar = double{c.read<float>(what)};
      break;
    case ValueType::FLOAT64:
      v.scalar = c.read<double>(what);
      break;
    case ValueType::STRING:
      v.scalar = c.read_string("the string value");
      break;
    case ValueType::ARRAY:
      fail("{}: internal error: an array is not a scalar{}", c.name(), c.context());
  }
}

void read_array(Cursor& c, Value& v) {
  const uint64_t type_at = c.pos();
  const uint32_t et = c.read<uint32_t>("the array element type");
  if (!valid_type(et))
    fail("{}: unknown array element type {}{} at offset {}", c.name(), et, c.context(), type_at);
  v.elem_type = static_cast<ValueType>(et);
  if (v.elem_type == ValueType::ARRAY)
    fail("{}: nested arrays are not supported (the element type{} at offset {})", c.name(), c.context(),
         type_at);
  const uint64_t len_at = c.pos();
  const uint64_t n = c.read<uint64_t>("the array length");
  if (n > kMaxArrayLen)
    fail("{}: array length {}{} at offset {} is absurd (more than {} elements)", c.name(), n, c.context(),
         len_at, kMaxArrayLen);
  c.need_items(n, scalar_size(v.elem_type), "the array length", len_at);
  switch (v.elem_type) {
    case ValueType::STRING:
      v.strings.reserve(n);
      for (uint64_t j = 0; j < n; ++j) v.strings.push_back(c.read_string("a string array element"));
      break;
    case ValueType::FLOAT32:
      v.floats.resize(n);
      for (uint64_t j = 0; j < n; ++j) v.floats[j] = c.read<float>("an array element");
      break;
    case ValueType::FLOAT64:
      v.floats.resize(n);
      for (uint64_t j = 0; j < n; ++j) v.floats[j] = c.read<double>("an array element");
      break;
    default:
      v.ints.resize(n);
      for (uint64_t j = 0; j < n; ++j) v.ints[j] = read_int_bits(c, v.elem_type, "an array element");
      break;
  }
}

}  // namespace

std::vector<std::pair<std::string, Value>> File::parse(const uint8_t* p, uint64_t size, int split,
                                                       bool header_only, const std::string& name) {
  Cursor c(p, size, name);
  c.need(4, "the magic");
  if (std::memcmp(p, "GGUF", 4) != 0)
    fail("{}: not a GGUF file (magic bytes are {:02x} {:02x} {:02x} {:02x}, expected 'GGUF')", name, p[0],
         p[1], p[2], p[3]);
  c.read<uint32_t>("the magic");
  const uint32_t version = c.read<uint32_t>("the version");
  if (version == 1) fail("{}: GGUF version 1 is obsolete and not supported (convert it to version 3)", name);
  if (version == 0x02000000u || version == 0x03000000u)
    fail("{}: big-endian GGUF files are not supported (version field {:#010x})", name, version);
  if (version != 2 && version != 3)
    fail("{}: unsupported GGUF version {} (hearth reads 2 and 3)", name, version);
  if (split == 0) version_ = version;
  const uint64_t n_tensors = c.read<uint64_t>("the tensor count");
  const uint64_t n_kv = c.read<uint64_t>("the metadata count");
  if (n_kv > kMaxKeys)
    fail("{}: metadata count {} at offset 16 is absurd (more than {})", name, n_kv, kMaxKeys);
  if (n_tensors > kMaxTensors)
    fail("{}: tensor count {} at offset 8 is absurd (more than {})", name, n_tensors, kMaxTensors);
  c.need_items(n_kv, kMinKvBytes, "the metadata count", 16);
  c.need_items(n_tensors, kMinTensorBytes, "the tensor count", 8);

  // Metadata.
  std::vector<std::pair<std::string, Value>> kv;
  std::unordered_map<std::string, size_t> index;
  kv.reserve(n_kv);
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = c.pos();
    c.set_context(fmt::format(" of metadata entry {}", i));
    std::string key = c.read_string("the key");
    if (key.empty()) fail("{}: metadata entry {} at offset {} has an empty key", name, i, at);
    c.set_context(fmt::format(" of metadata key '{}'", key));
    if (index.count(key)) fail("{}: duplicate metadata key '{}' at offset {}", name, key, at);
    const uint64_t type_at = c.pos();
    const uint32_t t = c.read<uint32_t>("the value type");
    if (!valid_type(t))
      fail("{}: unknown value type {} of metadata key '{}' at offset {}", name, t, key, type_at);
    Value v;
    v.type = static_cast<ValueType>(t);
    if (v.type == ValueType::ARRAY) {
      read_array(c, v);
    } else {
      read_scalar(c, v.type, v);
    }
    if (key == "general.alignment") {
      if (v.type != ValueType::UINT32)
        fail("{}: general.alignment must be a u32, found {} (offset {})", name, value_type_name(v.type), at);
      const uint64_t a = std::get<uint64_t>(v.scalar);
      if (a == 0 || (a & (a - 1)) != 0) fail("{}: general.alignment {} is not a power of two", name, a);
      alignment = a;
    }
    index.emplace(key, kv.size());
    kv.emplace_back(std::move(key), std::move(v));
  }

  // Tensor index.
  const size_t first_tensor = tensors_.size();
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo ti;
    ti.split = split;
    const uint64_t at = c.pos();
    c.set_context(fmt::format(" of tensor {}", i));
    ti.name = c.read_string("the tensor name");
    if (ti.name.empty()) fail("{}: tensor {} at offset {} has an empty name", name, i, at);
    c.set_context(fmt::format(" of tensor '{}'", ti.name));
    if (tensor_index_.count(ti.name)) fail("{}: duplicate tensor name '{}' at offset {}", name, ti.name, at);
    const uint32_t nd = c.read<uint32_t>("the dimension count");
    if (nd == 0 || nd > kMaxDims)
      fail("{}: tensor '{}' has {} dimensions (1 to {} allowed)", name, ti.name, nd, kMaxDims);
    ti.n_dims = static_cast<int>(nd);
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      const uint64_t ne = c.read<uint64_t>("a dimension");
      if (ne == 0 || ne > kMaxDim)
        fail("{}: tensor '{}' dimension {} is {} (must be 1 .. 2^40)", name, ti.name, d, ne);
      if (mul_overflow(n_el, ne, &n_el) || n_el > kMaxElements)
        fail("{}: tensor '{}' shape overflows (more than 2^48 elements)", name, ti.name);
      ti.ne[d] = static_cast<int64_t>(ne);
    }
    const uint32_t type_id = c.read<uint32_t>("the tensor type");
    const auto& tinfo = tensor::type_info(type_id);
    if (!tinfo.name || tinfo.block_size <= 0 || tinfo.type_size == 0)
      fail("{}: tensor '{}' has unknown tensor type id {}", name, ti.name, type_id);
    ti.type = static_cast<tensor::Type>(type_id);
    if (ti.ne[0] % tinfo.block_size != 0)
      fail("{}: tensor '{}' of type {} has row length {}, not a multiple of the block size {}", name, ti.name,
           tinfo.name, ti.ne[0], tinfo.block_size);
    if (mul_overflow(n_el / static_cast<uint64_t>(tinfo.block_size), tinfo.type_size, &ti.nbytes))
      fail("{}: tensor '{}' byte size overflows", name, ti.name);
    ti.offset = c.read<uint64_t>("the tensor offset");
    if (ti.offset % alignment != 0)
      fail("{}: tensor '{}' offset {} is not a multiple of the alignment {}", name, ti.name, ti.offset,
           alignment);
    tensor_index_.emplace(ti.name, tensors_.size());
    tensors_.push_back(std::move(ti));
  }

  // The data section starts at the next multiple of the alignment (alignment <= 2^31, no overflow).
  uint64_t data_off = c.pos();
  if (data_off % alignment) data_off += alignment - data_off % alignment;
  if (split == 0) {
    data_offset_ = data_off;
    header_bytes_size_ = c.pos();
    alignment_ = alignment;
  }
  for (size_t i = first_tensor; i < tensors_.size(); ++i) {
    auto& ti = tensors_[i];
    uint64_t begin, end;
    if (add_overflow(data_off, ti.offset, &begin) || add_overflow(begin, ti.nbytes, &end))
      fail("{}: tensor '{}' offset {} + size {} overflows", name, ti.name, ti.offset, ti.nbytes);
    if (end > size || p == nullptr) {
      if (!header_only)
        fail("{}: truncated: tensor '{}' data (bytes {} to {}) extends beyond the end of the file ({} bytes)",
             name, ti.name, begin, end, size);
      has_data_ = false;
      ti.data = nullptr;
    } else {
      ti.data = p + begin;
    }
  }
  // Tensors must not overlap each other.
  std::vector<size_t> order;
  for (size_t i = first_tensor; i < tensors_.size(); ++i) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const auto& prev = tensors_[order[k - 1]];
    const auto& cur = tensors_[order[k]];
    if (prev.offset + prev.nbytes > cur.offset)  // no overflow: checked above
      fail("{}: tensors '{}' (data offset {}, {} bytes) and '{}' (data offset {}) overlap", name, prev.name,
           prev.offset, prev.nbytes, cur.name, cur.offset);
  }
  if (split == 0) {
    kv_index_ = std::move(index);
    kv_ = std::move(kv);
    return {};
  }
  return kv;
}

std::unique_ptr<File> File::parse_header(const uint8_t* data, uint64_t size, const std::string& name) {
  std::unique_ptr<File> f(new File());
  f->path_ = name;
  f->parse(data, size, 0, true, name);
  // The bytes are not kept: tensor data pointers would dangle.
  for (auto& t : f->tensors_) t.data = nullptr;
  f->has_data_ = false;
  return f;
}

uint64_t File::file_size() const {
  uint64_t s = 0;
  for (auto& m : maps_) s += m.size();
  return s;
}

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const Value& File::get(std::string_view key) const {
  const Value* v = find(key);
  if (!v) fail("{}: required metadata key '{}' is missing", path_, key);
  return *v;
}

std::string File::get_string(std::string_view key) const {
  return get(key).as_string(fmt::format("{}: {}", path_, key));
}
int64_t File::get_int(std::string_view key) const {
  return get(key).as_int(fmt::format("{}: {}", path_, key));
}
double File::get_float(std::string_view key) const {
  return get(key).as_float(fmt::format("{}: {}", path_, key));
}

std::string File::get_string(std::string_view key, const std::string& def) const {
  return find(key) ? get_string(key) : def;
}
int64_t File::get_int(std::string_view key, int64_t def) const { return find(key) ? get_int(key) : def; }
double File::get_float(std::string_view key, double def) const { return find(key) ? get_float(key) : def; }
bool File::get_bool(std::string_view key, bool def) const {
  const Value* v = find(key);
  return v ? v->as_bool(fmt::format("{}: {}", path_, key)) : def;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::release(const void* p, uint64_t n) const {
  for (const auto& m : maps_) m.advise_dontneed(p, n);
}

}  // namespace hearth::gguf
