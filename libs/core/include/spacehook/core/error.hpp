// The project's one vocabulary of failure. Each library says what went wrong as an errc, with its own detail
// beside it (an HTTP status and route, an SMTP reply, a SQLite message); what may be tried again, and when, is
// decided here and nowhere else:
//   transient(e)  ask again soon: the other side could not answer now (the fileops poll keeps polling);
//   permanent(e)  the same request will fail the same way again (the worker ends the job as dead);
//   neither       try again later, within the job's attempts (a refused API key may be replaced meanwhile).
// expected<T, E> is a value or the error that stands in for it; store::result and docspace::outcome are it.
#ifndef SPACEHOOK_CORE_ERROR_HPP
#define SPACEHOOK_CORE_ERROR_HPP

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace spacehook {

enum class errc {
    unavailable,   // no answer now: network failure, HTTP 5xx, a busy/locked/full database, SMTP 4xx
    timed_out,     // no answer within the deadline (HTTP 408 included)
    rate_limited,  // asked to come back later (HTTP 429); the delay travels with the error where it is known
    unauthorized,  // credentials refused (HTTP 401)
    unexpected,    // an answer that cannot be used: a status we have no meaning for, a body that does not parse
    rejected,      // the other side understood and said no for good: HTTP 400/403/404/..., SMTP 5xx, a
                   // certificate that does not verify
    invalid,       // our own input is wrong: a statement, stored data, a setting
};

constexpr bool transient(errc e) {
    return e == errc::unavailable || e == errc::timed_out || e == errc::rate_limited;
}
constexpr bool permanent(errc e) { return e == errc::rejected || e == errc::invalid; }

// "unavailable", "timed_out", ... (as written in logs).
std::string_view to_string(errc e);

// A failure whose only detail is a message.
struct error {
    errc code = errc::invalid;
    std::string message;

    bool transient() const { return spacehook::transient(code); }
    bool permanent() const { return spacehook::permanent(code); }
};

// A value or the E that stands in for it. Default-constructed it holds E{} (message "no value" where E has
// one), so an expected can be a co_spawn completion value.
template <class T, class E = error>
class expected {
public:
    expected() : v_(std::in_place_index<1>) {
        if constexpr (requires(E e) { e.message = "no value"; }) std::get<1>(v_).message = "no value";
    }
    expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    expected(E e) : v_(std::in_place_index<1>, std::move(e)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    // Throw std::logic_error when this holds an error.
    T& value() & { return check(), std::get<0>(v_); }
    const T& value() const& { return check(), std::get<0>(v_); }
    T&& value() && { return check(), std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    // Precondition: !has_value().
    const E& error() const { return std::get<1>(v_); }

private:
    void check() const {
        if (v_.index() != 0) throw std::logic_error("expected value holds an error");
    }
    std::variant<T, E> v_;
};

}  // namespace spacehook

#endif
