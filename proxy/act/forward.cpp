#include "proxy/act/forward.hpp"

namespace hallpass::act::detail {

std::chrono::steady_clock::duration to_duration(config::Seconds seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds);
}

awaitable<std::optional<UpstreamFailure>> open_upstream(Exchange& exchange,
                                                        const http::Target& target,
                                                        ForwardContext& context, bool fresh) {
  exchange.buffer.clear();
  exchange.upstream.reset();
  exchange.reused = false;
  if (!fresh) {
    if (auto idle = context.pool.take(target.host + ":" + std::to_string(target.port))) {
      exchange.upstream.emplace(std::move(*idle));
      exchange.reused = true;
    }
  }
  if (!exchange.upstream) {
    auto connected =
        co_await connect_upstream(target, context.config.upstream, context.config.timeouts.connect);
    if (!connected.stream) {
      co_return std::move(connected.failure);
    }
    exchange.upstream.emplace(std::move(*connected.stream));
  }
  co_return std::nullopt;
}

}  // namespace hallpass::act::detail
