#include "spacehook/core/error.hpp"

namespace spacehook {

std::string_view to_string(errc e) {
    switch (e) {
    case errc::unavailable: return "unavailable";
    case errc::timed_out: return "timed_out";
    case errc::rate_limited: return "rate_limited";
    case errc::unauthorized: return "unauthorized";
    case errc::unexpected: return "unexpected";
    case errc::rejected: return "rejected";
    case errc::invalid: return "invalid";
    }
    return "unknown";
}

}  // namespace spacehook
