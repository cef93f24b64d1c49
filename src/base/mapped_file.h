#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hearth {

// A read-only memory mapping of a whole file. Empty files map to a null pointer with size 0.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Hint the kernel about access patterns (best effort).
  void advise_sequential() const;
  void advise_willneed() const;
  // Drop this process's mapping of the whole pages inside [p, p + n) (the file's data stays in the
  // page cache; a later read maps it again). No-op for ranges outside the mapping.
  void advise_dontneed(const void* p, uint64_t n) const;

 private:
  void reset();
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
};

}  // namespace hearth
