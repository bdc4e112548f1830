#include "held_lease.hpp"

#include "spacehook/core/clock.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace spacehook::worker {

// The task owns what it writes and its answer: the caller's frame may be gone by the time it runs. Each
// caller names its task before the co_await (see pool.cpp's write() on GCC PR 99576).
template <class Fn>
awaitable<bool> held_lease::write(Fn fn) {
    auto held = std::make_shared<bool>(false);
    store::writer::task_fn task = [held, fn = std::move(fn)](store::database& db) { *held = fn(db, clock::now_ms()); };
    co_await writer_.async_run(std::move(task), asio::use_awaitable);
    co_return *held;
}

awaitable<bool> held_lease::hold(std::int64_t lease_ms) {
    const auto now = clock::now_ms();
    if (until_ - now >= lease_ms / 2) co_return true;
    const auto l = lease_;
    const auto until = now + lease_ms;
    auto task = [l, until](store::database& db, std::int64_t t) { return store::extend_lease(db, l, until, t); };
    const bool held = co_await write(std::move(task));
    if (held) until_ = until;
    co_return held;
}

awaitable<bool> held_lease::start_step(int idx, const std::string& note) {
    auto task = [l = lease_, idx, note](store::database& db, std::int64_t t) {
        return store::start_step(db, l, idx, note, t);
    };
    const bool held = co_await write(std::move(task));
    co_return held;
}

awaitable<bool> held_lease::set_step_operation(int idx, const std::string& operation) {
    auto task = [l = lease_, idx, op = operation](store::database& db, std::int64_t t) {
        return store::set_step_operation(db, l, idx, op, t);
    };
    const bool held = co_await write(std::move(task));
    co_return held;
}

awaitable<bool> held_lease::finish_step(const store::step_end& end) {
    auto task = [l = lease_, end](store::database& db, std::int64_t t) {
        return store::finish_step(db, l, end, t);
    };
    const bool held = co_await write(std::move(task));
    co_return held;
}

awaitable<bool> held_lease::release() {
    auto task = [l = lease_](store::database& db, std::int64_t t) { return store::release_job(db, l, t); };
    const bool held = co_await write(std::move(task));
    co_return held;
}

}  // namespace spacehook::worker
