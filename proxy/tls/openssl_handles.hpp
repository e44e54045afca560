// OpenSSL objects owned by std::unique_ptr, so that every early return frees what it made
// and no path calls a *_free by hand; and the few conversions that put them into sentences.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>

namespace hallpass::tls {

// Calls the OpenSSL release function `Free`; several return int (BIO_free), which is ignored.
template <auto Free>
struct OpensslDeleter {
  template <typename T>
  void operator()(T* handle) const noexcept {
    Free(handle);
  }
};

template <typename T, auto Free>
using OpensslPtr = std::unique_ptr<T, OpensslDeleter<Free>>;

using X509Ptr = OpensslPtr<X509, &X509_free>;
using X509NamePtr = OpensslPtr<X509_NAME, &X509_NAME_free>;
using X509StorePtr = OpensslPtr<X509_STORE, &X509_STORE_free>;
using X509StoreCtxPtr = OpensslPtr<X509_STORE_CTX, &X509_STORE_CTX_free>;
using EvpPkeyPtr = OpensslPtr<EVP_PKEY, &EVP_PKEY_free>;
using BioPtr = OpensslPtr<BIO, &BIO_free>;
using BignumPtr = OpensslPtr<BIGNUM, &BN_free>;
using Asn1IntegerPtr = OpensslPtr<ASN1_INTEGER, &ASN1_INTEGER_free>;
using Asn1OctetStringPtr = OpensslPtr<ASN1_OCTET_STRING, &ASN1_OCTET_STRING_free>;
using Asn1TimePtr = OpensslPtr<ASN1_TIME, &ASN1_TIME_free>;
using GeneralNamesPtr = OpensslPtr<GENERAL_NAMES, &GENERAL_NAMES_free>;
using GeneralNamePtr = OpensslPtr<GENERAL_NAME, &GENERAL_NAME_free>;
using AuthorityKeyIdPtr = OpensslPtr<AUTHORITY_KEYID, &AUTHORITY_KEYID_free>;
using SslCtxPtr = OpensslPtr<SSL_CTX, &SSL_CTX_free>;
using SslPtr = OpensslPtr<SSL, &SSL_free>;

// sk_X509_pop_free is a macro, so the stack gets its own deleter: it frees the certificates too.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_pop_free(stack, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// Drains this thread's OpenSSL error queue into one line ("" when it is empty), so a failure
// reads as a sentence in a log and no stale error is left behind for the next call.
std::string openssl_error_text();

// "CN = School Root, O = District" (UTF-8 as written), for logs and error messages.
std::string name_text(const X509_NAME* name);
// "2031-08-01 12:00:00Z".
std::string time_text(const ASN1_TIME* time);
// The epoch when OpenSSL cannot read `time`.
std::chrono::system_clock::time_point time_point_of(const ASN1_TIME* time);

}  // namespace hallpass::tls
