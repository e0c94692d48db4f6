#pragma once

#include "Loader.h"

namespace staplescope {

// What the files given with roles held, role by role (Loader::loadRoles), or what a live server
// served in those roles: the data the Bundler turns into one bundle.
struct RoleInputs {
    LoadedInputs cert; // may also hold the chain (fullchain.pem)
    LoadedInputs chain;
    LoadedInputs staple;
    LoadedInputs key;
    QString origin;      // how to name this bundle's source ("--cert …", "host:port [addr]")
    bool served = false; // from a live server

    // Findings and file names of all four roles, in role order.
    QList<Finding> findings() const
    {
        return cert.findings + chain.findings + staple.findings + key.findings;
    }
    QStringList files() const { return cert.files + chain.files + staple.files + key.files; }
};

} // namespace staplescope
