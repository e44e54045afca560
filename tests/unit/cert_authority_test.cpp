// The minting CA: unsafe or unusable files are refused with a sentence naming the file;
// leaves verify against the root alone, in memory and in a real handshake; the cache mints
// once per host.
#include "proxy/tls/cert_authority.hpp"
#include "proxy/tls/leaf_cache.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <latch>
#include <thread>

namespace hallpass::tls {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

constexpr const char* kOpensslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[plain]
basicConstraints = critical,CA:FALSE
subjectKeyIdentifier = hash
)";

X509Ptr read_cert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  return X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

X509* cert_of(const Leaf& leaf) {
  return SSL_CTX_get0_certificate(leaf.context.native_handle());
}

Clock::time_point time_of(const ASN1_TIME* time) {
  std::tm tm{};
  EXPECT_EQ(ASN1_TIME_to_tm(time, &tm), 1);
  return Clock::from_time_t(timegm(&tm));
}

// X509_verify_cert as a browser would run it: only the root trusted, the intermediates taken
// from what the leaf's context sends, checked for serverAuth and the host.
int verify(const Leaf& leaf, X509* root, const std::string& host) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr context(X509_STORE_CTX_new());
  STACK_OF(X509)* sent = nullptr;
  SSL_CTX_get0_chain_certs(leaf.context.native_handle(), &sent);
  if (!store || !context || X509_STORE_add_cert(store.get(), root) != 1 ||
      X509_STORE_CTX_init(context.get(), store.get(), cert_of(leaf), sent) != 1) {
    return -1;
  }
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
  X509_verify_cert(context.get());
  return X509_STORE_CTX_get_error(context.get());
}

class CertAuthorityTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(testing::TempDir()) / ("hallpass_ca_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "ca.cnf") << kOpensslConfig;
    self_signed("root", "Test Root", "root", 3650);
    self_signed("short", "Test Short", "root", 1);
    self_signed("plain", "Test Plain", "plain", 365);
    run("openssl req -new -config " + path("ca.cnf") + " " + new_key("inter") + " -out " +
        path("inter.csr") + " -subj '/CN=Test Intermediate'");
    run("openssl x509 -req -in " + path("inter.csr") + " -CA " + path("root.pem") + " -CAkey " +
        path("root.key") + " -set_serial 2 -days 365 -extfile " + path("ca.cnf") +
        " -extensions intermediate -out " + path("inter.pem"));
    run("cat " + path("inter.pem") + " " + path("root.pem") + " > " + path("inter_chain.pem"));
    run("cat " + path("root.pem") + " " + path("inter.pem") + " > " + path("reversed.pem"));
    for (const char* name : {"root", "short", "plain", "inter"}) {
      fs::permissions(path(std::string(name) + ".key"),
                      fs::perms::owner_read | fs::perms::owner_write);
    }
    root_cert_ = read_cert(path("root.pem"));
    root_ = load_ok("root.pem", "root.key");
    intermediate_ = load_ok("inter_chain.pem", "inter.key");
  }
  static void TearDownTestSuite() {
    root_cert_.reset();
    root_.reset();
    intermediate_.reset();
    fs::remove_all(dir_);
  }

  void SetUp() override { ASSERT_TRUE(root_ && intermediate_) << "the test CAs were not made"; }

  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static void run(const std::string& command) {
    ASSERT_EQ(std::system((command + " 2>/dev/null").c_str()), 0) << command;
  }
  static std::string new_key(const std::string& name) {
    return "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + path(name + ".key");
  }
  static void self_signed(const std::string& name, const std::string& cn,
                          const std::string& section, int days) {
    run("openssl req -x509 -config " + path("ca.cnf") + " -extensions " + section + " " +
        new_key(name) + " -out " + path(name + ".pem") + " -days " + std::to_string(days) +
        " -subj '/CN=" + cn + "'");
  }
  static std::shared_ptr<const CertAuthority> load_ok(const std::string& cert,
                                                      const std::string& key) {
    auto result = CertAuthority::load(path(cert), path(key));
    if (auto* error = std::get_if<std::string>(&result)) {
      ADD_FAILURE() << *error;
      return nullptr;
    }
    return std::get<0>(result);
  }
  static std::string load_error(const std::string& cert, const std::string& key) {
    auto result = CertAuthority::load(path(cert), path(key));
    auto* error = std::get_if<std::string>(&result);
    return error ? *error : "(loaded)";
  }
  std::shared_ptr<const Leaf> mint(std::string_view host) {
    auto leaf = root_->mint(host);
    EXPECT_NE(leaf, nullptr) << host;
    return leaf;
  }

  static inline fs::path dir_;
  static inline X509Ptr root_cert_;
  static inline std::shared_ptr<const CertAuthority> root_;
  static inline std::shared_ptr<const CertAuthority> intermediate_;
};

