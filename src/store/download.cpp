#include "store/download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include "base/log.h"
#include "store/sha256.h"

namespace hearth::store {

namespace {

// The server did not continue where we asked: start the blob again from byte 0.
struct Restart {
  std::string why;
};

uint64_t file_size_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot stat a partial download: {}", std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

std::string printable_start(const char* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < 16; ++i) s.push_back(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
  return s;
}

class PartialSink : public http::Sink {
 public:
  PartialSink(LocalStore& store, const BlobSource& src, int fd, const std::string& path, Sha256& h,
              uint64_t& have, uint64_t& size, Progress& p)
      : store_(store), src_(src), fd_(fd), path_(path), h_(h), have_(have), size_(size), p_(p) {}

  bool begun() const { return begun_; }
  void reset_attempt() { begun_ = false; }

  void truncate() {
    if (::ftruncate(fd_, 0) != 0) fail("cannot truncate {}: {}", path_, std::strerror(errno));
    h_.reset();
    have_ = 0;
    p_.set(0);
  }

  void begin(const http::Response& head) override {
    begun_ = true;
    uint64_t total = 0;
    if (head.status == 206) {
      static const std::regex re(R"(bytes\s+(\d+)-(\d+)/(\d+|\*))");
      std::smatch m;
      const std::string cr = head.header("content-range");
      if (!std::regex_match(cr, m, re))
        throw Restart{"the server's partial response has no usable Content-Range"};
      if (std::stoull(m[1].str()) != have_)
        throw Restart{fmt::format("the server resumed at byte {} instead of {}", m[1].str(), have_)};
      if (m[3].str() != "*") total = std::stoull(m[3].str());
    } else {
      if (have_ > 0) {
        log::debug("{}: the server ignored the Range request; starting again", src_.label);
        truncate();
      }
      const std::string cl = head.header("content-length");
      if (!cl.empty() && cl.size() < 20 && cl.find_first_not_of("0123456789") == std::string::npos)
        total = std::stoull(cl);
    }
    if (total > 0) {
      if (size_ > 0 && total != size_)
        fail("{}: the server sends {} bytes but {} were expected", src_.label, total, size_);
      size_ = total;
    }
    if (size_ > have_) check_free_space(size_ - have_, free_space(store_.blobs_dir()), store_.blobs_dir());
  }

  void write(const char* data, size_t n) override {
    if (size_ > 0 && have_ + n > size_)
      fail("{}: the server sent more than the expected {} bytes", src_.label, size_);
    if (src_.gguf && have_ < 4) {
      // Check the magic as soon as the first bytes arrive: an HTML error page is not a model.
      static const char magic[4] = {'G', 'G', 'U', 'F'};
      for (size_t i = 0; i < n && have_ + i < 4; ++i)
        if (data[i] != magic[have_ + i])
          fail("{} is not a GGUF file (it starts with \"{}\")", src_.label, printable_start(data, n));
    }
    write_all(fd_, data, n, path_);
    h_.update(data, n);
    have_ += n;
    p_.set(have_);
  }

