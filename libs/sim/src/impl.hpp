// Private state of the DocSpace simulator. Everything under `mu` may be touched from any thread (tests read
// it); members marked "io thread" are touched only on the io_context thread. `mu` is never held across a
// co_await.
#ifndef SPACEHOOK_SIM_IMPL_HPP
#define SPACEHOOK_SIM_IMPL_HPP

#include "spacehook/http/client.hpp"
#include "spacehook/http/server.hpp"
#include "spacehook/sim/docspace_sim.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace spacehook::sim {

namespace json = boost::json;

// HResult values .NET puts in an error envelope (error.hresult), by exception type.
inline constexpr long hresult_invalid_operation = -2146233079;  // System.InvalidOperationException
inline constexpr long hresult_exception = -2146233088;          // System.Exception
inline constexpr long hresult_security = -2146233078;           // System.Security.SecurityException
inline constexpr long hresult_argument = -2147024809;           // System.ArgumentException
inline constexpr long hresult_argument_null = -2147467261;      // System.ArgumentNullException

// One published webhook delivery (a webhooks_logs row) and what its attempts send.
struct delivery_entry {
    delivery_record record;
    webhook_body body;  // event/payload/webhook as published; event_id and retry fields set per attempt
    // For the settings/webhooks/log view. Times are whole seconds, as the DTO shows them, so a `delivery`
    // read back is a deliveryFrom/deliveryTo bound that keeps its row.
    std::int64_t trigger_flag = 0;
    std::int64_t created_ms = 0;
    // The RequestPayload column: the body as published (without event.id), for a manual retry the copied
    // row's, and from the first attempt on the exact body of the last attempt.
    std::string request_payload;
    std::string last_request_headers;
    std::string last_response_payload;
    std::optional<std::int64_t> delivered_ms;  // set on success only
};

// A FileMoveCopyOperation as FileOperationsManager keeps it.
struct fileop {
    std::string id;
    int type = 0;  // 0 move, 1 copy
    std::string owner;
    bool hold = true;  // !deleteAfter: the finished result is kept for one poll
    std::vector<entry_id> file_ids;
    std::vector<entry_id> folder_ids;
    entry_id dest = 0;
    int resolve = 0;  // 0 Skip, 1 Overwrite, 2 Duplicate
    int status = 1;   // DistributedTaskStatus: 1 Running, 2 Completed, 3 Canceled
    int progress = 0;
    int processed = 0;
    bool finished = false;
    std::string error;
    std::vector<entry_id> result_files;
    std::vector<fileop_effect> effects;
    std::int64_t started_ms = 0;
    std::shared_ptr<asio::steady_timer> timer;  // io thread
};

enum class fault_kind { fail, delay, reset };

struct fault {
    fault_kind kind = fault_kind::fail;
    std::string method;  // upper case; empty = any
    std::string prefix;
    int remaining = 1;
    unsigned status = 500;
    std::optional<int> retry_after;
    std::optional<std::string> body;
    std::chrono::milliseconds delay{0};
};

// A request as the REST handlers see it.
struct call {
    http::request& req;
    std::string method;           // "GET", "PUT", ...
    std::string path;             // decoded path without the query
    std::vector<std::string> seg; // path segments after /api/2.0/
    std::map<std::string, std::string> query;
    std::string user;             // authenticated user id
};

