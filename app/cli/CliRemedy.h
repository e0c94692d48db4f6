#pragma once
// The CLI's wording of a finding's remedy: the core says what to do neutrally, the CLI names its
// own options (--ca-file, --password, --servername, --cert/--staple).

#include "Finding.h"

namespace staplescope::cli {

// One line, never empty for a kind other than RemedyKind::None. Outside text in the remedy's data
// (file names) is returned as is: the caller escapes it for its output.
QString cliRemedyText(const Remedy& remedy);

} // namespace staplescope::cli
