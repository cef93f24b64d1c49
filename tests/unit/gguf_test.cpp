// gguf: writer -> reader round trips, header-only reading, split models, the real fixture files.
#include "gguf/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using hearth::Error;
using hearth::gguf::File;
using hearth::gguf::ReadOptions;
using hearth::gguf::TensorInfo;
using hearth::gguf::TruncatedError;
using hearth::gguf::Value;
using hearth::gguf::ValueType;
using hearth::gguf::Writer;
using hearth::tensor::Type;

namespace {

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The error message of f(), which must throw hearth::Error (and nothing else).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-hearth exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

struct TensorSpec {
  std::string name;
  Type type;
  std::vector<int64_t> ne;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TensorSpec make_tensor(const std::string& name, Type type, std::vector<int64_t> ne, uint32_t seed) {
  const auto& ti = hearth::tensor::type_info(type);
  int64_t n = 1;
  for (auto d : ne) n *= d;
  return TensorSpec{name, type, ne,
                    random_bytes(static_cast<size_t>(n / ti.block_size) * ti.type_size, seed)};
}

void write_model(const fs::path& path, const std::vector<std::pair<std::string, Value>>& kv,
                 const std::vector<TensorSpec>& tensors, uint64_t alignment = 32) {
  Writer w(alignment);
  for (auto& [k, v] : kv) w.set(k, v);
  for (auto& t : tensors) w.add_tensor(t.name, t.type, t.ne);
  w.begin(path.string());
  for (auto& t : tensors) {
    // Give the data in two pieces to exercise streaming.
    const size_t half = t.data.size() / 2;
    w.write_data(t.data.data(), half);
    w.write_data(t.data.data() + half, t.data.size() - half);
  }
  w.finish();
}

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("hearth_gguf_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Every scalar type, bool, string, arrays of each, empty arrays, unicode.
std::vector<std::pair<std::string, Value>> all_types_kv() {
  std::vector<std::pair<std::string, Value>> kv;
  kv.emplace_back("general.architecture", Value::str("llama"));
  kv.emplace_back("t.u8", Value::u8(250));
  kv.emplace_back("t.i8", Value::i8(-128));
  kv.emplace_back("t.u16", Value::u16(65535));
  kv.emplace_back("t.i16", Value::i16(-32768));
  kv.emplace_back("t.u32", Value::u32(4000000000u));
  kv.emplace_back("t.i32", Value::i32(-2000000000));
  kv.emplace_back("t.u64", Value::u64(1ull << 60));
  kv.emplace_back("t.i64", Value::i64(INT64_MIN));
  kv.emplace_back("t.f32", Value::f32(3.25f));
  kv.emplace_back("t.f64", Value::f64(-1e300));
  kv.emplace_back("t.true", Value::boolean(true));
  kv.emplace_back("t.false", Value::boolean(false));
  kv.emplace_back("t.str", Value::str("hello"));
  kv.emplace_back("t.empty_str", Value::str(""));
  kv.emplace_back("t.unicode",
                  Value::str("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x94\xA5 \xE2\x96\x81"));
  kv.emplace_back("t.nul_inside", Value::str(std::string("a\0b", 3)));
  kv.emplace_back("t.arr.u8", Value::int_array(ValueType::UINT8, {0, 1, 255}));
  kv.emplace_back("t.arr.i8", Value::int_array(ValueType::INT8, {-128, 0, 127}));
  kv.emplace_back("t.arr.u16", Value::int_array(ValueType::UINT16, {0, 65535}));
  kv.emplace_back("t.arr.i16", Value::int_array(ValueType::INT16, {-32768, 32767}));
  kv.emplace_back("t.arr.u32", Value::int_array(ValueType::UINT32, {0, 4294967295}));
  kv.emplace_back("t.arr.i32", Value::i32_array({-5, 0, 2147483647}));
  kv.emplace_back("t.arr.u64", Value::int_array(ValueType::UINT64, {0, INT64_MAX, -1 /* 2^64-1, wrapped */}));
  kv.emplace_back("t.arr.i64", Value::int_array(ValueType::INT64, {INT64_MIN, INT64_MAX}));
  kv.emplace_back("t.arr.f32", Value::f32_array({0.5f, -2.0f, 1e-3f}));
  kv.emplace_back("t.arr.f64", Value::float_array(ValueType::FLOAT64, {1e-300, 2.5}));
  kv.emplace_back("t.arr.bool", Value::int_array(ValueType::BOOL, {1, 0, 1, 1}));
  kv.emplace_back("t.arr.str",
                  Value::str_array({"a", "", "\xE4\xB8\x96\xE7\x95\x8C", std::string(300, 'x')}));
  for (auto et : {ValueType::UINT8, ValueType::INT32, ValueType::UINT64, ValueType::BOOL})
    kv.emplace_back(std::string("t.empty.") + hearth::gguf::value_type_name(et), Value::int_array(et, {}));
  kv.emplace_back("t.empty.f32", Value::f32_array({}));
  kv.emplace_back("t.empty.str", Value::str_array({}));
  return kv;
}

void expect_same_value(const std::string& key, const Value& want, const Value& got) {
  SCOPED_TRACE(key);
  ASSERT_EQ(want.type, got.type);
  if (want.is_array()) {
    ASSERT_EQ(want.elem_type, got.elem_type);
    ASSERT_EQ(want.array_size(), got.array_size());
    EXPECT_EQ(want.ints, got.ints);
    EXPECT_EQ(want.strings, got.strings);
    ASSERT_EQ(want.floats.size(), got.floats.size());
    for (size_t i = 0; i < want.floats.size(); ++i) {
      if (want.elem_type == ValueType::FLOAT32)
        EXPECT_EQ(static_cast<float>(want.floats[i]), got.floats[i]);
      else
        EXPECT_EQ(want.floats[i], got.floats[i]);
    }
    return;
  }
  EXPECT_EQ(want.scalar, got.scalar);
}

TEST_F(GgufTest, RoundTripEveryMetadataType) {
  const auto kv = all_types_kv();
  write_model(dir_ / "m.gguf", kv, {make_tensor("w", Type::F32, {4}, 1)});
  auto f = File::open((dir_ / "m.gguf").string());
  EXPECT_EQ(f->version(), 3u);
  ASSERT_EQ(f->metadata().size(), kv.size());
  for (size_t i = 0; i < kv.size(); ++i) {
    EXPECT_EQ(f->metadata()[i].first, kv[i].first);  // order is kept
    expect_same_value(kv[i].first, kv[i].second, f->metadata()[i].second);
  }
  // Typed accessors.
  EXPECT_EQ(f->get_int("t.u8"), 250);
  EXPECT_EQ(f->get_int("t.i8"), -128);
  EXPECT_EQ(f->get_int("t.u32"), 4000000000);
  EXPECT_EQ(f->get_int("t.i64"), INT64_MIN);
  EXPECT_EQ(f->get_float("t.f32"), 3.25);
  EXPECT_EQ(f->get_float("t.f64"), -1e300);
  EXPECT_EQ(f->get_float("t.i32"), -2000000000.0);  // ints convert
  EXPECT_TRUE(f->get_bool("t.true", false));
  EXPECT_FALSE(f->get_bool("t.false", true));
  EXPECT_EQ(f->get_string("t.unicode"), kv[15].second.as_string());
  EXPECT_EQ(f->get_string("t.nul_inside").size(), 3u);
  EXPECT_EQ(f->get("t.arr.u64").ints[2], -1);  // 2^64-1 wraps
  EXPECT_EQ(f->get("t.arr.str").strings[3].size(), 300u);
  EXPECT_EQ(f->get("t.empty.str").array_size(), 0u);
  EXPECT_EQ(f->get_string("missing", "dflt"), "dflt");
  EXPECT_EQ(f->get_int("missing", 42), 42);
  EXPECT_TRUE(f->has("t.str"));
  EXPECT_FALSE(f->has("t.nope"));
  // Errors name the key.
  EXPECT_NE(error_of([&] { f->get_int("t.str"); }).find("t.str"), std::string::npos);
  EXPECT_NE(error_of([&] { f->get("no.such.key"); }).find("no.such.key"), std::string::npos);
  EXPECT_NE(error_of([&] { f->get_string("t.u8"); }).find("expected a string"), std::string::npos);
  EXPECT_EQ(f->get_int("t.u64"), int64_t{1} << 60);
  // Display.
  EXPECT_EQ(f->get("t.arr.i32").to_display(), "[-5, 0, 2147483647]");
  EXPECT_EQ(f->get("t.true").to_display(), "true");
  EXPECT_EQ(f->get("t.str").to_display(), "\"hello\"");
  EXPECT_EQ(f->get("t.arr.bool").to_display(2), "[1, 0, ... (4 items)]");
}

TEST_F(GgufTest, RoundTripVersion2) {
  write_model(dir_ / "m.gguf", {{"a.b", Value::str("x")}}, {make_tensor("w", Type::F16, {8, 2}, 3)});
  auto bytes = read_bytes(dir_ / "m.gguf");
  bytes[4] = 2;  // v2 has the same little-endian layout as v3
  write_bytes(dir_ / "m.gguf", bytes);
  auto f = File::open((dir_ / "m.gguf").string());
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->get_string("a.b"), "x");
  EXPECT_EQ(f->tensors().size(), 1u);
}

std::vector<TensorSpec> several_tensors() {
  return {
      make_tensor("token_embd.weight", Type::F32, {16, 5}, 10),
      make_tensor("blk.0.attn_q.weight", Type::Q4_0, {64, 3}, 11),
      make_tensor("blk.0.ffn.weight", Type::Q8_0, {32, 2, 3}, 12),
      make_tensor("blk.0.k.weight", Type::Q4_K, {256, 2}, 13),
      make_tensor("blk.0.f16", Type::F16, {3}, 14),  // 6 bytes: padding follows
      make_tensor("blk.0.i32", Type::I32, {2, 3, 2, 2}, 15),
      make_tensor("output_norm.weight", Type::BF16, {7}, 16),
  };
}

void check_tensors(const File& f, const std::vector<TensorSpec>& want, uint64_t alignment) {
  ASSERT_EQ(f.tensors().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    const TensorInfo& t = f.tensors()[i];
    EXPECT_EQ(&t, f.find_tensor(want[i].name));
    EXPECT_EQ(t.name, want[i].name);
    EXPECT_EQ(t.type, want[i].type);
    ASSERT_EQ(t.n_dims, static_cast<int>(want[i].ne.size()));
    int64_t n = 1;
    for (int d = 0; d < 4; ++d) {
      EXPECT_EQ(t.ne[d], d < t.n_dims ? want[i].ne[d] : 1);
      n *= t.ne[d];
    }
    EXPECT_EQ(t.n_elements(), n);
    EXPECT_EQ(t.nbytes, want[i].data.size());
    EXPECT_EQ(t.offset % alignment, 0u);
    ASSERT_NE(t.data, nullptr);
    EXPECT_EQ(0, std::memcmp(t.data, want[i].data.data(), want[i].data.size()));
  }
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
}

TEST_F(GgufTest, RoundTripTensors) {
  const auto tensors = several_tensors();
  write_model(dir_ / "m.gguf", {{"general.architecture", Value::str("llama")}}, tensors);
  auto f = File::open((dir_ / "m.gguf").string());
  EXPECT_TRUE(f->has_data());
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_FALSE(f->has("general.alignment"));
  EXPECT_EQ(f->data_offset() % 32, 0u);
  EXPECT_EQ(f->n_splits(), 1);
  EXPECT_EQ(f->file_size(), fs::file_size(dir_ / "m.gguf"));
  check_tensors(*f, tensors, 32);
  EXPECT_EQ(f->find_tensor("blk.0.i32")->shape_string(), "[2, 3, 2, 2]");
}

TEST_F(GgufTest, CustomAlignment) {
  const auto tensors = several_tensors();
  write_model(dir_ / "m.gguf", {{"general.architecture", Value::str("llama")}}, tensors, 64);
  auto f = File::open((dir_ / "m.gguf").string());
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->get_int("general.alignment"), 64);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  check_tensors(*f, tensors, 64);
  const uint8_t* base = f->tensors()[0].data;
  for (auto& t : f->tensors()) EXPECT_EQ((t.data - base) % 64, 0);
  // A page-sized alignment: the header and every tensor are padded to 4096.
  write_model(dir_ / "p.gguf", {}, tensors, 4096);
  auto p = File::open((dir_ / "p.gguf").string());
  EXPECT_EQ(p->data_offset(), 4096u);
  EXPECT_EQ(fs::file_size(dir_ / "p.gguf"), 4096u * (1 + tensors.size()));
  check_tensors(*p, tensors, 4096);
  // An explicit general.alignment key wins over the constructor's (metadata copied from a file).
  write_model(dir_ / "k.gguf", {{"general.alignment", Value::u32(128)}}, tensors);
  auto g = File::open((dir_ / "k.gguf").string());
  EXPECT_EQ(g->alignment(), 128u);
  check_tensors(*g, tensors, 128);
}

TEST_F(GgufTest, WriterRejectsBadInput) {
  Writer w;
  EXPECT_NE(error_of([&] { w.add_tensor("x", Type::Q4_0, {33}); }).find("multiple of 32"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", Type::F32, {}); }).find("1 to 4"), std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add_tensor("x", Type::F32, {1, 1, 1, 1, 1});
            }).find("1 to 4"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("x", Type::F32, {0}); }).find("non-positive"), std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add_tensor("x", Type::F32, {1ll << 40, 1ll << 40});
            }).find("overflows"),
            std::string::npos);
  w.add_tensor("x", Type::F32, {4});
  EXPECT_NE(error_of([&] { w.add_tensor("x", Type::F32, {4}); }).find("duplicate"), std::string::npos);
  // Values that do not fit their declared type.
  {
    Writer v;
    v.set("k", Value::int_array(ValueType::UINT8, {256}));
    EXPECT_NE(error_of([&] { v.begin((dir_ / "a.gguf").string()); }).find("does not fit in a u8"),
              std::string::npos);
    Writer s;
    Value bad;
    bad.type = ValueType::STRING;  // holds the default integer
    s.set("k", bad);
    EXPECT_NE(error_of([&] { s.begin((dir_ / "b.gguf").string()); }).find("'k'"), std::string::npos);
    Writer a(48);
    EXPECT_NE(error_of([&] { a.begin((dir_ / "c.gguf").string()); }).find("power of two"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_ / "a.gguf"));
  // Too much data, too few tensors.
  w.begin((dir_ / "d.gguf").string());
  float data[5] = {};
  EXPECT_NE(error_of([&] { w.write_data(data, sizeof(data)); }).find("too much data"), std::string::npos);
  EXPECT_NE(error_of([&] { w.finish(); }).find("0 of 1 tensors"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "d.gguf"));
  // Nothing left behind.
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(GgufTest, HeaderOnlyOfFileTruncatedAfterHeader) {
  const auto tensors = several_tensors();
  write_model(dir_ / "m.gguf", {{"general.architecture", Value::str("llama")}, {"x.n", Value::u32(5)}},
              tensors);
  auto full = read_bytes(dir_ / "m.gguf");
  uint64_t header_end, last_end;
  {
    auto f = File::open((dir_ / "m.gguf").string());
    header_end = f->data_offset();
    last_end = header_end + f->tensors().back().offset + f->tensors().back().nbytes;
    EXPECT_LT(last_end, full.size());  // padding follows
  }
  // Right after the header, inside the first tensor, inside the last tensor (padding follows it).
  for (uint64_t cut : {header_end, header_end + 1, last_end - 1}) {
    SCOPED_TRACE(cut);
    write_bytes(dir_ / "part.gguf",
                std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(cut)));
    ReadOptions opt;
    opt.header_only = true;
    auto h = File::open((dir_ / "part.gguf").string(), opt);
    EXPECT_FALSE(h->has_data());
    EXPECT_EQ(h->get_int("x.n"), 5);
    ASSERT_EQ(h->tensors().size(), tensors.size());
    if (cut == header_end) {
      for (auto& t : h->tensors()) EXPECT_EQ(t.data, nullptr) << t.name;
    }
    EXPECT_EQ(h->tensors().back().data, nullptr);  // the last tensor is always cut
    EXPECT_EQ(h->find_tensor("blk.0.k.weight")->ne[0], 256);
    // A full open of the same file fails, naming the tensor and the problem.
    const std::string msg = error_of([&] { File::open((dir_ / "part.gguf").string()); });
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("part.gguf"), std::string::npos) << msg;
    // The first tensor whose data is cut is named.
    const char* first_cut = cut == last_end - 1 ? "'output_norm.weight'" : "'token_embd.weight'";
    EXPECT_NE(msg.find(first_cut), std::string::npos) << msg;
  }
}

