// The SMTP channel against the real SMTP sink over loopback: what arrives, how failures are classified,
// and that deadlines hold.
#include "spacehook/core/log.hpp"
#include "spacehook/mailsink/smtp_sink.hpp"
#include "spacehook/notify/channel.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <mutex>

namespace {

using namespace spacehook;
using tcp = asio::ip::tcp;

notify::channel_settings smtp_settings(std::uint16_t port) {
    notify::channel_settings s;
    s.name = "manager-mail";
    s.type = notify::channel_type::smtp;
    s.url = "smtp://127.0.0.1:" + std::to_string(port);
    s.from = "spacehook@example.com";
    s.to = {"manager@example.com", "Ops Team <ops@example.com>"};
    s.timeout_ms = 10000;
    return s;
}

notify::message sample_message() {
    return {"Invoice uploaded: invoice-7.pdf", "invoice-7.pdf (id 8421) by Jane\nhttps://portal/file/8421\n",
            "<job-12.step-1@spacehook>", "job-12.step-1"};
}

notify::send_result send(asio::io_context& ctx, notify::channel& ch, const notify::message& m) {
    return test::run_coro(ctx, [&] { return ch.send(m); });
}

std::string write_file(const test::temp_dir& dir, const std::string& name, const std::string& text) {
    std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::vector<std::string> header_lines(const std::string& data) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    for (;;) {
        auto eol = data.find("\r\n", pos);
        if (eol == std::string::npos || eol == pos) break;
        lines.push_back(data.substr(pos, eol - pos));
        pos = eol + 2;
    }
    return lines;
}

struct socket_pair {
    explicit socket_pair(const asio::any_io_executor& ex) : a(ex), b(ex) {}
    tcp::socket a, b;
};

awaitable<void> pump(std::shared_ptr<socket_pair> p, bool a_to_b) {
    tcp::socket& from = a_to_b ? p->a : p->b;
    tcp::socket& to = a_to_b ? p->b : p->a;
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), tuple_awaitable);
        if (ec) break;
        auto [wec, m] = co_await asio::async_write(to, asio::buffer(buf, n), tuple_awaitable);
        if (wec) break;
    }
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
}

// Accepts one connection on `*front` and relays bytes both ways to 127.0.0.1:`port` until either side
// closes. `*front` must outlive the relay.
awaitable<void> forward_one(tcp::acceptor* front, std::uint16_t port) {
    auto p = std::make_shared<socket_pair>(co_await asio::this_coro::executor);
    co_await front->async_accept(p->a, asio::use_awaitable);
    co_await p->b.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    asio::co_spawn(p->a.get_executor(), pump(p, true), asio::detached);
    asio::co_spawn(p->a.get_executor(), pump(p, false), asio::detached);
}

// Collects every log line while alive.
struct log_capture {
    log_capture() {
        previous = log::set_sink([this](log::level, std::string_view line) {
            std::lock_guard lock(mu);
            lines.emplace_back(line);
        });
    }
    ~log_capture() { log::set_sink(previous); }
    std::string all() {
        std::lock_guard lock(mu);
        std::string out;
        for (auto& l : lines) out += l + "\n";
        return out;
    }
    std::mutex mu;
    std::vector<std::string> lines;
    log::sink_fn previous;
};

}  // namespace

