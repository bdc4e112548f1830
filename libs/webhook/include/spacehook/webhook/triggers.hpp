// The webhook trigger table (docs/docspace-protocol.md §2.3): names <-> int64 bits. "*" (also "All") is 0,
// meaning every trigger.
#ifndef SPACEHOOK_WEBHOOK_TRIGGERS_HPP
#define SPACEHOOK_WEBHOOK_TRIGGERS_HPP

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::webhook {

struct trigger_info {
    std::string_view name;  // "file.uploaded"
    std::int64_t bit;       // 256
    bool admin_only;        // available to DocSpace admins and room admins only
};

// Every known trigger in ascending bit order ("*" not included).
std::span<const trigger_info> trigger_table();

// "file.uploaded" -> 256; "*" or "All" -> 0; unknown -> nullopt.
std::optional<std::int64_t> trigger_bit(std::string_view name);
// 256 -> "file.uploaded"; 0 -> "*"; not exactly one known bit -> "".
std::string_view trigger_name(std::int64_t bit);
// Names of the bits set in `mask`, ascending; 0 -> {"*"}. An unknown bit appears as its decimal value.
std::vector<std::string> trigger_names(std::int64_t mask);
// OR of the names' bits; any "*"/"All" makes it 0; nullopt if a name is unknown.
std::optional<std::int64_t> trigger_mask(const std::vector<std::string>& names);

}  // namespace spacehook::webhook

#endif
