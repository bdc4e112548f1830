#include "args.hpp"
#include "commands.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/service/app.hpp"

#include <csignal>
#include <thread>

#include <pthread.h>

namespace spacehook::cli {

int cmd_serve(const argv_t& argv) {
    args a(argv, {.with_value = {"config"}});
    const auto file = a.required("config");
    auto settings = load_config(file);

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
