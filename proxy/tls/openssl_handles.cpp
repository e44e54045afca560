#include "proxy/tls/openssl_handles.hpp"

#include <openssl/err.h>

#include <array>
#include <ctime>

namespace hallpass::tls {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace

std::string openssl_error_text() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    if (!text.empty()) {
      text += "; ";
    }
    text += buffer.data();
  }
  return text;
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // Without ESC_MSB, UTF-8 names print as written instead of as \xx escapes.
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return "(unprintable name)";
  }
  return bio_text(bio.get());
}

std::string time_text(const ASN1_TIME* time) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print_ex(bio.get(), time, ASN1_DTFLGS_ISO8601) != 1) {
    return "(unreadable time)";
  }
  return bio_text(bio.get());
}

std::chrono::system_clock::time_point time_point_of(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) {
    return {};
  }
  using namespace std::chrono;
  auto date = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
              day{static_cast<unsigned>(tm.tm_mday)};
  return sys_days{date} + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
}

}  // namespace hallpass::tls
