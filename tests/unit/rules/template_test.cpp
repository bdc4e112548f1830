#include "spacehook/rules/template.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace spacehook::rules;

namespace {

const std::map<std::string, std::string, std::less<>> values{
    {"file.id", "8421"},          {"file.title", "Invoice & Übersicht.pdf"}, {"file.web_url", "https://p/doc?id=8421"},
    {"actor.name", "Anna Müller"}, {"event.trigger", "file.uploaded"},        {"rule.name", "invoice-intake"},
};

std::optional<std::string> lookup(std::string_view name) {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
}

std::string error_of(std::string_view text) {
    auto r = compile(text);
    REQUIRE_FALSE(r.ok());
    return r.error;
}

std::string render_text(std::string_view text) {
    auto r = compile(text);
    REQUIRE_MESSAGE(r.ok(), r.error);
    return render(*r.value, lookup).text;
}

}  // namespace

TEST_SUITE("rules.template") {

TEST_CASE("placeholders are replaced, with or without blanks inside the braces") {
    CHECK(render_text("Invoice uploaded: {{file.title}}") == "Invoice uploaded: Invoice & Übersicht.pdf");
    CHECK(render_text("{{ file.title }} (id {{file.id}}) by {{\tactor.name\t}}: {{file.web_url}}") ==
          "Invoice & Übersicht.pdf (id 8421) by Anna Müller: https://p/doc?id=8421");
    CHECK(render_text("{{file.id}}{{file.id}}") == "84218421");
    CHECK(render_text("no placeholders") == "no placeholders");
    CHECK(render_text("") == "");
    CHECK(render_text("{{rule.name}}") == "invoice-intake");
}

TEST_CASE("a backslash before {{ makes it literal, and lone braces and }} are text") {
    CHECK(render_text("\\{{file.title}}") == "{{file.title}}");
    CHECK(render_text("a \\{{ b }} {{file.id}}") == "a {{ b }} 8421");
    CHECK(render_text("{ x } }} {file.id}") == "{ x } }} {file.id}");
    CHECK(render_text("C:\\dir {{file.id}}") == "C:\\dir 8421");
    CHECK(render_text("json {\"a\":1}") == "json {\"a\":1}");
}

TEST_CASE("compile errors name the problem and its column") {
    CHECK(error_of("ab{{file.title") == "unterminated {{ at column 3");
    CHECK(error_of("ab{{file.title}") == "unterminated {{ at column 3");
    CHECK(error_of("{{ }}") == "empty placeholder {{}} at column 1");
    CHECK(error_of("x {{ #x }}") == "expected a name after {{ at column 6");
    CHECK(error_of("{{file title}}") == "expected }} after \"file\" at column 8, found \"t\"");
    CHECK(error_of("{{file.title | upper}}") == "expected }} after \"file.title\" at column 14, found \"|\"");
    auto e = error_of("Invoice: {{file.titel}}");
    CHECK(e.find("unknown name \"file.titel\" at column 12; known names: file.id, file.title,") == 0);
    CHECK(e.find("webhook.name") != std::string::npos);
    CHECK(e.ends_with("; did you mean \"file.title\"?"));
    CHECK(error_of("{{nonsense}}").find("did you mean") == std::string::npos);
    CHECK(error_of("{{File.Title}}").find("unknown name \"File.Title\"") == 0);
}

TEST_CASE("columns count code points and multi-line templates name the line") {
    CHECK(error_of("Übersicht {{x}}").find("unknown name \"x\" at column 13;") == 0);
    CHECK(error_of("Счёт: {{").find("unterminated {{ at column 7") == 0);
    CHECK(error_of("Hello,\n\nthe file {{file.tilte}} arrived").find("at line 3, column 12;") != std::string::npos);
}

TEST_CASE("check_template answers with compile()'s error") {
    CHECK_FALSE(check_template("{{file.title}} by {{actor.name}}").has_value());
    CHECK(check_template("{{actor.nam}}").value().find("unknown name \"actor.nam\"") == 0);
    CHECK(check_template("{{").has_value());
}

TEST_CASE("names the lookup cannot fill render empty and are reported once") {
    auto r = compile("{{actor.email}} / {{file.title}} / {{actor.email}} / {{file.size}}");
    REQUIRE(r);
    auto out = render(*r.value, lookup);
    CHECK(out.text == " / Invoice & Übersicht.pdf /  / ");
    CHECK(out.missing == std::vector<std::string>{"actor.email", "file.size"});
    auto none = render(*r.value, nullptr);
    CHECK(none.text == " /  /  / ");
    CHECK(none.missing == std::vector<std::string>{"actor.email", "file.title", "file.size"});
}

TEST_CASE("the lookup is asked with canonical names, once per occurrence") {
    auto r = compile("{{ event.trigger }}{{event.trigger}}");
    REQUIRE(r);
    std::vector<std::string> asked;
    auto out = render(*r.value, [&](std::string_view n) -> std::optional<std::string> {
        asked.emplace_back(n);
        return "t";
    });
    CHECK(out.text == "tt");
    CHECK(asked == std::vector<std::string>{"event.trigger", "event.trigger"});
}

TEST_CASE("needs tells which DocSpace reads a template uses") {
    CHECK(needs(std::string_view("{{file.title}} {{file.id}} {{actor.id}} {{event.id}} {{webhook.name}}")) ==
          data_needs{});
    for (auto name : {"file.web_url", "file.version", "file.ext", "file.size", "file.folder_id"})
        CHECK(needs(std::string_view("{{" + std::string(name) + "}}")) == data_needs{true, false, false});
    CHECK(needs(std::string_view("{{actor.name}}")) == data_needs{false, true, false});
    CHECK(needs(std::string_view("{{actor.email}} {{file.ext}}")) == data_needs{true, true, false});
    CHECK(needs(std::string_view("{{broken")) == data_needs{});
    auto r = compile("{{actor.name}}");
    REQUIRE(r);
    CHECK(needs(*r.value) == r.value->needs());
    CHECK((data_needs{true, false, false} | data_needs{false, false, true}) == data_needs{true, false, true});
}

TEST_CASE("a compiled template lists the names it uses") {
    auto r = compile("{{file.title}} {{actor.name}} {{file.title}}");
    REQUIRE(r);
    CHECK(r.value->names() == std::vector<std::string_view>{"file.title", "actor.name"});
    CHECK(r.value->has_placeholders());
    auto plain = compile("text");
    REQUIRE(plain);
    CHECK_FALSE(plain.value->has_placeholders());
    CHECK(render(compiled_template{}, lookup).text.empty());
}

TEST_CASE("template_names covers the contract's names with their sources") {
    auto names = template_names();
    CHECK(names.size() == 16);
    for (const auto& n : names) {
        CHECK_FALSE(n.description.empty());
        CHECK_FALSE(check_template("{{" + std::string(n.name) + "}}").has_value());
    }
}

}
