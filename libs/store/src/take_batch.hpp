// Splitting a queue of tasks that hold an asio::any_completion_handler.
#ifndef SPACEHOOK_STORE_TAKE_BATCH_HPP
#define SPACEHOOK_STORE_TAKE_BATCH_HPP

#include <cstddef>
#include <utility>
#include <vector>

namespace spacehook::store::detail {

// Moves the first `n` tasks of `queue` into `batch` (which must be empty) and leaves the rest in `queue`, in order.
// Only move construction and swap, never move assignment: Boost 1.81's any_completion_handler::operator=(&&)
// passes `other` as an lvalue to its converting constructor, which wraps it in a handler of itself, and so on
// until the stack overflows (fixed in Boost 1.82). vector::erase from the front move-assigns what follows.
template <class Task>
void take_batch(std::vector<Task>& queue, std::vector<Task>& batch, std::size_t n) {
    if (queue.size() <= n) {
        batch.swap(queue);
        return;
    }
    std::vector<Task> rest;
    rest.reserve(queue.size() - n);
    batch.reserve(n);
    for (std::size_t i = 0; i < queue.size(); ++i) (i < n ? batch : rest).push_back(std::move(queue[i]));
    queue.swap(rest);
}

}  // namespace spacehook::store::detail

#endif