TEST_F(GgufTest, ParseHeaderFromPrefix) {
  const auto tensors = several_tensors();
  write_model(dir_ / "m.gguf", all_types_kv(), tensors);
  const auto full = read_bytes(dir_ / "m.gguf");
  // Fetch more bytes until the header parses, as a downloader would.
  uint64_t have = 16;
  int rounds = 0;
  std::unique_ptr<File> f;
  while (!f) {
    ASSERT_LT(++rounds, 200);
    try {
      f = File::parse_header(full.data(), have, "remote");
    } catch (const TruncatedError& e) {
      EXPECT_GT(e.needed(), have) << e.what();
      have = std::min<uint64_t>(std::max(e.needed(), have + 1), full.size());
    }
  }
  EXPECT_LE(have, full.size());
  EXPECT_FALSE(f->has_data());
  EXPECT_EQ(f->metadata().size(), all_types_kv().size());
  ASSERT_EQ(f->tensors().size(), tensors.size());
  for (auto& t : f->tensors()) EXPECT_EQ(t.data, nullptr);
  EXPECT_EQ(f->find_tensor("blk.0.ffn.weight")->ne[2], 3);
  EXPECT_NE(error_of([&] { File::parse_header(nullptr, 0, "empty"); }).find("truncated"), std::string::npos);
}

