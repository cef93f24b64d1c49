#include "store/progress.h"

#include <unistd.h>

#include <cstdio>

#include "store/fsutil.h"

namespace hearth::store {

// Logs get 25/50/75% lines only for downloads big enough to take a while.
constexpr uint64_t kPlainLinesFrom = 64ull << 20;

Progress::Progress(bool quiet, std::function<void(const PullEvent&)> on_event)
    : quiet_(quiet || on_event), tty_(::isatty(STDERR_FILENO) == 1), on_event_(std::move(on_event)) {}

void Progress::emit(const std::string& status) {
  if (!on_event_) return;
  PullEvent e;
  e.status = status;
  if (active_) {
    e.digest = digest_;
    e.total = total_;
    e.completed = done_;
  }
  on_event_(e);
}

Progress::~Progress() {
  if (active_ && tty_ && !quiet_) std::fputc('\n', stderr);
}

void Progress::begin(const std::string& label, uint64_t total, uint64_t done, const std::string& digest) {
  if (active_) end();
  label_ = label;
  digest_ = digest;
  total_ = total;
  done_ = start_done_ = done;
  next_quarter_ = total > 0 ? static_cast<int>(done * 4 / total) + 1 : 5;
  start_ = last_draw_ = Clock::now();
  samples_.clear();
  samples_.emplace_back(start_, done);
  active_ = true;
  last_event_ = start_;
  emit("pulling " + label_);
  if (quiet_) return;
  if (tty_) {
    draw(true);
  } else if (done > 0 && total > 0) {
    std::fprintf(stderr, "pulling %s: resuming at %s of %s\n", label_.c_str(), human_size(done).c_str(),
                 human_size(total).c_str());
  } else {
    std::fprintf(stderr, "pulling %s (%s)\n", label_.c_str(),
                 total ? human_size(total).c_str() : "size unknown");
  }
}

void Progress::set(uint64_t done) {
  if (!active_) return;
  if (done < done_) samples_.clear();
  done_ = done;
  const auto now = Clock::now();
  if (samples_.empty() || now - samples_.back().first > std::chrono::milliseconds(200)) {
    samples_.emplace_back(now, done);
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(5))
      samples_.pop_front();
  }
  if (on_event_ && now - last_event_ > std::chrono::milliseconds(100)) {
    last_event_ = now;
    emit("pulling " + label_);
  }
  if (quiet_) return;
  if (tty_) {
    draw(false);
  } else if (total_ >= kPlainLinesFrom && next_quarter_ <= 3 &&
             done * 4 >= total_ * static_cast<uint64_t>(next_quarter_)) {
    while (next_quarter_ <= 3 && done * 4 >= total_ * static_cast<uint64_t>(next_quarter_)) ++next_quarter_;
    std::fprintf(stderr, "pulling %s: %d%% (%s of %s, %s/s)\n", label_.c_str(), (next_quarter_ - 1) * 25,
                 human_size(done).c_str(), human_size(total_).c_str(),
                 human_size(static_cast<uint64_t>(speed())).c_str());
  }
}

double Progress::speed() const {
  if (samples_.size() < 2) {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    return secs > 0.001 ? static_cast<double>(done_ - std::min(done_, start_done_)) / secs : 0.0;
  }
  const auto& a = samples_.front();
  const auto& b = samples_.back();
  const double secs = std::chrono::duration<double>(b.first - a.first).count();
  return secs > 0 && b.second >= a.second ? static_cast<double>(b.second - a.second) / secs : 0.0;
}

void Progress::draw(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 25;
  std::string line = "\rpulling " + label_ + " ";
  const double sp = speed();
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int filled = static_cast<int>(frac * kWidth);
    line += fmt::format("{:3d}% [", static_cast<int>(frac * 100));
    line += std::string(filled, '#') + std::string(kWidth - filled, ' ');
    line += fmt::format("] {}/{}", human_size(done_), human_size(total_));
  } else {
    line += human_size(done_);
  }
  if (sp > 0) {
    line += fmt::format("  {}/s", human_size(static_cast<uint64_t>(sp)));
    if (total_ > done_) {
      const uint64_t eta = static_cast<uint64_t>(static_cast<double>(total_ - done_) / sp);
      line += eta >= 3600 ? fmt::format("  {}h{:02d}m", eta / 3600, (eta % 3600) / 60)
              : eta >= 60 ? fmt::format("  {}m{:02d}s", eta / 60, eta % 60)
                          : fmt::format("  {}s", eta);
    }
  }
  line += "\x1b[K";  // clear the rest of the line
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void Progress::end(const std::string& status) {
  if (!active_) return;
  emit(status.empty() ? "done" : status);
  active_ = false;
  if (quiet_) return;
  if (tty_) {
    draw(true);
    std::fprintf(stderr, "%s\n", status.empty() ? "" : ("  " + status).c_str());
  } else {
    std::fprintf(stderr, "pulling %s: %s\n", label_.c_str(), status.empty() ? "done" : status.c_str());
  }
}

void Progress::message(const std::string& line) {
  emit(line);
  if (quiet_) return;
  if (active_ && tty_) std::fputs("\r\x1b[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  if (active_ && tty_) draw(true);
}

}  // namespace hearth::store
