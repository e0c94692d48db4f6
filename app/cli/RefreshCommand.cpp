#include "RefreshCommand.h"

#include "CliRemedy.h"
#include "Deployer.h"
#include "FindingRegistry.h"
#include "OnlineCliOptions.h"
#include "RefreshEngine.h"
#include "StapleInstaller.h"
#include "TextEscape.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace staplescope::cli {

namespace {

QString outcomeText(RefreshOutcome outcome, bool dryRun)
{
    if (!dryRun)
        return refreshOutcomeName(outcome);
    switch (outcome) {
    case RefreshOutcome::Install: return QStringLiteral("would install");
    case RefreshOutcome::MoveStaleAside: return QStringLiteral("would remove stale");
    default: return refreshOutcomeName(outcome);
    }
}

void printPlan(const RefreshPlan& plan, bool dryRun, QTextStream& out)
{
    for (const Finding& f : plan.inputFindings)
        out << QStringLiteral("%1: %2 (%3)\n").arg(severityName(f.severity), escapeText(f.title), escapeText(f.subject));
    for (const BundleRefresh& line : plan.bundles) {
        out << QStringLiteral("%1 (serial %2): %3").arg(escapeText(line.name), line.serial, outcomeText(line.outcome, dryRun));
        if (!line.destination.isEmpty())
            out << QStringLiteral(" — %1").arg(escapeText(line.destination));
        out << '\n';
        if (!line.current.isNull() || line.changesFiles())
            out << QStringLiteral("    current: %1\n").arg(stapleWindowLine(line.current));
        if (!line.fetched.isNull())
            out << QStringLiteral("    fetched: %1%2\n")
                       .arg(stapleWindowLine(line.fetched),
                            line.responder.isEmpty() ? QString() : QStringLiteral(" from ") + escapeText(line.responder));
        out << QStringLiteral("    why: %1\n").arg(escapeText(line.reason));
        for (const Finding& f : line.findings) {
            if (f.severity == Severity::Info && line.severity == Severity::Info)
                continue;
            // The reason already quotes the message of the finding that decided the outcome: then its title.
            const QString message = f.message.chopped(f.message.endsWith(QLatin1Char('.')) ? 1 : 0);
            const QString text = line.reason.contains(message) ? f.title : f.message;
            out << QStringLiteral("    %1 %2: %3\n").arg(severityName(f.severity), f.code, escapeText(text));
        }
    }
    if (!plan.reloadCommand.isEmpty())
        out << QStringLiteral("reload command: %1 (%2)\n")
                   .arg(escapeText(plan.reloadCommand),
                        plan.changesAnything() ? (dryRun ? QStringLiteral("would run") : QStringLiteral("runs after the changes"))
                                               : QStringLiteral("not run: nothing changes"));
    if (!plan.haproxySocket.isEmpty())
        out << QStringLiteral("HAProxy runtime API: %1\n").arg(escapeText(plan.haproxySocket));
}

void printResult(const InstallResult& result, QTextStream& out)
{
    for (const StepResult& step : result.steps)
        if (!step.done)
            out << QStringLiteral("not done: %1\n").arg(escapeText(step.message));
    if (result.reload) {
        const CommandRun& run = *result.reload;
        if (run.timedOut)
            out << QStringLiteral("reload command timed out: %1\n").arg(escapeText(run.command));
        else if (!run.ran)
            out << QStringLiteral("reload command did not start: %1\n").arg(escapeText(run.command));
        else
            out << QStringLiteral("reload command exited %1: %2\n").arg(QString::number(run.exitStatus), escapeText(run.command));
        if (!run.output.trimmed().isEmpty())
            out << QStringLiteral("    %1\n").arg(escapeText(run.output.trimmed()).replace(QLatin1String("\\n"), QLatin1String("\n    ")));
    }
    for (const HaproxyUpdate& update : result.haproxy)
        out << QStringLiteral("HAProxy %1: %2\n").arg(update.ok ? QStringLiteral("updated") : QStringLiteral("NOT updated"),
                                                      escapeText(update.answer));
}

// The layout a destination's current generation has, so a staple refresh keeps its file set.
DeployLayout layoutOfCurrent(const QString& destination)
{
    const QDir current(QDir(destination).filePath(QStringLiteral("current")));
    const bool pemSet = QFileInfo::exists(current.filePath(QStringLiteral("fullchain.pem")));
    const bool haproxy = QFileInfo::exists(current.filePath(QStringLiteral("haproxy.pem")));
    if (pemSet && haproxy)
        return DeployLayout::All;
    return haproxy ? DeployLayout::Haproxy : DeployLayout::Nginx;
}

struct DestinationRefresh {
    DeployPlan plan;
    std::optional<DeployResult> result;
    int status = 0;
};

// `refresh` on a deploy destination: a new generation with the same certificate and a fresh
// staple, flipped in as any deploy, so nothing is ever written into a generation in use.
DestinationRefresh refreshDestination(const QString& destination, const RefreshOptions& refresh, const EvaluationOptions& evaluation,
                                      bool dryRun)
{
    DeployOptions options;
    options.from = QDir(destination).filePath(QStringLiteral("current"));
    options.to = destination;
    options.layout = layoutOfCurrent(destination);
    options.staplesOnly = true;
    options.force = !refresh.ifDue; // without --if-due: a newer response is deployed even before the refresh point
    options.reloadCommand = refresh.reloadCommand;
    options.haproxySocket = refresh.haproxySocket;
    options.caFiles = evaluation.caFiles;
    options.useSystemTrust = evaluation.useSystemTrust;
    options.online = refresh.online;
    DestinationRefresh out;
    out.plan = planDeploy(options, evaluation.at);
    if (!dryRun && out.plan.needsExecution()) {
        out.result = executeDeploy(out.plan, options);
        if (out.result->planOutdated) {
            out.plan = planDeploy(options, evaluation.at);
            out.result.reset();
            if (out.plan.needsExecution())
                out.result = executeDeploy(out.plan, options);
        }
    }
    out.status = out.plan.exitCode();
    if (out.result)
        out.status = std::max(out.status, out.result->exitCode());
    return out;
}

void printDestinationRefresh(const DestinationRefresh& refresh, bool dryRun, QTextStream& out)
{
    const DeployPlan& plan = refresh.plan;
    QString action;
    switch (plan.action) {
    case DeployAction::Deploy:
        action = QStringLiteral("%1 new generation %2").arg(dryRun ? QStringLiteral("would deploy") : QStringLiteral("deployed"), plan.generationName);
        if (refresh.result && refresh.result->generation != plan.generationName && !refresh.result->generation.isEmpty())
            action = QStringLiteral("deployed new generation %1").arg(refresh.result->generation);
        break;
    case DeployAction::UpToDate: action = QStringLiteral("kept current"); break;
    case DeployAction::Refused: action = QStringLiteral("failed"); break;
    }
    out << QStringLiteral("%1 (serial %2): %3 — deploy destination %4\n")
               .arg(escapeText(plan.certificateName), plan.serial, action, escapeText(plan.destination));
    if (!plan.current.staple.isNull() || !plan.current.name.isEmpty())
        out << QStringLiteral("    current: %1 in %2\n").arg(stapleWindowLine(plan.current.staple), plan.current.name);
    if (!plan.staple.isNull())
        out << QStringLiteral("    fetched: %1%2\n")
                   .arg(stapleWindowLine(plan.staple), plan.responder.isEmpty() ? QString() : QStringLiteral(" from ") + escapeText(plan.responder));
    out << QStringLiteral("    why: %1\n").arg(escapeText(plan.reason));
    for (const Finding& f : plan.findings)
        if (f.severity > Severity::Info)
            out << QStringLiteral("    %1 %2: %3\n").arg(severityName(f.severity), f.code, escapeText(f.title));
    if (refresh.result) {
        out << QStringLiteral("    result: %1\n").arg(escapeText(refresh.result->message));
        for (const Finding& f : refresh.result->findings)
            out << QStringLiteral("    %1 %2: %3\n").arg(severityName(f.severity), f.code, escapeText(f.message));
    }
}

} // namespace

int RefreshCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Fetches a fresh OCSP response for each certificate in PATH from its responder, judges it with the rules "
        "that judge a staple on disk (for this certificate, status good, signature valid, responder authorized, "
        "within its window, nextUpdate present), and installs it atomically as DER where the server reads it: the "
        "bundle's current staple file, <crt>.ocsp for a HAProxy crt file, --staple-path, or --staple-name beside "
        "the certificate. A good current staple is never replaced by an older one; a revoked answer is never "
        "installed. When no good response can be had and the current staple is one clients reject (for another "
        "certificate, expired, unverifiable), it is moved to FILE.stale so the server sends none rather than a "
        "wrong one. Then the reload command runs once, and HAProxy gets each new staple over its runtime API.\n\n"
        "Exit status: 0 every certificate that should have a good staple has one, 1 the current staple was kept "
        "because the responder failed, 2 a certificate is left without a good staple (or a step failed), 3 bad "
        "usage. docs/refresh.md explains the wiring for nginx, Exim, HAProxy, certbot and the systemd timer."));
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Files or folders, as for inspect."),
                                 QStringLiteral("PATH…"));
    const QCommandLineOption dryRun(QStringLiteral("dry-run"), QStringLiteral("Fetch and judge, print the plan, change nothing."));
    const QCommandLineOption ifDue(QStringLiteral("if-due"),
                                   QStringLiteral("Only certificates whose staple is missing, for another certificate, bad, or "
                                                  "past its refresh point (half its window); for an hourly timer."));
    const QCommandLineOption staplePath(QStringLiteral("staple-path"),
                                        QStringLiteral("Write the staple to FILE (one certificate only)."), QStringLiteral("FILE"));
    const QCommandLineOption stapleName(QStringLiteral("staple-name"),
                                        QStringLiteral("Write a staple named NAME beside each certificate that has no staple file yet."),
                                        QStringLiteral("NAME"));
    const QCommandLineOption keepStale(QStringLiteral("keep-stale"),
                                       QStringLiteral("Never move a wrong staple aside (the server keeps sending it)."));
    const QCommandLineOption reloadCommand(QStringLiteral("reload-command"),
                                           QStringLiteral("Run CMD (sh -c) once after any change, e.g. \"systemctl reload nginx\"."),
                                           QStringLiteral("CMD"));
    const QCommandLineOption haproxySocket(QStringLiteral("haproxy-socket"),
                                           QStringLiteral("HAProxy runtime API socket: send each new staple with set ssl ocsp-response."),
                                           QStringLiteral("PATH"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the plan and the result as JSON (docs/json-schema.md)."));
    parser.addOptions({dryRun, ifDue, staplePath, stapleName, keepStale, reloadCommand, haproxySocket, json});
    OnlineCliOptions online;
    online.addOptions(parser);
    EvaluationOptions evaluation(QStringLiteral("Judge as of TIME instead of now (for tests and what-if runs)."));
    evaluation.addOptions(parser);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;

    InspectRequest request;
    request.files.paths = parser.positionalArguments();
    if (request.files.paths.isEmpty())
        return usageError(streams, QStringLiteral("nothing to refresh: give the certificate files or folders"));
    // HAProxy's convention: a crt file's staple is <crt>.ocsp beside it. Given only the crt file,
    // its current staple is read too, so a good one is kept rather than fetched and sent again.
    for (const QString& path : parser.positionalArguments()) {
        const QString staple = path + QStringLiteral(".ocsp");
        if (QFileInfo(path).isFile() && QFileInfo(staple).isFile() && !request.files.paths.contains(staple))
            request.files.paths << staple;
    }
    if (const QString problem = evaluation.read(parser, clock()); !problem.isEmpty())
        return usageError(streams, problem);
    request.caFiles = evaluation.caFiles;
    request.useSystemTrust = evaluation.useSystemTrust;

    RefreshOptions options;
    options.ifDue = parser.isSet(ifDue);
    options.keepStale = parser.isSet(keepStale);
    options.staplePath = parser.value(staplePath);
    options.stapleName = parser.value(stapleName);
    options.reloadCommand = parser.value(reloadCommand);
    options.haproxySocket = parser.value(haproxySocket);
    if (!options.staplePath.isEmpty() && !options.stapleName.isEmpty())
        return usageError(streams, QStringLiteral("--staple-path and --staple-name exclude each other"));
    if (options.stapleName.contains(QLatin1Char('/')) || options.stapleName == QLatin1String("..") ||
        options.stapleName == QLatin1String("."))
        return usageError(streams, QStringLiteral("--staple-name is a file name, not a path: '%1'").arg(options.stapleName));
    if (const QString problem = online.read(parser); !problem.isEmpty())
        return usageError(streams, problem);
    options.online = online.options;

    // Paths in a deploy destination (DEST, DEST/current/…): refreshed by deploying a new generation.
    QList<DestinationRefresh> destinations;
    {
        QStringList destinationPaths;
        QStringList others;
        for (const QString& path : std::as_const(request.files.paths)) {
            const QString destination = deployDestinationOf(path);
            if (destination.isEmpty())
                others << path;
            else if (!destinationPaths.contains(destination))
                destinationPaths << destination;
        }
        if (!destinationPaths.isEmpty() && !options.staplePath.isEmpty())
            return usageError(streams, QStringLiteral("--staple-path does not apply to a deploy destination: its staple lives in each generation"));
        for (const QString& destination : std::as_const(destinationPaths))
            destinations << refreshDestination(destination, options, evaluation, parser.isSet(dryRun));
        request.files.paths = others;
    }
    if (request.files.paths.isEmpty() && !destinations.isEmpty()) {
        int status = ExitOk;
        if (parser.isSet(json)) {
            QJsonArray array;
            for (const DestinationRefresh& d : destinations) {
                QJsonObject entry = d.plan.toJson();
                if (d.result)
                    entry.insert(QStringLiteral("result"), deployResultToJson(*d.result));
                array.append(entry);
                status = std::max(status, d.status);
            }
            streams.out << QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("deployDestinations"), array},
                                                                        {QStringLiteral("dryRun"), parser.isSet(dryRun)},
                                                                        {QStringLiteral("exitCode"), status}})
                                                 .toJson(QJsonDocument::Indented));
        } else {
            for (const DestinationRefresh& d : destinations) {
                printDestinationRefresh(d, parser.isSet(dryRun), streams.out);
                status = std::max(status, d.status);
            }
        }
        streams.out.flush();
        return status;
    }

    const std::shared_ptr<InspectionSession> session = InspectionSession::load(request);
    qsizetype current = 0;
    for (const Bundle& b : session->bundles())
        current += (!b.isSuperseded() && !b.served) ? 1 : 0;
    if (!options.staplePath.isEmpty() && current > 1)
        return usageError(streams, QStringLiteral("--staple-path names one file, but PATH holds %1 current certificates: "
                                                  "use --staple-name, or give one certificate")
                                       .arg(current));

    RefreshPlan plan = planRefresh(*session, options, evaluation.at);
    std::optional<InstallResult> result;
    if (!parser.isSet(dryRun) && plan.changesAnything()) {
        result = executeRefreshPlan(plan);
        // Another run (two timers, a deploy hook) may have changed a staple between this plan and
        // its install, and the installer refuses to act on a file it did not judge: judge those
        // bundles once more against what is on disk now, and act on that.
        QStringList notDone;
        for (const StepResult& step : result->steps)
            if (!step.done)
                notDone << step.bundleId;
        if (!notDone.isEmpty()) {
            RefreshOptions again = options;
            again.bundleIds = notDone;
            const RefreshPlan second = planRefresh(*InspectionSession::load(request), again, evaluation.at);
            InstallResult merged;
            for (const StepResult& step : std::as_const(result->steps))
                if (step.done)
                    merged.steps << step;
            merged.reload = result->reload;
            merged.haproxy = result->haproxy;
            if (second.changesAnything()) {
                const InstallResult retried = executeRefreshPlan(second);
                merged.steps << retried.steps;
                if (retried.reload)
                    merged.reload = retried.reload;
                merged.haproxy << retried.haproxy;
            }
            for (const BundleRefresh& line : second.bundles)
                for (BundleRefresh& old : plan.bundles)
                    if (old.bundleId == line.bundleId)
                        old = line;
            result = merged;
        }
    }
    int status = plan.exitCode();
    if (result && !result->ok())
        status = ExitCritical;
    for (const DestinationRefresh& d : destinations)
        status = std::max(status, d.status);

    if (parser.isSet(json)) {
        QJsonObject out = plan.toJson();
        out.insert(QStringLiteral("dryRun"), parser.isSet(dryRun));
        if (result)
            out.insert(QStringLiteral("result"), installResultToJson(*result));
        if (!destinations.isEmpty()) {
            QJsonArray array;
            for (const DestinationRefresh& d : destinations) {
                QJsonObject entry = d.plan.toJson();
                if (d.result)
                    entry.insert(QStringLiteral("result"), deployResultToJson(*d.result));
                array.append(entry);
            }
            out.insert(QStringLiteral("deployDestinations"), array);
        }
        out.insert(QStringLiteral("exitCode"), status);
        streams.out << QString::fromUtf8(QJsonDocument(out).toJson(QJsonDocument::Indented));
    } else {
        for (const DestinationRefresh& d : destinations)
            printDestinationRefresh(d, parser.isSet(dryRun), streams.out);
        printPlan(plan, parser.isSet(dryRun), streams.out);
        if (result)
            printResult(*result, streams.out);
        if (plan.bundles.isEmpty())
            streams.out << QStringLiteral("no current certificates found in the PATHs: nothing to refresh\n");
    }
    streams.out.flush();
    if (plan.bundles.isEmpty())
        return std::max(status, int(ExitCritical));
    return status;
}

} // namespace staplescope::cli
