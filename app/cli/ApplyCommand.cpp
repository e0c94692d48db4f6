#include "ApplyCommand.h"

#include "RefreshPlan.h"
#include "StapleInstaller.h"
#include "TextEscape.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace staplescope::cli {

namespace {

// A plan holds a few KiB per bundle (the response in base64 and its findings).
constexpr qint64 kPlanSizeCap = 32 * 1024 * 1024;

// The user root acts for: pkexec and sudo say whom they authenticated for. Nullopt when the
// program is not running as root for someone else (then it can do nothing its user could not).
std::optional<uid_t> invokingUserWhenElevated()
{
    if (::geteuid() != 0)
        return std::nullopt;
    for (const char* variable : {"PKEXEC_UID", "SUDO_UID"}) {
        bool ok = false;
        const uint uid = qEnvironmentVariable(variable).toUInt(&ok);
        if (ok)
            return uid == 0 ? std::nullopt : std::optional<uid_t>(uid);
    }
    if (::getuid() != 0)
        return ::getuid();
    return std::nullopt;
}

// Reads the plan file (or stdin for "-"), bounded; as root for another user, only a file that
// user or root owns and nobody else may write (another user could otherwise have changed the
// plan after it was shown).
std::optional<QByteArray> readPlanBytes(const QString& path, std::optional<uid_t> elevatedFor, QString* why)
{
    QByteArray bytes;
    if (path == QLatin1String("-")) {
        QFile in;
        if (!in.open(stdin, QIODevice::ReadOnly)) {
            *why = QStringLiteral("cannot read the plan from standard input");
            return std::nullopt;
        }
        bytes = in.read(kPlanSizeCap + 1);
    } else {
        const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
            *why = QStringLiteral("cannot open the plan %1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno)));
            return std::nullopt;
        }
        struct stat st = {};
        QString problem;
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            problem = QStringLiteral("the plan %1 is not a regular file").arg(path);
        else if (st.st_size > kPlanSizeCap)
            problem = QStringLiteral("the plan %1 is larger than %2 MiB").arg(path).arg(kPlanSizeCap >> 20);
        else if (elevatedFor && st.st_uid != 0 && st.st_uid != *elevatedFor)
            problem = QStringLiteral("the plan %1 belongs to uid %2, neither you (uid %3) nor root: refused when running as root")
                          .arg(path)
                          .arg(st.st_uid)
                          .arg(*elevatedFor);
        else if (elevatedFor && (st.st_mode & (S_IWGRP | S_IWOTH)))
            problem = QStringLiteral("the plan %1 may be changed by other users (mode %2): refused when running as root")
                          .arg(path)
                          .arg(st.st_mode & 07777, 4, 8, QLatin1Char('0'));
        if (problem.isEmpty()) {
            QFile file;
            if (file.open(fd, QIODevice::ReadOnly))
                bytes = file.read(kPlanSizeCap + 1);
        }
        ::close(fd);
        if (!problem.isEmpty()) {
            *why = problem;
            return std::nullopt;
        }
    }
    if (bytes.size() > kPlanSizeCap) {
        *why = QStringLiteral("the plan is larger than %1 MiB").arg(kPlanSizeCap >> 20);
        return std::nullopt;
    }
    return bytes;
}

QString timeText(const QDateTime& time) { return time.isNull() ? QStringLiteral("(none)") : time.toUTC().toString(Qt::ISODate); }

QString windowText(const StapleWindow& window)
{
    if (window.isNull())
        return QStringLiteral("none");
    return QStringLiteral("%1 … %2").arg(timeText(window.thisUpdate), timeText(window.nextUpdate));
}

void printPlan(const RefreshPlan& plan, QTextStream& out)
{
    qsizetype changes = 0;
    for (const BundleRefresh& bundle : plan.bundles)
        changes += bundle.changesFiles() ? 1 : 0;
    out << QStringLiteral("Plan made for %1: %2 bundle(s), %3 file change(s)\n").arg(timeText(plan.madeAt)).arg(plan.bundles.size()).arg(changes);
    for (const BundleRefresh& bundle : plan.bundles) {
        out << QStringLiteral("  %1  %2").arg(refreshOutcomeName(bundle.outcome).leftJustified(13), escapeText(bundle.name));
        if (!bundle.destination.isEmpty())
            out << QStringLiteral("  %1").arg(escapeText(bundle.destination));
        if (!bundle.current.isNull() || !bundle.fetched.isNull())
            out << QStringLiteral("  %1 → %2").arg(windowText(bundle.current), windowText(bundle.fetched));
        out << '\n';
        if (!bundle.reason.isEmpty())
            out << QStringLiteral("      %1\n").arg(escapeText(bundle.reason));
    }
    if (!plan.reloadCommand.isEmpty())
        out << QStringLiteral("Reload command (run once after any change, with the privileges apply runs with): %1\n").arg(escapeText(plan.reloadCommand));
    if (!plan.haproxySocket.isEmpty())
        out << QStringLiteral("HAProxy runtime API: %1\n").arg(escapeText(plan.haproxySocket));
}

QString indented(const QString& text)
{
    QString result;
    for (const QString& line : text.split(QLatin1Char('\n')))
        result += QStringLiteral("    ") + line + QLatin1Char('\n');
    return result;
}

void printResult(const RefreshPlan& plan, const InstallResult& result, QTextStream& out)
{
    if (result.steps.isEmpty())
        out << "Nothing to change.\n";
    for (const StepResult& step : result.steps)
        out << QStringLiteral("%1 %2\n").arg(step.done ? QStringLiteral("done   ") : QStringLiteral("FAILED "), escapeText(step.message));
    if (result.reload) {
        const CommandRun& run = *result.reload;
        if (!run.ran)
            out << QStringLiteral("Reload command did not start: %1\n").arg(run.output);
        else if (run.timedOut)
            out << QStringLiteral("Reload command timed out and was stopped: %1\n").arg(escapeText(run.command));
        else if (run.exitStatus < 0)
            out << QStringLiteral("Reload command was killed: %1\n").arg(escapeText(run.command));
        else
            out << QStringLiteral("Reload command exited with status %1: %2\n").arg(run.exitStatus).arg(escapeText(run.command));
        if (!run.output.isEmpty())
            out << indented(run.output); // already escaped line by line
    } else if (!plan.reloadCommand.isEmpty()) {
        out << "Reload command not run: nothing changed.\n";
    }
    for (const HaproxyUpdate& update : result.haproxy) {
        QString named = update.bundleId;
        for (const BundleRefresh& bundle : plan.bundles)
            if (bundle.bundleId == update.bundleId && !bundle.name.isEmpty())
                named = bundle.name;
        out << QStringLiteral("HAProxy %1 for %2: %3\n")
                   .arg(update.ok ? QStringLiteral("updated") : QStringLiteral("NOT updated"), escapeText(named), update.answer);
    }
}

} // namespace

int ApplyCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Executes a staple refresh plan (JSON: docs/json-schema.md, \"Refresh plan\") as `staplescope-cli refresh` "
        "would: for each file to change, under a lock on its folder, checks that it still holds what the plan saw, "
        "then writes the new staple atomically or moves the stale one aside to FILE.stale; then runs the plan's "
        "reload command once and updates HAProxy through its runtime API. The window runs this through pkexec "
        "for files only root may write (docs/security.md). Exit status: 0 all done, 2 a step was refused or "
        "failed, 3 bad usage or an unusable plan."));
    parser.addPositionalArgument(QStringLiteral("PLAN"), QStringLiteral("The plan file, or - for standard input."));
    const QCommandLineOption dryRun(QStringLiteral("dry-run"), QStringLiteral("Show the plan and re-check the files; change nothing."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the plan and the result as JSON."));
    const QCommandLineOption lockTimeout(QStringLiteral("lock-timeout"),
                                         QStringLiteral("Seconds to wait for another run installing into the same folder (default 30)."),
                                         QStringLiteral("S"), QStringLiteral("30"));
    const QCommandLineOption timeout(QStringLiteral("timeout"),
                                     QStringLiteral("Seconds the reload command may take (default 60)."), QStringLiteral("S"),
                                     QStringLiteral("60"));
    parser.addOptions({dryRun, json, lockTimeout, timeout});
    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;
    if (parser.positionalArguments().size() != 1)
        return usageError(streams, QStringLiteral("give exactly one PLAN file (or - for standard input)"));
    InstallOptions options;
    bool lockOk = false, timeoutOk = false;
    const double lockSeconds = parser.value(lockTimeout).toDouble(&lockOk);
    const double reloadSeconds = parser.value(timeout).toDouble(&timeoutOk);
    if (!lockOk || lockSeconds < 0 || lockSeconds > 3600)
        return usageError(streams, QStringLiteral("--lock-timeout '%1' is not a number of seconds (0 to 3600)").arg(parser.value(lockTimeout)));
    if (!timeoutOk || reloadSeconds <= 0 || reloadSeconds > 3600)
        return usageError(streams, QStringLiteral("--timeout '%1' is not a number of seconds (up to 3600)").arg(parser.value(timeout)));
    options.lockTimeoutMs = int(lockSeconds * 1000);
    options.reloadTimeoutMs = int(reloadSeconds * 1000);

    const std::optional<uid_t> elevatedFor = invokingUserWhenElevated();
    options.onlyRootControlledPaths = elevatedFor.has_value();
    const QString planPath = parser.positionalArguments().constFirst();
    QString why;
    const std::optional<QByteArray> bytes = readPlanBytes(planPath, elevatedFor, &why);
    if (!bytes)
        return usageError(streams, why);
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject())
        return usageError(streams, QStringLiteral("the plan %1 is not a JSON object: %2 at byte %3")
                                       .arg(planPath, parseError.error != QJsonParseError::NoError ? parseError.errorString() : QStringLiteral("not an object"))
                                       .arg(parseError.offset));
    const std::optional<RefreshPlan> plan = RefreshPlan::fromJson(document.object(), &why);
    if (!plan)
        return usageError(streams, QStringLiteral("the plan %1 is not valid: %2").arg(planPath, why));

    const bool asJson = parser.isSet(json);
    if (!asJson) {
        printPlan(*plan, streams.out);
        streams.out.flush();
    }

    QJsonObject report{{QStringLiteral("schema"), QStringLiteral("staplescope-apply/1")},
                       {QStringLiteral("dryRun"), parser.isSet(dryRun)},
                       {QStringLiteral("plan"), plan->toJson()}};
    bool allGood = true;
    if (parser.isSet(dryRun)) {
        QJsonArray checks;
        for (const BundleRefresh& bundle : plan->bundles) {
            if (!bundle.changesFiles())
                continue;
            const QString change = destinationChangeSincePlan(bundle);
            allGood = allGood && change.isEmpty();
            checks.append(QJsonObject{{QStringLiteral("bundleId"), bundle.bundleId},
                                      {QStringLiteral("destination"), bundle.destination},
                                      {QStringLiteral("unchanged"), change.isEmpty()},
                                      {QStringLiteral("message"), change}});
            if (!asJson)
                streams.out << (change.isEmpty() ? QStringLiteral("would %1: %2 is as the plan saw it\n")
                                                       .arg(bundle.outcome == RefreshOutcome::Install ? QStringLiteral("install")
                                                                                                      : QStringLiteral("move aside"),
                                                            escapeText(bundle.destination))
                                                 : QStringLiteral("would refuse: %1\n").arg(escapeText(change)));
        }
        report.insert(QStringLiteral("checks"), checks);
        report.insert(QStringLiteral("result"), QJsonValue::Null);
        if (!asJson)
            streams.out << "Dry run: nothing changed.\n";
    } else {
        const InstallResult result = executeRefreshPlan(*plan, options);
        allGood = result.ok();
        report.insert(QStringLiteral("result"), installResultToJson(result));
        if (!asJson)
            printResult(*plan, result, streams.out);
    }
    const int status = allGood ? ExitOk : ExitCritical;
    if (asJson) {
        report.insert(QStringLiteral("exitCode"), status);
        const QByteArray text = escapeJsonDocumentControls(QJsonDocument(report).toJson(QJsonDocument::Indented));
        if (QIODevice* device = streams.out.device()) {
            streams.out.flush();
            device->write(text);
        } else {
            streams.out << QString::fromUtf8(text);
        }
    }
    streams.out.flush();
    return status;
}

} // namespace staplescope::cli
