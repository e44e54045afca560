// Sec-WebSocket-Extensions: which offers the proxy lets through to the server, and which
// server answers it can read.
#include <gtest/gtest.h>

#include "proxy/websocket/extensions.hpp"

namespace hallpass::websocket {
namespace {

struct OfferCase {
  const char* offer;
  const char* scannable;
};

class Offer : public testing::TestWithParam<OfferCase> {};

TEST_P(Offer, KeepsOnlyPermessageDeflate) {
  EXPECT_EQ(offer_we_can_scan(GetParam().offer), GetParam().scannable) << GetParam().offer;
}

INSTANTIATE_TEST_SUITE_P(
    Extensions, Offer,
    testing::Values(OfferCase{"", ""},
                    OfferCase{"permessage-deflate; client_max_window_bits",
                              "permessage-deflate; client_max_window_bits"},
                    OfferCase{"x-webkit-deflate-frame", ""},
                    OfferCase{"x-webkit-deflate-frame, permessage-deflate", "permessage-deflate"},
                    OfferCase{
                        "foo; bar=\"a,b\", Permessage-Deflate;client_no_context_takeover , baz",
                        "Permessage-Deflate;client_no_context_takeover"},
                    OfferCase{"permessage-deflate; server_max_window_bits=10, permessage-deflate",
                              "permessage-deflate; server_max_window_bits=10, permessage-deflate"},
                    OfferCase{"permessage-deflate; client_max_window_bits=\"12\"",
                              "permessage-deflate; client_max_window_bits=\"12\""},
                    OfferCase{", ,permessage-deflate,,", "permessage-deflate"},
                    OfferCase{"permessage-deflate; bad value", ""},
                    OfferCase{"permessage-deflate; x=\"unterminated", ""},
                    OfferCase{"permessage-deflate-not", ""}));

struct AcceptCase {
  const char* response;
  bool deflate;
  bool no_context_takeover;
  bool ok;
};

class Accepted : public testing::TestWithParam<AcceptCase> {};

TEST_P(Accepted, Parses) {
  auto result = parse_accepted(GetParam().response);
  EXPECT_EQ(result.deflate, GetParam().deflate) << GetParam().response;
  EXPECT_EQ(result.client_no_context_takeover, GetParam().no_context_takeover)
      << GetParam().response;
  EXPECT_EQ(result.ok, GetParam().ok) << GetParam().response;
}

INSTANTIATE_TEST_SUITE_P(
    Extensions, Accepted,
    testing::Values(
        AcceptCase{"", false, false, true}, AcceptCase{"permessage-deflate", true, false, true},
        AcceptCase{"PerMessage-Deflate; Client_No_Context_Takeover", true, true, true},
        AcceptCase{"permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
                   true, false, true},
        AcceptCase{"permessage-deflate;client_max_window_bits=\"9\";server_max_window_bits=8", true,
                   false, true},
        AcceptCase{"permessage-deflate; client_max_window_bits=16", false, false, false},
        AcceptCase{"permessage-deflate; client_max_window_bits=08", false, false, false},
        AcceptCase{"permessage-deflate; client_max_window_bits", false, false, false},
        AcceptCase{"permessage-deflate; client_no_context_takeover=1", false, false, false},
        AcceptCase{"permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                   false, false, false},
        AcceptCase{"permessage-deflate; mystery", false, false, false},
        AcceptCase{"permessage-deflate, permessage-deflate", false, false, false},
        AcceptCase{"x-webkit-deflate-frame", false, false, false},
        AcceptCase{"permessage-deflate, foo", false, false, false},
        AcceptCase{"permessage-deflate;", false, false, false}));

// --- close frames ---

}  // namespace
}  // namespace hallpass::websocket
