#pragma once
// The RTMP chunk stream (RTMP 1.0 spec §5.3): a reader that reassembles messages from interleaved chunks
// and a writer that splits messages into chunks. Pure byte code, no sockets.
//
// Reader
// - basic header of 1, 2 or 3 bytes (chunk stream ids 2..65599), message header fmt 0/1/2/3, the extended
//   timestamp (also on fmt 3 chunks whose chunk stream's last header carried one, as the spec and FFmpeg
//   do), per-chunk-stream state, messages of several chunk streams interleaved.
// - fmt 0 timestamps are absolute; fmt 1/2 add a delta; a fmt 3 chunk that starts a new message adds the
//   last header's timestamp field again (FFmpeg's reading).
// - Set Chunk Size (type 1) and Abort (type 2) take effect at once inside the reader (and are reported
//   too); every other message, control ones included, goes to the caller.
// - Limits: message length, chunk streams in use, chunk size; a violation is an error that names what was
//   wrong, and the reader stays failed (the connection is to be closed).
// The reader consumes whole headers only (it needs at most 18 bytes of a header at once) and any part of
// a chunk's payload, so the caller's buffer never has to hold more than a header's bytes between reads.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dragon::rtmp {

// Message type ids (spec §5.4, §7.1).
enum MessageType : std::uint8_t {
  k_set_chunk_size = 1,
  k_abort = 2,
  k_acknowledgement = 3,
  k_user_control = 4,
  k_window_ack_size = 5,
  k_set_peer_bandwidth = 6,
  k_audio = 8,
  k_video = 9,
  k_data_amf3 = 15,
  k_shared_object_amf3 = 16,
  k_command_amf3 = 17,
  k_data_amf0 = 18,
  k_shared_object_amf0 = 19,
  k_command_amf0 = 20,
  k_aggregate = 22,
};

// User control event types (spec §7.1.7).
enum UserControlEvent : std::uint16_t {
  k_stream_begin = 0,
  k_stream_eof = 1,
  k_stream_dry = 2,
  k_set_buffer_length = 3,
  k_stream_is_recorded = 4,
  k_ping_request = 6,
  k_ping_response = 7,
};

using Payload = std::shared_ptr<std::vector<std::uint8_t>>;

struct Message {
  std::uint8_t type = 0;
  std::uint32_t stream_id = 0;   // message stream id
  std::uint32_t timestamp = 0;   // absolute, milliseconds (wraps at 2^32)
  std::uint32_t csid = 0;        // chunk stream it arrived on
  Payload payload;               // never null for a delivered message
  std::span<const std::uint8_t> bytes() const { return {payload->data(), payload->size()}; }
};

struct ChunkLimits {
  std::uint32_t max_message_size = 16u << 20;  // bytes
  std::uint32_t max_chunk_size = 16u << 20;    // largest Set Chunk Size accepted (spec allows 0x7FFFFFFF)
  std::size_t max_chunk_streams = 64;          // chunk stream ids with state at once
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkLimits limits = {});

  // Parses what it can of `in`; complete messages are appended to `out`. Returns the bytes consumed
  // (the rest is an incomplete header: feed it again with more bytes appended). On a protocol error
  // failed() turns true, error() says why and nothing more is consumed.
  std::size_t feed(std::span<const std::uint8_t> in, std::vector<Message>& out);

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  std::uint32_t chunk_size() const { return chunk_size_; }
  std::size_t chunk_streams() const { return streams_.size(); }

 private:
  struct Stream {
    std::uint32_t csid = 0;
    bool has_header = false;
    std::uint8_t type = 0;
    std::uint32_t stream_id = 0;
    std::uint32_t length = 0;
    std::uint32_t timestamp = 0;     // of the message being read (or the last one)
    std::uint32_t ts_field = 0;      // last header's timestamp field (absolute for fmt 0, else delta)
    bool extended = false;           // the last header carried an extended timestamp
    Payload buffer;                  // message being assembled; null between messages
    std::uint32_t received = 0;
  };
  Stream* stream(std::uint32_t csid);
  bool fail(std::string why);
  void deliver(Stream& s, std::vector<Message>& out);

  ChunkLimits limits_;
  std::uint32_t chunk_size_ = 128;
  std::vector<Stream> streams_;
  Stream* current_ = nullptr;      // set while a chunk's payload is being read
  std::uint32_t chunk_left_ = 0;   // payload bytes of the current chunk still to read
  std::string error_;
};

// Header bytes of one message as chunks: the first chunk's header and the (identical) header of every
// continuation chunk. Combined with the payload by serialize() or, without copying it, by the caller
// (e.g. scatter/gather writes of one shared payload to many players).
struct ChunkHeaders {
  std::uint8_t first[18] = {};
  std::uint8_t first_len = 0;
  std::uint8_t cont[7] = {};
  std::uint8_t cont_len = 0;
};

class ChunkWriter {
 public:
  // Out chunk size; announce it to the peer (Set Chunk Size) before the next message is written.
  void set_chunk_size(std::uint32_t size) { chunk_size_ = size; }
  std::uint32_t chunk_size() const { return chunk_size_; }

  // Headers for the next message on chunk stream `csid` (2..65599). Uses fmt 1/2 (timestamp delta) when
  // the chunk stream's previous message allows, fmt 0 otherwise. Headers must go out in the order this is
  // called.
  ChunkHeaders headers(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id, std::uint32_t timestamp,
                       std::uint32_t length);
  // headers() plus the payload, appended to `out`.
  void write(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id, std::uint32_t timestamp,
             std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
  // Chunk `payload` with `h` at `chunk_size` into `out`.
  static void serialize(const ChunkHeaders& h, std::span<const std::uint8_t> payload, std::uint32_t chunk_size,
                        std::vector<std::uint8_t>& out);

  // A message as chunks whose first header is fmt 1 with the timestamp delta `delta` (below 0xFFFFFF, so
  // never extended): bytes that do not depend on the peer, for every peer whose previous message on
  // `csid` carried the same stream id and lay `delta` before (see continues_with). Appended to `out`.
  static void write_delta(std::uint32_t csid, std::uint8_t type, std::uint32_t delta,
                          std::span<const std::uint8_t> payload, std::uint32_t chunk_size,
                          std::vector<std::uint8_t>& out);
  // Whether a message made by write_delta(csid, type, delta, <length bytes>, chunk_size) means `timestamp`
  // and `stream_id` to this peer. If so it is recorded as written (it must then be written in order, as
  // headers()'s output); if not nothing changes and the caller uses headers().
  bool continues_with(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id, std::uint32_t timestamp,
                      std::uint32_t length, std::uint32_t delta, std::uint32_t chunk_size);

 private:
  struct Last {
    std::uint32_t csid = 0;
    std::uint8_t type = 0;
    std::uint32_t stream_id = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t length = 0;
  };
  std::uint32_t chunk_size_ = 128;
  std::vector<Last> last_;
};

// Control message payloads (big-endian).
std::vector<std::uint8_t> control_u32(std::uint32_t v);                 // Set Chunk Size, Ack, Window Ack Size
std::vector<std::uint8_t> peer_bandwidth(std::uint32_t window, std::uint8_t limit_type);
std::vector<std::uint8_t> user_control(std::uint16_t event, std::uint32_t value);

std::uint32_t read_be32(const std::uint8_t* p);
std::uint32_t read_be24(const std::uint8_t* p);

}  // namespace dragon::rtmp