TEST_SUITE("notify smtp channel") {

TEST_CASE("a plain send delivers the envelope, the headers and a dot-stuffed body intact") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto ch = notify::make_smtp_channel(smtp_settings(sink.port()));
    CHECK(ch->name() == "manager-mail");

    auto m = sample_message();
    m.body = "Hello\n.hidden\n..two dots\n.\nend";
    auto r = send(ctx, *ch, m);
    REQUIRE(r.sent());
    CHECK(r.detail.starts_with("250"));

    REQUIRE(sink.count() == 1);
    auto mail = sink.messages().at(0);
    CHECK(mail.mail_from == "spacehook@example.com");
    CHECK(mail.rcpt_to == std::vector<std::string>{"manager@example.com", "ops@example.com"});
    CHECK(mail.helo == "[127.0.0.1]");
    CHECK_FALSE(mail.tls);
    CHECK(mail.auth_user.empty());
    CHECK(mail.header("From") == "spacehook@example.com");
    CHECK(mail.header("To") == "manager@example.com, Ops Team <ops@example.com>");
    CHECK(mail.header("Message-ID") == "<job-12.step-1@spacehook>");
    CHECK(mail.header("X-Spacehook-Idempotency-Key") == "job-12.step-1");
    CHECK(mail.header("MIME-Version") == "1.0");
    CHECK(mail.header("Content-Type") == "text/plain; charset=UTF-8");
    CHECK(mail.header("Content-Transfer-Encoding") == "7bit");
    CHECK(mail.header("Date").ends_with(" +0000"));
    CHECK(mail.decoded_subject() == "Invoice uploaded: invoice-7.pdf");
    CHECK(mail.decoded_body() == "Hello\r\n.hidden\r\n..two dots\r\n.\r\nend\r\n");
    CHECK(mail.data.find("\r\n.hidden\r\n") != std::string::npos);
}

TEST_CASE("a UTF-8 subject and body survive encoding and folding") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto ch = notify::make_smtp_channel(smtp_settings(sink.port()));

    SUBCASE("short subject") {
        auto m = sample_message();
        m.subject = "Rechnung übersicht ✓";
        m.body = "Grüße aus Köln ✓\n.dot line\n" + std::string(120, 'x') + " trailing space \n";
        REQUIRE(send(ctx, *ch, m).sent());
        REQUIRE(sink.count() == 1);
        auto mail = sink.messages().at(0);
        CHECK(mail.header("Subject").starts_with("=?UTF-8?B?"));
        CHECK(mail.decoded_subject() == "Rechnung übersicht ✓");
        CHECK(mail.header("Content-Transfer-Encoding") == "quoted-printable");
        CHECK(mail.decoded_body() ==
              "Grüße aus Köln ✓\r\n.dot line\r\n" + std::string(120, 'x') + " trailing space \r\n");
        for (const auto& line : header_lines(mail.data)) CHECK(line.size() <= 78);
        std::size_t pos = 0;
        for (auto eol = mail.data.find("\r\n"); eol != std::string::npos; eol = mail.data.find("\r\n", pos)) {
            CHECK(eol - pos <= 78);  // quoted-printable keeps body lines short too
            pos = eol + 2;
        }
    }
    SUBCASE("long subject with multi-byte characters and a long ASCII subject") {
        std::string utf8_subject;
        for (int i = 0; i < 30; ++i) utf8_subject += "Prüfung ✓ ";
        std::string ascii_subject;
        for (int i = 0; i < 20; ++i) ascii_subject += "word" + std::to_string(i) + " ";
        ascii_subject += "end";
        for (const auto& subject : {utf8_subject, ascii_subject}) {
            auto m = sample_message();
            m.subject = subject;
            REQUIRE(send(ctx, *ch, m).sent());
        }
        REQUIRE(sink.count() == 2);
        auto mails = sink.messages();
        CHECK(mails[0].decoded_subject() == utf8_subject);
        CHECK(mails[1].decoded_subject() == ascii_subject);
        CHECK(mails[1].data.find("=?UTF-8?") == std::string::npos);
        for (const auto& mail : mails)
            for (const auto& line : header_lines(mail.data)) CHECK(line.size() <= 78);
    }
    SUBCASE("CR and LF in the subject cannot inject a header") {
        auto m = sample_message();
        m.subject = "Hello\r\nBcc: victim@example.com";
        REQUIRE(send(ctx, *ch, m).sent());
        auto mail = sink.messages().at(0);
        CHECK(mail.header("Bcc").empty());
        CHECK(mail.decoded_subject() == "Hello Bcc: victim@example.com");
    }
}

