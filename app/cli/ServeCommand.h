#pragma once

#include "Command.h"

namespace staplescope::cli {

// `serve`: the Prometheus exporter (core/serve/Exporter.h, docs/monitoring.md). Runs until SIGTERM
// or SIGINT; one line per request on stderr.
class ServeCommand : public Command {
public:
    QString name() const override { return QStringLiteral("serve"); }
    QString summary() const override { return QStringLiteral("Prometheus exporter: /probe live checks, /metrics for files."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

} // namespace staplescope::cli
