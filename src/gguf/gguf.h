// gguf: read (validated, header-only capable) and write GGUF files; typed metadata access.
// Model files are untrusted: every count, length, offset and size is checked against the real file
// size before use, and a bad file gets one hearth::Error naming what is wrong and where.
// Knows nothing of models or compute.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "tensor/types.h"

namespace hearth::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
const char* value_type_name(ValueType t);

// A metadata value. Scalars keep their GGUF type; arrays hold one element type (no nested arrays).
struct Value {
  ValueType type = ValueType::UINT32;
  ValueType elem_type = ValueType::UINT8;  // for arrays
  using Scalar = std::variant<uint64_t, int64_t, double, bool, std::string>;
  Scalar scalar;
  std::vector<int64_t> ints;         // integer and bool arrays (uint64 values above INT64_MAX wrap)
  std::vector<double> floats;        // float arrays
  std::vector<std::string> strings;  // string arrays

  bool is_array() const { return type == ValueType::ARRAY; }
  bool is_string() const { return type == ValueType::STRING; }
  bool is_integer() const;
  bool is_float() const { return type == ValueType::FLOAT32 || type == ValueType::FLOAT64; }
  size_t array_size() const;
  // Conversions throw hearth::Error (with `what` naming the key) on a type mismatch.
  int64_t as_int(std::string_view what = "value") const;
  double as_float(std::string_view what = "value") const;  // ints convert
  bool as_bool(std::string_view what = "value") const;
  const std::string& as_string(std::string_view what = "value") const;
  std::string to_display(size_t max_items = 8) const;  // for `show`

  static Value u8(uint8_t v);
  static Value i8(int8_t v);
  static Value u16(uint16_t v);
  static Value i16(int16_t v);
  static Value u32(uint32_t v);
  static Value i32(int32_t v);
  static Value u64(uint64_t v);
  static Value i64(int64_t v);
  static Value f32(float v);
  static Value f64(double v);
  static Value boolean(bool v);
  static Value str(std::string v);
  static Value str_array(std::vector<std::string> v);
  static Value f32_array(std::vector<float> v);
  static Value i32_array(std::vector<int32_t> v);
  // Arrays of any integer (or bool) / float element type; the writer checks each value fits the type.
  static Value int_array(ValueType elem, std::vector<int64_t> v);
  static Value float_array(ValueType elem, std::vector<double> v);
};

struct TensorInfo {
  std::string name;
  tensor::Type type = tensor::Type::F32;
  int n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the row length (fastest varying)
  uint64_t offset = 0;           // relative to its file's data section
  uint64_t nbytes = 0;
  int split = 0;                  // which file of a split model
  const uint8_t* data = nullptr;  // null when the data is not present (header-only read)

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  std::string shape_string() const;
};

struct ReadOptions {
  // Accept files whose tensor data is missing or truncated (only metadata + tensor index needed).
  bool header_only = false;
  // Open every part of a split model (name-00001-of-0000N.gguf) as one model.
  bool load_splits = true;
};

// Thrown when the bytes end before the header does (a partial download can fetch more and retry).
class TruncatedError : public Error {
 public:
  TruncatedError(const std::string& msg, uint64_t needed) : Error(msg), needed_(needed) {}
  uint64_t needed() const { return needed_; }  // a lower bound on the bytes the header needs
 private:
  uint64_t needed_;
};

class File {
 public:
  // Open and validate a GGUF file (memory-mapped).
  static std::unique_ptr<File> open(const std::string& path, const ReadOptions& opt = {});
  // Parse a header from bytes (e.g. the first megabytes of a remote file); tensor data is absent.
  static std::unique_ptr<File> parse_header(const uint8_t* data, uint64_t size, const std::string& name);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::string& path() const { return path_; }
  uint64_t file_size() const;                            // total over all split parts
  uint64_t data_offset() const { return data_offset_; }  // of the first part
  bool has_data() const { return has_data_; }            // all tensor data present
  int n_splits() const { return static_cast<int>(maps_.size() > 0 ? maps_.size() : 1); }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed lookups: throw a clear Error when the key is missing or has the wrong type.
  const Value& get(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  double get_float(std::string_view key) const;
  // With defaults when the key is absent (still an error when present with a wrong type).
  std::string get_string(std::string_view key, const std::string& def) const;
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key, double def) const;
  bool get_bool(std::string_view key, bool def) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // The tensor data in [p, p + n) will not be read for a while (e.g. a backend keeps its own copy):
  // drop the mapped pages (reads map them again from the page cache).
  void release(const void* p, uint64_t n) const;

 private:
  File() = default;
  // Parses one file (split 0) or one further part of a split model; returns a part's own metadata
  // (split > 0; the first part's is stored in kv_).
  std::vector<std::pair<std::string, Value>> parse(const uint8_t* p, uint64_t size, int split,
                                                   bool header_only, const std::string& name);
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  bool has_data_ = true;
  uint64_t header_bytes_size_ = 0;
  std::vector<MappedFile> maps_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// If `path` names part 1 of a split model, the paths of all parts; otherwise just `path`.
std::vector<std::string> split_paths(const std::string& path, int count);

// Writes a GGUF v3 file atomically (temporary file, fsync, rename). Tensor data is streamed in the
// order tensors were added, so a whole model never needs to be in memory. The alignment is a power of
// two (1 .. 2^31); a `general.alignment` key (u32) set explicitly wins over the constructor's (e.g. when
// metadata is copied from another file); otherwise the key is added when the alignment is not 32.
class Writer {
 public:
  explicit Writer(uint64_t alignment = 32) : alignment_(alignment) {}
  void set(const std::string& key, Value v);  // replaces an existing key, keeps order
  void add_tensor(const std::string& name, tensor::Type type, std::vector<int64_t> ne);
  // Begin writing to `path` (a temporary sibling until finish()).
  void begin(const std::string& path);
  // Data of the next tensor, in add order; exactly its size in bytes (may be given in pieces).
  void write_data(const void* data, uint64_t size);
  void finish();  // pads, fsyncs and renames into place
  void abort();   // removes the temporary file (also done by the destructor if not finished)
  ~Writer();

 private:
  void write_raw(const void* p, uint64_t n);
  void write_zeros(uint64_t n);
  uint64_t alignment_;
  std::vector<std::pair<std::string, Value>> kv_;
  struct Pending {
    std::string name;
    tensor::Type type;
    std::vector<int64_t> ne;
    uint64_t nbytes;
    uint64_t offset;
  };
  std::vector<Pending> tensors_;
  std::string path_, tmp_path_;
  int fd_ = -1;
  size_t cur_tensor_ = 0;
  uint64_t cur_written_ = 0;
  uint64_t pos_ = 0;
};

}  // namespace hearth::gguf
