// libFuzzer target for the GGUF reader: arbitrary bytes are parsed as a header (parse_header) and written
// to a file opened with File::open (header-only and full). Every metadata value and tensor of an accepted
// file is touched (first and last byte of each tensor's data) so ASan catches any out-of-bounds view.
// The file is named as part 1 of a 2-part split model, with the same bytes as part 2, so the split path
// runs too. Only hearth::Error may escape the reader; anything else is a crash. Every file the reader
// accepts is written back with the Writer and must read back identical (the writer never refuses it).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gguf/gguf.h"

namespace {

using hearth::gguf::File;
using hearth::gguf::Value;
using hearth::gguf::ValueType;

volatile uint64_t g_sink;

uint64_t touch_value(const Value& v) {
  uint64_t acc = v.to_display(4).size() + v.array_size();
  if (v.is_array()) {
    for (auto& s : v.strings) acc += s.size() + (s.empty() ? 0 : static_cast<uint8_t>(s.front() ^ s.back()));
    for (int64_t i : v.ints) acc += static_cast<uint64_t>(i);
    for (double d : v.floats) acc += d > 0;
    return acc;
  }
  try {
    if (v.is_string()) acc += v.as_string().size();
    if (v.is_integer() || v.type == ValueType::BOOL) acc += static_cast<uint64_t>(v.as_int()) + v.as_bool();
    if (v.is_float() || v.is_integer()) acc += v.as_float() > 0;
  } catch (const hearth::Error&) {  // e.g. a u64 above INT64_MAX
  }
  return acc;
}

void touch(const File& f) {
  uint64_t acc = f.version() + f.alignment() + f.data_offset() + f.file_size() + f.has_data() + f.n_splits();
  for (auto& [key, v] : f.metadata()) {
    if (f.find(key) != &v) __builtin_trap();  // the index agrees with the list
    acc += key.size() + touch_value(v);
  }
  try {
    acc += f.get_string("general.architecture", "").size();
    acc += static_cast<uint64_t>(f.get_int("general.alignment", 0));
    acc += f.get_bool("general.flag", false);
    acc += f.get_float("general.float", 0.0) > 0;
  } catch (const hearth::Error&) {  // present with another type
  }
  for (auto& t : f.tensors()) {
    if (f.find_tensor(t.name) != &t) __builtin_trap();
    if (t.n_dims < 1 || t.n_dims > 4 || t.nbytes == 0) __builtin_trap();
    acc += static_cast<uint64_t>(t.n_elements() + t.n_rows()) + t.offset + t.shape_string().size();
    acc += hearth::tensor::row_size(t.type, t.ne[0]);
    if (t.data) acc += t.data[0] + t.data[t.nbytes - 1];
  }
  g_sink = acc;
}

bool same_double(double a, double b, bool as_f32) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return as_f32 ? static_cast<float>(a) == static_cast<float>(b) : a == b;
}

bool same_value(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  if (!a.is_array()) {
    if (a.is_float()) return same_double(std::get<double>(a.scalar), std::get<double>(b.scalar), false);
    return a.scalar == b.scalar;
  }
  if (a.elem_type != b.elem_type || a.ints != b.ints || a.strings != b.strings) return false;
  if (a.floats.size() != b.floats.size()) return false;
  for (size_t i = 0; i < a.floats.size(); ++i)
    if (!same_double(a.floats[i], b.floats[i], a.elem_type == ValueType::FLOAT32)) return false;
  return true;
}

// An accepted file written back by the Writer must read back the same (metadata, shapes, data bytes).
void round_trip(const File& f, const std::string& path) {
  hearth::gguf::Writer w(f.alignment());
  for (auto& [k, v] : f.metadata()) w.set(k, v);
  for (auto& t : f.tensors()) w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims));
  w.begin(path);
  for (auto& t : f.tensors()) w.write_data(t.data, t.nbytes);
  w.finish();
  hearth::gguf::ReadOptions one_part;
  one_part.load_splits = false;
  auto g = File::open(path, one_part);
  if (g->metadata().size() != f.metadata().size() || g->tensors().size() != f.tensors().size())
    __builtin_trap();
  if (g->alignment() != f.alignment()) __builtin_trap();
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    if (g->metadata()[i].first != f.metadata()[i].first) __builtin_trap();
    if (!same_value(g->metadata()[i].second, f.metadata()[i].second)) __builtin_trap();
  }
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto &a = f.tensors()[i], &b = g->tensors()[i];
    if (a.name != b.name || a.type != b.type || a.n_dims != b.n_dims || a.nbytes != b.nbytes)
      __builtin_trap();
    if (!std::equal(a.ne, a.ne + 4, b.ne) || std::memcmp(a.data, b.data, a.nbytes) != 0) __builtin_trap();
  }
}

bool write_file(const std::string& path, const uint8_t* data, size_t size) {
  // A new file each time: truncating and rewriting one makes ext4 flush it to disk (auto_da_alloc).
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  return done == size;
}

// Prefix of this process's two temporary files (removed at exit; the string is never destroyed so the
// exit handler can still use it).
const std::string& prefix() {
  static const std::string* const p = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* s = new std::string(std::string(tmp && *tmp ? tmp : "/tmp") + "/hearth_gguf_fuzz_" +
                              std::to_string(::getpid()));
    std::atexit([] {
      ::unlink((prefix() + "-00001-of-00002.gguf").c_str());
      ::unlink((prefix() + "-00002-of-00002.gguf").c_str());
      ::unlink((prefix() + "-rt.gguf").c_str());
    });
    return s;
  }();
  return *p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    touch(*File::parse_header(data, size, "fuzz-input"));
  } catch (const hearth::Error&) {
  }
  const std::string part1 = prefix() + "-00001-of-00002.gguf";
  const std::string part2 = prefix() + "-00002-of-00002.gguf";
  if (!write_file(part1, data, size) || !write_file(part2, data, size)) return 0;
  for (bool header_only : {true, false}) {
    for (bool load_splits : {true, false}) {
      hearth::gguf::ReadOptions opt;
      opt.header_only = header_only;
      opt.load_splits = load_splits;
      std::unique_ptr<File> f;
      try {
        f = File::open(part1, opt);
      } catch (const hearth::Error&) {
        continue;
      }
      touch(*f);
      // (Not with a huge alignment: a 2 GB alignment is valid but would write gigabytes of padding.)
      if (!header_only && !load_splits && f->alignment() <= 65536) round_trip(*f, prefix() + "-rt.gguf");
    }
  }
  return 0;
}