TEST_F(CertAuthorityTest, LoadsAndNamesTheMintingCa) {
  EXPECT_EQ(root_->subject(), "CN = Test Root");
  EXPECT_EQ(intermediate_->subject(), "CN = Test Intermediate");
}

TEST_F(CertAuthorityTest, RefusesAKeyOthersCanRead) {
  fs::copy_file(path("root.key"), path("open.key"), fs::copy_options::overwrite_existing);
  fs::permissions(path("open.key"), fs::perms::owner_read | fs::perms::owner_write |
                                        fs::perms::group_read | fs::perms::others_read);
  EXPECT_EQ(load_error("root.pem", "open.key"),
            path("open.key") + " is readable by others (mode 0644); chmod 600 it");
  fs::permissions(path("open.key"), fs::perms::owner_read | fs::perms::group_write);
  EXPECT_EQ(load_error("root.pem", "open.key"),
            path("open.key") + " is writable by its group (mode 0420); chmod 600 it");
}

TEST_F(CertAuthorityTest, RefusesUnusableFilesWithASentence) {
  struct Case {
    std::string cert, key, expected;
  } cases[] = {
      {"missing.pem", "root.key", "cannot read " + path("missing.pem") + ": No such file"},
      {"root.pem", "missing.key", "cannot read " + path("missing.key") + ": No such file"},
      {"root.key", "root.key", path("root.key") + " holds no PEM certificate"},
      {"root.pem", "inter.key", path("inter.key") + " is not the private key of the certificate"},
      {"plain.pem", "plain.key", "(CN = Test Plain) is not a CA: basicConstraints CA:TRUE"},
      {"reversed.pem", "root.key", "certificate 2 did not issue certificate 1; list the minting"},
  };
  for (const auto& c : cases) {
    auto error = load_error(c.cert, c.key);
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

TEST_F(CertAuthorityTest, RefusesAnExpiredCa) {
  X509Ptr cert = read_cert(path("root.pem"));
  BioPtr key_file(BIO_new_file(path("root.key").c_str(), "r"));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(cert && key);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -10 * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), -86400);
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  BioPtr out(BIO_new_file(path("expired.pem").c_str(), "w"));
  ASSERT_EQ(PEM_write_bio_X509(out.get(), cert.get()), 1);
  out.reset();
  auto error = load_error("expired.pem", "root.key");
  EXPECT_NE(error.find(path("expired.pem") + ": the CA certificate (CN = Test Root) expired on "),
            std::string::npos)
      << error;
}

TEST_F(CertAuthorityTest, LeafVerifiesAgainstTheRootAloneForItsHostOnly) {
  for (const auto& authority : {root_, intermediate_}) {
    auto leaf = authority->mint("school.example.org");
    ASSERT_NE(leaf, nullptr);
    EXPECT_EQ(verify(*leaf, root_cert_.get(), "school.example.org"), X509_V_OK)
        << authority->subject();
    EXPECT_EQ(verify(*leaf, root_cert_.get(), "other.example.org"), X509_V_ERR_HOSTNAME_MISMATCH);
  }
  auto leaf = intermediate_->mint("a.example");
  ASSERT_NE(leaf, nullptr);
  STACK_OF(X509)* sent = nullptr;
  SSL_CTX_get0_chain_certs(leaf->context.native_handle(), &sent);
  EXPECT_EQ(sk_X509_num(sent), 2) << "intermediate and root are both sent";
}

