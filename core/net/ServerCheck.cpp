#include "ServerCheck.h"

#include "FindingRegistry.h"
#include "ParseCache.h"

#include <QHash>
#include <QSet>
#include <QUrl>

#include <algorithm>

namespace staplescope {

std::optional<HostPort> parseHostPort(const QString& input)
{
    const QString text = input.trimmed();
    HostPort out;
    QString portText;
    if (text.startsWith(QLatin1Char('['))) {
        const qsizetype close = text.indexOf(QLatin1Char(']'));
        if (close < 0)
            return std::nullopt;
        out.host = text.mid(1, close - 1);
        const QString rest = text.mid(close + 1);
        if (!rest.isEmpty()) {
            if (!rest.startsWith(QLatin1Char(':')))
                return std::nullopt;
            portText = rest.mid(1);
        }
    } else if (text.count(QLatin1Char(':')) == 1) {
        out.host = text.section(QLatin1Char(':'), 0, 0);
        portText = text.section(QLatin1Char(':'), 1);
    } else {
        out.host = text; // a name, or a bare IPv6 address (several colons, no port)
    }
    if (out.host.isEmpty() || out.host.contains(QLatin1Char('/')) || out.host.contains(QLatin1Char(' ')))
        return std::nullopt;
    if (!portText.isNull()) {
        bool ok = false;
        const uint port = portText.toUInt(&ok);
        if (!ok || port == 0 || port > 65535)
            return std::nullopt;
        out.port = quint16(port);
    }
    return out;
}

namespace {

// Schemes that start TLS at once and their ports; the STARTTLS schemes are the protocols' names.
struct ImplicitTlsScheme {
    const char* scheme;
    quint16 port;
};
constexpr ImplicitTlsScheme kImplicitTlsSchemes[] = {
    {"https", 443}, {"smtps", 465}, {"submissions", 465}, {"imaps", 993},
    {"pop3s", 995}, {"ldaps", 636}, {"ftps", 990},
};

} // namespace

ServerTarget parseServerTarget(const QString& input)
{
    ServerTarget target;
    const QString text = input.trimmed();
    // Quoted in the error: a dropped page of text is not repeated whole.
    constexpr qsizetype kMaxQuoted = 80;
    const QString quoted = text.size() > kMaxQuoted ? text.left(kMaxQuoted) + QChar(0x2026) : text;
    if (!text.contains(QLatin1String("://"))) {
        if (const auto hostPort = parseHostPort(text))
            target.endpoint = *hostPort;
        else
            target.error = QStringLiteral("\"%1\" is not a server: write name:port, address:port, [IPv6]:port or a URL "
                                          "such as https://name/ or smtp://name:587").arg(quoted);
        return target;
    }
    const QUrl url(text, QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty()) {
        target.error = QStringLiteral("\"%1\" is not a URL with a server name").arg(quoted);
        return target;
    }
    std::optional<quint16> schemePort;
    for (const ImplicitTlsScheme& entry : kImplicitTlsSchemes)
        if (scheme == QLatin1String(entry.scheme)) {
            schemePort = entry.port;
            target.startTls = StartTlsProtocol::None;
        }
    if (!schemePort) {
        const auto protocol = startTlsProtocolFromName(scheme);
        if (!protocol || *protocol == StartTlsProtocol::None) {
            target.error = QStringLiteral("%1:// is not a TLS service Staplescope checks (try https://, smtp://, imaps:// "
                                          "or name:port)").arg(scheme.left(kMaxQuoted));
            return target;
        }
        schemePort = defaultStartTlsPort(*protocol);
        target.startTls = *protocol;
    }
    const int port = url.port(*schemePort);
    if (port <= 0 || port > 65535) {
        target.error = QStringLiteral("\"%1\" has no usable port").arg(quoted);
        return target;
    }
    target.endpoint.host = url.host(); // without brackets for IPv6
    target.endpoint.port = quint16(port);
    return target;
}


namespace {

QString endpointSubject(const ProbeOptions& o)
{
    QString host = o.host;
    if (host.startsWith(QLatin1Char('[')))
        host = host.mid(1, host.size() - 2);
    // Concatenation: a host as typed may hold "%1".
    const QString port = QLatin1Char(':') + QString::number(o.port);
    return host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') + port : host + port;
}

// The files a request compares against, loaded and bundled by the same session loading as
// `inspect` (so a staple, key or chain file means the same in both).
DiskState loadDisk(const RoleFiles& source, const Loader& loader, const std::shared_ptr<TrustStore>& trust)
{
    const std::shared_ptr<InspectionSession> session = InspectionSession::load(source, loader, trust);
    return DiskState{session->bundles(), session->inputFindings(), session->files(), session->certificates()};
}

bool sharesName(const Certificate& a, const Certificate& b)
{
    const QStringList an = a.dnsNames().isEmpty() ? QStringList{a.commonName()} : a.dnsNames();
    const QStringList bn = b.dnsNames().isEmpty() ? QStringList{b.commonName()} : b.dnsNames();
    for (const QString& n : an)
        for (const QString& m : bn)
            if (n.compare(m, Qt::CaseInsensitive) == 0)
                return true;
    return false;
}

// The disk bundle that describes what this server should serve: the same leaf, else the current
// certificate for the same names. A certificate for other names is another site's, never a
// comparison partner (comparing mail.example.org with www.example.org's files says nothing).
const Bundle* matchDiskBundle(const Bundle& served, const DiskState& disk)
{
    for (const Bundle& b : disk.bundles)
        if (b.leaf == served.leaf)
            return &b;
    for (const Bundle& b : disk.bundles)
        if (!b.isSuperseded() && sharesName(b.leaf, served.leaf))
            return &b;
    return nullptr;
}

// The staple of `bundle` that is about its own leaf, the newest when there are several.
std::optional<std::pair<OcspStaple, OcspSingleResponse>> ownStaple(const Bundle& bundle)
{
    std::optional<std::pair<OcspStaple, OcspSingleResponse>> best;
    for (const AttachedStaple& a : bundle.staples)
        for (const OcspSingleResponse& single : a.staple.responses())
            if (single.certId.serialMatches(bundle.leaf)
                && (!best || single.thisUpdate > best->second.thisUpdate))
                best = std::make_pair(a.staple, single);
    return best;
}

QString stapleDescription(const OcspStaple& staple)
{
    const auto responses = staple.responses();
    if (responses.isEmpty())
        return QStringLiteral("an OCSP response with status \"%1\"").arg(staple.responseStatusName());
    const OcspSingleResponse& s = responses.first();
    return QStringLiteral("the OCSP response for serial %1 produced %2 (thisUpdate %3%4)")
        .arg(s.certId.serialHex(), formatTime(staple.producedAt()), formatTime(s.thisUpdate),
             s.nextUpdate.isValid() ? QStringLiteral(", nextUpdate %1").arg(formatTime(s.nextUpdate)) : QString());
}

} // namespace

QList<Finding> compareWithDisk(const Bundle& served, const DiskState& disk, const QString& compareLabel)
{
    QList<Finding> out;
    const Bundle* d = matchDiskBundle(served, disk);
    if (!d) {
        if (!disk.bundles.isEmpty() || !disk.certificates.isEmpty())
            out << makeFinding(FindingCode::ServedDiffersFromDisk, Severity::Warning,
                               QStringLiteral("Served certificate is not among the files"), served.origin,
                               QStringLiteral("The server serves %1, and %2 holds no certificate for the same names "
                                              "(it holds %3).")
                                   .arg(served.leaf.displayName(), compareLabel,
                                        disk.bundles.isEmpty()
                                            ? QStringLiteral("only CA certificates")
                                            : disk.bundles.first().leaf.displayName()),
                               QStringLiteral("Compare with the files the server's configuration names."),
                               {served.leaf.id()});
        return out;
    }
    const Certificate& sLeaf = served.leaf;
    const Certificate diskCurrent = d->isSuperseded() ? d->supersededBy : d->leaf;
    if (diskCurrent != sLeaf) {
        const bool servedIsOlder = sLeaf.notBefore() < diskCurrent.notBefore();
        if (servedIsOlder) {
            out << makeFinding(
                FindingCode::ServedDiffersFromDisk, Severity::Error,
                QStringLiteral("Server still serves the previous certificate"), served.origin,
                QStringLiteral("The server still serves the previous certificate (serial %1, issued %2, expires %3), "
                               "but %4 holds the renewed one (serial %5, issued %6). The server reads its certificate "
                               "only at start or reload, so it has not been reloaded since the renewal.")
                    .arg(sLeaf.serialHex(), formatTime(sLeaf.notBefore()), formatTime(sLeaf.notAfter()),
                         diskCurrent.source().display(), diskCurrent.serialHex(), formatTime(diskCurrent.notBefore())),
                QStringLiteral("Reload the server (systemctl reload nginx / exim4 / haproxy) so it serves the renewed "
                               "certificate together with a staple for it, and make the renewal's deploy hook do the "
                               "reload."),
                {sLeaf.id(), diskCurrent.id()});
        } else {
            out << makeFinding(
                FindingCode::ServedDiffersFromDisk, Severity::Warning,
                QStringLiteral("Server serves a newer certificate than the files"), served.origin,
                QStringLiteral("The server serves serial %1 (issued %2), newer than %3 in %4 (serial %5, issued %6): "
                               "the files compared are not the ones the server reads.")
                    .arg(sLeaf.serialHex(), formatTime(sLeaf.notBefore()), diskCurrent.displayName(),
                         diskCurrent.source().display(), diskCurrent.serialHex(), formatTime(diskCurrent.notBefore())),
                QStringLiteral("Compare with the files named in the server's configuration."),
                {sLeaf.id(), diskCurrent.id()});
        }
        return out;
    }

    // Same certificate: compare the staples.
    const auto diskStaple = ownStaple(*d);
    const OcspStaple servedStaple = served.staples.isEmpty() ? OcspStaple() : served.staples.first().staple;
    if (!diskStaple)
        return out;
    const OcspStaple& onDisk = diskStaple->first;
    const OcspSingleResponse& diskSingle = diskStaple->second;
    if (servedStaple.isNull()) {
        out << makeFinding(FindingCode::ServedDiffersFromDisk, Severity::Warning,
                           QStringLiteral("Staple on disk is not served"), served.origin,
                           QStringLiteral("%1 holds %2, but the server sent no staple.")
                               .arg(onDisk.source().display(), stapleDescription(onDisk)),
                           QStringLiteral("Check that the server's configuration names this staple file (nginx "
                                          "ssl_stapling on + ssl_stapling_file, Exim tls_ocsp_file, HAProxy "
                                          "<cert>.ocsp) and reload it."),
                           {onDisk.id(), sLeaf.id()});
        return out;
    }
    if (servedStaple.der() == onDisk.der())
        return out;
    OcspSingleResponse servedSingle;
    bool servedIsAboutLeaf = false;
    for (const OcspSingleResponse& single : servedStaple.responses())
        if (single.certId.serialMatches(sLeaf)) {
            servedSingle = single;
            servedIsAboutLeaf = true;
        }
    if (!servedIsAboutLeaf) {
        out << makeFinding(FindingCode::ServedDiffersFromDisk, Severity::Error,
                           QStringLiteral("Server staples an old response; the file is right"), served.origin,
                           QStringLiteral("The server staples %1, not about its certificate (serial %2), while %3 holds "
                                          "%4. The server has not re-read the staple file since it was replaced.")
                               .arg(stapleDescription(servedStaple), sLeaf.serialHex(), onDisk.source().display(),
                                    stapleDescription(onDisk)),
                           QStringLiteral("Reload the server so it reads the current staple file."),
                           {servedStaple.id(), onDisk.id(), sLeaf.id()});
    } else if (diskSingle.thisUpdate > servedSingle.thisUpdate) {
        out << makeFinding(FindingCode::ServedDiffersFromDisk, Severity::Warning,
                           QStringLiteral("Staple on disk is newer than the one served"), served.origin,
                           QStringLiteral("The staple on disk is newer than the one served: %1 has thisUpdate %2, the "
                                          "server staples thisUpdate %3 (%4 older). The server has not re-read the "
                                          "staple file since it was refreshed.")
                               .arg(onDisk.source().display(), formatTime(diskSingle.thisUpdate),
                                    formatTime(servedSingle.thisUpdate),
                                    formatDuration(servedSingle.thisUpdate.secsTo(diskSingle.thisUpdate))),
                           QStringLiteral("Reload the server after each staple refresh (nginx reads ssl_stapling_file "
                                          "only at start and reload; HAProxy: \"set ssl ocsp-response\" on its "
                                          "runtime API)."),
                           {servedStaple.id(), onDisk.id()});
    } else if (diskSingle.thisUpdate < servedSingle.thisUpdate) {
        out << makeFinding(FindingCode::ServedDiffersFromDisk, Severity::Info,
                           QStringLiteral("Server staples a newer response than the file"), served.origin,
                           QStringLiteral("The server staples a response with thisUpdate %1, newer than %2 (thisUpdate "
                                          "%3): it fetches its own staples, or the file is not the one it reads.")
                               .arg(formatTime(servedSingle.thisUpdate), onDisk.source().display(),
                                    formatTime(diskSingle.thisUpdate)),
                           QString(), {servedStaple.id(), onDisk.id()});
    }
    return out;
}

namespace {

// A TLS failure (454 to STARTTLS, or a handshake that fails only with status_request) explained
// with the files: a staple file that doesn't fit its certificate is the classic cause.
void explainFailureWithDisk(Finding& f, const DiskState& disk, bool startTls454, bool onlyWithStatusRequest,
                            const QDateTime& at)
{
    if (disk.bundles.isEmpty())
        return;
    QStringList mismatched;
    QStringList stapleFiles;
    for (const Bundle& b : disk.bundles) {
        if (b.isSuperseded())
            continue;
        for (const AttachedStaple& a : b.staples) {
            stapleFiles << a.staple.source().display();
            const auto responses = a.staple.responses();
            const bool fits = std::any_of(responses.begin(), responses.end(), [&](const OcspSingleResponse& s) {
                return s.certId.serialMatches(b.leaf) && s.certId.issuerNameMatches(b.leaf);
            });
            if (!fits)
                mismatched << QStringLiteral("%1 is %2, but the certificate %3 is serial %4")
                                  .arg(a.staple.source().display(), stapleDescription(a.staple),
                                       b.leaf.source().display(), b.leaf.serialHex());
            else if (a.staple.isSuccessful() && responses.first().nextUpdate.isValid()
                     && responses.first().nextUpdate < at)
                mismatched << QStringLiteral("%1 expired at %2").arg(a.staple.source().display(),
                                                                       formatTime(responses.first().nextUpdate));
        }
    }
    stapleFiles.removeDuplicates();
    if (stapleFiles.isEmpty())
        return;
    if (!f.message.endsWith(QLatin1Char('.')))
        f.message += QLatin1Char('.');
    const QString context = startTls454
        ? QStringLiteral("Exim built with GnuTLS (Debian's) answers 454 to STARTTLS when it cannot load its "
                         "tls_ocsp_file with its certificate")
        : onlyWithStatusRequest ? QStringLiteral("The server fails exactly the handshakes that ask for its staple")
                                : QStringLiteral("A staple the server cannot use makes some servers fail TLS");
    if (!mismatched.isEmpty()) {
        f.message += QStringLiteral(" Likely cause: the staple file. %1, and here %2.").arg(context, mismatched.join(QStringLiteral("; ")));
        f.fix = QStringLiteral("Replace %1 with a fresh OCSP response for the current certificate (or remove the "
                               "staple setting until you have one), then reload the server.")
                    .arg(stapleFiles.join(QStringLiteral(", ")));
        f.remedy = Remedy{RemedyKind::RefreshStaple, stapleFiles.first(), {}, {}};
    } else {
        f.message += QStringLiteral(" Likely cause: the staple file %1. %2; it looks consistent with the "
                                    "certificate on disk, so check that the server reads these files.")
                         .arg(stapleFiles.join(QStringLiteral(", ")), context);
    }
}

QString addressLine(const ProbeResult& r, const Bundle& b)
{
    QString staple = QStringLiteral("no staple");
    if (!b.staples.isEmpty()) {
        const auto responses = b.staples.first().staple.responses();
        staple = responses.isEmpty() ? QStringLiteral("a staple (%1)").arg(b.staples.first().staple.responseStatusName())
                                     : QStringLiteral("a staple for serial %1, thisUpdate %2")
                                           .arg(responses.first().certId.serialHex(), formatTime(responses.first().thisUpdate));
    }
    return QStringLiteral("%1 serves serial %2 with %3").arg(r.address, b.leaf.serialHex(), staple);
}

QList<Finding> compareAddresses(const QString& subject, const QList<std::pair<ProbeResult, Bundle>>& served)
{
    if (served.size() < 2)
        return {};
    QSet<QByteArray> leaves;
    QSet<QByteArray> staples;
    QSet<QString> stapleSerials;
    for (const auto& [r, b] : served) {
        leaves.insert(b.leaf.sha256());
        const QByteArray der = b.staples.isEmpty() ? QByteArray() : b.staples.first().staple.der();
        staples.insert(der);
        stapleSerials.insert(b.staples.isEmpty() || b.staples.first().staple.responses().isEmpty()
                                 ? QString()
                                 : b.staples.first().staple.responses().first().certId.serialHex());
    }
    QStringList lines;
    for (const auto& [r, b] : served)
        lines << addressLine(r, b);
    const QString detail = lines.join(QStringLiteral("; "));
    if (leaves.size() > 1)
        return {makeFinding(FindingCode::AddressesDiffer, Severity::Error,
                            QStringLiteral("Addresses serve different certificates"), subject,
                            QStringLiteral("The addresses of this name serve different certificates: %1. Clients get "
                                           "one or the other depending on the address they pick.")
                                .arg(detail),
                            QStringLiteral("Deploy the same certificate and staple to every backend, and reload each.")) };
    if (staples.size() > 1) {
        const bool serious = stapleSerials.size() > 1 || staples.contains(QByteArray());
        return {makeFinding(FindingCode::AddressesDiffer, serious ? Severity::Warning : Severity::Info,
                            QStringLiteral("Addresses serve different staples"), subject,
                            QStringLiteral("All addresses serve the same certificate but different staples: %1.%2")
                                .arg(detail, serious ? QString()
                                                     : QStringLiteral(" Each backend fetched its own response; that is "
                                                                      "harmless while all are fresh.")),
                            serious ? QStringLiteral("Distribute the same staple file to every backend (or let each "
                                                     "fetch its own) and reload them.")
                                    : QString())};
    }
    return {};
}

} // namespace

namespace {

std::optional<Bundle> bundleFromProbe(const ProbeResult& result, const TrustStore* trust, QList<Finding>* findings,
                                      ParseCache& cache);

} // namespace

std::optional<Bundle> bundleFromProbe(const ProbeResult& result, const TrustStore* trust, QList<Finding>* findings)
{
    ParseCache cache;
    return bundleFromProbe(result, trust, findings, cache);
}

namespace {

std::optional<Bundle> bundleFromProbe(const ProbeResult& result, const TrustStore* trust, QList<Finding>* findings,
                                      ParseCache& cache)
{
    if (result.chainDer.isEmpty())
        return std::nullopt;
    const QString origin = result.subject();
    RoleInputs roles;
    roles.origin = origin;
    roles.served = true;
    const int count = int(result.chainDer.size());
    for (int i = 0; i < count; ++i) {
        SourceLocation where{origin, i, count, true};
        const Certificate cert = cache.certificate(result.chainDer[i], where);
        if (cert.isNull()) {
            findings->append(makeFinding(FindingCode::InputMalformed, Severity::Error,
                                         QStringLiteral("Server sent an unreadable certificate"), where.display(),
                                         QStringLiteral("Certificate #%1 of %2 the server sent (%3 bytes) does not parse "
                                                        "as X.509.")
                                             .arg(i + 1)
                                             .arg(count)
                                             .arg(result.chainDer[i].size()),
                                         QStringLiteral("Check the certificate files the server is configured with.")));
            continue;
        }
        // Served certificates never pass the Loader, which names these for files.
        if (const QString problem = unreadableValidityText(cert); !problem.isEmpty())
            findings->append(makeFinding(FindingCode::InputMalformed, Severity::Error,
                                         QStringLiteral("Server sent a certificate with unreadable dates"), where.display(), problem,
                                         QStringLiteral("Check the certificate files the server is configured with.")));
        if (const QString problem = invalidVersionText(X509_get_version(cert.get0()), true); !problem.isEmpty())
            findings->append(makeFinding(FindingCode::InputMalformed, Severity::Error,
                                         QStringLiteral("Server sent a certificate with an invalid version"), where.display(), problem,
                                         QStringLiteral("Check the certificate files the server is configured with.")));
        (i == 0 ? roles.cert : roles.chain).certificates << cert;
    }
    if (roles.cert.certificates.isEmpty())
        return std::nullopt;
    if (!result.stapleDer.isEmpty()) {
        const SourceLocation where{origin + QStringLiteral(" (stapled OCSP response)"), 0, 1, true};
        const OcspStaple::ParseResult parsed = cache.staple(result.stapleDer, where);
        if (parsed.staple.isNull())
            findings->append(makeFinding(FindingCode::InputMalformed, Severity::Error,
                                         QStringLiteral("Server staples an unreadable OCSP response"), where.display(),
                                         QStringLiteral("The stapled OCSP response (%1 bytes) does not parse: %2. Clients "
                                                        "treat it as no staple or fail the handshake.")
                                             .arg(result.stapleDer.size())
                                             .arg(parsed.error),
                                         QStringLiteral("Replace the server's staple file with a DER OCSP response "
                                                        "fetched from the CA.")));
        else
            roles.staple.staples << parsed.staple;
    }
    const Bundler bundler(trust);
    QList<Bundle> bundles = bundler.bundleExplicit(roles);
    if (bundles.isEmpty())
        return std::nullopt;
    Bundle b = bundles.first();
    b.expectedHostName = result.serverName.isEmpty() ? result.host : result.serverName;
    return b;
}

} // namespace

ServerCheckResult runServerChecks(const QList<ServerCheckRequest>& requests, const ServerCheckOptions& options,
                                  const std::atomic<bool>* cancel)
{
    const QDateTime at = options.at.isValid() ? options.at : options.clock->now();
    std::shared_ptr<TrustStore> trust = options.trust;
    QList<Finding> inputFindings;
    if (!trust) {
        trust = std::make_shared<TrustStore>(options.useSystemTrust);
        for (const QString& caFile : options.caFiles)
            inputFindings += trust->addCaFile(caFile);
    }

    QList<ProbeOptions> probes;
    for (const ServerCheckRequest& r : requests)
        probes << r.probe;
    const QList<QList<ProbeResult>> probed = probeMany(probes, options.maxConcurrent, cancel);

    ServerCheckResult result;
    QList<Bundle> bundles;
    // Many endpoints serve the same certificates (every backend the same chain, every server the
    // same intermediate), and the compare files hold them again: one parse cache for all of it.
    const Loader loader(options.load);
    ParseCache& parseCache = *loader.parseCache();
    QHash<RoleFiles, DiskState> diskCache; // the same compare folder for several endpoints is read once
    for (qsizetype i = 0; i < requests.size(); ++i) {
        ServerCheckEndpoint endpoint;
        endpoint.request = requests[i];
        endpoint.addresses = probed[i];

        const DiskState* disk = nullptr;
        QString compareLabel;
        if (!requests[i].compare.isEmpty()) {
            const RoleFiles& c = requests[i].compare;
            if (!diskCache.contains(c)) {
                DiskState state = loadDisk(c, loader, trust);
                inputFindings += state.findings;
                diskCache.insert(c, state);
            }
            disk = &diskCache[c];
            endpoint.compareFiles = disk->files;
            compareLabel = (c.paths + c.certFiles).join(QStringLiteral(", "));
        }

        QList<std::pair<ProbeResult, Bundle>> served;
        bool anyServed = false;
        for (const ProbeResult& r : std::as_const(endpoint.addresses)) {
            result.cancelled |= r.cancelled;
            QList<Finding> findings = r.findings;
            if (disk) {
                for (Finding& f : findings) {
                    // The STARTTLS layer marks a server that said it cannot set up TLS (SMTP 454).
                    const std::optional<FindingCode> code = findingCode(f);
                    const bool is454 = code == FindingCode::StartTlsFailed && f.remedy.kind == RemedyKind::CheckServerTlsFiles;
                    if (is454 || code == FindingCode::TlsHandshakeFailed)
                        explainFailureWithDisk(f, *disk, is454, r.handshakeSucceededOnlyWithoutStatusRequest, at);
                }
            }
            inputFindings += findings;
            if (!r.tlsEstablished)
                continue;
            std::optional<Bundle> b = bundleFromProbe(r, trust.get(), &inputFindings, parseCache);
            if (!b)
                continue;
            anyServed = true;
            if (disk) {
                // Files on disk let the analysis name the owner of a stale staple ("the previous
                // certificate, live/…/cert.pem").
                for (const Certificate& c : disk->certificates)
                    if (c != b->leaf && !b->knownCertificates.contains(c))
                        b->knownCertificates << c;
                for (const Certificate& c : disk->certificates)
                    if (c != b->leaf && !c.isCa() && sharesName(c, b->leaf) && c.notBefore() < b->leaf.notBefore()
                        && c.issuerNameDer() == b->leaf.issuerNameDer())
                        b->previousCertificates << c;
                inputFindings += compareWithDisk(*b, *disk, compareLabel);
            }
            endpoint.bundleIds << b->id;
            served << std::make_pair(r, *b);
            bundles << *b;
        }
        inputFindings += compareAddresses(endpointSubject(requests[i].probe), served);
        // Nothing served but the files are there: show them, so their own findings (a staple for
        // another certificate, say) explain the failure.
        if (!anyServed && disk)
            bundles += disk->bundles;
        result.endpoints << endpoint;
    }
    result.session = InspectionSession::fromBundles(bundles, inputFindings, trust);
    return result;
}

InspectionReport checkServers(const QList<ServerCheckRequest>& requests, const ServerCheckOptions& options,
                              const AnalysisOptions& analysis, const std::atomic<bool>* cancel)
{
    // One evaluation time for both: what the check judges itself and what the session judges.
    AnalysisOptions evaluation = analysis;
    if (!evaluation.at.isValid())
        evaluation.at = options.clock->now();
    ServerCheckOptions checkOptions = options;
    checkOptions.at = evaluation.at;
    return runServerChecks(requests, checkOptions, cancel).session->evaluate(evaluation);
}

} // namespace staplescope
