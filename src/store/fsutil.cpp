#include "store/fsutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

namespace hearth::store {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSPC || errno == EDQUOT)
        throw DiskFullError(fmt::format("disk full while writing {}: free some space and try again", path));
      fail("cannot write {}: {}", path, std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void fsync_or_fail(int fd, const std::string& path) {
  if (::fsync(fd) != 0) {
    if (errno == ENOSPC || errno == EDQUOT)
      throw DiskFullError(fmt::format("disk full while writing {}: free some space and try again", path));
    fail("cannot sync {}: {}", path, std::strerror(errno));
  }
}

void fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());  // some filesystems refuse fsync on directories: nothing more to do
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create directory {}: {}", dir, ec.message());
}

std::string temp_sibling(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}();
  std::filesystem::path p(path);
  auto name =
      fmt::format(".{}.tmp-{}-{:x}-{}", p.filename().string(), ::getpid(), seed & 0xffffff, counter++);
  return (p.parent_path() / name).string();
}

void atomic_write(const std::string& path, std::string_view data) {
  const std::string tmp = temp_sibling(path);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == ENOSPC || errno == EDQUOT)
      throw DiskFullError(fmt::format("disk full: cannot create {}", tmp));
    fail("cannot create {}: {}", tmp, std::strerror(errno));
  }
  try {
    write_all(fd.get(), data.data(), data.size(), path);
    fsync_or_fail(fd.get(), path);
  } catch (...) {
    fd.reset();
    ::unlink(tmp.c_str());
    throw;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename {} to {}: {}", tmp, path, std::strerror(e));
  }
  fsync_dir(std::filesystem::path(path).parent_path().string());
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail("cannot open {}: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot stat {}: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("{} is not a regular file", path);
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    fail("{} is too large ({} bytes, at most {} expected)", path, st.st_size, max_bytes);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read {}: {}", path, std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

static int open_lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot open lock file {}: {}", path, std::strerror(errno));
  return fd;
}

FileLock::FileLock(const std::string& path, bool exclusive, const std::string& waiting) {
  Fd fd(open_lock_file(path));
  const int op = exclusive ? LOCK_EX : LOCK_SH;
  if (::flock(fd.get(), op | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) fail("cannot lock {}: {}", path, std::strerror(errno));
    if (!waiting.empty()) std::fprintf(stderr, "%s\n", waiting.c_str());
    while (::flock(fd.get(), op) != 0) {
      if (errno != EINTR) fail("cannot lock {}: {}", path, std::strerror(errno));
    }
  }
  fd_ = std::move(fd);
}

FileLock::~FileLock() {
  if (fd_) ::flock(fd_.get(), LOCK_UN);
}

bool FileLock::try_lock(const std::string& path, bool exclusive, FileLock* out) {
  Fd fd(open_lock_file(path));
  if (::flock(fd.get(), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;
    fail("cannot lock {}: {}", path, std::strerror(errno));
  }
  out->fd_ = std::move(fd);
  return true;
}

uint64_t free_space(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) fail("cannot query free space of {}: {}", dir, std::strerror(errno));
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

void check_free_space(uint64_t needed, uint64_t available, const std::string& dir) {
  constexpr uint64_t kReserve = 64ull << 20;  // keep some room for manifests and the rest of the system
  if (needed == 0) return;
  if (needed + kReserve > available)
    throw DiskFullError(fmt::format("not enough disk space in {}: the download needs {} but only {} is free",
                                    dir, human_size(needed), human_size(available)));
}

std::string human_size(uint64_t b) {
  const double v = static_cast<double>(b);
  if (b >= 1000ull * 1000 * 1000 * 1000) return fmt::format("{:.1f} TB", v / 1e12);
  if (b >= 1000ull * 1000 * 1000) return fmt::format("{:.1f} GB", v / 1e9);
  if (b >= 1000ull * 1000) return fmt::format("{:.0f} MB", v / 1e6);
  if (b >= 1000) return fmt::format("{:.0f} KB", v / 1e3);
  return fmt::format("{} B", b);
}

}  // namespace hearth::store
