// Tools for attacking the real `spacehook serve` from a test: a serve child whose pid is known (for its RSS and
// its open descriptors), and plain POSIX sockets that stream a request while reading the answer, so a server
// that answers early and closes is seen exactly as a client on the wire would see it.
#ifndef SPACEHOOK_TEST_HOSTILE_SUPPORT_HPP
#define SPACEHOOK_TEST_HOSTILE_SUPPORT_HPP

#include "process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace spacehook::test::hostile {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// `spacehook serve --config FILE` as a child process whose pid is exposed. SIGKILLed on destruction.
class serve_child {
public:
    serve_child(const temp_dir& dir, const std::string& config) : dir_(dir) {
        pid_ = spawn({"serve", "--config", config}, dir_.file("serve.out"), log_path());
        poll_until([&] {
            std::smatch m;
            static const std::regex re(R"re("event":"serve.started","listen":"[^"]*:(\d+)")re");
            auto text = log();
            if (std::regex_search(text, m, re)) port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
            return port_ != 0 || !alive();
        });
    }
    ~serve_child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    serve_child(const serve_child&) = delete;
    serve_child& operator=(const serve_child&) = delete;

    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }
    bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
    std::string log_path() const { return dir_.file("serve.log"); }
    std::string log() const { return slurp(log_path()); }
    // SIGTERM and wait; the exit code (128+signal when killed).
    int stop() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    const temp_dir& dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

// A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM"); -1 when unreadable.
inline long proc_status_kb(pid_t pid, std::string_view field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':')
            return std::stol(line.substr(field.size() + 1));
    return -1;
}

// Resident set size now, and its high-water mark since the last reset_peak (or the start).
struct rss_probe {
    pid_t pid;
    long now_kb() const { return proc_status_kb(pid, "VmRSS"); }
    long peak_kb() const { return proc_status_kb(pid, "VmHWM"); }
    // Resets VmHWM to the current RSS (Linux "5" > clear_refs); false when the kernel refuses.
    bool reset_peak() const {
        std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
        out << "5";
        out.flush();
        return static_cast<bool>(out);
    }
};

// Descriptors the process holds (its sockets among them).
inline std::size_t open_fds(pid_t pid) {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    return n;
}

// Raises this process's soft RLIMIT_NOFILE towards `want` (capped by the hard limit); returns the new soft limit.
// Children spawned afterwards inherit it.
inline rlim_t raise_nofile(rlim_t want) {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t target = std::min(want, rl.rlim_max);
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

// Sets the soft RLIMIT_NOFILE of process `pid` (ours or a child: same credentials), keeping its hard limit.
inline bool set_soft_nofile(pid_t pid, rlim_t soft) {
    rlimit rl{};
    if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &rl) != 0) return false;
    rl.rlim_cur = std::min(soft, rl.rlim_max);
    return ::prlimit(pid, RLIMIT_NOFILE, &rl, nullptr) == 0;
}

// User + system CPU seconds the process has used (/proc/<pid>/stat fields 14 and 15).
inline double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close_paren = text.rfind(')');
    if (close_paren == std::string::npos) return -1;
    std::istringstream fields(text.substr(close_paren + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; fields >> field && i <= 15; ++i)
        if (i >= 14) ticks += std::stod(field);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The server side of the established IPv4 connections to local `port`, from /proc/net/tcp: how many there
// are and the bytes still waiting in their receive queues (not yet read by the server process).
struct server_side_queues {
    std::size_t established = 0;
    std::uint64_t unread = 0;
};
inline server_side_queues server_side(std::uint16_t port) {
    server_side_queues q;
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, state, queues;
        if (!(f >> sl >> local >> remote >> state >> queues)) continue;
        auto colon = local.find(':');
        if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
        if (state != "01") continue;  // ESTABLISHED
        ++q.established;
        q.unread += std::stoull(queues.substr(queues.find(':') + 1), nullptr, 16);
    }
    return q;
}

