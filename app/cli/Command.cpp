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
#include "FindingRegistry.h"
#include "MonitoringFormat.h"
#include "ReportFormat.h"
#include "TextEscape.h"

#include <QCoreApplication>
#include <QIODevice>
#include <QRegularExpression>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <unistd.h>

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
        // QCommandLineParser names the program by its file path (the application's, not the
        // arguments given to parse()); the usage line names the program and the command.
        static const QRegularExpression programPath(QStringLiteral("^Usage: \\S+"));
        text.replace(programPath, QStringLiteral("Usage: staplescope-cli %1").arg(name()));
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
    if (m_usageErrorsForNagios) {
        streams.out << nagiosUnknown(QStringLiteral("staplescope-cli %1: %2").arg(name(), message));
        streams.out.flush();
    }
    return ExitUsage;
}

namespace {

const QStringList kReportFormats = {QStringLiteral("text"), QStringLiteral("json"), QStringLiteral("markdown"),
                                    QStringLiteral("html"), QStringLiteral("nagios"), QStringLiteral("prometheus")};

} // namespace

ReportOutput::ReportOutput()
    : m_json(QStringLiteral("json"), QStringLiteral("Print the report as JSON (docs/json-schema.md); short for --format json.")),
      m_format(QStringLiteral("format"),
               QStringLiteral("Report format: text, json, markdown, html, nagios (plugin output and perfdata) or prometheus "
                              "(text exposition format, for node_exporter's textfile collector); docs/monitoring.md."),
               QStringLiteral("FORMAT"), QStringLiteral("text")),
      m_noColour(QStringLiteral("no-color"), QStringLiteral("No ANSI colours (also when NO_COLOR is set).")),
      m_quiet(QStringLiteral("quiet"),
              QStringLiteral("Print nothing when all is well (exit status 0); the report as usual on a warning or worse "
                             "(cron mails only when something is wrong)."))
{
}

void ReportOutput::addOptions(QCommandLineParser& parser) const { parser.addOptions({m_json, m_format, m_noColour, m_quiet}); }

QString ReportOutput::read(const QCommandLineParser& parser)
{
    m_formatName = parser.isSet(m_json) ? QStringLiteral("json") : parser.value(m_format).toLower();
    m_colourAllowed = !parser.isSet(m_noColour) && qEnvironmentVariableIsEmpty("NO_COLOR");
    m_quietOnSuccess = parser.isSet(m_quiet);
    if (parser.isSet(m_json) && parser.isSet(m_format) && parser.value(m_format).toLower() != QLatin1String("json"))
        return QStringLiteral("--json is --format json; it cannot go with --format %1").arg(parser.value(m_format));
    if (!kReportFormats.contains(m_formatName))
        return QStringLiteral("unknown format '%1' (%2)").arg(parser.value(m_format), kReportFormats.join(QStringLiteral(", ")));
    return {};
}

int ReportOutput::write(const InspectionReport& report, CommandStreams& streams, const AnalysisOptions& analysis,
                        const QString& target) const
{
    const int status = report.exitCode();
    if (m_quietOnSuccess && status == ExitOk)
        return status;
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
    else if (m_formatName == QLatin1String("nagios"))
        streams.out << reportToNagios(report, analysis, target);
    else if (m_formatName == QLatin1String("prometheus"))
        streams.out << reportToPrometheus(report, analysis);
    else
        streams.out << reportToText(report, streams.outIsTerminal && m_colourAllowed, cliRemedyText);
    streams.out.flush();
    return status;
}

namespace {

// Days and hours as the thresholds take them: a finite number from 0 to `max`.
std::optional<qint64> parseThreshold(const QString& text, double max, qint64 secondsPerUnit)
{
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < 0 || value > max)
        return std::nullopt;
    return qint64(std::llround(value * double(secondsPerUnit)));
}

constexpr double kMaxDays = 3650;
constexpr double kMaxHours = 24 * 366;

} // namespace

ThresholdOptions::ThresholdOptions()
    : m_warnDays(QStringLiteral("warn-days"),
                 QStringLiteral("Warn this many days before a certificate expires (default: a third of its lifetime, at most 30)."),
                 QStringLiteral("DAYS")),
      m_critDays(QStringLiteral("crit-days"),
                 QStringLiteral("Critical this many days before a certificate expires (default: only once expired)."),
                 QStringLiteral("DAYS")),
      m_stapleWarnHours(QStringLiteral("staple-warn-hours"),
                        QStringLiteral("Also warn this many hours before a staple's nextUpdate (default: from its refresh point, "
                                       "halfway through its validity)."),
                        QStringLiteral("HOURS")),
      m_stapleCritHours(QStringLiteral("staple-crit-hours"),
                        QStringLiteral("Critical this many hours before a staple's nextUpdate (default: only once expired)."),
                        QStringLiteral("HOURS")),
      m_ignore(QStringLiteral("ignore"),
               QStringLiteral("Leave out findings with this code (e.g. STAPLE_MISSING for a server that does not staple); "
                              "repeatable or comma-separated. The report says what it left out."),
               QStringLiteral("CODE"))
{
}

