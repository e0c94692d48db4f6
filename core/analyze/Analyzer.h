#pragma once

#include "Bundle.h"
#include "Finding.h"
#include "TrustStore.h"

#include <QDateTime>
#include <optional>

namespace staplescope {

struct AnalysisOptions {
    QDateTime at;                               // evaluation time (UTC); tests pin it
    std::optional<qint64> expiryWarningSeconds; // nullopt: a third of the lifetime, at most 30 days
    double stapleRefreshFraction = 0.5;         // refresh at this fraction of thisUpdate→nextUpdate
    // Monitoring thresholds (--crit-days, --staple-warn-hours, --staple-crit-hours). They move where
    // the engine's own ladder steps, nothing else: CERT_EXPIRING_SOON is critical within
    // expiryCriticalSeconds of notAfter; STAPLE_REFRESH_DUE is also reported (warning) within
    // stapleWarningSeconds of nextUpdate, and is critical within stapleCriticalSeconds.
    std::optional<qint64> expiryCriticalSeconds;
    std::optional<qint64> stapleWarningSeconds;
    std::optional<qint64> stapleCriticalSeconds;
    const TrustStore* trust = nullptr;          // null: no trust anchors at all

    // When a certificate with this lifetime starts to be reported as expiring soon.
    qint64 expiryWarningFor(qint64 lifetimeSeconds) const;
    QDateTime expiryWarningStart(const Certificate& cert) const;
    // thisUpdate + fraction·(nextUpdate − thisUpdate); null without nextUpdate.
    QDateTime stapleRefreshPoint(const QDateTime& thisUpdate, const QDateTime& nextUpdate) const;
};

// RENEWAL_WINDOW_EARLY when the CA's suggested renewal window (ACME Renewal Information) starts
// before half of the certificate's lifetime, as CAs do ahead of a mass revocation; else nothing.
// The analysis reports it for a bundle with a renewalWindow; renew's decision reports it too.
QList<Finding> renewalWindowFindings(const Certificate& leaf, const RenewalWindow& window);

// The rules: takes a bundle, returns every problem found (never stops at the first).
class Analyzer {
public:
    QList<Finding> analyze(const Bundle& bundle, const AnalysisOptions& options) const;
};

} // namespace staplescope
