#pragma once
// What a deploy will do, as a value (STYLE.md 17): made first by Deployer::planDeploy, printed by
// `deploy --dry-run` and the window's Deploy… dialog, and only then executed (executeDeploy).
//
// A deploy destination DEST holds generations, each one certificate's complete set of files as
// servers read them, and one symlink `DEST/current` naming the generation in use:
//
//   DEST/generations/20261202T051500Z-0A1B2C3D/{fullchain.pem, chain.pem, cert.pem, privkey.pem,
//                                                ocsp.der, haproxy.pem, haproxy.pem.ocsp, path}
//   DEST/current -> generations/20261202T051500Z-0A1B2C3D
//
// Servers point at DEST/current/…; the symlink is flipped by renaming a new symlink over it, so a
// server sees the whole old set or the whole new set, never a certificate with another's staple.

#include "Finding.h"
#include "RefreshPlan.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace staplescope {

// Which files a generation holds. Nginx and Exim read the PEM set and ocsp.der; HAProxy reads
// haproxy.pem (certificate, chain, key) and haproxy.pem.ocsp beside it. All: both.
enum class DeployLayout { All, Nginx, Exim, Haproxy };
QString deployLayoutKey(DeployLayout layout);                              // "all", "nginx", "exim", "haproxy"
std::optional<DeployLayout> deployLayoutFromKey(const QString& key);
// The file names a generation of this layout holds; without a staple, no ocsp.der / haproxy.pem.ocsp.
QStringList generationFileNames(DeployLayout layout, bool withStaple);
// Besides those, every generation holds a file of this name ("path") with the generation's own
// absolute path and no newline. A server that opens its files one by one per connection (Exim)
// reads it once through DEST/current and opens everything else under that path, so one
// connection never mixes two generations (docs/deploy.md, Exim).
QString generationPathFileName();

// Where the certificate comes from.
enum class DeploySourceKind { CertbotLineage, Lego, AcmeSh, Folder };
QString deploySourceKindName(DeploySourceKind kind);                       // "certbot lineage", "lego", "acme.sh", "folder"

struct DeploySource {
    QString path;              // as given (--from)
    DeploySourceKind kind = DeploySourceKind::Folder;
    QString name;              // the lineage's or certificate's name (certbot: live/NAME)
    // The files read, symlinks resolved; chainFile/fullchainFile may be empty when the source
    // keeps the chain in one of them only.
    QString certificateFile;
    QString chainFile;
    QString fullchainFile;
    QString keyFile;
};
// The source as plans print it: file names only.
QJsonObject deploySourceToJson(const DeploySource& source);

// One generation of a destination, as listed (`deploy --list`, the window's generations view).
struct GenerationInfo {
    QString name;              // folder name under DEST/generations: "<UTC yyyyMMddTHHmmssZ>-<serial hex>"
    QString path;              // absolute
    bool current = false;      // DEST/current points at it
    QString certificateName;   // the leaf's first DNS name, else its subject CN
    QString serial;            // hex with colons
    QDateTime notBefore;
    QDateTime notAfter;
    bool mustStaple = false;
    StapleWindow staple;       // its ocsp.der (null: none)
    QString problem;           // set when the generation cannot be read (files missing or damaged)
};

enum class DeployAction {
    Deploy,     // build a new generation, gate it, make it current, tell the servers, verify
    UpToDate,   // current already holds this certificate with a still-good staple: nothing to do
    Refused,    // the new generation would fail the gate (or must-staple without a good staple): nothing changes
};
QString deployActionKey(DeployAction action);                              // "deploy", "up-to-date", "refused"

struct DeployPlan {
    QDateTime madeAt;                 // UTC: the evaluation time the plan was judged at
    DeploySource source;
    QString destination;              // DEST, absolute
    DeployLayout layout = DeployLayout::All;
    DeployAction action = DeployAction::Refused;
    QString reason;                   // one sentence: why this action

    // The certificate deployed (public data only: the key never enters a plan).
    QString certificateName;
    QString serial;
    QDateTime notBefore;
    QDateTime notAfter;
    bool mustStaple = false;
    bool hasOcspUrl = false;

    QString generationName;           // Deploy: the new generation's folder name
    StapleWindow staple;              // the fresh staple for the new generation (null: none)
    QByteArray stapleDer;             // DER; empty: the generation has no staple
    QString responder;                // the OCSP URL asked (empty: none)
    GenerationInfo current;           // what DEST/current points at now (name empty: nothing yet)
    QStringList generationsToRemove;  // beyond `keep`, oldest first; never the current or new one
    bool staplesOnly = false;         // a staple refresh of the current certificate (refresh on DEST)
    // A run that was killed after flipping DEST/current to this generation did not finish telling
    // the servers (reload, HAProxy, verify): executeDeploy finishes that even when action is
    // UpToDate. Empty: nothing unfinished.
    QString unfinishedGeneration;

    int keep = 3;
    QString reloadCommand;            // sh -c, after the flip (and after a rollback); empty: none
    QString haproxySocket;            // HAProxy runtime API: set ssl cert / set ssl ocsp-response + commit
    QString verify;                   // HOST:PORT checked after the flip; empty: no check
    QString verifyStartTls;           // the STARTTLS protocol for verify ("smtp", …); empty: by port

    QList<Finding> findings;          // the gate's findings, fetch failures, DEPLOY_REFUSED
    Severity severity = Severity::Info;

    bool changesAnything() const { return action == DeployAction::Deploy; }
    // executeDeploy has something to do: a new generation, or an unfinished earlier one.
    bool needsExecution() const { return changesAnything() || !unfinishedGeneration.isEmpty(); }
    // 0 deployed or up to date with a good staple (or none needed), 1 warning, 2 refused (monitoring convention).
    int exitCode() const;
    // `deploy --json` (docs/json-schema.md, "deploy plan"). Never holds key material.
    QJsonObject toJson() const;
};

} // namespace staplescope
