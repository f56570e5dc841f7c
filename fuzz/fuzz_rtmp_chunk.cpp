// The chunk stream after the handshake, fed in pieces as a socket would deliver it. The reader must
// never consume more than given, keep at most one header's bytes unconsumed, and every message it
// delivers must survive our writer and read back identically. Commands and data go through the AMF0
// decoder, media through the hub (classification, GOP cache, fan-out) as the server does.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rtmp/amf0.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/hub.hpp"

using namespace dragon::rtmp;

namespace {

class Sink : public Subscriber {
 public:
  std::size_t queued_bytes() const override { return queued; }
  void deliver(const PacketRef& p, std::uint32_t) override {
    queued += p->size();
    if (queued > 4096) queued = 0;  // drains now and then
  }
  void publisher_gone() override {}
  std::size_t queued = 0;
};

// Set Chunk Size and Abort change the reader's state: they are not part of the round trip.
bool round_trips(const Message& m) { return m.type != k_set_chunk_size && m.type != k_abort; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + data[0] * 7;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  const ChunkLimits limits{.max_message_size = 1 << 20, .max_chunk_size = 1 << 20, .max_chunk_streams = 16};
  ChunkReader reader(limits);
  std::vector<Message> messages;
  std::vector<std::uint8_t> pending;
  for (std::size_t off = 0; off < in.size() && !reader.failed(); off += step) {
    const std::size_t n = std::min(step, in.size() - off);
    pending.insert(pending.end(), in.begin() + static_cast<std::ptrdiff_t>(off),
                   in.begin() + static_cast<std::ptrdiff_t>(off + n));
    const std::size_t used = reader.feed(pending, messages);
    if (used > pending.size()) __builtin_trap();
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
    if (!reader.failed() && pending.size() > 18) __builtin_trap();  // only an incomplete header is left
  }

  Hub hub(ChannelOptions{.cache_max_bytes = 1 << 16, .player_queue_bytes = 1 << 12});
  auto channel = hub.publish("/fuzz", "fuzzer");
  Sink a, b;
  channel->add_player(&a);
  ChunkWriter writer;
  writer.set_chunk_size(64);
  std::vector<std::uint8_t> wire;
  for (const auto& m : messages) {
    if (!m.payload) __builtin_trap();
    if (m.payload->size() > limits.max_message_size) __builtin_trap();
    if (m.type == k_command_amf0 || m.type == k_data_amf0) (void)amf0::decode_all(m.bytes());
    if (m.type == k_audio || m.type == k_video) channel->publish(make_packet(m.type, m.timestamp, m.payload));
    if (round_trips(m)) writer.write(m.csid, m.type, m.stream_id, m.timestamp, m.bytes(), wire);
  }
  channel->add_player(&b);
  hub.unpublish(channel);

  // Our own chunking of those messages reads back identically.
  ChunkReader back(ChunkLimits{.max_message_size = 1 << 20, .max_chunk_size = 1 << 20, .max_chunk_streams = 1 << 20});
  std::vector<std::uint8_t> set_size = {0x02, 0, 0, 0, 0, 0, 4, k_set_chunk_size, 0, 0, 0, 0, 0, 0, 0, 64};
  std::vector<Message> ignored, again;
  back.feed(set_size, ignored);
  if (back.feed(wire, again) != wire.size() || back.failed()) __builtin_trap();
  std::size_t j = 0;
  for (const auto& m : messages) {
    if (!round_trips(m)) continue;
    if (j >= again.size()) __builtin_trap();
    const auto& r = again[j++];
    if (r.type != m.type || r.stream_id != m.stream_id || r.timestamp != m.timestamp || *r.payload != *m.payload)
      __builtin_trap();
  }
  return 0;
}
