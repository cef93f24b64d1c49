// `hearth quantize IN.gguf OUT.gguf TYPE`: write a model quantized with a standard mix (Q4_K_M, ...).
// Progress per tensor, the size before and after and the quantization error per type. The output is
// written atomically: SIGINT / SIGTERM / SIGHUP or any error leave no partial file behind.
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "base/thread_pool.h"
#include "cli/command.h"
#include "cli/common.h"
#include "quantize/quantize.h"

namespace hearth::cli {
namespace {

struct Opts {
  std::string in, out, type;
  std::string imatrix;
  int threads = 0;
  bool dry_run = false;
};

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_signal(int sig) { g_signal.store(sig); }

// Catches the termination signals while quantizing (the pipeline stops at its next step and removes
// its temporary file); a file-size limit makes writes fail with an error instead of killing us.
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old_xfsz_);
  }
  ~SignalGuard() {
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    sigaction(SIGXFSZ, &old_xfsz_, nullptr);
  }

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
  struct sigaction old_xfsz_ {};
};

std::string mib(uint64_t b) { return fmt::format("{:.2f} MiB", static_cast<double>(b) / (1024.0 * 1024.0)); }

std::string shape(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? " x " : "") + std::to_string(ne[i]);
  return s + "]";
}

double bpw(uint64_t bytes, int64_t params) {
  return params > 0 ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0.0;
}

// One progress line: "[ 3/39] blk.0.attn_q.weight  [256 x 256]  F32 -> Q4_K  0.25 MiB -> 0.04 MiB  err 7.1%".
void print_tensor(const quantize::TensorReport& r, bool planned_only) {
  const auto& p = *r.tensor;
  const int w = static_cast<int>(std::to_string(r.count).size());
  std::string what;
  if (p.convert) {
    what = fmt::format("{:>6} -> {:<6} {:>10} -> {:>10}", tensor::type_name(p.from), tensor::type_name(p.to),
                       mib(p.bytes_in), mib(p.bytes_out));
    if (!planned_only) what += fmt::format("  err {:6.3f}%", 100.0 * r.error.rel_rms());
    if (p.fallback) what += "  (fallback)";
    if (r.imatrix_used) what += "  (imatrix)";
  } else {
    what = fmt::format("{:>6} (kept)  {:>10}", tensor::type_name(p.from), mib(p.bytes_in));
  }
  fmt::print("[{:>{}}/{}] {:<34} {:<16} {}\n", r.index, w, r.count, p.name, shape(p.ne), what);
  std::fflush(stdout);
}

int dry_run(const Opts& o, bool has_imatrix) {
  auto f = gguf::File::open(resolve_model(o.in), gguf::ReadOptions{.header_only = true, .load_splits = true});
  const auto plan = quantize::make_plan(*f, o.type, has_imatrix);
  const int n = static_cast<int>(plan.tensors.size());
  for (int i = 0; i < n; ++i) {
    quantize::TensorReport r;
    r.index = i + 1;
    r.count = n;
    r.tensor = &plan.tensors[static_cast<size_t>(i)];
    print_tensor(r, true);
  }
  fmt::print(
      "size: {} -> {} of tensor data, {:.2f} -> {:.2f} bits per weight ({}; dry run: nothing written)\n",
      mib(plan.bytes_in), mib(plan.bytes_out), bpw(plan.bytes_in, plan.n_params),
      bpw(plan.bytes_out, plan.n_params), plan.policy.name());
  return 0;
}

int run(const Opts& o) {
  const auto policy = quantize::Policy::for_mix(o.type);  // unknown types fail before any work
  std::unique_ptr<quantize::Imatrix> im;
  if (!o.imatrix.empty()) {
    im = std::make_unique<quantize::Imatrix>(quantize::load_imatrix(o.imatrix));
    fmt::print("importance matrix: {} ({} format, {} entries{}{})\n", o.imatrix, im->format, im->data.size(),
               im->chunks > 0 ? fmt::format(", {} chunks", im->chunks) : "",
               im->dataset.empty() ? "" : ", data set " + im->dataset);
  }
  if (o.dry_run) return dry_run(o, im != nullptr);
  const std::string in = resolve_model(o.in);
  quantize::Options opt;
  opt.threads = o.threads > 0 ? o.threads : physical_cores();
  opt.imatrix = im.get();
  opt.on_tensor = [](const quantize::TensorReport& r) { print_tensor(r, false); };
  opt.cancelled = [] { return g_signal.load() != 0; };
  fmt::print("quantizing {} to {} as {} with {} thread{}\n", in, o.out, policy.name(), opt.threads,
             opt.threads == 1 ? "" : "s");
  std::fflush(stdout);

  quantize::Result res;
  int sig = 0;
  {
    g_signal.store(0);
    SignalGuard guard;
    try {
      res = quantize::quantize_file(in, o.out, policy.name(), opt);
    } catch (const Error&) {
      sig = g_signal.load();
      if (sig == 0) throw;
    }
  }
  if (sig != 0) {
    std::fprintf(stderr, "hearth: quantization interrupted (%s): %s was not written\n",
                 sig == SIGINT    ? "SIGINT"
                 : sig == SIGTERM ? "SIGTERM"
                                  : "SIGHUP",
                 o.out.c_str());
    std::fflush(stderr);
    // Die of the signal so that callers see it.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return 128 + sig;
  }
  const auto& plan = res.plan;
  fmt::print(
      "size: {} -> {} of tensor data ({:.1f}%), {:.2f} -> {:.2f} bits per weight; file {} -> {}\n",
      mib(plan.bytes_in), mib(plan.bytes_out),
      plan.bytes_in ? 100.0 * static_cast<double>(plan.bytes_out) / static_cast<double>(plan.bytes_in) : 0.0,
      bpw(plan.bytes_in, plan.n_params), bpw(plan.bytes_out, plan.n_params), mib(res.file_in),
      mib(res.file_out));
  if (!res.by_type.empty()) {
    fmt::print("quantization error (RMS relative to the source):\n");
    for (const auto& [type, e] : res.by_type)
      fmt::print("  {:<7} {:>4} tensors {:>14} weights  {:7.3f}%\n", tensor::type_name(type), e.tensors,
                 e.elements, 100.0 * e.rel_rms());
    fmt::print("  {:<7} {:>4} tensors {:>14} weights  {:7.3f}%\n", "all", res.total.tensors,
               res.total.elements, 100.0 * res.total.rel_rms());
  }
  if (im) fmt::print("importance matrix used for {} tensors\n", res.imatrix_tensors);
  fmt::print("wrote {} ({})\n", o.out, policy.name());
  return 0;
}

HEARTH_COMMAND(55, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  std::string types;
  for (const auto& n : quantize::Policy::mix_names()) types += (types.empty() ? "" : ", ") + n;
  auto* c = app.add_subcommand("quantize", "write a quantized copy of a model (Q4_K_M, Q8_0, ...)");
  c->add_option("input", o->in, "model to quantize (GGUF: F32, F16, BF16; quantized models are requantized)")
      ->required();
  c->add_option("output", o->out, "GGUF file to write (replaced only when complete)")->required();
  c->add_option("type", o->type, "quantization mix: " + types)->required();
  c->add_option("-t,--threads", o->threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  c->add_option("--imatrix", o->imatrix,
                "importance matrix weighting the quantization error (llama.cpp .dat or GGUF imatrix file)");
  c->add_flag("--dry-run", o->dry_run, "print the type of every tensor and the size, write nothing");
  return std::function<int()>([o] { return run(*o); });
});

}  // namespace
}  // namespace hearth::cli
