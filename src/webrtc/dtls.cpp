#include "webrtc/dtls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace dragon::webrtc {

namespace {

constexpr int kDtlsMtu = 1200;  // keeps handshake records below a real path MTU (like our RTP)
constexpr const char* kSrtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80";
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA";

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The outgoing BIO: every write OpenSSL makes is one datagram for the listener.
int out_write(BIO* bio, const char* data, int len) {
  auto* t = static_cast<DtlsTransport*>(BIO_get_data(bio));
  if (t && len > 0) t->deliver_outgoing({reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)});
  return len;
}

long out_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return kDtlsMtu;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;
    default:
      return 0;
  }
}

int out_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* out_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dragon-dtls-out");
    BIO_meth_set_write(m, out_write);
    BIO_meth_set_ctrl(m, out_ctrl);
    BIO_meth_set_create(m, out_create);
    return m;
  }();
  return method;
}

int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }  // checked against a=fingerprint instead

SSL_CTX* make_context(bool server, X509* cert, EVP_PKEY* key) {
  SSL_CTX* ctx = SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method());
  if (!ctx) throw std::runtime_error("DTLS context: " + openssl_error());
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("DTLS certificate: " + openssl_error());
  }
  SSL_CTX_set_cipher_list(ctx, kCiphers);
  SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
  // RFC 5764: returns 0 on success.
  if (SSL_CTX_set_tlsext_use_srtp(ctx, kSrtpProfiles) != 0) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("DTLS-SRTP profiles: " + openssl_error());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_certificate);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

struct SrtpProfileInfo {
  SrtpProfile profile;
  std::size_t key;
  std::size_t salt;
};

std::optional<SrtpProfileInfo> profile_info(unsigned long id) {
  switch (id) {
    case SRTP_AEAD_AES_128_GCM:
      return SrtpProfileInfo{SrtpProfile::AeadAes128Gcm, 16, 12};
    case SRTP_AEAD_AES_256_GCM:
      return SrtpProfileInfo{SrtpProfile::AeadAes256Gcm, 32, 12};
    case SRTP_AES128_CM_SHA1_80:
      return SrtpProfileInfo{SrtpProfile::Aes128CmSha1_80, 16, 14};
    default:
      return std::nullopt;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view srtp_profile_name(SrtpProfile p) {
  switch (p) {
    case SrtpProfile::AeadAes128Gcm:
      return "SRTP_AEAD_AES_128_GCM";
    case SrtpProfile::AeadAes256Gcm:
      return "SRTP_AEAD_AES_256_GCM";
    case SrtpProfile::Aes128CmSha1_80:
      return "SRTP_AES128_CM_SHA1_80";
  }
  return "?";
}

std::optional<std::string> certificate_fingerprint(X509* cert, std::string_view algorithm) {
  const std::string algo = lower(algorithm);
  const EVP_MD* md = algo == "sha-256" ? EVP_sha256()
                     : algo == "sha-1" ? EVP_sha1()
                     : algo == "sha-384" ? EVP_sha384()
                     : algo == "sha-512" ? EVP_sha512()
                                         : nullptr;
  if (!md || !cert) return std::nullopt;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, digest, &len) != 1) return std::nullopt;
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 3);
  for (unsigned i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

std::shared_ptr<DtlsCertificate> DtlsCertificate::generate(std::string_view common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("DTLS key: " + openssl_error());
  X509* cert = X509_new();
  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial >> 1);
  X509_set_version(cert, 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), -86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 86400);
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string cn(common_name);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    X509_free(cert);
    EVP_PKEY_free(key);
    throw std::runtime_error("DTLS certificate signature: " + openssl_error());
  }
  std::shared_ptr<DtlsCertificate> c(new DtlsCertificate());
  try {
    c->server_ctx_ = make_context(true, cert, key);
    c->client_ctx_ = make_context(false, cert, key);
  } catch (...) {
    X509_free(cert);
    EVP_PKEY_free(key);
    throw;
  }
  c->fingerprint_ = certificate_fingerprint(cert, "sha-256").value_or("");
  X509_free(cert);  // the contexts hold their own references
  EVP_PKEY_free(key);
  return c;
}

DtlsCertificate::~DtlsCertificate() {
  SSL_CTX_free(server_ctx_);
  SSL_CTX_free(client_ctx_);
}

