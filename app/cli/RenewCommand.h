#pragma once

#include "Command.h"

namespace staplescope::cli {

// `renew [options] PATH…`: renew each certificate through the ACME client that manages it
// (certbot, lego, acme.sh, dehydrated, or --command), when due by the CA's renewal information
// (RFC 9773) or two thirds of its lifetime (--if-due); stream the client's output, inspect the
// result and deploy it (--deploy-to). core/act/Renewal.h.
class RenewCommand : public Command {
public:
    QString name() const override { return QStringLiteral("renew"); }
    QString summary() const override { return QStringLiteral("Renew certificates through their ACME client; inspect and deploy the result."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

} // namespace staplescope::cli
