#include "Timeline.h"

#include "FindingRegistry.h"

#include <algorithm>

#include <QSet>

namespace staplescope {

QString laneStateName(LaneState state)
{
    switch (state) {
    case LaneState::Ok: return QStringLiteral("ok");
    case LaneState::Due: return QStringLiteral("due");
    case LaneState::Expired: return QStringLiteral("expired");
    case LaneState::NotYetValid: return QStringLiteral("not yet valid");
    case LaneState::Mismatched: return QStringLiteral("mismatched");
    case LaneState::Revoked: return QStringLiteral("revoked");
    case LaneState::Invalid: return QStringLiteral("invalid");
    }
    return QStringLiteral("ok");
}

namespace {

LaneState laneStateFor(LaneEffect effect)
{
    switch (effect) {
    case LaneEffect::None: return LaneState::Ok;
    case LaneEffect::Due: return LaneState::Due;
    case LaneEffect::NotYetValid: return LaneState::NotYetValid;
    case LaneEffect::Expired: return LaneState::Expired;
    case LaneEffect::Invalid: return LaneState::Invalid;
    case LaneEffect::Revoked: return LaneState::Revoked;
    case LaneEffect::Mismatched: return LaneState::Mismatched;
    }
    return LaneState::Ok;
}

// The lane state is read off the findings the analysis produced, so the timeline and the findings
// can never disagree.
LaneState stateFromFindings(const QString& objectId, const QList<Finding>& findings, bool isStaple)
{
    LaneState state = LaneState::Ok;
    auto raise = [&state](LaneState s) {
        // Order of precedence: what blocks clients most wins.
        static const QList<LaneState> rank{LaneState::Ok,      LaneState::Due,     LaneState::NotYetValid, LaneState::Expired,
                                           LaneState::Invalid, LaneState::Revoked, LaneState::Mismatched};
        if (rank.indexOf(s) > rank.indexOf(state))
            state = s;
    };
    for (const Finding& f : findings) {
        if (!f.objectIds.contains(objectId))
            continue;
        const FindingInfo* info = findingInfo(f);
        if (!info)
            continue;
        // A leaf's lane is not coloured by findings that are really about its staple.
        if (!isStaple && info->laneScope == LaneScope::StapleLaneOnly)
            continue;
        raise(laneStateFor(info->lane));
    }
    return state;
}

TimelineLane certificateLane(const Certificate& cert, LaneKind kind, const QString& label, const QList<Finding>& findings,
                             const AnalysisOptions& options)
{
    TimelineLane lane;
    lane.objectId = cert.id();
    lane.kind = kind;
    lane.label = label;
    lane.detail = QStringLiteral("%1\nserial %2\n%3 → %4 (%5)")
                      .arg(cert.subject(), cert.serialHex(), formatTime(cert.notBefore()), formatTime(cert.notAfter()),
                           formatDuration(cert.lifetimeSeconds()));
    if (!cert.notBefore().isValid() || !cert.notAfter().isValid()) {
        // A validity time that does not parse (INPUT_MALFORMED): no window is drawn. A lane with
        // only a start would read as open-ended, one with only an end as valid since forever.
        lane.detail = QStringLiteral("%1\nserial %2\nnotBefore %3, notAfter %4: not a valid time")
                          .arg(cert.subject(), cert.serialHex(),
                               cert.notBefore().isValid() ? formatTime(cert.notBefore()) : QStringLiteral("unreadable"),
                               cert.notAfter().isValid() ? formatTime(cert.notAfter()) : QStringLiteral("unreadable"));
        lane.state = LaneState::Invalid;
        lane.stateText = QStringLiteral("validity unreadable");
        return lane;
    }
    lane.start = cert.notBefore();
    lane.end = cert.notAfter();
    lane.marker = options.expiryWarningStart(cert);
    lane.markerLabel = QStringLiteral("expiry warning");
    lane.state = stateFromFindings(cert.id(), findings, false);
    lane.stateText = laneStateName(lane.state);
    return lane;
}

} // namespace

Timeline buildTimeline(const Bundle& bundle, const QList<Finding>& findings, const AnalysisOptions& options)
{
    Timeline timeline;
    timeline.at = options.at;
    if (bundle.leaf.isNull())
        return timeline;
    timeline.lanes << certificateLane(bundle.leaf, LaneKind::Leaf, QStringLiteral("Leaf %1").arg(bundle.leaf.commonName()),
                                      findings, options);
    // The CA's suggested renewal window (ACME Renewal Information), right under the certificate
    // it is about.
    if (!bundle.renewalWindow.isNull()) {
        const RenewalWindow& w = bundle.renewalWindow;
        TimelineLane lane;
        lane.objectId = QStringLiteral("renewal-window:%1").arg(bundle.leaf.id());
        lane.kind = LaneKind::RenewalWindow;
        lane.label = QStringLiteral("Suggested renewal window");
        lane.start = w.start;
        lane.end = w.end;
        bool early = false;
        for (const Finding& f : findings)
            early = early || (findingCode(f) == FindingCode::RenewalWindowEarly && f.objectIds.contains(bundle.leaf.id()));
        if (early) {
            lane.state = LaneState::Due;
            lane.stateText = QStringLiteral("early: the CA asks for renewal before half the lifetime");
        } else if (options.at >= w.start) {
            lane.state = LaneState::Due;
            lane.stateText = options.at > w.end ? QStringLiteral("passed: renewal overdue") : QStringLiteral("open: renew now");
        } else {
            lane.stateText = QStringLiteral("upcoming");
        }
        QStringList detail{QStringLiteral("%1 → %2").arg(formatTime(w.start), formatTime(w.end))};
        if (!w.explanationUrl.isEmpty())
            detail << QStringLiteral("explanation: %1").arg(w.explanationUrl);
        if (!w.source.isEmpty())
            detail << QStringLiteral("from %1%2").arg(w.source, w.fetchedAt.isValid() ? QStringLiteral(" at ") + formatTime(w.fetchedAt) : QString());
        if (w.retryAfter.isValid())
            detail << QStringLiteral("ask again after %1").arg(formatTime(w.retryAfter));
        lane.detail = detail.join(QLatin1Char('\n'));
        timeline.lanes << lane;
    }
    for (const AttachedStaple& attached : bundle.staples) {
        const OcspStaple& staple = attached.staple;
        TimelineLane lane;
        lane.objectId = staple.id();
        lane.kind = LaneKind::Staple;
        const auto responses = staple.responses();
        if (!staple.isSuccessful() || responses.isEmpty()) {
            lane.label = QStringLiteral("Staple (%1)").arg(staple.responseStatusName());
            lane.state = LaneState::Invalid;
            lane.stateText = laneStateName(lane.state);
            lane.detail = QStringLiteral("%1\nresponse status %2").arg(staple.source().display(), staple.responseStatusName());
            timeline.lanes << lane;
            continue;
        }
        // The response about our leaf if there is one; otherwise the first (which is the mismatch).
        OcspSingleResponse single = responses.first();
        for (const OcspSingleResponse& r : responses)
            if (r.certId.serialMatches(bundle.leaf))
                single = r;
        lane.label = QStringLiteral("Staple (%1)").arg(ocspStatusName(single.status));
        lane.start = single.thisUpdate;
        lane.end = single.nextUpdate;
        lane.marker = options.stapleRefreshPoint(single.thisUpdate, single.nextUpdate);
        lane.markerLabel = QStringLiteral("refresh due");
        lane.state = stateFromFindings(staple.id(), findings, true);
        lane.stateText = laneStateName(lane.state);
        lane.detail = QStringLiteral("%1\nfor serial %2 (%3 CertID)\nthisUpdate %4\nnextUpdate %5")
                          .arg(staple.source().display(), single.certId.serialHex(), single.certId.hashAlgorithm,
                               formatTime(single.thisUpdate), formatTime(single.nextUpdate));
        if (lane.state == LaneState::Mismatched) {
            lane.detached = true;
            const bool previous = attached.attachment == StapleAttachment::PreviousCertificate;
            lane.detachedReason = QStringLiteral("for serial %1%2").arg(single.certId.serialHex(),
                                                                        previous ? QStringLiteral(" (previous certificate)") : QString());
        }
        timeline.lanes << lane;
    }
    // What the responder says now (inspect --online), beside the staple a server sends.
    for (const OcspStaple& response : bundle.onlineResponses) {
        TimelineLane lane;
        lane.objectId = response.id();
        lane.kind = LaneKind::OnlineResponse;
        const QList<OcspSingleResponse> responses = response.responses();
        const auto single = std::find_if(responses.begin(), responses.end(),
                                         [&](const OcspSingleResponse& r) { return r.certId.serialMatches(bundle.leaf); });
        if (!response.isSuccessful() || single == responses.end()) {
            lane.label = QStringLiteral("Responder's answer (%1)").arg(response.responseStatusName());
            lane.state = LaneState::Invalid;
            lane.stateText = laneStateName(lane.state);
            lane.detail = QStringLiteral("%1\nno answer about this certificate").arg(response.source().display());
            timeline.lanes << lane;
            continue;
        }
        lane.label = QStringLiteral("Responder's answer (%1)").arg(ocspStatusName(single->status));
        lane.start = single->thisUpdate;
        lane.end = single->nextUpdate;
        if (single->status == OcspCertStatus::Revoked)
            lane.state = LaneState::Revoked;
        else if (single->nextUpdate.isValid() && single->nextUpdate < options.at)
            lane.state = LaneState::Expired;
        else if (single->status != OcspCertStatus::Good)
            lane.state = LaneState::Invalid;
        lane.stateText = laneStateName(lane.state);
        lane.detail = QStringLiteral("%1\nfor serial %2\nthisUpdate %3\nnextUpdate %4")
                          .arg(response.source().display(), single->certId.serialHex(), formatTime(single->thisUpdate),
                               single->nextUpdate.isValid() ? formatTime(single->nextUpdate) : QStringLiteral("none"));
        timeline.lanes << lane;
    }
    // The leaf issuer's CRLs: their windows say until when "not listed" is news.
    for (const Crl& crl : bundle.crls) {
        if (!crl.issuerNameDer().isEmpty() && crl.issuerNameDer() != bundle.leaf.issuerNameDer())
            continue;
        TimelineLane lane;
        lane.objectId = QStringLiteral("crl:%1#%2").arg(crl.source().path, QString::number(crl.source().index));
        lane.kind = LaneKind::Crl;
        const bool listsLeaf = crl.revocationTimeOf(bundle.leaf).has_value();
        lane.label = QStringLiteral("CRL (%1 listed%2)")
                         .arg(QString::number(crl.revokedCount()), listsLeaf ? QStringLiteral(", this certificate among them") : QString());
        lane.start = crl.thisUpdate();
        lane.end = crl.nextUpdate();
        if (listsLeaf)
            lane.state = LaneState::Revoked;
        else if (lane.end.isValid() && lane.end < options.at)
            lane.state = LaneState::Expired;
        lane.stateText = laneStateName(lane.state);
        lane.detail = QStringLiteral("%1\nissuer %2\nthisUpdate %3\nnextUpdate %4")
                          .arg(crl.source().display(), crl.issuer(), formatTime(crl.thisUpdate()),
                               crl.nextUpdate().isValid() ? formatTime(crl.nextUpdate()) : QStringLiteral("none"));
        timeline.lanes << lane;
    }
    for (const Certificate& cert : bundle.chain)
        timeline.lanes << certificateLane(cert, cert.isSelfSigned() ? LaneKind::Root : LaneKind::Intermediate,
                                          QStringLiteral("%1 %2").arg(cert.isSelfSigned() ? QStringLiteral("Root") : QStringLiteral("Intermediate"),
                                                                      cert.commonName()),
                                          findings, options);
    if (!bundle.anchor.isNull())
        timeline.lanes << certificateLane(bundle.anchor, LaneKind::Root, QStringLiteral("Root %1 (trust store)").arg(bundle.anchor.commonName()),
                                          findings, options);
    // The newest previous certificates only (in their listed order): an archive of hundreds of
    // renewals would otherwise bury the current lanes.
    QList<Certificate> shownPrevious = bundle.previousCertificates;
    if (shownPrevious.size() > kPreviousCertificateLanes) {
        QList<QDateTime> starts;
        for (const Certificate& c : shownPrevious)
            starts << c.notBefore();
        std::nth_element(starts.begin(), starts.end() - kPreviousCertificateLanes, starts.end());
        const QDateTime oldestShown = *(starts.end() - kPreviousCertificateLanes);
        QList<Certificate> newest;
        for (const Certificate& c : std::as_const(shownPrevious))
            if (c.notBefore() >= oldestShown && newest.size() < kPreviousCertificateLanes)
                newest << c;
        shownPrevious = newest;
    }
    for (const Certificate& previous : std::as_const(shownPrevious)) {
        TimelineLane lane = certificateLane(previous, LaneKind::PreviousCertificate,
                                            QStringLiteral("Previous %1").arg(previous.commonName()), {}, options);
        lane.marker = QDateTime();
        lane.markerLabel.clear();
        lane.stateText = QStringLiteral("superseded");
        timeline.lanes << lane;
    }
    return timeline;
}

void addReplacedStaples(Timeline& timeline, QList<ReplacedStaple> replaced)
{
    std::stable_sort(replaced.begin(), replaced.end(),
                     [](const ReplacedStaple& a, const ReplacedStaple& b) { return a.replacedAt > b.replacedAt; });
    if (replaced.size() > kReplacedStapleLanes)
        replaced.resize(kReplacedStapleLanes);
    // Beside the staple that replaced it: after the leaf and its staples.
    qsizetype insertAt = 0;
    for (qsizetype i = 0; i < timeline.lanes.size(); ++i)
        if (timeline.lanes[i].kind == LaneKind::Leaf || timeline.lanes[i].kind == LaneKind::Staple ||
            timeline.lanes[i].kind == LaneKind::ReplacedStaple)
            insertAt = i + 1;
    for (const ReplacedStaple& old : std::as_const(replaced)) {
        TimelineLane lane;
        // Not an object of the session (its file holds something else now): an id of its own.
        lane.objectId = QStringLiteral("replaced-staple:%1@%2").arg(old.file, old.thisUpdate.toString(Qt::ISODate));
        lane.kind = LaneKind::ReplacedStaple;
        lane.label = QStringLiteral("Replaced staple (%1)").arg(old.status.isEmpty() ? QStringLiteral("unreadable") : old.status);
        lane.start = old.thisUpdate;
        lane.end = old.nextUpdate;
        lane.state = LaneState::Ok; // context, not a problem: drawn neutral like a previous certificate
        lane.stateText = old.movedAside ? QStringLiteral("moved aside %1").arg(formatTime(old.replacedAt))
                                        : QStringLiteral("replaced %1").arg(formatTime(old.replacedAt));
        lane.detail = QStringLiteral("%1\nfor serial %2\nthisUpdate %3\nnextUpdate %4\n%5")
                          .arg(old.file, old.serial.isEmpty() ? QStringLiteral("unknown") : old.serial,
                               old.thisUpdate.isValid() ? formatTime(old.thisUpdate) : QStringLiteral("none"),
                               old.nextUpdate.isValid() ? formatTime(old.nextUpdate) : QStringLiteral("none"), lane.stateText);
        timeline.lanes.insert(insertAt++, lane);
    }
}

} // namespace staplescope
