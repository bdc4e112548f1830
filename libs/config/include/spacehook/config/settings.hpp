// The configuration as a struct tree (docs/contract.md §2). Defaults live here, one comment per field.
// Loaded by config::load (load.hpp); nothing outside libs/config reads the environment. The domain types it
// holds (rules::rule, notify::channel_settings, docspace ids) belong to their libraries: config only maps JSON
// onto them.
#ifndef SPACEHOOK_CONFIG_SETTINGS_HPP
#define SPACEHOOK_CONFIG_SETTINGS_HPP

#include "spacehook/docspace/types.hpp"
#include "spacehook/notify/channel.hpp"
#include "spacehook/rules/rule.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spacehook::config {

// TLS on the listener (both files PEM). Off when cert_file is empty.
struct tls_settings {
    std::string cert_file;  // certificate chain, leaf first
    std::string key_file;   // its private key (unencrypted)
    bool enabled() const { return !cert_file.empty(); }
    bool operator==(const tls_settings&) const = default;
};

struct server_settings {
    std::string listen = "0.0.0.0:8080";    // host:port; "[::1]:8080" for IPv6
    std::size_t max_body_bytes = 1048576;    // larger bodies get 413 and the connection is closed
    std::size_t max_header_bytes = 16384;    // larger header blocks get 431
    std::int64_t header_timeout_ms = 10000;  // a request's headers must arrive within this (idle keep-alive too)
    std::int64_t request_timeout_ms = 30000; // the body must arrive within this once the headers are in
    std::size_t max_connections = 4096;      // further connections are accepted and closed at once
    std::size_t max_buffered_body_bytes = 64u << 20;  // bodies being received, all connections: over it, 503
    unsigned threads = 0;                    // I/O threads; 0 = one per core
    // When set, GET /metrics requires "Authorization: Bearer <token>", and the admin UI (/admin/) signs in
    // with it; when empty, /admin/ answers 404.
    std::string admin_token;
    std::int64_t admin_session_ms = 8LL * 3600 * 1000;  // an admin UI sign-in lasts this long
    tls_settings tls;                        // HTTPS instead of HTTP (TLS 1.2+)
};

// SQLite (`path`, the default) or PostgreSQL (`url`, docs/contract.md §7); exactly one is set.
struct database_settings {
    std::string path = "/var/lib/spacehook/spacehook.db";
    std::int64_t busy_timeout_ms = 2000;  // SQLite: how long a write waits for a lock held by another process
    // SQLite: WAL pages after which a background thread checkpoints (store::writer_options); 0: SQLite's own
    // checkpoint, inside the commit that crosses 1,000 pages.
    int checkpoint_pages = 1000;
    std::string url;                      // postgresql://user@host:port/db?sslmode=...
    int pool = 2;                         // PostgreSQL: connections running the queue's calls

    bool postgresql() const { return !url.empty(); }
    // The path, or the URL without its password: what logs and `check` show.
    std::string display() const;
};

// Recovery of missed deliveries from DocSpace's delivery log (docs/backfill.md). On whenever docspace is
// configured, unless "backfill": false.
struct backfill_settings {
    bool enabled = true;
    std::int64_t interval_ms = 5 * 60 * 1000;        // a pass at start-up, then every interval
    std::int64_t horizon_ms = 72LL * 3600 * 1000;    // log rows created longer ago than this are left alone
};

struct docspace_settings {
    std::string base_url;           // https://portal.example.com (http:// allowed, for tests and sims)
    std::string api_key;            // sent as "Authorization: Bearer <api_key>"
    bool ignore_own_events = true;  // drop events whose event.createBy is the API key's user
    std::string ca_file;            // extra CA bundle (PEM) besides the system store
    std::int64_t timeout_ms = 30000;     // per request: connect + write + read
    std::int64_t fileop_timeout_ms = 300000;  // how long a move/copy may take before the step fails
    std::int64_t poll_interval_ms = 500;      // first fileops poll delay (doubles up to 4 s)
    backfill_settings backfill;
};

struct webhook_endpoint {
    std::string path;                  // "/docspace/webhook"
    std::vector<std::string> secrets;  // any may match; empty = no signature check (warned at start)
};

struct worker_settings {
    unsigned concurrency = 8;
    int max_attempts = 10;
    std::int64_t backoff_initial_ms = 1000;
    std::int64_t backoff_max_ms = 600000;
    std::int64_t lease_ms = 60000;           // a running job whose lease passes this is due again
    std::int64_t shutdown_grace_ms = 10000;  // on SIGTERM running steps get this long to finish
};

struct retention_settings {
    std::int64_t succeeded_after_ms = 0;    // 0 = keep forever; else purge succeeded/skipped jobs older than this
    std::int64_t interval_ms = 3600000;     // how often serve prunes
    // While purging, an event's identity (webhook.id + event.id, content key) outlives its body and jobs for
    // this long, so the same delivery arriving again is still a duplicate; once identities were forgotten, a
    // delivery of an event created before them is stored with its jobs skipped (docs/backfill.md).
    std::int64_t dedup_window_ms = 30LL * 86'400'000;
};

struct settings {
    server_settings server;
    database_settings database;
    docspace_settings docspace;
    std::vector<webhook_endpoint> webhooks;
    worker_settings workers;
    retention_settings retention;
    std::vector<notify::channel_settings> channels;
    std::vector<rules::rule> rules;

    const rules::rule* find_rule(std::string_view name) const;
    const notify::channel_settings* find_channel(std::string_view name) const;
};

// The DocSpace REST client's settings, as `docspace` configures them.
docspace::client_settings docspace_client(const docspace_settings& s);

}  // namespace spacehook::config

#endif
