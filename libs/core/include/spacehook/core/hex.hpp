// Hex encoding of byte strings.
#ifndef SPACEHOOK_CORE_HEX_HPP
#define SPACEHOOK_CORE_HEX_HPP

#include <string>
#include <string_view>

namespace spacehook::hex {

enum class letter_case { lower, upper };
std::string encode(std::string_view bytes, letter_case lc = letter_case::lower);

}  // namespace spacehook::hex

#endif
