// What the workers act on, built from a configuration and swapped as a whole on reload (SIGHUP): the
// settings, the compiled rule matcher, compiled templates and the notification channels.
#ifndef SPACEHOOK_WORKER_RUNTIME_HPP
#define SPACEHOOK_WORKER_RUNTIME_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/notify/channel.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/rules/template.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace spacehook::worker {

struct action_templates {
    rules::compiled_template text, subject, body;
};

struct runtime {
    std::shared_ptr<const config::settings> settings;
    std::shared_ptr<const rules::matcher> matcher;
    std::vector<std::vector<action_templates>> templates;  // [rule index][action index]
    std::map<std::string, std::shared_ptr<notify::channel>, std::less<>> channels;
};

// Compiles everything; throws std::runtime_error when a template does not compile or a channel cannot be
// built (config::load normally caught those already).
std::shared_ptr<const runtime> build_runtime(std::shared_ptr<const config::settings> s);

}  // namespace spacehook::worker

#endif
