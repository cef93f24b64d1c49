#include "chat/chat.h"

#include "base/error.h"
#include "base/log.h"

namespace hearth::chat {

const char* const kChatmlTemplate =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}\n"
    "{%- if message['content'] is string -%}{{- message['content'] -}}\n"
    "{%- elif message['content'] is iterable -%}\n"
    "{%- for part in message['content'] -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{%- if message['tool_calls'] is defined and message['tool_calls'] -%}\n"
    "{%- for call in message['tool_calls'] -%}\n"
    "{{- '\\n<tool_call>\\n' + (call['function'] | tojson) + '\\n</tool_call>' -}}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

json make_context(const json& messages, const ChatOptions& opts) {
  if (!messages.is_array()) fail("messages must be a JSON array");
  json msgs = messages;
  for (auto& m : msgs) {
    if (!m.is_object()) fail("each message must be a JSON object");
    auto tc = m.find("tool_calls");
    if (tc == m.end() || !tc->is_array()) continue;
    for (auto& call : *tc) {
      if (!call.is_object()) continue;
      auto fn = call.find("function");
      if (fn == call.end() || !fn->is_object()) continue;
      auto args = fn->find("arguments");
      if (args == fn->end() || !args->is_string()) continue;
      // OpenAI clients send arguments as a JSON string; templates index them as objects.
      json parsed = json::parse(args->get<std::string>(), nullptr, false);
      if (!parsed.is_discarded() && parsed.is_object()) *args = std::move(parsed);
    }
  }
  json ctx = json::object();
  ctx["messages"] = std::move(msgs);
  ctx["add_generation_prompt"] = opts.add_generation_prompt;
  ctx["bos_token"] = opts.bos_token;
  ctx["eos_token"] = opts.eos_token;
  if (opts.tools.is_array() && !opts.tools.empty()) ctx["tools"] = opts.tools;
  if (opts.extra.is_object())
    for (auto it = opts.extra.begin(); it != opts.extra.end(); ++it) ctx[it.key()] = it.value();
  return ctx;
}

static jinja::Template parse_or_fallback(const std::string& source, jinja::Options opts, bool* fallback) {
  *fallback = source.empty();
  if (*fallback) {
    log::warn("the model has no chat template; using ChatML");
    return jinja::Template(kChatmlTemplate, std::move(opts));
  }
  return jinja::Template(source, std::move(opts));
}

ChatTemplate::ChatTemplate(const std::string& source, jinja::Options opts)
    : tmpl_(parse_or_fallback(source, std::move(opts), &fallback_)) {}

std::string ChatTemplate::apply(const json& messages, const ChatOptions& opts) const {
  return tmpl_.render(make_context(messages, opts));
}

std::string render_chat(const std::string& template_src, const json& context, const jinja::Options& opts) {
  return jinja::Template(template_src, opts).render(context);
}

std::string apply_template(const std::string& template_src, const json& messages, const ChatOptions& opts) {
  return ChatTemplate(template_src, opts.jinja).apply(messages, opts);
}

}  // namespace hearth::chat
