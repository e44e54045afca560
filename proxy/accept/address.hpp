// A socket peer as the policy sees it.
#pragma once

#include "filters/ip_address.hpp"
#include "proxy/http/beast.hpp"

namespace hallpass::accept {

inline filters::IpAddress to_ip_address(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v4()) {
    return filters::IpAddress::from_v4(address.to_v4().to_uint());
  }
  return filters::IpAddress::from_v6(address.to_v6().to_bytes());
}

}  // namespace hallpass::accept
