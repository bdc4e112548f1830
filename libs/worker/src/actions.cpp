#include "actions.hpp"

#include "spacehook/core/log.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

namespace spacehook::worker {

rules::template_data job_facts::template_data(const rules::rule& rule) const {
    rules::template_data d;
    d.file_id = file ? file->id : env.entry_id;
    d.file_title = file ? file->title : env.title;
    d.file_folder_id = file ? file->folder_id : env.parent_id;
    if (file) {
        d.file_web_url = file->web_url;
        d.file_version = std::to_string(file->version);
        d.file_ext = file->file_exst;
        d.file_size = std::to_string(file->size);
    }
    d.actor_id = env.created_by;
    if (actor) {
        d.actor_name = actor->display_name;
        d.actor_email = actor->email;
    }
    d.event_id = env.event_id;
    d.event_trigger = env.trigger;
    d.event_created_on = env.created_on;
    d.rule_name = rule.name;
    d.webhook_id = env.webhook_id;
    d.webhook_name = env.webhook_name;
    return d;
}

namespace {

using rules::action_kind;

constexpr std::string_view timed_out_message = "timed out waiting for fileop";

// Marks the step started (before its effect is attempted, with `note` as its result), forgetting an earlier
// operation id, under the job's lease.
awaitable<bool> mark_started(step_env& env, store::step& st, const std::string& note) {
    const bool held = co_await env.lease.start_step(st.idx, note);
    if (!held) co_return false;
    st.state = store::step_state::started;
    st.result = note;
    st.operation.reset();
    co_return true;
}

// ---- copies in the destination -------------------------------------------------------------------------
// Overwrite and Duplicate copies note the destination's copies of the file before the operation (as the
// step's result while it is started), so a resumed step can tell whether its copy was made.

using copies = std::map<std::string, int>;  // file id -> version
constexpr std::string_view copies_prefix = "destination before the copy:";

// The destination's copies of a file titled `title`: files named so, or "stem (N).ext" as DocSpace names a
// duplicate.
awaitable<docspace::outcome<copies>> copies_in(docspace::client& client, const std::string& title,
                                               const docspace::entry_id& folder) {
    const auto dot = title.rfind('.');
    const auto stem = dot == std::string::npos || dot == 0 ? title : title.substr(0, dot);
    const auto ext = dot == std::string::npos || dot == 0 ? std::string() : title.substr(dot);
    auto files = co_await client.folder_files(folder, stem);
    if (!files) co_return files.error();
    copies out;
    for (const auto& f : *files) {
        bool numbered = f.title.size() > stem.size() + ext.size() + 3 && f.title.starts_with(stem + " (") &&
                        f.title.ends_with(")" + ext);
        if (numbered) {
            const auto digits = std::string_view(f.title).substr(stem.size() + 2, f.title.size() - stem.size() - ext.size() - 3);
            numbered = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
        }
        if (f.title == title || numbered) out[f.id] = f.version;
    }
    co_return out;
}

std::string format_copies(const copies& c) {
    std::string out(copies_prefix);
    for (const auto& [id, version] : c) out += fmt::format(" {}@v{}", id, version);
    return out;
}

copies parse_copies(std::string_view text) {
    copies c;
    text.remove_prefix(std::min(text.size(), copies_prefix.size()));
    while (!text.empty()) {
        text.remove_prefix(std::min(text.find_first_not_of(' '), text.size()));
        const auto word = text.substr(0, text.find(' '));
        text.remove_prefix(word.size());
        if (auto at = word.rfind("@v"); at != std::string_view::npos)
            c[std::string(word.substr(0, at))] = std::atoi(std::string(word.substr(at + 2)).c_str());
    }
    return c;
}

// The copy a Duplicate or Overwrite operation made: a copy that is new, or whose version grew.
std::optional<std::string> copy_made(const copies& before, const copies& now) {
    for (const auto& [id, version] : now)
        if (auto it = before.find(id); it == before.end() || version > it->second) return id;
    return std::nullopt;
}

// ---- fileops ---------------------------------------------------------------------------------------------

docspace::api_error wait_error(std::string message) {
    docspace::api_error e;
    e.endpoint = "files.fileops.status";
    e.message = std::move(message);
    return e;
}

// Polls `op` until it is finished or vanished, up to `limit`, renewing the job's lease as it goes (a move may
// take longer than workers.lease_ms). A report another worker's poll consumed is taken from docspace_reads.
// `fresh`: `op` was started just now (its first poll teaches the client's first-poll estimate).
awaitable<docspace::outcome<docspace::fileop_result>> await_op(step_env& env, docspace::fileop op,
                                                               std::chrono::milliseconds limit, bool fresh = false) {
    const auto& ds = env.rt.settings->docspace;
    const auto lease_ms = env.rt.settings->workers.lease_ms;
    const auto poll = std::chrono::milliseconds(ds.poll_interval_ms);
    const auto until = std::chrono::steady_clock::now() + limit;
    const auto id = op.id;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        auto r = co_await env.docspace.client().await_fileop(std::move(op), poll,
                                                             std::min(left, std::chrono::milliseconds(lease_ms / 3)), fresh);
        fresh = false;
        if (r && r->vanished)
            if (auto kept = env.docspace.take_report(id)) {
                r->op = std::move(*kept);
                r->vanished = false;
            }
        if (!r || !r->timed_out) co_return r;
        if (left <= std::chrono::milliseconds(lease_ms / 3)) co_return wait_error(std::string(timed_out_message));
        const bool held = co_await env.lease.hold(lease_ms);
        if (!held) co_return wait_error(env.lease.ended().detail + " while waiting for the operation");
        op = std::move(r->op);
    }
}

// How the operation an earlier attempt of this step issued ended: its finished report, or nullopt when it
// ended without one reaching us (DocSpace reports a finished operation once) or was never issued. Without a
// recorded id (the PUT's answer never arrived) DocSpace may be running it right now, under an id we cannot
// tie to the file: every unfinished operation of that kind of the API key's user is waited for first, up to
// docspace.fileop_timeout_ms in all. (That user's own operations, made in DocSpace's UI, are among them, and
// this listing consumes their finished reports.)
awaitable<docspace::outcome<std::optional<docspace::fileop>>> settle_earlier_fileop(step_env& env, const store::step& st,
                                                                                    docspace::fileop_kind kind) {
    using found = std::optional<docspace::fileop>;
    const auto limit = std::chrono::milliseconds(env.rt.settings->docspace.fileop_timeout_ms);
    if (st.operation) {
        docspace::fileop earlier;
        earlier.id = *st.operation;
        auto r = co_await await_op(env, std::move(earlier), limit);
        if (!r) co_return r.error();
        co_return r->vanished ? found() : found(std::move(r->op));
    }
    auto ops = co_await env.docspace.client().my_fileops();
    if (!ops) co_return ops.error();
    const int operation = kind == docspace::fileop_kind::copy ? 1 : 0;
    std::vector<docspace::fileop> running;
    for (auto& op : *ops) {  // first keep every finished report the listing consumed, for its own worker
        if (op.finished) env.docspace.keep_report(std::move(op));
        else if (op.operation == operation) running.push_back(std::move(op));
    }
    const auto until = std::chrono::steady_clock::now() + limit;
    for (auto& op : running) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;  // what still runs after that long is not waited for: check the effect
        auto r = co_await await_op(env, std::move(op), left);
        if (!r) {
            if (r.error().status == 0 && r.error().message == timed_out_message) break;
            co_return r.error();
        }
        if (!r->vanished) env.docspace.keep_report(std::move(r->op));  // another worker's, most likely
    }
    co_return found();
}

