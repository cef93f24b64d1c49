// The interactive chat of `hearth run MODEL` on a terminal: libedit line editing with a history file
// ($HEARTH_HOME/history, default ~/.hearth/history), multi-line input ("""...""" blocks and a trailing
// backslash), streamed answers, slash commands (/set, /show, /clear, /bye, /?).
//
// Ctrl-C stops the current answer (a SIGINT handler sets a flag the text callback checks) and clears
// the line at the prompt (the handler also writes to a pipe that the line editor's reads wait on
// together with the terminal); Ctrl-D on an empty prompt quits.
//
// The whole conversation is rendered through the chat template every turn; the Session keeps the KV
// cache, so a turn only processes the tokens after the common prefix (normally just the new message).
// Context policy: before a turn, when the conversation plus room for the answer (num_predict, at most
// half the context; a quarter of the context when num_predict is unlimited) does not fit, the oldest
// turns (a user message and its answer) are dropped, the system prompt is kept, and the chat says so.
// An answer cut off by a full context is kept as it is; the next turn makes room.
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "cli/run.h"
#include "runtime/prompt.h"
#include "store/local.h"

namespace hearth::cli {
namespace {

using json = nlohmann::ordered_json;

// ---- Ctrl-C -------------------------------------------------------------------------------------

// A flag alone is not enough at the prompt: a Ctrl-C that comes while the line editor is not blocked
// in read() (echoing a key, printing the prompt) would only set it, and the next read() would then
// wait for another key. So the handler also writes a byte to a pipe, and the line editor's read
// function (LineEditor::read_char) waits on the terminal and the pipe together: a Ctrl-C is seen
// whenever it comes, on whichever thread the kernel delivers it.
std::atomic<bool> g_interrupted{false};
// [0]: read end, [1]: write end; both non-blocking. Atomic: the handler may run on any thread, also
// while the guard below closes them.
std::atomic<int> g_sigint_pipe[2] = {-1, -1};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_sigint(int) {
  const int saved_errno = errno;
  g_interrupted.store(true);
  const char byte = 1;
  const int fd = g_sigint_pipe[1].load();
  if (fd >= 0 && ::write(fd, &byte, 1) < 0) {
    // The pipe is full: a Ctrl-C is pending already.
  }
  errno = saved_errno;
}

// Forgets the Ctrl-C presses recorded in the pipe so far.
void drain_sigint_pipe() {
  char buf[64];
  const int fd = g_sigint_pipe[0].load();
  while (fd >= 0 && ::read(fd, buf, sizeof buf) > 0) {
  }
}

// Creates the pipe and installs the SIGINT handler for its lifetime.
class SigintGuard {
 public:
  SigintGuard() {
    int fds[2];
    if (::pipe(fds) != 0) fail("cannot create a pipe for Ctrl-C: {}", std::strerror(errno));
    for (const int fd : fds) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    g_sigint_pipe[0].store(fds[0]);
    g_sigint_pipe[1].store(fds[1]);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // the line editor learns of Ctrl-C through the pipe, not through EINTR
    sigaction(SIGINT, &sa, &old_);
  }
  ~SigintGuard() {
    sigaction(SIGINT, &old_, nullptr);
    const int w = g_sigint_pipe[1].exchange(-1), r = g_sigint_pipe[0].exchange(-1);
    ::close(r);
    ::close(w);
  }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  struct sigaction old_ {};
};

// ---- line editing (libedit) -----------------------------------------------------------------------

std::string history_path() {
  try {
    const std::string home = store::default_home();
    ::mkdir(home.c_str(), 0700);  // may exist already; a failure only means no history file
    return home + "/history";
  } catch (const std::exception&) {
    return "";
  }
}

class LineEditor {
 public:
  enum class Status { kLine, kEof, kInterrupted };

