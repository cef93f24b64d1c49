#include "runtime/loaded_model.h"

#include <chrono>
#include <cstdlib>
#include <map>

#include "base/error.h"
#include "base/log.h"
#include "runtime/hw_probe.h"
#include "runtime/hw_table.h"
#include "runtime/planner.h"
#include "sample/stop.h"

namespace hearth::runtime {

namespace {

uint64_t ram_available(const LoadOptions& opt) {
  uint64_t ram = probe_hardware(ProbeOptions{false, false}).ram.available;
  if (const char* env = std::getenv("HEARTH_RAM_LIMIT"); env && *env) {
    try {
      ram = std::min(ram, parse_memory_size(env));
    } catch (const Error& e) {
      fail("HEARTH_RAM_LIMIT: {}", e.what());
    }
  }
  return opt.ram_limit > 0 ? std::min(ram, opt.ram_limit) : ram;
}

std::string mib(uint64_t b) { return fmt::format("{:.0f} MiB", static_cast<double>(b) / (1 << 20)); }

}  // namespace

// The planner decides before anything is allocated: a model whose weights do not fit in RAM is refused
// (rather than swapped to death); a default context that does not fit is shortened, with a warning; a
// context the user asked for that does not fit is an error naming what would.
void LoadedModel::plan_memory(LoadedModel& lm, const std::string& path, const LoadOptions& opt,
                              model::ContextParams& cp) {
  PlanRequest req;
  req.n_ctx = cp.n_ctx;
  req.n_seq = cp.n_seq;
  req.n_batch = cp.n_batch;
  const uint64_t ram = ram_available(opt);
  req.cpu = cpu_device(CpuInfo{}, ram, 1e9, 1e9);  // speeds are not needed here
  const auto cost = model_cost(lm.model_->file());
  const Plan p = plan(cost, req);
  if (p.fits) return;
  const auto& u = p.cpu;
  const std::string need =
      fmt::format("{} (weights {}, KV cache {} for {} x {} tokens, buffers {}, runtime {})", mib(u.total()),
                  mib(u.weights), mib(u.kv_cache), cp.n_seq, cp.n_ctx, mib(u.compute), mib(u.overhead));
  if (p.max_ctx < 1)
    fail("{}: the model needs {} of RAM but only {} is available; a smaller quantization of it would fit "
         "better (see `hearth fit`)", path, need, mib(ram));
  const int64_t fit_ctx = p.max_ctx >= 512 ? p.max_ctx / 256 * 256 : p.max_ctx;
  if (opt.n_ctx > 0 || fit_ctx < 256)
    fail("{}: at {} tokens the model needs {} of RAM but only {} is available; the largest context that "
         "fits is {} tokens (-c {})", path, cp.n_ctx, need, mib(ram), p.max_ctx, fit_ctx);
  lm.warnings_.push_back(fmt::format("context reduced from {} to {} tokens to fit in the {} of RAM available",
                                     cp.n_ctx, fit_ctx, mib(ram)));
  log::warn("{}", lm.warnings_.back());
  cp.n_ctx = fit_ctx;
  cp.n_batch = std::min(cp.n_batch, cp.n_ctx);
}

std::unique_ptr<LoadedModel> LoadedModel::load(const std::string& path, const LoadOptions& opt) {
  std::unique_ptr<LoadedModel> lm(new LoadedModel());
  lm->model_ = model::Model::load(path);
  lm->tok_ = tokenizer::Tokenizer::from_gguf(lm->model_->file());
  if (lm->tok_->n_vocab() > lm->model_->hparams().n_vocab)
    fail("{}: the tokenizer has {} tokens but the model only {}", path, lm->tok_->n_vocab(), lm->model_->hparams().n_vocab);
  lm->chat_template_ = lm->model_->file().get_string("tokenizer.chat_template", "");
  lm->be_ = backend::make_cpu_backend(opt.n_threads);
  model::ContextParams cp;
  const int64_t train = lm->model_->hparams().n_ctx_train;
  cp.n_ctx = opt.n_ctx > 0 ? opt.n_ctx : 4096;
  if (cp.n_ctx > train && opt.n_ctx > 0)
    log::warn("context of {} tokens is longer than the {} the model was trained on; quality may suffer", cp.n_ctx, train);
  cp.n_seq = opt.n_seq;
  cp.n_batch = std::min(opt.n_batch, cp.n_ctx);
  plan_memory(*lm, path, opt, cp);
  lm->ctx_ = std::make_unique<model::Context>(*lm->model_, *lm->be_, cp);
  return lm;
}

const chat::ChatTemplate& LoadedModel::chat_template_engine() const {
  std::call_once(template_once_, [&] { template_engine_ = std::make_unique<chat::ChatTemplate>(chat_template_); });
  return *template_engine_;
}

sample::SamplerParams LoadedModel::default_sampling() const {
  std::map<std::string, double> meta;
  for (auto key : sample::kGgufSamplingKeys) {
    if (const auto* v = model_->file().find(key); v && (v->is_float() || v->is_integer()))
      meta[std::string(key)] = v->as_float(key);
  }
  return sample::SamplerParams::from_gguf_defaults(meta);
}

LoadedModel::Memory LoadedModel::memory() const {
  return Memory{model_->weight_bytes(), ctx_->kv_bytes(), ctx_->buffer_bytes()};
}

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::ContextFull: return "length";
  }
  return "stop";
}

