#include "spacehook/cli/run.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    try {
        return spacehook::cli::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spacehook: %s\n", e.what());
        return 1;
    }
}
