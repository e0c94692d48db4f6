#pragma once

#include "Command.h"

#include <QString>
#include <optional>

namespace staplescope::cli {

// `connect HOST[:PORT]…`: negotiate TLS (after STARTTLS where the port calls for it) asking for an
// OCSP staple, and diagnose what each address of each server served, like `inspect` does files.
class ConnectCommand : public Command {
public:
    QString name() const override { return QStringLiteral("connect"); }
    QString summary() const override { return QStringLiteral("Diagnose what a live server serves (HTTPS, mail with STARTTLS, …)."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};


} // namespace staplescope::cli
