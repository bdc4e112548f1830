// The admin UI in a real browser: headless Chromium (Debian's) through ChromeDriver, against the real
// `spacehook serve` binary and the DocSpace simulator. Screenshots of each page go to
// build/<preset>/artifacts/admin-ui/ (the README shows two).
#include "e2e_world.hpp"
#include "process.hpp"
#include "webdriver.hpp"

#include "spacehook/store/jobs.hpp"
#include "spacehook/store/sqlite.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

using namespace spacehook;

namespace admin_browser {

const std::string browser_token = "adm-Token_4e9f1c";
constexpr const char* xss_title = "invoice <img src=x onerror=\"window.__xss=1\">.pdf";

std::string artifact(const std::string& name) {
    std::filesystem::create_directories(SPACEHOOK_ARTIFACT_DIR);
    return std::string(SPACEHOOK_ARTIFACT_DIR) + "/" + name;
}

std::string write_config(test::e2e_world& w) {
    auto path = w.dir.file("config.json");
    std::ofstream(path) << w.config_json();
    return path;
}

// The jobs of `rule` in `state`, read from the database file.
std::int64_t count(test::e2e_world& w, const std::string& rule, const std::string& state) {
    std::int64_t n = 0;
    for (const auto& j : w.jobs(rule)) n += store::to_string(j.state) == state;
    return n;
}

void sign_in(test::webdriver& b, std::uint16_t port) {
    b.go(fmt::format("http://127.0.0.1:{}/admin/", port));
    b.type("#token", browser_token);
    b.type("#name", "Olga On-call");
    b.click("#signin-submit");
    REQUIRE(b.wait_text("#who", "Olga On-call"));
}

}  // namespace admin_browser

using namespace admin_browser;

