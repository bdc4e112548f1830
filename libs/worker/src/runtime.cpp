#include "spacehook/worker/runtime.hpp"

#include "spacehook/notify/http_channel.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace spacehook::worker {
namespace {
rules::compiled_template compile_or_throw(const std::string& text, const std::string& where) {
    auto r = rules::compile(text);
    if (!r) throw std::runtime_error(fmt::format("{}: {}", where, r.error));
    return std::move(*r.value);
}
}  // namespace

std::shared_ptr<const runtime> build_runtime(std::shared_ptr<const config::settings> s) {
    auto rt = std::make_shared<runtime>();
    rt->settings = s;
    rt->matcher = std::make_shared<const rules::matcher>(s->rules);
    for (std::size_t i = 0; i < s->rules.size(); ++i) {
        std::vector<action_templates> per_action;
        for (std::size_t k = 0; k < s->rules[i].actions.size(); ++k) {
            const auto& a = s->rules[i].actions[k];
            auto where = fmt::format("rules[{}].do[{}]", i, k);
            per_action.push_back({compile_or_throw(a.text, where + ".text"), compile_or_throw(a.subject, where + ".subject"),
                                  compile_or_throw(a.body, where + ".body")});
        }
        rt->templates.push_back(std::move(per_action));
    }
    for (const auto& c : s->channels) {
        std::shared_ptr<notify::channel> ch;
        switch (c.type) {
        case notify::channel_type::smtp: ch = notify::make_smtp_channel(c); break;
        case notify::channel_type::http: ch = notify::make_http_channel(c); break;
        case notify::channel_type::log: ch = notify::make_log_channel(c); break;
        }
        rt->channels.emplace(c.name, std::move(ch));
    }
    return rt;
}

}  // namespace spacehook::worker
