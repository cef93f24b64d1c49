#include "runtime/models.h"

#include <unistd.h>

#include "base/error.h"
#include "base/log.h"

namespace hearth::runtime {

namespace {
uint64_t total_ram() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : (8ull << 30);
}
}  // namespace

ModelManager::ModelManager(ManagerOptions opt, Resolver resolve) : opt_(opt), resolve_(std::move(resolve)) {
  if (opt_.memory_budget == 0) opt_.memory_budget = total_ram() / 10 * 8;
}

ModelManager::~ModelManager() {
  std::lock_guard<std::mutex> lk(mu_);
  models_.clear();
}

std::shared_ptr<Engine> ModelManager::acquire(const std::string& name, std::chrono::seconds keep_alive) {
  auto [display, path] = resolve_(name);
  const auto ka = keep_alive.count() < 0 ? opt_.default_keep_alive : keep_alive;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = models_.find(path);
    if (it != models_.end()) {
      it->second.in_use++;
      it->second.last_used = std::chrono::steady_clock::now();
      it->second.keep_alive = ka;
      return it->second.engine;
    }
  }
  std::lock_guard<std::mutex> load_lk(load_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = models_.find(path);
    if (it != models_.end()) {  // loaded by another request meanwhile
      it->second.in_use++;
      it->second.last_used = std::chrono::steady_clock::now();
      return it->second.engine;
    }
  }
  LoadOptions lo;
  lo.n_threads = opt_.n_threads;
  lo.n_ctx = opt_.n_ctx;
  lo.n_seq = opt_.n_parallel;
  // Peek at the size first so room can be made before loading.
  {
    gguf::ReadOptions ro;
    ro.header_only = true;
    const auto f = gguf::File::open(path, ro);
    const uint64_t need = f->file_size();
    std::vector<std::shared_ptr<Engine>> evicted;  // destroyed outside the lock
    std::lock_guard<std::mutex> lk(mu_);
    auto used = [&] {
      uint64_t u = 0;
      for (auto& [k, e] : models_) u += e.bytes;
      return u;
    };
    while (!models_.empty() && (used() + need > opt_.memory_budget || static_cast<int>(models_.size()) >= opt_.max_loaded)) {
      auto victim = models_.end();
      for (auto it = models_.begin(); it != models_.end(); ++it)
        if (it->second.in_use == 0 && (victim == models_.end() || it->second.last_used < victim->second.last_used))
          victim = it;
      if (victim == models_.end()) break;  // everything is busy: load anyway, memory permitting
      log::info("unloading {} to make room for {}", victim->second.name, display);
      evicted.push_back(victim->second.engine);
      models_.erase(victim);
    }
  }
  log::info("loading {} ({})", display, path);
  auto lm = LoadedModel::load(path, lo);
  const uint64_t bytes = lm->memory().weights + lm->memory().kv_cache;
  auto engine = std::make_shared<Engine>(std::move(lm), opt_.max_queue);
  std::lock_guard<std::mutex> lk(mu_);
  Entry e;
  e.name = display;
  e.path = path;
  e.engine = engine;
  e.last_used = std::chrono::steady_clock::now();
  e.keep_alive = ka;
  e.in_use = 1;
  e.bytes = bytes;
  models_[path] = std::move(e);
  return engine;
}

void ModelManager::release(const std::string& name) {
  std::string path;
  try {
    path = resolve_(name).second;
  } catch (...) {
    return;
  }
  std::shared_ptr<Engine> drop;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = models_.find(path);
  if (it == models_.end()) return;
  it->second.in_use = std::max(0, it->second.in_use - 1);
  it->second.last_used = std::chrono::steady_clock::now();
  if (it->second.in_use == 0 && it->second.keep_alive.count() == 0) {
    drop = it->second.engine;
    models_.erase(it);
  }
}

void ModelManager::unload(const std::string& name) {
  std::string path = resolve_(name).second;
  std::shared_ptr<Engine> drop;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = models_.find(path);
  if (it != models_.end()) {
    drop = it->second.engine;
    models_.erase(it);
  }
}

std::vector<LoadedInfo> ModelManager::loaded() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<LoadedInfo> v;
  const auto now_s = std::chrono::steady_clock::now();
  const auto now = std::chrono::system_clock::now();
  for (auto& [k, e] : models_) {
    LoadedInfo i;
    i.name = e.name;
    i.path = e.path;
    i.weight_bytes = e.engine->model().memory().weights;
    i.kv_bytes = e.engine->model().memory().kv_cache;
    i.context = e.engine->model().context().n_ctx();
    i.warnings = e.engine->model().warnings();
    i.expires = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(e.last_used + e.keep_alive - now_s);
    i.active = e.engine->active();
    i.queued = e.engine->queued();
    i.stats = e.engine->stats();
    v.push_back(std::move(i));
  }
  return v;
}

void ModelManager::reap() {
  std::vector<std::shared_ptr<Engine>> drop;
  std::lock_guard<std::mutex> lk(mu_);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = models_.begin(); it != models_.end();) {
    const auto& e = it->second;
    if (e.in_use == 0 && e.keep_alive.count() >= 0 && now - e.last_used > e.keep_alive) {
      log::info("unloading {} (keep-alive expired)", e.name);
      drop.push_back(e.engine);
      it = models_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace hearth::runtime
