#include "args.hpp"
#include "commands.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/core/asio.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/service/app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <functional>

#include <pthread.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <fmt/format.h>

namespace spacehook::cli {

int cmd_serve(const argv_t& argv) {
    args a(argv, {.with_value = {"config"}});
    const auto file = a.required("config");
    auto settings = load_config(file);

    // Every connection takes a descriptor: use the hard limit (a shell or container often starts at a soft
    // 1024, below the default server.max_connections of 4096), and say so when the cap still does not fit,
    // since connections past the limit meet EMFILE in the listen queue instead of a 503.
    if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &rl);
            ::getrlimit(RLIMIT_NOFILE, &rl);
        }
        const rlim_t wanted = settings.server.max_connections + 2 * settings.workers.concurrency + 64;
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted)
            log::warn("serve.descriptor_limit", {{"limit", static_cast<std::uint64_t>(rl.rlim_cur)},
                                                 {"wanted", static_cast<std::uint64_t>(wanted)},
                                                 {"advice", "raise LimitNOFILE / ulimit -n, or lower server.max_connections"}});
    }

    // Signals are read from a signalfd on this thread's io_context: SIGHUP reloads, SIGINT or SIGTERM stops.
    // They are blocked before any thread starts (every thread inherits the mask), so none is delivered
    // asynchronously to any thread: no handler runs anywhere, and one sent during start-up waits in the
    // descriptor. (asio::signal_set's handler-and-pipe delivery lost a SIGTERM sent right after start-up
    // under ThreadSanitizer, which defers signal handlers.)
    std::signal(SIGPIPE, SIG_IGN);
    sigset_t handled;
    sigemptyset(&handled);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, sig);
    pthread_sigmask(SIG_BLOCK, &handled, nullptr);
    const int sfd = ::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) throw std::runtime_error(fmt::format("signalfd: {}", std::strerror(errno)));
    asio::io_context signal_ctx(1);
    asio::posix::stream_descriptor signals(signal_ctx, sfd);
    service::app app(std::move(settings));
    signalfd_siginfo info{};
    std::function<void(const boost::system::error_code&, std::size_t)> on_signal = [&](const boost::system::error_code& ec,
                                                                                     std::size_t) {
        if (ec) return;
        const auto sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGHUP) {
            try {
                auto problems = app.reload(load_config(file));
                for (const auto& p : problems) log::error("serve.reload_refused", {{"reason", p}});
            } catch (const std::exception& e) {
                log::error("serve.reload_refused", {{"reason", e.what()}});
            }
            asio::async_read(signals, asio::buffer(&info, sizeof info), on_signal);
            return;
        }
        log::info("serve.signal", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        app.stop();  // no further read: run() returns
    };
    asio::async_read(signals, asio::buffer(&info, sizeof info), on_signal);
    signal_ctx.run();
    app.wait();
    return 0;
}

}  // namespace spacehook::cli
