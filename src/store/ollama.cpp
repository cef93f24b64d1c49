// The Ollama registry protocol (an OCI distribution subset): manifests and blobs under /v2/<ns>/<model>/.
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "base/log.h"
#include "store/sources.h"

namespace hearth::store {

Manifest PullPlan::manifest(const LocalStore& store, const std::vector<std::string>& digests) const {
  Manifest m;
  for (size_t i = 0; i < blobs.size(); ++i) {
    Layer l;
    l.media_type = media_types[i];
    l.digest = digests[i];
    l.size = blobs[i].size;
    if (l.size == 0) {
      std::error_code ec;
      auto s = std::filesystem::file_size(store.blob_path(l.digest), ec);
      if (!ec) l.size = s;
    }
    if (is_safe_filename(titles[i])) l.title = titles[i];
    if (static_cast<int>(i) == config_index)
      m.config = l;
    else
      m.layers.push_back(l);
  }
  m.annotations = annotations;
  return m;
}

namespace ollama {

namespace {

// Registries that want a token answer 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`;
// anonymous pulls get one from the realm (the docker/OCI token protocol).
std::string fetch_token(const std::string& challenge, const http::RetryPolicy& policy) {
  if (challenge.size() < 7 || to_lower(challenge.substr(0, 7)) != "bearer ") return "";
  static const std::regex kv(R"re((\w+)="([^"]*)")re");
  std::string realm, service, scope;
  for (auto it = std::sregex_iterator(challenge.begin(), challenge.end(), kv); it != std::sregex_iterator();
       ++it) {
    const std::string k = to_lower((*it)[1].str());
    if (k == "realm") realm = (*it)[2].str();
    if (k == "service") service = (*it)[2].str();
    if (k == "scope") scope = (*it)[2].str();
  }
  if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0) return "";
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                    "service=" + http::escape_segment(service) + "&scope=" + http::escape_segment(scope);
  http::Request req{url, {}, 0, 1 << 20};
  auto r = http::get(req, policy);
  if (r.status != 200) return "";
  try {
    auto j = nlohmann::json::parse(r.body);
    for (const char* k : {"token", "access_token"})
      if (j.contains(k) && j[k].is_string()) {
        std::string t = j[k].get<std::string>();
        if (t.find_first_of("\r\n") == std::string::npos && t.size() < 16384) return t;
      }
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

}  // namespace

std::string base_url(const ModelName& n, bool insecure) {
  if (n.host == kDefaultHost) {
    const char* env = std::getenv("HEARTH_REGISTRY");
    std::string b = env && *env ? env : "https://registry.ollama.ai";
    while (!b.empty() && b.back() == '/') b.pop_back();
    if (b.rfind("http://", 0) != 0 && b.rfind("https://", 0) != 0)
      fail("HEARTH_REGISTRY must be an http:// or https:// URL (got '{}')", b);
    return b;
  }
  return (insecure ? "http://" : "https://") + n.host;
}

PullPlan plan(const ModelName& n, bool insecure) {
  const std::string base = base_url(n, insecure);
  const std::string repo = base + "/v2/" + n.ns + "/" + n.model;
  const auto policy = http::RetryPolicy::from_env();
  http::Request req{
      repo + "/manifests/" + n.tag,
      {std::string("Accept: ") + media::kManifest + ", application/vnd.oci.image.manifest.v1+json"},
      0,
      4 << 20};
  auto r = http::get(req, policy);
  std::vector<std::string> auth;
  if (r.status == 401) {
    const std::string token = fetch_token(r.header("www-authenticate"), policy);
    if (!token.empty()) {
      auth.push_back("Authorization: Bearer " + token);
      req.headers.push_back(auth.back());
      r = http::get(req, policy);
    }
  }
  if (r.status == 404) fail("no such model: {} (the registry at {} does not have it)", n.display(), base);
  if (r.status == 401 || r.status == 403)
    fail("access denied to {} by the registry at {} ({}): the model is private or needs credentials",
         n.display(), base, http::status_text(r.status));
  if (r.status != 200)
    fail("cannot get the manifest of {} from {}: {}", n.display(), base, http::status_text(r.status));
  const Manifest m = Manifest::parse(r.body, "manifest of " + n.display() + " from " + base);
  if (m.model_layers().empty()) fail("{}: the registry's manifest has no model layer", n.display());
  PullPlan plan;
  auto add = [&](const Layer& l) {
    BlobSource b;
    b.url = repo + "/blobs/" + l.digest;
    b.headers = auth;
    b.digest = l.digest;
    b.size = l.size;
    b.label = l.digest.substr(7, 12);
    b.gguf = l.media_type == media::kModel;
    plan.blobs.push_back(b);
    plan.media_types.push_back(l.media_type);
    plan.titles.push_back(l.title);
  };
  if (m.config) {
    plan.config_index = 0;
    add(*m.config);
  }
  for (const auto& l : m.layers) add(l);
  plan.annotations = {{annot::kSource, "ollama"}, {annot::kOrigin, n.full()}};
  return plan;
}

}  // namespace ollama
}  // namespace hearth::store
