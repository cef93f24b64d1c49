#include "store/name.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include "base/error.h"

namespace hearth::store {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_name_char(char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return to_lower(s.substr(s.size() - suffix.size())) == to_lower(suffix);
}

std::string_view basename_of(std::string_view s) {
  auto p = s.find_last_of('/');
  return p == std::string_view::npos ? s : s.substr(p + 1);
}

// Printable for error messages: control characters become '?', long input is cut.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  if (s.size() > 200) out += "...";
  return out;
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_valid_component(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len || !is_alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), is_name_char);
}

bool is_valid_tag(std::string_view s) {
  if (s.empty() || s.size() > 80 || !(is_alnum(s[0]) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), is_name_char);
}

bool is_valid_host(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::string_view host = s, port;
  if (auto c = s.find(':'); c != std::string_view::npos) {
    host = s.substr(0, c);
    port = s.substr(c + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
  }
  if (host.empty() || !is_alnum(host[0]) || !is_alnum(host.back())) return false;
  if (host.find("..") != std::string_view::npos) return false;
  return std::all_of(host.begin(), host.end(), [](char c) { return is_alnum(c) || c == '.' || c == '-'; });
}

bool is_safe_filename(std::string_view s) {
  if (s.empty() || s.size() > 200 || !is_alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_name_char(c) || c == '+'; });
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_valid_digest(std::string_view d) {
  return d.size() == 71 && d.substr(0, 7) == "sha256:" && is_hex64(d.substr(7));
}

void check_digest(std::string_view d, std::string_view what) {
  if (!is_valid_digest(d))
    fail("{}: invalid digest '{}' (expected sha256: followed by 64 lowercase hex digits)", what,
         printable(d));
}

std::string digest_hex(std::string_view d) {
  check_digest(d, "digest");
  return std::string(d.substr(7));
}

std::string ModelName::full() const { return host + "/" + ns + "/" + model + ":" + tag; }

std::string ModelName::display() const {
  if (host == kDefaultHost) {
    if (ns == kDefaultNamespace) return model + ":" + tag;
    return ns + "/" + model + ":" + tag;
  }
  return full();
}

ModelName parse_model_name(std::string_view s) {
  if (s.empty()) fail("empty model name");
  if (s.size() > 512) fail("model name is too long ({} characters)", s.size());
  const std::string shown = printable(s);
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\')
      fail("invalid model name '{}': it contains a space, backslash or control character", shown);
  std::string_view rest = s;
  ModelName n;
  // The tag follows the last ':' after the last '/' (a ':' before it belongs to host:port).
  const auto slash = rest.find_last_of('/');
  const auto colon = rest.find_last_of(':');
  bool has_tag = false;
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    n.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    has_tag = true;
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    auto p = rest.find('/', start);
    parts.push_back(rest.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  for (auto& p : parts)
    if (p.empty() || p == "." || p == "..")
      fail("invalid model name '{}': empty, '.' or '..' path components are not allowed", shown);
  if (parts.size() == 1) {
    n.model = std::string(parts[0]);
  } else if (parts.size() == 2) {
    n.ns = std::string(parts[0]);
    n.model = std::string(parts[1]);
  } else if (parts.size() == 3) {
    n.host = to_lower(parts[0]);
    n.ns = std::string(parts[1]);
    n.model = std::string(parts[2]);
  } else {
    fail("invalid model name '{}': expected [host/][namespace/]model[:tag]", shown);
  }
  if (n.host == "huggingface.co" || n.host == "www.huggingface.co") n.host = kHfHost;
  if (parts.size() == 2 && (to_lower(parts[0]) == kHfHost || to_lower(parts[0]) == "huggingface.co"))
    fail("invalid model name '{}': Hugging Face models are hf.co/USER/REPO[:QUANT]", shown);
  if (!is_valid_host(n.host)) fail("invalid model name '{}': bad host '{}'", shown, n.host);
  if (!is_valid_component(n.ns, 96))
    fail(
        "invalid model name '{}': the namespace must be letters, digits, '_', '.', '-' and start with a "
        "letter "
        "or digit",
        shown);
  if (!is_valid_component(n.model, 96))
    fail(
        "invalid model name '{}': the model must be letters, digits, '_', '.', '-' and start with a letter "
        "or "
        "digit",
        shown);
  if (!is_valid_tag(n.tag))
    fail("invalid model name '{}': the tag must be letters, digits, '_', '.', '-' (at most 80)", shown);
  // Quantization tags of Hugging Face repositories are case-insensitive: store them upper-case.
  if (n.is_hf() && has_tag && to_lower(n.tag) != kDefaultTag) n.tag = to_upper(n.tag);
  if (n.is_hf() && to_lower(n.tag) == kDefaultTag) n.tag = kDefaultTag;
  return n;
}

Reference parse_reference(std::string_view s) {
  Reference r;
  if (s.empty()) fail("empty model reference");
  if (auto p = s.find("://"); p != std::string_view::npos) {
    const std::string scheme = to_lower(s.substr(0, p));
    if (scheme != "http" && scheme != "https")
      fail("unsupported URL scheme '{}': only http:// and https:// URLs can be pulled", printable(scheme));
    if (s.size() > 4096) fail("URL is too long ({} characters)", s.size());
    for (char c : s)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
        fail("invalid URL '{}': it contains spaces", printable(s));
    auto rest = s.substr(p + 3);
    auto path_start = rest.find('/');
    if (path_start == 0 || rest.empty()) fail("invalid URL '{}': no host", printable(s));
    std::string_view path =
        path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
    path = path.substr(0, path.find_first_of("?#"));
    r.kind = RefKind::Url;
    r.url = std::string(s.substr(0, p)) + "://" + std::string(rest);
    r.name.model = model_name_from_filename(basename_of(path));
    return r;
  }
  const bool looks_like_path = s[0] == '/' || s.substr(0, 2) == "./" || s.substr(0, 3) == "../" ||
                               s.substr(0, 2) == "~/" || ends_with_ci(s, ".gguf");
  const std::string str(s);
  if (looks_like_path) {
    r.kind = RefKind::File;
    r.path = str;
    if (s.substr(0, 2) == "~/") {
      const char* home = std::getenv("HOME");
      if (!home || !*home) fail("cannot expand '~': HOME is not set");
      r.path = std::string(home) + str.substr(1);
    }
    r.name.model = model_name_from_filename(basename_of(r.path));
    return r;
  }
  r.kind = RefKind::Name;
  r.name = parse_model_name(s);
  return r;
}

SplitPart split_part(std::string_view filename) {
  static const std::regex re(R"(-(\d{5})-of-(\d{5})\.gguf$)", std::regex::icase);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(filename.begin(), filename.end(), m, re)) return {};
  SplitPart p{std::stoi(m[1].str()), std::stoi(m[2].str())};
  if (p.count < 1 || p.index < 1 || p.index > p.count) return {};
  return p;
}

std::string split_part_name(std::string_view first, int index) {
  static const std::regex re(R"(^(.*)-(\d{5})-of-(\d{5})(\.gguf)$)", std::regex::icase);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(first.begin(), first.end(), m, re))
    fail("'{}' is not a split GGUF file name", printable(first));
  return fmt::format("{}-{:05d}-of-{}{}", m[1].str(), index, m[3].str(), m[4].str());
}

