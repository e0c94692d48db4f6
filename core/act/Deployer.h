#pragma once
// Deploying one certificate's files into a destination of generations (DeployPlan.h): plan
// (read the source, fetch a fresh staple through the refresh engine's lookups, judge the would-be
// generation with the Analyzer), then execute under a lock per destination: write the generation
// into a temporary folder, fsync, rename it into place, inspect it from disk (the gate: no error
// or critical finding), flip DEST/current, tell the servers (reload command, HAProxy runtime API),
// verify what a live handshake serves, and roll back when that check fails. A crash at any step
// leaves DEST/current naming a complete, gated generation (the old one or the new one).
//
// Fault points (STYLE.md 17, core/model/FaultPoint.h): STAPLESCOPE_FAULT_POINT=<name> kills the
// process with SIGKILL at that step; tests kill `staplescope-cli deploy` at every one.

#include "DeployPlan.h"
#include "OnlineLookup.h"
#include "StapleInstaller.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>
#include <optional>

namespace staplescope {

struct DeployOptions {
    QString from;                     // SRC: a certbot lineage, lego/acme.sh output, or a folder with one current certificate
    QString to;                       // DEST
    DeployLayout layout = DeployLayout::All;
    int keep = 3;                     // generations kept (the current one included); at least 1
    QString reloadCommand;
    QString haproxySocket;
    // The crt path as HAProxy's configuration names it (`set ssl cert <path>`); empty:
    // DEST/current/haproxy.pem.
    QString haproxyCertPath;
    QString verify;                   // HOST:PORT
    QString verifyStartTls;           // "smtp", "imap", … ; empty: chosen by port as `connect` does
    int verifyTimeoutMs = 10000;      // each check; also how long a check that still sees the old generation after a reload is repeated
    bool force = false;               // deploy even when current already holds this certificate with a good staple
    bool staplesOnly = false;         // refresh on a deployed DEST: same certificate, fresh staple, new generation
    QStringList caFiles;              // trust for the gate (private CAs)
    bool useSystemTrust = true;
    OnlineOptions online;             // the staple fetch (responder override, timeouts, proxies)
    int lockTimeoutMs = 30000;
    int reloadTimeoutMs = 60000;
    int haproxyTimeoutMs = 10000;
};

// The named steps, in the order a deploy passes them: "deploy-locked", "generation-written",
// "generation-synced", "generation-renamed", "gate-passed", "link-created", "flipped",
// "before-reload", "after-reload", "verified", "rolled-back", "pruned".
QStringList deployFaultPoints();

// Reads SRC (certbot lineage symlinks resolved) into exactly one current certificate with its
// key and chain; nullopt and `why` ("… holds 2 current certificates: …") otherwise.
std::optional<DeploySource> readDeploySource(const QString& path, QString* why);

// DEST as found on disk: its generations, newest first, and which is current. Empty when DEST is
// not a deploy destination (yet). `why` is set when it exists but cannot be read.
QList<GenerationInfo> listGenerations(const QString& destination, QString* why = nullptr);
// The deploy destination a path lies in (DEST itself, DEST/current, DEST/current/FILE,
// DEST/generations/NAME/FILE); empty when none. `refresh` uses it to deploy instead of writing
// into a generation.
QString deployDestinationOf(const QString& path);

// The destinations among `candidates` whose current generation holds a certificate for one of
// `leaf`'s DNS names (or its subject CN): where a renewal of that certificate belongs (the
// window's Renew… deploys there after the client ran).
QStringList destinationsServing(const Certificate& leaf, const QStringList& candidates);

// Reads, fetches, judges and decides, evaluating at `at` (UTC). Changes nothing.
DeployPlan planDeploy(const DeployOptions& options, const QDateTime& at, const std::atomic<bool>* cancel = nullptr,
                      const std::function<void(const QString& step)>& progress = {});

struct VerifyResult {
    QString target;                   // HOST:PORT
    bool ok = false;                  // served the new generation's certificate with its staple (or none when it has none)
    QString servedSerial;             // empty: nothing served (connection failed)
    QString servedStapleSerial;       // the serial the served staple answers for; empty: none stapled
    QString summary;                  // one line, for reports: what was served and how it compares
    QList<Finding> findings;          // the live check's findings
};

struct DeployResult {
    DeployAction action = DeployAction::Refused; // what the plan asked
    bool flipped = false;             // DEST/current was changed to the new generation
    bool rolledBack = false;          // … and changed back after the verify failed
    // Nothing was done because DEST/current changed between the plan and the lock (another run
    // deployed): plan again and act on what is there now.
    bool planOutdated = false;
    QString generation;               // the new generation's name (empty when none was built)
    QString previousGeneration;       // what current pointed at before (empty: none)
    QString currentGeneration;        // what current points at now
    std::optional<CommandRun> reload;
    std::optional<CommandRun> reloadAfterRollback;
    QList<HaproxyUpdate> haproxy;
    std::optional<VerifyResult> verify;
    std::optional<VerifyResult> verifyAfterRollback;
    QStringList removedGenerations;
    QList<Finding> findings;          // the gate on disk, DEPLOY_ROLLED_BACK, DEPLOY_REFUSED, step failures
    QString message;                  // one sentence: what happened
    bool ok() const;                  // deployed (or up to date) and verified when asked; no rollback
    int exitCode() const;             // 0 / 1 / 2 as the plan's
};

// Executes a plan under the destination's lock (re-planning nothing: a destination whose current
// generation changed since the plan is refused with a message). `progress` names each step.
DeployResult executeDeploy(const DeployPlan& plan, const DeployOptions& options, const std::atomic<bool>* cancel = nullptr,
                           const std::function<void(const QString& step)>& progress = {});

// Flips DEST/current back to the newest generation before the current one (or to `generation`
// when given), under the lock, then reloads and verifies as in options. The window's Roll back and
// `deploy --rollback`.
DeployResult rollbackDeploy(const DeployOptions& options, const QString& generation = {});

// `deploy --json` of a plan and its result (docs/json-schema.md).
QJsonObject deployResultToJson(const DeployResult& result);
QJsonObject generationInfoToJson(const GenerationInfo& generation);

} // namespace staplescope
