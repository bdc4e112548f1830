#include "args.hpp"
#include "commands.hpp"
#include "db_commands.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/service/planning.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/webhook/envelope.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {
namespace json = boost::json;
namespace {

void print(const std::string& s) { std::fputs(s.c_str(), stdout); }

json::object event_json(const store::event_record& e, bool with_body) {
    json::object o{{"id", e.id},
                   {"webhook_id", e.webhook_id},
                   {"event_id", e.event_id},
                   {"trigger", e.trigger},
                   {"path", e.path},
                   {"received_at", clock::format_iso(e.received_at)},
                   {"jobs", e.jobs}};
    if (with_body) o["body"] = e.body;
    return o;
}

}  // namespace

int cmd_events(const argv_t& argv) {
    args a(argv, {.with_value = {"config", "trigger", "since", "limit"}, .boolean = {"json"}});
    if (a.positional().empty()) throw usage_error("which subcommand: list, show or replay?");
    const auto& sub = a.positional()[0];
    auto settings = load_config(a.required("config"));
    auto db = open_database(settings);
    auto need_id = [&]() {
        if (a.positional().size() != 2) throw usage_error(fmt::format("events {} takes one event row ID", sub));
        return parse_id(a.positional()[1], "event ID");
    };
    if (sub == "list") {
        store::event_filter f;
        f.trigger = a.get("trigger");
        if (auto s = a.get("since")) f.since_ms = since_to_ms(*s, "since");
        if (auto l = a.get("limit")) f.limit = static_cast<int>(parse_id(*l, "--limit"));
        auto events = store::list_events(*db, f);
        if (a.has("json")) {
            json::array arr;
            for (const auto& e : events) arr.push_back(event_json(e, false));
            print(json::serialize(arr) + "\n");
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : events)
            rows.push_back({std::to_string(e.id), e.trigger, e.webhook_id.empty() ? "-" : e.webhook_id, e.event_id, e.path,
                            clock::format_iso(e.received_at), std::to_string(e.jobs)});
        print(format_table({"ID", "TRIGGER", "WEBHOOK", "EVENT", "PATH", "RECEIVED", "JOBS"}, rows));
        print(fmt::format("{} event(s)\n", events.size()));
        return 0;
    }
    if (sub == "show") {
        auto id = need_id();
        auto e = store::get_event(*db, id);
        if (!e) throw user_error(fmt::format("no event {}", id));
        if (a.has("json")) {
            print(json::serialize(event_json(*e, true)) + "\n");
            return 0;
        }
        print(fmt::format("event {}  trigger {}  webhook {}  event id {}\npath {}  received {}  jobs {}\n\n{}\n", e->id,
                          e->trigger, e->webhook_id, e->event_id, e->path, clock::format_iso(e->received_at), e->jobs,
                          e->body));
        return 0;
    }
    if (sub == "replay") {
        auto id = need_id();
        auto e = store::get_event(*db, id);
        if (!e) throw user_error(fmt::format("no event {}", id));
        auto parsed = webhook::parse_envelope(e->body);
        if (auto* why = std::get_if<std::string>(&parsed)) throw user_error(fmt::format("event {}: {}", id, *why));
        const auto& env = std::get<webhook::envelope>(parsed);
        rules::matcher m(settings);
        auto planned = service::plan_jobs(m, env);
        std::vector<std::string> names;
        for (const auto& p : planned) names.push_back(p.rule);
        store::transaction tx(*db);
        auto c = store::replay_event(*db, id, names, service::file_key_for(env), settings.workers.max_attempts,
                                     clock::now_ms());
        tx.commit();
        if (a.has("json"))
            print(json::serialize(json::object{{"created", c.created}, {"requeued", c.requeued}, {"busy", c.busy}}) + "\n");
        else
            print(fmt::format("event {}: {} rule(s) match; {} job(s) created, {} queued again, {} left alone (still "
                              "pending or running)\n",
                              id, names.size(), c.created, c.requeued, c.busy));
        return 0;
    }
    throw usage_error(fmt::format("unknown events subcommand \"{}\"", sub));
}

}  // namespace spacehook::cli
