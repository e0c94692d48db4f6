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

private:
    std::shared_ptr<const Clock> m_clock = Clock::system();
};

// The report options every diagnosing command shares (--json, --format, --no-color) and the
// printing of the report they choose.
class ReportOutput {
public:
    ReportOutput();
    void addOptions(QCommandLineParser& parser) const;
    // After parsing: an empty string, or what is wrong (for a usage error).
    QString read(const QCommandLineParser& parser);
    // Prints the report and returns the monitoring exit status it calls for.
    int write(const InspectionReport& report, CommandStreams& streams) const;

private:
    QCommandLineOption m_json, m_format, m_noColour;
    QString m_formatName = QStringLiteral("text");
    bool m_colourAllowed = true;
};

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
