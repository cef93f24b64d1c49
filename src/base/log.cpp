#include "base/log.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace hearth::log {

namespace {
Level initial_level() {
  const char* e = std::getenv("HEARTH_LOG");
  if (!e) return Level::warn;
  std::string s(e);
  if (s == "debug") return Level::debug;
  if (s == "info") return Level::info;
  if (s == "error") return Level::error;
  if (s == "quiet") return Level::quiet;
  return Level::warn;
}
std::atomic<Level> g_level{initial_level()};
std::mutex g_mu;
}  // namespace

Level level() { return g_level.load(std::memory_order_relaxed); }
void set_level(Level l) { g_level.store(l); }

void write(Level l, const std::string& msg) {
  static const char* names[] = {"debug", "info", "warning", "error", ""};
  std::lock_guard<std::mutex> lk(g_mu);
  std::fprintf(stderr, "hearth: %s: %s\n", names[static_cast<int>(l)], msg.c_str());
}

}  // namespace hearth::log
