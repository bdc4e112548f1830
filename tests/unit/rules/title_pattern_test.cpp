#include "spacehook/rules/title_pattern.hpp"

#include <doctest/doctest.h>

#include <string>

using spacehook::rules::title_filter;
using spacehook::rules::title_match;
using spacehook::rules::title_pattern;

namespace {

title_pattern make(title_match kind, std::string pattern, bool case_sensitive = false) {
    return title_pattern(title_filter{kind, std::move(pattern), case_sensitive});
}
title_pattern prefix(std::string p, bool cs = false) { return make(title_match::prefix, std::move(p), cs); }
title_pattern suffix(std::string p, bool cs = false) { return make(title_match::suffix, std::move(p), cs); }
title_pattern glob(std::string p, bool cs = false) { return make(title_match::glob, std::move(p), cs); }
title_pattern regex(std::string p, bool cs = false) { return make(title_match::regex, std::move(p), cs); }

}  // namespace

TEST_SUITE("rules.title_pattern") {

TEST_CASE("prefix matches case-insensitively by default and exactly when case-sensitive") {
    auto p = prefix("invoice");
    CHECK(p.matches("invoice-2025.pdf"));
    CHECK(p.matches("INVOICE-2025.pdf"));
    CHECK(p.matches("Invoice"));
    CHECK_FALSE(p.matches("Invoic"));
    CHECK_FALSE(p.matches("my invoice.pdf"));
    CHECK_FALSE(p.matches(""));
    auto cs = prefix("Invoice", true);
    CHECK(cs.matches("Invoice-1.pdf"));
    CHECK_FALSE(cs.matches("invoice-1.pdf"));
    CHECK(prefix("").matches("anything"));
}

TEST_CASE("prefix and suffix fold non-ASCII titles") {
    CHECK(prefix("rechnung ü").matches("Rechnung Übersicht.pdf"));
    CHECK(prefix("RECHNUNG Ü").matches("rechnung übersicht.pdf"));
    CHECK(prefix("счёт").matches("Счёт.pdf"));
    CHECK(prefix("СЧЁТ").matches("счёт-17.pdf"));
    CHECK(prefix("σας").matches("ΣΑΣ.txt"));  // final sigma folds like sigma
    CHECK(suffix("übersicht.pdf").matches("Rechnung ÜBERSICHT.PDF"));
    CHECK(suffix("ЁТ.PDF").matches("Счёт.pdf"));
    CHECK_FALSE(prefix("Счёт", true).matches("счёт.pdf"));
    CHECK(prefix("Счёт", true).matches("Счёт.pdf"));
    CHECK_FALSE(prefix("straße").matches("STRASSE"));  // simple folding: ß stays ß
}

TEST_CASE("suffix counts code points, not bytes") {
    auto s = suffix(".pdf");
    CHECK(s.matches("a.PDF"));
    CHECK(s.matches(".pdf"));
    CHECK_FALSE(s.matches("pdf"));
    CHECK_FALSE(s.matches("a.pdf.docx"));
    CHECK(suffix("k").matches("\u212A"));                 // KELVIN SIGN (3 bytes) folds to 'k' (1 byte)
    CHECK(suffix("\u212Ax").matches("Kx"));
    CHECK(suffix("ä.pdf").matches("Ä.pdf"));
    CHECK(suffix(".pdf", true).matches("x.pdf"));
    CHECK_FALSE(suffix(".pdf", true).matches("x.PDF"));
    CHECK(suffix("").matches(""));
}

TEST_CASE("glob matches the whole title with * ? and sets") {
    auto g = glob("invoice-*.pdf");
    CHECK(g.matches("invoice-2025.pdf"));
    CHECK(g.matches("Invoice-.PDF"));
    CHECK_FALSE(g.matches("invoice-2025.pdf.bak"));
    CHECK_FALSE(g.matches("my invoice-1.pdf"));
    CHECK(glob("*").matches(""));
    CHECK(glob("*").matches("x"));
    CHECK(glob("").matches(""));
    CHECK_FALSE(glob("").matches("x"));
    CHECK(glob("***a**").matches("bba"));
    CHECK(glob("a*b*c").matches("aXbYbZc"));
    CHECK_FALSE(glob("a*b*c").matches("aXbYbZ"));
    CHECK(glob("*a*a*a*a*a*b").matches("aaaaaaaaaaaaaaaaaaaaab"));
    CHECK_FALSE(glob("*a*a*a*a*a*b").matches("aaaaaaaaaaaaaaaaaaaaaa"));
    CHECK(glob("report-??.xlsx").matches("report-12.xlsx"));
    CHECK_FALSE(glob("report-??.xlsx").matches("report-1.xlsx"));
    CHECK_FALSE(glob("report-??.xlsx").matches("report-123.xlsx"));
}

TEST_CASE("glob ? takes one code point, not one byte") {
    CHECK(glob("?.pdf").matches("ü.pdf"));
    CHECK(glob("?.pdf").matches("Ж.pdf"));
    CHECK(glob("?.pdf").matches("\xF0\x9F\x98\x80.pdf"));  // 4-byte emoji
    CHECK_FALSE(glob("??.pdf").matches("ü.pdf"));
    CHECK(glob("Сч?т*").matches("счёт 2025.pdf"));
}

TEST_CASE("glob sets: ranges, negation, a literal closing bracket or dash, case folding") {
    CHECK(glob("[abc].txt").matches("b.txt"));
    CHECK(glob("[abc].txt").matches("B.txt"));
    CHECK_FALSE(glob("[abc].txt", true).matches("B.txt"));
    CHECK(glob("v[0-9].pdf").matches("v7.pdf"));
    CHECK_FALSE(glob("v[0-9].pdf").matches("vx.pdf"));
    CHECK(glob("[!x]*").matches("abc"));
    CHECK_FALSE(glob("[!x]*").matches("xyz"));
    CHECK_FALSE(glob("[!x]*").matches("Xyz"));  // negated sets fold too
    CHECK(glob("[^x]*").matches("y"));
    CHECK(glob("[]]").matches("]"));
    CHECK(glob("[!]]").matches("a"));
    CHECK_FALSE(glob("[!]]").matches("]"));
    CHECK(glob("[a-]").matches("-"));
    CHECK(glob("[-a]").matches("-"));
    CHECK(glob("[A-Z]").matches("q"));                 // folded set
    CHECK(glob("[a-z]").matches("Q"));
    CHECK_FALSE(glob("[A-Z]", true).matches("q"));
    CHECK(glob("[ä]").matches("Ä"));
    CHECK(glob("[а-я]*").matches("Счёт"));           // Cyrillic range, folded title
    CHECK(glob("[А-Я]*").matches("счёт"));
    CHECK(glob("[α-ω]").matches("Σ"));
    CHECK_FALSE(glob("[z-a]").matches("m"));          // reversed range is empty
}

TEST_CASE("glob escapes and unclosed sets are literal") {
    CHECK(glob("\\*.pdf").matches("*.pdf"));
    CHECK_FALSE(glob("\\*.pdf").matches("a.pdf"));
    CHECK(glob("what\\?").matches("what?"));
    CHECK_FALSE(glob("what\\?").matches("whatx"));
    CHECK(glob("a\\").matches("a\\"));
    CHECK(glob("[abc").matches("[abc"));
    CHECK(glob("[ab*").matches("[abXYZ"));
    CHECK(glob("[\\]]").matches("]"));
    CHECK(glob("[\\!a]").matches("!"));
}

TEST_CASE("regex searches anywhere unless anchored") {
    CHECK(regex("inv\\d+").matches("scan INV123 final.pdf"));
    CHECK_FALSE(regex("^inv\\d+").matches("scan INV123 final.pdf"));
    CHECK(regex("^inv\\d+").matches("Inv77.pdf"));
    CHECK(regex("\\.pdf$").matches("a.PDF"));
    CHECK_FALSE(regex("\\.pdf$").matches("a.pdf.bak"));
    CHECK_FALSE(regex("^inv", true).matches("Inv.pdf"));
    CHECK(regex("^Inv", true).matches("Inv.pdf"));
    CHECK(regex("").matches("anything"));
}

TEST_CASE("regex works on code points and folds non-ASCII letters") {
    CHECK(regex("^.\\.pdf$").matches("ü.pdf"));       // . is one code point
    CHECK(regex("^rechnung ü").matches("RECHNUNG Übersicht.pdf"));
    CHECK(regex("^СЧЁТ").matches("счёт.pdf"));
    CHECK(regex("^[а-яё]+\\.pdf$").matches("Счёт.pdf"));
    CHECK_FALSE(regex("^[а-я]+\\.pdf$").matches("Счёт.pdf"));  // ё (U+0451) is outside а-я
    CHECK(regex("σ$").matches("ΟΔΥΣΣΕΑΣ"));
    CHECK_FALSE(regex("^СЧЁТ", true).matches("счёт.pdf"));
    CHECK(regex("\\W").matches("a b"));             // escapes are not folded: \W stays "non-word"
    CHECK_FALSE(regex("\\W").matches("ab"));
    CHECK(regex("[A-z]").matches("_"));             // ASCII ranges keep their meaning under icase
}

TEST_CASE("case-insensitive regex folds escapes and bracket expressions") {
    CHECK(regex("\\x41\\u00C4").matches("aä"));
    CHECK(regex("^[A-Z]+$").matches("Quarterly"));
    CHECK_FALSE(regex("^[^A-Z]").matches("quarterly"));  // 'q' folds into [A-Z], so [^A-Z] rejects it
    CHECK(regex("^[^A-Z]").matches("1st"));
    CHECK_FALSE(regex("[^Ä]").matches("ä"));
    CHECK(regex("^[Ä-Ö]$").matches("ö"));
    CHECK(regex("^[[:upper:]]+$").matches("abc"));      // as with std::regex::icase
    CHECK(regex("^[\\w.]+$").matches("Report.PDF"));
    CHECK(regex("^a\\.b$").matches("A.B"));
    CHECK_FALSE(regex("^a\\.b$").matches("AxB"));
    CHECK(regex("\\bpdf\\b").matches("a PDF file"));
    CHECK(regex("[\\]]").matches("]"));
    CHECK(regex("\\cJ").matches("a\nb"));
    CHECK_FALSE(regex("^[\\x41-\\x43]$").matches("d"));
    CHECK(regex("^[\\x41-\\x43]$").matches("b"));
    CHECK(regex("^(?:inv|rech)\\w*", false).matches("RECHNUNG"));
    CHECK(regex("^inv(?=oice)").matches("INVOICE"));
    CHECK(regex("^\\x41", true).matches("A"));
    CHECK_FALSE(regex("^\\x41", true).matches("a"));
}

TEST_CASE("regex matching stays fast on pathological patterns and long titles") {
    const std::string as(3000, 'a');
    CHECK_FALSE(regex("(a*)*b").matches(as));  // exponential for a backtracking engine
    CHECK_FALSE(regex("(a|aa)*c").matches(as));
    CHECK(regex("^(a|b)*$").matches(std::string(20000, 'a')));  // would overflow a recursive matcher's stack
}

TEST_CASE("a regex with a back-reference does not compile: backtracking could take exponential time") {
    // Found by tests/fuzz/fuzz_config: ^(a|a)+\1b$ took about a second on 24 characters, doubling with each.
    std::string as_then_b(41, 'a');  // aaaa...ab, what exponential backtracking chokes on
    as_then_b.back() = 'b';
    for (const char* p : {"^(a|a)+\\1b$", "(a)\\1", "(x)(y)\\2"}) {
        CAPTURE(p);
        auto r = regex(p);
        CHECK(r.error().find("back-reference") != std::string::npos);
        CHECK_FALSE(r.matches(as_then_b));  // returns at once: nothing is matched
        CHECK(r.explain("x").find("back-reference") != std::string::npos);
    }
    CHECK(regex("^a\\\\1$").matches("A\\1"));  // an escaped backslash, then a literal 1
}

TEST_CASE("an invalid regex matches nothing and says why") {
    auto r = regex("(unclosed");
    CHECK_FALSE(r.error().empty());
    CHECK_FALSE(r.matches("(unclosed"));
    CHECK(r.explain("x").find("invalid regular expression \"(unclosed\"") != std::string::npos);
}

TEST_CASE("invalid UTF-8 in titles or patterns does not crash and matches byte for byte") {
    const std::string bad_title("Re\xC3(\xFF\xFE.pdf", 10);
    CHECK(suffix(".pdf").matches(bad_title));
    CHECK(prefix(std::string("re\xC3(", 4)).matches(bad_title));
    CHECK_FALSE(prefix("re\xC3\xA4").matches(bad_title));
    CHECK(glob("re??*.pdf").matches(bad_title));
    CHECK(glob(std::string("*\xFF\xFE*", 4)).matches(bad_title));
    CHECK(regex("\\.pdf$").matches(bad_title));
    CHECK(regex(std::string("^..\xC3", 3)).matches(bad_title));
    // Truncated sequences at the end of the title.
    CHECK_FALSE(prefix("abc").matches(std::string("ab\xE2\x82", 4)));
    CHECK(glob("ab??").matches(std::string("ab\xE2\x82", 4)));
    CHECK(glob("ab?").matches(std::string("ab\xF0", 3)));
    // An invalid byte does not pose as the Latin-1 letter of the same value.
    CHECK_FALSE(prefix("\xC3\x89").matches("\xC9"));
}

TEST_CASE("explain names the filter, the title and case sensitivity") {
    CHECK(prefix("invoice").explain("x.pdf") == "title \"x.pdf\" does not start with \"invoice\"");
    CHECK(suffix(".pdf", true).explain("x.PDF") == "title \"x.PDF\" does not end with \".pdf\" (case-sensitive)");
    CHECK(glob("*.pdf").explain("x") == "title \"x\" does not match glob \"*.pdf\"");
    CHECK(regex("^a").explain("b") == "title \"b\" does not match regex \"^a\"");
}

TEST_CASE("regex anchors and lookaheads mean the same on short and long titles") {
    for (std::size_t filler : {10u, 300u, 3000u}) {
        CAPTURE(filler);
        const std::string title = "Invoice " + std::string(filler, 'x') + " 2025.PDF";
        CHECK(regex("^invoice x+ \\d{4}\\.pdf$").matches(title));
        CHECK(regex("\\d{4}").matches(title));
        CHECK_FALSE(regex("^x").matches(title));
        CHECK_FALSE(regex("x$").matches(title));
        CHECK(regex("\\bpdf$").matches(title));
        CHECK_FALSE(regex("\\bvoice").matches(title));
        CHECK(regex("x(?= 2025)").matches(title));
        CHECK_FALSE(regex("x(?!x| )").matches(title));
        CHECK(regex("^(?:inv|rech)").matches(title));
        CHECK(regex("[\\s\\S]").matches(title));
    }
}

TEST_CASE("long titles do not break glob or regex") {
    std::string title(5000, 'a');
    CHECK(glob("*a*a*a*b").matches(title) == false);
    CHECK(regex("a$").matches(title));
    CHECK(glob("*").matches(title));
}

}
