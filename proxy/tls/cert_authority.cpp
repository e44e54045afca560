#include "proxy/tls/cert_authority.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace hallpass::tls {
namespace {

using Clock = std::chrono::system_clock;

// Student laptops often run minutes to hours behind; a leaf valid only from "now" would be
// rejected as not yet valid (mitmproxy backdates for the same reason).
constexpr auto kBackdate = std::chrono::days(1);
// Far below the 398 days browsers accept: a leaf (and its key) lifted from a cache or a memory
// dump is worth a month at most.
constexpr auto kLifetime = std::chrono::days(30);
// RFC 5280 appendix A: ub-common-name is 64; the SAN carries the full name anyway.
constexpr std::size_t kMaxCommonName = 64;

// Opens with O_CLOEXEC so that the CA key's descriptor never leaks into a child process.
BioPtr open_file(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read " + path + ": " + std::generic_category().message(errno);
    return {};
  }
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio) {
    ::close(fd);
    error = "cannot read " + path + ": " + openssl_error_text();
  }
  return bio;
}

std::variant<std::vector<X509Ptr>, std::string> read_chain(const std::string& path) {
  std::string error;
  BioPtr bio = open_file(path, error);
  if (!bio) {
    return error;
  }
  std::vector<X509Ptr> chain;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    chain.push_back(std::move(cert));
  }
  // Running out of PEM blocks ends the loop with "no start line"; anything else is damage.
  unsigned long last = ERR_peek_last_error();
  if (last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    return path + ": certificate " + std::to_string(chain.size() + 1) +
           " is damaged: " + openssl_error_text();
  }
  ERR_clear_error();
  if (chain.empty()) {
    return path + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
  }
  return chain;
}

// Every leaf must chain to the first certificate, so its faults are caught here, at load time,
// rather than as a browser warning on every intercepted site.
std::string check_chain(const std::string& path, const std::vector<X509Ptr>& chain) {
  X509* ca = chain.front().get();
  std::string what = path + ": the CA certificate (" + name_text(X509_get_subject_name(ca)) + ")";
  std::uint32_t flags = X509_get_extension_flags(ca);
  if ((flags & EXFLAG_INVALID) != 0) {
    return what + " has malformed extensions";
  }
  if ((flags & EXFLAG_CA) == 0) {
    return what + " is not a CA: basicConstraints CA:TRUE is missing";
  }
  // RFC 5280 4.2.1.3: a CA that lists key usages must list keyCertSign to sign certificates.
  if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0) {
    return what + " may not sign certificates: its keyUsage lacks keyCertSign";
  }
  if (X509_cmp_current_time(X509_get0_notAfter(ca)) <= 0) {
    return what + " expired on " + time_text(X509_get0_notAfter(ca));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(ca)) >= 0) {
    return what + " is not valid until " + time_text(X509_get0_notBefore(ca));
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (X509_check_issued(chain[i].get(), chain[i - 1].get()) != X509_V_OK) {
      return path + ": certificate " + std::to_string(i + 1) + " did not issue certificate " +
             std::to_string(i) + "; list the minting CA first, then each issuer up to the root";
    }
  }
  return {};
}

std::string mode_problem(const std::string& path, mode_t mode) {
  std::array<char, 8> octal{};
  std::snprintf(octal.data(), octal.size(), "%04o", static_cast<unsigned>(mode & 07777));
  bool readable = (mode & (S_IRGRP | S_IROTH)) != 0;
  bool others = (mode & S_IRWXO) != 0;
  return path + " is " + (readable ? "readable" : "writable") + " by " +
         (others ? "others" : "its group") + " (mode " + octal.data() + "); chmod 600 it";
}

std::variant<EvpPkeyPtr, std::string> read_key(const std::string& path) {
  std::string error;
  BioPtr bio = open_file(path, error);
  if (!bio) {
    return error;
  }
  // This key signs for any site on every device that trusts the district root: another local
  // account able to read (or replace) it could intercept the whole district. fstat on the open
  // descriptor checks the very file that is then read.
  struct stat status {};
  if (::fstat(static_cast<int>(BIO_get_fd(bio.get(), nullptr)), &status) != 0) {
    return "cannot read " + path + ": " + std::generic_category().message(errno);
  }
  if ((status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return mode_problem(path, status.st_mode);
  }
  // A callback that gives no passphrase: OpenSSL's default would prompt on the terminal and
  // hang a daemon.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    return path + " holds no unencrypted PEM private key (decrypt it with `openssl pkey`)";
  }
  return key;
}

// RFC 5280 4.2.1.2 method (1): the SHA-1 of the subjectPublicKey bits.
Asn1OctetStringPtr key_hash(const X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id || X509_pubkey_digest(cert, EVP_sha1(), digest.data(), &size) != 1 ||
      ASN1_OCTET_STRING_set(id.get(), digest.data(), static_cast<int>(size)) != 1) {
    return {};
  }
  return id;
}

