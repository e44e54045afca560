// Squid's native access.log line (`logformat squid`), so reporting tools written for Squid
// (SARG, LightSquid, Calamaris) read Hallpass's audit log when `audit.format: squid`:
//
//   1732900000.123     45 10.10.16.5 TCP_DENIED/403 1234 GET http://example.com/path - HIER_NONE/-
//   - end.millis  elapsed_ms client code/status bytes method URL user hierarchy/peer type
//
// The time is when the request ended and the elapsed time is right-aligned in six columns,
// as Squid prints them; fields are separated by single spaces and never contain one. The
// mapping from outcomes to Squid's result codes is in docs/audit.md.
#pragma once

#include <string>
#include <string_view>

#include "proxy/record/outcome.hpp"

namespace hallpass::record {

// The line without its newline; "" for an outcome Squid has no line for (a flagged WebSocket
// message: Squid logs the upgrade only, and so does this format).
std::string squid_line(const Outcome& outcome);

// Squid's result code for `outcome`: TCP_DENIED, TCP_MISS, TCP_TUNNEL or NONE.
std::string_view squid_result_code(const Outcome& outcome);

}  // namespace hallpass::record
