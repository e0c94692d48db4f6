#pragma once
// The moment to evaluate at, as a user writes it (staplescope-cli --at, staplescope --at).

#include "Clock.h"

#include <QDateTime>
#include <QString>

#include <optional>

namespace staplescope {

// "2026-12-01", "2026-12-01T08:00", "2026-12-01T08:00:00+02:00", "now", "+7d", "-36h", "+2w".
// Times without an offset are UTC; "now" and relative times count from `clock`'s now. Empty
// optional: not a time.
std::optional<QDateTime> parseEvaluationTime(const QString& text, const Clock& clock);

} // namespace staplescope
