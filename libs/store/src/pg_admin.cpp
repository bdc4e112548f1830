#include "pg_store.hpp"
#include "spacehook/store/pg_queue.hpp"

namespace spacehook::store {
namespace {

class pg_admin final : public admin {
public:
    pg_admin(const std::string& url, int connect_timeout_s) : c_(url, connect_timeout_s) { pg::migrate(c_); }

    std::vector<job> list_jobs(const job_filter& f) override { return pgstore::list_jobs(c_, f); }
    std::int64_t count_jobs(const job_filter& f) override { return pgstore::count_jobs(c_, f); }
    std::optional<job> get_job(std::int64_t id) override { return pgstore::get_job(c_, id); }
    std::vector<step> get_steps(std::int64_t job_id) override { return pgstore::get_steps(c_, job_id); }

    job_transition retry_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return pgstore::retry_job(c_, id, now); });
    }
    job_transition cancel_job(std::int64_t id, std::int64_t now) override {
        return transition(id, [&] { return pgstore::cancel_job(c_, id, now); });
    }

    int retry_jobs(const std::vector<std::int64_t>& ids, std::int64_t now) override {
        return each(ids, [&](std::int64_t id) { return pgstore::retry_job(c_, id, now); });
    }
    int cancel_jobs(const std::vector<std::int64_t>& ids, std::int64_t now) override {
        return each(ids, [&](std::int64_t id) { return pgstore::cancel_job(c_, id, now); });
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

    std::int64_t max_job_id() override { return pgstore::max_job_id(c_); }

    overview stats(std::int64_t now, const std::vector<window_spec>& windows) override {
        overview o;
        o.by_state = pgstore::count_by_state(c_);
        o.oldest_due = pgstore::next_due(c_);
        for (const auto& [bucket_ms, buckets] : windows) {
            window_counts w;
            const std::int64_t from = now - bucket_ms * buckets;
            w.accepted = counted("SELECT (received_at - $1) / $2, count(*) FROM events WHERE received_at >= $1 GROUP BY 1",
                                 from, bucket_ms, buckets, nullptr);
            constexpr std::string_view by_state = "SELECT (updated_at - $1) / $2, count(*) FROM jobs WHERE state = $3 "
                                                  "AND updated_at >= $1 GROUP BY 1";
            w.succeeded = counted(by_state, from, bucket_ms, buckets, "succeeded");
            w.dead = counted(by_state, from, bucket_ms, buckets, "dead");
            o.windows.push_back(std::move(w));
        }
        return o;
    }

    std::optional<std::int64_t> last_delivery(const std::string& path, std::int64_t since) override {
        auto r = c_.run("SELECT max(received_at) FROM events WHERE received_at >= $2 AND path = $1",
                        {path, std::to_string(since)});
        if (r.rows() == 0 || r.is_null(0, 0)) return std::nullopt;
        return r.int64(0, 0);
    }

    std::map<std::string, std::map<job_state, std::int64_t>> rule_counts() override {
        auto r = c_.run("SELECT rule, state, count(*) FROM jobs GROUP BY rule, state", {});
        std::map<std::string, std::map<job_state, std::int64_t>> out;
        for (int i = 0; i < r.rows(); ++i)
            if (auto state = parse_job_state(r.text(i, 1))) out[std::string(r.text(i, 0))][*state] = r.int64(i, 2);
        return out;
    }

private:
    series counted(std::string_view sql, std::int64_t from, std::int64_t bucket_ms, int buckets, const char* state) {
        series out{from, bucket_ms, std::vector<std::int64_t>(static_cast<std::size_t>(buckets), 0)};
        const auto f = std::to_string(from), b = std::to_string(bucket_ms);
        auto r = state ? c_.run(sql, {f, b, std::string_view(state)}) : c_.run(sql, {f, b});
        for (int i = 0; i < r.rows(); ++i) {
            auto k = r.int64(i, 0);
            if (k >= 0 && k < buckets) out.counts[static_cast<std::size_t>(k)] += r.int64(i, 1);
        }
        return out;
    }

    template <class Change>
    int each(const std::vector<std::int64_t>& ids, Change change) {
        pg::transaction tx(c_);
        int changed = 0;
        for (auto id : ids) changed += change(id) ? 1 : 0;
        tx.commit();
        return changed;
    }

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