static std::string strip_gguf_suffix(std::string_view name) {
  if (split_part(name).count > 0) {
    auto p = to_lower(name).rfind("-of-");
    return std::string(name.substr(0, p - 6));
  }
  if (ends_with_ci(name, ".gguf")) return std::string(name.substr(0, name.size() - 5));
  return std::string(name);
}

std::string model_name_from_filename(std::string_view filename) {
  std::string stem = to_lower(strip_gguf_suffix(basename_of(filename)));
  std::string out;
  for (char c : stem) {
    char d = is_name_char(c) ? c : '-';
    if (d == '-' && !out.empty() && out.back() == '-') continue;
    out.push_back(d);
  }
  while (!out.empty() && !is_alnum(out.front())) out.erase(out.begin());
  while (!out.empty() && !is_alnum(out.back())) out.pop_back();
  if (out.size() > 80) out.resize(80);
  while (!out.empty() && !is_alnum(out.back())) out.pop_back();
  return out.empty() ? "model" : out;
}

std::string quant_from_filename(std::string_view filename) {
  static const std::regex re(
      R"((?:^|[-._])(I?Q[0-9]+(?:_[A-Z0-9]+)*|TQ[12]_0|MXFP4(?:_MOE)?|BF16|FP16|F16|FP32|F32)(?=$|[-._]))");
  const std::string stem = to_upper(strip_gguf_suffix(basename_of(filename)));
  std::string last;
  for (auto it = std::sregex_iterator(stem.begin(), stem.end(), re); it != std::sregex_iterator(); ++it)
    last = (*it)[1].str();
  if (last == "FP16") return "F16";
  if (last == "FP32") return "F32";
  return last;
}

}  // namespace hearth::store
