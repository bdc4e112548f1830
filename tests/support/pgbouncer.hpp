// A transaction-pooling proxy in front of the PostgreSQL test cluster: Debian's pgbouncer with pool_mode =
// transaction, as operators run it. Each transaction of a client may run on another server session, so session
// state (prepared statements, LISTEN) does not survive from one transaction to the next.
#ifndef SPACEHOOK_TEST_PGBOUNCER_HPP
#define SPACEHOOK_TEST_PGBOUNCER_HPP

#include "test_support.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace spacehook::test {

class pgbouncer_proxy {
public:
    // Listens on 127.0.0.1:`port` and pools connections to 127.0.0.1:`server_port` (user spacehook, trust).
    pgbouncer_proxy(std::uint16_t port, std::uint16_t server_port) {
        // A directory of its own under /tmp that `nobody` can enter (the tests' temp_dir is private to root).
        std::string tmpl = "/tmp/spacehook-pgbouncer-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
        base_ = tmpl;
        const auto& base = base_;
        std::filesystem::permissions(base, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                               std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                               std::filesystem::perms::others_exec);
        std::ofstream(base + "/userlist.txt") << "\"spacehook\" \"\"\n";
        std::ofstream(base + "/pgbouncer.ini") << fmt::format(R"([databases]
* = host=127.0.0.1 port={1}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {2}
unix_socket_dir =
auth_type = trust
auth_file = {0}/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
logfile = {0}/pgbouncer.log
pidfile = {0}/pgbouncer.pid
)",
                                                              base, server_port, port);
        // pgbouncer refuses to run as root: under root (CI) it runs as nobody, which must read its files.
        std::vector<std::string> args;
        if (::geteuid() == 0) {
            if (const passwd* nobody = ::getpwnam("nobody")) {
                for (const auto& f : std::filesystem::recursive_directory_iterator(base))
                    if (::chown(f.path().c_str(), nobody->pw_uid, nobody->pw_gid) != 0) throw std::runtime_error("chown");
                if (::chown(base.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) throw std::runtime_error("chown");
            }
            args = {"/usr/sbin/runuser", "-u", "nobody", "--"};
        }
        args.insert(args.end(), {"/usr/sbin/pgbouncer", base + "/pgbouncer.ini"});
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // A process group of its own, so that stopping it reaches pgbouncer under runuser too.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawn_file_actions_t fa;  // its log goes to its logfile; stderr would repeat it into the test's output
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        const int rc = posix_spawn(&pid_, argv[0], &fa, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) throw std::runtime_error("cannot start pgbouncer (apt-get install pgbouncer)");
        const bool up = wait_for_listener(port);
        if (!up) throw std::runtime_error("pgbouncer did not start; see " + base + "/pgbouncer.log");
    }
    ~pgbouncer_proxy() {
        ::kill(-pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        std::error_code ec;
        std::filesystem::remove_all(base_, ec);
    }
    pgbouncer_proxy(const pgbouncer_proxy&) = delete;
    pgbouncer_proxy& operator=(const pgbouncer_proxy&) = delete;

private:
    std::string base_;
    pid_t pid_ = -1;
};

}  // namespace spacehook::test

#endif
