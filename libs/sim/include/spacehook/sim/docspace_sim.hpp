// An in-process ONLYOFFICE DocSpace that follows docs/docspace-protocol.md to the byte: the REST calls spacehook
// makes (people, files, fileops, comment, folder path, settings/webhook and settings/webhooks/log) and
// webhook publishing with DocSpace's signing, retry schedule and log-row event ids. It serves HTTP on
// 127.0.0.1:<ephemeral> on the caller's io_context (run by one thread) and delivers webhooks with
// spacehook::http::client.
//
// Every public member is thread-safe: tests set state up, inject faults and read the logs from their own
// thread while the io_context thread serves. Members that publish events only queue the deliveries; they
// go out on the io_context thread.
#ifndef SPACEHOOK_SIM_DOCSPACE_SIM_HPP
#define SPACEHOOK_SIM_DOCSPACE_SIM_HPP

#include "spacehook/core/asio.hpp"
#include "spacehook/sim/webhook_body.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::sim {

using entry_id = std::int64_t;

// FolderType of the "Rooms" section root (rootFolderType of everything in a room).
inline constexpr int folder_type_virtual_rooms = 14;

// What a user may do below a folder. `full` is the default everywhere; the nearest setting on the folder
// or an ancestor applies. `read`: view only (comment, move from/to and copy to answer 403). `none`: also
// GET file answers 403.
enum class access { full, read, none };

struct sim_options {
    // Time from PUT fileops/move|copy until the operation completes. Zero completes it before the PUT
    // answers (the PUT then reports finished:true once).
    std::chrono::milliseconds fileop_delay{20};
    // Automatic webhook retries: `max_retries` after the first attempt, waiting 1, 2, 4, 8, 16 s (x2 each)
    // multiplied by `retry_scale` (e.g. 0.01 for tests: 310 ms for the whole schedule; 0: no waits).
    int max_retries = 5;
    double retry_scale = 1.0;
    std::size_t max_concurrent_deliveries = 10;
    std::chrono::milliseconds delivery_timeout{100000};  // per attempt (.NET HttpClient default)
    std::chrono::milliseconds probe_timeout{10000};      // HEAD check on webhook create/update/enable
    bool probe_webhook_uri = true;                       // false skips the HEAD check
    int utc_offset_minutes = 0;                          // tenant offset used in REST ApiDateTime strings
    int first_delivery_id = 1;                           // first webhooks_logs id (= event.id)
    int first_webhook_config_id = 1;
    std::size_t request_log_limit = 100000;              // oldest request records are dropped beyond this
    std::function<std::int64_t()> now_ms;                // wall clock (Unix ms); system clock when empty
};

struct user_info {
    std::string id;            // GUID (lowercase, hyphenated); generated when empty
    std::string first_name;
    std::string last_name;
    std::string email;
    std::string display_name;  // "first last" when empty
    bool admin = false;        // DocSpace admin: sees and may edit every webhook config
    bool guest = false;        // DocSpace guest: every settings/webhook call but triggers answers 403
};

struct folder_state {
    entry_id id = 0;
    entry_id parent_id = 0;  // 0 for the section root
    std::string title;
    bool room = false;
    std::string created_by;
    std::int64_t created_ms = 0;
};

struct file_state {
    entry_id id = 0;
    entry_id folder_id = 0;
    std::string title;
    int version = 1;
    int version_group = 1;
    std::string comment;                  // the current version's comment
    std::map<int, std::string> comments;  // version -> comment, for every version
    std::string created_by;
    std::string updated_by;
    std::int64_t created_ms = 0;
    std::int64_t updated_ms = 0;
    std::int64_t size = 0;
    bool locked = false;
    std::string locked_by;  // empty: locked by someone who is not a known user
};

struct request_record {
    std::string method;
    std::string target;         // path and query as received
    std::string body;
    bool authorization = false; // an Authorization header was present
    std::string user_id;        // the user the API key resolved to, empty when none
    unsigned status = 0;        // answered status; 0 when the connection was reset instead
    std::int64_t at_ms = 0;     // arrival time
    // The fault injected into this request: "" none; from the fault profile "5xx", "429", "reset", "slow",
    // "drop"; "scripted" for fail_next/delay_next/reset_next.
    std::string fault;
};

