#include "fs/disk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <system_error>
#include <utility>

#include "fs/glob.hpp"
#include "util/random.hpp"

namespace dragon::fs {

namespace {

constexpr std::uint64_t k_resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

int sys_openat2(int dirfd, const char* path, int flags, std::uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
}

// Closes on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd >= 0) ::close(fd);
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  explicit operator bool() const { return fd >= 0; }
};

Clock::time_point mtime_of(const struct stat& st) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                       std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

// "/a/b/c" -> ("a/b", "c")
std::pair<std::string, std::string> split_parent(const std::string& clean) {
  const auto slash = clean.rfind('/');
  return {clean.substr(1, slash == 0 ? 0 : slash - 1), clean.substr(slash + 1)};
}

WriteResult write_error(int err) {
  WriteResult r;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      r.error = WriteError::NoSpace;
      r.message = "not enough space on device";
      break;
    case EFBIG:
      r.error = WriteError::TooBig;
      r.message = "File is too big";
      break;
    case ENAMETOOLONG:
    case ENOTDIR:
    case EISDIR:
    case EXDEV:
    case ELOOP:
    case EEXIST:
      r.error = WriteError::InvalidPath;
      r.message = std::string("invalid path: ") + std::strerror(err);
      break;
    default:
      r.error = WriteError::Io;
      r.message = std::strerror(err);
  }
  return r;
}

}  // namespace

DiskFilesystem::DiskFilesystem(std::string name, std::string root, DiskOptions options)
    : name_(std::move(name)), opt_(options) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  auto abs = std::filesystem::absolute(root, ec);
  root_ = (ec ? std::filesystem::path(root) : abs).lexically_normal().string();
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw std::system_error(errno, std::generic_category(), "disk filesystem root \"" + root_ + "\"");
  // Probe once: ENOSYS on old kernels, EPERM under seccomp profiles that predate openat2.
  const int probe = sys_openat2(root_fd_, ".", O_PATH | O_DIRECTORY, k_resolve);
  if (probe >= 0) {
    ::close(probe);
  } else {
    openat2_ = false;
  }
}

DiskFilesystem::~DiskFilesystem() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