struct docspace_sim::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& c, sim_options o);

    asio::io_context& ctx;
    sim_options opt;
    std::unique_ptr<http::server> server;
    std::string base;
    std::uint16_t port = 0;

    mutable std::mutex mu;
    bool stopped = false;
    std::string owner;
    entry_id rooms_root = 3;
    std::map<std::string, user_info> users;
    std::map<std::string, std::string> api_keys;
    std::map<entry_id, folder_state> folders;
    std::map<entry_id, file_state> files;
    std::map<std::pair<std::string, entry_id>, access> acl;
    entry_id next_folder_id = 100;
    entry_id next_file_id = 1000;
    std::map<int, webhook_config_state> configs;
    std::map<int, std::int64_t> config_created_ms;
    int next_config_id = 1;
    bool limited_access_for_users = false;
    std::map<int, delivery_entry> deliveries;
    int next_delivery_id = 1;
    std::deque<int> delivery_queue;
    std::vector<std::shared_ptr<fileop>> fileops;
    std::deque<request_record> requests;
    std::vector<fault> faults;
    std::optional<fault_profile> profile;
    std::mt19937_64 profile_rng;
    fault_counts injected;
    std::vector<fileop_record> fileop_log;

    // io thread
    std::unique_ptr<http::client> client_;  // made on first use: building one costs an SSL context
    http::client& client();
    std::size_t active_deliveries = 0;
    std::set<asio::steady_timer*> waits;

    // --- helpers (lock held unless said otherwise) ---
    std::int64_t now_ms() const;
    std::int64_t now_s_ms() const;  // now truncated to whole seconds
    std::string new_guid();
    entry_id take_folder_id(entry_id wanted);
    entry_id take_file_id(entry_id wanted);
    const folder_state& root_of(entry_id folder) const;
    access access_of(const std::string& user, entry_id folder) const;
    bool locked_for(const file_state& f, const std::string& user) const;
    std::string display_name(const std::string& user_id) const;
    file_state* file_titled(entry_id folder, std::string_view title);
    std::string free_title(entry_id folder, const std::string& title);
    file_state& create_file(entry_id folder, std::string title, std::int64_t size, const std::string& by, entry_id id);
    void new_version(file_state& f, const std::string& by, std::int64_t size);
    // WebhooksController.CheckAdminPermissionsAsync: true for a DocSpace admin, false for another user,
    // nullopt (403) for a guest, and for every non-admin while limited_access_for_users is on.
    std::optional<bool> webhook_admin(const std::string& user) const;

    // DTOs (rest.cpp)
    json::object employee_dto(const std::string& user_id) const;
    json::object employee_full_dto(const std::string& user_id) const;
    json::object file_dto(const file_state& f, const std::string& viewer) const;
    json::object folder_dto(const folder_state& f, const std::string& viewer) const;
    json::object fileop_dto(const fileop& op) const;
    json::object file_entry_payload(const file_state& f) const;
    json::object webhook_config_dto(const webhook_config_state& c) const;
    json::object webhook_log_dto(const delivery_entry& d, const webhook_config_state& cfg) const;

    // Envelopes
    http::response ok(const call& c, json::value response, unsigned status = 200) const;
    // A page of a paged list: the envelope also carries `total`, the number of items matching the filters.
    http::response ok_paged(const call& c, json::array page, std::int64_t total) const;
    http::response error(const call& c, unsigned status, std::string_view message, std::string_view type,
                         long hresult) const;
    http::response invalid_operation(const call& c, std::string_view message) const;
    http::response not_found(const call& c, std::string_view message) const;
    http::response access_denied(const call& c) const;
    http::response bad_argument(const call& c, std::string_view message) const;
    http::response validation_problem(const call& c, std::string_view field, std::string_view message) const;

    // Routes (rest.cpp / rest_webhooks.cpp). The synchronous ones run with the lock held.
    // Sets `async_mode` >= 0 (0 create, 1 update, 2 enable) for the webhook writes, which await a HEAD probe.
    http::response route_locked(call& c, int& async_mode);
    http::response get_self(const call& c);
    http::response get_person(const call& c, const std::string& id);
    http::response get_file(const call& c, entry_id id);
    http::response get_folder(const call& c, entry_id id);
    http::response get_folder_path(const call& c, entry_id id);
    http::response get_folder_content(const call& c, entry_id id);
    http::response put_comment(const call& c, entry_id id);
    http::response put_move_copy(const call& c, int type);
    http::response get_fileops(const call& c, std::optional<int> type);
    http::response put_terminate(const call& c, const std::string& id);
    http::response get_webhooks(const call& c);
    http::response delete_webhook(const call& c, int id);
    http::response get_webhook_triggers(const call& c);
    http::response put_webhook_retry(const call& c, int id);
    http::response put_webhooks_retry(const call& c);
    http::response get_webhooks_log(const call& c);
    static awaitable<http::response> post_put_webhook(std::shared_ptr<impl> self, call& c, int mode);

    // Fileops (rest.cpp)
    json::array operation_results(const std::string& user, const std::string& id, std::optional<int> type);
    void complete_fileop(fileop& op);
    void schedule_fileop(const std::shared_ptr<fileop>& op);

    // Publishing and delivery (publisher.cpp)
    void publish(std::string_view trigger, const std::string& actor, const file_state& f);
    int redeliver_locked(int id);
    void kick();  // any thread, lock not held: drain the queue on the io thread
    void drain(); // io thread
    static awaitable<void> deliver(std::shared_ptr<impl> self, int id);
    // HEAD check of a webhook uri (io thread, lock not held): empty when 2xx, else the 400 message.
    static awaitable<std::string> probe(std::shared_ptr<impl> self, std::string uri, bool ssl);

    // Dispatch (docspace_sim.cpp)
    static awaitable<http::response> handle(std::shared_ptr<impl> self, http::request& req);
    void record(const http::request& req, std::string user, unsigned status, std::int64_t at, std::string fault = {});
};

// Small helpers shared by the sources.
std::string upper(std::string_view s);
bool iequals_ascii(std::string_view a, std::string_view b);
const json::value* find_ci(const json::object& o, std::string_view key);
std::optional<std::int64_t> as_int(const json::value* v);  // number or numeric string
std::optional<bool> as_bool(const json::value* v);
std::string html_encode(std::string_view s);
std::string format_size(std::int64_t bytes);  // "12.3 KB", as FileSizeComment.FilesSizeToString

}  // namespace spacehook::sim

#endif