TEST_F(CertAuthorityTest, SanIsDnsForNamesAndIpForLiterals) {
  struct Case {
    std::string host;
    int type;
    int length;
  } cases[] = {{"example.org", GEN_DNS, 11}, {"127.0.0.1", GEN_IPADD, 4}, {"::1", GEN_IPADD, 16}};
  for (const auto& c : cases) {
    auto leaf = mint(c.host);
    ASSERT_NE(leaf, nullptr);
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert_of(*leaf), NID_subject_alt_name, nullptr, nullptr)));
    ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 1) << c.host;
    int type = 0;
    auto* value = static_cast<ASN1_STRING*>(
        GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), 0), &type));
    EXPECT_EQ(type, c.type) << c.host;
    EXPECT_EQ(ASN1_STRING_length(value), c.length) << c.host;
    EXPECT_EQ(verify(*leaf, root_cert_.get(), c.host), X509_V_OK) << c.host;
  }
}

TEST_F(CertAuthorityTest, EachLeafHasItsOwnP256KeyAndRandomSerial) {
  auto first = mint("example.org");
  auto second = mint("example.org");
  ASSERT_TRUE(first && second);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(first->context.native_handle());
  ASSERT_TRUE(EVP_PKEY_is_a(key, "EC"));
  std::array<char, 64> group{};
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group.data(), group.size(), nullptr), 1);
  EXPECT_STREQ(group.data(), "prime256v1");
  EXPECT_NE(EVP_PKEY_eq(key, X509_get0_pubkey(root_cert_.get())), 1) << "never the CA's key";
  EXPECT_NE(EVP_PKEY_eq(key, SSL_CTX_get0_privatekey(second->context.native_handle())), 1);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert_of(*first));
  EXPECT_NE(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cert_of(*second))), 0);
  BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
  EXPECT_EQ(BN_num_bits(number.get()), 159);
  EXPECT_FALSE(BN_is_negative(number.get()));
}

TEST_F(CertAuthorityTest, KeyIdentifiersLinkTheLeafToItsIssuer) {
  X509Ptr intermediate = read_cert(path("inter.pem"));
  auto leaf = root_->mint("example.org");
  auto deeper = intermediate_->mint("example.org");
  ASSERT_TRUE(leaf && deeper);
  EXPECT_NE(X509_get0_subject_key_id(cert_of(*leaf)), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert_of(*leaf)),
                                  X509_get0_subject_key_id(root_cert_.get())),
            0);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert_of(*deeper)),
                                  X509_get0_subject_key_id(intermediate.get())),
            0);
}

TEST_F(CertAuthorityTest, LeafIsAServerCertificateValidFromYesterdayFor30Days) {
  std::string host = std::string(60, 'a') + ".long-name.example.org";
  auto leaf = mint(host);
  ASSERT_NE(leaf, nullptr);
  X509* cert = cert_of(*leaf);
  std::array<char, 128> common_name{};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, common_name.data(),
                            common_name.size());
  EXPECT_EQ(common_name.data(), host.substr(0, 64)) << "RFC 5280 ub-common-name";
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  std::uint32_t flags = X509_get_extension_flags(cert);
  EXPECT_TRUE((flags & EXFLAG_BCONS) != 0 && (flags & EXFLAG_CA) == 0);
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  auto now = Clock::now();
  auto not_before = time_of(X509_get0_notBefore(cert));
  auto not_after = time_of(X509_get0_notAfter(cert));
  EXPECT_LT(std::chrono::abs(not_before - (now - 24h)), 1min);
  EXPECT_LT(std::chrono::abs(not_after - (now + 30 * 24h)), 1min);
  EXPECT_EQ(leaf->not_after, not_after);
}

TEST_F(CertAuthorityTest, LeafNeverOutlivesItsCa) {
  auto authority = load_ok("short.pem", "short.key");
  ASSERT_NE(authority, nullptr);
  auto leaf = authority->mint("example.org");
  ASSERT_NE(leaf, nullptr);
  X509Ptr ca = read_cert(path("short.pem"));
  EXPECT_EQ(time_of(X509_get0_notAfter(cert_of(*leaf))), time_of(X509_get0_notAfter(ca.get())));
}

struct Handshake {
  bool ok = false;
  std::string alpn;
};

