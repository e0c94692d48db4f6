#pragma once

#include "Certificate.h"
#include "OcspStaple.h"
#include "PrivateKey.h"

namespace staplescope {

// Why a staple sits in a bundle: the analysis words its findings differently for each.
enum class StapleAttachment {
    CertIdMatch,  // its CertID names this bundle's leaf
    Explicit,     // the user said so (--staple, a server's stapling file, a live handshake)
    BesideFiles,  // it names no current certificate but lies beside this bundle's files
    OnlyBundle,   // it names no current certificate and this is the only bundle
};

struct AttachedStaple {
    OcspStaple staple;
    StapleAttachment attachment = StapleAttachment::CertIdMatch;
};

enum class KeyStatus { NotProvided, Matches, Mismatch, Encrypted };

// A leaf certificate with what belongs to it: chain, staples, key.
struct Bundle {
    QString id;                    // the leaf's id
    QString origin;                // folder, explicit role list, or "host:port [addr]"
    Certificate leaf;
    // Issuers in path order (leaf's issuer first). For explicit and served bundles this is the
    // order they were given in, so the analysis can tell a wrong order from a right one.
    QList<Certificate> chain;
    bool chainOrderMatters = false; // explicit roles or live server
    QList<Certificate> extraChainCerts; // provided alongside but not on this leaf's path
    QList<AttachedStaple> staples;
    PrivateKey key;
    KeyStatus keyStatus = KeyStatus::NotProvided;
    QList<Crl> crls;
    // Older certificates for the same names from the same CA (the "previous certificates").
    QList<Certificate> previousCertificates;
    // Set when a newer certificate for the same names from the same CA exists.
    Certificate supersededBy;
    // Every certificate seen in the inputs, so a stray staple can be traced to its owner.
    QList<Certificate> knownCertificates;

    bool isSuperseded() const { return !supersededBy.isNull(); }
    // The leaf's issuer as found among the inputs or trust anchors (null when unavailable).
    Certificate issuer() const { return chain.isEmpty() ? Certificate() : chain.first(); }
};

} // namespace staplescope