// The result of a finished move or copy of the job's file. `after_resume`: the step had been started before,
// so a copy that made no file found one by its name in the destination, most likely the earlier attempt's.
result fileop_outcome(const docspace::fileop& op, const rules::action& a, docspace::file_info& file, bool after_resume) {
    const bool is_move = a.kind == action_kind::move;
    if (!op.error.empty())
        return dead(fmt::format("DocSpace could not {} file {}: {}", is_move ? "move" : "copy", file.id, op.error));
    if (is_move) {
        if (std::find(op.file_ids.begin(), op.file_ids.end(), file.id) != op.file_ids.end()) {
            file.folder_id = a.to_folder;
            return done(fmt::format("moved to folder {}", a.to_folder));
        }
        return skipped(fmt::format("not moved: folder {} already has a file named \"{}\" (on_conflict {})", a.to_folder,
                                   file.title, docspace::to_string(a.on_conflict)));
    }
    if (!op.file_ids.empty()) return done(fmt::format("copied to folder {} as file {}", a.to_folder, op.file_ids.front()));
    if (after_resume) return done(fmt::format("copied to folder {} by an earlier attempt", a.to_folder));
    return skipped(
        fmt::format("not copied: folder {} already has a file named \"{}\" (on_conflict skip)", a.to_folder, file.title));
}