  explicit LineEditor(std::string history_file) : path_(std::move(history_file)) {
    // The terminal opened again, non-blocking, for read_char: a Ctrl-C flushes the pending input, so
    // a byte that poll() reported can be gone by the time read() runs; a blocking read would then
    // wait for the next key. (Opened again rather than O_NONBLOCK on stdin, whose flags the shell
    // shares.) Without it (no terminal name), stdin itself, where that race remains.
    if (const char* tty = ttyname(STDIN_FILENO))
      in_fd_ = ::open(tty, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    own_fd_ = in_fd_ >= 0;
    if (!own_fd_) in_fd_ = fileno(stdin);
    hist_ = history_init();
    if (hist_) {
      history(hist_, &ev_, H_SETSIZE, 1000);
      history(hist_, &ev_, H_SETUNIQUE, 1);
      if (!path_.empty()) history(hist_, &ev_, H_LOAD, path_.c_str());
    }
    el_ = el_init("hearth", stdin, stdout, stderr);
    if (!el_) {  // the destructor does not run for a constructor that throws
      if (hist_) history_end(hist_);
      if (own_fd_) ::close(in_fd_);
      fail("cannot set up line editing on this terminal");
    }
    el_set(el_, EL_CLIENTDATA, this);
    el_set(el_, EL_PROMPT, &LineEditor::prompt_fn);
    el_set(el_, EL_EDITOR, "emacs");
    if (hist_) el_set(el_, EL_HIST, history, hist_);
    el_source(el_, nullptr);  // the user's ~/.editrc, if any
    el_set(el_, EL_GETCFN, &LineEditor::read_char);
  }
  ~LineEditor() {
    if (el_) el_end(el_);
    if (own_fd_) ::close(in_fd_);
    if (hist_) history_end(hist_);
  }
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  Status read(const char* prompt, std::string* line) {
    prompt_ = prompt;
    // A Ctrl-C pressed before the prompt (e.g. at the very end of an answer) does not clear this line.
    drain_sigint_pipe();
    g_interrupted.store(false);
    int n = 0;
    // Raw mode before the prompt is printed, so text typed right after it is not echoed twice
    // (once by the terminal, once by libedit). el_gets restores the terminal when it returns.
    el_set(el_, EL_PREP_TERM, 1);
    errno = 0;
    const char* s = el_gets(el_, &n);
    const int err = errno;
    if (g_interrupted.exchange(false) || (n < 0 && err == EINTR)) {
      // What was typed before Ctrl-C (the caller tells an empty line from a cleared one).
      const LineInfo* li = el_line(el_);
      line->clear();
      if (li && li->buffer && li->lastchar >= li->buffer)
        line->assign(li->buffer, static_cast<size_t>(li->lastchar - li->buffer));
      return Status::kInterrupted;
    }
    if (!s || n <= 0) return Status::kEof;
    line->assign(s, static_cast<size_t>(n));
    while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
    return Status::kLine;
  }

  // Adds a line to the history and saves the history file.
  void remember(const std::string& line) {
    if (!hist_ || line.find_first_not_of(" \t") == std::string::npos) return;
    history(hist_, &ev_, H_ENTER, line.c_str());
    if (!path_.empty()) history(hist_, &ev_, H_SAVE, path_.c_str());
  }

 private:
  // libedit's read function: one character from the terminal, or -1 with errno EINTR as soon as Ctrl-C
  // is pressed (even when it was pressed while libedit was busy between two reads). The locale's
  // multibyte encoding (UTF-8) is decoded here, as libedit's own read function does.
  static int read_char(EditLine* el, wchar_t* out) {
    *out = L'\0';
    void* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    const int fd = self ? static_cast<LineEditor*>(self)->in_fd_ : STDIN_FILENO;
    std::mbstate_t state{};
    int pending = 0;  // bytes of an incomplete multibyte character
    for (;;) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {g_sigint_pipe[0].load(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;  // the pipe tells whether it was Ctrl-C
        return -1;
      }
      if (fds[1].revents != 0) {
        errno = EINTR;
        return -1;
      }
      if (fds[0].revents == 0) continue;
      char c;
      const ssize_t got = ::read(fd, &c, 1);
      if (got < 0) {
        if (errno == EAGAIN && (fds[0].revents & POLLIN) == 0) return 0;  // hung up
        if (errno == EINTR || errno == EAGAIN) continue;                  // e.g. the input flushed by Ctrl-C
        return -1;
      }
      if (got == 0) return 0;  // end of file
      size_t k = std::mbrtowc(out, &c, 1, &state);
      if (k == static_cast<size_t>(-1) && pending > 0) {
        // An invalid continuation: drop the incomplete character, decode this byte on its own.
        state = std::mbstate_t{};
        pending = 0;
        k = std::mbrtowc(out, &c, 1, &state);
      }
      if (k == static_cast<size_t>(-1)) {  // an invalid byte: skip it
        state = std::mbstate_t{};
        continue;
      }
      if (k == static_cast<size_t>(-2)) {  // incomplete: read the next byte
        if (++pending >= MB_LEN_MAX) {
          errno = EILSEQ;
          return -1;
        }
        continue;
      }
      return 1;
    }
  }

  static char* prompt_fn(EditLine* el) {
    void* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    return self ? const_cast<char*>(static_cast<LineEditor*>(self)->prompt_.c_str())
                : const_cast<char*>("> ");
  }

  std::string path_;
  std::string prompt_;
  int in_fd_ = -1;  // the terminal (see the constructor)
  bool own_fd_ = false;
  EditLine* el_ = nullptr;
  History* hist_ = nullptr;
  HistEvent ev_{};
};

// libedit decodes input with the C library's multibyte functions: use the user's locale, or UTF-8
// when the locale is the plain C one (terminals are UTF-8 nowadays).
void setup_locale() {
  std::setlocale(LC_CTYPE, "");
  const char* cs = nl_langinfo(CODESET);
  if (!cs || std::strcmp(cs, "UTF-8") != 0) {
    const char* cur = std::setlocale(LC_CTYPE, nullptr);
    if (cur && (std::strcmp(cur, "C") == 0 || std::strcmp(cur, "POSIX") == 0))
      std::setlocale(LC_CTYPE, "C.UTF-8");
  }
}

// ---- text helpers ---------------------------------------------------------------------------------

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

size_t count_triple_quotes(const std::string& s) {
  size_t n = 0;
  for (size_t p = s.find("\"\"\""); p != std::string::npos; p = s.find("\"\"\"", p + 3)) ++n;
  return n;
}

// Removes one pair of surrounding quotes ("""...""" or "...").
std::string unquote(std::string s) {
  s = trim(s);
  if (s.size() >= 6 && s.rfind("\"\"\"", 0) == 0 && s.compare(s.size() - 3, 3, "\"\"\"") == 0)
    return trim(s.substr(3, s.size() - 6));
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// ---- the chat ---------------------------------------------------------------------------------------

const char* const kHelp =
    "Available commands:\n"
    "  /set parameter value   set a parameter: temperature, top_k, top_p, min_p, seed (-1: random),\n"
    "                         num_predict (-1: no limit), repeat_penalty, repeat_last_n\n"
    "  /set system \"text\"     set the system message (/set system \"\" removes it)\n"
    "  /show [info|parameters|system]   model information, parameters, system message\n"
    "  /clear                 forget the conversation (the system message stays)\n"
    "  /bye                   quit (or Ctrl-D on an empty line)\n"
    "  /?, /help              this help\n"
    "\n"
    "Multi-line input: wrap it in \"\"\" ... \"\"\", or end a line with \\ to continue it.\n"
    "Ctrl-C stops an answer; at the prompt it clears the line.\n"
    "When the conversation outgrows the context, the oldest turns are dropped (the system message stays).\n";

class Chat {
 public:
  Chat(runtime::LoadedModel& lm, const RunOptions& o)
      : lm_(lm), o_(o), params_(sampling_from(lm, o)), num_predict_(o.n_predict), session_(lm) {
    if (o.system && !o.system->empty()) system_ = *o.system;
  }

  int run() {
    SigintGuard sigint;
    LineEditor ed(history_path());
    std::printf("Chatting with %s. Type /? for help, /bye or Ctrl-D to quit; Ctrl-C stops an answer.\n",
                o_.model.c_str());
    std::fflush(stdout);
    for (;;) {
      std::string input;
      bool quoted = false;
      const auto st = read_input(ed, &input, &quoted);
      if (st == LineEditor::Status::kEof) {
        std::printf("\n");
        break;
      }
      if (st == LineEditor::Status::kInterrupted) continue;
      const std::string t = trim(input);
      if (t.empty()) continue;
      if (t[0] == '/' && !quoted) {
        if (!command(t)) break;
        continue;
      }
      turn(input);
    }
    std::fflush(stdout);
    return 0;
  }

 private:
  // Reads one message: a line, a """ block, or lines joined by trailing backslashes.
  // *quoted: the message was a """ block (so a leading / is text, not a command).
  LineEditor::Status read_input(LineEditor& ed, std::string* out, bool* quoted) {
    *quoted = false;
    std::string line;
    auto st = ed.read(">>> ", &line);
    if (st == LineEditor::Status::kInterrupted) {
      std::printf("\n");
      if (trim(line).empty()) std::printf("Use Ctrl-D or /bye to quit.\n");
      std::fflush(stdout);
      return st;
    }
    if (st != LineEditor::Status::kLine) return st;
    ed.remember(line);
    std::string text = line;
    const bool block = count_triple_quotes(line) % 2 == 1;
    bool cont = !block && !line.empty() && line.back() == '\\';
    if (cont) text.pop_back();
    while (block ? count_triple_quotes(text) % 2 == 1 : cont) {
      st = ed.read("... ", &line);
      if (st == LineEditor::Status::kInterrupted) {  // drop the whole message
        std::printf("\n");
        std::fflush(stdout);
        return st;
      }
      if (st == LineEditor::Status::kEof) {  // Ctrl-D ends a block early
        if (block) text += "\"\"\"";
        break;
      }
      ed.remember(line);
      text += '\n';
      if (block) {
        text += line;
      } else {
        cont = !line.empty() && line.back() == '\\';
        text += cont ? line.substr(0, line.size() - 1) : line;
      }
    }
    // A """ block is sent without its quotes (and without anything after the closing ones).
    const std::string t = trim(text);
    if (t.rfind("\"\"\"", 0) == 0) {
      *quoted = true;
      const size_t close = t.find("\"\"\"", 3);
      text = trim(t.substr(3, close == std::string::npos ? std::string::npos : close - 3));
    }
    *out = text;
    return LineEditor::Status::kLine;
  }

  // Returns false to quit.
  bool command(const std::string& line) {
    std::string cmd = line, rest;
    if (const size_t sp = line.find_first_of(" \t\n"); sp != std::string::npos) {
      cmd = line.substr(0, sp);
      rest = trim(line.substr(sp));
    }
    if (cmd == "/bye" || cmd == "/exit") return false;
    if (cmd == "/?" || cmd == "/help") {
      std::fputs(kHelp, stdout);
    } else if (cmd == "/clear") {
      messages_.clear();
      std::printf("Cleared the conversation.\n");
    } else if (cmd == "/set") {
      set(rest);
    } else if (cmd == "/show") {
      show(rest);
    } else {
      std::printf("Unknown command '%s'. Type /? for help.\n", cmd.c_str());
    }
    std::fflush(stdout);
    return true;
  }

  void set(std::string rest) {
    std::string name = rest, value;
    auto split = [&] {
      const size_t sp = rest.find_first_of(" \t\n");
      name = rest.substr(0, sp);
      value = sp == std::string::npos ? "" : trim(rest.substr(sp));
    };
    split();
    if (name == "parameter") {  // Ollama's spelling: /set parameter NAME VALUE
      rest = value;
      split();
    }
    if (name == "system") {
      system_ = unquote(value);
      std::printf(system_.empty() ? "Removed the system message.\n" : "Set the system message.\n");
      return;
    }
    if (name.empty() || value.empty()) {
      std::printf("Usage: /set parameter value (see /?)\n");
      return;
    }
    try {
      auto p = params_;
      int32_t np = num_predict_;
      size_t used = 0;
      if (name == "temperature" || name == "temp") {
        p.temperature = std::stof(value, &used);
      } else if (name == "top_k") {
        p.top_k = std::stoi(value, &used);
      } else if (name == "top_p") {
        p.top_p = std::stof(value, &used);
      } else if (name == "min_p") {
        p.min_p = std::stof(value, &used);
      } else if (name == "repeat_penalty") {
        p.repeat_penalty = std::stof(value, &used);
      } else if (name == "repeat_last_n") {
        p.repeat_last_n = std::stoi(value, &used);
      } else if (name == "num_predict") {
        np = std::stoi(value, &used);
        if (np < -1) fail("num_predict must be -1 (no limit) or at least 0");
      } else if (name == "seed") {
        const long long s = std::stoll(value, &used);
        if (s < -1) fail("seed must be -1 (random) or a non-negative number");
        p.seed = s < 0 ? sample::SamplerParams::kRandomSeed : static_cast<uint64_t>(s);
      } else {
        std::printf("Unknown parameter '%s'. Type /? for the list.\n", name.c_str());
        return;
      }
      if (used != value.size()) fail("'{}' is not a number", value);
      p.validate();
      params_ = p;
      num_predict_ = np;
      std::printf("Set parameter '%s' to '%s'.\n", name.c_str(), value.c_str());
    } catch (const std::invalid_argument&) {
      std::printf("Invalid value '%s' for %s.\n", value.c_str(), name.c_str());
    } catch (const std::out_of_range&) {
      std::printf("Value '%s' is out of range for %s.\n", value.c_str(), name.c_str());
    } catch (const Error& e) {
      std::printf("Invalid value for %s: %s\n", name.c_str(), e.what());
    }
  }

  void show(const std::string& what) {
    const bool all = what.empty();
    if (all || what == "info") {
      const auto& m = lm_.model();
      const auto& hp = m.hparams();
      const std::string name = m.file().get_string("general.name", "");
      const uint64_t n = m.n_params();
      std::printf("Model\n");
      if (!name.empty()) std::printf("  name              %s\n", name.c_str());
      std::printf("  architecture      %s\n", hp.arch.c_str());
      std::printf("  parameters        %s (%.2f bits per weight)\n", param_count(n).c_str(),
                  n ? 8.0 * static_cast<double>(m.weight_bytes()) / static_cast<double>(n) : 0.0);
      std::printf("  context           %lld tokens (trained on %lld)\n",
                  static_cast<long long>(lm_.context().n_ctx()), static_cast<long long>(hp.n_ctx_train));
      std::printf("  embedding length  %lld\n", static_cast<long long>(hp.n_embd));
      std::printf("  layers            %lld\n", static_cast<long long>(hp.n_layer));
      std::printf("  vocabulary        %d tokens\n", lm_.tokenizer().n_vocab());
      std::printf("  chat template     %s\n",
                  lm_.chat_template().empty() ? "none (ChatML fallback)" : "from the model");
      std::printf("  conversation      %zu messages, %zu tokens in the cache\n", messages_.size(),
                  session_.tokens().size());
    }
    if (all || what == "parameters") {
      std::printf("Parameters\n");
      std::printf("  temperature       %g\n", static_cast<double>(params_.temperature));
      std::printf("  top_k             %d\n", params_.top_k);
      std::printf("  top_p             %g\n", static_cast<double>(params_.top_p));
      std::printf("  min_p             %g\n", static_cast<double>(params_.min_p));
      std::printf("  repeat_penalty    %g\n", static_cast<double>(params_.repeat_penalty));
      std::printf("  repeat_last_n     %d\n", params_.repeat_last_n);
      std::printf("  num_predict       %d\n", num_predict_);
      if (params_.seed == sample::SamplerParams::kRandomSeed)
        std::printf("  seed              random\n");
      else
        std::printf("  seed              %llu\n", static_cast<unsigned long long>(params_.seed));
    }
    if (all || what == "system") {
      if (system_.empty())
        std::printf("No system message.\n");
      else
        std::printf("System message\n%s\n", system_.c_str());
    }
    if (!all && what != "info" && what != "parameters" && what != "system")
      std::printf("Usage: /show [info|parameters|system]\n");
  }

  static std::string param_count(uint64_t n) {
    if (n >= 1000000000ull) return fmt::format("{:.2f}B", static_cast<double>(n) / 1e9);
    if (n >= 1000000ull) return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
    if (n >= 1000ull) return fmt::format("{:.1f}K", static_cast<double>(n) / 1e3);
    return std::to_string(n);
  }

  // The messages the template sees: the system message, then the conversation (or its last `last` messages).
  json conversation(size_t last = SIZE_MAX) const {
    json msgs = json::array();
    if (!system_.empty()) msgs.push_back({{"role", "system"}, {"content", system_}});
    const size_t from = messages_.size() - std::min(last, messages_.size());
    for (size_t i = from; i < messages_.size(); ++i) msgs.push_back(messages_[i]);
    return msgs;
  }

  std::vector<int32_t> prompt_tokens(const json& msgs) {
    // The ChatML-fallback warning is worth saying once, not every turn.
    if (!rendered_once_) {
      rendered_once_ = true;
      return runtime::chat_prompt_tokens(lm_, msgs);
    }
    const auto lvl = log::level();
    if (lvl < log::Level::error) log::set_level(log::Level::error);
    try {
      auto ids = runtime::chat_prompt_tokens(lm_, msgs);
      log::set_level(lvl);
      return ids;
    } catch (...) {
      log::set_level(lvl);
      throw;
    }
  }

  // The prompt of the conversation, after dropping the oldest turns when it does not fit (see the
  // policy at the top of the file). nullopt (and the newest message is forgotten) when the newest
  // message alone does not fit.
  std::optional<std::vector<int32_t>> fit_prompt() {
    const int64_t n_ctx = lm_.context().n_ctx();
    const int64_t room =
        num_predict_ >= 0 ? std::min<int64_t>(std::max(num_predict_, 1), n_ctx / 2) : n_ctx / 4;
    auto ids = prompt_tokens(conversation());
    if (static_cast<int64_t>(ids.size()) + room <= n_ctx) return ids;
    const auto alone = static_cast<int64_t>(prompt_tokens(conversation(1)).size());
    if (alone >= n_ctx) {
      std::printf(
          "Your message (%lld tokens with the system message) does not fit in the context of %lld "
          "tokens; it was not sent. Use a larger -c or a shorter message.\n",
          static_cast<long long>(alone), static_cast<long long>(n_ctx));
      messages_.pop_back();
      return std::nullopt;
    }
    int dropped = 0;
    while (static_cast<int64_t>(ids.size()) + room > n_ctx && messages_.size() > 1) {
      // One turn: the oldest user message and every message up to the next user message (never the
      // newest message).
      size_t end = 1;
      while (end + 1 < messages_.size() && messages_[end].value("role", "") != "user") ++end;
      messages_.erase(messages_.begin(), messages_.begin() + static_cast<std::ptrdiff_t>(end));
      ++dropped;
      ids = prompt_tokens(conversation());
    }
    if (dropped > 0) {
      std::printf(
          "(The conversation no longer fits in the context of %lld tokens: dropped the oldest %d turn%s; "
          "the system message is kept.)\n",
          static_cast<long long>(n_ctx), dropped, dropped == 1 ? "" : "s");
      std::fflush(stdout);
    }
    return ids;  // at worst the newest message alone, with less room for the answer
  }

  void turn(const std::string& text) {
    messages_.push_back({{"role", "user"}, {"content", text}});
    std::optional<std::vector<int32_t>> prompt;
    try {
      prompt = fit_prompt();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      messages_.pop_back();
      return;
    }
    if (!prompt) return;

    sample::Sampler sampler(params_);
    runtime::GenerateOptions go;
    go.max_tokens = num_predict_;
    go.stop = o_.stop;
    go.ignore_eos = o_.ignore_eos;
    std::string answer;
    bool ends_nl = true;
    runtime::GenerateResult r;
    g_interrupted.store(false);
    try {
      r = session_.generate(*prompt, sampler, go, [&](const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        answer += piece;
        if (!piece.empty()) ends_nl = piece.back() == '\n';
        return !g_interrupted.load();
      });
    } catch (const std::exception& e) {
      if (!ends_nl) std::fputc('\n', stdout);
      std::fflush(stdout);
      std::fprintf(stderr, "error: %s\n", e.what());
      session_.reset();  // the cache may not match what the session recorded
      messages_.pop_back();
      return;
    }
    const bool cancelled = r.finish == runtime::FinishReason::Cancelled || g_interrupted.exchange(false);
    if (!ends_nl) std::fputc('\n', stdout);
    if (r.finish == runtime::FinishReason::ContextFull)
      std::printf(
          "(The context of %lld tokens is full: the answer was cut off. The oldest turns will be dropped "
          "to make room for the next message.)\n",
          static_cast<long long>(lm_.context().n_ctx()));
    std::fflush(stdout);
    if (cancelled && answer.empty())
      messages_.pop_back();  // nothing was said: forget the question too
    else
      messages_.push_back({{"role", "assistant"}, {"content", answer}});
    if (o_.verbose) {
      log::info("prompt: {} tokens ({} cached) in {:.3f} s, {:.1f} tok/s", r.prompt_tokens, r.cached_tokens,
                r.prompt_seconds, (r.prompt_tokens - r.cached_tokens) / std::max(1e-9, r.prompt_seconds));
      log::info("generation: {} tokens in {:.3f} s, {:.1f} tok/s, finish: {}", r.generated_tokens,
                r.generate_seconds, r.generated_tokens / std::max(1e-9, r.generate_seconds),
                cancelled ? "cancelled" : runtime::finish_reason_name(r.finish));
    }
  }

  runtime::LoadedModel& lm_;
  const RunOptions& o_;
  sample::SamplerParams params_;
  int32_t num_predict_;
  std::string system_;
  std::vector<json> messages_;  // the conversation without the system message
  runtime::Session session_;
  bool rendered_once_ = false;
};

}  // namespace

int run_interactive(runtime::LoadedModel& lm, const RunOptions& o) {
  setup_locale();
  Chat chat(lm, o);
  return chat.run();
}

}  // namespace hearth::cli
