#include "DeployCommand.h"

#include "Deployer.h"
#include "FindingRegistry.h"
#include "OnlineCliOptions.h"
#include "ServerCheck.h"
#include "StartTls.h"
#include "TextEscape.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcessEnvironment>

namespace staplescope::cli {

namespace {

QString headline(const DeployPlan& plan, bool dryRun)
{
    const QString what = plan.certificateName.isEmpty()
                             ? escapeText(plan.source.path)
                             : QStringLiteral("%1 (serial %2)").arg(escapeText(plan.certificateName), plan.serial);
    switch (plan.action) {
    case DeployAction::Deploy:
        return QStringLiteral("%1: %2 %3 — %4")
            .arg(what, dryRun ? QStringLiteral("would deploy") : QStringLiteral("deploy"), plan.generationName, escapeText(plan.destination));
    case DeployAction::UpToDate: return QStringLiteral("%1: up to date — %2").arg(what, escapeText(plan.destination));
    case DeployAction::Refused: return QStringLiteral("%1: refused — %2").arg(what, escapeText(plan.destination));
    }
    return what;
}

void printFindings(const QList<Finding>& findings, const QString& reason, QTextStream& out)
{
    for (const Finding& f : findings) {
        if (f.severity == Severity::Info)
            continue;
        const QString message = f.message.chopped(f.message.endsWith(QLatin1Char('.')) ? 1 : 0);
        // The reason already says what the finding says (DEPLOY_REFUSED is made from it): then its title.
        QString said = reason;
        while (said.endsWith(QLatin1Char('.')))
            said.chop(1);
        const QString text = !reason.isEmpty() && (reason.contains(message) || message.startsWith(said)) ? f.title : f.message;
        out << QStringLiteral("    %1 %2: %3\n").arg(severityName(f.severity), f.code, escapeText(text));
    }
}

void printPlan(const DeployPlan& plan, bool dryRun, QTextStream& out)
{
    out << headline(plan, dryRun) << '\n';
    out << QStringLiteral("    source: %1 (%2)\n").arg(escapeText(plan.source.path), deploySourceKindName(plan.source.kind));
    if (!plan.current.name.isEmpty())
        out << QStringLiteral("    current: %1 (serial %2, certificate until %3, staple %4)\n")
                   .arg(plan.current.name, plan.current.serial, formatTime(plan.current.notAfter), stapleWindowLine(plan.current.staple));
    else
        out << QStringLiteral("    current: none\n");
    if (plan.action == DeployAction::Deploy) {
        out << QStringLiteral("    files: %1\n").arg(generationFileNames(plan.layout, !plan.stapleDer.isEmpty()).join(QStringLiteral(", ")));
        out << QStringLiteral("    staple: %1%2\n")
                   .arg(stapleWindowLine(plan.staple), plan.responder.isEmpty() ? QString() : QStringLiteral(" from ") + escapeText(plan.responder));
        if (!plan.generationsToRemove.isEmpty())
            out << QStringLiteral("    removes: %1 (keep %2)\n").arg(plan.generationsToRemove.join(QStringLiteral(", "))).arg(plan.keep);
    }
    out << QStringLiteral("    why: %1\n").arg(escapeText(plan.reason));
    printFindings(plan.findings, plan.reason, out);
    if (!plan.reloadCommand.isEmpty())
        out << QStringLiteral("    reload command: %1\n").arg(escapeText(plan.reloadCommand));
    if (!plan.haproxySocket.isEmpty())
        out << QStringLiteral("    HAProxy runtime API: %1\n").arg(escapeText(plan.haproxySocket));
    if (!plan.verify.isEmpty())
        out << QStringLiteral("    verify: %1%2\n")
                   .arg(escapeText(plan.verify), plan.verifyStartTls.isEmpty() ? QString() : QStringLiteral(" (STARTTLS %1)").arg(escapeText(plan.verifyStartTls)));
}

void printCommand(const QString& label, const CommandRun& run, QTextStream& out)
{
    if (run.timedOut)
        out << QStringLiteral("%1 timed out: %2\n").arg(label, escapeText(run.command));
    else if (!run.ran)
        out << QStringLiteral("%1 did not start: %2\n").arg(label, escapeText(run.command));
    else
        out << QStringLiteral("%1 exited %2: %3\n").arg(label, QString::number(run.exitStatus), escapeText(run.command));
    if (!run.output.trimmed().isEmpty())
        out << QStringLiteral("    %1\n").arg(escapeText(run.output.trimmed()).replace(QLatin1String("\\n"), QLatin1String("\n    ")));
}

void printResult(const DeployResult& result, QTextStream& out)
{
    out << QStringLiteral("result: %1\n").arg(escapeText(result.message));
    if (result.reload)
        printCommand(QStringLiteral("reload command"), *result.reload, out);
    for (const HaproxyUpdate& u : result.haproxy)
        out << QStringLiteral("HAProxy %1: %2 (%3)\n").arg(u.bundleId, u.ok ? QStringLiteral("ok") : QStringLiteral("FAILED"), u.answer);
    if (result.verify)
        out << QStringLiteral("verify %1: %2 — %3\n")
                   .arg(escapeText(result.verify->target), result.verify->ok ? QStringLiteral("ok") : QStringLiteral("FAILED"), result.verify->summary);
    if (result.rolledBack) {
        out << QStringLiteral("rolled back to %1\n").arg(result.currentGeneration);
        if (result.reloadAfterRollback)
            printCommand(QStringLiteral("reload command after rollback"), *result.reloadAfterRollback, out);
        if (result.verifyAfterRollback)
            out << QStringLiteral("verify after rollback %1: %2 — %3\n")
                       .arg(escapeText(result.verifyAfterRollback->target),
                            result.verifyAfterRollback->ok ? QStringLiteral("ok") : QStringLiteral("FAILED"), result.verifyAfterRollback->summary);
    }
    if (!result.removedGenerations.isEmpty())
        out << QStringLiteral("removed old generations: %1\n").arg(result.removedGenerations.join(QStringLiteral(", ")));
    printFindings(result.findings, {}, out);
}

void printGenerations(const QString& destination, const QList<GenerationInfo>& generations, QTextStream& out)
{
    out << QStringLiteral("%1: %2 generation(s)\n").arg(escapeText(destination)).arg(generations.size());
    for (const GenerationInfo& g : generations) {
        out << QStringLiteral("%1 %2").arg(g.current ? QStringLiteral("*") : QStringLiteral(" "), g.name);
        if (!g.problem.isEmpty()) {
            out << QStringLiteral("  PROBLEM: %1\n").arg(escapeText(g.problem));
            if (g.serial.isEmpty())
                continue;
        } else {
            out << '\n';
        }
        out << QStringLiteral("    %1 (serial %2%3), certificate %4 to %5\n")
                   .arg(escapeText(g.certificateName), g.serial, g.mustStaple ? QStringLiteral(", must-staple") : QString(),
                        formatTime(g.notBefore), formatTime(g.notAfter));
        out << QStringLiteral("    staple: %1\n").arg(stapleWindowLine(g.staple));
    }
}

} // namespace

int DeployCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Deploys one certificate's files into DEST as a new generation DEST/generations/<UTC time>-<serial>/ "
        "(fullchain.pem, chain.pem, cert.pem, privkey.pem, ocsp.der; haproxy.pem and haproxy.pem.ocsp for HAProxy) "
        "with a staple fetched fresh for this certificate (never one of another certificate), inspects it from disk "
        "(no error or critical finding may remain), and only then points DEST/current at it by renaming a new symlink "
        "over the old one: servers reading DEST/current/… see the whole old set or the whole new set. Then the "
        "reload command runs, HAProxy gets the new certificate over its runtime API, and --verify checks what a live "
        "handshake serves; when the reload or that check fails, DEST/current is flipped back and the servers told "
        "again. A must-staple certificate with no good staple is not deployed. The same certificate with a still-good "
        "staple: nothing happens.\n\n"
        "As certbot's deploy hook: --deploy-hook 'staplescope-cli deploy --to DEST …' (certbot sets RENEWED_LINEAGE, "
        "used when --from is not given).\n\n"
        "Exit status: 0 deployed (or up to date) with a good staple or none needed, 1 warning (deployed without a "
        "staple), 2 refused, rolled back or a step failed, 3 bad usage."));
    const QCommandLineOption from(QStringLiteral("from"),
                                  QStringLiteral("The certificate: a certbot lineage (live/NAME), lego or acme.sh output, or a folder "
                                                 "or file with one certificate and its key (default: $RENEWED_LINEAGE)."),
                                  QStringLiteral("SRC"));
    const QCommandLineOption to(QStringLiteral("to"), QStringLiteral("The deploy destination (created when missing)."), QStringLiteral("DEST"));
    const QCommandLineOption layout(QStringLiteral("layout"), QStringLiteral("nginx, exim, haproxy or all (default)."), QStringLiteral("LAYOUT"));
    const QCommandLineOption keep(QStringLiteral("keep"), QStringLiteral("Generations kept, the current one included (default 3)."),
                                  QStringLiteral("N"));
    const QCommandLineOption reloadCommand(QStringLiteral("reload-command"),
                                           QStringLiteral("Run CMD (sh -c) after the flip (and after a rollback)."), QStringLiteral("CMD"));
    const QCommandLineOption haproxySocket(QStringLiteral("haproxy-socket"),
                                           QStringLiteral("HAProxy runtime API socket: set ssl cert + commit, set ssl ocsp-response."),
                                           QStringLiteral("PATH"));
    const QCommandLineOption haproxyCrt(QStringLiteral("haproxy-crt"),
                                        QStringLiteral("The crt path as HAProxy's configuration names it (default DEST/current/haproxy.pem)."),
                                        QStringLiteral("PATH"));
    const QCommandLineOption verify(QStringLiteral("verify"),
                                    QStringLiteral("After the flip, connect to HOST:PORT and check it serves the new certificate with its "
                                                   "own staple; roll back when not."),
                                    QStringLiteral("HOST:PORT"));
    const QCommandLineOption verifyStartTls(QStringLiteral("verify-starttls"),
                                            QStringLiteral("STARTTLS protocol for --verify (default: by port, as connect does)."),
                                            QStringLiteral("PROTO"));
    const QCommandLineOption force(QStringLiteral("force"), QStringLiteral("Deploy even when DEST already serves this certificate with a good staple."));
    const QCommandLineOption dryRun(QStringLiteral("dry-run"), QStringLiteral("Read, fetch and judge; print the plan; change nothing."));
    const QCommandLineOption list(QStringLiteral("list"), QStringLiteral("List DEST's generations (which is current, certificate and staple windows)."));
    const QCommandLineOption rollback(QStringLiteral("rollback"),
                                      QStringLiteral("Make the generation before the current one (or --generation NAME) current again."));
    const QCommandLineOption generation(QStringLiteral("generation"), QStringLiteral("With --rollback: the generation to make current."),
                                        QStringLiteral("NAME"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the plan and the result as JSON (docs/json-schema.md)."));
    parser.addOptions({from, to, layout, keep, reloadCommand, haproxySocket, haproxyCrt, verify, verifyStartTls, force, dryRun, list, rollback,
                       generation, json});
    OnlineCliOptions online;
    online.addOptions(parser);
    EvaluationOptions evaluation(QStringLiteral("Judge as of TIME instead of now (for tests and what-if runs)."));
    evaluation.addOptions(parser);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;
    if (!parser.positionalArguments().isEmpty())
        return usageError(streams, QStringLiteral("deploy takes no PATH arguments: give --from SRC --to DEST"));
    if (!parser.isSet(to) || parser.value(to).isEmpty())
        return usageError(streams, QStringLiteral("give the destination with --to DEST"));
    if (parser.isSet(list) && parser.isSet(rollback))
        return usageError(streams, QStringLiteral("--list and --rollback exclude each other"));
    if (parser.isSet(generation) && !parser.isSet(rollback))
        return usageError(streams, QStringLiteral("--generation goes with --rollback"));
    if (const QString problem = evaluation.read(parser, clock()); !problem.isEmpty())
        return usageError(streams, problem);
    if (const QString problem = online.read(parser); !problem.isEmpty())
        return usageError(streams, problem);

    DeployOptions options;
    options.to = parser.value(to);
    options.from = parser.value(from);
    if (options.from.isEmpty())
        options.from = QProcessEnvironment::systemEnvironment().value(QStringLiteral("RENEWED_LINEAGE"));
    if (parser.isSet(layout)) {
        const std::optional<DeployLayout> chosen = deployLayoutFromKey(parser.value(layout));
        if (!chosen)
            return usageError(streams, QStringLiteral("--layout '%1' is not one of nginx, exim, haproxy, all").arg(parser.value(layout)));
        options.layout = *chosen;
    }
    if (parser.isSet(keep)) {
        bool ok = false;
        const int n = parser.value(keep).toInt(&ok);
        if (!ok || n < 1 || n > 1000)
            return usageError(streams, QStringLiteral("--keep '%1' is not a number from 1 to 1000").arg(parser.value(keep)));
        options.keep = n;
    }
    options.reloadCommand = parser.value(reloadCommand);
    options.haproxySocket = parser.value(haproxySocket);
    options.haproxyCertPath = parser.value(haproxyCrt);
    options.verify = parser.value(verify);
    if (!options.verify.isEmpty() && !parseHostPort(options.verify))
        return usageError(streams, QStringLiteral("--verify '%1' is not HOST:PORT").arg(options.verify));
    options.verifyStartTls = parser.value(verifyStartTls);
    if (!options.verifyStartTls.isEmpty() && !startTlsProtocolFromName(options.verifyStartTls))
        return usageError(streams, QStringLiteral("unknown --verify-starttls '%1' (%2)")
                                       .arg(options.verifyStartTls, startTlsProtocolNames().join(QStringLiteral(", "))));
    options.force = parser.isSet(force);
    options.caFiles = evaluation.caFiles;
    options.useSystemTrust = evaluation.useSystemTrust;
    options.online = online.options;

    if (parser.isSet(list)) {
        QString why;
        const QList<GenerationInfo> generations = listGenerations(options.to, &why);
        if (parser.isSet(json)) {
            QJsonArray array;
            for (const GenerationInfo& g : generations)
                array.append(generationInfoToJson(g));
            streams.out << QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("destination"), QFileInfo(options.to).absoluteFilePath()},
                                                                        {QStringLiteral("generations"), array}})
                                                 .toJson(QJsonDocument::Indented));
        } else {
            printGenerations(options.to, generations, streams.out);
            if (!why.isEmpty())
                streams.out << escapeText(why) << '\n';
        }
        streams.out.flush();
        if (generations.isEmpty()) {
            if (!parser.isSet(json))
                streams.err << QStringLiteral("%1 holds no generations (not a deploy destination yet)\n").arg(escapeText(options.to));
            streams.err.flush();
            return ExitCritical;
        }
        return ExitOk;
    }

    if (parser.isSet(rollback)) {
        const DeployResult result = rollbackDeploy(options, parser.value(generation));
        if (parser.isSet(json))
            streams.out << QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("result"), deployResultToJson(result)}})
                                                 .toJson(QJsonDocument::Indented));
        else
            printResult(result, streams.out);
        streams.out.flush();
        return result.flipped || result.ok() ? result.exitCode() : int(ExitCritical);
    }

    if (options.from.isEmpty())
        return usageError(streams, QStringLiteral("give the source with --from SRC (or run as certbot's deploy hook, which sets RENEWED_LINEAGE)"));

    DeployPlan plan = planDeploy(options, evaluation.at);
    std::optional<DeployResult> result;
    if (!parser.isSet(dryRun) && plan.needsExecution()) {
        result = executeDeploy(plan, options);
        // Another deploy into DEST (a second hook, a timer) won the lock first: judge again
        // against what it left, and act on that.
        if (result->planOutdated) {
            plan = planDeploy(options, evaluation.at);
            result.reset();
            if (plan.needsExecution())
                result = executeDeploy(plan, options);
        }
    }
    int status = plan.exitCode();
    if (result)
        status = std::max(status, result->exitCode());

    if (parser.isSet(json)) {
        QJsonObject out = plan.toJson();
        out.insert(QStringLiteral("dryRun"), parser.isSet(dryRun));
        if (result)
            out.insert(QStringLiteral("result"), deployResultToJson(*result));
        out.insert(QStringLiteral("exitCode"), status);
        streams.out << QString::fromUtf8(QJsonDocument(out).toJson(QJsonDocument::Indented));
    } else {
        printPlan(plan, parser.isSet(dryRun), streams.out);
        if (result)
            printResult(*result, streams.out);
    }
    streams.out.flush();
    return status;
}

} // namespace staplescope::cli
