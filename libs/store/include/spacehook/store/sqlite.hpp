// Thin RAII over the SQLite C API: a connection with a prepared-statement cache, statements with typed
// binding, and errors as exceptions (store::error) — SQLite is used only off the I/O threads (the writer
// thread, the CLI), where exceptions are the simplest honest way to abort a transaction.
#ifndef SPACEHOOK_STORE_SQLITE_HPP
#define SPACEHOOK_STORE_SQLITE_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace spacehook::store {

class error : public std::runtime_error {
public:
    error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }  // SQLite primary result code (SQLITE_BUSY = 5, SQLITE_FULL = 13, ...)
    bool busy() const;                  // SQLITE_BUSY or SQLITE_LOCKED

private:
    int code_;
};

class statement {
public:
    statement(sqlite3* db, std::string_view sql);
    ~statement();
    statement(statement&& o) noexcept;
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    // Parameters are 1-based. Text and blobs are copied (SQLITE_TRANSIENT) unless `bind_static` is used.
    statement& bind(int i, std::int64_t v);
    statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
    statement& bind(int i, std::string_view text);
    statement& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
    statement& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
    statement& bind(int i, std::nullopt_t);
    statement& bind(int i, const std::optional<std::string>& v);
    statement& bind_blob(int i, std::string_view bytes);

    // Steps once: true when a row is available.
    bool step();
    // Steps to completion (for statements that return no rows).
    void run();
    void reset();  // reset + clear bindings

    std::int64_t int64(int col) const;
    std::string text(int col) const;
    std::optional<std::string> opt_text(int col) const;
    std::optional<std::int64_t> opt_int64(int col) const;
    bool is_null(int col) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
};

struct open_options {
    bool read_only = false;
    std::int64_t busy_timeout_ms = 5000;
    bool create = true;
};

class database {
public:
    // Opens (creating if allowed) `path`, in WAL mode with synchronous=FULL and foreign keys on.
    explicit database(const std::string& path, open_options opt = {});
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    void exec(std::string_view sql);
    statement prepare(std::string_view sql);
    // A cached prepared statement for a string with static storage (the key is its address); reset before use.
    statement& cached(std::string_view static_sql);
    std::int64_t last_insert_rowid() const;
    int changes() const;
    sqlite3* handle() const { return db_; }
    const std::string& path() const { return path_; }

private:
    sqlite3* db_ = nullptr;
    std::string path_;
    std::unordered_map<const char*, std::unique_ptr<statement>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed.
class transaction {
public:
    explicit transaction(database& db);
    ~transaction();
    void commit();

private:
    database& db_;
    bool done_ = false;
};

}  // namespace spacehook::store

#endif
