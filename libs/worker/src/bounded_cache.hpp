// A map with a size bound (the oldest entry goes first) and an age bound (an entry older than the TTL is not
// returned), for what the worker reads from DocSpace again and again: people, fileop reports.
// Not thread-safe: it belongs to the worker thread.
#ifndef SPACEHOOK_WORKER_BOUNDED_CACHE_HPP
#define SPACEHOOK_WORKER_BOUNDED_CACHE_HPP

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace spacehook::worker {

template <class V>
class bounded_cache {
public:
    bounded_cache(std::size_t max_entries, std::int64_t ttl_ms) : max_(max_entries), ttl_ms_(ttl_ms) {}

    const V* get(const std::string& key, std::int64_t now) const {
        auto it = map_.find(key);
        if (it == map_.end() || (ttl_ms_ > 0 && now - it->second.at >= ttl_ms_)) return nullptr;
        return &it->second.value;
    }

    // Removes and returns the entry (fresh or not).
    std::optional<V> take(const std::string& key) {
        auto it = map_.find(key);
        if (it == map_.end()) return std::nullopt;
        auto v = std::move(it->second.value);
        map_.erase(it);  // its key stays in order_ until evicted; erase() of a missing key is harmless
        return v;
    }

    void put(const std::string& key, V value, std::int64_t now) {
        auto [it, inserted] = map_.insert_or_assign(key, entry{std::move(value), now});
        if (inserted) order_.push_back(key);
        while (order_.size() > max_) {
            map_.erase(order_.front());
            order_.pop_front();
        }
    }

    std::size_t size() const { return map_.size(); }

private:
    struct entry {
        V value;
        std::int64_t at = 0;
    };
    std::size_t max_;
    std::int64_t ttl_ms_;
    std::unordered_map<std::string, entry> map_;
    std::deque<std::string> order_;  // insertion order, for eviction
};

}  // namespace spacehook::worker

#endif