TEST_CASE("STARTTLS with AUTH verifies the sink's certificate and authenticates") {
    asio::io_context ctx;
    test::temp_dir dir;
    mailsink::sink_options opts;
    opts.offer_starttls = true;
    opts.require_auth = true;
    opts.user = "robot";
    opts.password = "s3cret-Pa55";
    std::string mechanism = "PLAIN";
    SUBCASE("AUTH PLAIN") { opts.auth_mechanisms = "LOGIN PLAIN"; }
    SUBCASE("AUTH LOGIN when PLAIN is not offered") {
        opts.auth_mechanisms = "LOGIN";
        mechanism = "LOGIN";
    }
    mailsink::smtp_sink sink(ctx, opts);
    REQUIRE(sink.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));

    auto s = smtp_settings(sink.port());
    s.starttls = true;
    s.username = "robot";
    s.password = "s3cret-Pa55";
    s.ca_file = write_file(dir, "sink.pem", sink.cert_pem());
    SUBCASE("by IP address") {}
    SUBCASE("by host name") { s.url = "smtp://localhost:" + std::to_string(sink.port()); }
    CAPTURE(mechanism);
    CAPTURE(s.url);
    auto ch = notify::make_smtp_channel(s);
    auto r = send(ctx, *ch, sample_message());
    REQUIRE(r.sent());
    REQUIRE(sink.count() == 1);
    auto mail = sink.messages().at(0);
    CHECK(mail.tls);
    CHECK(mail.auth_user == "robot");
    CHECK(mail.decoded_body() == "invoice-7.pdf (id 8421) by Jane\r\nhttps://portal/file/8421\r\n");
}

TEST_CASE("implicit TLS (smtps://) delivers over TLS from the first byte") {
    asio::io_context ctx;
    test::temp_dir dir;
    mailsink::sink_options opts;
    opts.implicit_tls = true;
    mailsink::smtp_sink sink(ctx, opts);
    auto s = smtp_settings(sink.port());
    s.url = "smtps://127.0.0.1:" + std::to_string(sink.port());
    s.ca_file = write_file(dir, "sink.pem", sink.cert_pem());
    auto ch = notify::make_smtp_channel(s);
    REQUIRE(send(ctx, *ch, sample_message()).sent());
    REQUIRE(sink.count() == 1);
    CHECK(sink.messages().at(0).tls);
}

TEST_CASE("rejected credentials are permanent and the password appears neither in the detail nor in logs") {
    asio::io_context ctx;
    test::temp_dir dir;
    log_capture logs;
    mailsink::sink_options opts;
    opts.offer_starttls = true;
    opts.require_auth = true;
    opts.user = "robot";
    opts.password = "right-password";
    mailsink::smtp_sink sink(ctx, opts);

    auto s = smtp_settings(sink.port());
    s.starttls = true;
    s.username = "robot";
    s.password = "Wrong-Secret-42";
    s.ca_file = write_file(dir, "sink.pem", sink.cert_pem());
    auto ch = notify::make_smtp_channel(s);
    auto r = send(ctx, *ch, sample_message());
    CHECK(r.failed == spacehook::errc::rejected);
    CHECK(r.detail.find("535") != std::string::npos);
    CHECK(r.detail.find("Wrong-Secret-42") == std::string::npos);
    CHECK(logs.all().find("Wrong-Secret-42") == std::string::npos);
    CHECK(sink.count() == 0);
}

TEST_CASE("a certificate from another CA is a permanent failure") {
    asio::io_context ctx;
    test::temp_dir dir;
    mailsink::sink_options opts;
    opts.offer_starttls = true;
    mailsink::smtp_sink sink(ctx, opts);
    mailsink::smtp_sink other(ctx, opts);

    auto s = smtp_settings(sink.port());
    s.starttls = true;
    s.ca_file = write_file(dir, "other.pem", other.cert_pem());
    auto ch = notify::make_smtp_channel(s);
    auto r = send(ctx, *ch, sample_message());
    CHECK(r.failed == spacehook::errc::rejected);
    CHECK(r.detail.find("certificate verification failed") != std::string::npos);
    CHECK(sink.count() == 0);
}