// A probabilistic fault profile for REST requests (not webhook deliveries, which the simulator sends).
// Each matching request draws once from a generator seeded with `seed` and gets at most one fault:
// with probability p_5xx an error envelope with a 5xx status, p_429 a 429 (with Retry-After when set),
// p_reset the connection closes before any answer and the request is not served, p_slow the request is
// held `slow_delay` and then served (its effect happens even if the client gave up), p_drop it is served
// and then the connection closes mid-answer (the effect happened, the client cannot know). The
// probabilities add up to at most 1. The same sequence of matching requests draws the same faults.
struct fault_profile {
    double p_5xx = 0;
    double p_429 = 0;
    double p_reset = 0;
    double p_slow = 0;
    double p_drop = 0;
    std::vector<unsigned> statuses_5xx{500, 502, 503, 504};  // picked uniformly by the same draw
    std::optional<int> retry_after_seconds = 1;              // Retry-After on 429s; none when empty
    std::chrono::milliseconds slow_delay{400};
    std::uint64_t seed = 1;
    std::string method;                    // "" or "*" = any method
    std::string path_prefix = "/api/2.0/"; // only targets starting with this
};

// Faults injected by the profile since it was set (counts per kind; `draws` counts matching requests).
struct fault_counts {
    std::uint64_t draws = 0;
    std::uint64_t server_error = 0;  // 5xx
    std::uint64_t rate_limited = 0;  // 429
    std::uint64_t reset = 0;
    std::uint64_t slow = 0;
    std::uint64_t dropped = 0;       // served, answer dropped
    std::uint64_t total() const { return server_error + rate_limited + reset + slow + dropped; }
};

// What a completed move or copy operation did to one file.
struct fileop_effect {
    entry_id file_id = 0;
    entry_id result_id = 0;  // the moved file, the copy, or the overwritten destination file; 0 when none
    // "moved", "copied", "overwritten", "unchanged" (moved into its own folder), "skipped" (name clash,
    // Skip), "error" (missing or locked)
    std::string outcome;
};

struct fileop_record {
    std::string id;
    std::string kind;  // "move" or "copy"
    std::string owner;
    entry_id dest = 0;
    std::vector<fileop_effect> effects;
    std::string error;
    std::int64_t started_ms = 0;    // when the PUT was handled
    std::int64_t completed_ms = 0;
};

struct delivery_attempt {
    unsigned status = 0;     // HTTP status; 0 when no response came (connect error, timeout, reset)
    std::string error;       // the failure text DocSpace keeps (lastFailureContent of the next attempt)
    std::string body;        // exact bytes sent
    std::string signature;   // x-docspace-signature-256 value sent
    std::int64_t at_ms = 0;
};

struct delivery_record {
    int id = 0;               // webhooks_logs row id == event.id
    int config_id = 0;
    std::string config_name;
    std::string url;
    std::string trigger;
    std::string payload_id;   // payload.id as text
    std::string create_by;
    std::int64_t create_on_ms = 0;
    int redelivery_of = 0;    // the row a manual retry copied, else 0
    std::vector<delivery_attempt> attempts;
    unsigned last_status = 0; // as DocSpace logs it: the HTTP status, 0 without response, 500 on timeout
    bool delivered = false;   // some attempt got a 2xx
    bool done = false;        // no further attempt will be made
};

struct webhook_config_state {
    int id = 0;
    std::string name;
    std::string uri;
    std::string secret;
    bool enabled = true;
    bool ssl = false;
    std::int64_t triggers = 0;  // 0 = All
    std::string target_id;
    std::string created_by;
    std::optional<std::int64_t> last_success_ms;
    std::optional<std::int64_t> last_failure_ms;
    std::string last_failure_content;
};

class docspace_sim {
public:
    // Binds 127.0.0.1:0 and starts serving on `ctx`. A default owner (an admin) exists from the start;
    // the "Rooms" section root exists with id rooms_root_id().
    explicit docspace_sim(asio::io_context& ctx, sim_options options = {});
    ~docspace_sim();
    docspace_sim(const docspace_sim&) = delete;
    docspace_sim& operator=(const docspace_sim&) = delete;

    // "http://127.0.0.1:<port>" (no trailing slash).
    std::string base_url() const;
    std::uint16_t port() const;
    // Stops accepting and cancels pending fileops and delivery retries. Idempotent; the destructor calls it.
    void stop();

    // --- setup -------------------------------------------------------------------------------------------
    const std::string& owner_id() const;
    entry_id rooms_root_id() const;
    std::string add_user(user_info user);  // returns the id
    void add_api_key(std::string key, std::string user_id);  // "sk-..." acts as that user
    // `id` 0 picks the next free id; `created_by` empty means the owner. Throws std::invalid_argument on
    // an unknown parent or a taken id.
    entry_id add_room(std::string title, entry_id id = 0, std::string created_by = {});
    entry_id add_folder(entry_id parent, std::string title, entry_id id = 0, std::string created_by = {});
    entry_id add_file(entry_id folder, std::string title, std::int64_t size = 12595, entry_id id = 0,
                      std::string created_by = {});
    void set_access(const std::string& user_id, entry_id folder, access a);
    // Locks the file for everyone but `locked_by` (empty: for everyone).
    void lock_file(entry_id file, std::string locked_by = {});
    void unlock_file(entry_id file);

