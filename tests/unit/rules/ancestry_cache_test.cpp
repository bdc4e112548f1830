#include "spacehook/rules/ancestry_cache.hpp"

#include <doctest/doctest.h>

#include <string>

using spacehook::rules::ancestry;
using spacehook::rules::ancestry_cache;

TEST_SUITE("rules.ancestry_cache") {

TEST_CASE("a stored ancestry is returned until its TTL passes, then dropped") {
    ancestry_cache c(10, 1000);
    CHECK(c.get("9001", 0) == nullptr);
    c.put("9001", {"3", "86193", "9001"}, 100);
    const ancestry* a = c.get("9001", 100);
    REQUIRE(a != nullptr);
    CHECK(*a == ancestry{"3", "86193", "9001"});
    CHECK(c.get("9001", 1099) != nullptr);
    CHECK(c.get("9001", 1100) == nullptr);  // stored_at + ttl: expired
    CHECK(c.size() == 0);
    CHECK(c.hits() == 2);
    CHECK(c.misses() == 2);
}

TEST_CASE("put replaces an entry and restarts its TTL") {
    ancestry_cache c(10, 1000);
    c.put("9001", {"3", "1", "9001"}, 0);
    c.put("9001", {"3", "2", "9001"}, 900);
    CHECK(c.size() == 1);
    const ancestry* a = c.get("9001", 1500);
    REQUIRE(a != nullptr);
    CHECK((*a)[1] == "2");
}

TEST_CASE("the least recently used entry is evicted when full") {
    ancestry_cache c(3, 0);
    c.put("a", {"a"}, 0);
    c.put("b", {"b"}, 0);
    c.put("c", {"c"}, 0);
    CHECK(c.get("a", 1) != nullptr);  // a is now the most recently used; b the least
    c.put("d", {"d"}, 2);
    CHECK(c.size() == 3);
    CHECK(c.get("b", 3) == nullptr);
    CHECK(c.get("a", 3) != nullptr);
    CHECK(c.get("c", 3) != nullptr);
    CHECK(c.get("d", 3) != nullptr);
    // Replacing counts as a use too.
    c.put("a", {"a2"}, 4);  // order now: a, d, c
    c.put("e", {"e"}, 5);
    CHECK(c.get("c", 6) == nullptr);
    CHECK(c.get("a", 6) != nullptr);
}

TEST_CASE("a TTL of zero never expires and a size of zero caches nothing") {
    ancestry_cache forever(2, 0);
    forever.put("x", {"x"}, 0);
    CHECK(forever.get("x", 1'000'000'000'000) != nullptr);
    ancestry_cache off(0, 1000);
    off.put("x", {"x"}, 0);
    CHECK(off.size() == 0);
    CHECK(off.get("x", 0) == nullptr);
}

TEST_CASE("invalidate drops the folder and every folder below it") {
    ancestry_cache c(10, 0);
    c.put("9001", {"3", "86193", "9001"}, 0);
    c.put("9002", {"3", "86193", "9001", "9002"}, 0);
    c.put("7000", {"3", "70000", "7000"}, 0);
    c.put("86193", {"3", "86193"}, 0);
    c.invalidate("9001");
    CHECK(c.get("9001", 0) == nullptr);
    CHECK(c.get("9002", 0) == nullptr);
    CHECK(c.get("7000", 0) != nullptr);
    CHECK(c.get("86193", 0) != nullptr);
    c.invalidate("3");
    CHECK(c.size() == 0);
    c.invalidate("unknown");  // harmless
}

TEST_CASE("clear empties the cache and keys stay valid across many evictions") {
    ancestry_cache c(8, 100);
    for (int i = 0; i < 1000; ++i) {
        auto id = std::to_string(i);
        c.put(id, {"3", id}, i);
        CHECK(c.size() <= 8);
    }
    for (int i = 992; i < 1000; ++i) CHECK(c.get(std::to_string(i), 1000) != nullptr);
    CHECK(c.get("991", 1000) == nullptr);
    c.clear();
    CHECK(c.size() == 0);
    CHECK(c.get("999", 1000) == nullptr);
}

TEST_CASE("a moved cache keeps its entries and order") {
    ancestry_cache a(2, 0);
    a.put("x", {"x"}, 0);
    a.put("y", {"y"}, 0);
    ancestry_cache b(std::move(a));
    REQUIRE(b.get("x", 1) != nullptr);  // y is now the least recently used
    b.put("z", {"z"}, 2);
    CHECK(b.get("y", 3) == nullptr);
    CHECK(*b.get("x", 3) == ancestry{"x"});
    CHECK(b.size() == 2);
}

}