TEST_CASE("an address the certificate does not cover is a permanent failure") {
    asio::io_context ctx;
    test::temp_dir dir;
    mailsink::sink_options opts;
    opts.offer_starttls = true;
    mailsink::smtp_sink sink(ctx, opts);
    // The certificate names 127.0.0.1 and localhost; reach the sink as 127.0.0.2 through a forwarder.
    boost::system::error_code ec;
    tcp::acceptor front(ctx);
    tcp::endpoint front_ep(asio::ip::make_address("127.0.0.2"), 0);
    front.open(front_ep.protocol(), ec);
    if (!ec) front.bind(front_ep, ec);
    if (!ec) front.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        MESSAGE("127.0.0.2 is not usable here (" << ec.message() << "); skipped");
        return;
    }
    asio::co_spawn(ctx, forward_one(&front, sink.port()), asio::detached);

    auto s = smtp_settings(front.local_endpoint().port());
    s.url = "smtp://127.0.0.2:" + std::to_string(front.local_endpoint().port());
    s.starttls = true;
    s.ca_file = write_file(dir, "sink.pem", sink.cert_pem());
    auto ch = notify::make_smtp_channel(s);
    auto r = send(ctx, *ch, sample_message());
    CHECK(r.failed == spacehook::errc::rejected);
    CHECK(r.detail.find("certificate verification failed") != std::string::npos);
    CHECK(sink.count() == 0);
}

TEST_CASE("starttls requested but not offered is permanent and nothing is sent") {
    asio::io_context ctx;
    mailsink::sink_options opts;
    opts.user = "robot";
    opts.password = "pw-never-sent";
    mailsink::smtp_sink sink(ctx, opts);
    auto s = smtp_settings(sink.port());
    s.starttls = true;
    s.username = "robot";
    s.password = "pw-never-sent";
    auto ch = notify::make_smtp_channel(s);
    auto r = send(ctx, *ch, sample_message());
    CHECK(r.failed == spacehook::errc::invalid);
    CHECK(r.detail.find("STARTTLS") != std::string::npos);
    CHECK(sink.count() == 0);
}

TEST_CASE("a 4xx reply to RCPT is transient and a later attempt succeeds") {
    asio::io_context ctx;
    mailsink::sink_options opts;
    opts.reject_rcpt_4xx_times = 1;
    mailsink::smtp_sink sink(ctx, opts);
    auto ch = notify::make_smtp_channel(smtp_settings(sink.port()));
    auto first = send(ctx, *ch, sample_message());
    CHECK(first.failed == spacehook::errc::unavailable);
    CHECK(first.detail.find("451") != std::string::npos);
    CHECK(sink.count() == 0);
    auto second = send(ctx, *ch, sample_message());
    CHECK(second.sent());
    CHECK(sink.count() == 1);
}

TEST_CASE("a connection dropped mid-DATA is transient and stores nothing") {
    asio::io_context ctx;
    mailsink::sink_options opts;
    opts.drop_after_data_bytes = 100;
    opts.drop_times = 1;
    mailsink::smtp_sink sink(ctx, opts);
    auto ch = notify::make_smtp_channel(smtp_settings(sink.port()));
    auto first = send(ctx, *ch, sample_message());
    CHECK(first.failed == spacehook::errc::unavailable);
    CHECK(sink.count() == 0);
    auto second = send(ctx, *ch, sample_message());
    CHECK(second.sent());
    CHECK(sink.count() == 1);
}

