// `spacehook db copy`: a SQLite installation into PostgreSQL (docs/deploy.md, "Moving to PostgreSQL").
#include "args.hpp"
#include "commands.hpp"
#include "spacehook/store/pg_copy.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace spacehook::cli {
namespace {

// serve's instance lock (SQLite: <path>.lock, held while it runs): a copy of a database that is being written
// would miss what arrives during it.
class no_serve_running {
public:
    explicit no_serve_running(const std::string& db_path) {
        fd_ = ::open((db_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) throw user_error(fmt::format("cannot open {}.lock: {}", db_path, std::strerror(errno)));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            throw user_error(fmt::format("a spacehook serve is using {}: stop it first (the copy must see everything)", db_path));
        }
    }
    ~no_serve_running() { ::close(fd_); }
    no_serve_running(const no_serve_running&) = delete;
    no_serve_running& operator=(const no_serve_running&) = delete;

private:
    int fd_ = -1;
};

}  // namespace

int cmd_db(const argv_t& argv) {
    args a(argv, {.with_value = {"from", "to"}, .boolean = {"allow-non-empty", "json"}});
    if (a.positional().size() != 1 || a.positional()[0] != "copy") throw usage_error("which subcommand: copy?");
    const auto from = a.required("from"), to = a.required("to");
    if (!to.starts_with("postgresql://") && !to.starts_with("postgres://"))
        throw usage_error("--to must be a postgresql:// URL");
    if (!std::filesystem::is_regular_file(from)) throw user_error(fmt::format("{} is not a SQLite database file", from));
    no_serve_running lock(from);
    store::copy_options o{.allow_non_empty = a.has("allow-non-empty")};
    o.progress = [](std::int64_t done, std::int64_t total) {
        std::fprintf(stderr, "copied %lld of %lld events\n", static_cast<long long>(done), static_cast<long long>(total));
    };
    store::copy_counts n;
    try {
        n = store::copy_sqlite_to_pg(from, to, o);
    } catch (const std::exception& e) {
        throw user_error(fmt::format("nothing copied: {}", e.what()));
    }
    if (a.has("json"))
        print(boost::json::serialize(boost::json::object{{"events", n.events},
                                                         {"jobs", n.jobs},
                                                         {"steps", n.steps},
                                                         {"already_there", n.already_there}}) +
              "\n");
    else
        print(fmt::format("copied {} event(s), {} job(s) and {} step(s){}\n", n.events, n.jobs, n.steps,
                          n.already_there ? fmt::format("; {} event(s) were there already and were left out", n.already_there)
                                          : std::string()));
    return 0;
}

}  // namespace spacehook::cli
