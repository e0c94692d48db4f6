#pragma once
// The desktop window's wording of a finding's remedy: the core says what to do neutrally, the GUI
// names its own menus and dialogs (Settings' trust anchors, Connect's server name, the password
// dialog) where the CLI names its options.

#include "Finding.h"

namespace staplescope::ui {

// One line of plain text, never empty. Outside text in the remedy's data (file names) is returned
// as is: the caller escapes it for its output (HTML, a tooltip).
QString guiRemedyText(const Remedy& remedy);

} // namespace staplescope::ui
