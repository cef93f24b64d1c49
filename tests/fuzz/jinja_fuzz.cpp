// libFuzzer target for the Jinja2 engine: arbitrary bytes are parsed as a template and rendered with a
// small fixed chat context (messages with tool calls, tools, tokens). Only hearth::Error may escape;
// anything else (a crash, another exception, a sanitizer report, a hang) is a bug. Limits are lowered
// so each input stays fast; the same limits protect the real engine from hostile templates.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "chat/jinja/jinja.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Hello, w\u00f6rld! <b>&</b>"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Z\u00fcrich", "days": 2}}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21.5}"},
      {"role": "user", "content": [{"type": "text", "text": "Thanks"}, {"type": "image"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": true,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "n": 3, "f": 2.5, "flag": false, "nothing": null
  })");
  return ctx;
}

hearth::jinja::Options options() {
  hearth::jinja::Options o;
  o.max_steps = 200'000;
  o.max_string = 1 << 20;
  o.max_items = 1 << 14;
  o.max_depth = 200;
  std::tm tm{};
  tm.tm_year = 126;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  o.now = tm;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hearth::jinja::Options opts = options();
  std::string_view src(reinterpret_cast<const char*>(data), size);
  try {
    hearth::jinja::Template t(src, opts);
    std::string out = t.render(context());
    if (out.size() > opts.max_string) __builtin_trap();
  } catch (const hearth::Error&) {
  }
  return 0;
}
