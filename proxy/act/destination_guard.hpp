// Where the proxy refuses to connect on a client's behalf: the gateway itself and the
// link-local range. The gateway's loopback services, its admin endpoint on a LAN address and a
// cloud metadata service (169.254.169.254) would otherwise be one request away from any client.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string_view>

namespace hallpass::act {

// The reason code a destination is refused with ("loopback_destination",
// "local_destination"), or nullopt when the proxy may connect to it. `allow_local` is
// `upstream.allow_loopback` (test rigs and proxies chained on one machine).
std::optional<std::string_view> refused_destination(const boost::asio::ip::address& address,
                                                    bool allow_local);

}  // namespace hallpass::act
