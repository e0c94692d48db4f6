#pragma once

#include "Command.h"

namespace staplescope::cli {

// `deploy --from SRC --to DEST …`: one certificate's files (certbot lineage, lego, acme.sh, a
// folder) into a new generation of DEST with a fresh staple, gated, made current with one symlink
// flip, servers told and verified, rolled back when that fails (core/act/Deployer.h). Also
// `deploy --list --to DEST` and `deploy --rollback --to DEST [--generation NAME]`.
class DeployCommand : public Command {
public:
    QString name() const override { return QStringLiteral("deploy"); }
    QString summary() const override
    {
        return QStringLiteral("Deploy certificate, chain, key and a fresh staple together in one atomic, verified step.");
    }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

} // namespace staplescope::cli
