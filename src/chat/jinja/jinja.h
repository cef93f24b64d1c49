// chat/jinja: a Jinja2 template engine for chat templates, written for untrusted templates: a template
// sees only the context it is given, and recursion, loop work, string sizes and output are bounded so a
// hostile template fails quickly with hearth::Error instead of hanging or exhausting memory.
// Semantics follow Python Jinja2 3.1 as Hugging Face transformers configures it (sandboxed, immutable
// containers, trim_blocks, lstrip_blocks, loop controls, `{% generation %}`).
// The room must not know about models, tokenizers or HTTP.
#pragma once
#include <cstdint>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::jinja {

struct Options {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
  // list.append/pop, dict.update/pop/... Hugging Face's immutable sandbox refuses them (a template
  // calling them raises), which is the default; llama.cpp-style engines allow them.
  bool allow_mutation = false;
  // Work units: an evaluation, a loop iteration, a list element or 32 bytes of a new string (about
  // 50 ns and 32 bytes each, so the limit also bounds memory). Chat templates use a few hundred per
  // message.
  uint64_t max_steps = 4'000'000;
  size_t max_string = size_t{16} << 20;  // bytes of any string, including the rendered output
  size_t max_items = size_t{1} << 18;    // elements of any list or dict the template builds
  int max_depth = 400;                   // nested macro calls and evaluation depth
  size_t max_source = size_t{1} << 20;   // bytes of template source
  // The time strftime_now() formats (local time); the clock when unset.
  std::optional<std::tm> now;
};

struct Stmt;
class Template {
 public:
  // Parses the template; throws hearth::Error ("template syntax error, line N: ...").
  explicit Template(std::string_view source, Options opts = {});
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the context's keys as variables (it must be an object or null). Throws hearth::Error
  // ("template error, line N: ...") when the template raises or exceeds a limit. Key order of
  // ordered_json objects is kept (it shows in tojson and iteration); plain json objects iterate sorted.
  std::string render(const nlohmann::ordered_json& context) const;
  std::string render(const nlohmann::json& context) const;

  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parse and render in one call.
std::string render(std::string_view source, const nlohmann::ordered_json& context, const Options& opts = {});

}  // namespace hearth::jinja
