#pragma once
// Exclusive ownership of a path between processes: an flock(2) on a lock file holding the
// owner's PID. The kernel releases the lock when its process ends, however it ends (kill -9
// included), so a dead owner never leaves a lock that blocks the next process.

#include <optional>
#include <string>

namespace pft {

class FileLock {
 public:
  /// Takes the lock on `path` (created when missing; its folder must exist) without waiting.
  /// When another process holds it: pft::Error (Usage, exit 2) "`what`: in use by process
  /// PID (lock file PATH)". `remove_on_release`: unlink the file when the lock is released
  /// (for a lock file beside what it guards).
  static FileLock acquire(const std::string& path, const std::string& what,
                          bool remove_on_release = false);

  /// The PID written by the process that holds the lock on `path` now, or nullopt when the
  /// file does not exist or nobody holds it. Takes and drops the lock to find out; never
  /// creates the file.
  static std::optional<long> holder(const std::string& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, int fd, bool remove_on_release)
      : path_(std::move(path)), fd_(fd), remove_on_release_(remove_on_release) {}
  void release();

  std::string path_;
  int fd_ = -1;
  bool remove_on_release_ = false;
};

}  // namespace pft
