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
