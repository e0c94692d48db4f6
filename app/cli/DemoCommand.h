#pragma once

#include "Command.h"

namespace staplescope::cli {

// `demo FOLDER`: writes the built-in demo (a healthy bundle and the renewal incident), dated now.
class DemoCommand : public Command {
public:
    QString name() const override { return QStringLiteral("demo"); }
    QString summary() const override { return QStringLiteral("Write a fresh demo folder (healthy bundle + renewal incident)."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

} // namespace staplescope::cli
