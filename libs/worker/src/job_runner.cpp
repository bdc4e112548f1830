#include "job_runner.hpp"

#include "actions.hpp"
#include "held_lease.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/store/events.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace spacehook::worker {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::vector<std::string> action_names(const rules::rule& rule) {
    std::vector<std::string> names;
    for (const auto& a : rule.actions) names.emplace_back(rules::to_string(a.kind));
    return names;
}

// What the attempt learns before its first step: the event, the file's current state and the actor, as the
// rule needs them; and whether the rule applies. A value means run the steps; a result ends the attempt.
awaitable<std::optional<result>> gather(runner_deps& d, const runtime& rt, std::size_t rule_idx, bool begun,
                                        job_facts& facts) {
    const auto& s = *rt.settings;
    auto& client = d.docspace.client();
    if (s.docspace.ignore_own_events && !facts.env.created_by.empty()) {
        auto me = co_await d.docspace.self_id();
        if (!me) co_return from_api(me.error());
        if (iequals(facts.env.created_by, *me))
            co_return skipped("the event was caused by spacehook's own DocSpace user (ignore_own_events)");
    }
    const auto& needs = rt.matcher->needs(rule_idx);
    const auto& env = facts.env;
    rules::file_view view{env.entry_id, env.parent_id, env.title};
    const bool is_file = env.entry_type == 2 || (env.entry_type == 0 && env.trigger.starts_with("file."));
    if (needs.file_info && is_file && !env.entry_id.empty()) {
        auto fi = co_await client.file(env.entry_id);
        if (!fi) {
            if (fi.error().status == 404)
                co_return dead(fmt::format("file {} no longer exists (DocSpace answered 404)", env.entry_id));
            co_return from_api(fi.error());
        }
        facts.file = std::move(*fi);
        view = {facts.file->id, facts.file->folder_id, facts.file->title};
    }
    // A job with a step under way or finished was matched by an earlier attempt, and that decision stands:
    // matching it again would judge the rule against a world the job itself has changed (its move took the
    // file out of the room the rule watches), and skip the steps that are left.
    if (!begun) {
        std::optional<rules::ancestry> anc;
        if (needs.ancestry && !view.parent_id.empty()) {
            auto a = co_await d.docspace.ancestry(view.parent_id);
            if (!a) co_return from_api(a.error());
            anc = std::move(*a);
        }
        auto v = rt.matcher->evaluate(rule_idx, env.trigger, view, anc ? &*anc : nullptr);
        if (!v) co_return skipped(v.reason);
        // One upload, one effect: DocSpace sends file.created and file.uploaded for one API upload. A rule that
        // moves the file is done once the file sits in its destination, so the second event's job (which runs
        // after the first, same file key) is skipped instead of notifying twice. Only a job that has not begun:
        // for one that has, the file may sit there because of its own move.
        if (facts.file)
            for (const auto& a : rt.matcher->rule(rule_idx).actions)
                if (a.kind == rules::action_kind::move && facts.file->folder_id == a.to_folder)
                    co_return skipped(fmt::format("file {} is already in folder {}: an earlier event moved it",
                                                  facts.file->id, a.to_folder));
    }
    if (needs.actor && !env.created_by.empty()) {
        auto p = co_await d.docspace.person(env.created_by);
        if (!p && !p.error().permanent()) co_return from_api(p.error());
        if (p) facts.actor = std::move(*p);
    }
    co_return std::nullopt;
}

}  // namespace

awaitable<attempt_end> run_attempt(runner_deps d, const runtime& rt, const store::job& job, std::vector<store::step> steps) {
    const auto& s = *rt.settings;
    auto idx = rt.matcher->find(job.rule);
    if (!idx) co_return attempt_end{skipped(fmt::format("rule \"{}\" is no longer in the configuration", job.rule))};
    const auto& rule = rt.matcher->rule(*idx);

    auto read = co_await d.queue.get_event(job.event_row);
    if (!read) co_return attempt_end{retry("database: " + read.error().message)};
    auto& ev = *read;
    if (!ev) co_return attempt_end{dead(fmt::format("event row {} no longer exists", job.event_row))};
    auto parsed = webhook::parse_envelope(ev->body);
    if (auto* why = std::get_if<std::string>(&parsed)) co_return attempt_end{dead("stored event is unreadable: " + *why)};
    job_facts facts;
    facts.env = std::move(std::get<webhook::envelope>(parsed));

    const bool begun =
        std::any_of(steps.begin(), steps.end(), [](const auto& st) { return st.state != store::step_state::pending; });
    auto ended = co_await gather(d, rt, *idx, begun, facts);
    if (ended) co_return attempt_end{std::move(*ended)};

    const auto names = action_names(rule);
    if (steps.empty()) {  // the rule appeared by a reload between lease and now
        auto made = co_await d.queue.ensure_steps(job.id, names);
        if (!made) co_return attempt_end{retry("database: " + made.error().message)};
        steps = std::move(*made);
    }
    if (steps.size() != names.size() ||
        !std::equal(steps.begin(), steps.end(), names.begin(), [](const auto& st, const auto& n) { return st.action == n; }))
        co_return attempt_end{
            dead("the rule's actions changed since this job first ran; run `spacehook events replay` to apply the new rule")};

    held_lease lease(d.queue, job);
    step_env env{d.docspace, lease, rt, rule, facts};
    for (auto& st : steps) {
        if (st.state == store::step_state::done || st.state == store::step_state::skipped) continue;
        if (d.stopping.load()) {
            const bool released = co_await lease.release();
            (void)released;  // not given back: the lease expires and the job is due then
            log::info("job.released", {{"job", job.id}, {"step", st.idx}});
            co_return attempt_end{retry("released at shutdown"), std::nullopt, true};
        }
        const bool held = co_await lease.hold(s.workers.lease_ms);
        if (!held) co_return attempt_end{lease.ended()};
        const auto& action = rule.actions[static_cast<std::size_t>(st.idx)];
        const auto& templates = rt.templates[*idx][static_cast<std::size_t>(st.idx)];
        const auto t0 = std::chrono::steady_clock::now();
        result r = co_await run_action(env, st, action, templates);
        d.registry
            .get_histogram("spacehook_action_seconds", "Time one action took, by kind.",
                           {{"action", std::string(rules::to_string(action.kind))}})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (r.kind == result_kind::done || r.kind == result_kind::skipped) {
            store::step_end end{st.idx, r.kind == result_kind::done ? store::step_state::done : store::step_state::skipped,
                                r.detail};
            // A resumed attempt checks DocSpace for a move, copy or comment; it cannot check for a sent message.
            end.durable = action.kind == rules::action_kind::notify;
            if (&st == &steps.back()) co_return attempt_end{done(""), std::move(end)};  // recorded with the outcome
            const bool recorded = co_await lease.finish_step(end);
            if (!recorded) co_return attempt_end{lease.ended()};
            continue;
        }
        r.detail = fmt::format("step {} ({}): {}", st.idx + 1, rules::to_string(action.kind), r.detail);
        co_return attempt_end{std::move(r)};
    }
    co_return attempt_end{done("")};
}

}  // namespace spacehook::worker
