// The local time schedules are judged by. localtime_r takes glibc's time-zone lock on
// every call, so each thread converts at most once a second and reuses the answer.
#pragma once

#include <ctime>

#include "filters/types.hpp"

namespace hallpass::session {

inline filters::LocalTime local_time_now() {
  thread_local std::time_t cached_second = -1;
  thread_local filters::LocalTime cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm local{};
    localtime_r(&now, &local);
    cached.weekday = static_cast<std::int8_t>((local.tm_wday + 6) % 7);  // tm: 0 is Sunday
    cached.minute = static_cast<std::int16_t>(local.tm_hour * 60 + local.tm_min);
    cached_second = now;
  }
  return cached;
}

}  // namespace hallpass::session
