#include "spacehook/rules/template.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace spacehook::rules {
namespace {

using value = std::optional<std::string>;

// Each name with where its value comes from and how it is read from template_data.
constexpr template_name names_table[] = {
    {"file.id", data_source::event, "the file's id", [](const template_data& d) -> value { return d.file_id; }},
    {"file.title", data_source::event, "the file's title, e.g. \"Invoice-2025-06.pdf\"",
     [](const template_data& d) -> value { return d.file_title; }},
    {"file.folder_id", data_source::file_info, "id of the folder the file is in now",
     [](const template_data& d) -> value { return d.file_folder_id; }},
    {"file.web_url", data_source::file_info, "link that opens the file in DocSpace",
     [](const template_data& d) { return d.file_web_url; }},
    {"file.version", data_source::file_info, "the file's current version number",
     [](const template_data& d) { return d.file_version; }},
    {"file.ext", data_source::file_info, "the extension with its dot, e.g. \".pdf\"",
     [](const template_data& d) { return d.file_ext; }},
    {"file.size", data_source::file_info, "the size in bytes, e.g. \"12595\"",
     [](const template_data& d) { return d.file_size; }},
    {"actor.id", data_source::event, "id of the user who caused the event (event.createBy)",
     [](const template_data& d) -> value { return d.actor_id; }},
    {"actor.name", data_source::actor, "that user's display name", [](const template_data& d) { return d.actor_name; }},
    {"actor.email", data_source::actor, "that user's email address", [](const template_data& d) { return d.actor_email; }},
    {"event.id", data_source::event, "the webhook event's id", [](const template_data& d) -> value { return d.event_id; }},
    {"event.trigger", data_source::event, "the trigger, e.g. \"file.uploaded\"",
     [](const template_data& d) -> value { return d.event_trigger; }},
    {"event.created_on", data_source::event, "when DocSpace created the event, as it sent it",
     [](const template_data& d) -> value { return d.event_created_on; }},
    {"rule.name", data_source::event, "the name of the rule that runs",
     [](const template_data& d) -> value { return d.rule_name; }},
    {"webhook.id", data_source::event, "id of the DocSpace webhook that delivered the event",
     [](const template_data& d) -> value { return d.webhook_id; }},
    {"webhook.name", data_source::event, "name of that webhook",
     [](const template_data& d) -> value { return d.webhook_name; }},
};

int find_name(std::string_view name) {
    for (std::size_t i = 0; i < std::size(names_table); ++i)
        if (names_table[i].name == name) return static_cast<int>(i);
    return -1;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

// "column C" or "line L, column C" (1-based; columns count code points) for byte `offset` of `text`.
std::string where(std::string_view text, std::size_t offset) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') ++line, column = 1;
        else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
    }
    if (text.find('\n') == std::string_view::npos) return fmt::format("column {}", column);
    return fmt::format("line {}, column {}", line, column);
}

// The whole UTF-8 character at `offset`, for messages.
std::string_view char_at(std::string_view text, std::size_t offset) {
    std::size_t end = offset + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80 && end - offset < 4) ++end;
    return text.substr(offset, end - offset);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::array<std::size_t, 65> row{};
    if (b.size() >= row.size()) return b.size();
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string unknown_name_message(std::string_view name, std::string_view location) {
    std::string known;
    std::string_view best;
    std::size_t best_distance = 3;  // suggest only close names
    for (const auto& n : names_table) {
        if (!known.empty()) known += ", ";
        known += n.name;
        if (name.size() < 64) {
            auto d = edit_distance(name, n.name);
            if (d < best_distance) best_distance = d, best = n.name;
        }
    }
    std::string msg = fmt::format("unknown name \"{}\" at {}; known names: {}", name, location, known);
    if (!best.empty()) msg += fmt::format("; did you mean \"{}\"?", best);
    return msg;
}

}  // namespace

std::span<const template_name> template_names() { return names_table; }

