#include "Inspection.h"

#include "FindingRegistry.h"

#include <QSet>

#include <algorithm>

namespace staplescope {

void summarizeBundleReport(BundleReport& r)
{
    r.worst = worstSeverity(r.findings);
    r.verdict = QStringLiteral("Healthy");
    for (const Finding& f : std::as_const(r.findings))
        if (f.severity > Severity::Info) {
            r.verdict = f.title;
            break;
        }
    if (r.verdict == QLatin1String("Healthy") && r.bundle.isSuperseded())
        r.verdict = QStringLiteral("Superseded by a newer certificate");
}

QList<Finding> InspectionReport::allFindings() const
{
    QList<Finding> all = inputFindings;
    for (const BundleReport& b : bundles)
        all += b.findings;
    sortFindings(all);
    return all;
}

Severity InspectionReport::worst() const { return worstSeverity(allFindings()); }

int InspectionReport::exitCode() const
{
    switch (worst()) {
    case Severity::Info: return 0;
    case Severity::Warning: return 1;
    case Severity::Error:
    case Severity::Critical: return 2;
    }
    return 2;
}

namespace {

Finding roleFinding(const QString& role, const QStringList& files, const QString& expected)
{
    return makeFinding(FindingCode::InputUnrecognized, Severity::Error, QStringLiteral("Nothing usable in the %1 file").arg(role),
                       files.join(QStringLiteral(", ")), QStringLiteral("The %1 file given holds no %2.").arg(role, expected),
                       QStringLiteral("Give the file your server configuration names for this role."));
}

} // namespace

std::shared_ptr<InspectionSession> InspectionSession::load(const InspectRequest& request)
{
    auto trust = std::make_shared<TrustStore>(request.useSystemTrust);
    QList<Finding> trustFindings;
    for (const QString& caFile : request.caFiles)
        trustFindings += trust->addCaFile(caFile);
    auto session = load(request.files, Loader(request.load), std::move(trust));
    session->m_inputFindings = trustFindings + session->m_inputFindings;
    return session;
}

std::shared_ptr<InspectionSession> InspectionSession::load(const RoleFiles& request, const Loader& loader,
                                                           std::shared_ptr<TrustStore> trust)
{
    auto session = std::make_shared<InspectionSession>();
    session->m_trust = trust ? std::move(trust) : std::make_shared<TrustStore>(true);

    const Bundler bundler(session->m_trust.get());
    const bool explicitRoles = request.hasRoles();
    RoleInputs roles;
    if (explicitRoles) {
        roles = loader.loadRoles(request);
        session->m_inputFindings += roles.findings();
        session->m_files += roles.files();
        for (const LoadedInputs* part : {&roles.cert, &roles.chain, &roles.staple, &roles.key})
            session->m_certificates += part->certificates;
        if (!request.certFiles.isEmpty() && roles.cert.certificates.isEmpty() && roles.cert.findings.isEmpty())
            session->m_inputFindings << roleFinding(QStringLiteral("cert"), request.certFiles, QStringLiteral("certificate"));
        if (!request.stapleFiles.isEmpty() && roles.staple.staples.isEmpty() && roles.staple.findings.isEmpty())
            session->m_inputFindings << roleFinding(QStringLiteral("staple"), request.stapleFiles, QStringLiteral("OCSP response"));
        if (!request.keyFiles.isEmpty() && roles.key.keys.isEmpty() && roles.key.findings.isEmpty())
            session->m_inputFindings << roleFinding(QStringLiteral("key"), request.keyFiles, QStringLiteral("private key"));
    }
    LoadedInputs inputs;
    if (!request.paths.isEmpty()) {
        inputs = loader.loadPaths(request.paths);
        // A file given both with a role and positionally is read twice; its findings count once.
        const QList<Finding> roleFindings = session->m_inputFindings;
        for (const Finding& f : std::as_const(inputs.findings))
            if (!explicitRoles || !roleFindings.contains(f))
                session->m_inputFindings << f;
        session->m_files += inputs.files;
        session->m_files.removeDuplicates();
        session->m_certificates += inputs.certificates;
    }
    // Roles and positional paths are one input set: a CRL or staple given positionally serves the
    // --cert bundle too (Bundler::bundleInputSet).
    session->m_bundles = explicitRoles ? bundler.bundleInputSet(roles, inputs) : bundler.bundle(inputs);
    if (!request.paths.isEmpty()) {
        // Staples and keys that found no certificate are worth a word: they are probably stale.
        QSet<QString> attached;
        for (const Bundle& b : std::as_const(session->m_bundles))
            for (const AttachedStaple& s : b.staples)
                attached.insert(s.staple.id());
        for (const OcspStaple& s : inputs.staples) {
            if (attached.contains(s.id()))
                continue;
            const auto responses = s.responses();
            session->m_inputFindings << makeFinding(
                FindingCode::StapleUnmatched, Severity::Warning, QStringLiteral("Staple matches no certificate"), s.source().display(),
                responses.isEmpty()
                    ? QStringLiteral("This OCSP response (%1) belongs to no certificate among the inputs.").arg(s.responseStatusName())
                    : QStringLiteral("This OCSP response is for serial %1, which is not among the inputs, and it lies beside no single certificate.")
                          .arg(responses.first().certId.serialHex()),
                QStringLiteral("Delete it if it is stale, or load it together with its certificate."), {s.id()},
                Remedy{RemedyKind::LoadStapleWithCertificate, s.source().path,
                       responses.isEmpty() ? QString() : responses.first().certId.serialHex(), {}});
        }
        if (session->m_bundles.isEmpty() && !inputs.certificates.isEmpty()) {
            // A CA bundle or trust store: nothing wrong, but say why the report has no bundles.
            session->m_inputFindings << makeFinding(
                FindingCode::NoServerCertificate, Severity::Info, QStringLiteral("Only CA certificates found"),
                request.paths.join(QStringLiteral(", ")),
                QStringLiteral("The inputs hold %1 certificate(s), all of them CA or OCSP responder certificates (a chain "
                               "file or a trust store). Bundles are built around server certificates, so there is none to diagnose.")
                    .arg(inputs.certificates.size()),
                QStringLiteral("Add the server certificate (cert.pem or fullchain.pem) to the inputs."));
        }
    }
    return session;
}

std::shared_ptr<InspectionSession> InspectionSession::fromBundles(QList<Bundle> bundles, QList<Finding> inputFindings,
                                                                  std::shared_ptr<TrustStore> trust)
{
    auto session = std::make_shared<InspectionSession>();
    session->m_bundles = std::move(bundles);
    session->m_inputFindings = std::move(inputFindings);
    session->m_trust = trust ? std::move(trust) : std::make_shared<TrustStore>(true);
    return session;
}

std::shared_ptr<InspectionSession> InspectionSession::combine(const QList<std::shared_ptr<InspectionSession>>& sessions)
{
    auto combined = std::make_shared<InspectionSession>();
    for (const auto& session : sessions) {
        if (!session)
            continue;
        combined->m_bundles += session->m_bundles;
        combined->m_inputFindings += session->m_inputFindings;
        combined->m_files += session->m_files;
        combined->m_certificates += session->m_certificates;
        if (!combined->m_trust)
            combined->m_trust = session->m_trust;
    }
    if (!combined->m_trust)
        combined->m_trust = std::make_shared<TrustStore>(true);
    return combined;
}

namespace {

// Healthy bundles after problems, superseded ones last: the order evaluate() gives.
void sortBundleReports(QList<BundleReport>& bundles)
{
    std::stable_sort(bundles.begin(), bundles.end(), [](const BundleReport& a, const BundleReport& b) {
        if (a.bundle.isSuperseded() != b.bundle.isSuperseded())
            return !a.bundle.isSuperseded();
        return a.worst > b.worst;
    });
}

} // namespace

InspectionReport InspectionSession::evaluate(AnalysisOptions options, const Clock& clock) const
{
    if (!options.at.isValid())
        options.at = clock.now();
    options.trust = m_trust.get();
    InspectionReport report;
    report.at = options.at;
    report.inputFindings = m_inputFindings;
    sortFindings(report.inputFindings);
    report.files = m_files;
    const Analyzer analyzer;
    report.bundles.reserve(m_bundles.size());
    for (const Bundle& bundle : m_bundles) {
        BundleReport r;
        r.bundle = bundle;
        r.findings = analyzer.analyze(bundle, options);
        summarizeBundleReport(r);
        r.timeline = buildTimeline(bundle, r.findings, options);
        report.bundles << r;
    }
    sortBundleReports(report.bundles);
    return report;
}

void silenceFindings(InspectionReport& report, const QStringList& codes)
{
    if (codes.isEmpty())
        return;
    const QSet<QString> silenced(codes.cbegin(), codes.cend());
    auto moveSilenced = [&](QList<Finding>& findings) {
        const auto kept = std::stable_partition(findings.begin(), findings.end(),
                                                [&](const Finding& f) { return !silenced.contains(f.code); });
        for (auto it = kept; it != findings.end(); ++it)
            report.silenced << *it;
        findings.erase(kept, findings.end());
    };
    moveSilenced(report.inputFindings);
    for (BundleReport& r : report.bundles) {
        moveSilenced(r.findings);
        summarizeBundleReport(r);
    }
    sortFindings(report.silenced);
    sortBundleReports(report.bundles);
}

InspectionReport inspect(const InspectRequest& request)
{
    return InspectionSession::load(request)->evaluate(request.analysis);
}

} // namespace staplescope
