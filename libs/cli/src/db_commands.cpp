#include "db_commands.hpp"

#include "args.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/service/database.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>

namespace spacehook::cli {

std::unique_ptr<store::admin> open_database(const config::settings& s) {
    try {
        return service::open_admin(s.database);
    } catch (const std::exception& e) {
        throw user_error(e.what());
    }
}

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            out += cells[i];
            if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
        }
        return out + "\n";
    };
    std::string out = line(header);
    for (const auto& r : rows) out += line(r);
    return out;
}

std::int64_t since_to_ms(const std::string& duration, const char* flag) {
    auto ms = clock::parse_duration_ms(duration);
    if (!ms) throw usage_error(fmt::format("--{} takes a duration such as 30d, 12h, 15m", flag));
    return clock::now_ms() - *ms;
}

std::int64_t parse_id(const std::string& text, const char* what) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || v <= 0)
        throw usage_error(fmt::format("{} must be a positive number, not \"{}\"", what, text));
    return v;
}

}  // namespace spacehook::cli
