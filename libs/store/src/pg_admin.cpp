#include "pg_store.hpp"
#include "spacehook/store/pg_queue.hpp"

namespace spacehook::store {
namespace {

class pg_admin final : public admin {
public:
    pg_admin(const std::string& url, int connect_timeout_s) : c_(url, connect_timeout_s) { pg::migrate(c_); }

    std::vector<job> list_jobs(const job_filter& f) override { return pgstore::list_jobs(c_, f); }
    std::optional<job> get_job(std::int64_t id) override { return pgstore::get_job(c_, id); }
    std::vector<step> get_steps(std::int64_t job_id) override { return pgstore::get_steps(c_, job_id); }

    job_transition retry_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return pgstore::retry_job(c_, id, now); });
    }
    job_transition cancel_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return pgstore::cancel_job(c_, id, now); });
    }

    purge_counts purge(const std::vector<job_state>& states, std::int64_t older_than, std::int64_t forget_before) override {
        pg::transaction tx(c_);
        auto out = pgstore::purge(c_, states, older_than, forget_before);
        tx.commit();
        return out;
    }

    std::vector<event_record> list_events(const event_filter& f) override { return pgstore::list_events(c_, f); }
    std::optional<event_record> get_event(std::int64_t id) override { return pgstore::get_event(c_, id); }

    replay_counts replay_event(std::int64_t event_row, const std::vector<std::string>& rules,
                               const std::optional<std::string>& file_key, int max_attempts, std::int64_t now) override {
        pg::transaction tx(c_);
        auto out = pgstore::replay_event(c_, event_row, rules, file_key, max_attempts, now);
        tx.commit();
        return out;
    }

private:
    // The job's row is locked while its state is read and changed: a worker's transition waits, then finds
    // the state the operator left.
    template <class Change>
    job_transition transition(std::int64_t id, Change change) {
        pg::transaction tx(c_);
        job_transition t;
        auto r = c_.run("SELECT state FROM jobs WHERE id = $1 FOR UPDATE", {std::to_string(id)});
        if (r.rows() > 0) t = {parse_job_state(r.text(0, 0)), change()};
        tx.commit();
        return t;
    }

    pg::connection c_;
};

}  // namespace

std::unique_ptr<admin> open_pg_admin(const std::string& url, int connect_timeout_s) {
    return std::make_unique<pg_admin>(url, connect_timeout_s);
}

}  // namespace spacehook::store
