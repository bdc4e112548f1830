#include "spacehook/store/sqlite.hpp"

#include <sqlite3.h>

#include <mutex>

#include <fmt/format.h>

namespace spacehook::store {
namespace {
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
    throw error(rc & 0xFF, fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}
}  // namespace

bool error::busy() const { return code_ == SQLITE_BUSY || code_ == SQLITE_LOCKED; }

statement::statement(sqlite3* db, std::string_view sql) : db_(db), stmt_(nullptr) {
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc, "prepare");
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement::statement(statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

statement& statement::bind(int i, std::int64_t v) {
    if (int rc = sqlite3_bind_int64(stmt_, i, v); rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}

statement& statement::bind(int i, std::string_view text) {
    if (int rc = sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8); rc != SQLITE_OK)
        fail(db_, rc, "bind");
    return *this;
}

statement& statement::bind(int i, std::nullopt_t) {
    if (int rc = sqlite3_bind_null(stmt_, i); rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}

statement& statement::bind(int i, const std::optional<std::string>& v) {
    return v ? bind(i, std::string_view(*v)) : bind(i, std::nullopt);
}

statement& statement::bind_blob(int i, std::string_view bytes) {
    if (int rc = sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT); rc != SQLITE_OK)
        fail(db_, rc, "bind");
    return *this;
}

bool statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    int code = rc;
    sqlite3_reset(stmt_);
    fail(db_, code, "step");
}

void statement::run() {
    while (step()) {
    }
}

void statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string statement::text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::optional<std::string> statement::opt_text(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
}

std::optional<std::int64_t> statement::opt_int64(int col) const {
    if (is_null(col)) return std::nullopt;
    return int64(col);
}

bool statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

database::database(const std::string& path, open_options opt) : path_(path) {
    // SQLite's memory statistics (sqlite3_status) take one process-wide mutex on every allocation and free, which
    // the writer and the worker threads' read connections then contend for. Nothing reads those statistics.
    // It can only be set before the library initializes, which the first open does.
    static std::once_flag memstatus_off;
    std::call_once(memstatus_off, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
    int flags = SQLITE_OPEN_NOMUTEX;
    flags |= opt.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (!opt.read_only && opt.create) flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw error(rc & 0xFF, fmt::format("cannot open database {}: {}", path, msg));
    }
    sqlite3_extended_result_codes(db_, 0);
    sqlite3_busy_timeout(db_, static_cast<int>(opt.busy_timeout_ms));
    if (!opt.read_only) exec("PRAGMA journal_mode=WAL");
    // FULL: a commit is on disk (WAL fsynced) before COMMIT returns, which is what lets us answer 200.
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
}

database::~database() {
    cache_.clear();
    sqlite3_close_v2(db_);
}

void database::exec(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw error(rc & 0xFF, msg);
    }
}

statement database::prepare(std::string_view sql) { return statement(db_, sql); }

statement& database::cached(std::string_view static_sql) {
    auto& slot = cache_[static_sql.data()];
    if (!slot) slot = std::make_unique<statement>(db_, static_sql);
    else slot->reset();
    return *slot;
}

std::int64_t database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int database::changes() const { return sqlite3_changes(db_); }

transaction::transaction(database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

transaction::~transaction() {
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
        }
    }
}

void transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace spacehook::store