// Both ends in one thread over a BIO pair: the client trusts only the root and checks the host.
Handshake handshake(const Leaf& leaf, X509* root, const std::string& host, std::string_view alpn) {
  SslCtxPtr client_context(SSL_CTX_new(TLS_client_method()));
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client_context.get()), root);
  SSL_CTX_set_verify(client_context.get(), SSL_VERIFY_PEER, nullptr);
  SslPtr client(SSL_new(client_context.get()));
  SslPtr server(SSL_new(leaf.context.native_handle()));
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  BIO_new_bio_pair(&client_end, 0, &server_end, 0);
  SSL_set_bio(client.get(), client_end, client_end);
  SSL_set_bio(server.get(), server_end, server_end);
  SSL_set1_host(client.get(), host.c_str());
  SSL_set_tlsext_host_name(client.get(), host.c_str());
  SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                      static_cast<unsigned int>(alpn.size()));
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  // 1 when this end is done, 0 while it waits for the other, -1 when it failed.
  auto step = [](SSL* ssl) {
    int result = SSL_do_handshake(ssl);
    int error = SSL_get_error(ssl, result);
    return result == 1 ? 1 : error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? 0 : -1;
  };
  int client_state = 0;
  int server_state = 0;
  for (int round = 0; round < 20 && (client_state == 0 || server_state == 0); ++round) {
    client_state = client_state == 0 ? step(client.get()) : client_state;
    server_state = server_state == 0 ? step(server.get()) : server_state;
    if (client_state < 0 || server_state < 0) {
      break;
    }
  }
  // The queue of a failed handshake is not this thread's business afterwards.
  openssl_error_text();
  if (client_state != 1 || server_state != 1) {
    return {};
  }
  const unsigned char* selected = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(client.get(), &selected, &length);
  return {true, std::string(reinterpret_cast<const char*>(selected), length)};
}

TEST_F(CertAuthorityTest, HandshakeSelectsOnlyHttp11) {
  auto leaf = intermediate_->mint("school.example.org");
  ASSERT_NE(leaf, nullptr);
  auto both = handshake(*leaf, root_cert_.get(), "school.example.org", "\x02h2\x08http/1.1"sv);
  EXPECT_TRUE(both.ok);
  EXPECT_EQ(both.alpn, "http/1.1");
  auto h2_only = handshake(*leaf, root_cert_.get(), "school.example.org", "\x02h2"sv);
  EXPECT_TRUE(h2_only.ok);
  EXPECT_EQ(h2_only.alpn, "") << "no ALPN rather than a fatal alert";
  EXPECT_FALSE(handshake(*leaf, root_cert_.get(), "other.example.org", "\x08http/1.1"sv).ok);
}

TEST_F(CertAuthorityTest, CacheReturnsTheSameLeafAndCountsAHit) {
  LeafCache cache(root_, 16);
  auto first = cache.get("example.org");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(cache.get("example.org"), first);
  auto stats = cache.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.size, 1u);
}

TEST_F(CertAuthorityTest, CacheEvictsTheLeastRecentlyUsed) {
  LeafCache cache(root_, 2);
  auto a = cache.get("a.example");
  auto b = cache.get("b.example");
  EXPECT_EQ(cache.get("a.example"), a);
  cache.get("c.example");
  EXPECT_EQ(cache.get("a.example"), a);
  EXPECT_NE(cache.get("b.example"), b) << "b was the least recently used";
  auto stats = cache.stats();
  EXPECT_EQ(stats.size, 2u);
  EXPECT_EQ(stats.misses, 4u);
}

TEST_F(CertAuthorityTest, ConcurrentCallersForOneHostMintOnce) {
  LeafCache cache(root_, 16);
  std::latch start(8);
  std::array<std::shared_ptr<const Leaf>, 8> leaves;
  std::vector<std::jthread> threads;
  for (auto& leaf : leaves) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      leaf = cache.get("fresh.example");
    });
  }
  threads.clear();
  ASSERT_NE(leaves[0], nullptr);
  for (const auto& leaf : leaves) {
    EXPECT_EQ(leaf, leaves[0]);
  }
  auto stats = cache.stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 7u);
}

TEST_F(CertAuthorityTest, CacheRenewsALeafWithinADayOfExpiry) {
  // This CA expires in a day, so every leaf it signs is already due for renewal.
  LeafCache cache(load_ok("short.pem", "short.key"), 16);
  auto first = cache.get("example.org");
  ASSERT_NE(first, nullptr);
  EXPECT_NE(cache.get("example.org"), first);
  EXPECT_EQ(cache.stats().misses, 2u);
}

}  // namespace
}  // namespace hallpass::tls
