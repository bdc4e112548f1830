#include "args.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

namespace spacehook::cli {

args::args(const std::vector<std::string>& argv, const flag_spec& spec) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const auto& a = argv[i];
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            std::string name = a.substr(2);
            std::optional<std::string> value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            if (spec.boolean.count(name)) {
                if (value) throw usage_error(fmt::format("--{} takes no value", name));
                values_.emplace(name, "true");
            } else if (spec.with_value.count(name) || spec.repeatable.count(name)) {
                if (!value) {
                    if (i + 1 >= argv.size()) throw usage_error(fmt::format("--{} needs a value", name));
                    value = argv[++i];
                }
                if (values_.count(name) && !spec.repeatable.count(name))
                    throw usage_error(fmt::format("--{} given twice", name));
                values_.emplace(name, *value);
            } else {
                throw usage_error(fmt::format("unknown option --{}", name));
            }
        } else {
            positional_.push_back(a);
        }
    }
}

std::optional<std::string> args::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> args::all(const std::string& name) const {
    std::vector<std::string> out;
    auto [b, e] = values_.equal_range(name);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
    return out;
}

std::string args::required(const std::string& name) const {
    auto v = get(name);
    if (!v) throw usage_error(fmt::format("--{} is required", name));
    return *v;
}

std::string read_file(const std::string& path) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw user_error(fmt::format("cannot read {}", path));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace spacehook::cli
