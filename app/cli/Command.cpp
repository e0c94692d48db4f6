#include "Command.h"

#include "ApplyCommand.h"
#include "ConnectCommand.h"
#include "DemoCommand.h"
#include "EvaluationTime.h"
#include "InspectCommand.h"
#include "RefreshCommand.h"
#include "DeployCommand.h"
#include "RenewCommand.h"
#include "ServeCommand.h"
#include "CliRemedy.h"
#include "ReportFormat.h"
#include "TextEscape.h"

#include <QCoreApplication>
#include <QIODevice>

namespace staplescope::cli {

bool Command::parse(QCommandLineParser& parser, const QStringList& arguments, CommandStreams& streams,
                    int* exitCode) const
{
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(arguments)) {
        *exitCode = usageError(streams, parser.errorText());
        return false;
    }
    if (parser.isSet(help)) {
        QString text = parser.helpText();
        // QCommandLineParser names the executable as argv[0]; we pass the command name there.
        text.replace(QStringLiteral("Usage: %1").arg(arguments.value(0)),
                     QStringLiteral("Usage: staplescope-cli %1").arg(name()));
        streams.out << text;
        streams.out.flush();
        *exitCode = ExitOk;
        return false;
    }
    return true;
}

int Command::usageError(CommandStreams& streams, const QString& message) const
{
    // Messages quote what was typed (an option, a file name, a host): escaped, so it stays one line
    // and cannot drive the terminal.
    streams.err << QStringLiteral("staplescope-cli %1: %2 (see staplescope-cli %1 --help)\n").arg(name(), escapeText(message));
    streams.err.flush();
    return ExitUsage;
}

ReportOutput::ReportOutput()
    : m_json(QStringLiteral("json"), QStringLiteral("Print the report as JSON (docs/json-schema.md).")),
      m_format(QStringLiteral("format"), QStringLiteral("Report format: text, json, markdown or html."), QStringLiteral("FORMAT"),
               QStringLiteral("text")),
      m_noColour(QStringLiteral("no-color"), QStringLiteral("No ANSI colours (also when NO_COLOR is set)."))
{
}

void ReportOutput::addOptions(QCommandLineParser& parser) const { parser.addOptions({m_json, m_format, m_noColour}); }

QString ReportOutput::read(const QCommandLineParser& parser)
{
    m_formatName = parser.isSet(m_json) ? QStringLiteral("json") : parser.value(m_format).toLower();
    m_colourAllowed = !parser.isSet(m_noColour) && qEnvironmentVariableIsEmpty("NO_COLOR");
    if (!QStringList{QStringLiteral("text"), QStringLiteral("json"), QStringLiteral("markdown"), QStringLiteral("html")}.contains(m_formatName))
        return QStringLiteral("unknown format '%1' (text, json, markdown, html)").arg(parser.value(m_format));
    return {};
}

int ReportOutput::write(const InspectionReport& report, CommandStreams& streams) const
{
    if (m_formatName == QLatin1String("json")) {
        // Already UTF-8: written as bytes where the stream has a device (stdout), which spares a
        // UTF-16 copy of a document that can be tens of MiB.
        const QByteArray json = reportToJsonBytes(report);
        if (QIODevice* device = streams.out.device()) {
            streams.out.flush();
            device->write(json);
        } else {
            streams.out << QString::fromUtf8(json);
        }
    }
    else if (m_formatName == QLatin1String("markdown"))
        streams.out << reportToMarkdown(report, cliRemedyText);
    else if (m_formatName == QLatin1String("html"))
        streams.out << reportToHtml(report, cliRemedyText);
    else
        streams.out << reportToText(report, streams.outIsTerminal && m_colourAllowed, cliRemedyText);
    streams.out.flush();
    return report.exitCode();
}

EvaluationOptions::EvaluationOptions(const QString& atHelp)
    : m_at(QStringLiteral("at"), atHelp, QStringLiteral("TIME")),
      m_caFile(QStringLiteral("ca-file"), QStringLiteral("Extra trust anchors (PEM/DER/PKCS#7); repeatable."), QStringLiteral("FILE")),
      m_noSystemTrust(QStringLiteral("no-system-trust"), QStringLiteral("Trust only --ca-file anchors, not the system store."))
{
}

void EvaluationOptions::addOptions(QCommandLineParser& parser) const { parser.addOptions({m_at, m_caFile, m_noSystemTrust}); }

QString EvaluationOptions::read(const QCommandLineParser& parser, const Clock& clock)
{
    caFiles = parser.values(m_caFile);
    useSystemTrust = !parser.isSet(m_noSystemTrust);
    at = clock.now().toUTC();
    if (parser.isSet(m_at)) {
        const auto when = parseEvaluationTime(parser.value(m_at), clock);
        if (!when)
            return QStringLiteral("--at '%1' is not a time (try 2026-12-01T08:00:00Z or +7d)").arg(parser.value(m_at));
        at = *when;
    }
    return {};
}

QList<std::shared_ptr<Command>> allCommands()
{
    return {std::make_shared<InspectCommand>(), std::make_shared<ConnectCommand>(), std::make_shared<RefreshCommand>(),
            std::make_shared<ApplyCommand>(), std::make_shared<DeployCommand>(), std::make_shared<RenewCommand>(),
            std::make_shared<ServeCommand>(), std::make_shared<DemoCommand>()};
}

namespace {

void printUsage(QTextStream& stream, const QList<std::shared_ptr<Command>>& commands)
{
    stream << "Usage: staplescope-cli COMMAND [OPTIONS] ARGUMENTS\n\n"
              "Inspect TLS certificates, chains and OCSP staples.\n\nCommands:\n";
    for (const auto& command : commands)
        stream << QStringLiteral("  %1  %2\n").arg(command->name().leftJustified(9), command->summary());
    stream << "\nRun 'staplescope-cli COMMAND --help' for a command's options.\n"
              "Exit status: 0 healthy or info only, 1 warning, 2 error or critical, 3 bad usage.\n";
    stream.flush();
}

} // namespace

int runCli(const QStringList& arguments, CommandStreams& streams, const std::shared_ptr<const Clock>& clock)
{
    const auto commands = allCommands();
    for (const auto& command : commands)
        command->setClock(clock);
    const QString first = arguments.value(1);
    if (first.isEmpty()) {
        streams.err << "staplescope-cli: no command given (try: staplescope-cli inspect PATH…, or --help)\n";
        streams.err.flush();
        return ExitUsage;
    }
    if (first == QLatin1String("--help") || first == QLatin1String("-h") || first == QLatin1String("help")) {
        printUsage(streams.out, commands);
        return ExitOk;
    }
    if (first == QLatin1String("--version")) {
        streams.out << "staplescope-cli " << QCoreApplication::applicationVersion() << '\n';
        streams.out.flush();
        return ExitOk;
    }
    for (const auto& command : commands) {
        if (command->name() == first)
            return command->run(arguments.mid(1), streams);
    }
    streams.err << QStringLiteral("staplescope-cli: unknown command '%1' (commands: %2)\n")
                       .arg(escapeText(first), [&] {
                           QStringList names;
                           for (const auto& command : commands)
                               names << command->name();
                           return names.join(QStringLiteral(", "));
                       }());
    streams.err.flush();
    return ExitUsage;
}

} // namespace staplescope::cli
