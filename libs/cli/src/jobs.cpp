#include "args.hpp"
#include "commands.hpp"
#include "db_commands.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/service/views.hpp"
#include "spacehook/store/jobs.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {
namespace json = boost::json;
namespace {

const char* const usage_states = "queued, running, retrying, succeeded, skipped, dead, cancelled";

std::string name(store::job_state s) { return std::string(store::to_string(s)); }

int jobs_list(const args& a, store::admin& db) {
    store::job_filter f;
    if (auto s = a.get("state")) {
        f.state = store::parse_job_state(*s);
        if (!f.state) throw usage_error(fmt::format("--state must be one of {}", usage_states));
    }
    f.rule = a.get("rule");
    if (auto s = a.get("since")) f.since_ms = since_to_ms(*s, "since");
    if (auto l = a.get("limit")) f.limit = static_cast<int>(parse_id(*l, "--limit"));
    auto jobs = db.list_jobs(f);
    if (a.has("json")) {
        json::array arr;
        for (const auto& j : jobs) arr.push_back(service::job_json(j));
        print(json::serialize(arr) + "\n");
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : jobs)
        rows.push_back({std::to_string(j.id), std::to_string(j.event_row), j.rule, name(j.state),
                        fmt::format("{}/{}", j.attempts, j.max_attempts), clock::format_iso(j.updated_at),
                        j.last_error.value_or("")});
    print(format_table({"ID", "EVENT", "RULE", "STATE", "ATTEMPTS", "UPDATED", "LAST ERROR"}, rows));
    print(fmt::format("{} job(s)\n", jobs.size()));
    return 0;
}

int jobs_show(const args& a, store::admin& db, std::int64_t id) {
    auto j = db.get_job(id);
    if (!j) throw user_error(fmt::format("no job {}", id));
    auto steps = db.get_steps(id);
    if (a.has("json")) {
        auto o = service::job_json(*j);
        json::array s;
        for (const auto& st : steps) s.push_back(service::step_json(st));
        o["steps"] = std::move(s);
        print(json::serialize(o) + "\n");
        return 0;
    }
    std::string out = fmt::format(
        "job {}  rule {}  state {}  attempts {}/{}\nevent row {}  file {}\ncreated {}  updated {}  run_at {}\n", j->id,
        j->rule, name(j->state), j->attempts, j->max_attempts, j->event_row, j->file_key.value_or("-"),
        clock::format_iso(j->created_at), clock::format_iso(j->updated_at), clock::format_iso(j->run_at));
    if (j->last_error) out += fmt::format("last error: {}\n", *j->last_error);
    out += steps.empty() ? "steps: none yet (the job has not run)\n" : "steps:\n";
    for (const auto& st : steps)
        out += fmt::format("  {}. {:<8} {:<8} {}\n", st.idx + 1, st.action, store::to_string(st.state), st.result.value_or(""));
    print(out);
    return 0;
}

}  // namespace

int cmd_jobs(const argv_t& argv) {
    args a(argv, {.with_value = {"config", "state", "rule", "since", "limit", "older-than"},
                  .boolean = {"json"},
                  .repeatable = {}});
    if (a.positional().empty()) throw usage_error("which subcommand: list, show, retry, cancel or purge?");
    const auto& sub = a.positional()[0];
    auto settings = load_config(a.required("config"));
    auto db = open_database(settings);
    auto need_id = [&]() {
        if (a.positional().size() != 2) throw usage_error(fmt::format("jobs {} takes one job ID", sub));
        return parse_id(a.positional()[1], "job ID");
    };
    if (sub == "list") return jobs_list(a, *db);
    if (sub == "show") return jobs_show(a, *db, need_id());
    if (sub == "retry") {
        auto id = need_id();
        auto t = db->retry_job(id, clock::now_ms());
        if (!t.was) throw user_error(fmt::format("no job {}", id));
        if (!t.changed)
            throw user_error(fmt::format("job {} is {}: only dead, cancelled, skipped or succeeded jobs can be retried", id,
                                         name(*t.was)));
        print(fmt::format("job {} queued again (steps already done are not repeated)\n", id));
        return 0;
    }
    if (sub == "cancel") {
        auto id = need_id();
        auto t = db->cancel_job(id, clock::now_ms());
        if (!t.was) throw user_error(fmt::format("no job {}", id));
        if (!t.changed)
            throw user_error(fmt::format("job {} is {}: only queued or retrying jobs can be cancelled", id, name(*t.was)));
        print(fmt::format("job {} cancelled\n", id));
        return 0;
    }
    if (sub == "purge") {
        auto older = a.get("older-than");
        if (!older) throw usage_error("purge needs --older-than (e.g. 30d)");
        std::vector<store::job_state> states{store::job_state::succeeded, store::job_state::skipped};
        if (auto s = a.get("state")) {
            auto st = store::parse_job_state(*s);
            if (!st || !store::is_final(*st))
                throw usage_error("--state for purge must be succeeded, skipped, dead or cancelled");
            states = {*st};
        }
        auto cutoff = since_to_ms(*older, "older-than");
        auto c = db->purge(states, cutoff, clock::now_ms() - settings.retention.dedup_window_ms);
        if (a.has("json"))
            print(json::serialize(json::object{{"jobs", c.jobs}, {"events", c.events}, {"forgotten", c.forgotten}}) + "\n");
        else
            print(fmt::format("purged {} job(s) and the bodies of {} event(s); forgot {} event(s) older than "
                              "retention.dedup_window\n",
                              c.jobs, c.events, c.forgotten));
        return 0;
    }
    throw usage_error(fmt::format("unknown jobs subcommand \"{}\"", sub));
}

}  // namespace spacehook::cli
