// A real load balancer for multi-instance tests: Debian's nginx (nginx-light) in front of several `serve`
// processes on loopback, as an operator would run it (docs/deploy.md): a request that finds an instance dead (the
// connection refused or reset, or a 502/503 from it) is passed to the next one. Re-sending a delivery that an
// instance may already have stored is harmless: the store keeps one row per event id.
#ifndef SPACEHOOK_TEST_NGINX_HPP
#define SPACEHOOK_TEST_NGINX_HPP

#include "test_support.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace spacehook::test {

inline std::string nginx_binary() { return "/usr/sbin/nginx"; }

class nginx_balancer {
public:
    // Listens on 127.0.0.1:`port`, balancing over 127.0.0.1:`upstream_ports` (round robin).
    nginx_balancer(const temp_dir& dir, std::uint16_t port, const std::vector<std::uint16_t>& upstream_ports) {
        const auto prefix = dir.file("nginx");
        std::filesystem::create_directories(prefix + "/logs");
        std::filesystem::permissions(prefix, std::filesystem::perms::all);  // workers run as nobody under root
        std::filesystem::permissions(prefix + "/logs", std::filesystem::perms::all);
        std::string servers;
        for (auto p : upstream_ports) servers += fmt::format("    server 127.0.0.1:{} max_fails=0;\n", p);
        const auto conf = prefix + "/nginx.conf";
        std::ofstream(conf) << fmt::format(R"(worker_processes 1;
daemon off;
pid {0}/nginx.pid;
error_log {0}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {0}/body;
  proxy_temp_path {0}/proxy;
  fastcgi_temp_path {0}/fastcgi;
  uwsgi_temp_path {0}/uwsgi;
  scgi_temp_path {0}/scgi;
  upstream spacehook {{
{1}  }}
  server {{
    listen 127.0.0.1:{2};
    location / {{
      proxy_pass http://spacehook;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 1s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 4;
    }}
  }}
}}
)",
                                           prefix, servers, port);
        std::vector<std::string> args{nginx_binary(), "-p", prefix, "-c", conf};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("cannot start " + nginx_binary() + " (apt-get install nginx-light)");
        const bool up = wait_for_listener(port);
        if (!up) throw std::runtime_error("nginx did not start: " + slurp_file(prefix + "/logs/error.log"));
    }
    ~nginx_balancer() {
        ::kill(pid_, SIGQUIT);
        ::waitpid(pid_, nullptr, 0);
    }
    nginx_balancer(const nginx_balancer&) = delete;
    nginx_balancer& operator=(const nginx_balancer&) = delete;

private:
    static std::string slurp_file(const std::string& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    pid_t pid_ = -1;
};

}  // namespace spacehook::test

#endif
