#include "FleetTimeline.h"

#include <algorithm>

namespace staplescope {

namespace {

const TimelineLane* leafLane(const Timeline& timeline)
{
    for (const TimelineLane& lane : timeline.lanes)
        if (lane.kind == LaneKind::Leaf)
            return &lane;
    return nullptr;
}

// The staple a server would send for this certificate: of the attached (not detached) staple
// lanes, the one valid longest; one without nextUpdate counts as valid longest of all.
const TimelineLane* currentStapleLane(const Timeline& timeline)
{
    const TimelineLane* best = nullptr;
    auto laterThan = [](const TimelineLane& a, const TimelineLane& b) {
        if (!a.start.isValid() || !b.start.isValid())
            return a.start.isValid() && !b.start.isValid();
        if (!a.end.isValid() || !b.end.isValid())
            return !a.end.isValid() && b.end.isValid();
        return a.end > b.end;
    };
    for (const TimelineLane& lane : timeline.lanes)
        if (lane.kind == LaneKind::Staple && !lane.detached && (!best || laterThan(lane, *best)))
            best = &lane;
    return best;
}

int overdueWeight(FleetEvent event)
{
    switch (event) {
    case FleetEvent::CertificateExpiry: return 3;
    case FleetEvent::StapleExpiry: return 2;
    case FleetEvent::StapleRefresh: return 1;
    default: return 0;
    }
}

struct Candidate {
    FleetEvent event;
    QDateTime at;
};

} // namespace

QString stapleWindowStateName(StapleWindowState state)
{
    switch (state) {
    case StapleWindowState::None: return QStringLiteral("none");
    case StapleWindowState::Valid: return QStringLiteral("valid");
    case StapleWindowState::Expired: return QStringLiteral("expired");
    case StapleWindowState::NotYetValid: return QStringLiteral("not yet valid");
    case StapleWindowState::OpenEnded: return QStringLiteral("no nextUpdate");
    case StapleWindowState::Unreadable: return QStringLiteral("unreadable");
    }
    return QStringLiteral("none");
}

BundleWindows bundleWindows(const BundleReport& bundle, const QDateTime& at)
{
    BundleWindows windows;
    if (const TimelineLane* leaf = leafLane(bundle.timeline); leaf && leaf->end.isValid() && at.isValid())
        windows.expiresInSeconds = at.secsTo(leaf->end);
    const TimelineLane* staple = currentStapleLane(bundle.timeline);
    if (!staple)
        return windows;
    if (!staple->start.isValid() || !at.isValid())
        windows.staple = StapleWindowState::Unreadable;
    else if (at < staple->start)
        windows.staple = StapleWindowState::NotYetValid;
    else if (!staple->end.isValid())
        windows.staple = StapleWindowState::OpenEnded;
    else
        windows.staple = at < staple->end ? StapleWindowState::Valid : StapleWindowState::Expired;
    if (staple->start.isValid() && staple->end.isValid() && at.isValid())
        windows.stapleSecondsLeft = at.secsTo(staple->end);
    return windows;
}

FleetTimeline buildFleetTimeline(const InspectionReport& report)
{
    FleetTimeline fleet;
    fleet.at = report.at;
    fleet.lanes.reserve(report.bundles.size());
    for (const BundleReport& bundle : report.bundles) {
        FleetLane lane;
        lane.bundleId = bundle.bundle.id;
        lane.origin = bundle.bundle.origin.isEmpty() ? bundle.bundle.leaf.source().path : bundle.bundle.origin;
        // As the bundle list names it: several addresses may serve the same name.
        lane.label = bundle.bundle.served && !bundle.bundle.origin.isEmpty() ? bundle.bundle.origin
                                                                             : bundle.bundle.leaf.commonName();
        lane.worst = bundle.worst;
        lane.superseded = bundle.bundle.isSuperseded();
        lane.verdict = bundle.verdict;
        if (const TimelineLane* leaf = leafLane(bundle.timeline))
            lane.certificate = *leaf;
        if (const TimelineLane* staple = currentStapleLane(bundle.timeline))
            lane.staple = *staple;

        // Deadlines a passed moment makes overdue, and warnings that only announce one.
        QList<Candidate> deadlines, warnings;
        deadlines << Candidate{FleetEvent::CertificateExpiry, lane.certificate.end};
        warnings << Candidate{FleetEvent::ExpiryWarning, lane.certificate.marker};
        if (lane.staple) {
            deadlines << Candidate{FleetEvent::StapleRefresh, lane.staple->marker}
                      << Candidate{FleetEvent::StapleExpiry, lane.staple->end};
        }
        const Candidate* overdue = nullptr;
        const Candidate* next = nullptr;
        for (const Candidate& c : std::as_const(deadlines)) {
            if (!c.at.isValid())
                continue;
            if (c.at <= fleet.at) {
                // The passed deadline that says most about now: an expired certificate over an
                // expired staple over a staple past its refresh point.
                if (!overdue || overdueWeight(c.event) > overdueWeight(overdue->event))
                    overdue = &c;
            } else if (!next || c.at < next->at) {
                next = &c;
            }
        }
        for (const Candidate& c : std::as_const(warnings))
            if (c.at.isValid() && c.at > fleet.at && (!next || c.at < next->at))
                next = &c;
        if (const Candidate* chosen = overdue ? overdue : next) {
            lane.event = chosen->event;
            lane.eventAt = chosen->at;
            lane.overdue = overdue != nullptr;
        }
        fleet.lanes << lane;
    }
    // Stable: equal moments keep core's order (worst first).
    std::stable_sort(fleet.lanes.begin(), fleet.lanes.end(), [](const FleetLane& a, const FleetLane& b) {
        if (a.superseded != b.superseded)
            return b.superseded;
        // A bundle that is broken now (an error or a critical finding: a staple for another
        // certificate, an expired certificate) is past every deadline: it comes first, the worst first.
        const auto rank = [](const FleetLane& lane) {
            if (lane.worst >= Severity::Error)
                return -1;
            return lane.event == FleetEvent::None ? 2 : lane.overdue ? 0 : 1;
        };
        const int rankA = rank(a);
        const int rankB = rank(b);
        if (rankA != rankB)
            return rankA < rankB;
        if (rankA == -1 && a.worst != b.worst)
            return a.worst > b.worst;
        if (rankA == 2 || !a.eventAt.isValid() || !b.eventAt.isValid())
            return a.eventAt.isValid() && !b.eventAt.isValid();
        return a.eventAt < b.eventAt;
    });
    return fleet;
}

QString commonParentFolder(const QStringList& paths)
{
    // Compared by whole path components, so /srv/tls-a and /srv/tls-b share /srv, not /srv/tls-.
    QStringList common;
    bool first = true;
    for (const QString& path : paths) {
        if (!path.startsWith(QLatin1Char('/')))
            return {};
        QStringList parts = path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
        if (!parts.isEmpty())
            parts.removeLast(); // the file's (or the folder's own) name: a parent is asked for
        if (first) {
            common = parts;
            first = false;
            continue;
        }
        qsizetype n = 0;
        while (n < common.size() && n < parts.size() && common[n] == parts[n])
            ++n;
        common.resize(n);
    }
    if (common.isEmpty())
        return {};
    return QLatin1Char('/') + common.join(QLatin1Char('/'));
}

QString locationBelow(const QString& origin, const QString& parent)
{
    if (parent.isEmpty() || !origin.startsWith(parent + QLatin1Char('/')))
        return origin;
    return origin.mid(parent.size() + 1);
}

QString describeFleetEvent(const FleetLane& lane, const QDateTime& at)
{
    if (lane.superseded) {
        FleetLane current = lane;
        current.superseded = false;
        return QStringLiteral("superseded; ") + describeFleetEvent(current, at);
    }
    if (lane.event == FleetEvent::None || !lane.eventAt.isValid())
        return QStringLiteral("no validity window");
    const qint64 delta = at.secsTo(lane.eventAt);
    const QString when = delta > 0 ? QStringLiteral("in %1").arg(formatDuration(delta))
                                   : QStringLiteral("%1 ago").arg(formatDuration(-delta));
    switch (lane.event) {
    case FleetEvent::ExpiryWarning: return QStringLiteral("expiry warning starts %1").arg(when);
    case FleetEvent::CertificateExpiry:
        return delta > 0 ? QStringLiteral("certificate expires %1").arg(when) : QStringLiteral("certificate expired %1").arg(when);
    case FleetEvent::StapleRefresh:
        return QStringLiteral("staple refresh due %1").arg(when);
    case FleetEvent::StapleExpiry:
        return delta > 0 ? QStringLiteral("staple expires %1").arg(when) : QStringLiteral("staple expired %1").arg(when);
    case FleetEvent::None: break;
    }
    return QStringLiteral("no validity window");
}

} // namespace staplescope
