// Hex encoding of byte strings, and base64 decoding.
#ifndef SPACEHOOK_CORE_HEX_HPP
#define SPACEHOOK_CORE_HEX_HPP

#include <string>
#include <string_view>

namespace spacehook::hex {

enum class letter_case { lower, upper };
std::string encode(std::string_view bytes, letter_case lc = letter_case::lower);
// 0-15 for a hex digit (either case), -1 for anything else.
int digit_value(char c);

}  // namespace spacehook::hex

namespace spacehook::base64 {

// RFC 4648 base64 (standard alphabet) to bytes. Lenient: skips bytes outside the alphabet (line breaks in
// MIME bodies) and stops at the first '='.
std::string decode_lenient(std::string_view in);

}  // namespace spacehook::base64

#endif
