#include "Clock.h"

namespace staplescope {

QDateTime SystemClock::now() const
{
    return QDateTime::currentDateTimeUtc();
}

std::shared_ptr<const Clock> Clock::system()
{
    static const std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>();
    return clock;
}

} // namespace staplescope