TEST_CASE("a resend carries the same Message-ID and an empty id gets a fresh one") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto ch = notify::make_smtp_channel(smtp_settings(sink.port()));
    auto m = sample_message();
    REQUIRE(send(ctx, *ch, m).sent());
    REQUIRE(send(ctx, *ch, m).sent());
    m.message_id.clear();
    REQUIRE(send(ctx, *ch, m).sent());
    REQUIRE(send(ctx, *ch, m).sent());
    auto mails = sink.messages();
    REQUIRE(mails.size() == 4);
    CHECK(mails[0].header("Message-ID") == "<job-12.step-1@spacehook>");
    CHECK(mails[1].header("Message-ID") == "<job-12.step-1@spacehook>");
    CHECK(mails[2].header("Message-ID").starts_with("<"));
    CHECK(mails[2].header("Message-ID").ends_with("@spacehook>"));
    CHECK(mails[2].header("Message-ID") != mails[3].header("Message-ID"));
}

TEST_CASE("display names are quoted or encoded while the envelope keeps the bare addresses") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto s = smtp_settings(sink.port());
    s.from = "Spacehook Bötchen <spacehook@example.com>";
    s.to = {"Doe, Jane <jane@example.com>", "<bob@example.com>"};
    REQUIRE(send(ctx, *notify::make_smtp_channel(s), sample_message()).sent());
    auto mail = sink.messages().at(0);
    CHECK(mail.mail_from == "spacehook@example.com");
    CHECK(mail.rcpt_to == std::vector<std::string>{"jane@example.com", "bob@example.com"});
    CHECK(mail.header("To") == "\"Doe, Jane\" <jane@example.com>, <bob@example.com>");
    CHECK(mail.header("From").starts_with("=?UTF-8?B?"));
    CHECK(mail.header("From").ends_with("?= <spacehook@example.com>"));
}

TEST_CASE("a message id without brackets or domain is made well-formed") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto ch = notify::make_smtp_channel(smtp_settings(sink.port()));
    auto m = sample_message();
    m.message_id = "job-12.step-1";
    REQUIRE(send(ctx, *ch, m).sent());
    CHECK(sink.messages().at(0).header("Message-ID") == "<job-12.step-1@spacehook>");
}

TEST_CASE("a server without EHLO gets HELO, and then cannot satisfy starttls") {
    asio::io_context ctx;
    mailsink::sink_options opts;
    opts.reject_ehlo = true;
    mailsink::smtp_sink sink(ctx, opts);
    auto s = smtp_settings(sink.port());
    REQUIRE(send(ctx, *notify::make_smtp_channel(s), sample_message()).sent());
    REQUIRE(sink.count() == 1);
    CHECK(sink.messages().at(0).helo == "[127.0.0.1]");
    s.starttls = true;
    CHECK(send(ctx, *notify::make_smtp_channel(s), sample_message()).failed == spacehook::errc::invalid);
    CHECK(sink.count() == 1);
}

