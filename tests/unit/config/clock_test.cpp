// The date-time parser the dedup window and the backfill horizon rely on, against known instants.
#include "spacehook/core/clock.hpp"

#include <doctest/doctest.h>

using spacehook::clock::parse_iso_ms;

TEST_CASE("parse_iso_ms reads DocSpace's date-times") {
    // 2025-06-10T09:15:42Z = 1749546942 s (date -u -d 2025-06-10T09:15:42Z +%s).
    CHECK(parse_iso_ms("2025-06-10T09:15:42Z") == 1749546942000);
    CHECK(parse_iso_ms("2025-06-10T09:15:42") == 1749546942000);  // no zone: UTC (webhook.lastSuccessOn)
    CHECK(parse_iso_ms("2025-06-10T12:15:42.0000000+03:00") == 1749546942000);  // REST ApiDateTime
    CHECK(parse_iso_ms("2025-06-10T05:15:42.250-04:00") == 1749546942250);
    CHECK(parse_iso_ms("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_iso_ms("2024-02-29T00:00:00Z") == 1709164800000);  // leap day
    CHECK(parse_iso_ms("1969-12-31T23:59:59Z") == -1000);
}

TEST_CASE("parse_iso_ms refuses what is not a date-time") {
    for (const char* bad : {"", "2025-06-10", "2025-13-10T00:00:00Z", "2025-06-10T24:00:00Z", "2025-06-10T09:15:42Q",
                            "2025-06-10T09:15:42+0300", "2025-06-10T09:15:42.Z", "x025-06-10T09:15:42Z",
                            "2025-06-10T09:15:42Zjunk"})
        CHECK_MESSAGE(!parse_iso_ms(bad), bad);
}