    // --- events (each publishes to the matching webhook configs) -------------------------------------------
    // A user uploads `title` into `folder`: a new file, or a new version when the folder already holds that
    // title. Publishes file.created + file.uploaded for the simple API (simple_api), else file.uploaded only.
    entry_id upload(const std::string& user_id, entry_id folder, std::string title, bool simple_api = true,
                    std::int64_t size = 12595);
    // An editor save: a new version by `user_id`, publishes file.updated.
    void update(const std::string& user_id, entry_id file);
    // Publishes any file trigger ("file.trashed", ...) for the file as it is now.
    void publish_file_event(std::string_view trigger, const std::string& user_id, entry_id file);
    // Adds an enabled webhook config, as POST settings/webhook would (no HEAD check). Returns its id.
    int subscribe(std::string uri, std::string secret, std::int64_t triggers_mask, std::string name = "spacehook",
                  std::string target_id = {}, std::string created_by = {});
    // Manual retry of a delivery (PUT settings/webhook/{id}/retry): a new log row with a new event.id, the
    // same payload, trigger, createOn and createBy. Returns the new id, 0 when `delivery_id` is unknown.
    int redeliver(int delivery_id);
    // A failed log row of config `config_id` whose requestPayload is `payload` verbatim, as if one attempt had
    // been sent and answered `status`: for tests of what a reader of the log must refuse (rows DocSpace itself
    // would not write). No delivery is made. Returns the row id. Throws std::invalid_argument for an unknown
    // config.
    int add_log_row(int config_id, std::string payload, unsigned status = 500);

    // --- webhook administration: what DocSpace does to configs by itself, and a portal setting -------------
    // Enables or disables a config, as DocSpace's auto-disable does after 3 days without a success: a
    // disabled config gets no new deliveries and GET settings/webhook shows enabled:false. Throws
    // std::invalid_argument for an unknown id.
    void set_webhook_enabled(int config_id, bool enabled);
    // Deletes a config, as a final 410 does. Its log rows vanish from settings/webhooks/log with it (the log
    // is read joined with the configs); deliveries() keeps them. Throws std::invalid_argument for an
    // unknown id.
    void remove_webhook(int config_id);
    // TenantDevToolsAccessSettings.LimitedAccessForUsers: when on, every settings/webhook call but triggers
    // answers 403 to users who are not DocSpace admins.
    void set_limited_access_for_users(bool on);

    // --- observation ---------------------------------------------------------------------------------------
    std::vector<request_record> requests() const;
    // Requests whose method matches ("" or "*" = any) and whose target starts with `path_prefix`.
    std::size_t count(std::string_view method, std::string_view path_prefix) const;
    void clear_requests();
    std::optional<file_state> file(entry_id id) const;
    std::vector<file_state> files_in(entry_id folder) const;  // ordered by id
    std::optional<folder_state> folder(entry_id id) const;
    std::vector<delivery_record> deliveries() const;  // ordered by id
    std::optional<delivery_record> delivery(int id) const;
    std::vector<webhook_config_state> webhook_configs() const;
    // Operations published but not yet dequeued by a poll.
    std::size_t fileops_pending() const;
    // Every move and copy operation that completed (not those terminated or cut short by stop()), in the
    // order they completed.
    std::vector<fileop_record> completed_fileops() const;

    // --- fault injection (matched in the order added; method "" or "*" = any; prefix on the target) -------
    // The next `count` matching requests are answered `status` (with Retry-After when given, and `body`
    // or an error envelope) instead of being served.
    void fail_next(std::string method, std::string path_prefix, unsigned status, int count = 1,
                   std::optional<int> retry_after_seconds = {}, std::optional<std::string> body = {});
    // The next `count` matching requests wait `delay` before being handled (combines with the others).
    void delay_next(std::string method, std::string path_prefix, std::chrono::milliseconds delay, int count = 1);
    // The next `count` matching requests get no usable answer: the connection closes mid-response.
    void reset_next(std::string method, std::string path_prefix, int count = 1);
    // Removes the scripted faults above (not the profile).
    void clear_faults();

    // Applies `profile` to every later REST request that no scripted fault matched (a scripted fail, reset
    // or delay takes precedence and the profile does not draw for that request). Replaces any profile set
    // before and restarts the generator and the counters. Throws std::invalid_argument when a probability
    // is outside [0, 1], they add up to more than 1, or statuses_5xx is empty while p_5xx > 0.
    void set_fault_profile(fault_profile profile);
    // Stops injecting; the counters keep their values.
    void clear_fault_profile();
    fault_counts injected_faults() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace spacehook::sim

#endif
