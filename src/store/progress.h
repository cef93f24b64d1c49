// store: download progress on stderr. On a terminal: one redrawn bar per blob (percent, size, speed, ETA);
// otherwise plain lines (start, every 25% of big blobs, end) that read well in logs; or PullEvents to a
// callback.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "store/store.h"

namespace hearth::store {

class Progress {
 public:
  explicit Progress(bool quiet = false, std::function<void(const PullEvent&)> on_event = {});
  ~Progress();
  // Starts a bar for `label` with `total` bytes (0: unknown), `done` of them already present.
  void begin(const std::string& label, uint64_t total, uint64_t done, const std::string& digest = "");
  void set(uint64_t done);  // absolute position (a restart may move it back)
  void add(uint64_t n) { set(done_ + n); }
  void end(const std::string& status = "");  // finishes the bar with a final line
  // A message line (clears the bar first; it is redrawn on the next update).
  void message(const std::string& line);
  bool quiet() const { return quiet_; }

 private:
  void draw(bool force);
  double speed() const;  // bytes per second over the last seconds
  using Clock = std::chrono::steady_clock;
  void emit(const std::string& status);
  bool quiet_, tty_;
  std::function<void(const PullEvent&)> on_event_;
  std::string digest_;
  Clock::time_point last_event_;
  bool active_ = false;
  std::string label_;
  uint64_t total_ = 0, done_ = 0, start_done_ = 0;
  int next_quarter_ = 1;
  Clock::time_point start_, last_draw_;
  std::deque<std::pair<Clock::time_point, uint64_t>> samples_;
};

}  // namespace hearth::store
