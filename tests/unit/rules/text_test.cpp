#include "spacehook/rules/text.hpp"

#include <doctest/doctest.h>

#include <string>

using spacehook::rules::fold_case;
using spacehook::rules::html_unescape;

TEST_SUITE("rules.text") {

TEST_CASE("case folding maps ASCII, Latin-1 and Latin Extended-A capitals to small letters") {
    CHECK(fold_case(U'A') == U'a');
    CHECK(fold_case(U'z') == U'z');
    CHECK(fold_case(U'@') == U'@');
    CHECK(fold_case(U'\u00C4') == U'\u00E4');  // Ä -> ä
    CHECK(fold_case(U'\u00D6') == U'\u00F6');  // Ö -> ö
    CHECK(fold_case(U'\u00DE') == U'\u00FE');  // Þ -> þ
    CHECK(fold_case(U'\u00D7') == U'\u00D7');  // × is not a letter
    CHECK(fold_case(U'\u00B5') == U'\u03BC');  // micro sign -> Greek mu
    CHECK(fold_case(U'\u0100') == U'\u0101');  // Ā -> ā
    CHECK(fold_case(U'\u0141') == U'\u0142');  // Ł -> ł
    CHECK(fold_case(U'\u0178') == U'\u00FF');  // Ÿ -> ÿ
    CHECK(fold_case(U'\u017F') == U's');       // long s
    CHECK(fold_case(U'\u1E9E') == U'\u00DF');  // capital sharp s -> ß
}

TEST_CASE("case folding maps Greek and Cyrillic capitals, final sigma included") {
    CHECK(fold_case(U'\u03A3') == U'\u03C3');  // Σ -> σ
    CHECK(fold_case(U'\u03C2') == U'\u03C3');  // ς -> σ
    CHECK(fold_case(U'\u0386') == U'\u03AC');  // Ά -> ά
    CHECK(fold_case(U'\u0410') == U'\u0430');  // А -> а
    CHECK(fold_case(U'\u042F') == U'\u044F');  // Я -> я
    CHECK(fold_case(U'\u0401') == U'\u0451');  // Ё -> ё
    CHECK(fold_case(U'\u0460') == U'\u0461');  // Ѡ -> ѡ
    CHECK(fold_case(U'\u04C0') == U'\u04CF');  // palochka
    CHECK(fold_case(U'\u0430') == U'\u0430');
}

TEST_CASE("characters whose folding needs several code points fold to themselves") {
    CHECK(fold_case(U'\u00DF') == U'\u00DF');  // ß (full folding would be "ss")
    CHECK(fold_case(U'\u0130') == U'\u0130');  // İ
    CHECK(fold_case(U'\u0149') == U'\u0149');  // ŉ
}

TEST_CASE("case folding is idempotent over the whole code space") {
    for (char32_t c = 0; c < 0x110000; ++c) {
        char32_t f = fold_case(c);
        if (fold_case(f) != f) FAIL_CHECK("not idempotent at U+" << std::hex << static_cast<unsigned>(c));
    }
}

TEST_CASE("folding a UTF-8 string keeps invalid bytes unchanged") {
    CHECK(fold_case("Rechnung ÜBERSICHT.PDF") == "rechnung übersicht.pdf");
    CHECK(fold_case("СЧЁТ.pdf") == "счёт.pdf");
    CHECK(fold_case("ΟΔΥΣΣΕΑΣ") == "οδυσσεασ");
    CHECK(fold_case(std::string("A\xFF" "B\xC3", 4)) == std::string("a\xFF" "b\xC3", 4));
    CHECK(fold_case(std::string("\xED\xA0\x80X", 4)) == std::string("\xED\xA0\x80x", 4));  // encoded surrogate
    CHECK(fold_case("") == "");
}

TEST_CASE("html_unescape decodes the entities DocSpace uses") {
    CHECK(html_unescape("Tom &amp; Jerry") == "Tom & Jerry");
    CHECK(html_unescape("&lt;b&gt;&quot;x&quot;&#39;y&apos;") == "<b>\"x\"'y'");
    CHECK(html_unescape("M&#252;ller") == "Müller");
    CHECK(html_unescape("M&#xFC;ller &#X4a;") == "Müller J");
    CHECK(html_unescape("&#x1F600;") == "\xF0\x9F\x98\x80");
    CHECK(html_unescape("a&nbsp;b") == "a\xC2\xA0" "b");
}

TEST_CASE("html_unescape decodes one level only and keeps what it does not know") {
    CHECK(html_unescape("&amp;lt;") == "&lt;");
    CHECK(html_unescape("AT&T") == "AT&T");
    CHECK(html_unescape("&copy; &unknown; & &; &#; &#x; &#xZZ;") == "&copy; &unknown; & &; &#; &#x; &#xZZ;");
    CHECK(html_unescape("&#0; &#xD800; &#x110000; &#99999999999;") == "&#0; &#xD800; &#x110000; &#99999999999;");
    CHECK(html_unescape("trailing &amp") == "trailing &amp");
    CHECK(html_unescape("&&amp;") == "&&");
    CHECK(html_unescape("") == "");
    CHECK(html_unescape("plain") == "plain");
}

}
