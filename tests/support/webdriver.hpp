// A real browser for tests: Debian's headless Chromium driven through ChromeDriver's W3C WebDriver protocol
// (JSON over HTTP on loopback). Just what the admin UI tests use: navigate, find, click, type, read text, run a
// script, resize, screenshot. Elements are looked up by CSS selector, waiting until they exist.
#ifndef SPACEHOOK_TEST_WEBDRIVER_HPP
#define SPACEHOOK_TEST_WEBDRIVER_HPP

#include "raw_http.hpp"
#include "test_support.hpp"

#include "spacehook/core/hex.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace spacehook::test {

inline constexpr const char* chromedriver_path = "/usr/bin/chromedriver";
inline constexpr const char* chromium_path = "/usr/bin/chromium";

class webdriver {
public:
    // Starts chromedriver on a free port and a Chromium session with a fresh profile under `dir`.
    explicit webdriver(const temp_dir& dir) {
        port_ = free_tcp_port();
        std::string bin = chromedriver_path, port_arg = "--port=" + std::to_string(port_);
        std::vector<char*> argv{bin.data(), port_arg.data(), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        const auto log = dir.file("chromedriver.log");
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        // Nothing else of ours: a socket inherited by chromedriver (and Chromium after it) outlives our close of
        // it, so its peer never sees the FIN. The simulator's idle keep-alive connections stayed open that way,
        // and spacehook's next request on one waited for its whole timeout.
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        if (pid_ < 0 || !wait_for_listener(port_)) throw std::runtime_error("chromedriver did not start (" + log + ")");
        boost::json::array args{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                "--window-size=1280,900", "--user-data-dir=" + dir.file("chromium-profile")};
        boost::json::object caps{
            {"capabilities",
             {{"alwaysMatch",
               {{"browserName", "chrome"}, {"goog:chromeOptions", {{"binary", chromium_path}, {"args", args}}}}}}}};
        auto v = call("POST", "/session", caps);
        session_ = std::string(v.at("sessionId").as_string());
    }

    ~webdriver() {
        try {
            if (!session_.empty()) call("DELETE", "/session/" + session_, nullptr);
        } catch (...) {
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
    }
    webdriver(const webdriver&) = delete;
    webdriver& operator=(const webdriver&) = delete;

    void go(const std::string& url) { cmd("POST", "/url", boost::json::object{{"url", url}}); }
    std::string url() { return std::string(cmd("GET", "/url", nullptr).as_string()); }

    // The element matching `css`, waiting up to `timeout` for it to exist; throws when it never does.
    std::string find(const std::string& css, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
        std::string id;
        poll_until([&] { return (id = try_find(css)), !id.empty(); }, timeout);
        if (id.empty()) throw std::runtime_error("no element matches " + css);
        return id;
    }
    std::string try_find(const std::string& css) {
        auto r = raw("POST", "/session/" + session_ + "/element", boost::json::object{{"using", "css selector"}, {"value", css}});
        if (r.status != 200) return {};
        auto v = boost::json::parse(r.body).at("value").as_object();
        return std::string(v.begin()->value().as_string());
    }
    void click(const std::string& css) { cmd("POST", "/element/" + find(css) + "/click", boost::json::object{}); }
    void type(const std::string& css, const std::string& text) {
        auto id = find(css);
        cmd("POST", "/element/" + id + "/clear", boost::json::object{});
        cmd("POST", "/element/" + id + "/value", boost::json::object{{"text", text}});
    }
    std::string text(const std::string& css) {
        return std::string(cmd("GET", "/element/" + find(css) + "/text", nullptr).as_string());
    }
    // Waits until the text of `css` equals `want`; returns whether it did.
    bool wait_text(const std::string& css, const std::string& want, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        return poll_until([&] {
            auto id = try_find(css);
            if (id.empty()) return false;
            auto r = raw("GET", "/session/" + session_ + "/element/" + id + "/text", nullptr);
            return r.status == 200 && boost::json::parse(r.body).at("value") == boost::json::value(want);
        }, timeout);
    }
    // Runs `script` (a function body; a returned promise is awaited) and returns its value.
    boost::json::value exec(const std::string& script, boost::json::array args = {}) {
        return cmd("POST", "/execute/sync", boost::json::object{{"script", script}, {"args", std::move(args)}});
    }
    void resize(int width, int height) {
        cmd("POST", "/window/rect", boost::json::object{{"width", width}, {"height", height}});
    }
    // Writes a PNG of the viewport to `path`.
    void screenshot(const std::string& path) {
        auto b64 = std::string(cmd("GET", "/screenshot", nullptr).as_string());
        std::ofstream(path, std::ios::binary) << base64::decode_lenient(b64);
    }
    void clear_cookies() { cmd("DELETE", "/cookie", nullptr); }

private:
    raw_response raw(const std::string& method, const std::string& path, const boost::json::value& body) {
        raw_conn c(port_, std::chrono::seconds(60));
        std::string b = body.is_null() ? std::string() : boost::json::serialize(body);
        std::vector<std::pair<std::string, std::string>> h;
        if (!b.empty()) h.push_back({"Content-Type", "application/json"});
        c.write(make_request(method, path, b, h, false));
        return c.read_response();
    }
    boost::json::value call(const std::string& method, const std::string& path, const boost::json::value& body) {
        auto r = raw(method, path, body);
        if (r.status != 200) throw std::runtime_error(method + " " + path + ": " + std::to_string(r.status) + " " + r.body);
        return boost::json::parse(r.body).at("value");
    }
    boost::json::value cmd(const std::string& method, const std::string& path, const boost::json::value& body) {
        return call(method, "/session/" + session_ + path, body);
    }

    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    std::string session_;
};

}  // namespace spacehook::test

#endif
