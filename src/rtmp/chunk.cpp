#include "rtmp/chunk.hpp"

#include <algorithm>
#include <cstring>

namespace dragon::rtmp {

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint32_t read_be24(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}

namespace {

void put_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
void put_be24(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 16);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v);
}

constexpr std::size_t k_message_header_size[4] = {11, 7, 3, 0};
constexpr std::uint32_t k_extended_marker = 0xFFFFFF;
constexpr std::size_t k_initial_reserve = 64 * 1024;

// Basic header bytes for `fmt` and `csid` into p; returns its length.
std::uint8_t basic_header(std::uint8_t* p, unsigned fmt, std::uint32_t csid) {
  if (csid < 64) {
    p[0] = static_cast<std::uint8_t>((fmt << 6) | csid);
    return 1;
  }
  if (csid < 320) {
    p[0] = static_cast<std::uint8_t>(fmt << 6);
    p[1] = static_cast<std::uint8_t>(csid - 64);
    return 2;
  }
  p[0] = static_cast<std::uint8_t>((fmt << 6) | 1);
  p[1] = static_cast<std::uint8_t>((csid - 64) & 0xFF);
  p[2] = static_cast<std::uint8_t>((csid - 64) >> 8);
  return 3;
}

}  // namespace

// ---- reader --------------------------------------------------------------------------------------------

ChunkReader::ChunkReader(ChunkLimits limits) : limits_(limits) {
  streams_.reserve(std::min<std::size_t>(limits_.max_chunk_streams, 8));  // grows on demand up to the limit
}

bool ChunkReader::fail(std::string why) {
  error_ = std::move(why);
  current_ = nullptr;
  return false;
}

ChunkReader::Stream* ChunkReader::stream(std::uint32_t csid) {
  for (auto& s : streams_)
    if (s.csid == csid) return &s;
  return nullptr;
}

void ChunkReader::deliver(Stream& s, std::vector<Message>& out) {
  Message m;
  m.type = s.type;
  m.stream_id = s.stream_id;
  m.timestamp = s.timestamp;
  m.csid = s.csid;
  m.payload = std::move(s.buffer);
  s.buffer.reset();
  s.received = 0;
  if (m.type == k_set_chunk_size) {
    if (m.payload->size() < 4) {
      fail("Set Chunk Size message shorter than 4 bytes");
      return;
    }
    const std::uint32_t size = read_be32(m.payload->data()) & 0x7FFFFFFF;
    if (size == 0) {
      fail("Set Chunk Size to 0");
      return;
    }
    if (size > limits_.max_chunk_size) {
      fail("Set Chunk Size " + std::to_string(size) + " exceeds the limit of " +
           std::to_string(limits_.max_chunk_size));
      return;
    }
    chunk_size_ = size;
  } else if (m.type == k_abort) {
    if (m.payload->size() < 4) {
      fail("Abort message shorter than 4 bytes");
      return;
    }
    if (Stream* a = stream(read_be32(m.payload->data()))) {
      a->buffer.reset();
      a->received = 0;
    }
  }
  out.push_back(std::move(m));
}

