// Why a client's TLS handshake with our minted certificate failed, as a bounded reason code
// for metrics and the audit log (in the spirit of mitmproxy's tls.py, which turns OpenSSL
// errors into sentences).
#pragma once

#include <string_view>

#include "proxy/http/beast.hpp"

namespace hallpass::tls {

// "client_rejected_certificate": the client sent an alert about our certificate (it does
// not trust the district CA, or pins its own); "client_closed": it hung up mid-handshake,
// which pinned apps often do instead of an alert; "client_handshake_timeout";
// "client_handshake_failed" for anything else.
std::string_view handshake_failure_reason(const error_code& ec);

// The reason in plain words, naming the destination.
std::string handshake_failure_text(std::string_view reason);

}  // namespace hallpass::tls
