#include "spacehook/store/pg.hpp"

#include "spacehook/core/clock.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <random>
#include <set>

#include <fmt/format.h>

namespace spacehook::store::pg {

errc classify(std::string_view sqlstate) {
    if (sqlstate.empty()) return errc::unavailable;  // no answer from the server: the connection broke
    if (sqlstate.starts_with("08") || sqlstate.starts_with("53")) return errc::unavailable;
    if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return errc::unavailable;
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "25006") return errc::unavailable;
    if (sqlstate == "57014") return errc::timed_out;
    return errc::invalid;
}

// ---- result ---------------------------------------------------------------------------------------------

result& result::operator=(result&& o) noexcept {
    if (this != &o) {
        if (r_) PQclear(r_);
        r_ = std::exchange(o.r_, nullptr);
    }
    return *this;
}

result::~result() {
    if (r_) PQclear(r_);
}

int result::rows() const { return PQntuples(r_); }
int result::columns() const { return PQnfields(r_); }

std::string_view result::command() const { return PQcmdStatus(r_); }

std::int64_t result::affected() const {
    const char* n = PQcmdTuples(r_);
    std::int64_t v = 0;
    if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), v);
    return v;
}

bool result::is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

std::string_view result::text(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

std::optional<std::string> result::opt_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return std::string(text(row, col));
}

std::int64_t result::int64(int row, int col) const {
    auto t = text(row, col);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc{} || end != t.data() + t.size() || t.empty())
        throw error(errc::invalid, "", fmt::format("column {} holds \"{}\", not an integer", PQfname(r_, col), t));
    return v;
}

std::string result::bytes(int row, int col) const {
    std::size_t n = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
    if (!raw) throw error(errc::invalid, "", "cannot decode a bytea value (out of memory)");
    std::string out(reinterpret_cast<const char*>(raw), n);
    PQfreemem(raw);
    return out;
}

std::string bytea_param(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 + 2 * bytes.size());
    out += "\\x";
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0x0f];
    }
    return out;
}

// ---- connection -----------------------------------------------------------------------------------------

namespace {

// libpq's messages end with a newline; logs and errors want one line.
std::string one_line(const char* message) {
    std::string s = message ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (auto& c : s)
        if (c == '\n') c = ' ';
    return s;
}

}  // namespace

connection::connection(const std::string& url, int connect_timeout_s) {
    // libpq's own parse errors quote the text around the fault, which may be the password: checked first, and
    // refused without libpq's words.
    char* parse_error = nullptr;
    if (PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error)) {
        PQconninfoFree(parsed);
    } else {
        if (parse_error) PQfreemem(parse_error);
        throw error(errc::invalid, "",
                    "the PostgreSQL URL is malformed (libpq cannot parse it; a '%', '@' or space in the password "
                    "must be percent-encoded, e.g. %25, %40, %20)");
    }
    const std::string timeout = std::to_string(connect_timeout_s);
    // expand_dbname = 1: `dbname` is read as a URL or a key=value string. Entries after it override what it
    // sets, so the defaults come first and the URL's own values win. TCP keepalives and tcp_user_timeout make a
    // connection to a server that vanished without a word (a partition, a failed host) fail within about 30 s
    // instead of blocking its thread for as long as the kernel's own retransmission timeout.
    const char* keys[] = {"connect_timeout", "application_name", "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", nullptr};
    const char* values[] = {timeout.c_str(), "spacehook", "1", "10", "5", "3", "30000", url.c_str(), nullptr};
    tag_ = std::random_device{}() | (static_cast<std::uint64_t>(std::random_device{}()) << 32);
    c_ = PQconnectdbParams(keys, values, 1);
    if (!c_) throw error(errc::unavailable, "", "PostgreSQL: out of memory while connecting");
    if (PQstatus(c_) != CONNECTION_OK) {
        // libpq's message names the host and port, never the password.
        std::string why = one_line(PQerrorMessage(c_));
        PQfinish(c_);
        c_ = nullptr;
        throw error(errc::unavailable, "", "cannot connect to PostgreSQL: " + why);
    }
}

connection::~connection() {
    if (c_) PQfinish(c_);
}

void connection::fail(pg_result* r, std::string_view what) {
    std::string state;
    std::string message;
    if (r) {
        if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) state = s;
        message = one_line(PQresultErrorMessage(r));
        PQclear(r);
    }
    if (message.empty()) message = one_line(PQerrorMessage(c_));
    // No SQLSTATE: the connection broke (unavailable), or libpq refused the call itself (invalid).
    const errc code = state.empty() && PQstatus(c_) == CONNECTION_OK ? errc::invalid : classify(state);
    throw error(code, state, fmt::format("PostgreSQL {}: {}", what, message));
}

result connection::checked(PGresult* r) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r, "statement failed");
    return result(r);
}

result connection::exec(std::string_view sql) {
    const std::string text(sql);
    return checked(PQexec(c_, text.c_str()));
}

