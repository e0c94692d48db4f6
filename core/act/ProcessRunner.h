#pragma once
// Running an outside program for an action (a reload command, an ACME client): in its own session,
// output read as it comes and capped, a timeout that stops the program and whatever it started.
// The reload command and the renewal client both run through this one function.

#include <QMap>
#include <QString>
#include <QStringList>

#include <functional>

namespace staplescope {

struct CommandRun {
    QString command;
    bool ran = false;
    int exitStatus = -1;      // -1: did not start or timed out
    bool timedOut = false;
    QString output;           // stdout+stderr, at most 16 KiB, control characters escaped
};

// Which 16 KiB of a long output are kept: a reload command's first lines name the failure
// (nginx -t stops at the first error); a client's last lines do (certbot prints its error last).
enum class KeptOutput { Start, End };

struct ProcessSpec {
    QString program;
    QStringList arguments;
    QMap<QString, QString> environment;  // added to the inherited environment
    QString display;                     // how the command is shown (CommandRun::command)
    QString role = QStringLiteral("command"); // "command", "client": the word in "[stopped after … s: the client took too long]"
    int timeoutMs = 60000;
    int startTimeoutMs = 30000;
    KeptOutput kept = KeptOutput::Start;
    std::function<void(const QString&)> onLine; // each output line as it comes, escaped
};

CommandRun runProcess(const ProcessSpec& run);

} // namespace staplescope
