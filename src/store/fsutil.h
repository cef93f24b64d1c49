// store: small POSIX file helpers the store is built on: atomic writes (temporary file, fsync, rename,
// fsync of the directory), advisory locks (flock) and disk-space checks. Every failure is a hearth::Error
// naming the path; a full disk is a DiskFullError.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hearth::store {

class DiskFullError : public Error {
 public:
  explicit DiskFullError(const std::string& msg) : Error(msg) {}
};

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();

 private:
  int fd_ = -1;
};

// Writes all bytes (retrying short writes and EINTR); ENOSPC/EDQUOT throw DiskFullError.
void write_all(int fd, const void* data, size_t n, const std::string& path);
void fsync_or_fail(int fd, const std::string& path);
// fsync a directory so a rename/unlink inside it is durable (best effort on filesystems without it).
void fsync_dir(const std::string& dir);
// Creates the directory and its parents (mode 0755); throws with the path on failure.
void make_dirs(const std::string& dir);
// Atomically replaces `path` with `data`: a hidden temporary sibling is written, fsynced and renamed.
void atomic_write(const std::string& path, std::string_view data);
// Reads a whole (small) file; throws when it is larger than max_bytes.
std::string read_file(const std::string& path, uint64_t max_bytes);
// A unique hidden temporary name next to `path` (same directory, so rename is atomic).
std::string temp_sibling(const std::string& path);

// An advisory lock (flock) on a lock file, released by the destructor or when the process dies.
class FileLock {
 public:
  FileLock() = default;
  // Blocks until the lock is held; when another process holds it, `waiting` (if not empty) is logged first.
  FileLock(const std::string& path, bool exclusive, const std::string& waiting = "");
  ~FileLock();
  FileLock(FileLock&& o) noexcept = default;
  FileLock& operator=(FileLock&& o) noexcept = default;
  // Non-blocking attempt; false when someone else holds it.
  static bool try_lock(const std::string& path, bool exclusive, FileLock* out);
  bool held() const { return static_cast<bool>(fd_); }

 private:
  Fd fd_;
};

// Bytes available to an unprivileged user on the filesystem holding `dir`.
uint64_t free_space(const std::string& dir);
// Throws DiskFullError when `needed` bytes (plus a small reserve) do not fit in `available`.
void check_free_space(uint64_t needed, uint64_t available, const std::string& dir);

// "1.2 GB", "340 MB", "12 KB", "17 B" (decimal units, like the registries show).
std::string human_size(uint64_t bytes);

}  // namespace hearth::store