 private:
  LocalStore& store_;
  const BlobSource& src_;
  int fd_;
  const std::string& path_;
  Sha256& h_;
  uint64_t& have_;
  uint64_t& size_;
  Progress& p_;
  bool begun_ = false;
};

[[noreturn]] void fail_status(const BlobSource& src, long status) {
  if (status == 404) fail("{}: not found at {} ({})", src.label, src.url, http::status_text(status));
  if (status == 401 || status == 403)
    fail("{}: access denied by {} ({}): the model may be private or need credentials", src.label, src.url,
         http::status_text(status));
  fail("{}: download from {} failed: {}", src.label, src.url, http::status_text(status));
}

// A blob already in the store: content-addressed, so only its size can disagree (a lying manifest).
bool present(const LocalStore& store, const BlobSource& src) {
  if (src.digest.empty() || !store.has_blob(src.digest)) return false;
  std::error_code ec;
  const uint64_t actual = std::filesystem::file_size(store.blob_path(src.digest), ec);
  if (!ec && src.size > 0 && actual != src.size)
    fail("{}: the manifest says {} bytes but blob {} has {}", src.label, src.size, src.digest, actual);
  return true;
}

}  // namespace

std::string fetch_blob(LocalStore& store, const BlobSource& src, Progress& progress,
                       const http::RetryPolicy& policy) {
  if (!src.digest.empty()) check_digest(src.digest, src.label);
  if (present(store, src)) {
    progress.message(fmt::format("pulling {}: already present", src.label));
    return src.digest;
  }
  const std::string key = src.digest.empty() ? "url-" + sha256_hex(src.url) : digest_hex(src.digest);
  auto lock = store.lock_blob(
      key, fmt::format("waiting for another hearth process that is downloading {}", src.label));
  if (present(store, src)) {
    progress.message(fmt::format("pulling {}: done by another process", src.label));
    return src.digest;
  }
  const std::string partial = store.partial_path(key);
  Fd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == ENOSPC || errno == EDQUOT)
      throw DiskFullError(fmt::format("disk full: cannot create {}", partial));
    fail("cannot create {}: {}", partial, std::strerror(errno));
  }
  uint64_t have = file_size_of(fd.get());
  uint64_t size = src.size;
  Sha256 h;
  if (size > 0 && have > size) {
    if (::ftruncate(fd.get(), 0) != 0) fail("cannot truncate {}: {}", partial, std::strerror(errno));
    have = 0;
  }
  if (have > 0) {
    // Resume: the hash must cover the bytes already on disk.
    std::vector<char> buf(1 << 20);
    uint64_t off = 0;
    while (off < have) {
      ssize_t n =
          ::pread(fd.get(), buf.data(), std::min<uint64_t>(buf.size(), have - off), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        fail("cannot read {}: {}", partial, n < 0 ? std::strerror(errno) : "unexpected end of file");
      h.update(buf.data(), static_cast<size_t>(n));
      off += static_cast<uint64_t>(n);
    }
  }
  progress.begin(src.label, size, have, src.digest);
  PartialSink sink(store, src, fd.get(), partial, h, have, size, progress);
  // A download that fails before its first byte leaves no empty partial file behind.
  struct DropEmpty {
    const std::string& path;
    const uint64_t& have;
    bool armed = true;
    ~DropEmpty() {
      if (armed && have == 0) ::unlink(path.c_str());
    }
  } drop_empty{partial, have};
  // Downloads from `have` to the end, resuming after transient failures.
  auto download_rest = [&] {
    int failures = 0, attempts = 0;
    bool complete = size > 0 && have == size;
    while (!complete) {
      const uint64_t before = have;
      std::string problem;
      sink.reset_attempt();
      try {
        http::Request req{src.url, src.headers, have, 0};
        const http::Response r = http::perform(req, &sink);
        if (r.status == 416 && have > 0) {
          if (size == 0) {
            complete = true;  // nothing after what we have: the hash decides whether it is right
            break;
          }
          throw Restart{"the server cannot continue the partial download"};
        }
        if (r.status >= 200 && r.status < 300) {
          if (!sink.begun()) sink.begin(r);  // an empty body
          if (size == 0 || have == size) {
            complete = true;
            break;
          }
          problem = fmt::format("the connection closed after {} of {} bytes", have, size);
        } else if (http::transient_status(r.status)) {
          problem = http::status_text(r.status);
        } else {
          fail_status(src, r.status);
        }
      } catch (const http::TransportError& e) {
        if (!e.transient()) fail("{}: download failed: {}", src.label, e.what());
        problem = e.what();
      } catch (const Restart& r) {
        log::debug("{}: {}; starting again", src.label, r.why);
        sink.truncate();
        problem = r.why;
      } catch (const DiskFullError& e) {
        if (have == 0) throw;
        throw DiskFullError(fmt::format("{} ({} downloaded so far are kept; pull again to resume)", e.what(),
                                        human_size(have)));
      }
      // Retries count consecutive failures; a failure after progress starts the count again.
      failures = have > before ? 1 : failures + 1;
      if (failures > policy.retries || ++attempts > 1000)
        fail("{}: download interrupted: {}; {} of {} kept, run the same pull again to resume", src.label,
             problem, human_size(have), size ? human_size(size) : "?");
      const int delay = policy.delay_ms(std::max(0, failures - 1));
      progress.message(fmt::format("pulling {}: {}; resuming at {} in {:.1f} s", src.label, problem,
                                   human_size(have), delay / 1000.0));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
  };
  const uint64_t resumed_from = have;
  download_rest();
  std::string actual = h.hex();
  if (resumed_from > 0 && !src.digest.empty() &&
      (actual != digest_hex(src.digest) || (size > 0 && have != size))) {
    // The bytes kept from an earlier attempt were bad (e.g. a crash before they reached the disk): once more
    // from the start.
    progress.message(
        fmt::format("pulling {}: the resumed download does not match; starting again", src.label));
    sink.truncate();
    download_rest();
    actual = h.hex();
  }
  drop_empty.armed = false;
  fsync_or_fail(fd.get(), partial);
  fd.reset();
  if (size > 0 && have != size) {
    ::unlink(partial.c_str());
    fail("{}: downloaded {} bytes but {} were expected; the data was discarded", src.label, have, size);
  }
  const std::string digest = src.digest.empty() ? "sha256:" + actual : src.digest;
  try {
    store.commit_blob(partial, digest, actual);
  } catch (const Error& e) {
    progress.end("failed");
    fail("{}: {}", src.label, e.what());
  }
  progress.end("verified");
  return digest;
}

uint64_t bytes_to_download(const LocalStore& store, const std::vector<BlobSource>& blobs) {
  uint64_t need = 0;
  for (const auto& b : blobs) {
    if (b.digest.empty() || b.size == 0) continue;
    if (store.has_blob(b.digest)) continue;
    struct stat st {};
    uint64_t have = 0;
    if (::stat(store.partial_path(digest_hex(b.digest)).c_str(), &st) == 0)
      have = static_cast<uint64_t>(st.st_size);
    need += b.size > have ? b.size - have : 0;
  }
  return need;
}

std::vector<std::string> fetch_all(LocalStore& store, const std::vector<BlobSource>& blobs,
                                   Progress& progress) {
  check_free_space(bytes_to_download(store, blobs), free_space(store.blobs_dir()), store.blobs_dir());
  const auto policy = http::RetryPolicy::from_env();
  std::vector<std::string> digests;
  for (const auto& b : blobs) digests.push_back(fetch_blob(store, b, progress, policy));
  return digests;
}

}  // namespace hearth::store
