#include "net/loop_pool.hpp"

#include <pthread.h>

#include <string>

#include "log/log.hpp"

namespace dragon::net {

LoopPool::LoopPool(std::size_t loops, std::size_t blocking_threads) {
  if (loops == 0) loops = 1;
  for (std::size_t i = 0; i < loops; ++i) {
    // concurrency hint 1: each io_context is run by exactly one thread, so Asio skips its locking.
    loops_.push_back(std::make_unique<asio::io_context>(1));
  }
  blocking_ = std::make_unique<asio::thread_pool>(blocking_threads == 0 ? 1 : blocking_threads);
}

LoopPool::~LoopPool() { stop(); }

void LoopPool::start() {
  if (running_) return;
  running_ = true;
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    guards_.emplace_back(asio::make_work_guard(*loops_[i]));
    threads_.emplace_back([this, i] {
      const std::string name = "loop-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      for (;;) {
        try {
          loops_[i]->run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep the loop serving the others.
          log::error("Loop", "Unhandled exception in event loop", {{"loop", i}, {"error", e.what()}});
        }
      }
    });
  }
}

void LoopPool::stop() {
  if (!running_) return;
  running_ = false;
  guards_.clear();
  for (auto& l : loops_) l->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (blocking_) {
    blocking_->stop();
    blocking_->join();
  }
}

asio::io_context& LoopPool::next() { return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]; }

}  // namespace dragon::net