namespace {

// Each parameter NUL-terminated, as libpq reads text parameters.
struct text_params {
    std::vector<std::string> owned;
    std::vector<const char*> values;

    explicit text_params(std::span<const param> params) {
        owned.reserve(params.size());
        values.reserve(params.size());
        for (const auto& p : params) {
            if (!p) {
                values.push_back(nullptr);
                continue;
            }
            owned.emplace_back(*p);
            values.push_back(owned.back().c_str());
        }
    }
    int count() const { return static_cast<int>(values.size()); }
};

}  // namespace

result connection::exec(std::string_view sql, std::span<const param> params) {
    const std::string text(sql);
    text_params p(params);
    return checked(PQexecParams(c_, text.c_str(), p.count(), nullptr, p.values.data(), nullptr, nullptr, 0));
}

result connection::run(std::string_view sql, std::span<const param> params) {
    if (!prepare_) return exec(sql, params);
    auto it = prepared_.find(sql);
    try {
        if (it == prepared_.end()) {
            // Named after this connection object (a random tag) and the statement's number: behind a transaction-
            // pooling proxy this client's transaction may run on a session where another client prepared its
            // own statements. A name of ours can only be missing there (26000), never name another client's
            // statement, which would run that statement with our parameters.
            auto name = fmt::format("sh{:016x}_{}", tag_, prepared_.size());
            const std::string text(sql);
            checked(PQprepare(c_, name.c_str(), text.c_str(), static_cast<int>(params.size()), nullptr));
            it = prepared_.emplace(text, std::move(name)).first;
        }
        text_params p(params);
        return checked(PQexecPrepared(c_, it->second.c_str(), p.count(), p.values.data(), nullptr, nullptr, 0));
    } catch (const error& e) {
        // 26000 (no such statement) or 42P05 (it exists already): the session is not the one the statement was
        // prepared in, as behind a transaction-pooling proxy. From now on this connection does not prepare; the
        // statement that failed is not run again here (its transaction is aborted), its caller retries it.
        if (e.sqlstate() == "26000" || e.sqlstate() == "42P05") {
            prepare_ = false;
            prepared_.clear();
        }
        throw;
    }
}

std::vector<std::string> connection::notifications() {
    std::vector<std::string> out;
    if (PQconsumeInput(c_) == 0) fail(nullptr, "connection lost while reading notifications");
    while (PGnotify* n = PQnotifies(c_)) {
        out.emplace_back(n->relname);
        PQfreemem(n);
    }
    return out;
}

int connection::socket() const { return PQsocket(c_); }

bool connection::healthy() const { return PQstatus(c_) == CONNECTION_OK; }

void connection::reset() {
    prepared_.clear();  // a new session has none of the old one's statements
    PQreset(c_);
    if (PQstatus(c_) != CONNECTION_OK)
        throw error(errc::unavailable, "", "cannot reconnect to PostgreSQL: " + one_line(PQerrorMessage(c_)));
}

int connection::backend_pid() const { return PQbackendPID(c_); }

// ---- transaction ----------------------------------------------------------------------------------------

transaction::transaction(connection& c, std::string_view begin) : c_(c) { c_.exec(begin); }

transaction::~transaction() {
    if (done_) return;
    try {
        c_.exec("ROLLBACK");
    } catch (...) {
        // The connection broke: the server rolled the transaction back itself.
    }
}

void transaction::commit() {
    auto r = c_.exec("COMMIT");
    done_ = true;
    // COMMIT of a transaction in which a statement failed succeeds, as a ROLLBACK.
    if (r.command() != "COMMIT") throw error(errc::invalid, "", "PostgreSQL rolled the transaction back: a statement in it had failed");
}

// ---- migrations -----------------------------------------------------------------------------------------

std::vector<std::string> migrate(connection& c, const std::vector<migration>& all) {
    // A fixed key, the same in every spacehook instance of this database.
    constexpr std::string_view lock = "SELECT pg_advisory_xact_lock(7310593858020254571)";
    // Each statement sees what committed before it, so an instance that waited for the lock sees the migrations
    // the other recorded (whatever the database's default isolation level).
    constexpr std::string_view read_committed = "BEGIN ISOLATION LEVEL READ COMMITTED";
    {
        transaction tx(c, read_committed);
        c.exec(lock);
        c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)");
        tx.commit();
    }
    std::vector<std::string> now;
    for (const auto& m : all) {
        transaction tx(c, read_committed);
        c.exec(lock);  // held to COMMIT: another instance checks after this one recorded the migration
        if (c.exec("SELECT 1 FROM schema_migrations WHERE name = $1", {m.name}).rows() > 0) continue;
        c.exec(m.sql);
        const auto at = std::to_string(clock::now_ms());
        c.exec("INSERT INTO schema_migrations(name, applied_at) VALUES($1, $2)", {m.name, at});
        tx.commit();
        now.push_back(m.name);
    }
    return now;
}

}  // namespace spacehook::store::pg
