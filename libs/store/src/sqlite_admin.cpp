#include "spacehook/store/admin.hpp"
#include "spacehook/store/migrate.hpp"

namespace spacehook::store {
namespace {

class sqlite_admin final : public admin {
public:
    sqlite_admin(const std::string& path, std::int64_t busy_timeout_ms)
        : db_(path, open_options{.busy_timeout_ms = busy_timeout_ms, .create = false}) {
        migrate(db_);
    }

    std::vector<job> list_jobs(const job_filter& f) override { return store::list_jobs(db_, f); }
    std::optional<job> get_job(std::int64_t id) override { return store::get_job(db_, id); }
    std::vector<step> get_steps(std::int64_t job_id) override { return store::get_steps(db_, job_id); }

    job_transition retry_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return store::retry_job(db_, id, now); });
    }
    job_transition cancel_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return store::cancel_job(db_, id, now); });
    }

    purge_counts purge(const std::vector<job_state>& states, std::int64_t older_than, std::int64_t forget_before) override {
        transaction tx(db_);
        auto c = store::purge(db_, states, older_than, forget_before);
        tx.commit();
        return c;
    }

    std::vector<event_record> list_events(const event_filter& f) override { return store::list_events(db_, f); }
    std::optional<event_record> get_event(std::int64_t id) override { return store::get_event(db_, id); }

    replay_counts replay_event(std::int64_t event_row, const std::vector<std::string>& rules,
                               const std::optional<std::string>& file_key, int max_attempts, std::int64_t now) override {
        transaction tx(db_);
        auto c = store::replay_event(db_, event_row, rules, file_key, max_attempts, now);
        tx.commit();
        return c;
    }

private:
    template <class Change>
    job_transition transition(std::int64_t id, Change change) {
        transaction tx(db_);
        job_transition t;
        if (auto j = store::get_job(db_, id)) t = {j->state, change()};
        tx.commit();
        return t;
    }

    database db_;
};

}  // namespace

std::unique_ptr<admin> open_sqlite_admin(const std::string& path, std::int64_t busy_timeout_ms) {
    return std::make_unique<sqlite_admin>(path, busy_timeout_ms);
}

}  // namespace spacehook::store