// Path building matches a leaf's AKI keyid against the issuer's SKI (RFC 5280 4.2.1.1), so
// copy the CA's own; a CA without one gets the method-(1) hash most CAs use.
Asn1OctetStringPtr ca_key_id(X509* ca) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca)) {
    return Asn1OctetStringPtr(ASN1_OCTET_STRING_dup(ski));
  }
  return key_hash(ca);
}

// CA/B Forum BR 7.1: at least 64 unpredictable bits; RFC 5280 4.1.2.2: positive, at most 20
// octets. 159 bits with the top bit set is exactly 20 DER octets. Randomness also keeps
// issuer+serial unique across restarts: Firefox refuses a reused pair outright
// (SEC_ERROR_REUSED_ISSUER_AND_SERIAL).
Asn1IntegerPtr random_serial() {
  BignumPtr number(BN_new());
  if (!number || BN_rand(number.get(), 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) {
    return {};
  }
  return Asn1IntegerPtr(BN_to_ASN1_INTEGER(number.get(), nullptr));
}

// Built from typed values, not a "DNS:<host>" config string, so that no host text can add
// names. An IP literal goes into iPAddress: RFC 6125 6.2.1 / browsers match IPs only there.
GeneralNamesPtr subject_alt_name(std::string_view host) {
  std::string text(host);
  std::array<unsigned char, 16> address{};
  int length = ::inet_pton(AF_INET, text.c_str(), address.data()) == 1    ? 4
               : ::inet_pton(AF_INET6, text.c_str(), address.data()) == 1 ? 16
                                                                          : 0;
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  GeneralNamePtr name(GENERAL_NAME_new());
  // Both are ASN1_STRINGs; the type tag matters because hostname checks compare it.
  Asn1OctetStringPtr value(
      ASN1_STRING_type_new(length != 0 ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING));
  bool ok =
      names && name && value &&
      (length != 0 ? ASN1_STRING_set(value.get(), address.data(), length)
                   : ASN1_STRING_set(value.get(), text.data(), static_cast<int>(text.size())));
  if (!ok) {
    return {};
  }
  GENERAL_NAME_set0_value(name.get(), length != 0 ? GEN_IPADD : GEN_DNS, value.release());
  if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
    return {};
  }
  name.release();
  return names;
}

bool add_typed(X509* cert, int nid, void* value) {
  return X509_add1_ext_i2d(cert, nid, value, 0, X509V3_ADD_DEFAULT) == 1;
}

bool add_fixed(X509* cert, X509V3_CTX* context, int nid, const char* value) {
  OpensslPtr<X509_EXTENSION, &X509_EXTENSION_free> extension(
      X509V3_EXT_conf_nid(nullptr, context, nid, value));
  return extension && X509_add_ext(cert, extension.get(), -1) == 1;
}

