// sample: the stop-string matcher of the streamed text. Knows nothing of tokenizers or models: it sees
// the decoded text pieces only.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::sample {

// Watches streamed text for stop strings. Feed the decoded pieces as they come; each call returns the
// text that is safe to show now: anything that could still be the start of a stop string is held back
// (and so is an incomplete UTF-8 sequence at the end). When a stop string completes, the text before it
// is returned and everything from the stop string on is dropped; later calls return nothing. Stop
// strings match across piece boundaries. If several complete at the same byte, the longest wins.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);  // empty strings are ignored

  struct Output {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string was hit (now or before)
    int stop_index = -1;   // index into the constructor's list of the stop string hit
  };
  Output feed(std::string_view piece);
  // End of generation: returns the held-back text (nothing after a stop).
  std::string flush();
  void reset();

  bool stopped() const { return stop_index_ >= 0; }
  int stop_index() const { return stop_index_; }
  const std::string& stop_string() const;  // empty if none hit

 private:
  struct Stop {
    std::string text;
    std::vector<uint32_t> fail;  // KMP failure function
    uint32_t state = 0;          // length of the longest prefix of text that ends the stream
    int index = 0;               // position in the constructor's list
  };
  std::vector<Stop> stops_;
  std::vector<std::string> original_;
  std::string pending_;  // held-back text; every stop state fits inside it
  int stop_index_ = -1;
};

}  // namespace hearth::sample
