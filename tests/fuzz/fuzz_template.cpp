// libFuzzer target: {{name}} templates (rules/template.hpp). The input is the template text.
//
// Invariants (only what template.hpp documents), each abort()s when violated:
//   - compile() succeeds exactly when check_template() returns nullopt; a failure's message is one located
//     sentence ("... at column C" / "line L, column C");
//   - names() are known template_names(), distinct; has_placeholders() == !names().empty();
//     needs(text) == compiled.needs(), and never asks for ancestry;
//   - render() calls the lookup once per placeholder occurrence; with a lookup that has no values, `missing`
//     is names() (each once, in order of first use); a value's bytes appear verbatim in the output;
//   - a template without placeholders renders to its own text with each "\{{" turned into "{{";
//   - any text, escaped by writing every "{{" as "\{{", compiles without placeholders and renders back to
//     itself (everything other than "\{{" is literal).
#include "spacehook/rules/template.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace spacehook::rules;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "fuzz_template: invariant violated: %s\n", what);
    std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? void() : violated(#cond))

// Replaces every non-overlapping `from`, scanning left to right, with `to`.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    std::size_t i = 0;
    for (;;) {
        auto at = s.find(from, i);
        if (at == std::string_view::npos) break;
        out.append(s, i, at - i).append(to);
        i = at + from.size();
    }
    out.append(s.substr(i));
    return out;
}

bool is_known(std::string_view name) {
    auto all = template_names();
    return std::any_of(all.begin(), all.end(), [&](const template_name& n) { return n.name == name; });
}

void check_compiled(std::string_view text, const compiled_template& t) {
    const auto names = t.names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        FUZZ_CHECK(is_known(names[i]));
        FUZZ_CHECK(std::count(names.begin(), names.end(), names[i]) == 1);
    }
    FUZZ_CHECK(t.has_placeholders() == !names.empty());
    FUZZ_CHECK(needs(text) == t.needs());
    FUZZ_CHECK(needs(t) == t.needs());
    FUZZ_CHECK(!t.needs().ancestry);

    // No values: every placeholder renders as "" and is reported missing, once, in order of first use.
    std::size_t calls = 0;
    const auto empty = render(t, [&](std::string_view name) -> std::optional<std::string> {
        FUZZ_CHECK(is_known(name));
        ++calls;
        return std::nullopt;
    });
    FUZZ_CHECK(empty.missing.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) FUZZ_CHECK(empty.missing[i] == names[i]);
    FUZZ_CHECK((calls == 0) == names.empty());
    FUZZ_CHECK(render(t, template_lookup{}).text == empty.text);

    // Every value is spliced in verbatim: the output grows by exactly the values' sizes, one per call.
    std::size_t value_bytes = 0, calls_with_value = 0;
    const auto full = render(t, [&](std::string_view name) -> std::optional<std::string> {
        ++calls_with_value;
        std::string v = "<" + std::string(name) + "{{}}\\{{>";
        value_bytes += v.size();
        return v;
    });
    FUZZ_CHECK(calls_with_value == calls);
    FUZZ_CHECK(full.missing.empty());
    FUZZ_CHECK(full.text.size() == empty.text.size() + value_bytes);

    if (!t.has_placeholders()) {
        FUZZ_CHECK(calls == 0);
        FUZZ_CHECK(empty.text == replace_all(text, "\\{{", "{{"));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    auto r = compile(text);
    auto checked = check_template(text);
    FUZZ_CHECK(r.ok() == !checked.has_value());
    if (r) {
        FUZZ_CHECK(r.error.empty());
        check_compiled(text, *r.value);
    } else {
        FUZZ_CHECK(!r.error.empty());
        FUZZ_CHECK(*checked == r.error);
        FUZZ_CHECK(r.error.find("column ") != std::string::npos);
        FUZZ_CHECK(needs(text) == data_needs{});
    }

    // Escaping every "{{" makes any text a literal template of itself.
    const std::string escaped = replace_all(text, "{{", "\\{{");
    auto lit = compile(escaped);
    FUZZ_CHECK(lit.ok());
    FUZZ_CHECK(!lit.value->has_placeholders());
    FUZZ_CHECK(render(*lit.value, template_lookup{}).text == text);
    return 0;
}
