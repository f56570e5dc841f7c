// The one translation unit that compiles Boost.Asio, Asio's SSL and Beast (separate compilation):
// every other file includes their headers only, which keeps rebuilds fast.
#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
