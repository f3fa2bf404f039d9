#include "pft/util/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "pft/util/error.h"

namespace pft {
namespace {

// The PID a lock file holds ("1234\n"), or an empty string.
std::string pid_in(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Whether `fd` still is the file at `path` (a releasing owner may have unlinked it between
// our open and our flock; a lock on the unlinked file would guard nothing).
bool same_file(int fd, const std::string& path) {
  struct stat opened {
  }, named{};
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
         opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace

FileLock FileLock::acquire(const std::string& path, const std::string& what,
                           bool remove_on_release) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw Error(ErrorKind::Config,
                  what + ": cannot create the lock file " + path + ": " + std::strerror(errno));
    }
    int err = 0;
    for (int tries = 0; tries < 5; ++tries) {  // a holder() probe keeps it for microseconds
      err = ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
      if (err != EWOULDBLOCK) break;
      ::usleep(20000);
    }
    if (err != 0) {
      const std::string pid = pid_in(fd);
      ::close(fd);
      if (err == EWOULDBLOCK) {
        throw Error(ErrorKind::Usage,
                    what + ": in use by process " + (pid.empty() ? std::string("(unknown)") : pid) +
                        " (lock file " + path + "); wait for it to end, or stop it");
      }
      throw Error(ErrorKind::Runtime, path + ": cannot lock: " + std::strerror(err));
    }
    if (!same_file(fd, path)) {  // unlinked by its previous owner: try the new file
      ::close(fd);
      continue;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorKind::Runtime, path + ": cannot write the lock file: " + std::strerror(err));
    }
    return FileLock(path, fd, remove_on_release);
  }
  throw Error(ErrorKind::Runtime, path + ": the lock file keeps being replaced");
}

std::optional<long> FileLock::holder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<long> out;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    const std::string pid = pid_in(fd);
    out = pid.empty() ? -1L : std::strtol(pid.c_str(), nullptr, 10);
  }
  ::close(fd);  // drops the lock if we took it
  return out;
}

FileLock::FileLock(FileLock&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      remove_on_release_(other.remove_on_release_) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    remove_on_release_ = other.remove_on_release_;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ < 0) return;
  if (remove_on_release_) ::unlink(path_.c_str());  // still ours: unlinked before the unlock
  ::close(fd_);
  fd_ = -1;
}

}  // namespace pft
