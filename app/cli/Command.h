#pragma once
// One class per staplescope-cli command. Commands get their streams as parameters so tests run
// them in-process and read what they print.

#include "Clock.h"
#include "Inspection.h"

#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <QTextStream>

#include <memory>
#include <optional>

namespace staplescope::cli {

// Monitoring-plugin exit codes.
enum ExitCode : int { ExitOk = 0, ExitWarning = 1, ExitCritical = 2, ExitUsage = 3 };

struct CommandStreams {
    QTextStream& out;
    QTextStream& err;
    bool outIsTerminal = false; // colour and prompts only on a terminal
    bool inIsTerminal = false;
};

class Command {
public:
    virtual ~Command() = default;
    virtual QString name() const = 0;
    virtual QString summary() const = 0;
    // `arguments` starts with the command's name (as QCommandLineParser expects argv[0]).
    virtual int run(const QStringList& arguments, CommandStreams& streams) = 0;

    // Where "now" comes from (--at now, +7d; the demo's dates): the system clock unless a test
    // pins one.
    void setClock(std::shared_ptr<const Clock> clock) { m_clock = std::move(clock); }
    const Clock& clock() const { return *m_clock; }
    std::shared_ptr<const Clock> sharedClock() const { return m_clock; }

protected:
    // Parses, handles --help, and on bad usage prints one line to err. Returns nullopt-like
    // false when run() should return `*exitCode`.
    bool parse(QCommandLineParser& parser, const QStringList& arguments, CommandStreams& streams,
               int* exitCode) const;
    int usageError(CommandStreams& streams, const QString& message) const;
    // With --format nagios, a usage error is also the plugin's UNKNOWN line on stdout (Nagios and
    // Icinga show stdout only); the exit status stays ExitUsage (3, UNKNOWN).
    void setUsageErrorsForNagios(bool on) { m_usageErrorsForNagios = on; }

private:
    std::shared_ptr<const Clock> m_clock = Clock::system();
    bool m_usageErrorsForNagios = false;
};

// The report options every diagnosing command shares (--json, --format, --no-color, --quiet) and
// the printing of the report they choose.
class ReportOutput {
public:
    ReportOutput();
    void addOptions(QCommandLineParser& parser) const;
    // After parsing: an empty string, or what is wrong (for a usage error).
    QString read(const QCommandLineParser& parser);
    // Prints the report and returns the monitoring exit status it calls for. The monitoring
    // formats print the thresholds of `analysis` (the ones the report was made with); nagios names
    // `target` (host:port, or the paths) on its status line. With --quiet nothing is printed when
    // the exit status is 0.
    int write(const InspectionReport& report, CommandStreams& streams, const AnalysisOptions& analysis = {},
              const QString& target = {}) const;
    bool isNagios() const { return m_formatName == QLatin1String("nagios"); }

private:
    QCommandLineOption m_json, m_format, m_noColour, m_quiet;
    QString m_formatName = QStringLiteral("text");
    bool m_colourAllowed = true;
    bool m_quietOnSuccess = false;
};

// --warn-days, --crit-days, --staple-warn-hours, --staple-crit-hours and --ignore CODE: where the
// engine's ladders step to warning and critical, and which finding codes are left out (and said
// to be), for every command that reports (inspect, connect).
class ThresholdOptions {
public:
    ThresholdOptions();
    void addOptions(QCommandLineParser& parser) const;
    // After parsing: sets the thresholds of `analysis` and ignoredCodes; an empty string, or what
    // is wrong (for a usage error: an unknown code, crit beyond warn, not a number).
    QString read(const QCommandLineParser& parser, AnalysisOptions& analysis);

    QStringList ignoredCodes; // as the registry spells them (CERT_EXPIRING_SOON)

private:
    QCommandLineOption m_warnDays, m_critDays, m_stapleWarnHours, m_stapleCritHours, m_ignore;
};

// `-` as a PATH: one input read from stdin, named this in reports.
inline const QString kStdinName = QStringLiteral("(stdin)");

struct StdinInput {
    std::optional<QByteArray> data; // nullopt: see error
    QString error;                  // "stdin is a terminal: …", "stdin is empty", "stdin holds more than …"
};
// Reads stdin to its end, at most `maxBytes` (the bound files have, LoadOptions::maxFileSize).
// Refuses a terminal (nobody types a certificate) and empty input with a message saying so.
StdinInput readStdinInput(bool stdinIsTerminal, qint64 maxBytes);

// --at, --ca-file and --no-system-trust: when to evaluate and what to trust, for every command
// that diagnoses.
class EvaluationOptions {
public:
    explicit EvaluationOptions(const QString& atHelp);
    void addOptions(QCommandLineParser& parser) const;
    // After parsing: an empty string, or what is wrong (for a usage error).
    QString read(const QCommandLineParser& parser, const Clock& clock);

    QDateTime at;          // UTC
    QStringList caFiles;
    bool useSystemTrust = true;

private:
    QCommandLineOption m_at, m_caFile, m_noSystemTrust;
};

QList<std::shared_ptr<Command>> allCommands();
// The whole CLI: `arguments` is argv (program name first); every command reads time from `clock`.
int runCli(const QStringList& arguments, CommandStreams& streams,
           const std::shared_ptr<const Clock>& clock = Clock::system());

} // namespace staplescope::cli
