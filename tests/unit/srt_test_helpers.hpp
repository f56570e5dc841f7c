#pragma once
// Helpers for the SRT server's end-to-end tests: real peers (ffmpeg, ffprobe, srt-live-transmit) run as
// children in their own process group (killed with the test), and a small libsrt caller that reports
// the exact reject reason. Waiting is always a deadline loop, never a fixed sleep.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "util/run_command.hpp"

namespace dragon::srt::testing {

using namespace std::chrono_literals;

// Generous: ffmpeg under a sanitizer-built server on a busy 2-core machine is slow; a pass returns early.
inline constexpr auto k_wait = std::chrono::seconds(30);

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = k_wait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

inline int open_fd_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n - 3;  // ".", ".." and the directory's own descriptor
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dragon-srt-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { util::run_command({"rm", "-rf", path_}); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process: own process group, SIGKILL when the test dies, stdin/stdout/stderr from/to files.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& err_path, const std::string& out_path = "/dev/null",
        const std::string& in_path = "/dev/null")
      : err_path_(err_path) {
    std::string exe = util::find_executable(argv.at(0));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int in = open(in_path.c_str(), O_RDONLY);
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) _exit(126);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      for (int fd = 3; fd < 1024; ++fd) close(fd);
      execv(exe.c_str(), args.data());
      _exit(127);
    }
    if (pid_ > 0) setpgid(pid_, pid_);
  }
  ~Child() {
    if (running()) {
      ::kill(-pid_, SIGKILL);
      wait_exit(10s);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool running() {
    if (pid_ <= 0 || done_) return false;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      done_ = true;
      status_ = st;
      ::kill(-pid_, SIGKILL);  // whatever it left in its group
      return false;
    }
    return true;
  }
  // The exit code, 128 + signal, or -1 when it is still running after the timeout.
  int wait_exit(std::chrono::milliseconds timeout = k_wait) {
    if (!wait_until([&] { return !running(); }, timeout)) return -1;
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
    return -1;
  }
  void signal(int sig) {
    if (running()) ::kill(-pid_, sig);
  }
  std::string err() const { return read_file(err_path_); }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = 0;
  std::string err_path_;
};

// A libsrt caller in this process (live mode, blocking connect).
class Caller {
 public:
  struct Options {
    std::string streamid;
    std::string passphrase;
    int rcvbuf = 0;  // bytes; 0 = libsrt's default
    std::chrono::milliseconds timeout{5000};
  };
  Caller() { srt_startup(); }
  ~Caller() {
    close();
    srt_cleanup();
  }
  Caller(const Caller&) = delete;
  Caller& operator=(const Caller&) = delete;

  // 0 when connected, else the reject reason (SRT_REJ_* / SRT_REJX_*).
  int connect(std::uint16_t port, const Options& o) {
    close();
    sock_ = srt_create_socket();
    int yes = 1, no = 0;
    int timeo = static_cast<int>(o.timeout.count());
    srt_setsockflag(sock_, SRTO_TSBPDMODE, &yes, sizeof yes);
    srt_setsockflag(sock_, SRTO_CONNTIMEO, &timeo, sizeof timeo);
    if (!o.streamid.empty()) srt_setsockflag(sock_, SRTO_STREAMID, o.streamid.data(), static_cast<int>(o.streamid.size()));
    if (!o.passphrase.empty())
      srt_setsockflag(sock_, SRTO_PASSPHRASE, o.passphrase.data(), static_cast<int>(o.passphrase.size()));
    if (o.rcvbuf > 0) {
      int fc = 32;
      srt_setsockflag(sock_, SRTO_FC, &fc, sizeof fc);
      srt_setsockflag(sock_, SRTO_RCVBUF, &o.rcvbuf, sizeof o.rcvbuf);
    }
    (void)no;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (srt_connect(sock_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == SRT_ERROR) {
      int reason = srt_getrejectreason(sock_);
      close();
      return reason == 0 ? -1 : reason;
    }
    return 0;
  }
  bool send(const char* data, int len) { return srt_sendmsg2(sock_, data, len, nullptr) == len; }
  // Blocking receive with a timeout; the message size, 0 on timeout, -1 when the connection ended.
  int recv(char* buf, int len, std::chrono::milliseconds timeout) {
    int ms = static_cast<int>(timeout.count());
    srt_setsockflag(sock_, SRTO_RCVTIMEO, &ms, sizeof ms);
    int n = srt_recvmsg2(sock_, buf, len, nullptr);
    if (n == SRT_ERROR) return srt_getlasterror(nullptr) == SRT_EASYNCRCV ? 0 : -1;
    return n;
  }
  SRTSOCKET sock() const { return sock_; }
  void close() {
    if (sock_ != SRT_INVALID_SOCK) srt_close(sock_);
    sock_ = SRT_INVALID_SOCK;
  }

 private:
  SRTSOCKET sock_ = SRT_INVALID_SOCK;
};

}  // namespace dragon::srt::testing
