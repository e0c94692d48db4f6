#pragma once

#include "Certificate.h"
#include "Crl.h"
#include "OcspStaple.h"
#include "PrivateKey.h"
#include "RenewalWindow.h"

namespace staplescope {

// Why a staple sits in a bundle: the analysis words its findings differently for each.
enum class StapleAttachment {
    CertIdMatch,         // its CertID names this bundle's leaf
    Explicit,            // the user said so (--staple, a live handshake)
    PreviousCertificate, // its CertID names an older certificate this leaf superseded
    BesideFiles,         // it names no certificate here but lies beside this bundle's files
    OnlyBundle,          // it names no certificate here and this is the only bundle
};

struct AttachedStaple {
    OcspStaple staple;
    StapleAttachment attachment = StapleAttachment::CertIdMatch;
};

enum class KeyStatus { NotProvided, Matches, Mismatch, Encrypted };

// Paths are built up to this many certificates above the leaf. Real chains have 1 to 3; anything
// longer comes from hostile or broken input and is reported as such (CHAIN_TOO_LONG).
inline constexpr int kMaxChainLength = 12;

// A leaf certificate with what belongs to it: chain, staples, key.
struct Bundle {
    QString id;                    // the leaf's id (plus the origin for served bundles)
    QString origin;                // folder or file, explicit role list, or "host:port [addr]"
    bool served = false;           // received from a live server
    QString expectedHostName;      // for served bundles: the name the client asked for (SNI)
    Certificate leaf;
    // The certification path built from the provided certificates, leaf's issuer first.
    QList<Certificate> chain;
    // The certificates as a server would send them after the leaf (fullchain.pem order, --chain,
    // a handshake). Empty when the inputs give no order (separate files in a folder).
    QList<Certificate> chainAsGiven;
    QString chainAsGivenSource;    // the file (or server) that gave that order
    bool leafFirstAsGiven = true;  // false when that file holds the leaf after other certificates
    bool chainTooLong = false;     // path building stopped at kMaxChainLength
    // A trust anchor from the trust store that completes the path (not provided by the inputs).
    Certificate anchor;
    QList<AttachedStaple> staples;
    PrivateKey key;
    KeyStatus keyStatus = KeyStatus::NotProvided;
    QList<Crl> crls;
    // Responses the certificate's OCSP responder gave when asked (inspect --online): shown beside
    // the staples on the timeline; never judged as staples, since no server sends them.
    QList<OcspStaple> onlineResponses;
    // Older certificates for the same names from the same CA (the "previous certificates").
    QList<Certificate> previousCertificates;
    // Set when a newer certificate for the same names from the same CA exists.
    Certificate supersededBy;
    // Delegated OCSP responder certificates found among the inputs.
    QList<Certificate> responderCertificates;
    // Every certificate seen in the inputs, so a stray staple can be traced to its owner.
    QList<Certificate> knownCertificates;
    // The CA's suggested renewal window for the leaf (ACME Renewal Information), when it was asked
    // (renew, the window's Renew…): its own timeline lane, and RENEWAL_WINDOW_EARLY.
    RenewalWindow renewalWindow;

    bool isSuperseded() const { return !supersededBy.isNull(); }
    // The leaf's issuer as found among the inputs or trust anchors (null when unavailable).
    Certificate issuer() const
    {
        if (!chain.isEmpty())
            return chain.first();
        return anchor;
    }
};

} // namespace staplescope
