#include "PrivilegedApply.h"

#include "TextEscape.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryFile>

#include <unistd.h>

namespace staplescope::ui {

namespace {

// How long a started process may take to start, and how often a waiting worker looks at its
// cancel flag.
constexpr int kStartTimeoutMs = 10000;
constexpr int kCancelPollMs = 100;

// Line by line, so the output keeps its lines but shows no control character raw.
QString escapedOutput(const QByteArray& bytes, bool truncated)
{
    QStringList lines = QString::fromUtf8(bytes).split(QLatin1Char('\n'));
    for (QString& line : lines)
        line = escapeText(line.endsWith(QLatin1Char('\r')) ? line.chopped(1) : line);
    QString text = lines.join(QLatin1Char('\n'));
    if (truncated)
        text += QCoreApplication::translate("PrivilegedApply", "\n… (output cut at %1 KiB)").arg(kMaxProcessOutput / 1024);
    return text;
}

} // namespace

bool userCanReplace(const QString& path)
{
    const QFileInfo file(path);
    const QString folder = file.absolutePath();
    // access() answers for the effective user, as the kernel will when the installer writes.
    if (::access(QFile::encodeName(folder).constData(), W_OK | X_OK) != 0)
        return false;
    if (!file.exists() && !file.isSymLink())
        return true;
    if (::access(QFile::encodeName(file.absoluteFilePath()).constData(), W_OK) != 0)
        return false;
    // The installer keeps the old owner; only root can give a new file to someone else.
    return ::geteuid() == 0 || file.ownerId() == ::geteuid();
}

bool userCanWriteFolder(const QString& folder)
{
    QFileInfo info(QDir::cleanPath(QFileInfo(folder).absoluteFilePath()));
    // Walk up to what exists: a new DEST is created inside its nearest existing parent.
    while (!info.exists() && !info.isSymLink() && !info.isRoot())
        info = QFileInfo(info.absolutePath());
    return ::access(QFile::encodeName(info.absoluteFilePath()).constData(), W_OK | X_OK) == 0;
}

QStringList destinationsNeedingPrivileges(const RefreshPlan& plan, const WriteAccessCheck& canReplace)
{
    QStringList paths;
    for (const BundleRefresh& bundle : plan.bundles)
        if (bundle.changesFiles() && !bundle.destination.isEmpty() && !canReplace(bundle.destination) &&
            !paths.contains(bundle.destination))
            paths << bundle.destination;
    return paths;
}

QString findStaplescopeCli()
{
    const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("staplescope-cli"));
    if (QFileInfo(beside).isExecutable())
        return beside;
    return QStandardPaths::findExecutable(QStringLiteral("staplescope-cli"));
}

QString findPkexec()
{
    return QStandardPaths::findExecutable(QStringLiteral("pkexec"));
}

PlanFile writePlanFile(const RefreshPlan& plan)
{
    QTemporaryFile file(QDir(QDir::tempPath()).filePath(QStringLiteral("staplescope-plan-XXXXXX.json")));
    file.setAutoRemove(false);
    // QTemporaryFile creates it 0600 (O_EXCL, a fresh name); said again so it never depends on that.
    if (!file.open() || !file.setPermissions(QFile::ReadOwner | QFile::WriteOwner))
        return {{}, QCoreApplication::translate("PrivilegedApply", "Cannot create a private file for the plan in %1: %2")
                        .arg(QDir::toNativeSeparators(QDir::tempPath()), file.errorString())};
    const QByteArray json = QJsonDocument(plan.toJson()).toJson(QJsonDocument::Indented);
    if (file.write(json) != json.size() || !file.flush()) {
        const QString error = file.errorString();
        file.remove();
        return {{}, QCoreApplication::translate("PrivilegedApply", "Cannot write the plan to %1: %2")
                        .arg(QDir::toNativeSeparators(file.fileName()), error)};
    }
    file.close();
    return {file.fileName(), {}};
}

QString shellQuoted(const QString& word)
{
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_@%+=:,./-]+$"));
    if (!word.isEmpty() && plain.match(word).hasMatch())
        return word;
    QString quoted = word;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

QString sudoApplyLine(const QString& cliPath, const QString& planFile)
{
    const QString cli = cliPath.isEmpty() ? QStringLiteral("staplescope-cli") : cliPath;
    return QStringLiteral("sudo ") + shellQuoted(cli) + QStringLiteral(" apply ") + shellQuoted(planFile);
}

