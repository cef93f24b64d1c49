// Hugging Face GGUF repositories: the hub's file listing (/api/models/<repo>/tree/main) with LFS sha256s,
// downloads from /<repo>/resolve/main/<file>.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>

#include "base/log.h"
#include "store/sources.h"

namespace hearth::store {

namespace {

std::string env_or(std::initializer_list<const char*> names, const std::string& def) {
  for (const char* n : names)
    if (const char* v = std::getenv(n); v && *v) return v;
  return def;
}

bool is_gguf_path(const std::string& p) {
  return p.size() > 5 && to_lower(p.substr(p.size() - 5)) == ".gguf";
}

std::string base_name(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// The next page of a paginated listing: Link: <url>; rel="next".
std::string next_link(const std::string& link) {
  static const std::regex re(R"re(<([^>]+)>\s*;\s*rel="?next"?)re");
  std::smatch m;
  return std::regex_search(link, m, re) ? m[1].str() : "";
}

// A path inside the repository is untrusted: relative, no '..' or empty components, printable.
bool safe_repo_path(const std::string& p) {
  if (p.empty() || p.size() > 1024 || p[0] == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    const std::string c = p.substr(start, end - start);
    if (c.empty() || c == "." || c == "..") return false;
    start = end + 1;
  }
  return std::all_of(p.begin(), p.end(), [](char ch) {
    return static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f && ch != '\\';
  });
}

}  // namespace

namespace hf {

std::string endpoint() {
  std::string e = env_or({"HEARTH_HF_ENDPOINT", "HF_ENDPOINT"}, "https://huggingface.co");
  while (!e.empty() && e.back() == '/') e.pop_back();
  if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0)
    fail("HEARTH_HF_ENDPOINT must be an http:// or https:// URL (got '{}')", e);
  return e;
}

std::vector<std::string> auth_headers() {
  const std::string token = env_or({"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}, "");
  if (token.empty()) return {};
  if (token.find_first_of("\r\n ") != std::string::npos) fail("HF_TOKEN contains spaces or line breaks");
  return {"Authorization: Bearer " + token};
}

std::vector<RepoFile> list_files(const ModelName& n) {
  const std::string ep = endpoint();
  const std::string repo = n.ns + "/" + n.model;
  std::string url = ep + "/api/models/" + repo + "/tree/main?recursive=true";
  const auto policy = http::RetryPolicy::from_env();
  std::vector<RepoFile> out;
  for (int page = 0; !url.empty(); ++page) {
    if (page >= 100) fail("hf.co/{}: the file listing has too many pages", repo);
    auto r = http::get(http::Request{url, auth_headers(), 0, 32 << 20}, policy);
    if (r.status == 404) fail("no such model: hf.co/{} (Hugging Face has no such repository)", repo);
    if (r.status == 401)
      fail(
          "no such model: hf.co/{}, or it is private or gated ({}): set HF_TOKEN to a token that can read it",
          repo, http::status_text(r.status));
    if (r.status == 403)
      fail(
          "access denied to hf.co/{} ({}): the repository is gated; accept its terms on the model page and "
          "set "
          "HF_TOKEN",
          repo, http::status_text(r.status));
    if (r.status != 200) fail("cannot list the files of hf.co/{}: {}", repo, http::status_text(r.status));
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(r.body);
    } catch (const nlohmann::json::exception& e) {
      fail("hf.co/{}: the hub's file listing is not valid JSON ({})", repo, e.what());
    }
    if (!j.is_array()) fail("hf.co/{}: the hub's file listing is not a JSON array", repo);
    for (const auto& e : j) {
      if (!e.is_object() || e.value("type", "") != "file") continue;
      auto p = e.find("path");
      if (p == e.end() || !p->is_string()) continue;
      RepoFile f;
      f.path = p->get<std::string>();
      if (!safe_repo_path(f.path)) continue;
      if (auto s = e.find("size"); s != e.end() && s->is_number_unsigned()) f.size = s->get<uint64_t>();
      if (auto l = e.find("lfs"); l != e.end() && l->is_object()) {
        if (auto o = l->find("oid"); o != l->end() && o->is_string() && is_hex64(o->get<std::string>()))
          f.sha256 = o->get<std::string>();
        if (auto s = l->find("size"); s != l->end() && s->is_number_unsigned()) f.size = s->get<uint64_t>();
      }
      out.push_back(f);
      if (out.size() > 100000) fail("hf.co/{}: too many files", repo);
    }
    const std::string next = next_link(r.header("link"));
    // Only follow pages on the same hub.
    url = next.rfind(ep + "/", 0) == 0 ? next : "";
  }
  return out;
}

std::vector<RepoFile> choose_files(const std::vector<RepoFile>& files, const std::string& tag,
                                   const std::string& repo) {
  // Group the GGUF files into models: a single file, or the parts of a split file.
  struct Group {
    std::string quant;
    std::map<int, RepoFile> parts;
    int count = 1;
  };
  std::map<std::string, Group> groups;  // key: path with the split suffix removed
  for (const auto& f : files) {
    if (!is_gguf_path(f.path)) continue;
    const std::string base = base_name(f.path);
    if (to_lower(base).find("mmproj") != std::string::npos) continue;  // vision projectors are not models
    const SplitPart sp = split_part(base);
    std::string key = f.path;
    if (sp.count > 0) key = f.path.substr(0, f.path.size() - base.size()) + split_part_name(base, 1);
    Group& g = groups[key];
    g.quant = quant_from_filename(base);
    g.count = sp.count > 0 ? sp.count : 1;
    g.parts[sp.count > 0 ? sp.index : 1] = f;
  }
  if (groups.empty()) fail("hf.co/{} has no GGUF files", repo);
  auto available = [&] {
    std::vector<std::string> q;
    for (auto& [k, g] : groups) q.push_back(g.quant.empty() ? base_name(k) : g.quant);
    std::sort(q.begin(), q.end());
    q.erase(std::unique(q.begin(), q.end()), q.end());
    std::string s;
    for (auto& x : q) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  const Group* pick = nullptr;
  const bool any = to_lower(tag) == kDefaultTag;
  const std::string want = any ? "Q4_K_M" : to_upper(tag);
  for (auto& [k, g] : groups)
    if (to_upper(g.quant) == want) {
      pick = &g;
      break;
    }
  if (!pick && !any) {
    // A tag that is not a quantization name may still name the file ("...-imat-Q4_K_M" etc.).
    for (auto& [k, g] : groups)
      if (to_upper(base_name(k)).find(want) != std::string::npos) {
        pick = &g;
        break;
      }
    if (!pick) fail("hf.co/{} has no GGUF file for quantization {}; available: {}", repo, tag, available());
  }
  if (!pick) {
    if (groups.size() == 1)
      pick = &groups.begin()->second;
    else
      fail("hf.co/{} has several GGUF files and no Q4_K_M; choose one with hf.co/{}:QUANT (available: {})",
           repo, repo, available());
  }
  std::vector<RepoFile> out;
  for (int i = 1; i <= pick->count; ++i) {
    auto it = pick->parts.find(i);
    if (it == pick->parts.end())
      fail("hf.co/{}: part {} of {} of the split model is missing from the repository", repo, i, pick->count);
    out.push_back(it->second);
  }
  return out;
}

PullPlan plan(const ModelName& n) {
  const std::string repo = n.ns + "/" + n.model;
  const auto files = choose_files(list_files(n), n.tag, repo);
  PullPlan plan;
  const std::string ep = endpoint();
  for (const auto& f : files) {
    BlobSource b;
    std::string path;
    size_t start = 0;
    while (true) {
      auto end = f.path.find('/', start);
      if (!path.empty()) path.push_back('/');
      path.append(http::escape_segment(f.path.substr(start, end == std::string::npos ? end : end - start)));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    b.url = ep + "/" + repo + "/resolve/main/" + path;
    b.headers = auth_headers();
    if (!f.sha256.empty())
      b.digest = "sha256:" + f.sha256;
    else
      log::warn("hf.co/{}: the hub gives no sha256 for {}; it is verified only by TLS", repo, f.path);
    b.size = f.size;
    b.label = base_name(f.path);
    b.gguf = true;
    plan.blobs.push_back(b);
    plan.media_types.push_back(media::kModel);
    plan.titles.push_back(base_name(f.path));
  }
  plan.annotations = {
      {annot::kSource, "hf"}, {annot::kOrigin, "hf.co/" + repo}, {annot::kFile, files[0].path}};
  return plan;
}

}  // namespace hf

PullPlan plan_url(const std::string& url, const std::string& sha256) {
  const std::string path = url.substr(0, url.find_first_of("?#"));
  const std::string base = base_name(path.substr(path.find("://") + 3));
  const SplitPart sp = split_part(base);
  if (sp.count > 1 && sp.index != 1)
    fail("{} is part {} of a split model: pull the first part (-00001-of-{:05d}.gguf)", url, sp.index,
         sp.count);
  if (sp.count > 1 && !sha256.empty())
    fail("--sha256 cannot verify a split model (it has {} files)", sp.count);
  std::string digest;
  if (!sha256.empty()) {
    digest = sha256.rfind("sha256:", 0) == 0 ? sha256 : "sha256:" + to_lower(sha256);
    check_digest(digest, "--sha256");
  }
  // The hub wants the token for gated repositories, whichever way their files are named.
  std::vector<std::string> headers;
  const std::string host =
      to_lower(url.substr(url.find("://") + 3, url.find('/', url.find("://") + 3) - url.find("://") - 3));
  if (host == "huggingface.co" || host == "hf.co") headers = hf::auth_headers();
  PullPlan plan;
  const int count = sp.count > 1 ? sp.count : 1;
  for (int i = 1; i <= count; ++i) {
    BlobSource b;
    const std::string name = count > 1 ? split_part_name(base, i) : base;
    b.url = count > 1 ? path.substr(0, path.size() - base.size()) + name : url;
    b.headers = headers;
    b.digest = digest;
    b.label = name.empty() ? url : name;
    b.gguf = true;
    plan.blobs.push_back(b);
    plan.media_types.push_back(media::kModel);
    plan.titles.push_back(name);
  }
  plan.annotations = {{annot::kSource, "url"}, {annot::kOrigin, url}};
  return plan;
}

}  // namespace hearth::store
