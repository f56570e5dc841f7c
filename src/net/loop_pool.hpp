#pragma once
// Event loops: one io_context per thread (one per core by default). A connection or a stream lives on
// one loop for its whole life, so its state needs no locks; other loops post to it.
// Blocking work (waiting for a child process, disk walks) goes to a separate small thread pool.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <utility>  // Boost 1.74's asio headers need std::exchange declared first

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

namespace dragon::net {

namespace asio = boost::asio;

class LoopPool {
 public:
  explicit LoopPool(std::size_t loops, std::size_t blocking_threads = 4);
  ~LoopPool();
  LoopPool(const LoopPool&) = delete;
  LoopPool& operator=(const LoopPool&) = delete;

  void start();
  // Stops the loops and joins their threads (pending handlers are dropped).
  void stop();

  asio::io_context& next();  // round robin
  asio::io_context& loop(std::size_t i) { return *loops_[i]; }
  std::size_t size() const { return loops_.size(); }
  asio::thread_pool& blocking() { return *blocking_; }

 private:
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<asio::thread_pool> blocking_;
  std::atomic<std::size_t> next_{0};
  bool running_ = false;
};

}  // namespace dragon::net
