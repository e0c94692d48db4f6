#include "RenewCommand.h"

#include "OnlineCliOptions.h"
#include "Renewal.h"
#include "StartTls.h"
#include "TextEscape.h"

#include <QJsonDocument>
#include <QUrl>

namespace staplescope::cli {

namespace {

// Bounds on what may be asked for: an ACME order takes seconds to minutes; more than an hour is a
// hung client.
constexpr int kMaxClientTimeoutSeconds = 3600;
constexpr int kMaxKeep = 100;

QString windowText(const RenewalWindow& w)
{
    if (w.isNull())
        return QStringLiteral("none");
    QString text = QStringLiteral("%1 to %2").arg(formatTime(w.start), formatTime(w.end));
    if (!w.explanationUrl.isEmpty())
        text += QStringLiteral(" (explanation: %1)").arg(escapeText(w.explanationUrl));
    return text;
}

void printFindings(const QList<Finding>& findings, QTextStream& out, Severity atLeast = Severity::Info)
{
    for (const Finding& f : findings)
        if (f.severity >= atLeast)
            out << QStringLiteral("    %1 %2: %3\n").arg(severityName(f.severity), f.code, escapeText(f.message));
}

void printPlan(const RenewPlan& plan, bool dryRun, QTextStream& out)
{
    for (const RenewPlanEntry& e : plan.entries) {
        if (!e.problem.isEmpty()) {
            out << QStringLiteral("%1: cannot renew: %2\n").arg(escapeText(e.path), escapeText(e.problem));
            continue;
        }
        const ManagedCertificate& m = *e.managed;
        const Certificate& leaf = e.before.bundle.leaf;
        out << QStringLiteral("%1 (serial %2, expires %3): %4 — %5\n")
                   .arg(escapeText(m.name), leaf.serialHex(), formatTime(leaf.notAfter()), acmeClientKey(m.client), escapeText(m.detectedBy));
        out << QStringLiteral("    ACME server: %1\n").arg(m.acmeDirectory.isEmpty() ? QStringLiteral("unknown") : escapeText(m.acmeDirectory));
        out << QStringLiteral("    suggested window: %1\n").arg(windowText(e.decision.window));
        out << QStringLiteral("    decision: %1 — %2\n")
                   .arg(e.decision.due ? QStringLiteral("due") : QStringLiteral("not due"), escapeText(e.decision.reason));
        printFindings(e.decision.findings, out);
        out << QStringLiteral("    command: %1 (%2)\n")
                   .arg(escapeText(e.command.display()),
                        !e.willRun ? QStringLiteral("not run: not due")
                                   : (dryRun ? QStringLiteral("would run") : QStringLiteral("runs now; once started it is not interrupted")));
        for (const QString& dest : e.deployTo)
            out << QStringLiteral("    deploy to: %1\n").arg(escapeText(dest));
    }
}

void printResult(const RenewResult& result, QTextStream& out)
{
    for (const RenewEntryResult& e : result.entries) {
        if (!e.ran)
            continue;
        out << QStringLiteral("%1: %2\n").arg(escapeText(e.path), escapeText(e.message));
        if (e.client.timedOut || e.client.exitStatus != 0)
            printFindings(e.findings, out, Severity::Error);
        else if (e.renewed)
            out << QStringLiteral("    now: %1\n").arg(escapeText(e.after.verdict));
        if (e.renewed)
            printFindings(e.after.findings, out, Severity::Warning);
        for (const DeployResult& d : e.deploys) {
            out << QStringLiteral("    deploy: %1\n").arg(escapeText(d.message));
            printFindings(d.findings, out, Severity::Warning);
        }
    }
}

} // namespace

int RenewCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Renews each certificate in PATH through the ACME client that manages it: certbot (a lineage under live/ or "
        "archive/ with its renewal/NAME.conf, in any config dir), lego (certificates/DOMAIN.crt with its account), "
        "acme.sh (~/.acme.sh/NAME/) or dehydrated (certs/NAME/); or --command TEMPLATE, run with sh -c, with {name} "
        "{cert} {key} {fullchain} {chain} {dir} replaced by the certificate's (shell-quoted) values. The client's "
        "output is streamed and kept; a client that fails is quoted, and Staplescope itself changes nothing on disk. "
        "Then the result is inspected and, with --deploy-to, deployed as `deploy` does.\n\n"
        "--if-due renews only when due: at a moment inside the CA's suggested window (ACME Renewal Information, RFC "
        "9773; the ACME directory from the client's configuration or --acme-directory), else at two thirds of the "
        "lifetime; a revoked certificate (staple, OCSP, CRL) is due now. A client started is never interrupted "
        "before its time limit: an ACME order cannot be stopped half-way.\n\n"
        "Exit status: 0 renewed (or not due), 1 warning (with --if-due: the CA's window could not be used or the "
        "certificate is revoked; a forced renewal changed nothing; a deploy's warning), 2 the client failed, the renewed "
        "certificate has an error or a deploy failed, 3 bad usage. docs/renew.md explains "
        "the detection, the commands and the decision."));
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Certificate files or folders (a certbot live/NAME folder, …)."),
                                 QStringLiteral("PATH…"));
    const QCommandLineOption ifDue(QStringLiteral("if-due"), QStringLiteral("Renew only what is due (the CA's window, two thirds of the lifetime, revoked)."));
    const QCommandLineOption force(QStringLiteral("force"), QStringLiteral("Renew even when not due (certbot --force-renewal, lego --days=-1, acme.sh/dehydrated --force)."));
    const QCommandLineOption client(QStringLiteral("client"), QStringLiteral("auto (default), certbot, lego, acme.sh, dehydrated or command."),
                                    QStringLiteral("CLIENT"), QStringLiteral("auto"));
    const QCommandLineOption command(QStringLiteral("command"), QStringLiteral("Renew with this command (sh -c) instead of a client; implies --client command."),
                                     QStringLiteral("TEMPLATE"));
    const QCommandLineOption clientArg(QStringLiteral("client-arg"),
                                       QStringLiteral("An extra argument for the client (repeatable), e.g. lego's challenge: "
                                                      "--client-arg=--http --client-arg=--http.port --client-arg=:8080."),
                                       QStringLiteral("ARG"));
    const QCommandLineOption clientTimeout(QStringLiteral("client-timeout"),
                                           QStringLiteral("Seconds the client may run (default 600); then it is stopped."),
                                           QStringLiteral("SECONDS"));
    const QCommandLineOption acmeDirectory(QStringLiteral("acme-directory"),
                                           QStringLiteral("The CA's ACME directory (https:// URL) for its renewal information, instead of the client's."),
                                           QStringLiteral("URL"));
    const QCommandLineOption acmeCaFile(QStringLiteral("acme-ca-file"),
                                        QStringLiteral("Trust this CA (PEM or DER) for the ACME server's HTTPS certificate, besides the system's (repeatable)."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption noRevocationCheck(QStringLiteral("no-revocation-check"),
                                               QStringLiteral("With --if-due, do not ask the OCSP responder or CRL whether the certificate is revoked."));
    const QCommandLineOption deployTo(QStringLiteral("deploy-to"), QStringLiteral("Deploy the renewed certificate into DEST (repeatable; see deploy)."),
                                      QStringLiteral("DEST"));
    const QCommandLineOption layout(QStringLiteral("layout"), QStringLiteral("For --deploy-to: nginx, exim, haproxy or all (default)."),
                                    QStringLiteral("LAYOUT"), QStringLiteral("all"));
    const QCommandLineOption keep(QStringLiteral("keep"), QStringLiteral("For --deploy-to: generations kept (default 3)."), QStringLiteral("N"));
    const QCommandLineOption reloadCommand(QStringLiteral("reload-command"), QStringLiteral("For --deploy-to: run CMD (sh -c) after the flip."),
                                           QStringLiteral("CMD"));
    const QCommandLineOption haproxySocket(QStringLiteral("haproxy-socket"), QStringLiteral("For --deploy-to: HAProxy's runtime API socket."),
                                           QStringLiteral("PATH"));
    const QCommandLineOption haproxyCrt(QStringLiteral("haproxy-crt"),
                                        QStringLiteral("For --deploy-to: the crt path as HAProxy's configuration names it."), QStringLiteral("PATH"));
    const QCommandLineOption verify(QStringLiteral("verify"), QStringLiteral("For --deploy-to: check what HOST:PORT serves after the flip; roll back if wrong."),
                                    QStringLiteral("HOST:PORT"));
    const QCommandLineOption verifyStartTls(QStringLiteral("verify-starttls"),
                                            QStringLiteral("For --verify: the STARTTLS protocol (default: by port, as connect does)."),
                                            QStringLiteral("PROTO"));
    const QCommandLineOption dryRun(QStringLiteral("dry-run"), QStringLiteral("Detect, decide and print the plan; run nothing."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the plan and the result as JSON (docs/json-schema.md); the client's output goes to stderr."));
    parser.addOptions({ifDue, force, client, command, clientArg, clientTimeout, acmeDirectory, acmeCaFile, noRevocationCheck, deployTo,
                       layout, keep, reloadCommand, haproxySocket, haproxyCrt, verify, verifyStartTls, dryRun, json});
    OnlineCliOptions online;
    online.addOptions(parser);
    EvaluationOptions evaluation(QStringLiteral("Decide as of TIME instead of now (for tests and what-if runs)."));
    evaluation.addOptions(parser);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;
    const QStringList paths = parser.positionalArguments();
    if (paths.isEmpty())
        return usageError(streams, QStringLiteral("nothing to renew: give the certificate files or folders"));
    if (const QString problem = evaluation.read(parser, clock()); !problem.isEmpty())
        return usageError(streams, problem);
    if (const QString problem = online.read(parser); !problem.isEmpty())
        return usageError(streams, problem);

    RenewOptions options;
    options.ifDue = parser.isSet(ifDue);
    options.force = parser.isSet(force);
    if (options.ifDue && options.force)
        return usageError(streams, QStringLiteral("--if-due and --force exclude each other"));
    const QString clientKey = parser.value(client);
    if (clientKey != QLatin1String("auto")) {
        options.client = acmeClientFromKey(clientKey);
        if (!options.client)
            return usageError(streams, QStringLiteral("--client '%1' is none of auto, certbot, lego, acme.sh, dehydrated, command").arg(clientKey));
    }
    options.commandTemplate = parser.value(command);
    if (!options.commandTemplate.isEmpty() && !options.client)
        options.client = AcmeClient::Command;
    if (options.client == AcmeClient::Command && options.commandTemplate.trimmed().isEmpty())
        return usageError(streams, QStringLiteral("--client command needs --command TEMPLATE"));
    if (!options.commandTemplate.isEmpty() && options.client != AcmeClient::Command)
        return usageError(streams, QStringLiteral("--command replaces the client: it goes with --client command (or no --client)"));
    options.clientArguments = parser.values(clientArg);
    if (parser.isSet(clientTimeout)) {
        bool ok = false;
        const double seconds = parser.value(clientTimeout).toDouble(&ok);
        if (!ok || seconds <= 0 || seconds > kMaxClientTimeoutSeconds)
            return usageError(streams, QStringLiteral("--client-timeout '%1' is not a number of seconds between 0 and %2")
                                           .arg(parser.value(clientTimeout))
                                           .arg(kMaxClientTimeoutSeconds));
        options.clientTimeoutMs = int(seconds * 1000);
    }
    if (parser.isSet(acmeDirectory)) {
        const QUrl url(parser.value(acmeDirectory), QUrl::StrictMode);
        if (!url.isValid() || url.scheme() != QLatin1String("https") || url.host().isEmpty())
            return usageError(streams, QStringLiteral("--acme-directory '%1' is not an https:// URL").arg(parser.value(acmeDirectory)));
        options.acmeDirectory = url.toString();
    }
    options.acmeCaFiles = parser.values(acmeCaFile);
    options.checkRevocation = !parser.isSet(noRevocationCheck);
    options.deployTo = parser.values(deployTo);
    options.online = online.options;
    options.caFiles = evaluation.caFiles;
    options.useSystemTrust = evaluation.useSystemTrust;

    options.deploy.caFiles = evaluation.caFiles;
    options.deploy.useSystemTrust = evaluation.useSystemTrust;
    options.deploy.online = online.options;
    const auto deployLayout = deployLayoutFromKey(parser.value(layout));
    if (!deployLayout)
        return usageError(streams, QStringLiteral("--layout '%1' is none of nginx, exim, haproxy, all").arg(parser.value(layout)));
    options.deploy.layout = *deployLayout;
    if (parser.isSet(keep)) {
        bool ok = false;
        const int n = parser.value(keep).toInt(&ok);
        if (!ok || n < 1 || n > kMaxKeep)
            return usageError(streams, QStringLiteral("--keep '%1' is not a number from 1 to %2").arg(parser.value(keep)).arg(kMaxKeep));
        options.deploy.keep = n;
    }
    options.deploy.reloadCommand = parser.value(reloadCommand);
    options.deploy.haproxySocket = parser.value(haproxySocket);
    options.deploy.haproxyCertPath = parser.value(haproxyCrt);
    options.deploy.verify = parser.value(verify);
    options.deploy.verifyStartTls = parser.value(verifyStartTls);
    if (!options.deploy.verifyStartTls.isEmpty() && !startTlsProtocolFromName(options.deploy.verifyStartTls))
        return usageError(streams, QStringLiteral("--verify-starttls '%1' is none of %2")
                                       .arg(options.deploy.verifyStartTls, startTlsProtocolNames().join(QStringLiteral(", "))));
    const bool deployOptionGiven = parser.isSet(layout) || parser.isSet(keep) || parser.isSet(reloadCommand) || parser.isSet(haproxySocket) ||
                                   parser.isSet(haproxyCrt) || parser.isSet(verify) || parser.isSet(verifyStartTls);
    if (deployOptionGiven && options.deployTo.isEmpty())
        return usageError(streams, QStringLiteral("--layout, --keep, --reload-command, --haproxy-socket, --haproxy-crt, --verify and "
                                                  "--verify-starttls go with --deploy-to DEST"));

    const bool asJson = parser.isSet(json);
    const RenewPlan plan = planRenew(paths, options, evaluation.at);
    if (!asJson) {
        printPlan(plan, parser.isSet(dryRun), streams.out);
        streams.out.flush();
    }
    int status = plan.exitCode();
    std::optional<RenewResult> result;
    if (!parser.isSet(dryRun)) {
        // The client's own words as they come, one line each, prefixed by the certificate's name.
        QTextStream& live = asJson ? streams.err : streams.out;
        QHash<QString, QString> prefixes;
        for (const RenewPlanEntry& e : plan.entries)
            if (e.managed)
                prefixes.insert(e.path, QStringLiteral("    %1 | ").arg(escapeText(e.managed->name)));
        result = executeRenew(plan, options, [&](const QString& path, const QString& line) {
            live << prefixes.value(path) << line << '\n';
            live.flush();
        });
        status = std::max(status, result->exitCode());
    }
    if (asJson) {
        QJsonObject out = plan.toJson();
        out.insert(QStringLiteral("dryRun"), parser.isSet(dryRun));
        if (result)
            out.insert(QStringLiteral("result"), result->toJson());
        out.insert(QStringLiteral("exitCode"), status);
        streams.out << QString::fromUtf8(QJsonDocument(out).toJson(QJsonDocument::Indented));
    } else if (result) {
        printResult(*result, streams.out);
    }
    streams.out.flush();
    return status;
}

} // namespace staplescope::cli