// A model written as 3 parts, the way split tools lay them out: part 1 has all metadata.
class GgufSplitTest : public GgufTest {
 protected:
  void write_parts(int64_t tensors_count_key = 7) {
    tensors_ = several_tensors();
    const std::vector<std::vector<int>> parts = {{0, 1}, {2, 3, 4}, {5, 6}};
    for (int p = 0; p < 3; ++p) {
      std::vector<std::pair<std::string, Value>> kv;
      if (p == 0) kv.emplace_back("general.architecture", Value::str("llama"));
      kv.emplace_back("split.no", Value::u16(static_cast<uint16_t>(p)));
      kv.emplace_back("split.count", Value::u16(3));
      kv.emplace_back("split.tensors.count", Value::i32(static_cast<int32_t>(tensors_count_key)));
      std::vector<TensorSpec> ts;
      for (int i : parts[p]) ts.push_back(tensors_[static_cast<size_t>(i)]);
      write_model(path(p + 1), kv, ts, p == 1 ? 64 : 32);
    }
  }
  fs::path path(int part) const {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "model-%05d-of-00003.gguf", part);
    return dir_ / buf;
  }
  std::vector<TensorSpec> tensors_;
};

TEST_F(GgufSplitTest, OpensAsOneModel) {
  write_parts();
  auto f = File::open(path(1).string());
  EXPECT_EQ(f->n_splits(), 3);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  check_tensors(*f, tensors_, 32);
  EXPECT_EQ(f->find_tensor("token_embd.weight")->split, 0);
  EXPECT_EQ(f->find_tensor("blk.0.ffn.weight")->split, 1);
  EXPECT_EQ(f->find_tensor("output_norm.weight")->split, 2);
  EXPECT_EQ(f->file_size(), fs::file_size(path(1)) + fs::file_size(path(2)) + fs::file_size(path(3)));
  // Without load_splits only the first part's tensors are seen.
  ReadOptions one;
  one.load_splits = false;
  EXPECT_EQ(File::open(path(1).string(), one)->tensors().size(), 2u);
  // Header-only works on the parts too.
  ReadOptions ho;
  ho.header_only = true;
  EXPECT_EQ(File::open(path(1).string(), ho)->tensors().size(), tensors_.size());
}

