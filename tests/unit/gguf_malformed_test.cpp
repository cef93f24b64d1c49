// gguf: a generated corpus of malformed files. Each case starts from a valid file written by the Writer,
// corrupts one thing (a truncation at every field, a bad count, type, size, offset, name...), and checks
// that File::open throws hearth::Error (nothing else, no crash) whose message names the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "gguf/gguf.h"

namespace fs = std::filesystem;
using hearth::Error;
using hearth::gguf::File;
using hearth::gguf::ReadOptions;
using hearth::gguf::TruncatedError;
using hearth::gguf::Value;
using hearth::gguf::ValueType;
using hearth::gguf::Writer;
using hearth::tensor::Type;

namespace {

using Bytes = std::vector<uint8_t>;

// ---- The valid base file ----------------------------------------------------------------------------
enum class Kind { Scalar, Bool, String, Array, BoolArray };
struct KeySpec {
  const char* key;
  Kind kind;
  Value value;
};
const std::vector<KeySpec>& base_keys() {
  static const std::vector<KeySpec> keys = {
      {"general.architecture", Kind::String, Value::str("llama")},
      {"general.alignment", Kind::Scalar, Value::u32(32)},
      {"test.key_a", Kind::Scalar, Value::u32(7)},
      {"test.key_b", Kind::Scalar, Value::u32(8)},
      {"test.flag", Kind::Bool, Value::boolean(true)},
      {"test.name", Kind::String, Value::str("hello")},
      {"test.tokens", Kind::Array, Value::str_array({"a", "bb", "ccc"})},
      {"test.scores", Kind::Array, Value::f32_array({1.f, 2.f, 3.f})},
      {"test.flags", Kind::BoolArray, Value::int_array(ValueType::BOOL, {1, 0, 1})},
      {"test.big", Kind::Scalar, Value::u64(12345)},
  };
  return keys;
}
struct TensorSpec {
  const char* name;
  Type type;
  std::vector<int64_t> ne;
  uint64_t nbytes;
};
const std::vector<TensorSpec>& base_tensors() {
  static const std::vector<TensorSpec> t = {
      {"tok.a", Type::F32, {8, 4}, 128},   // data offset 0
      {"tok.b", Type::Q4_0, {64, 2}, 72},  // data offset 128 (4 blocks of 18 bytes)
      {"tok.c", Type::F16, {16}, 32},      // data offset 224
  };
  return t;
}

// Offsets of every field of the base file, by name ("test.name.value", "tok.b.offset", ...).
struct Layout {
  std::map<std::string, uint64_t> at;
  uint64_t field(const std::string& name) const {
    auto it = at.find(name);
    if (it == at.end()) throw std::logic_error("test bug: no field " + name);
    return it->second;
  }
};

uint64_t get64(const Bytes& b, uint64_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
uint32_t get32(const Bytes& b, uint64_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
void put64(Bytes& b, uint64_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void put32(Bytes& b, uint64_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }

uint64_t elem_size(uint32_t t) {
  static const uint64_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return sizes[t];
}

// Walks the (valid, trusted) base file recording where each field starts.
Layout walk(const Bytes& b) {
  Layout L;
  L.at["magic"] = 0;
  L.at["version"] = 4;
  L.at["n_tensors"] = 8;
  L.at["n_kv"] = 16;
  uint64_t p = 24;
  const uint64_t n_tensors = get64(b, 8), n_kv = get64(b, 16);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t len = get64(b, p);
    const std::string key(reinterpret_cast<const char*>(b.data() + p + 8), len);
    L.at[key + ".keylen"] = p;
    L.at[key + ".key"] = p + 8;
    p += 8 + len;
    L.at[key + ".type"] = p;
    const uint32_t t = get32(b, p);
    p += 4;
    if (t == 8) {
      L.at[key + ".value"] = p;
      L.at[key + ".chars"] = p + 8;
      p += 8 + get64(b, p);
    } else if (t == 9) {
      const uint32_t et = get32(b, p);
      L.at[key + ".elemtype"] = p;
      L.at[key + ".len"] = p + 4;
      const uint64_t n = get64(b, p + 4);
      p += 12;
      for (uint64_t j = 0; j < n; ++j) {
        L.at[key + ".elem" + std::to_string(j)] = p;
        p += et == 8 ? 8 + get64(b, p) : elem_size(et);
      }
    } else {
      L.at[key + ".value"] = p;
      p += elem_size(t);
    }
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t len = get64(b, p);
    const std::string name(reinterpret_cast<const char*>(b.data() + p + 8), len);
    L.at[name + ".namelen"] = p;
    L.at[name + ".name"] = p + 8;
    p += 8 + len;
    L.at[name + ".ndims"] = p;
    const uint32_t nd = get32(b, p);
    p += 4;
    for (uint32_t d = 0; d < nd; ++d, p += 8) L.at[name + ".dim" + std::to_string(d)] = p;
    L.at[name + ".type"] = p;
    L.at[name + ".offset"] = p + 4;
    p += 12;
  }
  L.at["header_end"] = p;
  const uint64_t data = (p + 31) / 32 * 32;
  L.at["data"] = data;
  for (auto& t : base_tensors())
    L.at[std::string(t.name) + ".data"] = data + get64(b, L.at[std::string(t.name) + ".offset"]);
  return L;
}

std::string temp_dir() {
  static const std::string dir = [] {
    auto d = fs::temp_directory_path() / ("hearth_gguf_malformed_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d.string();
  }();
  return dir;
}

struct Base {
  Bytes bytes;
  Layout layout;
};
const Base& base() {
  static const Base b = [] {
    const std::string path = temp_dir() + "/base.gguf";
    Writer w;
    for (auto& k : base_keys()) w.set(k.key, k.value);
    for (auto& t : base_tensors()) w.add_tensor(t.name, t.type, t.ne);
    w.begin(path);
    uint8_t fill = 1;
    for (auto& t : base_tensors()) {
      Bytes data(t.nbytes, fill++);
      w.write_data(data.data(), data.size());
    }
    w.finish();
    std::ifstream in(path, std::ios::binary);
    Base out;
    out.bytes = Bytes(std::istreambuf_iterator<char>(in), {});
    out.layout = walk(out.bytes);
    fs::remove(path);
    return out;
  }();
  return b;
}

// ---- The cases -------------------------------------------------------------------------------------
struct Case {
  std::string name;
  std::function<void(Bytes&, const Layout&)> mutate;
  std::vector<std::string> expect;  // substrings of the error of a full open
  bool header_ok = false;           // the header is fine: header-only reading succeeds
  bool truncated_header = false;    // the header itself is cut: a TruncatedError
};

std::string sanitize(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::function<void(Bytes&, const Layout&)> set32(std::string field, uint32_t v, uint64_t delta = 0) {
  return [=](Bytes& b, const Layout& L) { put32(b, L.field(field) + delta, v); };
}
std::function<void(Bytes&, const Layout&)> set64(std::string field, uint64_t v) {
  return [=](Bytes& b, const Layout& L) { put64(b, L.field(field), v); };
}
std::function<void(Bytes&, const Layout&)> set8(std::string field, uint8_t v, uint64_t delta = 0) {
  return [=](Bytes& b, const Layout& L) { b[L.field(field) + delta] = v; };
}
std::function<void(Bytes&, const Layout&)> cut_at(std::string field, uint64_t delta) {
  return [=](Bytes& b, const Layout& L) { b.resize(L.field(field) + delta); };
}

void add_truncations(std::vector<Case>& cases) {
  // Fields of the fixed header, each kv and each tensor: cut at the start of each and inside it.
  auto add = [&](const std::string& field, bool one_byte, std::string where) {
    for (uint64_t delta : {uint64_t{0}, uint64_t{1}}) {
      if (delta == 1 && one_byte) continue;
      std::vector<std::string> expect = {"truncated"};
      if (!where.empty()) expect.push_back(where);
      cases.push_back({"cut_" + sanitize(field) + (delta ? "_inside" : "_start"), cut_at(field, delta),
                       expect, false, true});
    }
  };
  for (const char* f : {"magic", "version", "n_tensors", "n_kv"}) add(f, false, "");
  const auto& keys = base_keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string k = keys[i].key;
    // Early in the file the counts (10 keys, 3 tensors) do not fit yet and are reported instead.
    const bool late = i >= 5;
    const std::string entry = late ? fmt::format("metadata entry {}", i) : "";
    const std::string named = late ? fmt::format("metadata key '{}'", k) : "";
    add(k + ".keylen", false, entry);
    add(k + ".key", false, entry);
    add(k + ".type", false, named);
    switch (keys[i].kind) {
      case Kind::Scalar:
        add(k + ".value", false, named);
        break;
      case Kind::Bool:
        add(k + ".value", true, named);
        break;
      case Kind::String:
        add(k + ".value", false, named);
        add(k + ".chars", false, named);
        break;
      case Kind::Array:
      case Kind::BoolArray:
        add(k + ".elemtype", false, named);
        add(k + ".len", false, named);
        add(k + ".elem0", keys[i].kind == Kind::BoolArray, named);
        add(k + ".elem2", keys[i].kind == Kind::BoolArray, named);
        break;
    }
  }
  for (size_t i = 0; i < base_tensors().size(); ++i) {
    const auto& t = base_tensors()[i];
    const std::string n = t.name;
    add(n + ".namelen", false, fmt::format("tensor {}", i));
    add(n + ".name", false, fmt::format("tensor {}", i));
    for (const char* f : {".ndims", ".dim0", ".type", ".offset"}) add(n + f, false, "tensor '" + n + "'");
    if (t.ne.size() > 1) add(n + ".dim1", false, "tensor '" + n + "'");
  }
  // Data: the header is whole, the tensor data is not.
  auto data_cut = [&](const std::string& name, const std::string& field, int64_t delta, const char* tensor) {
    cases.push_back({name,
                     [=](Bytes& b, const Layout& L) { b.resize(L.field(field) + delta); },
                     {"truncated", "beyond the end of the file", tensor},
                     true});
  };
  data_cut("cut_in_header_padding", "header_end", 1, "'tok.a'");
  data_cut("cut_data_start", "data", 0, "'tok.a'");
  data_cut("cut_inside_first_tensor", "tok.a.data", 1, "'tok.a'");
  data_cut("cut_inside_middle_tensor", "tok.b.data", 71, "'tok.b'");
  data_cut("cut_last_byte_of_last_tensor", "tok.c.data", 31, "'tok.c'");
}

std::vector<Case> make_cases() {
  std::vector<Case> c;
  add_truncations(c);
  auto add = [&](std::string name, std::function<void(Bytes&, const Layout&)> m, std::vector<std::string> e,
                 bool header_ok = false) {
    c.push_back({std::move(name), std::move(m), std::move(e), header_ok});
  };
  // Magic and version.
  add("empty_file", [](Bytes& b, const Layout&) { b.clear(); }, {"truncated", "magic"});
  add("wrong_magic", set8("magic", 'X', 3), {"not a GGUF file", "47 47 55 58"});
  add("ggml_magic", set32("magic", 0x67676d6c), {"not a GGUF file"});
  add("zero_magic", set32("magic", 0), {"not a GGUF file"});
  add("version_0", set32("version", 0), {"unsupported GGUF version 0"});
  add("version_1", set32("version", 1), {"version 1 is obsolete"});
  add("version_4", set32("version", 4), {"unsupported GGUF version 4"});
  add("version_huge", set32("version", 0xFFFFFFFFu), {"unsupported GGUF version 4294967295"});
  add("version_big_endian", set32("version", 0x03000000u), {"big-endian"});
  // Counts.
  add("kv_count_huge", set64("n_kv", 1ull << 62), {"metadata count 4611686018427387904", "absurd"});
  add("kv_count_max", set64("n_kv", UINT64_MAX), {"metadata count", "absurd"});
  add("kv_count_beyond_file", set64("n_kv", 100000), {"truncated", "metadata count", "100000"});
  add("tensor_count_huge", set64("n_tensors", 1ull << 62), {"tensor count", "absurd"});
  add("tensor_count_beyond_file", set64("n_tensors", 1000), {"truncated", "tensor count", "1000"});
  // Keys.
  add("key_length_huge", set64("test.key_a.keylen", 1ull << 62), {"absurd length", "metadata entry 2"});
  add("key_length_beyond_file", set64("test.key_a.keylen", 100000), {"truncated", "metadata entry 2"});
  add("key_empty", set64("test.key_a.keylen", 0), {"empty key", "metadata entry 2"});
  add("duplicate_key", set8("test.key_b.key", 'a', 9), {"duplicate metadata key 'test.key_a'"});
  // Value types.
  add("unknown_value_type", set32("test.key_a.type", 13), {"unknown value type 13", "test.key_a"});
  add("unknown_value_type_huge", set32("test.key_a.type", 0xFFFFFFFFu), {"unknown value type 4294967295"});
  add("unknown_array_elem_type", set32("test.scores.elemtype", 99),
      {"unknown array element type 99", "test.scores"});
  add("nested_array", set32("test.tokens.elemtype", 9), {"nested arrays", "test.tokens"});
  add("bool_value_2", set8("test.flag.value", 2), {"invalid boolean value 2", "test.flag"});
  add("bool_value_255", set8("test.flag.value", 255), {"invalid boolean value 255", "test.flag"});
  add("bool_array_elem_2", set8("test.flags.elem1", 2), {"invalid boolean value 2", "test.flags"});
  // Strings and arrays.
  add("string_length_huge", set64("test.name.value", 1ull << 50), {"absurd length", "test.name"});
  add("string_length_max", set64("test.name.value", UINT64_MAX), {"absurd length", "test.name"});
  add("string_length_beyond_file", set64("test.name.value", 100000), {"truncated", "test.name"});
  add("array_length_huge", set64("test.scores.len", 1ull << 40), {"array length", "absurd", "test.scores"});
  add("array_length_max", set64("test.tokens.len", UINT64_MAX), {"array length", "absurd", "test.tokens"});
  add("array_length_beyond_file", set64("test.scores.len", 1000000),
      {"truncated", "array length", "test.scores"});
  add("string_array_length_beyond_file", set64("test.tokens.len", 1ull << 31),
      {"truncated", "array length", "test.tokens"});
  add("string_array_element_huge", set64("test.tokens.elem1", 1ull << 40), {"absurd length", "test.tokens"});
  add("string_array_element_beyond_file", set64("test.tokens.elem2", 5000), {"truncated", "test.tokens"});
  // general.alignment.
  add("alignment_i32", set32("general.alignment.type", 5), {"general.alignment must be a u32", "i32"});
  add("alignment_f32", set32("general.alignment.type", 6), {"general.alignment must be a u32", "f32"});
  add("alignment_0", set32("general.alignment.value", 0), {"general.alignment 0 is not a power of two"});
  add("alignment_48", set32("general.alignment.value", 48), {"general.alignment 48 is not a power of two"});
  add("alignment_max", set32("general.alignment.value", 0xFFFFFFFFu), {"not a power of two"});
  add("alignment_256_offsets_unaligned", set32("general.alignment.value", 256),
      {"'tok.b' offset 128 is not a multiple of the alignment 256"});
  add("alignment_2g", set32("general.alignment.value", 1u << 31),
      {"'tok.b' offset 128 is not a multiple of the alignment 2147483648"});
  // Tensor infos.
  add("tensor_name_empty", set64("tok.a.namelen", 0), {"tensor 0", "empty name"});
  add("tensor_name_huge", set64("tok.b.namelen", 1ull << 60), {"absurd length", "tensor 1"});
  add("duplicate_tensor_name", set8("tok.b.name", 'a', 4), {"duplicate tensor name 'tok.a'"});
  add("tensor_0_dims", set32("tok.b.ndims", 0), {"'tok.b' has 0 dimensions"});
  add("tensor_5_dims", set32("tok.b.ndims", 5), {"'tok.b' has 5 dimensions"});
  add("tensor_huge_dims", set32("tok.b.ndims", 0xFFFFFFFFu), {"'tok.b' has 4294967295 dimensions"});
  add("dimension_0", set64("tok.a.dim1", 0), {"'tok.a' dimension 1 is 0"});
  add("dimension_huge", set64("tok.a.dim0", 1ull << 41), {"'tok.a' dimension 0 is 2199023255552"});
  add("dimension_negative", set64("tok.a.dim0", UINT64_MAX), {"'tok.a' dimension 0"});
  add("dimensions_product_overflows_u64",
      [](Bytes& b, const Layout& L) {
        put64(b, L.field("tok.a.dim0"), 1ull << 32);
        put64(b, L.field("tok.a.dim1"), 1ull << 32);
      },
      {"'tok.a' shape overflows"});
  add("dimensions_product_too_large",
      [](Bytes& b, const Layout& L) {
        put64(b, L.field("tok.a.dim0"), 1ull << 30);
        put64(b, L.field("tok.a.dim1"), 1ull << 30);
      },
      {"'tok.a' shape overflows"});
  add("tensor_type_removed_4", set32("tok.a.type", 4), {"'tok.a' has unknown tensor type id 4"});
  add("tensor_type_31", set32("tok.a.type", 31), {"unknown tensor type id 31"});
  add("tensor_type_huge", set32("tok.a.type", 0xFFFFFFFFu), {"unknown tensor type id 4294967295"});
  add("row_not_multiple_of_block", set64("tok.b.dim0", 48), {"'tok.b'", "row length 48", "block size 32"});
  add("offset_not_aligned", set64("tok.b.offset", 129),
      {"'tok.b' offset 129 is not a multiple of the alignment 32"});
  add("offset_beyond_file", set64("tok.c.offset", 1ull << 20), {"truncated", "'tok.c'", "beyond the end"},
      true);
  add("offset_huge_beyond_file", set64("tok.c.offset", 1ull << 63), {"'tok.c'", "beyond the end"}, true);
  add("offset_overflows", set64("tok.c.offset", UINT64_MAX - 31), {"'tok.c'", "overflows"});
  add("tensor_larger_than_file", set64("tok.c.dim0", 1ull << 24), {"'tok.c'", "beyond the end"}, true);
  add("tensors_overlap", set64("tok.b.offset", 96), {"'tok.a'", "'tok.b'", "overlap"});
  add("tensors_same_offset", set64("tok.c.offset", 0), {"'tok.a'", "'tok.c'", "overlap"});
  add("tensors_overlap_by_size", set64("tok.a.dim1", 5), {"'tok.a'", "'tok.b'", "overlap"});
  return c;
}

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = make_cases();
  return cases;
}

class Malformed : public ::testing::TestWithParam<size_t> {};

// What a call throws: "" if nothing, the message if hearth::Error, a failure otherwise.
template <typename F>
std::string error_of(F&& f, bool* truncated = nullptr) {
  try {
    f();
  } catch (const TruncatedError& e) {
    if (truncated) *truncated = true;
    return e.what();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-hearth exception: " << e.what();
    return "(non-hearth exception)";
  }
  return "";
}

TEST_P(Malformed, FailsWithClearError) {
  const Case& c = all_cases()[GetParam()];
  Bytes bytes = base().bytes;
  c.mutate(bytes, base().layout);
  ASSERT_NE(bytes, base().bytes) << "the case changes nothing";
  const std::string path = temp_dir() + "/" + c.name + ".gguf";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  bool truncated = false;
  const std::string msg = error_of([&] { File::open(path); }, &truncated);
  ASSERT_FALSE(msg.empty()) << "File::open accepted the file";
  EXPECT_NE(msg.find(path), std::string::npos) << "the error does not name the file: " << msg;
  for (auto& s : c.expect) EXPECT_NE(msg.find(s), std::string::npos) << "missing '" << s << "' in: " << msg;
  if (c.truncated_header) {
    EXPECT_TRUE(truncated) << "not a TruncatedError: " << msg;
  }

  // Header-only reading (from the file and from bytes) agrees on whether the header is valid.
  ReadOptions ho;
  ho.header_only = true;
  const std::string ho_msg = error_of([&] { File::open(path, ho); });
  bool parse_truncated = false;
  const std::string ph_msg =
      error_of([&] { File::parse_header(bytes.data(), bytes.size(), "bytes"); }, &parse_truncated);
  if (c.header_ok) {
    EXPECT_EQ(ho_msg, "");
    EXPECT_EQ(ph_msg, "");
  } else {
    EXPECT_EQ(ho_msg, msg);
    EXPECT_FALSE(ph_msg.empty());
    if (c.truncated_header) {
      EXPECT_TRUE(parse_truncated) << ph_msg;
      try {
        File::parse_header(bytes.data(), bytes.size(), "bytes");
      } catch (const TruncatedError& e) {
        EXPECT_GT(e.needed(), bytes.size());
      }
    }
  }
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Gguf, Malformed, ::testing::Range<size_t>(0, all_cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return all_cases()[info.param].name;
                         });

class RemoveTempDir : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(temp_dir()); }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new RemoveTempDir);

TEST(MalformedCorpus, IsLargeAndTheBaseIsValid) {
  EXPECT_GE(all_cases().size(), 50u);
  const std::string path = temp_dir() + "/valid.gguf";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(base().bytes.data()),
              static_cast<std::streamsize>(base().bytes.size()));
  }
  auto f = File::open(path);
  EXPECT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->metadata().size(), base_keys().size());
  EXPECT_EQ(f->data_offset(), base().layout.field("data"));
  EXPECT_EQ(f->find_tensor("tok.b")->data[0], 2);
  EXPECT_EQ(f->find_tensor("tok.c")->offset, 224u);
  std::filesystem::remove(path);
}

}  // namespace
