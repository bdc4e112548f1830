#include "spacehook/cli/run.hpp"

#include "args.hpp"
#include "commands.hpp"
#include "spacehook/core/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

namespace spacehook::cli {
namespace {

const command commands[] = {
    {"serve", "run the service: HTTP front end + worker pool",
     "usage: spacehook serve --config FILE\n\n"
     "Runs until SIGTERM or Ctrl-C, then drains in-flight requests and running steps and exits 0.\n"
     "SIGHUP reloads rules, channels and webhook secrets from FILE (a bad file is refused, the old config stays).\n"
     "Log level: SPACEHOOK_LOG_LEVEL=debug|info|warn|error (default info).\n",
     cmd_serve},
    {"check", "validate a config file and print the rule table",
     "usage: spacehook check --config FILE\n\nPrints every problem with its JSON path and exits 1, or prints the rules "
     "and exits 0.\n",
     cmd_check},
    {"demo", "a zero-setup tour with a built-in DocSpace simulator and mail sink",
     "usage: spacehook demo [--keep DIR]\n\nStarts the service on a temporary directory (or DIR) against an in-process "
     "DocSpace simulator and SMTP sink, plays the recipes' events, prints what happened and exits 0. No network, no "
     "account.\n",
     cmd_demo},
    {"webhooks", "manage the portal's webhooks (create, list, update, enable, disable, delete, triggers)",
     "usage: spacehook webhooks <subcommand> --config FILE [options]\n\n"
     "  create --name N --uri U --trigger T [--trigger T2 ...] (--secret S | --secret-env VAR | --secret-file F)\n"
     "         [--target-id ID] [--ssl | --no-ssl] [--disabled]     triggers by name (file.uploaded) or All\n"
     "  list [--json]\n"
     "  update ID [the create options; what is left out stays; an omitted secret keeps the old one]\n"
     "  enable ID | disable ID | delete ID\n"
     "  triggers [--json]                                          the portal's trigger list (DocSpace 3.7.1+)\n"
     "Uses docspace.base_url and docspace.api_key from the config.\n",
     cmd_webhooks},
    {"jobs", "inspect and steer the job table (list, show, retry, cancel, purge)",
     "usage: spacehook jobs <list|show ID|retry ID|cancel ID|purge> --config FILE [options]\n", cmd_jobs},
    {"events", "the received deliveries (list, show, replay, backfill)",
     "usage: spacehook events <subcommand> --config FILE [options]\n\n"
     "  list [--trigger T] [--since 24h] [--limit N] [--json]\n"
     "  show ID [--json] | replay ID [--json]\n"
     "  backfill [--since 72h] [--dry-run] [--json]   one pass over DocSpace's delivery log: stores what DocSpace\n"
     "                                               failed to deliver (exit 1 when the log could not be read)\n",
     cmd_events},
    {"db", "copy a SQLite installation into PostgreSQL",
     "usage: spacehook db copy --from SQLITE_FILE --to postgresql://USER@HOST:PORT/DB [--allow-non-empty] [--json]\n\n"
     "Copies events, jobs and steps in one transaction: jobs keep their state, attempts and finished steps, events\n"
     "their identities, so nothing is lost and nothing runs again. Stop `serve` first (its lock is checked). The\n"
     "target must hold no events unless --allow-non-empty (copied rows then get new ids; events already there are\n"
     "left out). The password comes from the URL or PGPASSWORD.\n",
     cmd_db},
    {"sign", "print the signature header DocSpace would send for a body",
     "usage: spacehook sign (--secret S | --secret-env VAR | --secret-file FILE) [FILE|-]\n\n"
     "Prints sha256=<64 uppercase hex> (the value of x-docspace-signature-256) for FILE or standard input.\n",
     cmd_sign},
    {"healthcheck", "probe a running service (for container HEALTHCHECKs without curl)",
     "usage: spacehook healthcheck [--url http://127.0.0.1:8080/healthz] [--timeout-ms 3000]\n\nExits 0 when the URL "
     "answers 2xx, 1 otherwise.\n",
     cmd_healthcheck},
};

void print_help() {
    std::string text = "spacehook " SPACEHOOK_VERSION
                       ": durable ONLYOFFICE DocSpace webhook automation\n\nusage: spacehook <command> [options]\n\n"
                       "commands:\n";
    for (const auto& c : commands) text += fmt::format("  {:<12} {}\n", c.name, c.summary);
    text += "\n`spacehook <command> --help` for a command's options. Exit codes: 0 ok, 1 error, 2 usage.\n";
    std::fputs(text.c_str(), stdout);
}

}  // namespace

int run(int argc, char** argv) {
    if (const char* lvl = std::getenv("SPACEHOOK_LOG_LEVEL")) log::set_min_level(log::parse_level(lvl, log::level::info));
    argv_t all(argv + 1, argv + argc);
    if (all.empty()) {
        print_help();
        return 2;
    }
    if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        print_help();
        return 0;
    }
    if (all[0] == "--version") {
        std::puts("spacehook " SPACEHOOK_VERSION);
        return 0;
    }
    for (const auto& c : commands) {
        if (all[0] != c.name) continue;
        argv_t rest(all.begin() + 1, all.end());
        for (const auto& a : rest)
            if (a == "--help" || a == "-h") {
                std::fputs(c.usage, stdout);
                return 0;
            }
        try {
            return c.run(rest);
        } catch (const usage_error& e) {
            std::fprintf(stderr, "spacehook %s: %s\n%s", c.name, e.what(), c.usage);
            return 2;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "spacehook %s: %s\n", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "spacehook: unknown command \"%s\" (see spacehook --help)\n", all[0].c_str());
    return 2;
}

}  // namespace spacehook::cli
