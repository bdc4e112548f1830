#include "spacehook/store/migrate.hpp"

#include "spacehook/core/clock.hpp"

#include <set>

namespace spacehook::store {

std::vector<std::string> migrate(database& db, const std::vector<migration>& all) {
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)");
    std::set<std::string> applied;
    {
        auto st = db.prepare("SELECT name FROM schema_migrations");
        while (st.step()) applied.insert(st.text(0));
    }
    std::vector<std::string> now;
    for (const auto& m : all) {
        if (applied.count(m.name)) continue;
        transaction tx(db);
        db.exec(m.sql);
        db.prepare("INSERT INTO schema_migrations(name, applied_at) VALUES(?1, ?2)")
            .bind(1, m.name)
            .bind(2, clock::now_ms())
            .run();
        tx.commit();
        now.push_back(m.name);
    }
    return now;
}

}  // namespace spacehook::store