std::size_t ChunkReader::feed(std::span<const std::uint8_t> in, std::vector<Message>& out) {
  std::size_t used = 0;
  while (!failed()) {
    if (current_) {
      const std::size_t n = std::min<std::size_t>(chunk_left_, in.size() - used);
      if (n == 0) break;
      current_->buffer->insert(current_->buffer->end(), in.begin() + static_cast<std::ptrdiff_t>(used),
                               in.begin() + static_cast<std::ptrdiff_t>(used + n));
      used += n;
      chunk_left_ -= static_cast<std::uint32_t>(n);
      current_->received += static_cast<std::uint32_t>(n);
      if (chunk_left_ == 0) {
        Stream* s = current_;
        current_ = nullptr;
        if (s->received == s->length) deliver(*s, out);
      }
      continue;
    }

    // A chunk header: parse it completely before changing any state.
    const std::size_t avail = in.size() - used;
    if (avail == 0) break;
    const std::uint8_t* p = in.data() + used;
    const unsigned fmt = p[0] >> 6;
    std::uint32_t csid = p[0] & 0x3F;
    std::size_t need = 1;
    if (csid == 0) {
      need = 2;
      if (avail < need) break;
      csid = 64 + p[1];
    } else if (csid == 1) {
      need = 3;
      if (avail < need) break;
      csid = 64 + p[1] + (std::uint32_t{p[2]} << 8);
    }
    const std::size_t mh = need;
    need += k_message_header_size[fmt];
    if (avail < need) break;

    Stream* s = stream(csid);
    if (fmt != 0 && (!s || !s->has_header)) {
      fail("chunk of fmt " + std::to_string(fmt) + " on chunk stream " + std::to_string(csid) +
           " without a previous message header");
      break;
    }
    std::uint32_t field = 0, length = 0, stream_id = 0;
    std::uint8_t type = 0;
    const std::uint8_t* h = p + mh;
    if (fmt <= 2) field = read_be24(h);
    if (fmt <= 1) {
      length = read_be24(h + 3);
      type = h[6];
    }
    if (fmt == 0) stream_id = std::uint32_t{h[7]} | (std::uint32_t{h[8]} << 8) | (std::uint32_t{h[9]} << 16) |
                              (std::uint32_t{h[10]} << 24);
    const bool ext = fmt <= 2 ? field == k_extended_marker : s->extended;
    if (ext) {
      need += 4;
      if (avail < need) break;
      field = read_be32(p + need - 4);
    }

    if (!s) {
      if (streams_.size() >= limits_.max_chunk_streams) {
        fail("more than " + std::to_string(limits_.max_chunk_streams) + " chunk streams in use");
        break;
      }
      streams_.push_back(Stream{});
      s = &streams_.back();
      s->csid = csid;
    }
    used += need;

    const bool continuation = fmt == 3 && s->buffer;
    if (!continuation) {
      if (s->buffer) {
        fail("new message header on chunk stream " + std::to_string(csid) + " before its previous message (" +
             std::to_string(s->received) + " of " + std::to_string(s->length) + " bytes) was complete");
        break;
      }
      if (fmt == 0) {
        s->timestamp = field;
        s->ts_field = field;
        s->stream_id = stream_id;
      } else if (fmt <= 2) {
        s->timestamp += field;
        s->ts_field = field;
      } else {
        s->timestamp += s->ts_field;
      }
      if (fmt <= 1) {
        s->length = length;
        s->type = type;
      }
      if (fmt <= 2) s->extended = ext;
      s->has_header = true;
      if (s->length > limits_.max_message_size) {
        fail("message of " + std::to_string(s->length) + " bytes on chunk stream " + std::to_string(csid) +
             " exceeds the limit of " + std::to_string(limits_.max_message_size));
        break;
      }
      s->buffer = std::make_shared<std::vector<std::uint8_t>>();
      s->buffer->reserve(std::min<std::size_t>(s->length, k_initial_reserve));
      s->received = 0;
    }
    chunk_left_ = std::min(chunk_size_, s->length - s->received);
    if (chunk_left_ == 0) {
      deliver(*s, out);  // a message of length 0
    } else {
      current_ = s;
    }
  }
  return used;
}

// ---- writer --------------------------------------------------------------------------------------------

namespace {

ChunkHeaders make_headers(unsigned fmt, std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id,
                          std::uint32_t field, std::uint32_t length) {
  ChunkHeaders h;
  const bool ext = field >= k_extended_marker;
  std::uint8_t* p = h.first;
  p += basic_header(p, fmt, csid);
  if (fmt <= 2) {
    put_be24(p, ext ? k_extended_marker : field);
    p += 3;
  }
  if (fmt <= 1) {
    put_be24(p, length);
    p[3] = type;
    p += 4;
  }
  if (fmt == 0) {
    p[0] = static_cast<std::uint8_t>(stream_id);
    p[1] = static_cast<std::uint8_t>(stream_id >> 8);
    p[2] = static_cast<std::uint8_t>(stream_id >> 16);
    p[3] = static_cast<std::uint8_t>(stream_id >> 24);
    p += 4;
  }
  if (ext) {
    put_be32(p, field);
    p += 4;
  }
  h.first_len = static_cast<std::uint8_t>(p - h.first);
  h.cont_len = basic_header(h.cont, 3, csid);
  if (ext) {
    put_be32(h.cont + h.cont_len, field);
    h.cont_len = static_cast<std::uint8_t>(h.cont_len + 4);
  }
  return h;
}

}  // namespace

