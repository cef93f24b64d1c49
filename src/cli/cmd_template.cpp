// `hearth template MODEL.gguf | --template FILE  [--context CONTEXT.json]`: renders a chat template
// against a JSON context and prints the exact result (no newline added), or the template's error.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "chat/chat.h"
#include "cli/command.h"
#include "cli/common.h"
#include "gguf/gguf.h"

namespace hearth::cli {
namespace {

struct Opts {
  std::string model;
  std::string template_file;
  std::string context_file;
};

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {} '{}'", what, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run(const Opts& o) {
  if (o.model.empty() == o.template_file.empty()) fail("give either a MODEL or --template FILE");
  std::string src;
  if (!o.template_file.empty()) {
    src = read_file(o.template_file, "template file");
  } else {
    gguf::ReadOptions ro;
    ro.header_only = true;
    auto f = gguf::File::open(resolve_model(o.model), ro);
    const gguf::Value* v = f->find("tokenizer.chat_template");
    if (!v) fail("'{}' has no chat template (tokenizer.chat_template)", o.model);
    src = v->as_string("tokenizer.chat_template");
  }
  chat::json ctx = chat::json::object();
  if (!o.context_file.empty()) {
    std::string text = read_file(o.context_file, "context file");
    ctx = chat::json::parse(text, nullptr, false);
    if (ctx.is_discarded()) fail("context file '{}' is not valid JSON", o.context_file);
    if (!ctx.is_object()) fail("context file '{}' must hold a JSON object", o.context_file);
  }
  std::string out = chat::render_chat(src, ctx);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

HEARTH_COMMAND(60, [](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("template", "render a chat template with a JSON context");
  sub->add_option("model", o->model, "GGUF model whose tokenizer.chat_template to render");
  sub->add_option("--template", o->template_file, "template file (instead of a model)");
  sub->add_option("--context", o->context_file, "JSON object with the template variables");
  return [o] { return run(*o); };
});

}  // namespace
}  // namespace hearth::cli
