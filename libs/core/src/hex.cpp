#include "spacehook/core/hex.hpp"

namespace spacehook::hex {

std::string encode(std::string_view bytes, letter_case lc) {
    const char* digits = lc == letter_case::upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    out.resize(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto b = static_cast<unsigned char>(bytes[i]);
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 0xF];
    }
    return out;
}

}  // namespace spacehook::hex
