// Folder id -> ancestry (root..folder) for `in_room` checks, so the worker does not ask DocSpace for the
// same folder path on every event. Bounded in size (least recently used entries go first) and in age
// (an entry older than the TTL is dropped when next read), since folders can move.
//
// NOT thread-safe: one instance belongs to one thread (the worker loop's), or callers serialise access.
// Time is passed in (Unix ms), which keeps it pure and testable.
#ifndef SPACEHOOK_RULES_ANCESTRY_CACHE_HPP
#define SPACEHOOK_RULES_ANCESTRY_CACHE_HPP

#include "spacehook/rules/rule.hpp"

#include <cstdint>
#include <list>
#include <string_view>
#include <unordered_map>

namespace spacehook::rules {

class ancestry_cache {
public:
    // max_entries == 0 disables caching; ttl_ms <= 0 means entries never expire.
    explicit ancestry_cache(std::size_t max_entries = 4096, std::int64_t ttl_ms = 10 * 60 * 1000);

    ancestry_cache(const ancestry_cache&) = delete;
    ancestry_cache& operator=(const ancestry_cache&) = delete;
    ancestry_cache(ancestry_cache&&) noexcept = default;  // list nodes (and the index's keys) move along
    ancestry_cache& operator=(ancestry_cache&&) noexcept = default;

    // The cached ancestry of `folder`, or null when absent or expired (an expired entry is removed).
    // A hit makes the entry the most recently used. The pointer stays valid until the next put(),
    // invalidate(), clear() or get() of another, expired entry; copy it to keep it longer.
    const ancestry* get(std::string_view folder, std::int64_t now_ms);

    // Stores (or replaces) the ancestry of `folder`, stamped `now_ms`; evicts the least recently used
    // entry when full.
    void put(std::string_view folder, ancestry path, std::int64_t now_ms);

    // Forgets `folder` and every cached folder whose ancestry passes through it (what a folder move or
    // delete makes stale). O(size x depth).
    void invalidate(std::string_view folder);

    void clear();

    std::size_t size() const { return index_.size(); }
    std::size_t max_entries() const { return max_entries_; }
    std::int64_t ttl_ms() const { return ttl_ms_; }
    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }  // absent or expired

private:
    struct entry {
        entry_id folder;
        ancestry path;
        std::int64_t stored_at;
    };
    using list = std::list<entry>;

    void erase(list::iterator it);

    std::size_t max_entries_;
    std::int64_t ttl_ms_;
    list lru_;  // most recently used first; nodes never move in memory, so index_ keys can view them
    std::unordered_map<std::string_view, list::iterator> index_;  // keys view entry::folder
    std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace spacehook::rules

#endif
