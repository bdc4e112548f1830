// The `spacehook` command line (docs/contract.md §1). Exit codes: 0 ok, 1 user error (one message on
// stderr), 2 usage.
#ifndef SPACEHOOK_CLI_RUN_HPP
#define SPACEHOOK_CLI_RUN_HPP

namespace spacehook::cli {

int run(int argc, char** argv);

}  // namespace spacehook::cli

#endif
