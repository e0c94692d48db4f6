#include "FaultPoint.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

namespace staplescope {

namespace {

// Read once (thread-safe static initialisation); empty: no fault point armed.
const std::string& armedFaultPoint()
{
    static const std::string armed = [] {
        const char* value = std::getenv("STAPLESCOPE_FAULT_POINT");
        return std::string(value ? value : "");
    }();
    return armed;
}

} // namespace

void faultPoint(const char* point)
{
    const std::string& armed = armedFaultPoint();
    if (!armed.empty() && armed == point)
        std::raise(SIGKILL);
}

} // namespace staplescope