// A move or copy. The step is marked started before the PUT and keeps the operation's id once DocSpace
// answers, so a resumed step first learns how the earlier operation ended (it may still be running) and
// checks its effect, and issues the operation again only when it did not take effect.
awaitable<result> run_fileop(step_env& env, store::step& st, const rules::action& a) {
    auto& file = env.facts.file;
    if (!file) co_return dead("move and copy need a file event (the payload is not a file)");
    auto& client = env.docspace.client();
    const bool is_move = a.kind == action_kind::move;
    const auto kind = is_move ? docspace::fileop_kind::move : docspace::fileop_kind::copy;
    const auto limit = std::chrono::milliseconds(env.rt.settings->docspace.fileop_timeout_ms);
    if (is_move && file->folder_id == a.to_folder) co_return done(fmt::format("already in folder {}", a.to_folder));

    const bool resumed = st.state == store::step_state::started;
    if (resumed) {
        auto earlier = co_await settle_earlier_fileop(env, st, kind);
        if (!earlier) co_return from_api(earlier.error());
        if (*earlier) co_return fileop_outcome(**earlier, a, *file, true);
        if (is_move) {  // it ended unseen, or was never issued: the file's folder tells
            auto fi = co_await client.file(file->id);
            if (!fi) co_return from_api(fi.error());
            file = std::move(*fi);
            if (file->folder_id == a.to_folder)
                co_return done(fmt::format("moved to folder {} by an earlier attempt", a.to_folder));
        }
    }
    // A copy with Skip cannot be issued twice; Overwrite and Duplicate note the destination first.
    const bool noted = !is_move && a.on_conflict != docspace::conflict::skip;
    std::string before;
    if (noted) {
        auto now = co_await copies_in(client, file->title, a.to_folder);
        if (!now) co_return from_api(now.error());
        if (resumed && st.result && st.result->starts_with(copies_prefix)) {
            if (auto made = copy_made(parse_copies(*st.result), *now))
                co_return done(fmt::format("copied to folder {} as file {} by an earlier attempt", a.to_folder, *made));
        }
        before = format_copies(*now);
    }
    // Issued (again) only under a held lease, with any earlier operation id forgotten first: a stale id would
    // let the next resume skip waiting for this operation.
    const bool started = co_await mark_started(env, st, before);
    if (!started) co_return env.lease.ended();
    // A Skip copy that may already have happened is issued again with Skip, so it cannot make a second copy;
    // an Overwrite or Duplicate copy was found not made above, and is issued as configured.
    const auto conflict = (!is_move && resumed && !noted) ? docspace::conflict::skip : a.on_conflict;
    auto op = co_await client.start_fileop(kind, file->id, a.to_folder, conflict);
    if (!op) co_return from_api(op.error());
    if (!op->finished) {
        const bool noted_op = co_await env.lease.set_step_operation(st.idx, op->id);
        if (!noted_op) co_return env.lease.ended();
        st.operation = op->id;
    }
    auto r = co_await await_op(env, std::move(*op), limit, true);
    if (!r) co_return from_api(r.error());
    if (r->vanished) {
        if (!is_move) co_return retry("the copy operation vanished before it reported its result");
        auto fi = co_await client.file(file->id);
        if (!fi) co_return from_api(fi.error());
        if (fi->folder_id == a.to_folder) {
            file = std::move(*fi);
            co_return done(fmt::format("moved to folder {} (verified after the operation vanished)", a.to_folder));
        }
        co_return retry(fmt::format("the move operation vanished; the file is still in folder {}", fi->folder_id));
    }
    co_return fileop_outcome(r->op, a, *file, resumed);
}

std::string render(const step_env& env, const rules::compiled_template& t, const rules::template_data& data,
                   std::int64_t job_id) {
    auto out = rules::render(t, data);
    if (!out.missing.empty()) {
        boost::json::array names;
        for (const auto& m : out.missing) names.emplace_back(m);
        log::warn("template.missing_values", {{"job", job_id}, {"rule", env.rule.name}, {"names", std::move(names)}});
    }
    return std::move(out.text);
}

}  // namespace

awaitable<result> run_action(step_env& env, store::step& st, const rules::action& a, const action_templates& t) {
    const auto job_id = env.lease.id().job_id;
    switch (a.kind) {
    case action_kind::move:
    case action_kind::copy: {
        auto r = co_await run_fileop(env, st, a);
        co_return r;
    }
    case action_kind::comment: {
        auto& file = env.facts.file;
        if (!file) co_return dead("comment needs a file event (the payload is not a file)");
        auto text = render(env, t.text, env.facts.template_data(env.rule), job_id);
        if (file->comment == text) co_return done(fmt::format("version {} already has this comment", file->version));
        auto r = co_await env.docspace.client().set_comment(file->id, file->version, text);
        if (!r) co_return from_api(r.error());
        file->comment = text;
        co_return done(fmt::format("comment set on version {}", file->version));
    }
    case action_kind::notify: {
        auto it = env.rt.channels.find(a.channel);
        if (it == env.rt.channels.end()) co_return dead(fmt::format("no channel named \"{}\"", a.channel));
        const auto data = env.facts.template_data(env.rule);
        notify::message m;
        m.subject = render(env, t.subject, data, job_id);
        m.body = render(env, t.body, data, job_id);
        m.idempotency_key = fmt::format("spacehook-job-{}-step-{}", job_id, st.idx + 1);
        m.message_id = fmt::format("<{}@spacehook>", m.idempotency_key);
        auto channel = it->second;  // keeps the channel alive across a reload
        auto r = co_await channel->send(m);
        if (r.sent()) co_return done(fmt::format("sent via {}: {}", a.channel, r.detail));
        co_return failed(*r.failed, fmt::format("{}: {}", a.channel, r.detail));
    }
    }
    co_return dead("unknown action");
}

}  // namespace spacehook::worker
