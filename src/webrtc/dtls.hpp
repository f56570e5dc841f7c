#pragma once
// DTLS 1.2 for WebRTC (RFC 5763/5764) on OpenSSL 3: the server certificate (one per server,
// ECDSA P-256, its SHA-256 fingerprint goes into every answer) and one DtlsTransport per viewer.
// The transport never touches a socket: datagrams come in through on_datagram() and go out through
// the Listener, so ICE, DTLS and SRTP stay independent of each other (mediasoup's split).
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::webrtc {

// The SRTP protection profiles we negotiate, in our order of preference (GCM is 4x cheaper).
enum class SrtpProfile { AeadAes128Gcm, AeadAes256Gcm, Aes128CmSha1_80 };
std::string_view srtp_profile_name(SrtpProfile p);

struct SrtpKeys {
  SrtpProfile profile = SrtpProfile::Aes128CmSha1_80;
  std::vector<std::uint8_t> local_key_salt;   // master key || master salt for what we send
  std::vector<std::uint8_t> remote_key_salt;  // for what we receive
};

class DtlsCertificate {
 public:
  // A fresh self-signed certificate, valid from yesterday for 30 days. Throws on OpenSSL failure.
  static std::shared_ptr<DtlsCertificate> generate(std::string_view common_name = "dragon-core");
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  const std::string& fingerprint_sha256() const { return fingerprint_; }  // "AB:CD:…"
  SSL_CTX* server_context() const { return server_ctx_; }
  SSL_CTX* client_context() const { return client_ctx_; }

 private:
  DtlsCertificate() = default;
  SSL_CTX* server_ctx_ = nullptr;
  SSL_CTX* client_ctx_ = nullptr;
  std::string fingerprint_;
};

// Hex fingerprint with colons of a certificate for "sha-256", "sha-1", "sha-384", "sha-512".
std::optional<std::string> certificate_fingerprint(X509* cert, std::string_view algorithm);

class DtlsTransport {
 public:
  enum class Role { Server, Client };
  enum class State { New, Connecting, Connected, Failed, Closed };

  struct Listener {
    virtual ~Listener() = default;
    virtual void on_dtls_send(std::span<const std::uint8_t> datagram) = 0;
    virtual void on_dtls_connected(const SrtpKeys& keys) = 0;
    virtual void on_dtls_failed(std::string_view why) = 0;
    virtual void on_dtls_closed() = 0;
  };

  // expected_fingerprint: the peer's a=fingerprint (algorithm + value), checked after the handshake.
  DtlsTransport(const DtlsCertificate& cert, Role role, Listener& listener, std::string expected_algorithm,
                std::string expected_fingerprint);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Client role: sends the ClientHello. The server waits for one.
  void start();
  // A datagram whose first byte is 20..63 (RFC 7983).
  void on_datagram(std::span<const std::uint8_t> datagram);
  // Handshake retransmission; call when next_timeout() has passed.
  void on_timer();
  // When on_timer() is next due; nullopt when no handshake timer runs.
  std::optional<std::chrono::steady_clock::time_point> next_timeout() const;
  // Sends close_notify once.
  void close();

  State state() const { return state_; }

  // Datagrams handed to on_dtls_send() while OpenSSL writes (one BIO write = one datagram).
  void deliver_outgoing(std::span<const std::uint8_t> bytes) { listener_.on_dtls_send(bytes); }

 private:
  void drive();  // handshake progress, reads after connect
  void fail(std::string why);
  void finish_handshake();

  Role role_;
  Listener& listener_;
  std::string expected_algorithm_;
  std::string expected_fingerprint_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;  // memory BIO fed with received datagrams
  State state_ = State::New;
};

}  // namespace dragon::webrtc
