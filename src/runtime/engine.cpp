#include "runtime/engine.h"

#include <array>

#include "base/error.h"
#include "base/log.h"
#include "sample/logprobs.h"
#include "sample/stop.h"
#include "tokenizer/tokenizer.h"

namespace hearth::runtime {

void Stream::push(Event e) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    q_.push_back(std::move(e));
  }
  cv_.notify_one();
}

bool Stream::pop(Event& e, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  if (!cv_.wait_for(lk, timeout, [&] { return !q_.empty(); })) return false;
  e = std::move(q_.front());
  q_.pop_front();
  return true;
}

struct Engine::Slot {
  int seq = 0;
  bool busy = false;
  Job job;
  std::vector<int32_t> cached;  // tokens whose K/V are in this sequence's cache
  size_t n_prompt_done = 0;     // prompt tokens processed
  int32_t pending = -1;         // sampled token not yet evaluated
  std::unique_ptr<sample::Sampler> sampler;
  std::unique_ptr<tokenizer::StreamDecoder> decoder;
  std::unique_ptr<sample::StopMatcher> stop;
  std::optional<sample::JsonValidator> json;  // JSON mode: the output so far
  bool json_forced = false;                   // the token budget made the JSON text close early
  std::vector<TokenLogprob> pending_lp;       // logprobs of tokens whose text is not out yet
  GenerateResult result;
  std::chrono::steady_clock::time_point t_start, t_first;
};

Engine::Engine(std::unique_ptr<LoadedModel> lm, size_t max_queue) : lm_(std::move(lm)), max_queue_(max_queue) {
  for (int i = 0; i < lm_->context().n_seq(); ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->seq = i;
  }
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  stop_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Anything still queued or running ends with an error event so no client waits forever.
  for (auto& j : queue_) {
    Event e;
    e.kind = Event::Kind::Error;
    e.text = "the model was unloaded";
    j.out->push(std::move(e));
  }
  for (auto& s : slots_) {
    if (s->busy) {
      Event e;
      e.kind = Event::Kind::Error;
      e.text = "the model was unloaded";
      s->job.out->push(std::move(e));
    }
  }
}

bool Engine::submit(Job job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    // Room for one waiting job per free sequence, plus max_queue more.
    const size_t free_slots = slots_.size() - static_cast<size_t>(std::max(0, active_.load()));
    if (queue_.size() >= max_queue_ + free_slots) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t Engine::queued() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

void Engine::loop() {
  while (!stop_.load()) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return stop_.load() || !queue_.empty() || active_.load() > 0; });
    }
    if (stop_.load()) break;
    admit();
    if (active_.load() == 0) continue;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      step();
    } catch (const std::exception& ex) {
      // A failed forward pass fails the requests in flight, not the server.
      log::error("generation failed: {}", ex.what());
      for (auto& s : slots_) {
        if (!s->busy) continue;
        Event e;
        e.kind = Event::Kind::Error;
        e.text = ex.what();
        s->job.out->push(std::move(e));
        s->busy = false;
        s->cached.clear();
        lm_->context().seq_truncate(s->seq, 0);
        active_.fetch_sub(1);
      }
    }
    std::lock_guard<std::mutex> lk(mu_);
    stats_.busy_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

void Engine::admit() {
  auto& ctx = lm_->context();
  for (;;) {
    Job job;
    Slot* best = nullptr;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (queue_.empty()) return;
      // The free slot sharing the longest prefix with the prompt (prefix reuse), else any free slot.
      size_t best_common = 0;
      for (auto& s : slots_) {
        if (s->busy) continue;
        size_t c = 0;
        const auto& p = queue_.front().prompt;
        while (c < s->cached.size() && c < p.size() && s->cached[c] == p[c]) ++c;
        if (!best || c > best_common) {
          best = s.get();
          best_common = c;
        }
      }
      if (!best) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      stats_.requests++;
    }
    if (job.out->cancelled()) continue;
    Slot& s = *best;
    s.result = GenerateResult{};
    size_t common = 0;
    while (common < s.cached.size() && common < job.prompt.size() && s.cached[common] == job.prompt[common]) ++common;
    if (common == job.prompt.size() && common > 0) --common;  // evaluate at least one token for logits
    ctx.seq_truncate(s.seq, static_cast<int32_t>(common));
    s.cached.resize(common);
    s.n_prompt_done = common;
    s.result.prompt_tokens = static_cast<int32_t>(job.prompt.size());
    s.result.cached_tokens = static_cast<int32_t>(common);
    try {
      if (job.prompt.empty()) fail("the prompt is empty");
      if (static_cast<int64_t>(job.prompt.size()) >= ctx.n_ctx())
        fail("the prompt has {} tokens, more than the context of {} tokens", job.prompt.size(), ctx.n_ctx());
      s.sampler = std::make_unique<sample::Sampler>(job.sampling);
    } catch (const std::exception& ex) {
      Event e;
      e.kind = Event::Kind::Error;
      e.text = ex.what();
      job.out->push(std::move(e));
      continue;
    }
    for (int32_t t : job.prompt) s.sampler->accept(t);
    tokenizer::DecodeOptions dopt;
    dopt.strip_leading_space = false;
    s.decoder = std::make_unique<tokenizer::StreamDecoder>(lm_->tokenizer(), dopt);
    s.stop = std::make_unique<sample::StopMatcher>(job.opt.stop);
    s.json.reset();
    s.json_forced = false;
    if (job.json) s.json.emplace(*job.json);
    job.logprobs = std::min(job.logprobs, 20);
    s.pending_lp.clear();
    s.pending = -1;
    s.job = std::move(job);
    s.busy = true;
    s.t_start = std::chrono::steady_clock::now();
    active_.fetch_add(1);
  }
}

