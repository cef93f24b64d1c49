// `hearth logits MODEL --tokens "ID ID ..." --out FILE`: the logits of every position as raw f32.
#include <cstdio>
#include <sstream>

#include "backend/backend.h"
#include "base/error.h"
#include "cli/command.h"
#include "cli/common.h"
#include "model/context.h"

namespace hearth::cli {
namespace {

struct Opts {
  std::string model, tokens, out;
  int threads = 0;
  int64_t batch = 512;
};

int run(const Opts& o) {
  std::vector<int32_t> ids;
  std::istringstream in(o.tokens);
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &used);
    } catch (...) {
      used = 0;
    }
    if (used != tok.size() || v < 0 || v > INT32_MAX) fail("--tokens: '{}' is not a token id", tok);
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) fail("--tokens: no token ids given");
  auto m = model::Model::load(resolve_model(o.model));
  auto be = backend::make_cpu_backend(o.threads);
  model::ContextParams cp;
  cp.n_ctx = static_cast<int64_t>(ids.size());
  cp.n_batch = std::min<int64_t>(o.batch, cp.n_ctx);
  model::Context ctx(*m, *be, cp);
  model::Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
  const float* logits = ctx.forward(b);
  const size_t n = static_cast<size_t>(ctx.n_outputs() * m->hparams().n_vocab);
  FILE* f = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "wb");
  if (!f) fail("cannot create {}", o.out);
  const bool ok = std::fwrite(logits, sizeof(float), n, f) == n;
  if (f != stdout && std::fclose(f) != 0) fail("cannot write {}", o.out);
  if (!ok) fail("cannot write {}", o.out);
  return 0;
}

HEARTH_COMMAND(60, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("logits", "run token ids as one batch and write every position's logits (raw f32)");
  c->add_option("model", o->model, "model (GGUF path or name)")->required();
  c->add_option("--tokens", o->tokens, "token ids, space separated")->required();
  c->add_option("--out,-o", o->out, "output file (rows x n_vocab little-endian f32; - for stdout)")->required();
  c->add_option("-t,--threads", o->threads, "threads (default: physical cores)");
  c->add_option("-b,--batch", o->batch, "tokens per forward chunk")->check(CLI::Range(1, 1 << 16));
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
