// Asio vocabulary shared by every library: namespace aliases and the completion tokens we spell out
// explicitly, since Boost 1.81 has no default `deferred` token (style.md section 0).
#ifndef SPACEHOOK_CORE_ASIO_HPP
#define SPACEHOOK_CORE_ASIO_HPP

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace spacehook {
namespace asio = boost::asio;
template <class T = void>
using awaitable = asio::awaitable<T>;
// For operations whose failure is normal (EOF, timeout, reset): `auto [ec, n] = co_await op(tuple_awaitable)`.
inline constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}  // namespace spacehook

#endif
