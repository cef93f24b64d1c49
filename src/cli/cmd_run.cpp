// `hearth run MODEL [-p PROMPT]`: generate text, streamed to stdout as it is produced. With a chat
// template (and no --raw) the prompt is a user message and only the answer is printed; otherwise the
// prompt is continued as plain text and printed with its continuation. No prompt on a terminal opens
// the interactive chat; no prompt on a pipe reads it from stdin.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "base/error.h"
#include "base/log.h"
#include "chat/chat.h"
#include "cli/command.h"
#include "cli/common.h"
#include "cli/run.h"
#include "runtime/prompt.h"

namespace hearth::cli {

sample::SamplerParams sampling_from(const runtime::LoadedModel& lm, const RunOptions& o) {
  auto p = lm.default_sampling();
  if (o.temp) p.temperature = *o.temp;
  if (o.top_k) p.top_k = *o.top_k;
  if (o.top_p) p.top_p = *o.top_p;
  if (o.min_p) p.min_p = *o.min_p;
  if (o.typical_p) p.typical_p = *o.typical_p;
  if (o.repeat_penalty) p.repeat_penalty = *o.repeat_penalty;
  if (o.repeat_last_n) p.repeat_last_n = *o.repeat_last_n;
  if (o.presence_penalty) p.presence_penalty = *o.presence_penalty;
  if (o.frequency_penalty) p.frequency_penalty = *o.frequency_penalty;
  if (o.seed) p.seed = *o.seed;
  p.validate();
  return p;
}

namespace {

// A /proc/self/status field in bytes ("VmRSS", "VmHWM"); 0 where there is none.
uint64_t status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  return 0;
}

int run(RunOptions o) {
  using clock = std::chrono::steady_clock;
  if (o.verbose) log::set_level(log::Level::info);
  const auto t0 = clock::now();
  runtime::LoadOptions lo;
  lo.n_threads = o.threads;
  lo.n_ctx = o.ctx;
  auto lm = runtime::LoadedModel::load(resolve_model(o.model), lo);
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();

  if (!o.prompt) {
    if (isatty(STDIN_FILENO)) return run_interactive(*lm, o);
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
    o.prompt = all;
  }
  const auto& tok = lm->tokenizer();
  const bool chat = !o.raw && !lm->chat_template().empty();
  std::vector<int32_t> prompt;
  bool ends_nl_prompt = true;
  if (chat) {
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    if (o.system) msgs.push_back({{"role", "system"}, {"content", *o.system}});
    msgs.push_back({{"role", "user"}, {"content", *o.prompt}});
    prompt = chat_prompt_tokens(*lm, msgs);
  } else {
    prompt = tok.encode(*o.prompt, true, false);
    // Plain completion prints the prompt, then its continuation.
    const std::string echo = tok.decode(prompt);
    std::fwrite(echo.data(), 1, echo.size(), stdout);
    if (!echo.empty()) ends_nl_prompt = echo.back() == '\n';
    std::fflush(stdout);
  }
  sample::Sampler sampler(sampling_from(*lm, o));
  runtime::Session session(*lm);
  runtime::GenerateOptions go;
  go.max_tokens = o.n_predict;
  go.stop = o.stop;
  go.ignore_eos = o.ignore_eos;
  bool ends_nl = ends_nl_prompt;
  auto r = session.generate(prompt, sampler, go, [&](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (!text.empty()) ends_nl = text.back() == '\n';
    return true;
  });
  if (!ends_nl) std::fputc('\n', stdout);
  std::fflush(stdout);
  if (o.verbose) {
    const auto m = lm->memory();
    std::fprintf(stderr, "\n");
    log::info("load: {:.2f} s, {} threads, kernels {}", load_s, lm->backend().n_threads(), kernels_name());
    log::info(
        "memory: weights {} (mapped; {} of them repacked for the kernels), KV cache {} ({} tokens), "
        "buffers {}, resident {} (peak {})",
        human_bytes(m.weights), human_bytes(lm->backend().prepared_bytes()), human_bytes(m.kv_cache),
        lm->context().n_ctx(), human_bytes(m.buffers), human_bytes(status_bytes("VmRSS")),
        human_bytes(status_bytes("VmHWM")));
    log::info("prompt: {} tokens ({} cached) in {:.3f} s, {:.1f} tok/s", r.prompt_tokens, r.cached_tokens,
              r.prompt_seconds, (r.prompt_tokens - r.cached_tokens) / std::max(1e-9, r.prompt_seconds));
    log::info("generation: {} tokens in {:.3f} s, {:.1f} tok/s, finish: {}", r.generated_tokens,
              r.generate_seconds, r.generated_tokens / std::max(1e-9, r.generate_seconds),
              runtime::finish_reason_name(r.finish));
  }
  return 0;
}

HEARTH_COMMAND(10, [](CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* c = app.add_subcommand("run", "run a model: generate from a prompt, or chat interactively");
  c->add_option("model", o->model, "model (GGUF path or name)")->required();
  c->add_option("-p,--prompt", o->prompt, "prompt (default: interactive chat, or stdin when not a terminal)");
  c->add_option("--system", o->system, "system message (chat models)");
  c->add_option("-n,--predict", o->n_predict, "tokens to generate (-1: until the model stops)");
  c->add_option("-t,--threads", o->threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  c->add_option("-c,--ctx", o->ctx, "context size in tokens (default 4096)")->check(CLI::Range(0, 1 << 24));
  c->add_option("--temp", o->temp, "temperature (0: greedy)");
  c->add_option("--top-k", o->top_k, "top-k (0: off)");
  c->add_option("--top-p", o->top_p, "top-p (1: off)");
  c->add_option("--min-p", o->min_p, "min-p (0: off)");
  c->add_option("--typical-p", o->typical_p, "typical-p (1: off)");
  c->add_option("--repeat-penalty", o->repeat_penalty, "repetition penalty (1: off)");
  c->add_option("--repeat-last-n", o->repeat_last_n, "penalty window in tokens (-1: all, 0: off)");
  c->add_option("--presence-penalty", o->presence_penalty, "presence penalty");
  c->add_option("--frequency-penalty", o->frequency_penalty, "frequency penalty");
  c->add_option("--seed", o->seed, "random seed (reproducible sampling)");
  c->add_option("--stop", o->stop, "stop string (repeatable)");
  c->add_flag("--raw", o->raw, "no chat template: continue the prompt as plain text");
  c->add_flag("--ignore-eos", o->ignore_eos, "keep generating after the end-of-generation token");
  c->add_flag("-v,--verbose", o->verbose, "report timings and memory use");
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
