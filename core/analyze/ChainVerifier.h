#pragma once
// The chain verdict of a strict client: OpenSSL's own path building and validation
// (X509_verify_cert), run at the evaluation time with the bundle's certificates as untrusted
// candidates. The analysis words what it finds; this only records it.

#include "Bundle.h"
#include "TrustStore.h"

#include <QDateTime>

namespace staplescope {

// The OpenSSL security level strict clients run at: Debian 12's default (openssl.cnf
// CipherString = DEFAULT@SECLEVEL=2), as most current distributions.
inline constexpr int kClientSecurityLevel = 2;

// One complaint of the verifier: an X509_V_ERR_* code at a depth of the path it built.
struct VerifyProblem {
    int error = 0;
    int depth = 0;
    Certificate cert;      // the certificate at that depth (null when the verifier named none)
};

struct ChainVerification {
    // The path OpenSSL built, leaf first, each certificate followed by its issuer. Ends at a trust
    // anchor when one was reached; otherwise where path building stopped.
    QList<Certificate> path;
    bool endsAtAnchor = false;
    // Every error met: the verifier is told to go on after each, so one run names them all.
    // Each (error, depth) pair once.
    QList<VerifyProblem> problems;

    bool hasError(int error) const;
    // The path above the leaf: its issuer first, the anchor (when reached) last.
    QList<Certificate> aboveLeaf() const { return path.mid(1); }
    bool onPath(const Certificate& cert) const;
};

// `trust` null: no anchors at all. CRLs in the bundle are checked for every certificate whose
// issuer published one; a level without a CRL is not an error (clients rarely demand them).
ChainVerification verifyChain(const Bundle& bundle, const TrustStore* trust, const QDateTime& at);

} // namespace staplescope
