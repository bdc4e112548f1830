#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/migrate.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <sqlite3.h>

using namespace spacehook;

namespace {
struct fixture {
    test::temp_dir dir;
    store::database db{dir.file("q.db")};
    fixture() { store::migrate(db); }

    std::int64_t add(const std::string& event_id, const std::optional<std::string>& file_key, std::int64_t at = 1000,
                     int max_attempts = 3) {
        store::delivery d;
        d.path = "/h";
        d.webhook_id = "1";
        d.event_id = event_id;
        d.trigger = "file.uploaded";
        d.body = "{}";
        d.received_at = at;
        d.max_attempts = max_attempts;
        d.jobs.push_back({"rule", file_key});
        return store::insert_delivery(db, d).event_row;
    }
};
}  // namespace

TEST_SUITE("store jobs") {
    TEST_CASE("lease takes due jobs oldest first, marks them running and counts the attempt") {
        fixture f;
        f.add("1", std::nullopt, 1000);
        f.add("2", std::nullopt, 500);
        f.add("3", std::nullopt, 5000);  // not due at 2000
        auto a = store::lease_next(f.db, 2000, 60000);
        auto b = store::lease_next(f.db, 2000, 60000);
        auto c = store::lease_next(f.db, 2000, 60000);
        REQUIRE(a);
        REQUIRE(b);
        CHECK_FALSE(c);
        CHECK(a->run_at == 500);
        CHECK(b->run_at == 1000);
        CHECK(a->state == store::job_state::running);
        CHECK(a->attempts == 1);
        CHECK(*a->lease_until == 62000);
        CHECK(store::next_due(f.db) == 5000);
    }

    TEST_CASE("jobs of one file run one at a time, in order") {
        fixture f;
        f.add("1", "file:9");
        f.add("2", "file:9");
        f.add("3", "file:10");
        auto a = store::lease_next(f.db, 2000, 60000);
        auto b = store::lease_next(f.db, 2000, 60000);
        auto c = store::lease_next(f.db, 2000, 60000);
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->file_key == "file:9");
        CHECK(b->file_key == "file:10");  // the second file:9 job waits
        CHECK_FALSE(c);
        CHECK(store::finish_job(f.db, store::lease_of(*a), {.state = store::job_state::succeeded}, 2100));
        auto d = store::lease_next(f.db, 2200, 60000);
        REQUIRE(d);
        CHECK(d->file_key == "file:9");
        CHECK(d->id > a->id);
    }

    TEST_CASE("lease and next_due walk jobs_due in run_at order instead of reading every queued job") {
        // Without statistics SQLite preferred jobs_state_updated plus a sort: O(queued) per lease.
        fixture f;
        f.add("1", "file:9");
        store::lease_next(f.db, 2000, 60000);
        store::next_due(f.db);
        int checked = 0;
        for (auto* s = sqlite3_next_stmt(f.db.handle(), nullptr); s; s = sqlite3_next_stmt(f.db.handle(), s)) {
            std::string sql = sqlite3_sql(s);
            const bool lease = sql.find("ORDER BY j.run_at LIMIT 1") != std::string::npos;  // the lease's pick
            if (!lease && sql.find("min(run_at)") == std::string::npos)
                continue;
            auto eqp = f.db.prepare("EXPLAIN QUERY PLAN " + sql);
            std::string plan;
            while (eqp.step()) plan += eqp.text(3) + "\n";
            const std::string what = sql + "\n" + plan;
            INFO(what);
            CHECK(plan.find("INDEX jobs_due") != std::string::npos);
            CHECK(plan.find("TEMP B-TREE") == std::string::npos);
            // The per-file test walks jobs_file_active (its predicate spelled as the index's).
            if (lease) CHECK(plan.find("INDEX jobs_file_active") != std::string::npos);
            ++checked;
        }
        CHECK(checked == 2);
    }

    TEST_CASE("an expired lease makes the job due again, and dead when out of attempts") {
        fixture f;
        f.add("1", std::nullopt, 1000, 2);
        auto a = store::lease_next(f.db, 1000, 100);
        REQUIRE(a);
        CHECK(store::release_expired(f.db, 1050) == 0);
        CHECK(store::release_expired(f.db, 1200) == 1);
        auto again = store::lease_next(f.db, 1200, 100);
        REQUIRE(again);
        CHECK(again->attempts == 2);
        CHECK(again->last_error->find("lease expired") != std::string::npos);
        // The first holder lost its lease: its outcome no longer applies.
        CHECK_FALSE(store::finish_job(f.db, store::lease_of(*a), {.state = store::job_state::succeeded}, 1300));
        CHECK(store::release_expired(f.db, 2000) == 1);
        CHECK(store::get_job(f.db, a->id)->state == store::job_state::dead);
    }

    TEST_CASE("retry schedules the job, release gives the attempt back") {
        fixture f;
        f.add("1", std::nullopt);
        auto a = store::lease_next(f.db, 1000, 60000);
        REQUIRE(store::finish_job(f.db, store::lease_of(*a), {.state = store::job_state::retrying, .reason = "HTTP 500", .run_at = 9000}, 1000));
        CHECK_FALSE(store::lease_next(f.db, 8999, 60000));
        auto b = store::lease_next(f.db, 9000, 60000);
        REQUIRE(b);
        CHECK(b->attempts == 2);
        CHECK(store::release_job(f.db, store::lease_of(*b), 9100));
        auto j = store::get_job(f.db, b->id);
        CHECK(j->state == store::job_state::retrying);
        CHECK(j->attempts == 1);
    }

    TEST_CASE("steps are created once and keep their state across attempts") {
        fixture f;
        f.add("1", std::nullopt);
        auto a = store::lease_next(f.db, 1000, 60000);
        auto steps = store::ensure_steps(f.db, a->id, {"move", "notify"}, 1000);
        REQUIRE(steps.size() == 2);
        CHECK(steps[0].state == store::step_state::pending);
        CHECK(store::finish_step(f.db, store::lease_of(*a), {0, store::step_state::done, "moved to folder 5"}, 1100));
        auto again = store::ensure_steps(f.db, a->id, {"move", "notify"}, 1200);
        CHECK(again[0].state == store::step_state::done);
        CHECK(*again[0].result == "moved to folder 5");
        CHECK(again[1].state == store::step_state::pending);
    }

    TEST_CASE("step writes hold only under the lease that made them, and a started step keeps its operation id") {
        fixture f;
        f.add("1", std::nullopt);
        auto a = store::lease_next(f.db, 1000, 60000);
        store::ensure_steps(f.db, a->id, {"copy"}, 1000);
        CHECK(store::start_step(f.db, store::lease_of(*a), 0, "", 1000));
        CHECK(store::set_step_operation(f.db, store::lease_of(*a), 0, "op-1", 1000));
        CHECK(store::get_steps(f.db, a->id)[0].operation == "op-1");
        // The lease expires and the job is leased again: the old worker's writes match nothing.
        CHECK(store::release_expired(f.db, 70000) == 1);
        auto b = store::lease_next(f.db, 70000, 60000);
        REQUIRE(b);
        CHECK(b->attempts == a->attempts + 1);
        CHECK_FALSE(store::finish_step(f.db, store::lease_of(*a), {0, store::step_state::done, "copied"}, 70001));
        CHECK_FALSE(store::set_step_operation(f.db, store::lease_of(*a), 0, "op-2", 70001));
        auto st = store::get_steps(f.db, a->id)[0];
        CHECK(st.state == store::step_state::started);
        CHECK(st.operation == "op-1");
        // Starting the step again (the new attempt issues the copy again) forgets the old operation id.
        CHECK(store::start_step(f.db, store::lease_of(*b), 0, "", 70002));
        CHECK_FALSE(store::get_steps(f.db, b->id)[0].operation);
    }

    TEST_CASE("operator retry, cancel and purge change only what they should") {
        fixture f;
        f.add("1", std::nullopt, 1000);
        f.add("2", std::nullopt, 1000);
        auto a = store::lease_next(f.db, 1000, 60000);
        CHECK_FALSE(store::retry_job(f.db, a->id, 1100));  // running
        store::finish_job(f.db, store::lease_of(*a), {.state = store::job_state::dead, .reason = "HTTP 403"}, 1100);
        CHECK(store::retry_job(f.db, a->id, 1200));
        CHECK(store::get_job(f.db, a->id)->state == store::job_state::queued);
        CHECK(store::get_job(f.db, a->id)->attempts == 0);
        auto other = a->id == 1 ? 2 : 1;
        CHECK(store::cancel_job(f.db, other, 1300));
        CHECK_FALSE(store::cancel_job(f.db, other, 1300));
        auto c = store::purge(f.db, {store::job_state::cancelled}, 2000, 0);
        CHECK(c.jobs == 1);
        CHECK(c.events == 1);  // the event left without jobs is older than the cutoff: its body goes
        CHECK(c.forgotten == 0);  // its identity stays until forget_before
        const auto purged_event = std::to_string(other);  // job N belongs to event N, event_id "N"
        CHECK(store::event_known(f.db, "1", purged_event));
        CHECK(store::get_event(f.db, other)->body.empty());
        CHECK(store::get_event(f.db, a->id)->body == "{}");
        auto later = store::purge(f.db, {store::job_state::cancelled}, 2000, 1500);
        CHECK(later.events == 0);
        CHECK(later.forgotten == 1);
        CHECK_FALSE(store::event_known(f.db, "1", purged_event));
        CHECK(store::list_jobs(f.db, {}).size() == 1);
        CHECK(store::count_by_state(f.db)[store::job_state::queued] == 1);
    }

    TEST_CASE("replay re-queues a finished job with fresh steps and creates missing ones") {
        fixture f;
        auto ev = f.add("1", std::nullopt);
        auto a = store::lease_next(f.db, 1000, 60000);
        store::ensure_steps(f.db, a->id, {"notify"}, 1000);
        store::finish_step(f.db, store::lease_of(*a), {0, store::step_state::done, "sent"}, 1000);
        store::finish_job(f.db, store::lease_of(*a), {.state = store::job_state::succeeded}, 1000);
        auto c = store::replay_event(f.db, ev, {"rule", "other"}, std::nullopt, 5, 2000);
        CHECK(c.requeued == 1);
        CHECK(c.created == 1);
        CHECK(store::get_steps(f.db, a->id).empty());
        CHECK(store::list_jobs(f.db, {.state = store::job_state::queued}).size() == 2);
    }

    TEST_CASE("an attempt ends in one transition: the last step and the job together, or neither once the lease is lost") {
        fixture f;
        f.add("1", std::nullopt);
        auto a = store::lease_next(f.db, 1000, 100);
        store::ensure_steps(f.db, a->id, {"move", "notify"}, 1000);
        REQUIRE(store::finish_step(f.db, store::lease_of(*a), {0, store::step_state::done, "moved"}, 1000));
        // The lease expires and another worker takes the job: the first worker's ending changes nothing.
        CHECK(store::release_expired(f.db, 1200) == 1);
        auto b = store::lease_next(f.db, 1200, 60000);
        REQUIRE(b);
        const store::job_end ending{.state = store::job_state::succeeded,
                                    .last_step = store::step_end{1, store::step_state::done, "sent"}};
        CHECK_FALSE(store::finish_job(f.db, store::lease_of(*a), ending, 1300));
        CHECK(store::get_steps(f.db, a->id)[1].state == store::step_state::pending);
        CHECK(store::get_job(f.db, a->id)->state == store::job_state::running);
        // The holder's ending records both.
        CHECK(store::finish_job(f.db, store::lease_of(*b), ending, 1400));
        CHECK(store::get_steps(f.db, a->id)[1].state == store::step_state::done);
        CHECK(*store::get_steps(f.db, a->id)[1].result == "sent");
        CHECK(store::get_job(f.db, a->id)->state == store::job_state::succeeded);
        // A transition that is not an ending is refused before it touches the row.
        CHECK_THROWS_AS(store::finish_job(f.db, store::lease_of(*b), {.state = store::job_state::queued}, 1500),
                        std::invalid_argument);
    }

    TEST_CASE("every state's name reads back as that state, and unknown names are refused") {
        for (auto s : store::all_job_states) CHECK(store::parse_job_state(store::to_string(s)) == s);
        for (auto s : {store::step_state::pending, store::step_state::started, store::step_state::done,
                       store::step_state::skipped})
            CHECK(store::parse_step_state(store::to_string(s)) == s);
        CHECK_FALSE(store::parse_job_state("Queued"));
        CHECK_FALSE(store::parse_step_state("running"));
        CHECK(store::is_final(store::job_state::cancelled));
        CHECK_FALSE(store::is_final(store::job_state::retrying));
    }
}
