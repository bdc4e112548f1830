// The HTTP notification channel (docs/contract.md §2, type "http"): POSTs JSON to a URL.
// format slack: {"text": "*subject*\nbody"}; teams: a MessageCard {title, text}; raw:
// {"subject","body","message_id","idempotency_key"}. Every request carries an Idempotency-Key header so a
// receiver can recognise a resend. 2xx -> sent; 408 -> timed_out, 429 -> rate_limited, 5xx and network
// failures -> unavailable; other statuses (401 included: a chat webhook URL carries its own secret) -> rejected.
#ifndef SPACEHOOK_NOTIFY_HTTP_CHANNEL_HPP
#define SPACEHOOK_NOTIFY_HTTP_CHANNEL_HPP

#include "spacehook/notify/channel.hpp"

namespace spacehook::notify {

std::unique_ptr<channel> make_http_channel(const channel_settings& s);

}  // namespace spacehook::notify

#endif
