#pragma once
// The window for many bundles: one lane per bundle, ordered by what happens to it next, and the
// figures the bundle list shows (time until the certificate expires, how long its staple stays
// valid). Both are read off each bundle's own timeline, so the list, the fleet lanes and the
// detailed timeline never disagree.

#include "Inspection.h"

#include <optional>

namespace staplescope {

// How the bundle's own staple stands at the evaluation time.
enum class StapleWindowState {
    None,        // no staple for this certificate
    Valid,       // thisUpdate ≤ at < nextUpdate
    Expired,     // nextUpdate ≤ at
    NotYetValid, // at < thisUpdate
    OpenEnded,   // no nextUpdate: clients decide how long to believe it
    Unreadable,  // an unsuccessful response or one without a window
};

struct BundleWindows {
    // notAfter − at: negative once expired; nullopt when the validity does not parse.
    std::optional<qint64> expiresInSeconds;
    StapleWindowState staple = StapleWindowState::None;
    // nextUpdate − at (negative once expired); nullopt unless the staple has a nextUpdate.
    std::optional<qint64> stapleSecondsLeft;
};

// The bundle's leaf and current staple (the attached staple with the latest nextUpdate) at `at`.
BundleWindows bundleWindows(const BundleReport& bundle, const QDateTime& at);

QString stapleWindowStateName(StapleWindowState state); // "none", "valid", "expired", …

// The events a fleet lane is ordered by.
enum class FleetEvent { None, ExpiryWarning, CertificateExpiry, StapleRefresh, StapleExpiry };

struct FleetLane {
    QString bundleId;
    QString label;      // the leaf's name; for a served bundle where it came from (host:port)
    QString origin;     // folder, file or host:port
    Severity worst = Severity::Info;
    QString verdict;
    TimelineLane certificate;            // the leaf's lane: window, expiry-warning marker, state
    std::optional<TimelineLane> staple;  // the current staple's lane, when there is one
    // The next event: a deadline already passed when there is one — then `overdue` — the one
    // that says most about now (certificate expired, else staple expired, else staple past its
    // refresh point); or else the earliest event ahead of the evaluation time. None when the
    // bundle has no window at all.
    FleetEvent event = FleetEvent::None;
    QDateTime eventAt;
    bool overdue = false;
    // A newer certificate for the same names replaced this one: its events no longer matter, so
    // its lane comes last whatever they are.
    bool superseded = false;
};

struct FleetTimeline {
    QDateTime at;
    // Broken now first (an error or critical finding, the worst first), then overdue (longest
    // overdue first), then by the next event ahead, then lanes without a window; superseded
    // certificates last, in the same order among themselves.
    QList<FleetLane> lanes;
};

FleetTimeline buildFleetTimeline(const InspectionReport& report);

// The folder every path lies in ("/srv/tls" for /srv/tls/a/cert.pem and /srv/tls/b); empty when
// they share none but the root, or for no paths.
QString commonParentFolder(const QStringList& paths);
// Where a bundle came from, said briefly: its origin below `parent` ("a/cert.pem"), or the origin
// as it is (host:port, a path elsewhere).
QString locationBelow(const QString& origin, const QString& parent);

// "certificate expires in 12 days", "staple refresh due 3 hours ago", "no validity window",
// "superseded: certificate expired 2 days ago".
QString describeFleetEvent(const FleetLane& lane, const QDateTime& at);

} // namespace staplescope
