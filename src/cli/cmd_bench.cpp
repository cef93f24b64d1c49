// `hearth bench MODEL`: prompt-processing and token-generation speed, and how close generation comes
// to the machine's memory-bandwidth limit (every weight byte is read once per generated token).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "backend/backend.h"
#include "base/error.h"
#include "base/log.h"
#include "cli/command.h"
#include "cli/common.h"
#include "model/context.h"
#include "quantize/synthetic.h"
#include "runtime/hw.h"
#include "runtime/hw_probe.h"
#include "runtime/hw_table.h"
#include "runtime/planner.h"

namespace hearth::cli {
namespace {

struct Opts {
  std::string model;
  std::string synthetic;
  int n_prompt = 512;
  int n_gen = 128;
  int threads = 0;
  int reps = 3;
  bool json = false;
  std::vector<int> parallel;  // batched generation: sequences decoding together
};

// Context (prompt) each sequence holds before the batched generation is timed.
constexpr int kParallelPrompt = 32;

std::string cache_dir() {
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return std::string(h) + "/cache";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.hearth/cache";
  return std::filesystem::temp_directory_path().string() + "/hearth-cache";
}

int run(const Opts& o) {
  using clock = std::chrono::steady_clock;
  if (!o.parallel.empty() && o.n_gen < 1) fail("--parallel times generation: give -n/--n-gen of at least 1");
  std::string path;
  if (!o.synthetic.empty()) {
    path = quantize::synthetic_model(o.synthetic, cache_dir() + "/synthetic");
  } else {
    if (o.model.empty()) fail("give a model, or --synthetic SHAPE:TYPE (e.g. llama-1b:Q4_K_M)");
    path = resolve_model(o.model);
  }
  auto m = model::Model::load(path);
  const auto& hp = m->hparams();
  auto be = backend::make_cpu_backend(o.threads);
  model::ContextParams cp;
  const int max_par = o.parallel.empty() ? 1 : *std::max_element(o.parallel.begin(), o.parallel.end());
  cp.n_ctx = std::max(o.n_prompt, o.parallel.empty() ? 0 : kParallelPrompt) + o.n_gen + 1;
  cp.n_seq = max_par;
  cp.n_batch = std::max({1, o.n_prompt, max_par * kParallelPrompt});
  model::Context ctx(*m, *be, cp);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(hp.n_vocab - 1));

  // Bytes read per generated token: every matrix once, except the embedding table (one row).
  uint64_t bytes_per_token = 0;
  for (auto& t : m->file().tensors()) {
    if (t.name == "token_embd.weight") continue;
    bytes_per_token += t.nbytes;
  }
  if (m->output.data == m->tok_embd.data) bytes_per_token += m->tok_embd.row_bytes * m->tok_embd.rows;