struct template_compiler {
    static compile_result run(std::string_view src) {
        compiled_template t;
        auto& text = t.text_;
        auto& segs = t.segments_;
        text.reserve(src.size());
        auto add_text = [&](std::string_view piece) {
            auto begin = static_cast<std::uint32_t>(text.size());
            text += piece;
            auto end = static_cast<std::uint32_t>(text.size());
            if (!segs.empty() && segs.back().name < 0 && segs.back().end == begin) segs.back().end = end;
            else segs.push_back({begin, end, -1});
        };
        auto error = [](std::string message) { return compile_result{std::nullopt, std::move(message)}; };

        const std::size_t n = src.size();
        std::size_t i = 0;
        while (i < n) {
            auto open = src.find("{{", i);
            if (open == std::string_view::npos) {
                add_text(src.substr(i));
                break;
            }
            if (open > i && src[open - 1] == '\\') {  // "\{{": a literal "{{"
                add_text(src.substr(i, open - 1 - i));
                add_text("{{");
                i = open + 2;
                continue;
            }
            if (open > i) add_text(src.substr(i, open - i));
            std::size_t j = open + 2;
            while (j < n && is_blank(src[j])) ++j;
            const std::size_t name_begin = j;
            while (j < n && is_name_char(src[j])) ++j;
            const std::string_view name = src.substr(name_begin, j - name_begin);
            while (j < n && is_blank(src[j])) ++j;
            if (src.compare(j, 2, "}}") != 0) {
                if (j >= n || src.find("}}", j) == std::string_view::npos)
                    return error(fmt::format("unterminated {{{{ at {}", where(src, open)));
                if (name.empty())
                    return error(fmt::format("expected a name after {{{{ at {}", where(src, j)));
                return error(fmt::format("expected }}}} after \"{}\" at {}, found \"{}\"", name, where(src, j),
                                         char_at(src, j)));
            }
            if (name.empty()) return error(fmt::format("empty placeholder {{{{}}}} at {}", where(src, open)));
            const int id = find_name(name);
            if (id < 0) return error(unknown_name_message(name, where(src, name_begin)));
            segs.push_back({0, 0, id});
            i = j + 2;
        }
        return compile_result{std::move(t), {}};
    }
};

compile_result compile(std::string_view text) { return template_compiler::run(text); }

std::optional<std::string> check_template(std::string_view text) {
    auto r = compile(text);
    if (r) return std::nullopt;
    return std::move(r.error);
}

std::vector<std::string_view> compiled_template::names() const {
    std::vector<std::string_view> out;
    for (const auto& s : segments_) {
        if (s.name < 0) continue;
        auto name = names_table[s.name].name;
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
}

bool compiled_template::has_placeholders() const {
    return std::any_of(segments_.begin(), segments_.end(), [](const segment& s) { return s.name >= 0; });
}

data_needs compiled_template::needs() const {
    data_needs n;
    for (const auto& s : segments_) {
        if (s.name < 0) continue;
        switch (names_table[s.name].source) {
        case data_source::event: break;
        case data_source::file_info: n.file_info = true; break;
        case data_source::actor: n.actor = true; break;
        }
    }
    return n;
}

struct template_renderer {
    static rendered run(const compiled_template& t, const template_lookup& lookup) {
        rendered r;
        r.text.reserve(t.text_.size() + 32 * t.segments_.size());
        for (const auto& s : t.segments_) {
            if (s.name < 0) {
                r.text.append(t.text_, s.begin, s.end - s.begin);
                continue;
            }
            const std::string_view name = names_table[s.name].name;
            auto value = lookup ? lookup(name) : std::nullopt;
            if (value) r.text += *value;
            else if (std::find(r.missing.begin(), r.missing.end(), name) == r.missing.end()) r.missing.emplace_back(name);
        }
        return r;
    }
};

rendered render(const compiled_template& tmpl, const template_data& data) {
    return template_renderer::run(tmpl, [&](std::string_view name) { return value_of(name, data); });
}

std::optional<std::string> value_of(std::string_view name, const template_data& data) {
    const int i = find_name(name);
    if (i < 0) return std::nullopt;
    return names_table[i].value(data);
}

rendered render(const compiled_template& tmpl, const template_lookup& lookup) {
    return template_renderer::run(tmpl, lookup);
}

data_needs needs(const compiled_template& tmpl) { return tmpl.needs(); }

data_needs needs(std::string_view text) {
    auto r = compile(text);
    return r ? r.value->needs() : data_needs{};
}

}  // namespace spacehook::rules
