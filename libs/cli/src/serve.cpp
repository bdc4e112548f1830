#include "args.hpp"
#include "commands.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/core/asio.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/service/app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <functional>

#include <sys/resource.h>

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

    // Signals arrive through an asio::signal_set run on this thread: SIGHUP reloads, SIGINT or SIGTERM stops.
    // It exists before the service starts, so a signal sent during start-up is not lost.
    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context signal_ctx(1);
    asio::signal_set signals(signal_ctx, SIGINT, SIGTERM, SIGHUP);
    service::app app(std::move(settings));
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                                int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            try {
                auto problems = app.reload(load_config(file));
                for (const auto& p : problems) log::error("serve.reload_refused", {{"reason", p}});
            } catch (const std::exception& e) {
                log::error("serve.reload_refused", {{"reason", e.what()}});
            }
            signals.async_wait(on_signal);
            return;
        }
        log::info("serve.signal", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        app.stop();  // the handler is not armed again: run() returns
    };
    signals.async_wait(on_signal);
    signal_ctx.run();
    app.wait();
    return 0;
}

}  // namespace spacehook::cli