int DiskFilesystem::open_beneath(const std::string& rel, int flags) const {
  const std::string p = rel.empty() ? "." : rel;
  if (openat2_) return sys_openat2(root_fd_, p.c_str(), flags, k_resolve);
  // Fallback: one component at a time, never following a symlink.
  if (rel.empty()) return ::openat(root_fd_, ".", flags | O_CLOEXEC);
  Fd dir(::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0));
  if (!dir) return -1;
  std::size_t i = 0;
  for (;;) {
    const auto j = rel.find('/', i);
    const std::string comp = rel.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (j == std::string::npos) return ::openat(dir.fd, comp.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
    Fd next(::openat(dir.fd, comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return -1;
    dir = std::move(next);
    i = j + 1;
  }
}

std::optional<FileInfo> DiskFilesystem::stat_regular(const std::string& clean) const {
  // O_PATH: never opens the data, so a FIFO cannot block us.
  Fd fd(open_beneath(clean.substr(1), O_PATH));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileInfo{clean, static_cast<std::uint64_t>(st.st_size), mtime_of(st)};
}

std::optional<FileInfo> DiskFilesystem::stat(std::string_view path) const {
  const auto p = clean_path(path);
  if (!p) return std::nullopt;
  return stat_regular(*p);
}

std::optional<FileContent> DiskFilesystem::read(std::string_view path) const {
  auto p = clean_path(path);
  if (!p) return std::nullopt;
  Fd fd(open_beneath(p->substr(1), O_PATH));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return std::nullopt;
  if (S_ISDIR(st.st_mode)) {
    p = (*p == "/" ? std::string() : *p) + "/index.html";
    if (p->size() > k_max_path) return std::nullopt;
  }
  auto info = stat_regular(*p);
  if (!info) return std::nullopt;
  FileContent c;
  c.host_path = root_ + *p;
  c.info = std::move(*info);
  return c;
}

WriteResult DiskFilesystem::write(std::string_view path, std::string data) {
  const auto p = clean_path(path);
  if (!p || *p == "/") {
    WriteResult r;
    r.error = WriteError::InvalidPath;
    r.message = "invalid path";
    return r;
  }
  const auto [parent, leaf] = split_parent(*p);
  if (leaf.starts_with(k_disk_temp_prefix)) {  // would collide with our own temp files
    WriteResult r;
    r.error = WriteError::InvalidPath;
    r.message = "invalid path: reserved name";
    return r;
  }
  // Create the parents one level at a time; each level is reopened beneath the root, so a symlinked
  // directory pointing outside stops the walk.
  Fd dir(open_beneath("", O_PATH | O_DIRECTORY));
  if (!dir) return write_error(errno);
  std::size_t i = 0;
  while (i < parent.size()) {
    auto j = parent.find('/', i);
    if (j == std::string::npos) j = parent.size();
    const std::string comp = parent.substr(i, j - i);
    if (::mkdirat(dir.fd, comp.c_str(), 0755) != 0 && errno != EEXIST) return write_error(errno);
    Fd next(open_beneath(parent.substr(0, j), O_PATH | O_DIRECTORY));
    if (!next) return write_error(errno);
    dir = std::move(next);
    i = j + 1;
  }
  struct stat st {};
  bool created = true;
  if (::fstatat(dir.fd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) return write_error(EISDIR);
    created = false;
  }
  const std::string tmp = std::string(k_disk_temp_prefix) + util::random_alnum(12);
  Fd out(::openat(dir.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!out) return write_error(errno);
  auto fail = [&](int err) {
    ::unlinkat(dir.fd, tmp.c_str(), 0);
    return write_error(err);
  };
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::write(out.fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    off += static_cast<std::size_t>(n);
  }
  if (opt_.fsync && ::fsync(out.fd) != 0) return fail(errno);
  if (::close(std::exchange(out.fd, -1)) != 0) return fail(errno);
  // rename replaces a symlink at the leaf itself, never what it points to.
  if (::renameat(dir.fd, tmp.c_str(), dir.fd, leaf.c_str()) != 0) return fail(errno);
  WriteResult r;
  r.created = created;
  return r;
}

bool DiskFilesystem::remove(std::string_view path) {
  const auto p = clean_path(path);
  if (!p || *p == "/") return false;
  const auto [parent, leaf] = split_parent(*p);
  Fd dir(open_beneath(parent, O_PATH | O_DIRECTORY));
  if (!dir) return false;
  struct stat st {};
  if (::fstatat(dir.fd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)) return false;
  return ::unlinkat(dir.fd, leaf.c_str(), 0) == 0;
}

std::vector<FileInfo> DiskFilesystem::list(std::string_view glob) const {
  std::optional<Glob> g;
  if (!glob.empty()) {
    g = Glob::compile(glob);
    if (!g) return {};
  }
  std::vector<FileInfo> out;
  // Breadth-first over relative paths, one directory fd open at a time; symlinks are not followed.
  std::deque<std::string> pending{""};
  while (!pending.empty()) {
    const std::string rel = std::move(pending.front());
    pending.pop_front();
    const int fd = open_beneath(rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0) continue;
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      continue;
    }
    while (const dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string child = rel.empty() ? std::string(n) : rel + "/" + std::string(n);
      if (S_ISDIR(st.st_mode)) {
        if (child.size() < k_max_path) pending.push_back(std::move(child));
      } else if (S_ISREG(st.st_mode) && !n.starts_with(k_disk_temp_prefix)) {
        std::string name = "/" + child;
        if (g && !g->match(name)) continue;
        out.push_back({std::move(name), static_cast<std::uint64_t>(st.st_size), mtime_of(st)});
      }
    }
    ::closedir(d);
  }
  return out;
}

Usage DiskFilesystem::usage() const {
  Usage u;
  for (const auto& f : list()) {
    ++u.files;
    u.bytes += f.size;
  }
  return u;
}

}  // namespace dragon::fs
