#pragma once
// `inspect --online`: the usual report of a session, plus what the network says about each
// bundle's certificate, without installing anything. For each bundle: the issuer is fetched from
// the CA Issuers URL when the inputs lack it; the certificate's OCSP responder (or --responder) is
// asked; a certificate without a responder is checked through its CRL Distribution Point, and the
// fetched CRL joins the bundle (bundle.crls), so the analysis reports a revocation it lists and the
// timeline shows its window.
//
// What comes back is only checked as far as needed to say something true: the response must be
// successful, about this certificate, signed by its issuer or a responder the issuer authorised,
// and within its window (5 minutes of skew allowed). Then: REVOCATION_CHECKED (good), CERT_REVOKED
// (revoked, with time and reason), or OCSP_FETCH_FAILED saying what was wrong (an error, or a
// warning while the staple on disk is still good). Deciding whether to
// install a response is the refresh engine's (core/act), which judges it as a staple on disk.

#include "Inspection.h"
#include "OnlineLookup.h"

#include <atomic>

namespace staplescope {

// Evaluates `session` at analysis.at (null: `clock`'s now) and adds the online findings to each
// bundle's report (worst, verdict and timeline recomputed).
InspectionReport inspectOnline(const InspectionSession& session, AnalysisOptions analysis, OnlineLookup& lookup,
                               const Clock& clock = *Clock::system(), const std::atomic<bool>* cancel = nullptr);

} // namespace staplescope