namespace {

QString cliWord(const QString& cliPath)
{
    return QStringLiteral("sudo ") + shellQuoted(cliPath.isEmpty() ? QStringLiteral("staplescope-cli") : cliPath);
}

// The options a deploy shares with rollback and renew --deploy-to, as CLI words.
QStringList deployOptionWords(const DeployOptions& options)
{
    QStringList words{QStringLiteral("--layout"), deployLayoutKey(options.layout), QStringLiteral("--keep"),
                      QString::number(options.keep)};
    if (!options.reloadCommand.isEmpty())
        words << QStringLiteral("--reload-command") << options.reloadCommand;
    if (!options.haproxySocket.isEmpty())
        words << QStringLiteral("--haproxy-socket") << options.haproxySocket;
    if (!options.verify.isEmpty())
        words << QStringLiteral("--verify") << options.verify;
    return words;
}

QString joinQuoted(const QString& head, const QStringList& words)
{
    QString line = head;
    for (const QString& word : words)
        line += QLatin1Char(' ') + shellQuoted(word);
    return line;
}

} // namespace

QString sudoDeployLine(const QString& cliPath, const DeployOptions& options)
{
    QStringList words{QStringLiteral("deploy"), QStringLiteral("--from"), options.from, QStringLiteral("--to"), options.to};
    words << deployOptionWords(options);
    return joinQuoted(cliWord(cliPath), words);
}

QString sudoRollbackLine(const QString& cliPath, const DeployOptions& options, const QString& generation)
{
    QStringList words{QStringLiteral("deploy"), QStringLiteral("--to"), options.to, QStringLiteral("--rollback")};
    if (!generation.isEmpty())
        words << QStringLiteral("--generation") << generation;
    if (!options.reloadCommand.isEmpty())
        words << QStringLiteral("--reload-command") << options.reloadCommand;
    if (!options.haproxySocket.isEmpty())
        words << QStringLiteral("--haproxy-socket") << options.haproxySocket;
    if (!options.verify.isEmpty())
        words << QStringLiteral("--verify") << options.verify;
    return joinQuoted(cliWord(cliPath), words);
}

QString sudoRenewLine(const QString& cliPath, const QStringList& paths, const RenewOptions& options)
{
    QStringList words{QStringLiteral("renew")};
    if (options.client)
        words << QStringLiteral("--client") << acmeClientKey(*options.client);
    if (options.force)
        words << QStringLiteral("--force");
    if (options.ifDue)
        words << QStringLiteral("--if-due");
    for (const QString& destination : options.deployTo)
        words << QStringLiteral("--deploy-to") << destination;
    if (!options.deployTo.isEmpty())
        words << deployOptionWords(options.deploy); // renew takes deploy's options for --deploy-to
    words << paths;
    return joinQuoted(cliWord(cliPath), words);
}

ProcessRun runProcess(const QString& program, const QStringList& arguments, const std::atomic<bool>* cancel,
                      int timeoutMs)
{
    ProcessRun run;
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.setStandardInputFile(QProcess::nullDevice());
    process.start(program, arguments, QIODevice::ReadOnly);
    if (!process.waitForStarted(kStartTimeoutMs)) {
        run.error = process.errorString();
        return run;
    }
    run.started = true;
    QByteArray output;
    bool truncated = false;
    auto collect = [&] {
        const QByteArray chunk = process.readAll();
        const qsizetype room = kMaxProcessOutput - output.size();
        if (chunk.size() > room)
            truncated = true;
        output += chunk.left(qMax<qsizetype>(0, room));
    };
    QElapsedTimer elapsed;
    elapsed.start();
    while (process.state() != QProcess::NotRunning) {
        process.waitForFinished(kCancelPollMs);
        collect();
        if (process.state() == QProcess::NotRunning)
            break;
        if (cancel && cancel->load()) {
            run.cancelled = true;
        } else if (elapsed.elapsed() > timeoutMs) {
            run.timedOut = true;
        } else {
            continue;
        }
        process.terminate();
        if (!process.waitForFinished(2000)) {
            process.kill();
            process.waitForFinished(2000);
        }
        collect();
        break;
    }
    run.output = escapedOutput(output, truncated);
    if (run.cancelled)
        run.error = QCoreApplication::translate("PrivilegedApply", "Cancelled: the process was stopped.");
    else if (run.timedOut)
        run.error = QCoreApplication::translate("PrivilegedApply", "No answer within %1 minutes: the process was stopped.")
                        .arg(timeoutMs / 60000);
    else if (process.exitStatus() == QProcess::CrashExit)
        run.error = QCoreApplication::translate("PrivilegedApply", "The process crashed: %1").arg(process.errorString());
    else
        run.exitCode = process.exitCode();
    return run;
}

} // namespace staplescope::ui
