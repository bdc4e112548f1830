#include "spacehook/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace spacehook::metrics {

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
    std::sort(bounds_.begin(), bounds_.end());
    for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void histogram::observe(double v) {
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    double cur = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
}

std::vector<double> latency_buckets() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

registry::family& registry::fam(std::string_view name, std::string_view help, kind k) {
    auto it = families_.find(name);
    if (it == families_.end()) it = families_.emplace(std::string(name), family{k, std::string(help), {}, {}, {}}).first;
    if (it->second.k != k) throw std::logic_error(fmt::format("metric {} registered with two types", name));
    return it->second;
}

counter& registry::get_counter(std::string_view name, std::string_view help, const labels& l) {
    std::lock_guard lock(mutex_);
    auto& slot = fam(name, help, kind::counter).counters[l];
    if (!slot) slot = std::make_unique<counter>();
    return *slot;
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const labels& l) {
    std::lock_guard lock(mutex_);
    auto& slot = fam(name, help, kind::gauge).gauges[l];
    if (!slot) slot = std::make_unique<gauge>();
    return *slot;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, const labels& l,
                                   std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    auto& slot = fam(name, help, kind::histogram).histograms[l];
    if (!slot) slot = std::make_unique<histogram>(std::move(bounds));
    return *slot;
}

void registry::on_collect(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(fn));
}

namespace {

std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// {a="x",b="y"} with an optional extra label (le for buckets).
std::string label_text(const labels& l, std::string_view extra_key = {}, std::string_view extra_value = {}) {
    if (l.empty() && extra_key.empty()) return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : l) {
        if (!first) out += ',';
        first = false;
        out += fmt::format("{}=\"{}\"", k, escape_label(v));
    }
    if (!extra_key.empty()) {
        if (!first) out += ',';
        out += fmt::format("{}=\"{}\"", extra_key, extra_value);
    }
    out += '}';
    return out;
}

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    return fmt::format("{}", v);
}

}  // namespace

std::string registry::render() {
    std::vector<std::function<void()>> collectors;
    {
        std::lock_guard lock(mutex_);
        collectors = collectors_;
    }
    for (auto& c : collectors) c();
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, f] : families_) {
        static constexpr std::string_view type_names[] = {"counter", "gauge", "histogram"};
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(f.help), name,
                           type_names[static_cast<int>(f.k)]);
        for (const auto& [l, c] : f.counters) out += fmt::format("{}{} {}\n", name, label_text(l), c->value());
        for (const auto& [l, g] : f.gauges) out += fmt::format("{}{} {}\n", name, label_text(l), number(g->value()));
        for (const auto& [l, h] : f.histograms) {
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < h->bounds().size(); ++i) {
                cumulative += h->bucket(i);
                out += fmt::format("{}_bucket{} {}\n", name, label_text(l, "le", number(h->bounds()[i])), cumulative);
            }
            cumulative += h->bucket(h->bounds().size());
            out += fmt::format("{}_bucket{} {}\n", name, label_text(l, "le", "+Inf"), cumulative);
            out += fmt::format("{}_sum{} {}\n", name, label_text(l), number(h->sum()));
            out += fmt::format("{}_count{} {}\n", name, label_text(l), h->count());
        }
    }
    return out;
}

}  // namespace spacehook::metrics
