#pragma once
// View ▸ Theme applied to the whole application, live: the desktop's own style and palette
// (System), or Fusion with Staplescope's light or dark palette. Every widget class the platform
// theme gives a palette of its own (the menu bar, menus, item views, …) gets the chosen one too,
// so no part of the window stays light in a dark theme.

#include "AppSettings.h"

#include <QPalette>

namespace staplescope::ui {

// The first call remembers the desktop's style and palettes, which Theme::System restores.
void applyTheme(Theme theme);
// The theme last applied (System before any call).
Theme appliedTheme();
QPalette darkPalette();
QPalette lightPalette();

} // namespace staplescope::ui
