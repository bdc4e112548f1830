#include "held_lease.hpp"

#include "spacehook/core/clock.hpp"

namespace spacehook::worker {

bool held_lease::check(const store::result<bool>& r) {
    if (r) {
        failed_.reset();
        return *r;
    }
    failed_ = r.error();
    return false;
}

result held_lease::ended() const {
    if (failed_) return retry("database: " + failed_->message);
    return lease_lost();
}

awaitable<bool> held_lease::hold(std::int64_t lease_ms) {
    const auto now = clock::now_ms();
    if (until_ - now >= lease_ms / 2) co_return true;
    const auto until = now + lease_ms;
    const auto r = co_await queue_.extend_lease(lease_, until);
    const bool held = check(r);
    if (held) until_ = until;
    co_return held;
}

awaitable<bool> held_lease::start_step(int idx, const std::string& note) {
    const auto r = co_await queue_.start_step(lease_, idx, note);
    co_return check(r);
}

awaitable<bool> held_lease::set_step_operation(int idx, const std::string& operation) {
    const auto r = co_await queue_.set_step_operation(lease_, idx, operation);
    co_return check(r);
}

awaitable<bool> held_lease::finish_step(const store::step_end& end) {
    const auto r = co_await queue_.finish_step(lease_, end);
    co_return check(r);
}

awaitable<bool> held_lease::release() {
    const auto r = co_await queue_.release_job(lease_);
    co_return check(r);
}

}  // namespace spacehook::worker
