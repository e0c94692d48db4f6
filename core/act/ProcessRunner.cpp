#include "ProcessRunner.h"

#include "TextEscape.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QProcessEnvironment>

#include <algorithm>
#include <csignal>

#include <sys/types.h>
#include <unistd.h>

namespace staplescope {

namespace {

constexpr qsizetype kOutputCap = 16 * 1024;
// How long a stopped program gets after SIGKILL to be reaped.
constexpr int kReapMs = 3000;
// Reads wake at least this often, so the timeout is checked while a program is silent.
constexpr int kPollMs = 200;

} // namespace

CommandRun runProcess(const ProcessSpec& spec)
{
    CommandRun run;
    run.command = spec.display;
    QProcess process;
    process.setProgram(spec.program);
    process.setArguments(spec.arguments);
    if (!spec.environment.isEmpty()) {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        for (auto it = spec.environment.cbegin(); it != spec.environment.cend(); ++it)
            environment.insert(it.key(), it.value());
        process.setProcessEnvironment(environment);
    }
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.setStandardInputFile(QProcess::nullDevice());
    // Its own session and process group: a timeout stops the program and whatever it started.
    process.setChildProcessModifier([] { ::setsid(); });

    QByteArray kept;
    qint64 dropped = 0;
    QByteArray pending; // the part of a line not yet passed to onLine
    const auto emitLines = [&](bool flush) {
        if (!spec.onLine) {
            pending.clear();
            return;
        }
        qsizetype newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
            spec.onLine(escapeText(QString::fromUtf8(pending.left(newline)).remove(QLatin1Char('\r'))));
            pending.remove(0, newline + 1);
        }
        // A line longer than the cap is passed on in pieces.
        if (pending.size() > kOutputCap || (flush && !pending.isEmpty())) {
            spec.onLine(escapeText(QString::fromUtf8(pending)));
            pending.clear();
        }
    };
    const auto drain = [&] {
        const QByteArray chunk = process.readAll();
        if (chunk.isEmpty())
            return;
        if (spec.kept == KeptOutput::End) {
            kept += chunk;
            if (kept.size() > kOutputCap) {
                dropped += kept.size() - kOutputCap;
                kept = kept.right(kOutputCap);
            }
        } else {
            const qsizetype room = std::max<qsizetype>(kOutputCap - kept.size(), 0);
            kept += chunk.left(room);
            dropped += chunk.size() - std::min(chunk.size(), room);
        }
        pending += chunk;
        emitLines(false);
    };

    QElapsedTimer clock;
    clock.start();
    process.start();
    if (!process.waitForStarted(spec.startTimeoutMs)) {
        run.output = escapeText(QStringLiteral("%1 could not be started: %2").arg(spec.program, process.errorString()));
        return run;
    }
    run.ran = true;
    while (process.state() != QProcess::NotRunning) {
        const qint64 left = spec.timeoutMs - clock.elapsed();
        if (left <= 0) {
            run.timedOut = true;
            break;
        }
        process.waitForReadyRead(int(std::min<qint64>(left, kPollMs)));
        drain();
    }
    if (run.timedOut) {
        // The group setsid() made (its id is the program's pid); never 0, which would be our own group.
        if (const qint64 pid = process.processId(); pid > 0)
            ::kill(-pid_t(pid), SIGKILL);
        process.waitForFinished(kReapMs);
    }
    drain();
    emitLines(true);

    QString text = QString::fromUtf8(kept);
    if (dropped > 0) {
        if (spec.kept == KeptOutput::End)
            text.prepend(QStringLiteral("[output cut: the first %1 bytes are not kept]\n").arg(dropped));
        else
            text += QStringLiteral("\n[output cut at %1 KiB]").arg(kOutputCap / 1024);
    }
    if (run.timedOut)
        text += QStringLiteral("\n[stopped after %1 s: the %2 took too long]").arg(spec.timeoutMs / 1000.0).arg(spec.role);
    else if (process.exitStatus() == QProcess::CrashExit)
        text += QStringLiteral("\n[the %1 was killed by a signal]").arg(spec.role);
    else
        run.exitStatus = process.exitCode();
    QStringList lines = text.trimmed().split(QLatin1Char('\n'));
    for (QString& line : lines)
        line = escapeText(line.remove(QLatin1Char('\r')));
    run.output = lines.join(QLatin1Char('\n'));
    return run;
}

} // namespace staplescope
