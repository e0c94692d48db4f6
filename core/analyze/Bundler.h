#pragma once

#include "Bundle.h"
#include "Loader.h"
#include "RoleInputs.h"
#include "TrustStore.h"

namespace staplescope {

// Groups loaded objects into bundles: one per end-entity certificate.
class Bundler {
public:
    explicit Bundler(const TrustStore* trust = nullptr);

    // Drag-and-drop of files or folders: roles are inferred.
    QList<Bundle> bundle(const LoadedInputs& inputs) const;
    // Roles given explicitly: the certificate file's first end-entity certificate heads the bundle,
    // every staple given belongs to it, the chain keeps the order it was given in.
    QList<Bundle> bundleExplicit(const RoleInputs& roles) const;
    // Roles and positional paths as one input set. The roles decide what they decide (the --cert
    // file's leaf heads its bundle, --chain gives the order as sent, --staple and --key belong to
    // it); what was given positionally is also available to that bundle: CRLs by issuer, staples
    // by CertID (or as the only staple when no --staple was given), keys by public key, CA
    // certificates as path candidates. Positional leaves still make bundles of their own. An
    // object given both ways (the same file, or the same certificate in two files) counts once,
    // in its role.
    QList<Bundle> bundleInputSet(const RoleInputs& roles, const LoadedInputs& positional) const;

private:
    const TrustStore* m_trust;
};

} // namespace staplescope
