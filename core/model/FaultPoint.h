#pragma once
// Test-only crash points (STYLE.md 17): with STAPLESCOPE_FAULT_POINT=<name> in the environment the
// process kills itself with SIGKILL when it reaches the point of that name, so a test can prove
// that a crash between any two steps of an install leaves the whole old or the whole new file.
// Without the variable (always, outside tests) a fault point is one comparison of a cached value.

namespace staplescope {

// Kills the process (raise(SIGKILL): no handlers, no atexit, no buffered output flushed) when
// STAPLESCOPE_FAULT_POINT names `point`. The variable is read once, at the first call.
void faultPoint(const char* point);

} // namespace staplescope
