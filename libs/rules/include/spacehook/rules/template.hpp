// {{name}} templates for comment texts and notification subjects/bodies (docs/contract.md §2).
//
// Syntax: "{{name}}" is replaced by a value; blanks inside the braces are allowed ("{{ file.title }}").
// "\{{" stands for a literal "{{" (the backslash is dropped); every other character, including a lone
// "{", "}}" or "\", is literal. Names are fixed (template_names()); an unknown one is a compile error,
// so `spacehook check` rejects typos before any event arrives.
//
// Rendering returns plain text: escaping for HTML mail or chat markup is the channel's business.
#ifndef SPACEHOOK_RULES_TEMPLATE_HPP
#define SPACEHOOK_RULES_TEMPLATE_HPP

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::rules {

// Where the worker gets a value from, so that it fetches only what a rule uses.
enum class data_source : std::uint8_t {
    event,      // the stored delivery (payload, event, webhook) or the rule itself: free
    file_info,  // GET /api/2.0/files/file/{id}
    actor,      // GET /api/2.0/people/{event.createBy}
};

// What a job knows when it renders: the event's fields, and the file's and the actor's when they were read
// (a value the job could not learn stays unset and renders as "", reported as missing).
struct template_data {
    std::string file_id, file_title, file_folder_id;  // the event's, or the file's current ones once read
    std::optional<std::string> file_web_url, file_version, file_ext, file_size;
    std::string actor_id;  // event.createBy
    std::optional<std::string> actor_name, actor_email;
    std::string event_id, event_trigger, event_created_on, rule_name, webhook_id, webhook_name;
};

struct template_name {
    std::string_view name;         // "file.title"
    data_source source;
    std::string_view description;  // one line for `spacehook check` and docs
    std::optional<std::string> (*value)(const template_data&);
};

// Every name a template may use, in a stable order:
// file.id, file.title, file.folder_id, file.web_url, file.version, file.ext, file.size,
// actor.id, actor.name, actor.email, event.id, event.trigger, event.created_on, rule.name,
// webhook.id, webhook.name. actor.id is event.createBy, so it needs no people lookup.
std::span<const template_name> template_names();

// The DocSpace reads a rule or a set of templates needs. Combine with |.
struct data_needs {
    bool file_info = false;  // current file state: folder, version, URL, size, extension
    bool actor = false;      // the acting user's profile: name, email
    bool ancestry = false;   // the folder path of the file's folder (in_room)

    data_needs& operator|=(const data_needs& o) {
        file_info |= o.file_info;
        actor |= o.actor;
        ancestry |= o.ancestry;
        return *this;
    }
    friend data_needs operator|(data_needs a, const data_needs& b) { return a |= b; }
    bool operator==(const data_needs&) const = default;
};

// A parsed template: literal text and placeholders, ready to render many times.
// Default-constructed, it is the empty template.
class compiled_template {
public:
    compiled_template() = default;

    // The distinct names used, in order of first use.
    std::vector<std::string_view> names() const;
    bool has_placeholders() const;
    data_needs needs() const;

private:
    friend struct template_compiler;
    friend struct template_renderer;

    // A piece of output: literal text_[begin, end), or the value of template_names()[name] when name >= 0.
    struct segment {
        std::uint32_t begin = 0, end = 0;
        std::int32_t name = -1;
    };
    std::string text_;  // all literal pieces, escapes resolved
    std::vector<segment> segments_;
};

struct compile_result {
    std::optional<compiled_template> value;  // set on success
    std::string error;                       // set on failure, see compile()
    bool ok() const { return value.has_value(); }
    explicit operator bool() const { return ok(); }
};

// Parses `text`. Errors name the place as "column C" (1-based, in code points), or "line L, column C"
// when the template has several lines:
//   unterminated {{ at column 3
//   expected a name after {{ at column 5
//   expected }} after "file" at column 8
//   unknown name "file.titel" at column 12; known names: file.id, ...; did you mean "file.title"?
compile_result compile(std::string_view text);

// compile()'s error or nullopt: how the config loader (config/load.hpp) judges every template.
std::optional<std::string> check_template(std::string_view text);

// Returns the value for a name, or nullopt when it has none (e.g. the profile could not be fetched).
using template_lookup = std::function<std::optional<std::string>(std::string_view name)>;

struct rendered {
    std::string text;
    std::vector<std::string> missing;  // names the lookup could not fill (rendered as ""), each once
};

// Substitutes every placeholder with lookup(name), called once per placeholder occurrence.
rendered render(const compiled_template& tmpl, const template_lookup& lookup);
// Replaces every {{name}} in `tmpl` with that name's value in `data` (read by template_name::value).
rendered render(const compiled_template& tmpl, const template_data& data);
// The value of one name in `data`; nullopt for an unknown name or a value the job did not learn.
std::optional<std::string> value_of(std::string_view name, const template_data& data);

// The data sources the template's names need (never `ancestry`).
data_needs needs(const compiled_template& tmpl);
// Same for template text; a template that does not compile needs nothing.
data_needs needs(std::string_view text);

}  // namespace spacehook::rules

#endif
