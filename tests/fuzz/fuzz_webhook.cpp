// libFuzzer target: webhook signatures (webhook/signature.hpp) and envelope parsing (webhook/envelope.hpp).
//
// Input: "<secrets>\n<header value>\n<body>", secrets separated by '|' (at most 4 used; an empty line is an
// empty list). Without two newlines the whole input is the body, checked against the protocol's test-vector
// secret with an empty header. Invariants, each abort()s when violated:
//   - verify() agrees with a plain reference: the header, blanks trimmed and ASCII-lowercased, equals
//     lowercase(sign(s, body)) for some listed secret s;
//   - verify(sign(s, body)) holds in upper, lower and mixed case and with surrounding blanks;
//   - flipping one bit of a correct header makes verify() false, unless the flip only changes a letter's case;
//   - parse_envelope() either fails with a one-line reason or yields a non-empty event.id and trigger,
//     answers the same for the same bytes, and answers exactly as the DOM reference
//     (tests/support/envelope_reference.hpp) does.
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/webhook/signature.hpp"

#include "envelope_reference.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace spacehook::webhook;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "fuzz_webhook: invariant violated: %s\n", what);
    std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? void() : violated(#cond))

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lowered(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = lower(c);
    return out;
}

std::string upper_of(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = upper(c);
    return out;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool reference_verify(const std::vector<std::string>& secrets, std::string_view body, std::string_view header) {
    const std::string got = lowered(trimmed(header));
    for (const auto& s : secrets)
        if (got == lowered(sign(s, body))) return true;
    return false;
}

// A small deterministic stream of choices derived from the input, so a crash reproduces from its file.
struct chooser {
    std::uint32_t state;
    std::uint32_t next() {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    }
};

void check_signatures(const std::vector<std::string>& secrets, std::string_view body, std::string_view header,
                      chooser& pick) {
    const bool got = verify(secrets, body, header);
    FUZZ_CHECK(got == reference_verify(secrets, body, header));
    FUZZ_CHECK(!verify(std::vector<std::string>{}, body, header));

    for (const auto& s : secrets) {
        const std::vector<std::string> one{s};
        const std::string good = sign(s, body);
        FUZZ_CHECK(good.size() == 71 && good.compare(0, 7, "sha256=") == 0);
        FUZZ_CHECK(good.substr(7) == upper_of(good.substr(7)));  // DocSpace sends uppercase hex
        FUZZ_CHECK(verify(one, body, good));
        FUZZ_CHECK(verify(secrets, body, good));
        FUZZ_CHECK(verify(one, body, lowered(good)));
        std::string mixed = good;
        for (auto& c : mixed)
            if (pick.next() & 1) c = lower(c);
        FUZZ_CHECK(verify(one, body, mixed));
        FUZZ_CHECK(verify(one, body, " \t" + mixed + "\t "));

        // One bit flipped anywhere in the header.
        std::string flipped = good;
        const std::size_t at = pick.next() % flipped.size();
        const char before = flipped[at];
        flipped[at] = static_cast<char>(before ^ (1 << (pick.next() % 8)));
        const bool case_only = is_letter(before) && lower(before) == lower(flipped[at]);
        if (verify(one, body, flipped) != case_only) {
            std::fprintf(stderr, "header byte %zu changed from 0x%02x to 0x%02x: verify() says %s\n", at,
                         static_cast<unsigned char>(before), static_cast<unsigned char>(flipped[at]),
                         case_only ? "false" : "true");
            violated("verify(one, body, flipped) == case_only");
        }
        FUZZ_CHECK(verify(one, body, flipped) == reference_verify(one, body, flipped));

        // A body changed by one byte (when there is one) no longer matches.
        if (!body.empty()) {
            std::string other(body);
            other[pick.next() % other.size()] ^= static_cast<char>(1 + pick.next() % 255);
            FUZZ_CHECK(!verify(one, other, good) || sign(s, other) == good);
        }
    }
}

void check_envelope(std::string_view body) {
    auto parsed = parse_envelope(body);
    FUZZ_CHECK(spacehook::testing::same_answer(parsed, spacehook::testing::reference_parse_envelope(body)));
    if (auto* reason = std::get_if<std::string>(&parsed)) {
        FUZZ_CHECK(!reason->empty());
        FUZZ_CHECK(reason->find('\n') == std::string::npos);
        FUZZ_CHECK(std::holds_alternative<std::string>(parse_envelope(body)));
        return;
    }
    const auto& e = std::get<envelope>(parsed);
    FUZZ_CHECK(!e.event_id.empty());
    FUZZ_CHECK(!e.trigger.empty());
    auto again = parse_envelope(body);
    FUZZ_CHECK(std::holds_alternative<envelope>(again));
    const auto& e2 = std::get<envelope>(again);
    FUZZ_CHECK(e2.event_id == e.event_id && e2.trigger == e.trigger && e2.webhook_id == e.webhook_id &&
               e2.entry_id == e.entry_id && e2.parent_id == e.parent_id && e2.title == e.title &&
               e2.entry_type == e.entry_type && e2.created_by == e.created_by && e2.created_on == e.created_on);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> secrets;
    std::string_view header, body = input;
    const auto nl1 = input.find('\n');
    const auto nl2 = nl1 == std::string_view::npos ? nl1 : input.find('\n', nl1 + 1);
    if (nl2 != std::string_view::npos) {
        std::string_view list = input.substr(0, nl1);
        header = input.substr(nl1 + 1, nl2 - nl1 - 1);
        body = input.substr(nl2 + 1);
        while (!list.empty() && secrets.size() < 4) {
            auto bar = list.find('|');
            secrets.emplace_back(list.substr(0, bar));
            list = bar == std::string_view::npos ? std::string_view() : list.substr(bar + 1);
        }
    } else {
        secrets.emplace_back("S3cret-Key_01");
    }
    std::uint32_t seed = 2166136261u;
    for (char c : input.substr(0, 64)) seed = (seed ^ static_cast<unsigned char>(c)) * 16777619u;
    chooser pick{seed};
    check_signatures(secrets, body, header, pick);
    check_envelope(body);
    return 0;
}