void ThresholdOptions::addOptions(QCommandLineParser& parser) const
{
    parser.addOptions({m_warnDays, m_critDays, m_stapleWarnHours, m_stapleCritHours, m_ignore});
}

QString ThresholdOptions::read(const QCommandLineParser& parser, AnalysisOptions& analysis)
{
    struct Threshold {
        const QCommandLineOption* option;
        std::optional<qint64>* target;
        double max;
        qint64 secondsPerUnit;
        const char* unit;
    };
    const Threshold thresholds[] = {
        {&m_warnDays, &analysis.expiryWarningSeconds, kMaxDays, 86400, "days"},
        {&m_critDays, &analysis.expiryCriticalSeconds, kMaxDays, 86400, "days"},
        {&m_stapleWarnHours, &analysis.stapleWarningSeconds, kMaxHours, 3600, "hours"},
        {&m_stapleCritHours, &analysis.stapleCriticalSeconds, kMaxHours, 3600, "hours"},
    };
    for (const Threshold& t : thresholds) {
        if (!parser.isSet(*t.option))
            continue;
        const auto seconds = parseThreshold(parser.value(*t.option), t.max, t.secondsPerUnit);
        if (!seconds)
            return QStringLiteral("--%1 '%2' is not a number of %3 (from 0 to %4)")
                .arg(t.option->names().constFirst(), parser.value(*t.option), QLatin1String(t.unit), QString::number(t.max));
        *t.target = seconds;
    }
    // Critical comes after warning: a critical threshold further out than the warning one would
    // skip the warning step, which is never what was meant.
    if (analysis.expiryWarningSeconds && analysis.expiryCriticalSeconds && *analysis.expiryCriticalSeconds > *analysis.expiryWarningSeconds)
        return QStringLiteral("--crit-days %1 is more than --warn-days %2: critical must be at most the warning threshold")
            .arg(parser.value(m_critDays), parser.value(m_warnDays));
    if (analysis.stapleWarningSeconds && analysis.stapleCriticalSeconds && *analysis.stapleCriticalSeconds > *analysis.stapleWarningSeconds)
        return QStringLiteral("--staple-crit-hours %1 is more than --staple-warn-hours %2: critical must be at most the warning threshold")
            .arg(parser.value(m_stapleCritHours), parser.value(m_stapleWarnHours));

    ignoredCodes.clear();
    for (const QString& value : parser.values(m_ignore)) {
        for (const QString& part : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QString code = part.trimmed();
            if (code.isEmpty())
                continue;
            if (!findingCodeFromName(code)) {
                // Codes are a public spelling (scripts and alert rules match them): named exactly.
                const QString respelled = code.toUpper().replace(QLatin1Char('-'), QLatin1Char('_'));
                if (findingCodeFromName(respelled))
                    return QStringLiteral("--ignore '%1': finding codes are spelled %2").arg(code, respelled);
                return QStringLiteral("--ignore '%1' is not a finding code (docs/findings.md lists them, e.g. STAPLE_MISSING)").arg(code);
            }
            if (!ignoredCodes.contains(code))
                ignoredCodes << code;
        }
    }
    return {};
}

StdinInput readStdinInput(bool stdinIsTerminal, qint64 maxBytes)
{
    StdinInput result;
    if (stdinIsTerminal) {
        result.error = QStringLiteral("'-' reads the input from stdin, but stdin is a terminal: pipe a file in "
                                      "(staplescope-cli inspect - < fullchain.pem)");
        return result;
    }
    // Read in pieces up to one byte past the bound, which is enough to tell "too large" without
    // holding more.
    QByteArray data;
    QByteArray chunk(64 * 1024, Qt::Uninitialized);
    while (data.size() <= maxBytes) {
        const ssize_t n = ::read(STDIN_FILENO, chunk.data(), size_t(std::min<qint64>(chunk.size(), maxBytes + 1 - data.size())));
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result.error = QStringLiteral("cannot read stdin: %1").arg(QString::fromLocal8Bit(std::strerror(errno)));
            return result;
        }
        data.append(chunk.constData(), n);
    }
    if (data.size() > maxBytes) {
        result.error = QStringLiteral("stdin holds more than %1 MiB, far more than any certificate, key or staple; it was not read")
                           .arg(maxBytes / (1024 * 1024));
        return result;
    }
    if (data.isEmpty()) {
        result.error = QStringLiteral("stdin is empty: '-' reads one input (a certificate, chain, staple or key) from stdin");
        return result;
    }
    result.data = data;
    return result;
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
