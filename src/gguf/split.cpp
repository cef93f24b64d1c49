// gguf: opening a file, and the parts of a split model (NAME-00001-of-0000N.gguf) as one model.
#include <filesystem>
#include <optional>

#include "gguf/gguf.h"

namespace hearth::gguf {

namespace {

constexpr int64_t kMaxSplits = 9999;

struct SplitName {
  std::string prefix;  // everything before "-00001-of-00003.gguf"
  int no = 0;          // 1-based, as in the name
  int count = 0;
};

bool parse_digits5(std::string_view s, int* out) {
  int v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  *out = v;
  return true;
}

// "PREFIX-00002-of-00003.gguf" -> {PREFIX, 2, 3}.
std::optional<SplitName> parse_split_name(const std::string& path) {
  constexpr size_t kTail = 20;  // "-00001-of-00003.gguf"
  if (path.size() < kTail) return std::nullopt;
  const std::string_view t = std::string_view(path).substr(path.size() - kTail);
  SplitName s;
  if (t[0] != '-' || t.substr(6, 4) != "-of-" || t.substr(15) != ".gguf") return std::nullopt;
  if (!parse_digits5(t.substr(1, 5), &s.no) || !parse_digits5(t.substr(10, 5), &s.count)) return std::nullopt;
  s.prefix = path.substr(0, path.size() - kTail);
  return s;
}

const Value* find_in(const std::vector<std::pair<std::string, Value>>& kv, std::string_view key) {
  for (auto& [k, v] : kv)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace

std::vector<std::string> split_paths(const std::string& path, int count) {
  const auto s = parse_split_name(path);
  if (!s) {
    if (count > 1)
      fail(
          "{}: metadata says the model is split in {} parts, but the file name is not "
          "NAME-00001-of-{:05d}.gguf",
          path, count, count);
    return {path};
  }
  if (s->count != count) fail("{}: the file name says {} parts but split.count is {}", path, s->count, count);
  std::vector<std::string> out;
  for (int i = 1; i <= count; ++i)
    out.push_back(fmt::format("{}-{:05d}-of-{:05d}.gguf", s->prefix, i, count));
  return out;
}

std::unique_ptr<File> File::open(const std::string& path, const ReadOptions& opt) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  f->maps_.emplace_back(path);
  f->parse(f->maps_[0].data(), f->maps_[0].size(), 0, opt.header_only, path);
  const Value* count = f->find("split.count");
  if (!count || !opt.load_splits) return f;

  const int64_t n = count->as_int(fmt::format("{}: split.count", path));
  if (n < 1 || n > kMaxSplits) fail("{}: split.count {} is out of range (1 to {})", path, n, kMaxSplits);
  const int64_t no = f->get_int("split.no", 0);
  if (no < 0 || no >= n) fail("{}: split.no {} is out of range for split.count {}", path, no, n);
  if (no != 0)
    fail("{}: this is part {} of {} of a split model; open the first part (NAME-00001-of-{:05d}.gguf)", path,
         no + 1, n, n);
  if (n == 1) return f;
  const auto name = parse_split_name(path);
  if (name && name->no != 1)
    fail("{}: the file name says part {} but split.no says this is part 1", path, name->no);
  const auto paths = split_paths(path, static_cast<int>(n));
  for (int i = 1; i < n; ++i) {
    std::error_code ec;
    if (!std::filesystem::exists(paths[i], ec))
      fail("{}: split model part {} of {} is missing ({})", path, i + 1, n, paths[i]);
    f->maps_.emplace_back(paths[i]);
    const auto& m = f->maps_.back();
    const auto part_kv = f->parse(m.data(), m.size(), i, opt.header_only, paths[i]);
    if (const Value* pn = find_in(part_kv, "split.no"); pn && pn->as_int(paths[i] + ": split.no") != i)
      fail("{}: split.no is {}, expected {} (part {} of {})", paths[i], pn->as_int("split.no"), i, i + 1, n);
    if (const Value* pc = find_in(part_kv, "split.count"); pc && pc->as_int(paths[i] + ": split.count") != n)
      fail("{}: split.count is {} but the first part says {}", paths[i], pc->as_int("split.count"), n);
  }
  if (const Value* tc = f->find("split.tensors.count")) {
    const int64_t want = tc->as_int(fmt::format("{}: split.tensors.count", path));
    if (want != static_cast<int64_t>(f->tensors_.size()))
      fail("{}: split.tensors.count is {} but the {} parts hold {} tensors", path, want, n,
           f->tensors_.size());
  }
  return f;
}

}  // namespace hearth::gguf