  // Warm-up: touch the weights once.
  {
    model::Batch b;
    b.add(tok(rng), 0, 0, true);
    ctx.forward(b);
    ctx.seq_truncate(0, 0);
  }
  double pp_best = 0, tg_best = 0;
  for (int rep = 0; rep < o.reps; ++rep) {
    if (o.n_prompt > 0) {
      ctx.seq_truncate(0, 0);
      model::Batch b;
      for (int i = 0; i < o.n_prompt; ++i) b.add(tok(rng), i, 0, i + 1 == o.n_prompt);
      const auto t0 = clock::now();
      ctx.forward(b);
      const double s = std::chrono::duration<double>(clock::now() - t0).count();
      pp_best = std::max(pp_best, o.n_prompt / s);
    }
    if (o.n_gen > 0) {
      ctx.seq_truncate(0, 0);
      const auto t0 = clock::now();
      for (int i = 0; i < o.n_gen; ++i) {
        model::Batch b;
        b.add(tok(rng), i, 0, true);
        b.n_generated = 1;
        ctx.forward(b);
      }
      const double s = std::chrono::duration<double>(clock::now() - t0).count();
      tg_best = std::max(tg_best, o.n_gen / s);
    }
  }
  // Batched generation: N sequences, each after its own prompt, one token each per forward pass (what the
  // server's continuous batching runs); aggregate tok/s and the gain over one sequence.
  std::vector<std::pair<int, double>> par;
  for (int n : o.parallel) {
    double best = 0;
    for (int rep = 0; rep < o.reps; ++rep) {
      model::Batch pb;
      for (int s = 0; s < n; ++s) {
        ctx.seq_truncate(s, 0);
        for (int i = 0; i < kParallelPrompt; ++i) pb.add(tok(rng), i, s, i + 1 == kParallelPrompt);
      }
      ctx.forward(pb);
      const auto t0 = clock::now();
      for (int i = 0; i < o.n_gen; ++i) {
        model::Batch b;
        for (int s = 0; s < n; ++s) b.add(tok(rng), kParallelPrompt + i, s, true);
        b.n_generated = n;
        ctx.forward(b);
      }
      const double sec = std::chrono::duration<double>(clock::now() - t0).count();
      best = std::max(best, static_cast<double>(n) * o.n_gen / sec);
    }
    par.emplace_back(n, best);
  }
  double par_base = 0;  // one sequence's rate, when it was measured
  for (const auto& [n, t] : par)
    if (n == 1) par_base = t;
  const double bw = runtime::measure_read_bandwidth(be->n_threads());
  // What the planner (`hearth fit`) predicts for this run, from this machine's measured bandwidth and
  // matmul throughput: the bench is its calibration.
  runtime::PlanRequest req;
  req.n_ctx = cp.n_ctx;
  req.n_batch = std::max(1, o.n_prompt);
  req.cpu = runtime::cpu_device(runtime::probe_hardware({false, false}).cpu, 1ull << 62, bw,
                                runtime::measure_cpu_matmul_flops(be->n_threads()));
  const auto plan = runtime::plan(m->file(), req);
  const double tg_limit = bw / static_cast<double>(bytes_per_token);
  const double roofline = tg_best / tg_limit;
  std::string types;
  {
    std::map<std::string, int> c;
    for (auto& t : m->file().tensors()) c[tensor::type_name(t.type)]++;
    for (auto& [k, v] : c) types += fmt::format("{}{}x{}", types.empty() ? "" : " ", v, k);
  }
  if (o.json) {
    nlohmann::json j;
    j["model"] = path;
    j["architecture"] = hp.arch;
    j["parameters"] = m->n_params();
    j["model_bytes"] = m->weight_bytes();
    j["bytes_per_token"] = bytes_per_token;
    j["threads"] = be->n_threads();
    j["kernels"] = kernels_name();
    j["n_prompt"] = o.n_prompt;
    j["n_gen"] = o.n_gen;
    j["pp_tok_s"] = pp_best;
    j["tg_tok_s"] = tg_best;
    j["bandwidth_gb_s"] = bw / 1e9;
    j["tg_limit_tok_s"] = tg_limit;
    j["tg_roofline"] = roofline;
    j["predicted_pp_tok_s"] = plan.pp_tok_s;
    j["predicted_tg_tok_s"] = plan.tg_tok_s;
    for (const auto& [n, t] : par) {
      nlohmann::json e{{"sequences", n}, {"tok_s", t}};
      if (par_base > 0) e["vs_one_sequence"] = t / par_base;
      j["parallel"].push_back(e);
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("model      {} ({}, {} params, {})\n", path, hp.arch, m->n_params(),
               human_bytes(m->weight_bytes()));
    fmt::print("types      {}\n", types);
    fmt::print("threads    {} (kernels {})\n", be->n_threads(), kernels_name());
    if (o.n_prompt > 0) fmt::print("pp{:<8} {:.1f} tok/s\n", o.n_prompt, pp_best);
    if (o.n_gen > 0)
      fmt::print(
          "tg{:<8} {:.2f} tok/s  ({:.0f}% of the bandwidth limit of {:.2f} tok/s: {:.1f} GB/s, {} per "
          "token)\n",
          o.n_gen, tg_best, 100 * roofline, tg_limit, bw / 1e9, human_bytes(bytes_per_token));
    for (const auto& [n, t] : par) {
      fmt::print("parallel{:<3} {:.2f} tok/s aggregate", n, t);
      if (par_base > 0) fmt::print(" ({:.2f}x one sequence)", t / par_base);
      fmt::print("\n");
    }
    if (o.n_prompt > 0)
      fmt::print("planner    pp{} predicted {:.1f} tok/s (measured / predicted {:.2f})\n", o.n_prompt,
                 plan.pp_tok_s, pp_best / std::max(1e-9, plan.pp_tok_s));
    if (o.n_gen > 0)
      fmt::print("planner    tg predicted {:.2f} tok/s (measured / predicted {:.2f})\n", plan.tg_tok_s,
                 tg_best / std::max(1e-9, plan.tg_tok_s));
  }
  return 0;
}

HEARTH_COMMAND(90, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* c =
      app.add_subcommand("bench", "measure prompt processing and generation speed against memory bandwidth");
  c->add_option("model", o->model, "model (GGUF path or name)");
  c->add_option("--synthetic", o->synthetic,
                "benchmark a random-weight model of a known shape, e.g. llama-1b:Q4_K_M (llama-1b, llama-3b, "
                "llama-8b, qwen2-0.5b, tiny)");
  c->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens")->check(CLI::Range(0, 65536));
  c->add_option("-n,--n-gen", o->n_gen, "generated tokens")->check(CLI::Range(0, 65536));
  c->add_option("-t,--threads", o->threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  c->add_option("-r,--repetitions", o->reps, "repetitions (best is reported)")->check(CLI::Range(1, 100));
  c->add_flag("--json", o->json, "print the results as JSON");
  c->add_option("--parallel", o->parallel,
                "also time batched generation of N sequences decoding together, e.g. --parallel 1,4,8 "
                "(aggregate tok/s, as the server's continuous batching runs them)")
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