ChunkHeaders ChunkWriter::headers(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id,
                                  std::uint32_t timestamp, std::uint32_t length) {
  Last* last = nullptr;
  for (auto& l : last_)
    if (l.csid == csid) last = &l;
  unsigned fmt = 0;
  std::uint32_t field = timestamp;
  if (last && last->stream_id == stream_id && static_cast<std::int32_t>(timestamp - last->timestamp) >= 0) {
    field = timestamp - last->timestamp;
    fmt = (last->type == type && last->length == length) ? 2 : 1;
  }
  if (!last) {
    last_.push_back(Last{csid});
    last = &last_.back();
  }
  *last = Last{csid, type, stream_id, timestamp, length};
  return make_headers(fmt, csid, type, stream_id, field, length);
}

void ChunkWriter::write_delta(std::uint32_t csid, std::uint8_t type, std::uint32_t delta,
                              std::span<const std::uint8_t> payload, std::uint32_t chunk_size,
                              std::vector<std::uint8_t>& out) {
  const auto h = make_headers(1, csid, type, 0, delta, static_cast<std::uint32_t>(payload.size()));
  serialize(h, payload, chunk_size, out);
}

bool ChunkWriter::continues_with(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id,
                                 std::uint32_t timestamp, std::uint32_t length, std::uint32_t delta,
                                 std::uint32_t chunk_size) {
  if (chunk_size != chunk_size_ || delta >= k_extended_marker) return false;
  for (auto& l : last_) {
    if (l.csid != csid) continue;
    if (l.stream_id != stream_id || timestamp - l.timestamp != delta) return false;
    l = Last{csid, type, stream_id, timestamp, length};
    return true;
  }
  return false;
}

void ChunkWriter::serialize(const ChunkHeaders& h, std::span<const std::uint8_t> payload, std::uint32_t chunk_size,
                            std::vector<std::uint8_t>& out) {
  out.insert(out.end(), h.first, h.first + h.first_len);
  std::size_t off = 0;
  do {
    if (off) out.insert(out.end(), h.cont, h.cont + h.cont_len);
    const std::size_t n = std::min<std::size_t>(chunk_size, payload.size() - off);
    out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
               payload.begin() + static_cast<std::ptrdiff_t>(off + n));
    off += n;
  } while (off < payload.size());
}

void ChunkWriter::write(std::uint32_t csid, std::uint8_t type, std::uint32_t stream_id, std::uint32_t timestamp,
                        std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
  const auto h = headers(csid, type, stream_id, timestamp, static_cast<std::uint32_t>(payload.size()));
  serialize(h, payload, chunk_size_, out);
}

std::vector<std::uint8_t> control_u32(std::uint32_t v) {
  std::vector<std::uint8_t> b(4);
  put_be32(b.data(), v);
  return b;
}

std::vector<std::uint8_t> peer_bandwidth(std::uint32_t window, std::uint8_t limit_type) {
  std::vector<std::uint8_t> b(5);
  put_be32(b.data(), window);
  b[4] = limit_type;
  return b;
}

std::vector<std::uint8_t> user_control(std::uint16_t event, std::uint32_t value) {
  std::vector<std::uint8_t> b(6);
  b[0] = static_cast<std::uint8_t>(event >> 8);
  b[1] = static_cast<std::uint8_t>(event);
  put_be32(b.data() + 2, value);
  return b;
}

}  // namespace dragon::rtmp
