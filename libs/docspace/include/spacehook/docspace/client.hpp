// Coroutine client of the DocSpace REST API calls spacehook makes (docs/docspace-protocol.md §4, §6):
// files, fileops (move/copy), version comments, people, folder paths and webhook management.
// Every call returns outcome<T>: the value, or an api_error whose transient()/permanent() tell the caller
// what to do. The client never retries by itself, except that its HTTP layer retries a request once on a
// stale keep-alive connection (idempotent methods only).
#ifndef SPACEHOOK_DOCSPACE_CLIENT_HPP
#define SPACEHOOK_DOCSPACE_CLIENT_HPP

#include "spacehook/core/asio.hpp"
#include "spacehook/webhook/triggers.hpp"
#include "spacehook/docspace/types.hpp"
#include "spacehook/http/client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::docspace {

class client {
public:
    // Requests run on `ex`, which must be single-threaded (an io_context or a strand). The client must
    // outlive every call it started.
    client(asio::any_io_executor ex, client_settings settings);
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Called after every request with its route name ("files.file.get", see below) and the HTTP status,
    // 0 when no response came: feeds spacehook_docspace_requests_total{endpoint,code}.
    std::function<void(std::string_view endpoint, unsigned status)> on_response;

    // GET api/2.0/people/@self ("people.self"): the API key's own user (for loop suppression).
    awaitable<outcome<person>> self();
    // GET api/2.0/people/{id} ("people.get"). 400 for a malformed GUID, 404 for an unknown user.
    awaitable<outcome<person>> person_by_id(std::string id);

    // GET api/2.0/files/file/{id} ("files.file.get"). 404 missing, 403 no read access.
    awaitable<outcome<file_info>> file(entry_id id);

    // GET api/2.0/files/{id}?filterValue=..&count=100 ("files.folder.files"): the first 100 files of the folder
    // whose title contains `title_filter` (DocSpace's search; case-insensitive). 404 missing, 403 no read access.
    awaitable<outcome<std::vector<file_info>>> folder_files(entry_id folder_id, std::string title_filter);

    // GET api/2.0/files/folder/{id}/path ("files.folder.path"): the folder's ancestors and itself, section
    // root first. DocSpace leaves out the ancestors the caller cannot read, and for a third-party room it
    // starts at the section root followed by the room. 404 missing, 403 no read access to the folder.
    awaitable<outcome<std::vector<folder_ref>>> folder_path(entry_id folder_id);

    // PUT api/2.0/files/fileops/{move|copy} ("files.fileops.move" / "files.fileops.copy") for one file,
    // with deleteAfter:false and returnSingleOperation:true. Returns the operation as first reported; it
    // may already be finished.
    awaitable<outcome<fileop>> start_fileop(fileop_kind kind, entry_id file_id, entry_id dest_folder,
                                            conflict on_conflict);
    // GET api/2.0/files/fileops?id={op_id} ("files.fileops.status"): the op, or nullopt when DocSpace no
    // longer knows it ([]). DocSpace reports a finished op exactly once and then forgets it.
    awaitable<outcome<std::optional<fileop>>> fileop_status(std::string op_id);
    // GET api/2.0/files/fileops ("files.fileops.list"): every operation of the API key's user that DocSpace
    // still holds. Like fileop_status, it dequeues the finished ones it reports, so a worker polling one of
    // those by id then sees it vanish.
    awaitable<outcome<std::vector<fileop>>> my_fileops();
    // Polls `op` (as start_fileop or fileop_status reported it) with fileop_status until it is finished or
    // vanished, or `deadline` passes (timed_out, the op as last seen). Errors as run_fileop's.
    // The first poll comes after this client's estimate of how long an operation takes (first_poll(), at most
    // `poll_interval`); each later one waits twice as long as the one before, at most 4 s.
    // The estimate learns from every first poll that got an answer: it grows by half (up to poll_interval) when
    // the operation had not finished, and shrinks by 2% when it had (by 10% until a first poll first came too
    // early, so that a new client, which starts at poll_interval, comes down to a 20 ms operation within about 30
    // operations). It settles where about 19 of 20 operations have finished at the first poll: one status call per
    // operation, and a 20 ms move waits tens of ms, not poll_interval. Its floor is 5 ms.
    // `fresh`: the operation was started just now (not resumed, not a later wait for the same one); only then
    // does its first poll, when it gets an answer, teach the estimate.
    awaitable<outcome<fileop_result>> await_fileop(fileop op, std::chrono::milliseconds poll_interval,
                                                   std::chrono::milliseconds deadline, bool fresh = false);
    // The wait before await_fileop's first poll, for a configured poll_interval (see await_fileop).
    std::chrono::microseconds first_poll(std::chrono::milliseconds poll_interval) const;
    // start_fileop, then fileop_status every poll_interval (doubling, at most 4 s) until the op is finished
    // or vanished. Transient poll failures (transient(), honouring retry_after_ms) are polled through;
    // others end the wait with that error. When `deadline` (from the start) passes first: an api_error
    // with status 0 and message "timed out waiting for fileop" (the op may still complete later).
    // A finished op can still have failed: check op.error == "" and that op.file_ids holds the file.
    awaitable<outcome<fileop_result>> run_fileop(fileop_kind kind, entry_id file_id, entry_id dest_folder,
                                                 conflict on_conflict,
                                                 std::chrono::milliseconds poll_interval,
                                                 std::chrono::milliseconds deadline);