// Only HTTP/1.1 is spoken on intercepted connections. RFC 7301 3.2 lets a server that supports
// none of the offered protocols omit ALPN; clients then speak HTTP/1.1, whereas the
// no_application_protocol alert would fail the handshake.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* offered, unsigned int offered_length, void*) {
  constexpr std::string_view kHttp11 = "http/1.1";
  unsigned int i = 0;
  while (i < offered_length) {
    unsigned int length = offered[i];
    if (length > offered_length - i - 1) {
      break;
    }
    if (std::string_view(reinterpret_cast<const char*>(offered + i + 1), length) == kHttp11) {
      *out = offered + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::variant<std::shared_ptr<const CertAuthority>, std::string> CertAuthority::load(
    const std::string& ca_cert_path, const std::string& key_path) {
  auto chain = read_chain(ca_cert_path);
  if (auto* error = std::get_if<std::string>(&chain)) {
    return std::move(*error);
  }
  auto& certs = std::get<std::vector<X509Ptr>>(chain);
  if (auto error = check_chain(ca_cert_path, certs); !error.empty()) {
    return error;
  }
  auto key = read_key(key_path);
  if (auto* error = std::get_if<std::string>(&key)) {
    return std::move(*error);
  }
  X509* ca = certs.front().get();
  if (X509_check_private_key(ca, std::get<EvpPkeyPtr>(key).get()) != 1) {
    ERR_clear_error();
    return key_path + " is not the private key of the certificate in " + ca_cert_path;
  }
  std::shared_ptr<CertAuthority> authority(new CertAuthority());
  authority->key_id_ = ca_key_id(ca);
  if (!authority->key_id_) {
    return ca_cert_path + ": cannot compute the CA's key identifier: " + openssl_error_text();
  }
  authority->not_after_ = time_point_of(X509_get0_notAfter(ca));
  authority->subject_ = name_text(X509_get_subject_name(ca));
  authority->key_ = std::move(std::get<EvpPkeyPtr>(key));
  authority->chain_ = std::move(certs);
  return authority;
}

std::shared_ptr<const Leaf> CertAuthority::mint(std::string_view host) const {
  // Its own key: one stolen from a leaf impersonates one host for a month, not the CA.
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  auto now = std::chrono::floor<std::chrono::seconds>(Clock::now());
  // Every certificate on the path must be valid (RFC 5280 6.1.3), so a leaf outliving the CA
  // would be a lie; capped, the cache renews it from its real end.
  auto not_after = std::min<Clock::time_point>(now + kLifetime, not_after_);
  X509Ptr cert = key ? make_certificate(host, key.get(), now - kBackdate, not_after) : X509Ptr();
  SslCtxPtr context = cert ? make_context(cert.get(), key.get()) : SslCtxPtr();
  if (!context) {
    ERR_clear_error();
    return nullptr;
  }
  return std::make_shared<Leaf>(boost::asio::ssl::context(context.release()), not_after);
}

X509Ptr CertAuthority::make_certificate(std::string_view host, EVP_PKEY* leaf_key,
                                        Clock::time_point not_before,
                                        Clock::time_point not_after) const {
  X509* ca = chain_.front().get();
  X509Ptr cert(X509_new());
  X509NamePtr subject(X509_NAME_new());
  auto serial = random_serial();
  auto names = subject_alt_name(host);
  AuthorityKeyIdPtr authority_key(AUTHORITY_KEYID_new());
  if (!cert || !subject || !serial || !names || !authority_key) {
    return {};
  }
  X509* x = cert.get();
  std::string common_name(host.substr(0, kMaxCommonName));
  bool ok = X509_set_version(x, X509_VERSION_3) == 1 &&
            X509_set_serialNumber(x, serial.get()) == 1 &&
            X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(common_name.data()),
                                       static_cast<int>(common_name.size()), -1, 0) == 1 &&
            X509_set_subject_name(x, subject.get()) == 1 &&
            X509_set_issuer_name(x, X509_get_subject_name(ca)) == 1 &&
            // ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime after (RFC 5280 4.1.2.5).
            ASN1_TIME_set(X509_getm_notBefore(x), Clock::to_time_t(not_before)) != nullptr &&
            ASN1_TIME_set(X509_getm_notAfter(x), Clock::to_time_t(not_after)) != nullptr &&
            X509_set_pubkey(x, leaf_key) == 1;
  auto subject_key = ok ? key_hash(x) : Asn1OctetStringPtr();
  authority_key->keyid = ASN1_OCTET_STRING_dup(key_id_.get());
  X509V3_CTX context{};
  X509V3_set_ctx(&context, ca, x, nullptr, nullptr, 0);
  // keyUsage is digitalSignature only: an ECDSA key signs the handshake and never encrypts
  // (keyEncipherment is RSA key transport). SAN is not critical since the subject is not
  // empty (RFC 5280 4.2.1.6).
  ok = subject_key && authority_key->keyid &&
       add_fixed(x, &context, NID_basic_constraints, "critical,CA:FALSE") &&
       add_fixed(x, &context, NID_key_usage, "critical,digitalSignature") &&
       add_fixed(x, &context, NID_ext_key_usage, "serverAuth") &&
       add_typed(x, NID_subject_alt_name, names.get()) &&
       add_typed(x, NID_subject_key_identifier, subject_key.get()) &&
       add_typed(x, NID_authority_key_identifier, authority_key.get()) &&
       X509_sign(x, key_.get(), EVP_sha256()) > 0;
  return ok ? std::move(cert) : X509Ptr();
}

SslCtxPtr CertAuthority::make_context(X509* leaf, EVP_PKEY* leaf_key) const {
  SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
  if (!context) {
    return {};
  }
  SSL_CTX* c = context.get();
  // Compression invites CRIME; renegotiation is an old DoS lever nothing legitimate needs.
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // One context per host: a server-side session cache in each would hold up to 20,000
  // sessions per host. Session tickets still resume without it.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  bool ok = SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) == 1 &&
            SSL_CTX_use_certificate(c, leaf) == 1 && SSL_CTX_use_PrivateKey(c, leaf_key) == 1;
  // Chain certificates attach to the current certificate, so they come after it. The whole CA
  // chain is sent so that clients holding only the root can build the path.
  for (const auto& ca : chain_) {
    ok = ok && SSL_CTX_add1_chain_cert(c, ca.get()) == 1;
  }
  if (!ok) {
    return {};
  }
  SSL_CTX_set_alpn_select_cb(c, &select_http11, nullptr);
  return context;
}

}  // namespace hallpass::tls
