#pragma once
// When the CA suggests renewing a certificate: ACME Renewal Information (RFC 9773), as fetched
// from the CA's renewalInfo resource (core/net/AcmeRenewalInfo.h). Drawn as its own timeline lane
// and judged by the analysis (RENEWAL_WINDOW_EARLY when the CA moved it well before the usual
// point, as in a mass revocation).

#include <QDateTime>
#include <QString>

namespace staplescope {

struct RenewalWindow {
    QDateTime start;          // suggestedWindow.start (UTC)
    QDateTime end;            // suggestedWindow.end (UTC)
    QString explanationUrl;   // explanationURL, when the CA gives one (escaped when shown)
    QString source;           // the renewalInfo URL asked
    QDateTime fetchedAt;      // when it was asked
    QDateTime retryAfter;     // from Retry-After: do not ask again before this (null: not given)

    bool isNull() const { return start.isNull() && end.isNull(); }
};

} // namespace staplescope
