#include "docspace_reads.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"

namespace spacehook::worker {

awaitable<docspace::outcome<std::string>> docspace_reads::self_id() {
    if (!self_id_) {
        auto me = co_await client_->self();
        if (!me) co_return me.error();
        self_id_ = me->id;
        log::info("docspace.self", {{"user", *self_id_}});
    }
    co_return *self_id_;
}

awaitable<docspace::outcome<docspace::person>> docspace_reads::person(const std::string& id) {
    if (auto* hit = people_.get(id, clock::now_ms())) co_return *hit;
    auto p = co_await client_->person_by_id(id);
    if (p) people_.put(id, *p, clock::now_ms());
    co_return p;
}

awaitable<docspace::outcome<rules::ancestry>> docspace_reads::ancestry(const std::string& folder_id) {
    if (auto* hit = ancestry_.get(folder_id, clock::now_ms())) co_return *hit;
    auto path = co_await client_->folder_path(folder_id);
    if (!path) co_return path.error();
    rules::ancestry a;
    for (const auto& f : *path) a.push_back(f.id);
    ancestry_.put(folder_id, a, clock::now_ms());
    co_return a;
}

void docspace_reads::keep_report(docspace::fileop op) {
    auto id = op.id;
    reports_.put(id, std::move(op), clock::now_ms());
}

std::optional<docspace::fileop> docspace_reads::take_report(const std::string& operation_id) {
    return reports_.take(operation_id);
}

}  // namespace spacehook::worker
