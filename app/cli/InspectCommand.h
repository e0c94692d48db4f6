#pragma once

#include "Command.h"

#include <QDateTime>
#include <optional>

namespace staplescope::cli {

// `inspect [options] PATH…`: load, bundle and diagnose files and folders.
class InspectCommand : public Command {
public:
    QString name() const override { return QStringLiteral("inspect"); }
    QString summary() const override { return QStringLiteral("Diagnose certificate, chain, staple and key files or folders."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

// "2026-12-01", "2026-12-01T08:00", "2026-12-01T08:00:00+02:00", "now", "+7d", "-36h", "+2w".
// Times without an offset are UTC. Empty optional: not a time.
std::optional<QDateTime> parseEvaluationTime(const QString& text, const QDateTime& now);

} // namespace staplescope::cli
