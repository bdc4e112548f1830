#include "args.hpp"
#include "commands.hpp"
#include "db_commands.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/service/backfill.hpp"
#include "spacehook/service/database.hpp"
#include "spacehook/service/planning.hpp"
#include "spacehook/service/views.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/webhook/envelope.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {
namespace json = boost::json;
namespace {


// One backfill pass by hand: what DocSpace's delivery log holds that the queue does not.
int events_backfill(const args& a, const config::settings& settings) {
    if (settings.docspace.base_url.empty() || settings.docspace.api_key.empty())
        throw user_error("events backfill reads DocSpace's delivery log: set docspace.base_url and docspace.api_key");
    std::int64_t since = clock::now_ms() - settings.docspace.backfill.horizon_ms;
    if (auto s = a.get("since")) since = since_to_ms(*s, "since");
    service::backfill_options o{.since_ms = since, .dry_run = a.has("dry-run")};

    auto queue = service::open_queue(settings.database);
    asio::io_context io{1};
    service::backfiller bf(io.get_executor(), settings.docspace, *queue, nullptr);
    rules::matcher m(settings.rules);
    service::backfill_report rep;
    asio::co_spawn(io, [&]() -> awaitable<void> { rep = co_await bf.run(settings, m, o); }, asio::detached);
    io.run();

    if (a.has("json")) {
        json::array hooks, refusals;
        for (const auto& h : rep.webhooks)
            hooks.push_back(json::object{{"id", h.id},     {"name", h.name},       {"uri", h.uri},  {"path", h.path},
                                         {"listed", h.listed}, {"enabled", h.enabled}, {"rows", h.rows}});
        for (const auto& r : rep.refusals)
            refusals.push_back(json::object{{"log_id", r.log_id}, {"webhook_id", r.webhook_id}, {"reason", r.reason}});
        json::object out{{"dry_run", o.dry_run}, {"since", clock::format_iso(since)}, {"webhooks", std::move(hooks)},
                         {"ingested", rep.ingested}, {"known", rep.known}, {"refused", rep.refused},
                         {"not_sent", rep.not_sent},
                         {"refusals", std::move(refusals)}};
        if (rep.error) out["error"] = *rep.error;
        print(json::serialize(out) + "\n");
    } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& h : rep.webhooks)
            rows.push_back({std::to_string(h.id), h.name.empty() ? "-" : h.name, h.path,
                            !h.listed ? "deleted" : h.enabled ? "enabled" : "DISABLED", std::to_string(h.rows)});
        print(format_table({"WEBHOOK", "NAME", "PATH", "STATE", "FAILED ROWS"}, rows));
        print(fmt::format("{} failed deliveries since {}: {} {}, {} already stored, {} refused, {} not sent by "
                          "DocSpace yet\n",
                          rep.ingested + rep.known + rep.refused + rep.not_sent, clock::format_iso(since), rep.ingested,
                          o.dry_run ? "to ingest (dry run: nothing stored)" : "ingested", rep.known, rep.refused,
                          rep.not_sent));
        if (!rep.refusals.empty()) {
            std::vector<std::vector<std::string>> refused;
            for (const auto& r : rep.refusals) refused.push_back({std::to_string(r.log_id), std::to_string(r.webhook_id), r.reason});
            print(format_table({"LOG ID", "WEBHOOK", "REFUSED BECAUSE"}, refused));
        }
    }
    if (rep.error) throw user_error(*rep.error);
    return 0;
}

}  // namespace

int cmd_events(const argv_t& argv) {
    args a(argv, {.with_value = {"config", "trigger", "since", "limit"}, .boolean = {"json", "dry-run"}});
    if (a.positional().empty()) throw usage_error("which subcommand: list, show, replay or backfill?");
    const auto& sub = a.positional()[0];
    auto settings = load_config(a.required("config"));
    if (sub == "backfill") {
        if (a.positional().size() != 1) throw usage_error("events backfill takes no arguments");
        return events_backfill(a, settings);
    }
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
        auto events = db->list_events(f);
        if (a.has("json")) {
            json::array arr;
            for (const auto& e : events) arr.push_back(service::event_json(e, false));
            print(json::serialize(arr) + "\n");
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : events)
            rows.push_back({std::to_string(e.id), e.trigger, e.webhook_id.empty() ? "-" : e.webhook_id, e.event_id, e.path,
                            clock::format_iso(e.received_at), std::to_string(e.jobs), e.source});
        print(format_table({"ID", "TRIGGER", "WEBHOOK", "EVENT", "PATH", "RECEIVED", "JOBS", "SOURCE"}, rows));
        print(fmt::format("{} event(s)\n", events.size()));
        return 0;
    }
    if (sub == "show") {
        auto id = need_id();
        auto e = db->get_event(id);
        if (!e) throw user_error(fmt::format("no event {}", id));
        if (a.has("json")) {
            print(json::serialize(service::event_json(*e, true)) + "\n");
            return 0;
        }
        print(fmt::format("event {}  trigger {}  webhook {}  event id {}\npath {}  received {}  source {}  jobs {}\n\n{}\n",
                          e->id, e->trigger, e->webhook_id, e->event_id, e->path, clock::format_iso(e->received_at),
                          e->source, e->jobs, e->body.empty() ? "(body purged by retention; the identity is kept)" : e->body));
        return 0;
    }
    if (sub == "replay") {
        auto id = need_id();
        auto r = service::replay_event(*db, settings, id, clock::now_ms());
        if (r.outcome == service::replay_result::status::no_event) throw user_error(fmt::format("no event {}", id));
        if (r.outcome == service::replay_result::status::refused) throw user_error(r.why);
        const auto& c = r.counts;
        if (a.has("json"))
            print(json::serialize(json::object{{"created", c.created}, {"requeued", c.requeued}, {"busy", c.busy}}) + "\n");
        else
            print(fmt::format("event {}: {} rule(s) match; {} job(s) created, {} queued again, {} left alone (still "
                              "pending or running)\n",
                              id, r.rules, c.created, c.requeued, c.busy));
        return 0;
    }
    throw usage_error(fmt::format("unknown events subcommand \"{}\"", sub));
}

}  // namespace spacehook::cli
