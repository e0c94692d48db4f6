#pragma once
// Executes a RefreshPlan: for each bundle, under a lock per destination folder, re-checks that the
// destination still holds what the plan saw, then writes the new staple with AtomicFile (DER,
// mode and owner kept) or renames the stale one to `<file>.stale`; then tells the servers once
// (the reload command, HAProxy's runtime API). A crash at any moment leaves the whole old or the
// whole new staple.
//
// Fault points (STYLE.md 17): with STAPLESCOPE_FAULT_POINT=<name> in the environment the process
// kills itself with SIGKILL when it reaches that point; tests use it to prove crash safety.

#include "ProcessRunner.h"
#include "FaultPoint.h"
#include "RefreshPlan.h"

#include <QJsonObject>

#include <QString>
#include <QStringList>

#include <atomic>

namespace staplescope {

// The named points, in the order an install passes them: "locked", "checked", "temp-written",
// "temp-synced", "renamed", "folder-synced", "stale-renamed", "before-reload", "after-reload",
// "haproxy-sent".
QStringList installFaultPoints();
// faultPoint(name) (core/model/FaultPoint.h, re-exported here) kills the process when
// STAPLESCOPE_FAULT_POINT names the point; "temp-written" … "folder-synced" are AtomicFile's own.

struct StepResult {
    QString bundleId;
    QString destination;
    RefreshOutcome outcome = RefreshOutcome::Skipped; // what the plan asked
    bool done = false;        // the file change happened
    QString message;          // what was done, or why not ("… changed since the plan was made: nothing written")
};

struct HaproxyUpdate {
    QString bundleId;
    bool ok = false;
    QString answer;           // HAProxy's reply ("OCSP Response updated!") or the error
};

struct InstallOptions {
    int lockTimeoutMs = 30000;    // waiting for another run holding the same folder
    int reloadTimeoutMs = 60000;
    int haproxyTimeoutMs = 10000;
    // `apply` run as root on behalf of another user (pkexec, sudo): write only where that user
    // cannot redirect the write, i.e. every folder on the destination's path (as given and as
    // resolved) is owned by root and writable by root only (docs/security.md).
    bool onlyRootControlledPaths = false;
};

struct InstallResult {
    QList<StepResult> steps;          // one per bundle whose plan changes files, in plan order
    std::optional<CommandRun> reload; // when a reload command was given and something changed
    QList<HaproxyUpdate> haproxy;     // when a socket was given, per installed staple
    bool ok() const;                  // every step done, reload (if any) exited 0, every HAProxy update ok
};

InstallResult executeRefreshPlan(const RefreshPlan& plan, const InstallOptions& options = {},
                                 const std::atomic<bool>* cancel = nullptr);

// Empty when `bundle.destination` holds what the plan saw (destinationSha256; empty: nothing
// there), else why not ("/etc/exim4/ocsp.der changed since the plan was made"). Read-only, no
// lock: `apply --dry-run` uses it; executeRefreshPlan checks again under the lock.
QString destinationChangeSincePlan(const BundleRefresh& bundle);

// The result as `apply --json` prints it (docs/json-schema.md, "apply result").
QJsonObject installResultToJson(const InstallResult& result);

// Runs `command` with /bin/sh -c, bounded in time and output (the reload step; also for tests).
CommandRun runShellCommand(const QString& command, int timeoutMs);
// Sends `set ssl ocsp-response <base64>` over HAProxy's runtime API socket.
HaproxyUpdate sendHaproxyOcspResponse(const QString& socketPath, const QByteArray& der, int timeoutMs);
// Sends `payload` (one command, or a command with a `<<` payload ending in an empty line) over
// HAProxy's runtime API socket and reads the answer until HAProxy closes; ok when the answer
// (trimmed) starts with `expectedAnswerStart`. Deploy uses it for `set ssl cert` / `commit ssl cert`.
HaproxyUpdate sendHaproxyCommand(const QString& socketPath, const QByteArray& payload, int timeoutMs,
                                 const QString& expectedAnswerStart);

} // namespace staplescope