// An owned socket descriptor.
class fd_guard {
public:
    fd_guard() = default;
    explicit fd_guard(int fd) : fd_(fd) {}
    fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    fd_guard& operator=(fd_guard&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~fd_guard() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// A blocking TCP connection to 127.0.0.1:port; empty on failure (errno kept).
inline fd_guard connect_loopback(std::uint16_t port) {
    fd_guard fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fd;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return fd_guard();
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// What one connection saw: the bytes the server sent, how far the upload got and how the connection ended.
struct exchange_result {
    std::string received;
    std::uint64_t sent = 0;        // bytes the kernel accepted from us
    bool source_done = false;      // everything was sent
    int send_errno = 0;            // EPIPE / ECONNRESET: the server stopped the upload
    bool closed = false;           // the server closed (EOF or reset) within the deadline
    int recv_errno = 0;            // ECONNRESET when it was a reset
    bool connected = true;
    std::chrono::milliseconds elapsed{0};
    std::chrono::milliseconds first_byte_after{-1};  // from the start to the first byte of the answer

    // The status code of the `index`-th response in `received` (0 when absent).
    int status(std::size_t index = 0) const {
        std::size_t pos = 0;
        for (std::size_t i = 0;; ++i) {
            pos = received.find("HTTP/1.1 ", pos);
            if (pos == std::string::npos || pos + 12 > received.size()) return 0;
            if (i == index) return std::stoi(received.substr(pos + 9, 3));
            pos += 9;
        }
    }
    std::size_t responses() const {
        std::size_t n = 0;
        for (auto pos = received.find("HTTP/1.1 "); pos != std::string::npos; pos = received.find("HTTP/1.1 ", pos + 1))
            ++n;
        return n;
    }
    bool has(std::string_view text) const { return received.find(text) != std::string::npos; }
};

// Produces the request bytes in pieces; an empty string means the request is complete.
using source = std::function<std::string()>;

// A source that yields `text` once.
inline source once(std::string text) {
    return [t = std::move(text), done = false]() mutable {
        if (done) return std::string();
        done = true;
        return std::move(t);
    };
}

// A source that yields `head`, then `body` repeated until `total` body bytes, `piece` bytes at a time.
inline source head_then_repeat(std::string head, std::uint64_t total, std::string piece) {
    return [head = std::move(head), piece = std::move(piece), total, left = total, head_sent = false]() mutable {
        if (!head_sent) {
            head_sent = true;
            return std::move(head);
        }
        if (left == 0) return std::string();
        auto n = std::min<std::uint64_t>(left, piece.size());
        left -= n;
        return piece.substr(0, n);
    };
}

struct exchange_options {
    std::chrono::milliseconds pace{0};          // pause between pieces (0: as fast as the socket takes them)
    std::chrono::milliseconds deadline{20000};  // hard end of the exchange
    bool stop_when_answered = false;            // return once a complete header block arrived (keeps reading after
                                                // the upload otherwise, until the server closes)
};

// Streams `src` over a fresh connection while reading whatever the server sends, until the server has closed and
// the upload has ended (sent fully or refused), or the deadline passes. SIGPIPE-free.
inline exchange_result exchange(std::uint16_t port, source src, exchange_options opt = {}) {
    exchange_result r;
    const auto start = clock_type::now();
    const auto deadline = start + opt.deadline;
    fd_guard fd = connect_loopback(port);
    if (!fd) {
        r.connected = false;
        return r;
    }
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    std::string pending;
    std::size_t offset = 0;
    bool sending = true;
    auto next_send = start;
    auto take_piece = [&] {
        if (offset < pending.size()) return;
        pending = src();
        offset = 0;
        if (pending.empty()) {
            sending = false;
            r.source_done = true;
        }
    };
    take_piece();
    char buf[65536];
    for (;;) {
        auto now = clock_type::now();
        if (now >= deadline) break;
        if (r.closed && !sending) break;
        if (opt.stop_when_answered && r.received.find("\r\n\r\n") != std::string::npos) break;
        short events = 0;
        if (!r.closed) events |= POLLIN;
        bool want_send = sending && now >= next_send;
        if (want_send) events |= POLLOUT;
        auto wait = deadline - now;
        if (sending && !want_send) wait = std::min<clock_type::duration>(wait, next_send - now);
        if (events == 0) {  // closed, still sending, waiting for the pace
            std::this_thread::sleep_for(wait);
            continue;
        }
        pollfd p{fd.get(), events, 0};
        int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
        int rc = ::poll(&p, 1, std::max(ms, 1));
        if (rc < 0 && errno != EINTR) break;
        if (rc <= 0) continue;
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && !r.closed) {
            for (;;) {
                auto n = ::recv(fd.get(), buf, sizeof buf, 0);
                if (n > 0) {
                    if (r.received.empty())
                        r.first_byte_after =
                            std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
                    r.received.append(buf, static_cast<std::size_t>(n));
                    continue;
                }
                if (n == 0) {
                    r.closed = true;
                } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    r.closed = true;
                    r.recv_errno = errno;
                }
                break;
            }
        }
        if ((p.revents & POLLOUT) && sending) {
            auto n = ::send(fd.get(), pending.data() + offset, pending.size() - offset, MSG_NOSIGNAL);
            if (n > 0) {
                offset += static_cast<std::size_t>(n);
                r.sent += static_cast<std::uint64_t>(n);
                if (offset == pending.size()) {
                    if (opt.pace.count() > 0) next_send = clock_type::now() + opt.pace;
                    take_piece();
                }
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                r.send_errno = errno;
                sending = false;
            }
        } else if ((p.revents & (POLLHUP | POLLERR)) && sending && r.closed) {
            // Reset by the peer while we still had bytes to send: the next send reports it.
            auto n = ::send(fd.get(), pending.data() + offset, pending.size() - offset, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                r.send_errno = errno;
                sending = false;
            } else if (n > 0) {
                offset += static_cast<std::size_t>(n);
                r.sent += static_cast<std::uint64_t>(n);
                if (offset == pending.size()) take_piece();
            }
        }
    }
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    return r;
}

}  // namespace spacehook::test::hostile

#endif
