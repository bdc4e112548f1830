// Delivery bodies and row counts shared by the tests that drive the real `spacehook serve` binary.
#ifndef SPACEHOOK_TEST_DELIVERIES_HPP
#define SPACEHOOK_TEST_DELIVERIES_HPP

#include "spacehook/store/sqlite.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace spacehook::test {

// A DocSpace v3.1 file.uploaded delivery (docs/docspace-protocol.md §2) for event `id`; each event names its own file,
// 50000 + id, as distinct uploads would.
inline std::string uploaded_body(int id, std::string_view title = "a.pdf") {
    return fmt::format(
        R"({{"event":{{"id":{0},"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded"}},"payload":{{"id":{1},"parentId":8410,"title":"{2}","fileEntryType":2}},"webhook":{{"id":7}}}})",
        id, 50000 + id, title);
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
