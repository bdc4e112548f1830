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
    std::int64_t count_jobs(const job_filter& f) override { return store::count_jobs(db_, f); }
    std::optional<job> get_job(std::int64_t id) override { return store::get_job(db_, id); }
    std::vector<step> get_steps(std::int64_t job_id) override { return store::get_steps(db_, job_id); }

    job_transition retry_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return store::retry_job(db_, id, now); });
    }
    job_transition cancel_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return store::cancel_job(db_, id, now); });
    }

    int retry_jobs(const std::vector<std::int64_t>& ids, std::int64_t now) override {
        return each(ids, [&](std::int64_t id) { return store::retry_job(db_, id, now); });
    }
    int cancel_jobs(const std::vector<std::int64_t>& ids, std::int64_t now) override {
        return each(ids, [&](std::int64_t id) { return store::cancel_job(db_, id, now); });
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

    std::int64_t max_job_id() override { return store::max_job_id(db_); }

    overview stats(std::int64_t now, const std::vector<window_spec>& windows) override {
        overview o;
        o.by_state = store::count_by_state(db_);
        o.oldest_due = store::next_due(db_);
        for (const auto& [bucket_ms, buckets] : windows) {
            window_counts w;
            const std::int64_t from = now - bucket_ms * buckets;
            w.accepted = counted(db_.cached("SELECT (received_at - ?1) / ?2, count(*) FROM events WHERE received_at >= ?1 "
                                            "GROUP BY 1"),
                                 from, bucket_ms, buckets, nullptr);
            // jobs_state_updated: each state's range of updated_at, read from the index alone.
            constexpr std::string_view by_state = "SELECT (updated_at - ?1) / ?2, count(*) FROM jobs WHERE state = ?3 "
                                                  "AND updated_at >= ?1 GROUP BY 1";
            w.succeeded = counted(db_.cached(by_state), from, bucket_ms, buckets, "succeeded");
            w.dead = counted(db_.cached(by_state), from, bucket_ms, buckets, "dead");
            o.windows.push_back(std::move(w));
        }
        return o;
    }

    std::optional<std::int64_t> last_delivery(const std::string& path, std::int64_t since) override {
        // Newest first along events_received_at, stopping at the first row of this path.
        auto& st = db_.cached("SELECT received_at FROM events INDEXED BY events_received_at WHERE received_at >= ?2 "
                              "AND path = ?1 ORDER BY received_at DESC LIMIT 1");
        st.bind(1, path);
        st.bind(2, since);
        std::optional<std::int64_t> out;
        if (st.step()) out = st.int64(0);
        st.reset();
        return out;
    }

    std::map<std::string, std::map<job_state, std::int64_t>> rule_counts() override {
        auto& st = db_.cached("SELECT rule, state, count(*) FROM jobs GROUP BY rule, state");
        std::map<std::string, std::map<job_state, std::int64_t>> out;
        while (st.step())
            if (auto state = parse_job_state(st.text(1))) out[st.text(0)][*state] = st.int64(2);
        return out;
    }

private:
    static series counted(statement& st, std::int64_t from, std::int64_t bucket_ms, int buckets, const char* state) {
        series out{from, bucket_ms, std::vector<std::int64_t>(static_cast<std::size_t>(buckets), 0)};
        st.bind(1, from);
        st.bind(2, bucket_ms);
        if (state) st.bind(3, state);
        while (st.step()) {
            auto i = st.int64(0);
            if (i >= 0 && i < buckets) out.counts[static_cast<std::size_t>(i)] += st.int64(1);
        }
        return out;
    }

    template <class Change>
    int each(const std::vector<std::int64_t>& ids, Change change) {
        transaction tx(db_);
        int changed = 0;
        for (auto id : ids) changed += change(id) ? 1 : 0;
        tx.commit();
        return changed;
    }

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