TEST_F(GgufSplitTest, MissingPartIsAnError) {
  write_parts();
  fs::remove(path(3));
  const std::string msg = error_of([&] { File::open(path(1).string()); });
  EXPECT_NE(msg.find("part 3 of 3 is missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model-00003-of-00003.gguf"), std::string::npos) << msg;
}

TEST_F(GgufSplitTest, OpeningPartTwoIsAnError) {
  write_parts();
  const std::string msg = error_of([&] { File::open(path(2).string()); });
  EXPECT_NE(msg.find("part 2 of 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("open the first part"), std::string::npos) << msg;
}

TEST_F(GgufSplitTest, WrongTensorCountIsAnError) {
  write_parts(8);
  const std::string msg = error_of([&] { File::open(path(1).string()); });
  EXPECT_NE(msg.find("split.tensors.count is 8"), std::string::npos) << msg;
}

TEST_F(GgufSplitTest, PartsInWrongOrderAreAnError) {
  write_parts();
  fs::rename(path(2), dir_ / "tmp");
  fs::rename(path(3), path(2));
  fs::rename(dir_ / "tmp", path(3));
  const std::string msg = error_of([&] { File::open(path(1).string()); });
  EXPECT_NE(msg.find("split.no is 2, expected 1"), std::string::npos) << msg;
}

TEST_F(GgufSplitTest, BadFileNamesAreErrors) {
  write_parts();
  fs::copy_file(path(1), dir_ / "renamed.gguf");
  EXPECT_NE(error_of([&] { File::open((dir_ / "renamed.gguf").string()); }).find("file name is not"),
            std::string::npos);
  fs::copy_file(path(1), dir_ / "model-00001-of-00004.gguf");
  EXPECT_NE(error_of([&] { File::open((dir_ / "model-00001-of-00004.gguf").string()); }).find("says 4 parts"),
            std::string::npos);
  fs::rename(path(2), dir_ / "saved");
  fs::copy_file(path(1), path(2));  // part 1's content under part 2's name
  EXPECT_NE(error_of([&] { File::open(path(2).string()); }).find("file name says part 2"), std::string::npos);
  EXPECT_EQ(hearth::gguf::split_paths((dir_ / "plain.gguf").string(), 1).size(), 1u);
  const auto paths = hearth::gguf::split_paths(path(1).string(), 3);
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[2], path(3).string());
}

// The shared fixtures: real files made by the reference implementation.
std::vector<fs::path> fixture_files(const char* sub) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(HEARTH_FIXTURES) / sub;
  if (!fs::is_directory(dir)) return out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".gguf") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GgufFixtures, EveryModelOpens) {
  const auto files = fixture_files("models");
  if (files.empty()) GTEST_SKIP() << "no fixtures at " << HEARTH_FIXTURES;
  EXPECT_GE(files.size(), 20u);
  for (auto& p : files) {
    SCOPED_TRACE(p.string());
    std::unique_ptr<File> f;
    ASSERT_NO_THROW(f = File::open(p.string()));
    EXPECT_TRUE(f->has_data());
    EXPECT_EQ(f->version(), 3u);
    const std::string arch = f->get_string("general.architecture");
    EXPECT_TRUE(arch == "llama" || arch == "qwen2" || arch == "qwen3") << arch;
    const int64_t n_layer = f->get_int(arch + ".block_count");
    EXPECT_GE(n_layer, 4);
    // Per layer at least the norms, attention and FFN weights; plus embeddings and the final norm.
    EXPECT_GE(f->tensors().size(), static_cast<size_t>(n_layer * 9 + 2));
    EXPECT_LE(f->tensors().size(), static_cast<size_t>(n_layer * 16 + 4));
    ASSERT_NE(f->find_tensor("token_embd.weight"), nullptr);
    ASSERT_NE(f->find_tensor("blk.0.attn_q.weight"), nullptr);
    EXPECT_GE(f->get("tokenizer.ggml.tokens").array_size(), 512u);
    for (auto& t : f->tensors()) {
      ASSERT_NE(t.data, nullptr) << t.name;
      EXPECT_EQ(t.nbytes, hearth::tensor::row_size(t.type, t.ne[0]) * static_cast<uint64_t>(t.n_rows()))
          << t.name;
      EXPECT_LE(f->data_offset() + t.offset + t.nbytes, f->file_size()) << t.name;
      volatile uint8_t last = t.data[t.nbytes - 1];  // touch the last byte (ASan/bounds)
      (void)last;
    }
    // The header-only view agrees.
    ReadOptions ho;
    ho.header_only = true;
    auto h = File::open(p.string(), ho);
    EXPECT_EQ(h->tensors().size(), f->tensors().size());
    EXPECT_EQ(h->metadata().size(), f->metadata().size());
  }
}

