#pragma once
// RTP packets as they arrive from FFmpeg: received once into a pooled buffer and shared by reference
// between the GOP cache, the retransmission history and every viewer's send path. Everything that
// touches a packet runs on the WebRTC loop's thread, so the reference count is a plain integer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace dragon::webrtc {

class PacketPool;

struct Packet {
  static constexpr std::size_t k_capacity = 1500;
  std::uint8_t data[k_capacity];
  std::size_t size = 0;
  // Parsed once at ingest.
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::size_t header_size = 0;
  bool keyframe_start = false;  // first packet of an access unit that holds an IDR
  bool param_sets = false;      // carries SPS or PPS
  std::uint32_t epoch = 0;      // source generation (a new FFmpeg run starts a new one)
  int refs = 0;
  PacketPool* pool = nullptr;
};

class PacketRef {
 public:
  PacketRef() = default;
  explicit PacketRef(Packet* p) : p_(p) {
    if (p_) ++p_->refs;
  }
  PacketRef(const PacketRef& o) : p_(o.p_) {
    if (p_) ++p_->refs;
  }
  PacketRef(PacketRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  PacketRef& operator=(PacketRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~PacketRef() { reset(); }
  void reset();
  Packet* get() const { return p_; }
  Packet* operator->() const { return p_; }
  Packet& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  Packet* p_ = nullptr;
};

// Keeps released buffers for reuse: after warm-up, receiving a packet allocates nothing.
class PacketPool {
 public:
  PacketPool() = default;
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;
  ~PacketPool() {
    for (Packet* p : free_) delete p;
  }
  PacketRef acquire() {
    Packet* p;
    if (free_.empty()) {
      p = new Packet();
      p->pool = this;
      ++allocated_;
    } else {
      p = free_.back();
      free_.pop_back();
    }
    p->size = 0;
    p->keyframe_start = p->param_sets = false;
    return PacketRef(p);
  }
  void release(Packet* p) {
    if (free_.size() < k_max_free) {
      free_.push_back(p);
    } else {
      delete p;
      --allocated_;
    }
  }
  std::size_t allocated() const { return allocated_; }

 private:
  static constexpr std::size_t k_max_free = 16384;
  std::vector<Packet*> free_;
  std::size_t allocated_ = 0;
};

inline void PacketRef::reset() {
  if (p_ && --p_->refs == 0) p_->pool->release(p_);
  p_ = nullptr;
}

}  // namespace dragon::webrtc
