// Structured logging: one JSON object per line ({"ts":..,"level":..,"event":..,...fields}).
// The sink is process-wide and replaceable so tests can capture lines. Callers must never pass a
// secret or a whole request body as a field.
#ifndef SPACEHOOK_CORE_LOG_HPP
#define SPACEHOOK_CORE_LOG_HPP

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace spacehook::log {

enum class level { debug, info, warn, error };

using sink_fn = std::function<void(level, std::string_view line)>;

// Replaces the sink (default: stderr). Thread-safe; returns the previous sink.
sink_fn set_sink(sink_fn sink);
// Lines below `min` are dropped (default info; SPACEHOOK_LOG_LEVEL is read by the CLI, not here).
void set_min_level(level min);
level parse_level(std::string_view name, level fallback);

// Emits {"ts","level","event", ...fields}. Thread-safe.
void emit(level lvl, std::string_view event, boost::json::object fields = {});

inline void debug(std::string_view e, boost::json::object f = {}) { emit(level::debug, e, std::move(f)); }
inline void info(std::string_view e, boost::json::object f = {}) { emit(level::info, e, std::move(f)); }
inline void warn(std::string_view e, boost::json::object f = {}) { emit(level::warn, e, std::move(f)); }
inline void error(std::string_view e, boost::json::object f = {}) { emit(level::error, e, std::move(f)); }

}  // namespace spacehook::log

#endif
