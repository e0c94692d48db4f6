#pragma once
// One class per staplescope-cli command. Commands get their streams as parameters so tests run
// them in-process and read what they print.

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

protected:
    // Parses, handles --help, and on bad usage prints one line to err. Returns nullopt-like
    // false when run() should return `*exitCode`.
    bool parse(QCommandLineParser& parser, const QStringList& arguments, CommandStreams& streams,
               int* exitCode) const;
    int usageError(CommandStreams& streams, const QString& message) const;
};

QList<std::shared_ptr<Command>> allCommands();
// The whole CLI: `arguments` is argv (program name first).
int runCli(const QStringList& arguments, CommandStreams& streams);

} // namespace staplescope::cli
