// Names shared by every file that speaks HTTP, so each one does not repeat them.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace hallpass {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

template <typename T>
using awaitable = asio::awaitable<T>;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using RequestParser = bhttp::request_parser<bhttp::buffer_body>;
using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;

}  // namespace hallpass
