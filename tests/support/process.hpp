// Running the real `spacehook` binary from tests: one-shot commands with their output, and a `serve`
// process that can be signalled (SIGTERM, SIGKILL) and restarted.
#ifndef SPACEHOOK_TEST_PROCESS_HPP
#define SPACEHOOK_TEST_PROCESS_HPP

#include "test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

extern char** environ;

namespace spacehook::test {

inline std::string spacehook_binary() { return std::string(SPACEHOOK_BINARY_DIR) + "/apps/spacehook/spacehook"; }

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err,
                   const std::string& in = "/dev/null") {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // the test's own sockets stay the test's (webdriver.hpp)
    std::vector<char*> argv;
    std::string bin = spacehook_binary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

struct cli_result {
    int exit_code = -1;
    std::string out, err;
};

// Runs `spacehook args...` to completion (stdin from `in`).
inline cli_result run_cli(const temp_dir& dir, const std::vector<std::string>& args, const std::string& in = "/dev/null") {
    auto out = dir.file("cli.out"), err = dir.file("cli.err");
    ::unlink(err.c_str());
    pid_t pid = spawn(args, out, err, in);
    cli_result r;
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

// `spacehook serve --config FILE` as a child process; the listening port is read from its start-up log line.
class serve_process {
public:
    serve_process(const temp_dir& dir, std::string config) : dir_(dir), config_(std::move(config)) { start(); }
    ~serve_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    void start() {
        log_offset_ = slurp(log_path()).size();
        pid_ = spawn({"serve", "--config", config_}, dir_.file("serve.out"), log_path());
        port_ = 0;
        poll_until([&] {
            auto log = slurp(log_path()).substr(log_offset_);
            std::smatch m;
            static const std::regex re(R"re("event":"serve.started","listen":"[^"]*:(\d+)")re");
            if (std::regex_search(log, m, re)) port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
            return port_ != 0 || !alive();
        });
    }
    // False once the process has exited; it is then reaped here (its status kept for stop()), so its pid is
    // never signalled again.
    bool alive() {
        if (pid_ <= 0) return false;
        if (::waitpid(pid_, &status_, WNOHANG) == 0) return true;
        pid_ = -1;
        return false;
    }
    // Sends `sig` and waits for the exit; returns the exit code (128+signal when killed). A process that had
    // already exited is not signalled: its own exit code is returned.
    int stop(int sig = SIGTERM) {
        if (pid_ > 0) {
            ::kill(pid_, sig);
            ::waitpid(pid_, &status_, 0);
            pid_ = -1;
        }
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    }
    bool signal(int sig) { return pid_ > 0 && ::kill(pid_, sig) == 0; }
    std::uint16_t port() const { return port_; }
    std::string log_path() const { return dir_.file("serve.log"); }
    std::string log() const { return slurp(log_path()); }

private:
    const temp_dir& dir_;
    std::string config_;
    pid_t pid_ = -1;
    int status_ = 0;  // the wait status of the last process that exited
    std::uint16_t port_ = 0;
    std::size_t log_offset_ = 0;
};

}  // namespace spacehook::test

#endif