Session::Session(LoadedModel& lm, int seq) : lm_(lm), seq_(seq) { lm_.context().seq_truncate(seq_, 0); }

void Session::reset() {
  cached_.clear();
  lm_.context().seq_truncate(seq_, 0);
}

const float* Session::eval(const std::vector<int32_t>& tokens, size_t from, bool generated) {
  auto& ctx = lm_.context();
  model::Batch b;
  b.n_generated = generated ? 1 : 0;
  for (size_t i = from; i < tokens.size(); ++i)
    b.add(tokens[i], static_cast<int32_t>(i), seq_, i + 1 == tokens.size());
  const float* logits = ctx.forward(b);
  cached_.assign(tokens.begin(), tokens.end());
  return logits;
}

GenerateResult Session::generate(const std::vector<int32_t>& prompt, sample::Sampler& sampler,
                                 const GenerateOptions& opt, const std::function<bool(const std::string&)>& on_text) {
  using clock = std::chrono::steady_clock;
  GenerateResult r;
  auto& ctx = lm_.context();
  const auto& tok = lm_.tokenizer();
  if (prompt.empty()) fail("the prompt is empty");
  if (static_cast<int64_t>(prompt.size()) >= ctx.n_ctx())
    fail("the prompt has {} tokens, more than the context of {} tokens (use a larger -c)", prompt.size(), ctx.n_ctx());
  // Reuse the longest common prefix, but always evaluate at least the last prompt token.
  size_t common = 0;
  while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) ++common;
  if (common == prompt.size()) --common;
  ctx.seq_truncate(seq_, static_cast<int32_t>(common));
  r.prompt_tokens = static_cast<int32_t>(prompt.size());
  r.cached_tokens = static_cast<int32_t>(common);
  auto t0 = clock::now();
  std::vector<int32_t> tokens = prompt;
  const float* logits = eval(tokens, common);
  auto t1 = clock::now();
  r.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();
  for (int32_t t : prompt) sampler.accept(t);

  tokenizer::DecodeOptions dopt;
  dopt.strip_leading_space = false;  // a continuation keeps its spaces
  tokenizer::StreamDecoder dec(tok, dopt);
  sample::StopMatcher stop(opt.stop);
  const int32_t n_vocab = static_cast<int32_t>(lm_.model().hparams().n_vocab);
  bool go = true;
  for (;;) {
    if (opt.max_tokens >= 0 && r.generated_tokens >= opt.max_tokens) {
      r.finish = FinishReason::Length;
      break;
    }
    if (static_cast<int64_t>(tokens.size()) >= ctx.n_ctx()) {
      r.finish = FinishReason::ContextFull;
      break;
    }
    const int32_t id = sampler.sample(logits, n_vocab);
    sampler.accept(id);
    if (!opt.ignore_eos && tok.is_eog(id)) {
      r.finish = FinishReason::Stop;
      break;
    }
    ++r.generated_tokens;
    tokens.push_back(id);
    const std::string piece = dec.push(id);
    auto s = stop.feed(piece);
    go = on_text(s.text);  // also with no text: the caller's chance to cancel every token
    if (s.stopped) {
      r.finish = FinishReason::Stop;
      break;
    }
    if (!go) {
      r.finish = FinishReason::Cancelled;
      break;
    }
    logits = eval(tokens, tokens.size() - 1, true);
  }
  if (!stop.stopped() && go) {
    std::string rest = stop.feed(dec.flush()).text;
    if (!stop.stopped()) rest += stop.flush();
    if (!rest.empty()) on_text(rest);
  }
  // The last sampled token may not have been evaluated: keep what the cache really holds.
  cached_.assign(tokens.begin(), tokens.end());
  cached_.resize(std::min(cached_.size(), static_cast<size_t>(ctx.seq_len(seq_))));
  r.generate_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return r;
}

}  // namespace hearth::runtime