TEST_SUITE("admin UI in a browser") {
    TEST_CASE("sign in, overview, filters, retry a dead job, bulk-cancel, escaping, CSRF, phone width") {
        test::world_options o;
        o.start_app = false;
        test::e2e_world w(
            [](config::settings& s) {
                s.server.admin_token = browser_token;
                // Failed copies wait long between attempts: they stay "retrying" for the bulk cancel.
                s.workers.max_attempts = 10;
                s.workers.backoff_initial_ms = 60000;
                s.workers.backoff_max_ms = 120000;
            },
            o);
        // The bot may not write into Incoming yet: the invoice's move is refused (403) and its job dies.
        w.ds->set_access(w.bot_user, w.incoming, sim::access::read);
        // Copies into the internal room fail with 503: those jobs retry.
        sim::fault_profile copies_fail;
        copies_fail.p_5xx = 1;
        copies_fail.statuses_5xx = {503};
        copies_fail.path_prefix = "/api/2.0/files/fileops/copy";
        w.ds->set_fault_profile(copies_fail);

        test::serve_process serve(w.dir, write_config(w));
        REQUIRE(serve.port() != 0);
        w.subscribe(serve.port());

        w.ds->upload(w.client_user, w.client_room, "invoice-7.pdf", false);
        w.ds->upload(w.client_user, w.client_room, xss_title, false);
        for (int i = 1; i <= 3; ++i) w.ds->upload(w.client_user, w.compliance, fmt::format("policy-{}.docx", i), false);
        REQUIRE(test::poll_until([&] { return count(w, "invoice-intake", "dead") == 2; }));
        REQUIRE(test::poll_until([&] { return count(w, "copy-to-internal", "retrying") == 3; }));

        test::temp_dir browser_dir;
        test::webdriver b(browser_dir);
        const auto base = fmt::format("http://127.0.0.1:{}/admin/", serve.port());

        // A wrong token is refused with a message; the right one signs in.
        b.go(base);
        b.type("#token", "not-the-token");
        b.click("#signin-submit");
        CHECK(b.wait_text("#signin-error", "wrong token"));
        b.screenshot(artifact("signin.png"));
        sign_in(b, serve.port());
        // The cookie is out of the page's reach (HttpOnly).
        CHECK(b.exec("return document.cookie;") == boost::json::value(""));

        // The overview's numbers are the database's.
        REQUIRE(b.wait_text("#stat-dead", "2"));
        auto states = w.job_states();
        for (const auto& [state, n] : states) CHECK_MESSAGE(b.text("#stat-" + state) == std::to_string(n), state);
        b.find("#chart-deliveries-hour svg rect");
        b.screenshot(artifact("overview.png"));

        // Filter to the dead invoice jobs; the hostile title is shown as text, and nothing ran.
        b.go(base + "#/jobs");
        b.find("#f-state");
        b.exec("document.querySelector('#f-state').value = 'dead';");
        b.type("#f-rule", "invoice-intake");
        b.click("#apply");
        REQUIRE(test::poll_until([&] { return b.exec("return document.querySelectorAll('#jobs tbody tr').length;") == boost::json::value(2); }));
        auto titles = b.exec("return [...document.querySelectorAll('#jobs .job-title')].map(e => e.textContent);");
        CHECK(titles.as_array().size() == 2);
        CHECK(std::find(titles.as_array().begin(), titles.as_array().end(), boost::json::value(xss_title)) != titles.as_array().end());
        CHECK(b.exec("return document.querySelectorAll('#view img').length;") == boost::json::value(0));
        CHECK(b.exec("return window.__xss === undefined;") == boost::json::value(true));
        b.screenshot(artifact("jobs.png"));

        // A POST without the CSRF token is refused, and the job stays dead.
        auto dead_id = w.jobs("invoice-intake").front().id;
        auto status = b.exec(fmt::format("return fetch('/admin/api/jobs/{}/retry', {{method: 'POST'}}).then(r => r.status);", dead_id));
        CHECK(status == boost::json::value(403));
        CHECK(count(w, "invoice-intake", "dead") == 2);

        // Open the dead job of invoice-7.pdf, let the bot write again, retry it and watch it succeed.
        b.go(base + "#/jobs/" + std::to_string(dead_id));
        REQUIRE(b.wait_text("#job-state", "dead"));
        CHECK(b.text("#job-title") == "invoice-7.pdf");
        CHECK(b.text("#job-error").find("403") != std::string::npos);
        b.find("#payload details");
        b.screenshot(artifact("job-dead.png"));
        w.ds->set_access(w.bot_user, w.incoming, sim::access::full);
        b.click("#job-retry");
        const bool succeeded = b.wait_text("#job-state", "succeeded", std::chrono::seconds(30));  // live refresh picks it up
        CHECK(succeeded);
        if (!succeeded) {
            std::string calls;
            for (const auto& r : w.ds->requests()) calls += fmt::format("{} {} {} {}\n", r.at_ms, r.method, r.target, r.status);
            auto log = serve.log();
            MESSAGE("simulator calls:\n" << calls << "serve log tail:\n" << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
        }
        CHECK_MESSAGE(w.jobs("invoice-intake").front().state == store::job_state::succeeded,
                      w.jobs("invoice-intake").front().last_error.value_or(""));
        CHECK(w.sink->count() == 1);  // the manager's mail went out once
        b.screenshot(artifact("job-succeeded.png"));

        // Bulk-cancel the retrying copies: the count is confirmed first.
        b.go(base + "#/jobs?rule=copy-to-internal&state=retrying");
        REQUIRE(test::poll_until([&] { return b.exec("return document.querySelectorAll('#jobs tbody tr').length;") == boost::json::value(3); }));
        b.click("#bulk-cancel");
        CHECK(b.wait_text("#confirm-text", "Cancel 3 job(s) matching this filter?"));
        b.screenshot(artifact("bulk-confirm.png"));
        b.click("#confirm-ok");
        CHECK(b.wait_text("#bulk-result", "3 of 3 job(s) cancelled."));
        CHECK(count(w, "copy-to-internal", "cancelled") == 3);
        CHECK(count(w, "copy-to-internal", "retrying") == 0);

        // The activity page names who did what.
        b.go(base + "#/activity");
        b.find("#activity tbody tr");
        auto activity = b.text("#activity");
        CHECK(activity.find("Olga On-call") != std::string::npos);
        CHECK(activity.find("bulk_cancel") != std::string::npos);
        CHECK(serve.log().find(R"("event":"admin.action")") != std::string::npos);

        // Rules and events pages.
        b.go(base + "#/rules");
        b.find("#rules tbody tr");
        CHECK(b.text("#rules").find("invoice-intake") != std::string::npos);
        b.screenshot(artifact("rules.png"));
        b.go(base + "#/events");
        b.find("#events tbody tr");
        b.screenshot(artifact("events.png"));

        // At a phone's width the page does not scroll sideways (wide tables scroll in their own box).
        b.resize(390, 844);
        b.go(base + "#/overview");
        b.find("#stat-dead");
        CHECK(b.exec("return document.documentElement.scrollWidth <= window.innerWidth + 1;") == boost::json::value(true));
        b.screenshot(artifact("overview-phone.png"));
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("an expired session goes back to the sign-in page") {
        test::world_options o;
        o.start_app = false;
        test::e2e_world w(
            [](config::settings& s) {
                s.server.admin_token = browser_token;
                s.server.admin_session_ms = 3000;
            },
            o);
        test::serve_process serve(w.dir, write_config(w));
        REQUIRE(serve.port() != 0);
        test::temp_dir browser_dir;
        test::webdriver b(browser_dir);
        sign_in(b, serve.port());
        b.find("#stat-queued");
        // The next live refresh after the expiry meets a 401.
        CHECK(b.wait_text("#signin-error", "Your session has expired: sign in again.", std::chrono::seconds(20)));
        CHECK(b.exec("return document.querySelector('#top').hidden;") == boost::json::value(true));
        CHECK(serve.stop(SIGTERM) == 0);
    }
}
