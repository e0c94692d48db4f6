#include "OnlineCheck.h"

#include "FindingRegistry.h"
#include "Timeline.h"

#include <QHash>

#include <algorithm>

namespace staplescope {

namespace {

// A thisUpdate this far ahead of our clock is skew, not a response from the future (OpenSSL's
// OCSP_check_validity uses the same 5 minutes).
constexpr qint64 kSkewSeconds = 5 * 60;

// The certificate that issued `leaf` among what the bundle holds; null when none did.
Certificate issuerAtHand(const Bundle& bundle)
{
    QList<Certificate> candidates = bundle.chain;
    if (!bundle.anchor.isNull())
        candidates << bundle.anchor;
    candidates += bundle.knownCertificates;
    for (const Certificate& c : std::as_const(candidates))
        if (c != bundle.leaf && bundle.leaf.isIssuedBy(c))
            return c;
    return {};
}

// Who signed `response`: the issuer itself, or a certificate it carries that the issuer made an
// OCSP signer. Null when neither.
Certificate authorisedSigner(const OcspStaple& response, const Certificate& issuer)
{
    if (response.isResponder(issuer))
        return issuer;
    for (const Certificate& c : response.embeddedCertificates())
        if (response.isResponder(c) && c.hasOcspSigningUsage() && c.isIssuedBy(issuer))
            return c;
    return {};
}

// What a fetched response says about `cert`, as findings.
QList<Finding> judgeResponse(const OcspLookup& lookup, const Certificate& cert, const Certificate& issuer, const QDateTime& at)
{
    const QString responder = lookup.responder.toString(QUrl::RemoveUserInfo);
    const QString subject = certificateSubject(cert);
    const Remedy retry{RemedyKind::RetryFetch, {}, cert.serialHex(), responder};
    const auto failed = [&](const QString& title, const QString& message) {
        return makeFinding(FindingCode::OcspFetchFailed, Severity::Error, title, subject, message,
                           QStringLiteral("Ask again later; if it persists, the CA's responder is broken: tell the CA."), {cert.id()},
                           retry);
    };
    const OcspStaple& response = lookup.response;
    if (!response.isSuccessful())
        return {failed(QStringLiteral("Responder gave no status"),
                       QStringLiteral("The OCSP responder %1 answered \"%2\" instead of a status for this certificate.")
                           .arg(responder, response.responseStatusName()))};
    const auto responses = response.responses();
    const auto single = std::find_if(responses.begin(), responses.end(),
                                     [&](const OcspSingleResponse& r) { return r.certId.matches(cert, issuer); });
    if (single == responses.end()) {
        QStringList serials;
        for (const OcspSingleResponse& r : responses)
            serials << r.certId.serialHex();
        return {failed(QStringLiteral("Response about another certificate"),
                       QStringLiteral("The OCSP responder %1 answered about another certificate (serial %2), not this one.")
                           .arg(responder, serials.join(QStringLiteral(", "))))};
    }
    const Certificate signer = authorisedSigner(response, issuer);
    if (signer.isNull() || !response.verifySignature(signer))
        return {failed(QStringLiteral("Response not signed by the issuer"),
                       signer.isNull()
                           ? QStringLiteral("The OCSP response from %1 is signed by %2, which is neither the issuer nor a "
                                            "responder the issuer authorised, so it proves nothing.")
                                 .arg(responder, response.responderId())
                           : QStringLiteral("The signature of the OCSP response from %1 does not verify with the key of %2.")
                                 .arg(responder, signer.displayName()))};
    if (single->thisUpdate.isValid() && single->thisUpdate > at.addSecs(kSkewSeconds))
        return {failed(QStringLiteral("Response from the future"),
                       QStringLiteral("The OCSP response from %1 has thisUpdate %2, %3: the responder's clock or ours is wrong.")
                           .arg(responder, formatTime(single->thisUpdate), relativeTime(at, single->thisUpdate)))};
    if (single->nextUpdate.isValid() && single->nextUpdate < at)
        return {failed(QStringLiteral("Responder sent an expired response"),
                       QStringLiteral("The OCSP response from %1 expired %2 (nextUpdate %3): the responder serves stale answers.")
                           .arg(responder, relativeTime(at, single->nextUpdate), formatTime(single->nextUpdate)))};
    const QString window = QStringLiteral("thisUpdate %1, nextUpdate %2")
                               .arg(formatTime(single->thisUpdate),
                                    single->nextUpdate.isValid() ? formatTime(single->nextUpdate) : QStringLiteral("none"));
    switch (single->status) {
    case OcspCertStatus::Revoked:
        return {makeFinding(FindingCode::CertRevoked, Severity::Critical, QStringLiteral("Certificate revoked (OCSP)"), subject,
                            QStringLiteral("The OCSP responder %1 says this certificate was revoked at %2 (%3), reason: %4 (%5).")
                                .arg(responder, formatTime(single->revocationTime), relativeTime(at, single->revocationTime),
                                     single->revocationReasonName.isEmpty() ? QStringLiteral("not given")
                                                                            : single->revocationReasonName,
                                     window),
                            QStringLiteral("Replace the certificate now: clients that check revocation reject it."), {cert.id()},
                            Remedy{RemedyKind::ReplaceCertificate, {}, cert.serialHex(), {}})};
    case OcspCertStatus::Unknown:
        return {failed(QStringLiteral("Responder does not know the certificate"),
                       QStringLiteral("The OCSP responder %1 answered \"unknown\" for this certificate (%2): it does not know "
                                      "it, or is not the responder for its issuer.")
                           .arg(responder, window))};
    case OcspCertStatus::Good:
        break;
    }
    return {makeFinding(FindingCode::RevocationChecked, Severity::Info, QStringLiteral("Not revoked (OCSP)"), subject,
                        QStringLiteral("The OCSP responder %1 says good (%2), signed by %3.")
                            .arg(responder, window, signer == issuer ? QStringLiteral("the issuer") : signer.displayName()),
                        {}, {cert.id()})};
}

} // namespace

InspectionReport inspectOnline(const InspectionSession& session, AnalysisOptions analysis, OnlineLookup& lookup,
                               const Clock& clock, const std::atomic<bool>* cancel)
{
    if (!analysis.at.isValid())
        analysis.at = clock.now();
    const QDateTime at = analysis.at;
    QList<Bundle> bundles = session.bundles();
    QHash<QString, QList<Finding>> online; // by bundle id
    QList<Certificate> issuers(bundles.size());

    // 1. Issuers missing from the inputs.
    QList<Certificate> needIssuer;
    QList<int> needIssuerBundle;
    for (qsizetype i = 0; i < bundles.size(); ++i) {
        issuers[i] = issuerAtHand(bundles[i]);
        if (issuers[i].isNull() && !bundles[i].leaf.isSelfSigned()) {
            needIssuer << bundles[i].leaf;
            needIssuerBundle << int(i);
        }
    }
    const QList<IssuerLookup> fetchedIssuers = lookup.fetchIssuers(needIssuer, cancel);
    for (qsizetype k = 0; k < fetchedIssuers.size(); ++k) {
        const int i = needIssuerBundle[k];
        issuers[i] = fetchedIssuers[k].issuer;
        online[bundles[i].id] += fetchedIssuers[k].findings;
    }

    // 2. OCSP where the certificate has a responder (or one was given), else the CRL.
    QList<std::pair<Certificate, Certificate>> ocspPairs, crlPairs;
    QList<int> ocspBundle, crlBundle;
    const bool responderGiven = !lookup.options().ocsp.responder.isEmpty();
    for (qsizetype i = 0; i < bundles.size(); ++i) {
        if (issuers[i].isNull())
            continue; // ISSUER_FETCH_FAILED said why (or the leaf is self-signed: nothing to ask)
        if (responderGiven || !bundles[i].leaf.ocspUrls().isEmpty()) {
            ocspPairs.append({bundles[i].leaf, issuers[i]});
            ocspBundle << int(i);
        } else {
            crlPairs.append({bundles[i].leaf, issuers[i]});
            crlBundle << int(i);
        }
    }
    const QList<OcspLookup> responses = lookup.fetchOcsp(ocspPairs, cancel);
    for (qsizetype k = 0; k < responses.size(); ++k) {
        const int i = ocspBundle[k];
        QList<Finding>& findings = online[bundles[i].id];
        findings += responses[k].findings;
        if (!responses[k].response.isNull()) {
            findings += judgeResponse(responses[k], ocspPairs[k].first, ocspPairs[k].second, at);
            // On the timeline beside the staple: what the responder says now.
            SourceLocation source;
            source.path = QStringLiteral("asked %1").arg(responses[k].responder.toString());
            bundles[i].onlineResponses << responses[k].response.withSource(source);
        }
    }
    const QList<CrlLookup> crls = lookup.checkCrls(crlPairs, at, cancel);
    for (qsizetype k = 0; k < crls.size(); ++k) {
        const int i = crlBundle[k];
        QList<Finding>& findings = online[bundles[i].id];
        for (const Finding& f : crls[k].findings) {
            // The CRL joins the bundle, so the analysis reports a revocation it lists (CERT_REVOKED,
            // as for a CRL on disk); the lookup's own would say it twice.
            if (!crls[k].crl.isNull() && findingCode(f) == FindingCode::CertRevoked)
                continue;
            findings << f;
        }
        if (!crls[k].crl.isNull())
            bundles[i].crls << crls[k].crl;
    }

    // 3. The analysis of the bundles as they are now, with the online findings beside its own.
    const auto withCrls = InspectionSession::fromBundles(bundles, session.inputFindings(), session.sharedTrust());
    InspectionReport report = withCrls->evaluate(analysis, clock);
    report.files = session.files();
    AnalysisOptions timelineOptions = analysis;
    timelineOptions.trust = &session.trust();
    for (BundleReport& r : report.bundles) {
        QList<Finding> extra = online.value(r.bundle.id);
        if (extra.isEmpty())
            continue;
        // A responder that cannot be asked is a warning while the staple on disk is still good
        // (the analysis found nothing wrong with it at error or worse), as `refresh` words it.
        bool stapleGood = !r.bundle.staples.isEmpty();
        for (const Finding& f : std::as_const(r.findings)) {
            const FindingInfo* info = findingInfo(f);
            if (info && info->category == FindingCategory::Staple && f.severity >= Severity::Error)
                stapleGood = false;
        }
        if (stapleGood)
            for (Finding& f : extra)
                if (findingCode(f) == FindingCode::OcspFetchFailed)
                    f = makeFinding(FindingCode::OcspFetchFailed, Severity::Warning, f.title, f.subject, f.message, f.fix,
                                    f.objectIds, f.remedy);
        r.findings += extra;
        sortFindings(r.findings);
        summarizeBundleReport(r);
        r.timeline = buildTimeline(r.bundle, r.findings, timelineOptions);
    }
    std::stable_sort(report.bundles.begin(), report.bundles.end(), [](const BundleReport& a, const BundleReport& b) {
        if (a.bundle.isSuperseded() != b.bundle.isSuperseded())
            return !a.bundle.isSuperseded();
        return a.worst > b.worst;
    });
    return report;
}

} // namespace staplescope
