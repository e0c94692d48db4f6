#include "ConnectCommand.h"

#include "ServerCheck.h"
#include "TextEscape.h"

#include <cmath>

namespace staplescope::cli {

namespace {

std::optional<int> parseSeconds(const QString& text)
{
    bool ok = false;
    const double seconds = text.toDouble(&ok);
    if (!ok || !std::isfinite(seconds) || seconds <= 0 || seconds > 3600)
        return std::nullopt;
    return int(std::lround(seconds * 1000));
}

} // namespace

int ConnectCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Connects to each server, negotiates TLS with the status_request extension (after the protocol's "
        "STARTTLS where the port calls for it), and diagnoses exactly what each address served: the chain "
        "in the order sent and the stapled OCSP response, with the same findings as `inspect`, plus "
        "connection problems, differences between addresses, and, with --compare or --cert/--staple, "
        "differences from the files on disk.\n\n"
        "Protocol by port: implicit TLS on 443, 465, 636, 853, 993, 995, 5061 and unknown ports; STARTTLS "
        "for smtp (25, 587), imap (143), pop3 (110), ftp (21), ldap (389), xmpp (5222), xmpp-server (5269), "
        "postgres (5432), sieve (4190).\n\n"
        "Exit status: 0 healthy or info only, 1 warning, 2 error or critical, 3 bad usage."));
    parser.addPositionalArgument(QStringLiteral("HOST"), QStringLiteral("Server to check, HOST[:PORT] (default port 443)."),
                                 QStringLiteral("HOST[:PORT]…"));
    const QCommandLineOption starttls(QStringLiteral("starttls"),
                                      QStringLiteral("Protocol before TLS: %1 (default: by port).")
                                          .arg(startTlsProtocolNames().join(QStringLiteral(", "))),
                                      QStringLiteral("PROTO"));
    const QCommandLineOption serverName(QStringLiteral("servername"),
                                        QStringLiteral("SNI name, and the name the certificate must cover (default: the host)."),
                                        QStringLiteral("NAME"));
    const QCommandLineOption ip(QStringLiteral("ip"),
                                QStringLiteral("Connect to this address only, without DNS; repeatable to check several backends."),
                                QStringLiteral("ADDR"));
    const QCommandLineOption tls12(QStringLiteral("tls1.2"), QStringLiteral("Offer TLS 1.2 only."));
    const QCommandLineOption tls13(QStringLiteral("tls1.3"), QStringLiteral("Offer TLS 1.3 only."));
    const QCommandLineOption connectTimeout(QStringLiteral("connect-timeout"),
                                            QStringLiteral("Seconds to wait for each TCP connection (default 5)."),
                                            QStringLiteral("S"));
    const QCommandLineOption stepTimeout(QStringLiteral("step-timeout"),
                                         QStringLiteral("Seconds for each protocol step and the TLS handshake (default 5)."),
                                         QStringLiteral("S"));
    const QCommandLineOption timeout(QStringLiteral("timeout"),
                                     QStringLiteral("Seconds for the whole check of one server, all its addresses (default 20)."),
                                     QStringLiteral("S"));
    const QCommandLineOption concurrency(QStringLiteral("concurrency"),
                                         QStringLiteral("Servers checked at the same time (default 8)."), QStringLiteral("N"));
    const QCommandLineOption compare(QStringLiteral("compare"),
                                     QStringLiteral("Files or folders the server should be serving; repeatable."),
                                     QStringLiteral("PATH"));
    const QCommandLineOption cert(QStringLiteral("cert"), QStringLiteral("Certificate file the server should serve."), QStringLiteral("FILE"));
    const QCommandLineOption chain(QStringLiteral("chain"), QStringLiteral("Chain file the server should serve."), QStringLiteral("FILE"));
    const QCommandLineOption staple(QStringLiteral("staple"), QStringLiteral("Staple file the server is configured with."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption key(QStringLiteral("key"), QStringLiteral("Private key file the server is configured with."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption noRetry(QStringLiteral("no-retry"),
                                     QStringLiteral("Don't retry a failed handshake without status_request."));
    const QCommandLineOption transcript(QStringLiteral("transcript"),
                                        QStringLiteral("Print the clear-text dialogue and TLS steps of each address to stderr."));
    for (const auto& option : {starttls, serverName, ip, tls12, tls13, connectTimeout, stepTimeout, timeout, concurrency,
                               compare, cert, chain, staple, key, noRetry, transcript})
        parser.addOption(option);
    EvaluationOptions evaluation(QStringLiteral("Evaluate what was served as of TIME (ISO 8601, or now, +7d, -12h)."));
    evaluation.addOptions(parser);
    ThresholdOptions thresholds;
    thresholds.addOptions(parser);
    ReportOutput output;
    output.addOptions(parser);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;
    // First, so that every later usage error reaches a Nagios check as its UNKNOWN line.
    if (const QString problem = output.read(parser); !problem.isEmpty())
        return usageError(streams, problem);
    setUsageErrorsForNagios(output.isNagios());

    const QStringList hosts = parser.positionalArguments();
    if (hosts.isEmpty())
        return usageError(streams, QStringLiteral("no server given: connect HOST[:PORT]…"));
    if (parser.isSet(tls12) && parser.isSet(tls13))
        return usageError(streams, QStringLiteral("--tls1.2 and --tls1.3 exclude each other"));

    ProbeOptions base;
    if (parser.isSet(starttls)) {
        const auto protocol = startTlsProtocolFromName(parser.value(starttls));
        if (!protocol)
            return usageError(streams, QStringLiteral("unknown --starttls '%1' (%2)")
                                           .arg(parser.value(starttls), startTlsProtocolNames().join(QStringLiteral(", "))));
        base.startTls = protocol;
    }
    base.serverName = parser.value(serverName);
    base.pinnedAddresses = parser.values(ip);
    if (parser.isSet(tls12))
        base.tlsVersion = ProbeOptions::TlsVersion::Tls12;
    if (parser.isSet(tls13))
        base.tlsVersion = ProbeOptions::TlsVersion::Tls13;
    base.retryWithoutStatusRequest = !parser.isSet(noRetry);
    const std::pair<const QCommandLineOption*, int*> timeouts[] = {
        {&connectTimeout, &base.connectTimeoutMs}, {&stepTimeout, &base.stepTimeoutMs}, {&timeout, &base.totalTimeoutMs}};
    for (const auto& [option, target] : timeouts) {
        if (!parser.isSet(*option))
            continue;
        const auto ms = parseSeconds(parser.value(*option));
        if (!ms)
            return usageError(streams, QStringLiteral("--%1 '%2' is not a number of seconds (above 0, at most 3600)")
                                           .arg(option->names().constFirst(), parser.value(*option)));
        *target = *ms;
    }

    RoleFiles source;
    source.paths = parser.values(compare);
    source.certFiles = parser.values(cert);
    source.chainFiles = parser.values(chain);
    source.stapleFiles = parser.values(staple);
    source.keyFiles = parser.values(key);
    if (source.certFiles.isEmpty() && (!source.chainFiles.isEmpty() || !source.keyFiles.isEmpty()))
        return usageError(streams, QStringLiteral("--chain and --key describe a --cert: give --cert FILE too"));

    QList<ServerCheckRequest> requests;
    for (const QString& text : hosts) {
        const auto hostPort = parseHostPort(text);
        if (!hostPort)
            return usageError(streams, QStringLiteral("'%1' is not HOST[:PORT] (IPv6 with a port: [2001:db8::1]:443)").arg(text));
        ServerCheckRequest request;
        request.probe = base;
        request.probe.host = hostPort->host;
        request.probe.port = hostPort->port;
        request.compare = source;
        requests << request;
    }

    AnalysisOptions analysis;
    if (const QString problem = evaluation.read(parser, clock()); !problem.isEmpty())
        return usageError(streams, problem);
    analysis.at = evaluation.at;
    if (const QString problem = thresholds.read(parser, analysis); !problem.isEmpty())
        return usageError(streams, problem);

    ServerCheckOptions options;
    options.at = evaluation.at; // what the check judges itself, at the same moment as the report
    options.clock = sharedClock();
    options.caFiles = evaluation.caFiles;
    options.useSystemTrust = evaluation.useSystemTrust;
    if (parser.isSet(concurrency)) {
        bool ok = false;
        const int n = parser.value(concurrency).toInt(&ok);
        if (!ok || n < 1 || n > 256)
            return usageError(streams, QStringLiteral("--concurrency must be between 1 and 256"));
        options.maxConcurrent = n;
    }

    const ServerCheckResult result = runServerChecks(requests, options);
    if (parser.isSet(transcript)) {
        for (const ServerCheckEndpoint& endpoint : result.endpoints)
            for (const ProbeResult& r : endpoint.addresses) {
                // The transcript quotes the server: escaped, one line per entry.
                streams.err << QStringLiteral("== %1\n").arg(escapeText(r.subject()));
                for (const QString& line : r.transcript)
                    streams.err << "   " << escapeText(line) << '\n';
            }
        streams.err.flush();
    }
    InspectionReport report = result.session->evaluate(analysis);
    silenceFindings(report, thresholds.ignoredCodes);
    return output.write(report, streams, analysis, hosts.join(QLatin1Char(' ')));
}

} // namespace staplescope::cli
