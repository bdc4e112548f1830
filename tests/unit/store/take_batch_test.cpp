#include "take_batch.hpp"

#include <boost/asio/any_completion_handler.hpp>

#include <doctest/doctest.h>

#include <exception>
#include <memory>
#include <vector>

namespace {
// A queue entry as the writers hold them: a move-only completion handler.
struct entry {
    int n = 0;
    boost::asio::any_completion_handler<void(std::exception_ptr)> handler;
};
}  // namespace

TEST_SUITE("store take_batch") {
    TEST_CASE("a batch is taken from the front of a longer queue without assigning a completion handler") {
        // Moving entries down by assignment (vector::erase) overflows the stack with Boost 1.81.
        auto calls = std::make_shared<std::vector<int>>();
        std::vector<entry> queue, batch;
        for (int i = 0; i < 7; ++i) queue.push_back({i, [calls, i](std::exception_ptr) { calls->push_back(i); }});
        spacehook::store::detail::take_batch(queue, batch, 3);
        REQUIRE(batch.size() == 3);
        REQUIRE(queue.size() == 4);
        for (int i = 0; i < 3; ++i) CHECK(batch[static_cast<std::size_t>(i)].n == i);
        for (int i = 0; i < 4; ++i) CHECK(queue[static_cast<std::size_t>(i)].n == i + 3);
        for (auto& e : batch) std::move(e.handler)(nullptr);
        batch.clear();
        spacehook::store::detail::take_batch(queue, batch, 3);
        CHECK(queue.size() == 1);
        for (auto& e : batch) std::move(e.handler)(nullptr);
        batch.clear();
        spacehook::store::detail::take_batch(queue, batch, 3);
        CHECK(queue.empty());
        for (auto& e : batch) std::move(e.handler)(nullptr);
        CHECK(*calls == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
    }
}
