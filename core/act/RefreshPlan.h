#pragma once
// What a staple refresh will do, as a value (STYLE.md 17): made first by RefreshEngine, printed by
// `refresh --dry-run` and the window's plan dialog, written as JSON for `staplescope-cli apply`
// (the privileged step the window hands to pkexec), and only then executed by StapleInstaller.

#include "Finding.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>

#include <optional>

namespace staplescope {

enum class RefreshOutcome {
    Install,        // a fresh, installable response is written to `destination`
    KeepCurrent,    // the current staple is good and at least as recent (or the fetch failed and it is still good)
    NotDue,         // --if-due: the current staple is good and before its refresh point
    Skipped,        // nothing to refresh: no OCSP URL (CA without OCSP), no staple destination known, …
    Failed,         // no installable response, and nothing was changed (current staple missing, bad, or kept by --keep-stale)
    MoveStaleAside, // no installable response; the current staple is wrong for this certificate: renamed to `<file>.stale`
};
// As printed: "installed", "kept current", "not due", "skipped", "failed", "stale removed".
QString refreshOutcomeName(RefreshOutcome outcome);
// Machine name for JSON: "install", "keep-current", "not-due", "skipped", "failed", "move-stale-aside".
QString refreshOutcomeKey(RefreshOutcome outcome);
std::optional<RefreshOutcome> refreshOutcomeFromKey(const QString& key);

// A staple's identity and window, as shown in plans and on the timeline.
struct StapleWindow {
    QString serial;            // the certificate serial it answers for (hex with colons)
    QString status;            // "good", "revoked", "unknown"
    QDateTime thisUpdate;
    QDateTime nextUpdate;      // null: none given
    bool isNull() const { return thisUpdate.isNull() && serial.isEmpty(); }
};

struct BundleRefresh {
    QString bundleId;          // Bundle::id
    QString name;              // what the line names: the leaf's first DNS name, else its subject CN
    QString serial;            // the leaf's serial
    QString certificatePath;   // the leaf's file
    RefreshOutcome outcome = RefreshOutcome::Skipped;
    QString reason;            // one sentence: why this outcome ("the responder answered tryLater; the current staple is good until …")
    QString destination;       // the staple file written or moved aside; empty when none
    // SHA-256 of what `destination` held when the plan was made; empty when it did not exist.
    // The installer refuses to act when the file changed since (apply runs later, as root).
    // The 32 raw bytes (QCryptographicHash::Sha256); lowercase hex in JSON.
    QByteArray destinationSha256;
    QByteArray newStapleDer;   // Install: the response, DER
    StapleWindow current;      // the staple there now (null: none)
    StapleWindow fetched;      // what the responder gave (null: nothing usable)
    QString responder;         // the URL asked
    bool exim = false;         // the destination is an Exim tls_ocsp_file (docs/refresh.md: the ${if exists} form)
    bool mustStaple = false;
    QList<Finding> findings;   // why: fetch failures, the fetched response's judgement, revocation
    // The monitoring severity of this line: Info when the bundle ends with a good staple (or needs
    // none), Warning when the current staple was kept because the responder failed, Error/Critical
    // when the bundle is left without a good staple.
    Severity severity = Severity::Info;

    bool changesFiles() const { return outcome == RefreshOutcome::Install || outcome == RefreshOutcome::MoveStaleAside; }
};

struct RefreshPlan {
    QDateTime madeAt;               // UTC: the evaluation time the plan was judged at
    QList<BundleRefresh> bundles;
    QString reloadCommand;          // run once (sh -c) after any change; empty: none
    QString haproxySocket;          // HAProxy runtime API socket: `set ssl ocsp-response` per installed staple
    QList<Finding> inputFindings;   // input problems (unreadable files …), reported with the plan

    bool changesAnything() const;
    Severity worst() const;         // over the bundles' severities
    // 0 every bundle that should have a staple has a good one, 1 a warning, 2 a bundle is left
    // without a good staple (monitoring convention, as `inspect`).
    int exitCode() const;

    // The plan file `apply` reads and `refresh --json` prints (docs/json-schema.md). DER is base64.
    QJsonObject toJson() const;
    static std::optional<RefreshPlan> fromJson(const QJsonObject& json, QString* error);
};

// The JSON pieces the plan files share (deploy plans use them too): findings as in the report
// schema, a staple window (null when none), a UTC time (null when null).
QJsonArray findingsToJson(const QList<Finding>& findings);
QJsonValue stapleWindowToJson(const StapleWindow& window);
// One line for the CLI: "good for serial 0A:…, <thisUpdate> to <nextUpdate>", or "none".
QString stapleWindowLine(const StapleWindow& window);
QJsonValue utcTimeToJson(const QDateTime& time);

} // namespace staplescope
