#include "spacehook/core/log.hpp"

#include "spacehook/core/clock.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace spacehook::log {
namespace {
std::mutex sink_mutex;
sink_fn current_sink;  // empty = stderr
std::atomic<level> min_level{level::info};

std::string_view level_name(level l) {
    switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    }
    return "info";
}
}  // namespace

sink_fn set_sink(sink_fn sink) {
    std::lock_guard lock(sink_mutex);
    std::swap(sink, current_sink);
    return sink;
}

void set_min_level(level min) { min_level.store(min); }

level parse_level(std::string_view name, level fallback) {
    if (name == "debug") return level::debug;
    if (name == "info") return level::info;
    if (name == "warn") return level::warn;
    if (name == "error") return level::error;
    return fallback;
}

void emit(level lvl, std::string_view event, boost::json::object fields) {
    if (lvl < min_level.load(std::memory_order_relaxed)) return;
    boost::json::object line;
    line.reserve(fields.size() + 3);
    line["ts"] = clock::format_iso(clock::now_ms());
    line["level"] = level_name(lvl);
    line["event"] = event;
    for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
    std::string text = boost::json::serialize(line);
    std::lock_guard lock(sink_mutex);
    if (current_sink) {
        current_sink(lvl, text);
    } else {
        text.push_back('\n');
        std::fwrite(text.data(), 1, text.size(), stderr);
    }
}

}  // namespace spacehook::log