void Engine::finish(Slot& s, FinishReason why) {
  if (!s.stop->stopped() && why != FinishReason::Cancelled) {
    std::string rest = s.stop->feed(s.decoder->flush()).text;
    if (!s.stop->stopped()) rest += s.stop->flush();
    if (!rest.empty() || !s.pending_lp.empty())
      s.job.out->push(Event{Event::Kind::Text, rest, {}, std::move(s.pending_lp)});
  }
  s.pending_lp.clear();
  const auto now = std::chrono::steady_clock::now();
  s.result.finish = why;
  s.result.prompt_seconds = std::chrono::duration<double>(s.t_first - s.t_start).count();
  s.result.generate_seconds = std::chrono::duration<double>(now - s.t_first).count();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.prompt_tokens += static_cast<uint64_t>(s.result.prompt_tokens - s.result.cached_tokens);
    stats_.generated_tokens += static_cast<uint64_t>(s.result.generated_tokens);
  }
  s.job.out->push(Event{Event::Kind::Done, "", s.result, {}});
  s.job = Job{};
  s.busy = false;
  active_.fetch_sub(1);
}

void Engine::fail_slot(Slot& s, const std::string& message) {
  // The sequence's cache stays consistent (every token in `cached` was evaluated), so it stays
  // available for prefix reuse.
  s.job.out->push(Event{Event::Kind::Error, message, {}, {}});
  s.job = Job{};
  s.pending_lp.clear();
  s.busy = false;
  active_.fetch_sub(1);
}

int32_t Engine::pick(Slot& s, const float* logits, int32_t n_vocab) {
  if (!s.json) return s.sampler->sample(logits, n_vocab);
  const auto& tok = lm_->tokenizer();
  const sample::JsonValidator& v = *s.json;
  const bool may_end = v.complete() && !s.job.opt.ignore_eos;
  const int32_t n_tok = tok.n_vocab();
  // Tokens left after this one (max_tokens, then the context), so the JSON text can be closed in time:
  // while it still can, a token is allowed only if the shortest completion after it fits. Finishing
  // a text early this way is reported as "length".
  int64_t left = lm_->context().n_ctx() - 1 - static_cast<int64_t>(s.cached.size());
  if (s.job.opt.max_tokens >= 0)
    left = std::min<int64_t>(left, s.job.opt.max_tokens - s.result.generated_tokens - 1);
  bool budget = v.min_close_bytes() <= left + 1;
  if (first_byte_.empty()) {
    first_byte_.resize(static_cast<size_t>(n_tok));
    for (int32_t id = 0; id < n_tok; ++id) {
      const std::string piece = tok.token_to_piece(id, false);
      first_byte_[static_cast<size_t>(id)] = piece.empty() ? 256 : static_cast<uint8_t>(piece[0]);
    }
  }
  std::array<bool, 257> first_ok{};  // which first bytes the validator takes now
  for (int c = 0; c < 256; ++c) {
    sample::JsonValidator next = v;
    first_ok[static_cast<size_t>(c)] = next.feed_byte(static_cast<uint8_t>(c));
  }
  // A token may come next when its bytes continue the JSON text; tokens that print nothing (control
  // tokens) would let the model stall, so only end-of-generation is, and only once the text is complete.
  auto allowed = [&](int32_t id) {
    if (id < 0 || id >= n_tok) return false;
    if (tok.is_eog(id)) return may_end;
    if (!first_ok[first_byte_[static_cast<size_t>(id)]]) return false;
    const std::string piece = tok.token_to_piece(id, false);
    sample::JsonValidator next = v;
    if (!next.feed(piece)) return false;
    if (budget && next.min_close_bytes() > left) {
      s.json_forced = true;
      return false;
    }
    return true;
  };
  for (;;) {
    try {
      return s.sampler->sample(logits, n_vocab, allowed);
    } catch (const Error&) {
      if (!budget) return -1;  // no token of the vocabulary continues the text
      budget = false;          // it cannot close the text in time: let it be cut instead
    }
  }
}

