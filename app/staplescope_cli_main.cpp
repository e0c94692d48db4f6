// staplescope-cli: the headless twin of the window, for cron jobs and monitoring. No widgets.
#include "Command.h"

#include <QCoreApplication>

#include <cstdio>
#include <unistd.h>

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("staplescope-cli"));
    QCoreApplication::setOrganizationName(QStringLiteral("Staplescope"));
    QCoreApplication::setApplicationVersion(QStringLiteral(STAPLESCOPE_VERSION));

    QTextStream out(stdout);
    QTextStream err(stderr);
    staplescope::cli::CommandStreams streams{out, err, ::isatty(STDOUT_FILENO) == 1, ::isatty(STDIN_FILENO) == 1};
    return staplescope::cli::runCli(QCoreApplication::arguments(), streams);
}
