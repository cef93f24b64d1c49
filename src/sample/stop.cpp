// sample: the stop-string matcher. Each stop string runs a KMP automaton over the streamed bytes, so
// a piece costs O(bytes x stop strings) whatever the stop strings look like.
#include "sample/stop.h"

#include <algorithm>

namespace hearth::sample {

namespace {

// Bytes at the end of s that begin a UTF-8 sequence not yet complete (0 if s ends on a boundary or
// with invalid bytes, which are not worth waiting for).
size_t incomplete_utf8_tail(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= std::min<size_t>(n, 3); ++back) {
    const auto b = static_cast<unsigned char>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = 0;
    if ((b & 0xE0) == 0xC0) {
      need = 2;
    } else if ((b & 0xF0) == 0xE0) {
      need = 3;
    } else if ((b & 0xF8) == 0xF0) {
      need = 4;
    }
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) : original_(std::move(stops)) {
  for (size_t i = 0; i < original_.size(); ++i) {
    const std::string& s = original_[i];
    if (s.empty()) continue;
    Stop st;
    st.text = s;
    st.index = static_cast<int>(i);
    st.fail.assign(s.size(), 0);
    for (size_t q = 1, k = 0; q < s.size(); ++q) {
      while (k > 0 && s[q] != s[k]) k = st.fail[k - 1];
      if (s[q] == s[k]) ++k;
      st.fail[q] = static_cast<uint32_t>(k);
    }
    stops_.push_back(std::move(st));
  }
}

const std::string& StopMatcher::stop_string() const {
  static const std::string kNone;
  return stop_index_ >= 0 ? original_[static_cast<size_t>(stop_index_)] : kNone;
}

void StopMatcher::reset() {
  pending_.clear();
  stop_index_ = -1;
  for (Stop& st : stops_) st.state = 0;
}

StopMatcher::Output StopMatcher::feed(std::string_view piece) {
  Output out;
  if (stopped()) {
    out.stopped = true;
    out.stop_index = stop_index_;
    return out;
  }
  const size_t start = pending_.size();
  pending_.append(piece);
  for (size_t pos = start; pos < pending_.size(); ++pos) {
    const char ch = pending_[pos];
    const Stop* hit = nullptr;
    for (Stop& st : stops_) {
      uint32_t k = st.state;
      while (k > 0 && st.text[k] != ch) k = st.fail[k - 1];
      if (st.text[k] == ch) ++k;
      st.state = k;
      if (k == st.text.size() && (hit == nullptr || st.text.size() > hit->text.size())) hit = &st;
    }
    if (hit != nullptr) {
      stop_index_ = hit->index;
      out.text = pending_.substr(0, pos + 1 - hit->text.size());
      out.stopped = true;
      out.stop_index = stop_index_;
      pending_.clear();
      return out;
    }
  }
  // Hold back the longest partial match (and an unfinished UTF-8 character); emit the rest.
  size_t hold = incomplete_utf8_tail(pending_);
  for (const Stop& st : stops_) hold = std::max<size_t>(hold, st.state);
  out.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string rest;
  rest.swap(pending_);
  for (Stop& st : stops_) st.state = 0;
  return rest;
}

}  // namespace hearth::sample
