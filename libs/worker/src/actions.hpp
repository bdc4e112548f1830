// The four actions a rule's step runs: move and copy (DocSpace fileops, resumable after a crash: see
// run_fileop in actions.cpp), comment (a version comment, done when the version already carries it) and
// notify (a channel; the Message-ID / idempotency key is the job's step, so a resent mail is recognisable).
#ifndef SPACEHOOK_WORKER_ACTIONS_HPP
#define SPACEHOOK_WORKER_ACTIONS_HPP

#include "docspace_reads.hpp"
#include "held_lease.hpp"
#include "outcome.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/worker/runtime.hpp"

#include <optional>

namespace spacehook::worker {

// Everything known about the job's event while it runs.
struct job_facts {
    webhook::envelope env;
    std::optional<docspace::file_info> file;  // current state, when the rule needs it
    std::optional<docspace::person> actor;

    rules::template_data template_data(const rules::rule& rule) const;
};

// What a step runs with; all of it outlives the step.
struct step_env {
    docspace_reads& docspace;
    held_lease& lease;
    const runtime& rt;
    const rules::rule& rule;
    job_facts& facts;
};

// Runs step `st` (its state and result as stored; updated as the step records its progress).
awaitable<result> run_action(step_env& env, store::step& st, const rules::action& a, const action_templates& t);

}  // namespace spacehook::worker

#endif
