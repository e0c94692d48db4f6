#pragma once

#include "Command.h"

#include <optional>

namespace staplescope::cli {

// `inspect [options] PATH…`: load, bundle and diagnose files and folders.
class InspectCommand : public Command {
public:
    QString name() const override { return QStringLiteral("inspect"); }
    QString summary() const override { return QStringLiteral("Diagnose certificate, chain, staple and key files or folders."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

// A password file holds one line; anything larger is a wrong path (a key, a log, /dev/zero), and
// reading it would only cost memory. Also the bound for one line typed at the password prompt.
inline constexpr qsizetype kMaxPasswordBytes = 4 * 1024;

struct PasswordFile {
    std::optional<QString> password; // the first line, without its CR LF
    QString error;                   // why not, for a usage error: "/tmp/p is a FIFO, not a regular file"
};

// Reads a password file: a regular file of at most kMaxPasswordBytes. A FIFO, device or folder is
// refused without blocking on it (its type is checked before and after opening, and the open
// never waits for a writer).
PasswordFile readPasswordFile(const QString& path);

} // namespace staplescope::cli
