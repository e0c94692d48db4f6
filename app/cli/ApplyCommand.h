#pragma once

#include "Command.h"

namespace staplescope::cli {

// `apply PLAN.json`: executes a refresh plan written by the window (or `refresh --json`): the
// privileged step the window hands to pkexec for files only root may write. Shows the plan,
// re-checks every destination against it, then installs (StapleInstaller); docs/security.md has
// the trust model.
class ApplyCommand : public Command {
public:
    QString name() const override { return QStringLiteral("apply"); }
    QString summary() const override { return QStringLiteral("Execute a staple refresh plan (JSON) made by the window or refresh --json."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

} // namespace staplescope::cli
