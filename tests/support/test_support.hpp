// Shared test helpers: run a coroutine to completion with a deadline, await a condition without
// sleeping blindly, and make throw-away directories.
#ifndef SPACEHOOK_TEST_SUPPORT_HPP
#define SPACEHOOK_TEST_SUPPORT_HPP

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace spacehook::test {

// Runs `fn()` (returning awaitable<T>) on `ctx` until it completes; throws if it takes longer than `timeout`
// or if the coroutine throws. Other work on `ctx` (servers, timers) keeps running meanwhile.
namespace detail {
inline void drive(boost::asio::io_context& ctx, const bool& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    ctx.restart();
    while (!done && std::chrono::steady_clock::now() < deadline) ctx.run_one_for(std::chrono::milliseconds(50));
    if (!done) throw std::runtime_error("run_coro: timed out");
}
}  // namespace detail

template <class Fn>
auto run_coro(boost::asio::io_context& ctx, Fn fn, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    using T = typename decltype(fn())::value_type;
    std::exception_ptr error;
    bool done = false;
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(ctx, fn(), [&](std::exception_ptr e) { error = e; done = true; });
        detail::drive(ctx, done, timeout);
        if (error) std::rethrow_exception(error);
    } else {
        std::optional<T> result;
        boost::asio::co_spawn(ctx, fn(), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e) result.emplace(std::move(v));
            done = true;
        });
        detail::drive(ctx, done, timeout);
        if (error) std::rethrow_exception(error);
        return std::move(*result);
    }
}

// Polls `pred` every 5 ms (running `ctx` meanwhile if given) until it is true or `timeout` passes.
// Returns the final value of pred(), so tests write CHECK(poll_until(...)).
inline bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(20),
                       boost::asio::io_context* ctx = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        if (ctx) {
            ctx->restart();
            ctx->run_for(std::chrono::milliseconds(5));
        } else {
            struct timespec ts{0, 5'000'000};
            nanosleep(&ts, nullptr);
        }
    }
    return pred();
}

// A fresh directory under $TMPDIR, removed when the object dies.
// Runs `make()` (a coroutine) to completion on a fresh io_context and returns its answer.
template <class Make>
auto run_coroutine(Make make) {
    boost::asio::io_context ctx;
    auto f = boost::asio::co_spawn(ctx, make(), boost::asio::use_future);
    ctx.run();
    return f.get();
}

// A loopback port that is free now.
inline std::uint16_t free_tcp_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// Whether something accepts connections on 127.0.0.1:`port`, within poll_until's default time.
inline bool wait_for_listener(std::uint16_t port) {
    return poll_until([&] {
        boost::asio::io_context io;
        boost::asio::ip::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
        return !ec;
    });
}

class temp_dir {
public:
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "spacehook-test-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

}  // namespace spacehook::test

#endif