TEST_CASE("connecting to a closed port is transient") {
    asio::io_context ctx;
    std::uint16_t port;
    {
        tcp::acceptor probe(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        port = probe.local_endpoint().port();
    }
    auto ch = notify::make_smtp_channel(smtp_settings(port));
    auto r = send(ctx, *ch, sample_message());
    CHECK(r.failed == spacehook::errc::unavailable);
    CHECK(r.detail.find("connect") != std::string::npos);
}

TEST_CASE("a server that never answers times out as transient within the deadline") {
    asio::io_context ctx;
    tcp::acceptor silent(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket accepted(ctx);
    bool was_accepted = false;
    silent.async_accept(accepted, [&](boost::system::error_code ec) { was_accepted = !ec; });

    auto s = smtp_settings(silent.local_endpoint().port());
    s.timeout_ms = 300;
    auto ch = notify::make_smtp_channel(s);
    auto m = sample_message();
    auto start = std::chrono::steady_clock::now();
    auto r = test::run_coro(ctx, [&] { return ch->send(m); }, std::chrono::seconds(10));
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(was_accepted);
    CHECK(r.failed == spacehook::errc::timed_out);
    CHECK(r.detail.find("timed out") != std::string::npos);
    CHECK(elapsed >= std::chrono::milliseconds(290));
    CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("bad configuration fails permanently without touching the network") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto s = smtp_settings(sink.port());
    SUBCASE("malformed url") { s.url = "smtp://127.0.0.1:notaport"; }
    SUBCASE("missing ca_file") { s.ca_file = "/nonexistent/ca.pem"; }
    SUBCASE("recipient with a line break") { s.to = {"a@example.com\r\nRCPT TO:<b@example.com>"}; }
    SUBCASE("from without a domain") { s.from = "spacehook"; }
    auto ch = notify::make_smtp_channel(s);
    CHECK(send(ctx, *ch, sample_message()).failed == spacehook::errc::invalid);
    CHECK(sink.connections() == 0);
}

TEST_CASE("the sink disconnects a client that stops talking") {
    asio::io_context ctx;
    mailsink::sink_options opts;
    opts.command_timeout_ms = 200;
    mailsink::smtp_sink sink(ctx, opts);
    auto start = std::chrono::steady_clock::now();
    auto closed = test::run_coro(ctx, [&]() -> awaitable<bool> {
        tcp::socket sock(co_await asio::this_coro::executor);
        co_await sock.async_connect({asio::ip::make_address("127.0.0.1"), sink.port()}, asio::use_awaitable);
        std::string buf;
        auto [ec, n] =
            co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n", tuple_awaitable);
        if (ec || !buf.starts_with("220")) co_return false;
        buf.erase(0, n);
        auto [ec2, n2] =
            co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n", tuple_awaitable);
        co_return ec2 == asio::error::eof;
    });
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("the sink speaks RSET, NOOP, HELO and refuses DATA without recipients") {
    asio::io_context ctx;
    mailsink::smtp_sink sink(ctx);
    auto replies = test::run_coro(ctx, [&]() -> awaitable<std::vector<std::string>> {
        tcp::socket sock(co_await asio::this_coro::executor);
        co_await sock.async_connect({asio::ip::make_address("127.0.0.1"), sink.port()}, asio::use_awaitable);
        std::string buf;
        std::vector<std::string> out;
        auto read_reply = [&]() -> awaitable<std::string> {
            std::string reply;
            for (;;) {
                auto n = co_await asio::async_read_until(
                    sock, asio::dynamic_buffer(buf), "\r\n", asio::use_awaitable
                );
                std::string line = buf.substr(0, n - 2);
                buf.erase(0, n);
                reply += line + "|";
                if (line.size() < 4 || line[3] == ' ') co_return reply;
            }
        };
        out.push_back(co_await read_reply());
        for (std::string cmd : {"HELO client.example", "NOOP", "MAIL FROM:<a@example.com>", "DATA", "RSET",
                                "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>", "DATA"}) {
            co_await asio::async_write(sock, asio::buffer(cmd + "\r\n"), asio::use_awaitable);
            out.push_back(co_await read_reply());
        }
        std::string body = "Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n";
        co_await asio::async_write(sock, asio::buffer(body), asio::use_awaitable);
        out.push_back(co_await read_reply());
        out.push_back(co_await read_reply());
        co_return out;
    });
    REQUIRE(replies.size() == 11);
    CHECK(replies[0].starts_with("220 "));
    CHECK(replies[1].starts_with("250 "));
    CHECK(replies[2].starts_with("250 "));
    CHECK(replies[3].starts_with("250 "));
    CHECK(replies[4].starts_with("554 "));
    CHECK(replies[5].starts_with("250 "));
    CHECK(replies[6].starts_with("250 "));
    CHECK(replies[7].starts_with("250 "));
    CHECK(replies[8].starts_with("354 "));
    CHECK(replies[9].starts_with("250 "));
    CHECK(replies[10].starts_with("221 "));
    REQUIRE(sink.count() == 1);
    auto mail = sink.messages().at(0);
    CHECK(mail.helo == "client.example");
    CHECK(mail.data == "Subject: hi\r\n\r\n.dot\r\n");
    CHECK(mail.decoded_subject() == "hi");
}

}  // TEST_SUITE
