#include "spacehook/webhook/triggers.hpp"

#include <array>

namespace spacehook::webhook {
namespace {

constexpr std::array<trigger_info, 36> table{{
    {"user.created", 1LL << 0, true},
    {"user.invited", 1LL << 1, true},
    {"user.updated", 1LL << 2, false},
    {"user.deleted", 1LL << 3, false},
    {"group.created", 1LL << 4, true},
    {"group.updated", 1LL << 5, true},
    {"group.deleted", 1LL << 6, true},
    {"file.created", 1LL << 7, false},
    {"file.uploaded", 1LL << 8, false},
    {"file.updated", 1LL << 9, false},
    {"file.trashed", 1LL << 10, false},
    {"file.deleted", 1LL << 11, false},
    {"file.restored", 1LL << 12, false},
    {"file.copied", 1LL << 13, false},
    {"file.moved", 1LL << 14, false},
    {"folder.created", 1LL << 15, false},
    {"folder.updated", 1LL << 16, false},
    {"folder.trashed", 1LL << 17, false},
    {"folder.deleted", 1LL << 18, false},
    {"folder.restored", 1LL << 19, false},
    {"folder.copied", 1LL << 20, false},
    {"folder.moved", 1LL << 21, false},
    {"room.created", 1LL << 22, true},
    {"room.updated", 1LL << 23, false},
    {"room.archived", 1LL << 24, false},
    {"room.deleted", 1LL << 25, false},
    {"room.restored", 1LL << 26, false},
    {"room.copied", 1LL << 27, true},
    {"form.submit", 1LL << 28, false},
    {"form.filled.out", 1LL << 29, false},
    {"form.stopped", 1LL << 30, false},
    {"agent.created", 1LL << 31, true},
    {"agent.updated", 1LL << 32, false},
    {"agent.deleted", 1LL << 33, false},
    {"file.downloaded", 1LL << 34, false},
    {"folder.downloaded", 1LL << 35, false},
}};

bool is_all(std::string_view name) { return name == "*" || name == "All"; }

}  // namespace

std::span<const trigger_info> trigger_table() { return table; }

std::optional<std::int64_t> trigger_bit(std::string_view name) {
    if (is_all(name)) return 0;
    for (const auto& t : table)
        if (t.name == name) return t.bit;
    return std::nullopt;
}

std::string_view trigger_name(std::int64_t bit) {
    if (bit == 0) return "*";
    for (const auto& t : table)
        if (t.bit == bit) return t.name;
    return {};
}

std::vector<std::string> trigger_names(std::int64_t mask) {
    if (mask == 0) return {"*"};
    std::vector<std::string> out;
    for (int i = 0; i < 64; ++i) {
        const auto bit = static_cast<std::int64_t>(std::uint64_t{1} << i);
        if ((mask & bit) == 0) continue;
        auto name = trigger_name(bit);
        out.emplace_back(name.empty() ? std::to_string(static_cast<std::uint64_t>(bit)) : std::string(name));
    }
    return out;
}

std::optional<std::int64_t> trigger_mask(const std::vector<std::string>& names) {
    std::int64_t mask = 0;
    bool all = false;
    for (const auto& n : names) {
        auto bit = trigger_bit(n);
        if (!bit) return std::nullopt;
        if (*bit == 0) all = true;
        mask |= *bit;
    }
    return all ? 0 : mask;
}

}  // namespace spacehook::webhook
