// How a queue call waits for its task on a database thread (the SQLite writer, a PostgreSQL connection thread):
// until the task's transaction committed, or the deadline passed.
#ifndef SPACEHOOK_STORE_AWAIT_TASK_HPP
#define SPACEHOOK_STORE_AWAIT_TASK_HPP

#include "spacehook/store/queue.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

#include <fmt/format.h>

namespace spacehook::store::detail {

// Runs `fn` (T(Conn&)) through `submit(std::function<void(Conn&)>, handler)`, which must run the task on its
// thread and complete `handler` (void(std::exception_ptr), bound to the caller's executor) after COMMIT, with
// what the task or the transaction threw. Waits for that or for `deadline`; `to_failure` turns an exception
// into a failure.
//
// The task and its answer live in `pending`, shared with the database thread: a caller that stopped waiting
// leaves nothing behind that the task could write into. The timer stays in this frame: the task's last copy of
// `pending` may be destroyed on the database thread, even after the caller's io_context is gone.
//
// Callers pass a named task (std::move(task)) and name the result before co_return: GCC 12 destroys a temporary
// argument of a coroutine call inside a co_await twice (GCC PR 99576), and `co_return co_await` resumed a
// finished frame in the ASan build.
template <class T, class Conn, class Submit, class Fn, class ToFailure>
awaitable<result<T>> await_task(Submit& submit, Fn fn, std::chrono::milliseconds deadline, ToFailure to_failure) {
    namespace asio = boost::asio;
    struct pending {
        std::optional<T> value;  // set on the database thread, read here once `done`
        std::exception_ptr error;
        bool done = false;  // these two on the caller's executor only
        asio::steady_timer* timer = nullptr;
    };
    const auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, deadline);
    auto p = std::make_shared<pending>();
    p->timer = &timer;
    std::function<void(Conn&)> task = [p, fn = std::move(fn)](Conn& c) { p->value.emplace(fn(c)); };
    auto on_commit = asio::bind_executor(ex, [p](std::exception_ptr e) {
        p->error = std::move(e);
        p->done = true;
        if (p->timer) p->timer->cancel();
    });
    submit(std::move(task), std::move(on_commit));
    co_await timer.async_wait(tuple_awaitable);
    p->timer = nullptr;  // a completion after the deadline finds no timer to cancel
    if (!p->done)
        co_return failure{errc::timed_out, fmt::format("the database did not answer within {} ms", deadline.count())};
    if (p->error) co_return to_failure(p->error);
    co_return std::move(*p->value);
}

}  // namespace spacehook::store::detail

#endif