DtlsTransport::DtlsTransport(const DtlsCertificate& cert, Role role, Listener& listener, std::string expected_algorithm,
                             std::string expected_fingerprint)
    : role_(role),
      listener_(listener),
      expected_algorithm_(std::move(expected_algorithm)),
      expected_fingerprint_(std::move(expected_fingerprint)) {
  ssl_ = SSL_new(role == Role::Server ? cert.server_context() : cert.client_context());
  if (!ssl_) throw std::runtime_error("DTLS session: " + openssl_error());
  in_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // empty means "retry", not EOF
  BIO* out = BIO_new(out_method());
  BIO_set_data(out, this);
  SSL_set_bio(ssl_, in_, out);  // the SSL owns both
  SSL_set_mtu(ssl_, kDtlsMtu);
  DTLS_set_link_mtu(ssl_, kDtlsMtu);
  if (role == Role::Server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

DtlsTransport::~DtlsTransport() {
  if (ssl_) SSL_free(ssl_);
}

void DtlsTransport::start() {
  if (state_ != State::New) return;
  state_ = State::Connecting;
  if (role_ == Role::Client) drive();
}

void DtlsTransport::on_datagram(std::span<const std::uint8_t> datagram) {
  if (state_ == State::Failed || state_ == State::Closed || datagram.empty()) return;
  if (state_ == State::New) state_ = State::Connecting;
  BIO_write(in_, datagram.data(), static_cast<int>(datagram.size()));
  drive();
  // Anything OpenSSL did not consume (a broken record) must not poison the next datagram.
  (void)BIO_reset(in_);
}

void DtlsTransport::drive() {
  if (state_ == State::Connecting) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      finish_handshake();
      return;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    fail("DTLS handshake failed: " + openssl_error());
    return;
  }
  if (state_ == State::Connected) {
    // Application data is not used by WHEP; reading surfaces alerts and close_notify.
    unsigned char buf[2048];
    for (;;) {
      const int r = SSL_read(ssl_, buf, sizeof buf);
      if (r > 0) continue;
      const int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_ZERO_RETURN) {
        state_ = State::Closed;
        listener_.on_dtls_closed();
      } else if (err == SSL_ERROR_SSL) {
        ERR_clear_error();  // a corrupt record after the handshake is dropped, not fatal
      }
      return;
    }
  }
}

void DtlsTransport::finish_handshake() {
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) {
    fail("DTLS peer sent no certificate");
    return;
  }
  const auto fp = certificate_fingerprint(peer, expected_algorithm_);
  X509_free(peer);
  if (!fp) {
    fail("DTLS fingerprint algorithm not supported: " + expected_algorithm_);
    return;
  }
  if (lower(*fp) != lower(expected_fingerprint_)) {
    fail("DTLS peer certificate does not match the a=fingerprint of the offer");
    return;
  }
  SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_);
  const auto info = selected ? profile_info(selected->id) : std::nullopt;
  if (!info) {
    fail("DTLS peer negotiated no SRTP profile we support");
    return;
  }
  const std::size_t half = info->key + info->salt;
  std::vector<std::uint8_t> material(2 * half);
  static constexpr char label[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, material.data(), material.size(), label, sizeof label - 1, nullptr, 0, 0) != 1) {
    fail("DTLS keying material export failed: " + openssl_error());
    return;
  }
  // RFC 5764 §4.2: client key | server key | client salt | server salt.
  const auto* client_key = material.data();
  const auto* server_key = client_key + info->key;
  const auto* client_salt = server_key + info->key;
  const auto* server_salt = client_salt + info->salt;
  std::vector<std::uint8_t> client(client_key, client_key + info->key);
  client.insert(client.end(), client_salt, client_salt + info->salt);
  std::vector<std::uint8_t> server(server_key, server_key + info->key);
  server.insert(server.end(), server_salt, server_salt + info->salt);
  SrtpKeys keys;
  keys.profile = info->profile;
  keys.local_key_salt = role_ == Role::Server ? std::move(server) : std::move(client);
  keys.remote_key_salt = role_ == Role::Server ? std::move(client) : std::move(server);
  state_ = State::Connected;
  listener_.on_dtls_connected(keys);
}

void DtlsTransport::fail(std::string why) {
  if (state_ == State::Failed) return;
  state_ = State::Failed;
  listener_.on_dtls_failed(why);
}

void DtlsTransport::on_timer() {
  if (state_ != State::Connecting) return;
  if (DTLSv1_handle_timeout(ssl_) < 0) fail("DTLS handshake timed out: " + openssl_error());
}

std::optional<std::chrono::steady_clock::time_point> DtlsTransport::next_timeout() const {
  if (state_ != State::Connecting) return std::nullopt;
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_, &tv) != 1) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

void DtlsTransport::close() {
  if (state_ == State::Connected) {
    SSL_shutdown(ssl_);
    state_ = State::Closed;
  }
}

}  // namespace dragon::webrtc
