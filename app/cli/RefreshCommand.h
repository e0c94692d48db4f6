#pragma once

#include "Command.h"

namespace staplescope::cli {

// `refresh [options] PATH…`: fetch fresh OCSP responses for the certificates in PATH, judge them
// with the rules that judge staples on disk, install the good ones atomically where the server
// reads them, move wrong staples aside, and tell the server (core/act).
class RefreshCommand : public Command {
public:
    QString name() const override { return QStringLiteral("refresh"); }
    QString summary() const override { return QStringLiteral("Fetch, verify and install fresh OCSP staples; tell the server."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

} // namespace staplescope::cli
