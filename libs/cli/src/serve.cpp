#include "args.hpp"
#include "commands.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/service/app.hpp"

#include <csignal>
#include <thread>

#include <pthread.h>
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

    // Signals are taken by one thread with sigwait, so no handler runs inside the I/O threads; the mask is
    // set before any thread starts so every thread inherits it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    service::app app(std::move(settings));
    std::thread signals([&] {
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0) continue;
            if (sig == SIGHUP) {
                try {
                    auto problems = app.reload(load_config(file));
                    for (const auto& p : problems) log::error("serve.reload_refused", {{"reason", p}});
                } catch (const std::exception& e) {
                    log::error("serve.reload_refused", {{"reason", e.what()}});
                }
                continue;
            }
            log::info("serve.signal", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
            app.stop();
            return;
        }
    });
    app.wait();
    // The signal thread returns after the stop signal; if wait() ended another way, wake it with SIGTERM.
    if (signals.joinable()) {
        pthread_kill(signals.native_handle(), SIGTERM);
        signals.join();
    }
    return 0;
}

}  // namespace spacehook::cli
