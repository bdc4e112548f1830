// The "log" channel: the notification becomes one structured log line. Useful for dry runs and demos.
#include "spacehook/core/log.hpp"
#include "spacehook/notify/channel.hpp"

namespace spacehook::notify {
namespace {

class log_channel final : public channel {
public:
    explicit log_channel(std::string name) : name_(std::move(name)) {}

    const std::string& name() const override { return name_; }

    awaitable<send_result> send(const message& m) override {
        log::info(
            "notify",
            {{"channel", name_}, {"subject", m.subject}, {"body", m.body}, {"message_id", m.message_id}}
        );
        co_return send_result{std::nullopt, "logged"};
    }

private:
    std::string name_;
};

}  // namespace

std::unique_ptr<channel> make_log_channel(const channel_settings& s) {
    return std::make_unique<log_channel>(s.name);
}

}  // namespace spacehook::notify
