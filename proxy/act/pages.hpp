// The HTML a person sees when Hallpass answers instead of the site: the block page and the
// error pages. Reason in plain words, with the codes and request id IT needs.
#pragma once

#include <string>
#include <string_view>

#include "filters/types.hpp"

namespace hallpass::act {

struct PageContext {
  std::string_view district_name;
  std::string_view district_contact;
  std::string_view request_id;
  std::string_view time;  // ISO 8601, UTC
};

std::string block_page(const PageContext& context, const filters::Decision& decision,
                       std::string_view host);

std::string error_page(const PageContext& context, unsigned status, std::string_view reason_code,
                       std::string_view message);

// Plain words for a reason code; empty when there are none.
std::string_view explain_reason(std::string_view reason_code);

}  // namespace hallpass::act
