// Counters, gauges and histograms with labels, rendered in the Prometheus text format (0.0.4).
// Looking a series up takes a mutex; the returned reference is stable for the registry's life, so hot paths
// look up once and then only touch atomics.
#ifndef SPACEHOOK_METRICS_REGISTRY_HPP
#define SPACEHOOK_METRICS_REGISTRY_HPP

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spacehook::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
public:
    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

class gauge {
public:
    void set(double v) { v_.store(v, std::memory_order_relaxed); }
    double value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> v_{0};
};

class histogram {
public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }  // not cumulative
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum() const { return sum_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
    std::atomic<std::uint64_t> count_{0};
    std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 100 us .. 60 s.
std::vector<double> latency_buckets();

class registry {
public:
    counter& get_counter(std::string_view name, std::string_view help, const labels& l = {});
    gauge& get_gauge(std::string_view name, std::string_view help, const labels& l = {});
    histogram& get_histogram(std::string_view name, std::string_view help, const labels& l = {},
                             std::vector<double> bounds = latency_buckets());
    // Called at the start of every render(), e.g. to refresh gauges from the database.
    void on_collect(std::function<void()> fn);
    std::string render();

private:
    enum class kind { counter, gauge, histogram };
    struct family {
        kind k;
        std::string help;
        std::map<labels, std::unique_ptr<counter>> counters;
        std::map<labels, std::unique_ptr<gauge>> gauges;
        std::map<labels, std::unique_ptr<histogram>> histograms;
    };
    family& fam(std::string_view name, std::string_view help, kind k);

    std::mutex mutex_;
    std::map<std::string, family, std::less<>> families_;
    std::vector<std::function<void()>> collectors_;
};

}  // namespace spacehook::metrics

#endif
