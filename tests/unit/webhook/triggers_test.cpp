// The webhook trigger table against docs/docspace-protocol.md §2.3.
#include "spacehook/webhook/triggers.hpp"

#include <doctest/doctest.h>

using namespace spacehook::webhook;

TEST_SUITE("webhook triggers") {

TEST_CASE("names map to the protocol's bits and back") {
    CHECK(trigger_bit("user.created") == 1);
    CHECK(trigger_bit("group.deleted") == 64);
    CHECK(trigger_bit("file.created") == 128);
    CHECK(trigger_bit("file.uploaded") == 256);
    CHECK(trigger_bit("file.updated") == 512);
    CHECK(trigger_bit("file.moved") == 16384);
    CHECK(trigger_bit("folder.created") == 32768);
    CHECK(trigger_bit("folder.moved") == 2097152);
    CHECK(trigger_bit("room.created") == 4194304);
    CHECK(trigger_bit("room.copied") == 134217728);
    CHECK(trigger_bit("form.submit") == 268435456);
    CHECK(trigger_bit("form.filled.out") == 536870912);
    CHECK(trigger_bit("form.stopped") == 1073741824);
    CHECK(trigger_bit("agent.created") == 2147483648LL);
    CHECK(trigger_bit("agent.deleted") == 8589934592LL);
    CHECK(trigger_bit("file.downloaded") == 17179869184LL);
    CHECK(trigger_bit("folder.downloaded") == 34359738368LL);
    CHECK(trigger_bit("*") == 0);
    CHECK(trigger_bit("All") == 0);
    CHECK_FALSE(trigger_bit("file.exploded").has_value());

    CHECK(trigger_table().size() == 36);
    for (const auto& t : trigger_table()) {
        CAPTURE(t.name);
        CHECK(trigger_bit(t.name) == t.bit);
        CHECK(trigger_name(t.bit) == t.name);
    }
    CHECK(trigger_name(0) == "*");
    CHECK(trigger_name(3).empty());
}

TEST_CASE("admin-only triggers are the ones marked A") {
    std::vector<std::string_view> admin;
    for (const auto& t : trigger_table())
        if (t.admin_only) admin.push_back(t.name);
    CHECK(admin == std::vector<std::string_view>{"user.created", "user.invited", "group.created", "group.updated",
                                                 "group.deleted", "room.created", "room.copied", "agent.created"});
}

TEST_CASE("masks split into names and names combine into masks") {
    CHECK(trigger_names(0) == std::vector<std::string>{"*"});
    CHECK(trigger_names(768) == std::vector<std::string>{"file.uploaded", "file.updated"});
    CHECK(trigger_names(256 | (1LL << 40)) == std::vector<std::string>{"file.uploaded", "1099511627776"});
    CHECK(trigger_mask({"file.uploaded", "file.updated"}) == 768);
    CHECK(trigger_mask({"file.uploaded", "*"}) == 0);
    CHECK_FALSE(trigger_mask({"file.uploaded", "nope"}).has_value());
}

}  // TEST_SUITE
