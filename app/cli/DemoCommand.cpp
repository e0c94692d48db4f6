#include "DemoCommand.h"

#include "DemoData.h"
#include "TextEscape.h"

#include <QDir>

namespace staplescope::cli {

int DemoCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Writes a demo folder with certificates, keys and staples generated now: healthy/ (nginx "
        "layout, all good) and incident/ (Exim layout: renewed certificate, stale staple of the "
        "previous one). The private keys are written with mode 0600. Inspect it with: staplescope-cli inspect --ca-file FOLDER/root-ca.pem FOLDER"));
    parser.addPositionalArgument(QStringLiteral("FOLDER"), QStringLiteral("A new or empty folder to write into (created if missing). Nothing "
                                                                      "is ever replaced: a folder that holds anything is refused."));
    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;
    if (parser.positionalArguments().size() != 1)
        return usageError(streams, QStringLiteral("give exactly one FOLDER to write the demo into"));

    const QString folder = parser.positionalArguments().constFirst();
    // writeDemo creates the folder, or refuses one that is not empty without changing anything.
    const DemoResult demo = writeDemo(folder, clock().now());
    if (!demo.ok) {
        streams.err << QStringLiteral("staplescope-cli demo: %1\n").arg(escapeText(demo.error));
        streams.err.flush();
        return ExitUsage;
    }
    streams.out << QStringLiteral("Demo written to %1\n  trust anchor: %2\n").arg(escapeText(QDir(folder).absolutePath()), escapeText(demo.trustAnchorFile));
    for (const QString& path : demo.paths)
        streams.out << QStringLiteral("  bundle folder: %1\n").arg(escapeText(path));
    streams.out.flush();
    return ExitOk;
}

} // namespace staplescope::cli