    // PUT api/2.0/files/file/{id}/comment ("files.file.comment"): sets the comment of `version`; returns
    // the stored comment. All failures (no such version, no right, locked, in Trash) are 403. Note that
    // DocSpace publishes file.updated for it.
    awaitable<outcome<std::string>> set_comment(entry_id file_id, int version, std::string text);

    // GET api/2.0/settings/webhook ("settings.webhook.list"), with each config's last delivery status.
    awaitable<outcome<std::vector<webhook_config>>> list_webhooks();
    // POST api/2.0/settings/webhook ("settings.webhook.create"). 400 for a duplicate name+uri, a bad
    // secret, a URL that does not answer HEAD with 2xx, a blocked host.
    awaitable<outcome<webhook_config>> create_webhook(webhook_spec spec);
    // PUT api/2.0/settings/webhook ("settings.webhook.update"); an empty spec.secret keeps the old one.
    awaitable<outcome<webhook_config>> update_webhook(std::int64_t id, webhook_spec spec);
    // PUT api/2.0/settings/webhook/enable ("settings.webhook.enable"); name and uri are sent because the
    // DTO requires them, DocSpace uses only id and enabled.
    awaitable<outcome<webhook_config>> enable_webhook(std::int64_t id, std::string name, std::string uri,
                                                      bool enabled);
    // DELETE api/2.0/settings/webhook/{id} ("settings.webhook.delete"): the deleted config.
    awaitable<outcome<webhook_config>> delete_webhook(std::int64_t id);
    // GET api/2.0/settings/webhook/triggers ("settings.webhook.triggers", DocSpace v3.7.1+).
    awaitable<outcome<std::vector<webhook_trigger>>> webhook_triggers();
    // GET api/2.0/settings/webhooks/log ("settings.webhooks.log"): one page of the delivery log, newest
    // first, with the number of rows matching `q` on all pages. Admins read every config's rows, other users
    // those of the configs they created; 403 for a guest, or for a non-admin when DocSpace limits developer
    // tools to admins.
    awaitable<outcome<webhook_log_page>> webhook_log(webhook_log_query q);

    // Closes idle keep-alive connections to the portal.
    void close_idle();

private:
    // The request with the API key. Reports the status to on_response; the key is cut out of error bodies.
    awaitable<outcome<http::client_response>> send(std::string_view endpoint, boost::beast::http::verb method,
                                                   std::string path, std::string body);
    // send, then the "response" member of the success envelope (wire::unwrap).
    awaitable<outcome<boost::json::value>> call(std::string_view endpoint, boost::beast::http::verb method,
                                                std::string path, std::string body = {});

    asio::any_io_executor ex_;
    client_settings settings_;
    std::chrono::microseconds first_poll_{0};  // the estimate await_fileop waits before its first poll; 0: none yet
    bool missed_first_poll_ = false;          // a first poll found its operation unfinished
    std::string base_;  // base_url without a trailing slash
    http::client http_;
};

}  // namespace spacehook::docspace

#endif