TEST(GgufFixtures, LlamaF32Shapes) {
  const fs::path p = fs::path(HEARTH_FIXTURES) / "models" / "llama-s-f32.gguf";
  if (!fs::exists(p)) GTEST_SKIP() << "no fixture " << p;
  auto f = File::open(p.string());
  const TensorInfo* emb = f->find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->type, Type::F32);
  EXPECT_EQ(emb->n_dims, 2);
  EXPECT_EQ(emb->ne[0], 256);
  EXPECT_EQ(emb->ne[1], 2048);
  EXPECT_EQ(emb->nbytes, 256u * 2048u * 4u);
  EXPECT_EQ(f->get_int("llama.block_count"), 4);
  EXPECT_EQ(f->get_int("llama.embedding_length"), 256);
  EXPECT_EQ(f->get("tokenizer.ggml.tokens").array_size(), 2048u);
  for (auto& t : f->tensors()) EXPECT_EQ(t.type, Type::F32) << t.name;
  // The f32 values of the embedding are finite.
  const float* e = reinterpret_cast<const float*>(emb->data);
  for (int i = 0; i < 256; ++i) EXPECT_TRUE(std::isfinite(e[i]));
}

TEST(GgufFixtures, VocabOnlyFiles) {
  const auto files = fixture_files("vocab");
  if (files.empty()) GTEST_SKIP() << "no fixtures at " << HEARTH_FIXTURES;
  EXPECT_GE(files.size(), 14u);
  for (auto& p : files) {
    SCOPED_TRACE(p.string());
    std::unique_ptr<File> f;
    ASSERT_NO_THROW(f = File::open(p.string()));
    EXPECT_GE(f->get_string("tokenizer.ggml.model").size(), 3u);
    const Value& tokens = f->get("tokenizer.ggml.tokens");
    EXPECT_EQ(tokens.elem_type, ValueType::STRING);
    EXPECT_GE(tokens.array_size(), 1000u);
    if (const Value* types = f->find("tokenizer.ggml.token_type")) {
      EXPECT_EQ(types->array_size(), tokens.array_size());
    }
    if (const Value* scores = f->find("tokenizer.ggml.scores")) {
      EXPECT_EQ(scores->array_size(), tokens.array_size());
    }
  }
}

}  // namespace

