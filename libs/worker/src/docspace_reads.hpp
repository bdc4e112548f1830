// What the worker reads from DocSpace besides the event, and keeps: the API key's own user, people (the actor's
// name and email), folder paths (in_room), and the finished fileop reports another worker's poll consumed.
// Every cache is bounded in size and age. Not thread-safe: it belongs to the worker thread.
#ifndef SPACEHOOK_WORKER_DOCSPACE_READS_HPP
#define SPACEHOOK_WORKER_DOCSPACE_READS_HPP

#include "bounded_cache.hpp"
#include "spacehook/core/asio.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/rules/ancestry_cache.hpp"

#include <memory>
#include <optional>
#include <string>

namespace spacehook::worker {

class docspace_reads {
public:
    docspace_reads(asio::any_io_executor ex, docspace::client_settings settings)
        : settings_(settings), client_(std::make_unique<docspace::client>(std::move(ex), std::move(settings))) {}

    // What the client was made with: a reload that changes it gets a new docspace_reads (caches included).
    const docspace::client_settings& settings() const { return settings_; }

    docspace::client& client() { return *client_; }

    // The API key's user id, asked once.
    awaitable<docspace::outcome<std::string>> self_id();
    // A person, cached for 10 minutes (4096 people at most).
    awaitable<docspace::outcome<docspace::person>> person(const std::string& id);
    // The folder's ancestry (root first, itself last), cached for 10 minutes (4096 folders at most).
    awaitable<docspace::outcome<rules::ancestry>> ancestry(const std::string& folder_id);

    // DocSpace reports a finished move or copy once, to whichever poll sees it first. When that is another
    // worker's (a resumed step waiting for every operation of ours), the report is kept here for the
    // operation's own worker, which would otherwise see it vanish.
    void keep_report(docspace::fileop op);
    std::optional<docspace::fileop> take_report(const std::string& operation_id);

private:
    docspace::client_settings settings_;
    std::unique_ptr<docspace::client> client_;
    std::optional<std::string> self_id_;
    bounded_cache<docspace::person> people_{4096, 10 * 60 * 1000};
    rules::ancestry_cache ancestry_{4096, 10 * 60 * 1000};
    bounded_cache<docspace::fileop> reports_{4096, 0};
};

}  // namespace spacehook::worker

#endif
