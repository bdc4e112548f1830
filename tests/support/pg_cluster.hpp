// The throwaway PostgreSQL 15 cluster the PostgreSQL tests run against: started by CTest (fixture "postgresql",
// scripts/pg-test-cluster.sh), its URL in <build>/pg-test/url. Test cases run in parallel, so each works in a
// database of its own.
#ifndef SPACEHOOK_TEST_PG_CLUSTER_HPP
#define SPACEHOOK_TEST_PG_CLUSTER_HPP

#include "spacehook/store/pg.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace spacehook::test {

inline std::string cluster_url() {
    std::ifstream in(fmt::format("{}/pg-test/url", SPACEHOOK_BINARY_DIR));  // not string + "...": GCC 12 -Warray-bounds at -O1
    std::string url;
    std::getline(in, url);
    if (url.empty()) throw std::runtime_error("no PostgreSQL test cluster: run through ctest (fixture postgresql)");
    return url;
}

// A database for one test case, dropped at its end.
struct scratch_database {
    std::string name;
    std::string url;

    scratch_database() {
        static std::atomic<int> n{0};
        name = fmt::format("t_{}_{}", getpid(), n++);
        const auto base = cluster_url();
        store::pg::connection(base).exec("CREATE DATABASE " + name);
        url = base.substr(0, base.rfind('/') + 1) + name;
    }
    ~scratch_database() {
        try {
            store::pg::connection(cluster_url()).exec("DROP DATABASE " + name + " WITH (FORCE)");
        } catch (...) {  // the cluster is gone: so is the database
        }
    }
    scratch_database(const scratch_database&) = delete;
    scratch_database& operator=(const scratch_database&) = delete;
};

}  // namespace spacehook::test

#endif