namespace {

// The fuzz seeds come from an independent little writer (tests/fuzz/gguf_seeds.py): they must all read.
TEST(GgufSeeds, AllRead) {
  const fs::path dir = fs::path(HEARTH_SOURCE_DIR) / "tests" / "fuzz" / "seeds" / "gguf";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no seeds at " << dir;
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    SCOPED_TRACE(e.path().string());
    ++n;
    EXPECT_LT(fs::file_size(e.path()), 64u * 1024u);
    const std::string name = e.path().filename().string();
    ReadOptions opt;
    opt.header_only = name.find("header") != std::string::npos;
    opt.load_splits = name.find("split") == std::string::npos;
    std::unique_ptr<File> f;
    ASSERT_NO_THROW(f = File::open(e.path().string(), opt));
    EXPECT_EQ(f->has_data(), !opt.header_only);
    if (name == "all_value_types.gguf") {
      EXPECT_EQ(f->get_int("t.i64"), -(int64_t{1} << 40));
      EXPECT_EQ(f->get("t.u64").scalar, Value::Scalar{(uint64_t{1} << 63) + 5});
      EXPECT_EQ(f->get("t.arr.str").strings[2],
                "\xE2\x96\x81"
                "b");
      EXPECT_EQ(f->get_string("t.str"), "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x94\xA5");
    }
    if (name == "align64.gguf") {
      EXPECT_EQ(f->alignment(), 64u);
    }
    if (name == "tensors.gguf") {
      ASSERT_EQ(f->tensors().size(), 8u);
      EXPECT_EQ(f->find_tensor("blk.0.idx")->n_dims, 4);
      for (auto& t : f->tensors()) {  // each tensor's bytes are 0x11, 0x12, ...
        EXPECT_EQ(t.data[0], 0x11) << t.name;
        EXPECT_EQ(t.data[t.nbytes - 1], static_cast<uint8_t>(0x11 + t.nbytes - 1)) << t.name;
      }
    }
  }
  EXPECT_GE(n, 5);
}

}  // namespace
