// Delivery bodies, store deliveries and row counts shared by the tests.
#ifndef SPACEHOOK_TEST_DELIVERIES_HPP
#define SPACEHOOK_TEST_DELIVERIES_HPP

#include "spacehook/store/events.hpp"
#include "spacehook/store/sqlite.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace spacehook::test {

// A DocSpace v3.1 file.uploaded delivery (docs/docspace-protocol.md §2) for event `id`; each event names its own file,
// 50000 + id, as distinct uploads would.
inline std::string uploaded_body(int id, std::string_view title = "a.pdf") {
    return fmt::format(
        R"({{"event":{{"id":{0},"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded"}},"payload":{{"id":{1},"parentId":8410,"title":"{2}","fileEntryType":2}},"webhook":{{"id":7}}}})",
        id, 50000 + id, title);
}

// A delivery as the store takes it: webhook 7 on /hook, event `event_id`, one job per rule (file key file:1).
inline store::delivery stored_delivery(const std::string& event_id, const std::vector<std::string>& rules = {}) {
    store::delivery d;
    d.path = "/hook";
    d.webhook_id = "7";
    d.event_id = event_id;
    d.trigger = "file.uploaded";
    d.body = R"({"event":{"id":)" + event_id + "}}";
    d.received_at = 1000;
    for (const auto& r : rules) d.jobs.push_back({r, "file:1"});
    return d;
}

// The single integer `sql` (a count) returns, read through a read-only connection to `db_path`.
inline std::int64_t count_rows(const std::string& db_path, const std::string& sql) {
    store::database db(db_path, {.read_only = true});
    auto st = db.prepare(sql);
    st.step();
    return st.int64(0);
}

}  // namespace spacehook::test

#endif
