// PostgreSQL through libpq (Debian's libpq-dev; no ORM): a connection, parameterised statements with text
// results, transactions, and the PostgreSQL schema's migrations (migrations/postgresql/*.sql, compiled in).
// Synchronous, one thread per connection at a time: the PostgreSQL queue (issue F) drives its connections from a
// thread of their own, as store::writer drives SQLite's.
#ifndef SPACEHOOK_STORE_PG_HPP
#define SPACEHOOK_STORE_PG_HPP

#include "spacehook/core/error.hpp"
#include "spacehook/store/migrate.hpp"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace spacehook::store::pg {

// A database error in the project's vocabulary (core/error.hpp), decided from its SQLSTATE:
//   class 08 (connection exception), class 53 (insufficient resources), 57P01-57P03 (the server is shutting
//   down or cannot take connections yet), 40001 and 40P01 (serialization failure, deadlock), 25006 (read-only
//   transaction: a failover is in progress), and no SQLSTATE at all (connection::exec calls it so only
//   when the connection broke; libpq's own refusals are invalid)                            -> unavailable;
//   57014 (statement cancelled, e.g. by statement_timeout)                                   -> timed_out;
//   anything else (a constraint, a statement, the data)                                      -> invalid.
errc classify(std::string_view sqlstate);

class error : public std::runtime_error {
public:
    error(errc code, std::string sqlstate, const std::string& message)
        : std::runtime_error(message), code_(code), sqlstate_(std::move(sqlstate)) {}
    errc code() const { return code_; }
    const std::string& sqlstate() const { return sqlstate_; }  // "" when the server sent none

private:
    errc code_;
    std::string sqlstate_;
};

// A statement's answer; every value is read in libpq's text format.
class result {
public:
    explicit result(pg_result* r) : r_(r) {}
    result(result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
    result& operator=(result&& o) noexcept;
    result(const result&) = delete;
    result& operator=(const result&) = delete;
    ~result();

    int rows() const;
    int columns() const;
    // The command tag: "INSERT 0 1", "COMMIT", "ROLLBACK", ...
    std::string_view command() const;
    // Rows an INSERT, UPDATE or DELETE changed (0 for other statements).
    std::int64_t affected() const;
    bool is_null(int row, int col) const;
    std::string_view text(int row, int col) const;
    std::optional<std::string> opt_text(int row, int col) const;
    // Throws error(invalid) when the value is not a 64-bit integer.
    std::int64_t int64(int row, int col) const;
    // A bytea column: its bytes (decoded from the "\x..." text form).
    std::string bytes(int row, int col) const;

private:
    pg_result* r_;
};

// A statement parameter in text form, or NULL.
using param = std::optional<std::string_view>;

// The text form of a bytea parameter: "\x" and two lowercase hex digits per byte.
std::string bytea_param(std::string_view bytes);

class connection {
public:
    // Connects to `url` (postgresql://user@host:port/db?sslmode=... or "host=... dbname=..."): the password may
    // come from the URL or PGPASSWORD and is never part of an error message. Throws error (unavailable) when
    // the server cannot be reached within connect_timeout_s, error (invalid) when the URL is malformed.
    explicit connection(const std::string& url, int connect_timeout_s = 10);
    connection(connection&& o) noexcept
        : c_(std::exchange(o.c_, nullptr)), prepared_(std::move(o.prepared_)), prepare_(o.prepare_), tag_(o.tag_) {}
    connection& operator=(connection&&) = delete;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    // Runs `sql` (any number of statements, no parameters) and returns the last one's answer.
    result exec(std::string_view sql);
    // Runs one statement with $1..$n bound to `params`.
    result exec(std::string_view sql, std::span<const param> params);
    result exec(std::string_view sql, std::initializer_list<param> params) {
        return exec(sql, std::span<const param>(params.begin(), params.size()));
    }
    // The same, through a statement prepared on this connection at its first use (parsed and planned once). A
    // connection that finds its prepared statements gone or doubled (a transaction-pooling proxy between it and
    // the server) stops preparing and runs every statement as exec() does.
    result run(std::string_view sql, std::span<const param> params);
    result run(std::string_view sql, std::initializer_list<param> params) {
        return run(sql, std::span<const param>(params.begin(), params.size()));
    }

    // The names of the channels NOTIFY'd since the last call (after LISTEN on them), read without waiting.
    std::vector<std::string> notifications();
    // The connection's socket, to wait for notifications on (poll()).
    int socket() const;

    // False once the connection broke (the server went away); reset() then connects again.
    bool healthy() const;
    void reset();
    // The server's process id for this session (pg_backend_pid()), e.g. to cancel or terminate it in tests.
    int backend_pid() const;

private:
    [[noreturn]] void fail(pg_result* r, std::string_view what);
    result checked(pg_result* r);
    pg_conn* c_;
    std::map<std::string, std::string, std::less<>> prepared_;  // statement text -> its name on the server
    bool prepare_ = true;
    std::uint64_t tag_ = 0;  // names this connection's prepared statements
};

// BEGIN on construction (or `begin`, e.g. "BEGIN ISOLATION LEVEL READ COMMITTED"); COMMIT by commit(), which
// throws error (invalid) when the server rolled the transaction back instead; ROLLBACK when destroyed uncommitted.
class transaction {
public:
    explicit transaction(connection& c, std::string_view begin = "BEGIN");
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    ~transaction();
    void commit();

private:
    connection& c_;
    bool done_ = false;
};

// migrations/postgresql/*.sql in name order.
const std::vector<migration>& builtin_migrations();

// Applies every migration not yet recorded in schema_migrations, each in a transaction of its own, under a
// transaction-level advisory lock: instances that start together apply each migration once, and the later ones
// wait and find nothing left to do. Returns the names applied now. Throws error.
std::vector<std::string> migrate(connection& c, const std::vector<migration>& all = builtin_migrations());

}  // namespace spacehook::store::pg

#endif
