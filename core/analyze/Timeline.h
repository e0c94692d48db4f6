#pragma once

#include "Analyzer.h"

#include <QDateTime>
#include <QList>
#include <QString>

namespace staplescope {

// ReplacedStaple: a staple a refresh overwrote or moved aside (kept by the window as history).
// Crl: a revocation list of the leaf's issuer (given, or fetched by inspect --online).
// OnlineResponse: what the responder answered when asked by inspect --online (not a staple).
enum class LaneKind { Leaf, Intermediate, Root, Staple, PreviousCertificate, ReplacedStaple, Crl, OnlineResponse, RenewalWindow };
enum class LaneState { Ok, Due, Expired, NotYetValid, Mismatched, Revoked, Invalid };

// One validity window, computed by core, drawn by ui (which never decides anything itself).
struct TimelineLane {
    QString objectId;        // Certificate::id() or OcspStaple::id()
    LaneKind kind = LaneKind::Leaf;
    QString label;           // "Leaf mail.example.org", "Staple (good)"
    QString detail;          // one line for tooltips: times, serial
    QDateTime start;         // notBefore / thisUpdate
    QDateTime end;           // notAfter / nextUpdate; null: open-ended (no nextUpdate)
    QDateTime marker;        // refresh point (staple) or expiry-warning start (certificate); may be null
    QString markerLabel;     // "refresh due", "expiry warning"
    LaneState state = LaneState::Ok;
    QString stateText;       // the state in words, for colour-blind users and tooltips
    bool detached = false;   // staple that belongs to another certificate
    QString detachedReason;  // "for serial 0A:… (previous certificate)"
};

struct Timeline {
    QDateTime at;            // the evaluation moment ("now" line)
    QList<TimelineLane> lanes;
};

// The most recent previous certificates drawn beside a current one. An archive of hundreds of
// renewals stays readable (and the timeline's size bounded); the report lists them all.
inline constexpr int kPreviousCertificateLanes = 8;

Timeline buildTimeline(const Bundle& bundle, const QList<Finding>& findings, const AnalysisOptions& options);

// A staple that a refresh overwrote or moved aside. Its file now holds the new response (or
// nothing), so no later load sees it; whoever ran the refresh keeps this to draw the old window
// beside the staple that replaced it.
struct ReplacedStaple {
    QString file;            // where it was
    QString serial;          // the certificate serial it answered for
    QString status;          // "good", "revoked", "unknown"
    QDateTime thisUpdate;
    QDateTime nextUpdate;    // null: none given
    QDateTime replacedAt;    // when the refresh changed the file
    bool movedAside = false; // renamed to `<file>.stale` rather than overwritten
};

// The replaced staples drawn for one bundle, newest replacement first; older ones are dropped.
inline constexpr int kReplacedStapleLanes = 4;

// Inserts one LaneKind::ReplacedStaple lane per entry (at most kReplacedStapleLanes, the most
// recently replaced first) right after the bundle's own staple lanes.
void addReplacedStaples(Timeline& timeline, QList<ReplacedStaple> replaced);

QString laneStateName(LaneState state); // "ok", "due", "expired", …

} // namespace staplescope
