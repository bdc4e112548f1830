#include "spacehook/rules/ancestry_cache.hpp"

#include <algorithm>

namespace spacehook::rules {

ancestry_cache::ancestry_cache(std::size_t max_entries, std::int64_t ttl_ms)
    : max_entries_(max_entries), ttl_ms_(ttl_ms) {
    index_.reserve(std::min<std::size_t>(max_entries, 1024));
}

void ancestry_cache::erase(list::iterator it) {
    index_.erase(std::string_view(it->folder));
    lru_.erase(it);
}

const ancestry* ancestry_cache::get(std::string_view folder, std::int64_t now_ms) {
    auto found = index_.find(folder);
    if (found == index_.end()) {
        ++misses_;
        return nullptr;
    }
    auto it = found->second;
    if (ttl_ms_ > 0 && now_ms - it->stored_at >= ttl_ms_) {
        erase(it);
        ++misses_;
        return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it);
    ++hits_;
    return &it->path;
}

void ancestry_cache::put(std::string_view folder, ancestry path, std::int64_t now_ms) {
    if (max_entries_ == 0) return;
    if (auto found = index_.find(folder); found != index_.end()) {
        auto it = found->second;
        it->path = std::move(path);
        it->stored_at = now_ms;
        lru_.splice(lru_.begin(), lru_, it);
        return;
    }
    while (index_.size() >= max_entries_) erase(std::prev(lru_.end()));
    lru_.push_front(entry{entry_id(folder), std::move(path), now_ms});
    index_.emplace(std::string_view(lru_.front().folder), lru_.begin());
}

void ancestry_cache::invalidate(std::string_view folder) {
    for (auto it = lru_.begin(); it != lru_.end();) {
        auto next = std::next(it);
        if (it->folder == folder || std::find(it->path.begin(), it->path.end(), folder) != it->path.end()) erase(it);
        it = next;
    }
}

void ancestry_cache::clear() {
    index_.clear();
    lru_.clear();
}

}  // namespace spacehook::rules
