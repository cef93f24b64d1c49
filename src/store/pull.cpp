// `pull`: plan (registry, hub, URL or local file), download every blob, then write the manifest.
#include <sys/stat.h>

#include <filesystem>

#include "base/log.h"
#include "gguf/gguf.h"
#include "store/sources.h"
#include "store/store.h"

namespace hearth::store {

namespace fs = std::filesystem;

namespace {

// A local GGUF file imported by copy (or linked in place).
Manifest import_local(LocalStore& store, const std::string& path, bool link, Progress& progress) {
  std::error_code ec;
  const fs::path abs = fs::canonical(path, ec);
  if (ec) fail("cannot open {}: {}", path, ec.message());
  if (!fs::is_regular_file(abs)) fail("{} is not a regular file", path);
  // Validates the header (and that every part of a split model is there).
  auto f = gguf::File::open(abs.string(), {.header_only = true, .load_splits = true});
  const int n = static_cast<int>(f->get_int("split.count", 1));
  const auto parts = n > 1 ? gguf::split_paths(abs.string(), n) : std::vector<std::string>{abs.string()};
  Manifest m;
  uint64_t total = 0;
  for (const auto& p : parts) total += fs::file_size(p);
  if (!link) check_free_space(total, free_space(store.blobs_dir()), store.blobs_dir());
  for (const auto& p : parts) {
    Layer l;
    l.media_type = media::kModel;
    l.size = fs::file_size(p);
    const std::string title = fs::path(p).filename().string();
    if (is_safe_filename(title)) l.title = title;
    if (link) {
      l.path = p;
    } else {
      progress.message(fmt::format("importing {} ({})", p, human_size(l.size)));
      l.digest = store.import_file(p);
    }
    m.layers.push_back(l);
  }
  m.annotations = {{annot::kSource, link ? "link" : "file"}, {annot::kOrigin, abs.string()}};
  return m;
}

}  // namespace

PullResult pull(const std::string& ref_text, const PullOptions& opt) {
  const Reference ref = parse_reference(ref_text);
  ModelName target = opt.name.empty() ? ref.name : parse_model_name(opt.name);
  if (opt.link && ref.kind != RefKind::File) fail("--link only applies to local files");
  if (!opt.sha256.empty() && ref.kind != RefKind::Url) fail("--sha256 only applies to URLs");
  LocalStore store;
  // rm must not collect blobs between their download and the manifest that references them.
  auto gc_lock = store.lock_gc(false, "waiting for a `hearth rm` in progress");
  Progress progress(opt.quiet, opt.on_event);
  Manifest m;
  if (ref.kind == RefKind::File) {
    m = import_local(store, ref.path, opt.link, progress);
  } else {
    PullPlan plan;
    if (ref.kind == RefKind::Url) {
      plan = plan_url(ref.url, opt.sha256);
    } else {
      progress.message(fmt::format("pulling manifest of {}", ref.name.display()));
      plan = ref.name.is_hf() ? hf::plan(ref.name) : ollama::plan(ref.name, opt.insecure);
    }
    const auto digests = fetch_all(store, plan.blobs, progress);
    m = plan.manifest(store, digests);
  }
  progress.message("writing manifest");
  store.write_manifest(target, m);
  PullResult r;
  r.name = target;
  r.size = m.total_size();
  if (auto ml = m.model_layers(); !ml.empty()) r.digest = ml[0]->digest;
  progress.message("success");
  return r;
}

ResolvedModel ensure(const std::string& ref_text, const PullOptions& opt) {
  if (auto found = find_model(ref_text)) return *found;
  const Reference ref = parse_reference(ref_text);
  if (ref.kind == RefKind::File) fail("{}: no such file", ref.path);
  const PullResult r = pull(ref_text, opt);
  return resolve(r.name.full());
}

}  // namespace hearth::store
