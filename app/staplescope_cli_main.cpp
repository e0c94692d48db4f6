// staplescope-cli: the headless twin of the window, for cron jobs and monitoring. No widgets.
#include "Command.h"
#include "FilePath.h"

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
    // Arguments are decoded losslessly: a path whose name is not valid UTF-8 must still open
    // (QCoreApplication::arguments() would turn its bytes into U+FFFD).
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments << staplescope::decodeFileName(QByteArrayView(argv[i]));
    return staplescope::cli::runCli(arguments, streams);
}
