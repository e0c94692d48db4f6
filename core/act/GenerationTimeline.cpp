#include "GenerationTimeline.h"

#include "Certificate.h" // formatTime

namespace staplescope {

namespace {

LaneState certificateState(const GenerationInfo& g, const QDateTime& at)
{
    if (g.notBefore.isValid() && at < g.notBefore)
        return LaneState::NotYetValid;
    if (g.notAfter.isValid() && at > g.notAfter)
        return LaneState::Expired;
    return LaneState::Ok;
}

LaneState stapleState(const GenerationInfo& g, const QDateTime& at)
{
    const StapleWindow& s = g.staple;
    if (s.status == QLatin1String("revoked"))
        return LaneState::Revoked;
    if (!s.serial.isEmpty() && !g.serial.isEmpty() && s.serial.compare(g.serial, Qt::CaseInsensitive) != 0)
        return LaneState::Mismatched;
    if (s.nextUpdate.isValid() && at > s.nextUpdate)
        return LaneState::Expired;
    if (s.thisUpdate.isValid() && at < s.thisUpdate)
        return LaneState::NotYetValid;
    if (s.status != QLatin1String("good"))
        return LaneState::Invalid;
    return LaneState::Ok;
}

QString stateWords(LaneState state, bool current)
{
    const QString word = laneStateName(state);
    return current ? word + QStringLiteral(" · current") : word;
}

} // namespace

Timeline buildGenerationsTimeline(const QList<GenerationInfo>& generations, const QDateTime& at)
{
    Timeline timeline;
    timeline.at = at;
    for (const GenerationInfo& g : generations) {
        TimelineLane certificate;
        certificate.objectId = g.name;
        certificate.kind = LaneKind::Leaf; // each generation's own certificate; its staple hangs off it
        // Concatenation: names and serials are outside text.
        // "current" first: a generation's name is long and a narrow label column cuts its end.
        certificate.label = (g.current ? QStringLiteral("current · ") : QString()) + g.name;
        if (!g.problem.isEmpty()) {
            certificate.state = LaneState::Invalid;
            certificate.stateText = g.problem;
            certificate.detail = g.problem;
            timeline.lanes << certificate;
            continue;
        }
        certificate.detail = g.certificateName + QStringLiteral(", serial ") + g.serial +
                             (g.mustStaple ? QStringLiteral(", must-staple") : QString());
        certificate.start = g.notBefore;
        certificate.end = g.notAfter;
        certificate.state = certificateState(g, at);
        certificate.stateText = stateWords(certificate.state, g.current);
        timeline.lanes << certificate;

        if (g.staple.isNull())
            continue;
        TimelineLane staple;
        staple.objectId = g.name;
        staple.kind = LaneKind::Staple;
        staple.label = QStringLiteral("OCSP staple");
        staple.detail = QStringLiteral("status ") + g.staple.status + QStringLiteral(", for serial ") + g.staple.serial;
        staple.start = g.staple.thisUpdate;
        staple.end = g.staple.nextUpdate;
        staple.state = stapleState(g, at);
        staple.stateText = stateWords(staple.state, false);
        if (staple.state == LaneState::Mismatched) {
            staple.detached = true;
            staple.detachedReason = QStringLiteral("for serial ") + g.staple.serial;
        }
        timeline.lanes << staple;
    }
    return timeline;
}

} // namespace staplescope