void Engine::step() {
  auto& ctx = lm_->context();
  const int64_t n_batch = 512;
  model::Batch b;
  std::vector<Slot*> rows;  // slot of each logits row, in batch order
  // Cancelled requests free their slot before any work is done for them.
  for (auto& sp : slots_) {
    if (sp->busy && sp->job.out->cancelled()) finish(*sp, FinishReason::Cancelled);
  }
  // Decode steps first: one token per generating sequence.
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (!s.busy || s.pending < 0) continue;
    b.add(s.pending, static_cast<int32_t>(s.cached.size()), s.seq, true);
    s.cached.push_back(s.pending);
    s.pending = -1;
    rows.push_back(&s);
  }
  b.n_generated = b.size();
  // Then prompt chunks, within the batch budget, so a long prompt never stalls the streams.
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (!s.busy || s.n_prompt_done >= s.job.prompt.size()) continue;
    if (b.size() >= n_batch) break;
    const size_t take = std::min<size_t>(s.job.prompt.size() - s.n_prompt_done, static_cast<size_t>(n_batch - b.size()));
    for (size_t i = 0; i < take; ++i) {
      const size_t idx = s.n_prompt_done + i;
      const bool last = idx + 1 == s.job.prompt.size();
      b.add(s.job.prompt[idx], static_cast<int32_t>(idx), s.seq, last);
      s.cached.push_back(s.job.prompt[idx]);
      if (last) rows.push_back(&s);
    }
    s.n_prompt_done += take;
  }
  if (b.size() == 0) return;
  const float* logits = ctx.forward(b);
  const auto& tok = lm_->tokenizer();
  const int32_t n_vocab = static_cast<int32_t>(lm_->model().hparams().n_vocab);
  for (size_t r = 0; r < rows.size(); ++r) {
    Slot& s = *rows[r];
    if (s.result.generated_tokens == 0 && s.n_prompt_done == s.job.prompt.size() && s.pending < 0)
      s.t_first = std::chrono::steady_clock::now();
    if (s.job.out->cancelled()) {
      finish(s, FinishReason::Cancelled);
      continue;
    }
    const auto& opt = s.job.opt;
    if (opt.max_tokens >= 0 && s.result.generated_tokens >= opt.max_tokens) {
      finish(s, FinishReason::Length);
      continue;
    }
    const float* row = logits + r * n_vocab;
    int32_t id;
    try {
      id = pick(s, row, n_vocab);
    } catch (const std::exception& ex) {  // this request's sampling failed, not the batch
      fail_slot(s, ex.what());
      continue;
    }
    if (id < 0) {
      log::warn("JSON mode: no token of the vocabulary can continue the output; stopping");
      finish(s, FinishReason::Stop);
      continue;
    }
    s.sampler->accept(id);
    if (!opt.ignore_eos && tok.is_eog(id)) {
      finish(s, FinishReason::Stop);
      continue;
    }
    s.result.generated_tokens++;
    if (s.job.logprobs >= 0) {
      const auto lp = sample::logprobs_of(row, n_vocab, id, s.job.logprobs);
      auto text_of = [&](int32_t t) { return tok.valid(t) ? tok.token_to_piece(t, true) : std::string(); };
      TokenLogprob e{text_of(id), lp.chosen, {}};
      for (const auto& [alt, l] : lp.top) e.top.push_back({text_of(alt), l});
      s.pending_lp.push_back(std::move(e));
    }
    bool json_done = false;
    if (s.json) {
      s.json->feed(tok.token_to_piece(id, false));
      json_done = s.json->finished();
    }
    auto out = s.stop->feed(s.decoder->push(id));
    if (!out.text.empty()) {
      s.job.out->push(Event{Event::Kind::Text, std::move(out.text), {}, std::move(s.pending_lp)});
      s.pending_lp.clear();
    }
    if (out.stopped || json_done) {
      finish(s, json_done && s.json_forced ? FinishReason::Length : FinishReason::Stop);
      continue;
    }
    if (opt.max_tokens >= 0 && s.result.generated_tokens >= opt.max_tokens) {
      finish(s, FinishReason::Length);
      continue;
    }
    if (static_cast<int64_t>(s.cached.size()) + 1 >= ctx.n_ctx()) {
      finish(s, FinishReason::ContextFull);
      continue;
    }
    s.pending = id;
  }
}

}  // namespace hearth::runtime
