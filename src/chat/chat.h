// chat: messages -> prompt text through a model's chat template (Jinja2, see jinja/jinja.h), with the
// Hugging Face conventions: trim_blocks, lstrip_blocks, loop controls, raise_exception, strftime_now,
// tojson with json.dumps formatting, `{% generation %}`, bos/eos token strings from the caller, tools.
// Knows nothing of models, tokenizers or HTTP: the caller passes the template text and token strings.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "chat/jinja/jinja.h"

namespace hearth::chat {

using json = nlohmann::ordered_json;  // key order matters: it shows in tojson output

struct ChatOptions {
  bool add_generation_prompt = true;
  std::string bos_token;  // the model's BOS/EOS token text ("<s>", "<|begin_of_text|>", ...)
  std::string eos_token;
  json tools;            // null or an array of tool definitions ({"type": "function", "function": {...}})
  json extra;            // more template variables (e.g. {"enable_thinking": false}); null or an object
  jinja::Options jinja;  // engine options and limits (Hugging Face defaults)
};

// ChatML, used when a model carries no template.
extern const char* const kChatmlTemplate;

// The context a template sees for `messages` (an array of {"role", "content", "tool_calls", ...}):
// messages, add_generation_prompt, bos_token, eos_token, tools (when given) and the extra variables.
// Tool-call arguments given as JSON strings (OpenAI style) become objects, as templates expect.
json make_context(const json& messages, const ChatOptions& opts);

// A chat template parsed once and applied many times (thread-safe: apply() is const).
class ChatTemplate {
 public:
  // An empty source selects the ChatML fallback (with a warning).
  explicit ChatTemplate(const std::string& source, jinja::Options opts = {});
  std::string apply(const json& messages, const ChatOptions& opts) const;
  std::string render(const json& context) const { return tmpl_.render(context); }
  bool is_fallback() const { return fallback_; }

 private:
  bool fallback_ = false;  // set while tmpl_ is initialized (declared first)
  jinja::Template tmpl_;
};

// Renders a template against a full context (the keys are the template's variables).
std::string render_chat(const std::string& template_src, const json& context,
                        const jinja::Options& opts = {});

// Formats messages with a template (empty: the ChatML fallback with a warning).
std::string apply_template(const std::string& template_src, const json& messages, const ChatOptions& opts);

}  // namespace hearth::chat
