#pragma once

#include <QHashFunctions>
#include <QStringList>

namespace staplescope {

// The files of one inspection as the user named them: paths whose roles are inferred (dropped on
// the window, `inspect PATH…`, `connect --compare PATH`) and files given a role, as a server
// configuration names them (Exim tls_certificate / tls_privatekey / tls_ocsp_file, nginx
// ssl_certificate / ssl_certificate_key / ssl_stapling_file). The same type for `inspect`, for
// `connect`'s comparison and for the window; Loader::loadRoles reads the roles.
struct RoleFiles {
    QStringList paths;       // files or folders, roles inferred
    QStringList certFiles;   // the certificate (leaf first; the chain may follow: fullchain.pem)
    QStringList chainFiles;  // the chain, in the order it is sent
    QStringList stapleFiles; // the OCSP staple
    QStringList keyFiles;    // the private key

    // Any file given with a role (the bundle is then built around the certificate file).
    bool hasRoles() const
    {
        return !certFiles.isEmpty() || !chainFiles.isEmpty() || !stapleFiles.isEmpty() || !keyFiles.isEmpty();
    }
    bool isEmpty() const { return paths.isEmpty() && !hasRoles(); }

    friend bool operator==(const RoleFiles&, const RoleFiles&) = default;
};

inline size_t qHash(const RoleFiles& files, size_t seed = 0)
{
    return qHashMulti(seed, files.paths, files.certFiles, files.chainFiles, files.stapleFiles,
                      files.keyFiles);
}

} // namespace staplescope
