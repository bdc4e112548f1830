// The sink's server side: an accept loop and one coroutine per SMTP session, all on the caller's
// io_context. Every read and write of a session has a deadline (command_timeout_ms) after which the
// socket is closed, so a stuck client cannot hold a session forever.
#include "spacehook/mailsink/smtp_sink.hpp"

#include "spacehook/mailsink/self_signed.hpp"
#include "spacehook/core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <list>
#include <mutex>
#include <tuple>

namespace spacehook::mailsink {
namespace {

using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using boost::system::error_code;

constexpr std::size_t max_line = 64 * 1024;

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

std::string base64_encode(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                     (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
    }
    if (i + 1 == in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
    }
    return out;
}

// Strict: the whole input must be base64 with correct padding; nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = in[i + k];
            int d = -1;
            if (c >= 'A' && c <= 'Z') d = c - 'A';
            else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
            else if (c >= '0' && c <= '9') d = c - '0' + 52;
            else if (c == '+') d = 62;
            else if (c == '/') d = 63;
            else if (c == '=' && i + 4 == in.size() && k >= 2) d = 0, ++pad;
            if (d < 0 || (pad && c != '=')) return std::nullopt;
            v = (v << 6) | static_cast<unsigned>(d);
        }
        out.push_back(static_cast<char>(v >> 16));
        if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
    }
    return out;
}

// The address inside "FROM:<addr> params" / "TO:<addr>" (after the keyword), or nullopt.
std::optional<std::string> path_argument(std::string_view arg, std::string_view keyword) {
    if (arg.size() < keyword.size() || upper(arg.substr(0, keyword.size())) != keyword) return std::nullopt;
    arg.remove_prefix(keyword.size());
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    if (!arg.starts_with('<')) return std::nullopt;
    auto gt = arg.find('>');
    if (gt == std::string_view::npos) return std::nullopt;
    return std::string(arg.substr(1, gt - 1));
}

struct session {
    session(tcp::socket s, ssl::context& ctx, std::int64_t timeout_ms)
        : stream(std::move(s), ctx), timer(stream.get_executor()), timeout(timeout_ms) {}

    ssl::stream<tcp::socket> stream;
    asio::steady_timer timer;
    std::chrono::milliseconds timeout;
    std::uint64_t generation = 0;  // distinguishes the current deadline from stale ones
    bool tls = false;
    std::string rbuf;

    std::string helo, auth_user, mail_from;
    std::vector<std::string> rcpt;
    bool in_transaction = false;

    tcp::socket& socket() { return stream.next_layer(); }

    void close() {
        timer.cancel();
        error_code ignored;
        socket().close(ignored);
    }

    void abort() {
        error_code ignored;
        socket().set_option(tcp::socket::linger(true, 0), ignored);
        close();
    }

    void reset_transaction() {
        mail_from.clear();
        rcpt.clear();
        in_transaction = false;
    }

    // Starts the deadline for the next I/O; the socket is closed if it passes.
    static void arm(const std::shared_ptr<session>& self) {
        auto gen = ++self->generation;
        self->timer.expires_after(self->timeout);
        self->timer.async_wait([weak = std::weak_ptr<session>(self), gen](error_code ec) {
            if (ec) return;
            auto s = weak.lock();
            if (s && s->generation == gen) s->close();
        });
    }

    static awaitable<bool> send(std::shared_ptr<session> self, std::string text) {
        arm(self);
        auto& s = *self;
        error_code ec;
        std::size_t n = 0;
        auto bytes = asio::buffer(text);
        if (s.tls) std::tie(ec, n) = co_await asio::async_write(s.stream, bytes, tuple_awaitable);
        else std::tie(ec, n) = co_await asio::async_write(s.socket(), bytes, tuple_awaitable);
        ++s.generation;
        co_return !ec;
    }

    // One line without its CRLF; false on EOF, error, timeout or an over-long line.
    static awaitable<bool> read_line(std::shared_ptr<session> self, std::string& line) {
        arm(self);
        auto& s = *self;
        auto buf = asio::dynamic_buffer(s.rbuf, max_line);
        error_code ec;
        std::size_t n = 0;
        if (s.tls) std::tie(ec, n) = co_await asio::async_read_until(s.stream, buf, "\r\n", tuple_awaitable);
        else std::tie(ec, n) = co_await asio::async_read_until(s.socket(), buf, "\r\n", tuple_awaitable);
        ++s.generation;
        if (ec) co_return false;
        line.assign(s.rbuf, 0, n - 2);
        s.rbuf.erase(0, n);
        co_return true;
    }
};

}  // namespace

namespace detail {

struct sink_state {
    sink_state(asio::io_context& c, sink_options o)
        : ctx(c), opts(std::move(o)), acceptor(c), tls(ssl::context::tls_server) {}

