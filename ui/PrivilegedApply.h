#pragma once
// The window never runs as root. When a refresh plan changes files the user cannot write (staples
// under /etc owned by root), the plan is written as JSON to a private file and handed to
// `staplescope-cli apply PLAN.json` through pkexec (polkit: packaging/org.staplescope.Staplescope.policy);
// where pkexec or polkit is missing, the user gets the exact sudo line to run instead.
//
// Only the plumbing lives here: which files need privileges, where the CLI is, the plan file,
// the command lines, and running a process off the GUI thread. The deciding is core's (the plan)
// and the CLI's (`apply` re-checks the plan against the files).

#include "Deployer.h"
#include "RefreshPlan.h"
#include "Renewal.h"

#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>

namespace staplescope::ui {

// Whether the user may change `path` in place: its folder must let us create and rename (the
// atomic write and the move aside both rename there), and an existing file must be writable.
using WriteAccessCheck = std::function<bool(const QString& path)>;
bool userCanReplace(const QString& path);

// Whether the user may create and rename entries in `folder`, or, when it does not exist yet, in
// the nearest folder above it that does (where it would be created).
bool userCanWriteFolder(const QString& folder);

// The destinations of the plan's file changes that `canReplace` refuses, in plan order.
QStringList destinationsNeedingPrivileges(const RefreshPlan& plan, const WriteAccessCheck& canReplace = userCanReplace);

// staplescope-cli next to the running binary (an install, a build folder), else in PATH; empty when neither.
QString findStaplescopeCli();
// pkexec in PATH; empty when not installed.
QString findPkexec();

struct PlanFile {
    QString path;  // empty when it could not be written
    QString error; // why not
};
// Writes plan.toJson() to a new private file (mode 0600) in the temporary folder. It is kept:
// pkexec reads it after this returns, and the sudo line names it.
PlanFile writePlanFile(const RefreshPlan& plan);

// Quotes `word` for a POSIX shell when it needs it (a line to copy into a terminal).
QString shellQuoted(const QString& word);
// "sudo /usr/bin/staplescope-cli apply /tmp/staplescope-plan-….json": what to run by hand.
QString sudoApplyLine(const QString& cliPath, const QString& planFile);

// Deploy and renew as administrator: the window never runs as root and hands nothing to pkexec
// here (a deploy reads a private key and runs a reload command); it shows the exact command line
// to run in a terminal instead. `cliPath` empty: "staplescope-cli" (from PATH).
// "sudo staplescope-cli deploy --from SRC --to DEST --layout all --keep 3 [--reload-command CMD] …"
QString sudoDeployLine(const QString& cliPath, const DeployOptions& options);
// "sudo staplescope-cli rollback…": `deploy --to DEST --rollback [--generation NAME] …"
QString sudoRollbackLine(const QString& cliPath, const DeployOptions& options, const QString& generation);
// "sudo staplescope-cli renew --client certbot [--force] [--deploy-to DEST …] PATH…"
QString sudoRenewLine(const QString& cliPath, const QStringList& paths, const RenewOptions& options);

// What a process did: for pkexec, its own failures and then the CLI's exit status and output.
struct ProcessRun {
    bool started = false;
    int exitCode = -1;     // -1: did not start, crashed, timed out or was cancelled
    bool timedOut = false;
    bool cancelled = false;
    QString output;        // stdout and stderr together, bounded (kMaxProcessOutput), control characters escaped
    QString error;         // why it did not start or finish
};
inline constexpr qsizetype kMaxProcessOutput = 64 * 1024;

// Runs a program (no shell) and waits for it on the calling thread (a job's worker), polling
// `cancel`; killed after `timeoutMs`. Tests replace it (Workspace::setProcessRunner).
using ProcessRunner = std::function<ProcessRun(const QString& program, const QStringList& arguments,
                                               const std::atomic<bool>* cancel)>;
ProcessRun runProcess(const QString& program, const QStringList& arguments, const std::atomic<bool>* cancel,
                      int timeoutMs);

// pkexec's own exit statuses (pkexec(1)): it could not get an authorization (no polkit, no agent,
// not allowed), or the user dismissed the dialog. Any other status is the CLI's.
inline constexpr int kPkexecNotAuthorized = 127;
inline constexpr int kPkexecDismissed = 126;

} // namespace staplescope::ui