    asio::io_context& ctx;
    const sink_options opts;
    tcp::acceptor acceptor;
    ssl::context tls;
    std::string cert_pem;
    std::uint16_t port = 0;
    std::list<std::weak_ptr<session>> sessions;  // touched on the io_context only

    mutable std::mutex mu;  // guards the members below; never held across a suspension
    std::vector<received_mail> mails;
    std::size_t connections = 0;
    int drops = 0;
    int rcpt_rejections = 0;

    bool take_drop() {
        std::lock_guard lock(mu);
        if (opts.drop_times > 0 && drops >= opts.drop_times) return false;
        ++drops;
        return true;
    }

    bool take_rcpt_rejection() {
        std::lock_guard lock(mu);
        if (rcpt_rejections >= opts.reject_rcpt_4xx_times) return false;
        ++rcpt_rejections;
        return true;
    }

    bool auth_offered() const { return opts.require_auth || !opts.user.empty(); }

    std::string ehlo_reply(const session& s, std::string_view client) const {
        std::vector<std::string> lines{"localhost greets " + std::string(client), "8BITMIME",
                                       "SIZE " + std::to_string(opts.max_message_bytes)};
        if (opts.offer_starttls && !s.tls) lines.push_back("STARTTLS");
        if (auth_offered()) lines.push_back("AUTH " + opts.auth_mechanisms);
        lines.push_back("ENHANCEDSTATUSCODES");
        std::string out;
        for (std::size_t i = 0; i < lines.size(); ++i)
            out += "250" + std::string(i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
        return out;
    }

    bool mechanism_offered(std::string_view mech) const {
        std::string offered = " " + upper(opts.auth_mechanisms) + " ";
        return !mech.empty() && offered.find(" " + std::string(mech) + " ") != std::string::npos;
    }

    bool credentials_ok(const std::string& user, const std::string& password) const {
        return !opts.user.empty() && user == opts.user && password == opts.password;
    }
};

using state_ptr = std::shared_ptr<sink_state>;

// AUTH PLAIN / LOGIN (RFC 4616, draft-murchison-sasl-login); returns false when the connection failed.
awaitable<bool> handle_auth(state_ptr st, std::shared_ptr<session> s, std::string arg) {
    auto sp = arg.find(' ');
    std::string mech = upper(arg.substr(0, sp));
    std::string initial = sp == std::string::npos ? std::string() : arg.substr(sp + 1);
    if (!st->auth_offered()) co_return co_await session::send(s, "502 5.5.1 AUTH not available\r\n");
    if (!st->mechanism_offered(mech))
        co_return co_await session::send(s, "504 5.5.4 Unrecognized authentication type\r\n");
    if (!s->auth_user.empty()) co_return co_await session::send(s, "503 5.5.1 Already authenticated\r\n");
    if (s->in_transaction)
        co_return co_await session::send(s, "503 5.5.1 AUTH not allowed during a transaction\r\n");

    std::string user, password;
    if (mech == "PLAIN") {
        if (initial.empty()) {
            if (!co_await session::send(s, "334 \r\n")) co_return false;
            if (!co_await session::read_line(s, initial)) co_return false;
        }
        if (initial == "*") co_return co_await session::send(s, "501 5.7.0 Authentication cancelled\r\n");
        auto decoded = base64_decode(initial);
        auto first = decoded ? decoded->find('\0') : std::string::npos;
        auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
        if (second == std::string::npos)
            co_return co_await session::send(s, "501 5.5.2 Cannot decode AUTH PLAIN response\r\n");
        user = decoded->substr(first + 1, second - first - 1);
        password = decoded->substr(second + 1);
    } else if (mech == "LOGIN") {
        std::string u = initial, p;
        if (u.empty()) {
            if (!co_await session::send(s, "334 " + base64_encode("Username:") + "\r\n")) co_return false;
            if (!co_await session::read_line(s, u)) co_return false;
        }
        if (u == "*") co_return co_await session::send(s, "501 5.7.0 Authentication cancelled\r\n");
        if (!co_await session::send(s, "334 " + base64_encode("Password:") + "\r\n")) co_return false;
        if (!co_await session::read_line(s, p)) co_return false;
        if (p == "*") co_return co_await session::send(s, "501 5.7.0 Authentication cancelled\r\n");
        auto du = base64_decode(u), dp = base64_decode(p);
        if (!du || !dp)
            co_return co_await session::send(s, "501 5.5.2 Cannot decode AUTH LOGIN response\r\n");
        user = *du;
        password = *dp;
    } else {
        co_return co_await session::send(s, "504 5.5.4 Unrecognized authentication type\r\n");
    }
    if (st->credentials_ok(user, password)) {
        s->auth_user = user;
        co_return co_await session::send(s, "235 2.7.0 Authentication successful\r\n");
    }
    co_return co_await session::send(s, "535 5.7.8 Authentication credentials invalid\r\n");
}

// DATA until the lone "."; returns false when the connection ended (or was dropped on purpose).
awaitable<bool> handle_data(state_ptr st, std::shared_ptr<session> s) {
    if (!s->in_transaction) co_return co_await session::send(s, "503 5.5.1 MAIL first\r\n");
    if (s->rcpt.empty()) co_return co_await session::send(s, "554 5.5.1 No valid recipients\r\n");
    if (!co_await session::send(s, "354 End data with <CR><LF>.<CR><LF>\r\n")) co_return false;

    std::string data;
    std::size_t wire_bytes = 0;
    bool too_big = false;
    for (;;) {
        std::string line;
        if (!co_await session::read_line(s, line)) co_return false;
        if (line == ".") break;
        wire_bytes += line.size() + 2;
        if (st->opts.drop_after_data_bytes > 0 && wire_bytes >= st->opts.drop_after_data_bytes &&
            st->take_drop()) {
            log::debug("mailsink_drop", {{"after_bytes", wire_bytes}});
            s->abort();
            co_return false;
        }
        if (too_big) continue;
        std::string_view text(line);
        if (text.starts_with('.')) text.remove_prefix(1);
        data.append(text);
        data += "\r\n";
        if (data.size() > st->opts.max_message_bytes) {
            too_big = true;
            data.clear();
        }
    }
    if (too_big) {
        s->reset_transaction();
        co_return co_await session::send(s, "552 5.3.4 Message too big\r\n");
    }
    received_mail mail{s->helo, s->mail_from, s->rcpt, std::move(data), s->auth_user, s->tls};
    std::size_t n;
    {
        std::lock_guard lock(st->mu);
        st->mails.push_back(std::move(mail));
        n = st->mails.size();
    }
    s->reset_transaction();
    co_return co_await session::send(s, "250 2.0.0 OK: queued as " + std::to_string(n) + "\r\n");
}

// STARTTLS (RFC 3207): the server handshake, then the session starts over (no HELO, no AUTH).
awaitable<bool> handle_starttls(state_ptr st, std::shared_ptr<session> s, std::string arg) {
    if (!st->opts.offer_starttls || s->tls)
        co_return co_await session::send(s, "502 5.5.1 STARTTLS not available\r\n");
    if (!arg.empty()) co_return co_await session::send(s, "501 5.5.4 Syntax: STARTTLS\r\n");
    if (!co_await session::send(s, "220 2.0.0 Ready to start TLS\r\n")) co_return false;
    s->rbuf.clear();  // anything pipelined in the clear is discarded (RFC 3207 section 4.2)
    session::arm(s);
    auto [ec] = co_await s->stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
    ++s->generation;
    if (ec) co_return false;
    s->tls = true;
    s->helo.clear();
    s->auth_user.clear();
    s->reset_transaction();
    co_return true;
}

awaitable<void> run_session(state_ptr st, std::shared_ptr<session> s) {
    if (st->opts.implicit_tls) {
        session::arm(s);
        auto [ec] = co_await s->stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
        ++s->generation;
        if (ec) {
            s->close();
            co_return;
        }
        s->tls = true;
    }
    if (!co_await session::send(s, "220 localhost ESMTP spacehook mailsink\r\n")) co_return;
    for (;;) {
        std::string line;
        if (!co_await session::read_line(s, line)) break;
        auto sp = line.find(' ');
        std::string verb = upper(line.substr(0, sp));
        std::string arg = sp == std::string::npos ? std::string() : line.substr(sp + 1);
        bool ok = true;
        if (verb == "EHLO" || verb == "HELO") {
            if (verb == "EHLO" && st->opts.reject_ehlo) {
                ok = co_await session::send(s, "502 5.5.1 Command not implemented\r\n");
            } else if (arg.empty()) {
                ok = co_await session::send(s, "501 5.5.4 Syntax: " + verb + " hostname\r\n");
            } else {
                s->helo = arg;
                s->reset_transaction();
                std::string reply = "250 localhost\r\n";
                if (verb == "EHLO") reply = st->ehlo_reply(*s, arg);
                ok = co_await session::send(s, std::move(reply));
            }
        } else if (verb == "STARTTLS") {
            ok = co_await handle_starttls(st, s, arg);
        } else if (verb == "AUTH") {
            if (s->helo.empty()) ok = co_await session::send(s, "503 5.5.1 EHLO first\r\n");
            else ok = co_await handle_auth(st, s, arg);
        } else if (verb == "MAIL") {
            auto from = path_argument(arg, "FROM:");
            if (s->helo.empty()) ok = co_await session::send(s, "503 5.5.1 EHLO first\r\n");
            else if (st->opts.require_auth && s->auth_user.empty())
                ok = co_await session::send(s, "530 5.7.0 Authentication required\r\n");
            else if (s->in_transaction) ok = co_await session::send(s, "503 5.5.1 Nested MAIL command\r\n");
            else if (!from) ok = co_await session::send(s, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
            else {
                s->mail_from = *from;
                s->in_transaction = true;
                ok = co_await session::send(s, "250 2.1.0 OK\r\n");
            }
        } else if (verb == "RCPT") {
            auto to = path_argument(arg, "TO:");
            if (!s->in_transaction) ok = co_await session::send(s, "503 5.5.1 MAIL first\r\n");
            else if (!to || to->empty())
                ok = co_await session::send(s, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
            else if (st->take_rcpt_rejection())
                ok = co_await session::send(
                    s, "451 4.3.0 Mailbox temporarily unavailable, try again later\r\n"
                );
            else {
                s->rcpt.push_back(*to);
                ok = co_await session::send(s, "250 2.1.5 OK\r\n");
            }
        } else if (verb == "DATA") {
            ok = co_await handle_data(st, s);
        } else if (verb == "RSET") {
            s->reset_transaction();
            ok = co_await session::send(s, "250 2.0.0 OK\r\n");
        } else if (verb == "NOOP") {
            ok = co_await session::send(s, "250 2.0.0 OK\r\n");
        } else if (verb == "VRFY") {
            ok = co_await session::send(s, "252 2.1.5 Cannot VRFY user\r\n");
        } else if (verb == "QUIT") {
            co_await session::send(s, "221 2.0.0 Bye\r\n");
            break;
        } else {
            ok = co_await session::send(s, "500 5.5.2 Command unrecognized\r\n");
        }
        if (!ok) break;
    }
    s->close();
}

awaitable<void> accept_loop(state_ptr st) {
    for (;;) {
        auto [ec, sock] = co_await st->acceptor.async_accept(tuple_awaitable);
        if (ec) {
            if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
            continue;  // e.g. the peer reset before we accepted
        }
        {
            std::lock_guard lock(st->mu);
            ++st->connections;
        }
        auto s = std::make_shared<session>(std::move(sock), st->tls, st->opts.command_timeout_ms);
        st->sessions.remove_if([](const std::weak_ptr<session>& w) { return w.expired(); });
        st->sessions.push_back(s);
        asio::co_spawn(st->ctx, run_session(st, s), [](std::exception_ptr e) {
            if (e) log::warn("mailsink_session_failed");
        });
    }
}

}  // namespace detail

smtp_sink::smtp_sink(asio::io_context& ctx, sink_options options)
    : state_(std::make_shared<detail::sink_state>(ctx, std::move(options))) {
    auto& st = *state_;
    if (st.opts.offer_starttls || st.opts.implicit_tls) {
        tls_identity id = make_self_signed();
        SSL_CTX_set_min_proto_version(st.tls.native_handle(), TLS1_2_VERSION);
        st.tls.use_certificate_chain(asio::buffer(id.cert_pem));
        st.tls.use_private_key(asio::buffer(id.key_pem), ssl::context::pem);
        st.cert_pem = std::move(id.cert_pem);
    }
    tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
    st.acceptor.open(ep.protocol());
    st.acceptor.set_option(tcp::acceptor::reuse_address(true));
    st.acceptor.bind(ep);
    st.acceptor.listen();
    st.port = st.acceptor.local_endpoint().port();
    asio::co_spawn(ctx, detail::accept_loop(state_), [](std::exception_ptr e) {
        if (e) log::warn("mailsink_accept_failed");
    });
}

smtp_sink::~smtp_sink() { stop(); }

std::uint16_t smtp_sink::port() const { return state_->port; }

std::string smtp_sink::cert_pem() const { return state_->cert_pem; }

std::vector<received_mail> smtp_sink::messages() const {
    std::lock_guard lock(state_->mu);
    return state_->mails;
}

std::size_t smtp_sink::count() const {
    std::lock_guard lock(state_->mu);
    return state_->mails.size();
}

std::size_t smtp_sink::connections() const {
    std::lock_guard lock(state_->mu);
    return state_->connections;
}

void smtp_sink::stop() {
    auto close_all = [st = state_] {
        error_code ignored;
        st->acceptor.close(ignored);
        for (auto& w : st->sessions)
            if (auto s = w.lock()) s->close();
        st->sessions.clear();
    };
    if (state_->ctx.get_executor().running_in_this_thread()) close_all();
    else asio::post(state_->ctx, close_all);
}

}  // namespace spacehook::mailsink
