#pragma once
// What the window shows and the work that produces it: the files opened and the live servers
// checked (one combined session), the report "as of" a chosen moment, and the jobs that load,
// evaluate and check off the GUI thread. It builds no widget: a window observes it through
// signals and asks for a password through a callback, so tests drive it without a window.
//
// A job is a named unit of work: its work runs on a worker thread with a cancel flag and a
// progress channel (JobControl) and returns what to apply on the GUI thread (JobResult). Every
// jobStarted is followed by exactly one jobFinished or jobFailed, once the work has returned.
// Acting jobs (the staple refresh: plan, then apply) are jobs too; the staples a refresh replaced
// are kept here and drawn on the bundle's timeline beside the new ones.

#include "AtomicFile.h"
#include "Clock.h"
#include "Deployer.h"
#include "Inspection.h"
#include "PrivilegedApply.h"
#include "RefreshEngine.h"
#include "Renewal.h"
#include "ServerCheck.h"
#include "StapleInstaller.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

class QTemporaryDir;

namespace staplescope::ui {

class AppSettings;
class Workspace;

enum class ExportFormat { Markdown, Html, Json };

enum class JobKind {
    Load,        // read files and folders, bundle them, evaluate once
    Evaluate,    // evaluate the session again as of another moment (or with other thresholds)
    ServerCheck, // probe a live server and compare it with files
    PlanRefresh, // fetch and judge fresh staples; changes nothing (RefreshEngine)
    ApplyRefresh,// carry a refresh plan out: in-process, or through `staplescope-cli apply` with pkexec
    PlanDeploy,  // read a source, fetch its staple, judge the would-be generation; changes nothing (Deployer)
    Deploy,      // carry a deploy plan out: write the generation, gate, flip, reload, verify
    Generations, // list a deploy destination's generations
    Rollback,    // flip a destination back to an earlier generation
    DetectClient,// find the ACME client managing a bundle's certificate (Renewal)
    PlanRenew,   // decide whether renewal is due (the CA's renewal window); runs nothing
    Renew,       // run the ACME client for one certificate; not stopped once it has started
    Custom,      // anything else started with Workspace::start()
};

enum class JobOutcome {
    Done,
    Cancelled, // cancel() reached it; its result was applied only if the job asked for that
    Replaced,  // a newer job of the workspace made its result stale (a newer load): dropped
};

struct JobInfo {
    quint64 id = 0;
    JobKind kind = JobKind::Custom;
    QString title; // what it works on, for people: a path, "3 items", "host:443"
    bool cancellable = true;
};

// What a job's work sees on its worker thread. Thread-safe.
class JobControl {
public:
    JobControl(Workspace* workspace, quint64 id) : m_workspace(workspace), m_id(id) { m_sinceStart.start(); }

    quint64 id() const { return m_id; }
    bool isCancelled() const { return m_cancel.load(); }
    // For core calls that poll a flag themselves (LoadOptions::cancel, runServerChecks).
    const std::atomic<bool>* cancelFlag() const { return &m_cancel; }
    // Reaches the GUI thread as jobProgress at most every 50 ms, and always when done == total.
    void setProgress(qint64 done, qint64 total);

private:
    friend class Workspace;
    Workspace* m_workspace;
    quint64 m_id;
    std::atomic<bool> m_cancel{false};
    QElapsedTimer m_sinceStart; // monotonic: progress is throttled by elapsed time, not by the clock
    std::atomic<qint64> m_lastProgressMs{-1'000'000}; // long before the first report
};

// What a job's work returns.
struct JobResult {
    std::function<void()> apply; // run on the GUI thread (see Job::applyWhenCancelled); may be empty
    QString error;               // not empty: the job failed (jobFailed), nothing is applied

    static JobResult failed(const QString& error) { return {{}, error}; }
};

struct Job {
    JobKind kind = JobKind::Custom;
    QString title;
    // Runs on a worker thread; `control` lives until the work returns.
    std::function<JobResult(JobControl& control)> work;
    bool cancellable = true;
    // A cancelled job's result is dropped (a half-read folder would mislead) unless it still
    // says something true (what a cancelled server check got: connection findings).
    bool applyWhenCancelled = false;
};

// What carrying out a refresh plan did.
struct RefreshApplyResult {
    RefreshPlan plan;
    // The destinations the user cannot change: non-empty means the plan went to
    // `staplescope-cli apply` as root (pkexec), or waits for the sudo line.
    QStringList privilegedFiles;
    std::optional<InstallResult> install; // run in-process (every destination writable)
    QString planFile;                     // privileged: the plan as JSON (removed once apply succeeded)
    QString command;                      // privileged: what ran, "pkexec … apply …"; empty when pkexec is missing
    std::optional<ProcessRun> run;        // privileged: what pkexec (and apply under it) did
    QString sudoLine;                     // privileged: to run by hand; empty when pkexec did the work
    QString error;                        // nothing could be tried (no CLI found, the plan file not written)
    // The destinations whose content is no longer what the plan saw: written or moved aside.
    QStringList changedFiles;
    bool cancelled = false;

    bool privileged() const { return !privilegedFiles.isEmpty(); }
    // Everything the plan asked for happened (and the reload and HAProxy updates succeeded).
    bool ok() const;
};

// The ACME client found for a bundle (Workspace::detectClient), kept per bundle id.
struct ClientDetection {
    std::optional<ManagedCertificate> managed;
    QString why;  // nothing recognised: why (then Renew… is not offered)
    QString path; // what was asked: the bundle's certificate file
};

// What starting a job that first prepares something on the GUI thread (the demo) gives.
struct JobStart {
    quint64 id = 0; // 0: not started
    QString error;  // why not
};

class Workspace : public QObject {
    Q_OBJECT
public:
    // Asked on the GUI thread while the loading worker waits; nullopt means "no password".
    using PasswordPrompt = std::function<std::optional<QString>(const QString& path)>;

    // A live server check: what was asked and what it produced.
    struct ServerEntry {
        ServerCheckRequest request;
        QString endpoint; // "host:port": a new check of the same endpoint replaces this one
        std::shared_ptr<InspectionSession> session;
        QStringList bundleIds;
        quint64 job = 0; // the check that produced it
    };

    // `settings` (trust anchors, thresholds) is read when each job starts; it must outlive this.
    explicit Workspace(AppSettings& settings, QObject* parent = nullptr);
    // Cancels every job and waits for its work to return; nothing is applied or signalled then.
    ~Workspace() override;

    // ---- jobs
    quint64 start(Job job);
    // False when the job is not running or cannot be cancelled (an evaluation).
    bool cancel(quint64 id);
    // Every cancellable job (loads and server checks).
    void cancelAll();
    void cancelAll(JobKind kind);
    QList<JobInfo> jobs() const; // running, in the order they started (replaced ones too)
    bool isLoading() const;      // a load runs whose result will be shown
    bool isEvaluating() const;
    bool isConnecting() const;
    bool isRefreshing() const; // planning or applying a staple refresh

    // ---- the session
    // Files and folders (as dropped), with extra trust anchors for this load only. A running
    // load is cancelled and replaced; so is a running evaluation's result.
    quint64 load(const QStringList& paths, const QStringList& caFiles = {});
    // The last paths again (after the trust settings changed); 0 when nothing was loaded.
    quint64 reload();
    // Writes the built-in demo (fresh dates) to a temporary folder of its own and loads it.
    JobStart loadDemo();
    // Checks a live server; its bundles join the session, replacing an earlier check of the
    // same endpoint. A cancelled check is applied too: its findings say what happened.
    quint64 checkServer(const ServerCheckRequest& request);
    // PKCS#12 and encrypted keys ask through this; none: nothing is asked.
    void setPasswordPrompt(PasswordPrompt prompt) { m_passwordPrompt = std::move(prompt); }

    // The "as of" moment; null follows the clock. Re-evaluates: see reevaluate().
    bool setAsOf(const QDateTime& at);
    QDateTime asOf() const { return m_asOf; }
    // Where "now" comes from: the evaluation time when "as of" follows the clock, the demo's dates.
    // The system clock unless a test pins one.
    void setClock(std::shared_ptr<const Clock> clock) { m_clock = clock ? std::move(clock) : Clock::system(); }
    const Clock& clock() const { return *m_clock; }
    // Evaluates the session again (one evaluation at a time; requests made meanwhile collapse
    // into one more). False when there is nothing to evaluate: no session yet, or a load runs
    // whose own report comes next.
    bool reevaluate();

    const InspectionReport& report() const { return m_report; }
    std::shared_ptr<const InspectionSession> session() const { return m_session; }
    bool hasFileSession() const { return m_fileSession != nullptr; }
    const QList<ServerEntry>& servers() const { return m_servers; }
    int serverIndexOfBundle(const QString& bundleId) const;
    int serverIndexOfJob(quint64 id) const;
    // What the last load was asked to read (set when it starts).
    QStringList loadedPaths() const { return m_loadedPaths; }
    QStringList loadedCaFiles() const { return m_loadedCaFiles; }
    bool isDemo() const;
    // The moment the last load evaluates at.
    QDateTime loadTime() const { return m_loadTime; }

    WriteResult exportReport(const QString& path, ExportFormat format) const;

    // ---- staple refresh
    // The options from the settings (reload command, HAProxy socket): every bundle (`ifDue`: only
    // those due), or only `bundleIds` (the window's Refresh staple).
    RefreshOptions refreshOptions(bool ifDue, const QStringList& bundleIds = {}) const;
    // Fetches and judges fresh staples off the GUI thread, at the clock's now (never the "as of"
    // moment: a staple is installed for the real now). Changes nothing; refreshPlanned follows.
    // 0 when there is nothing loaded or a refresh already runs.
    quint64 planRefresh(const RefreshOptions& options);
    // Carries a plan out: in-process when the user can change every destination, otherwise
    // through `pkexec staplescope-cli apply PLAN.json` (or, without pkexec or polkit, the sudo
    // line to run). refreshApplied follows; then the files are loaded again, and the staples the
    // refresh replaced stay on their bundles' timelines. 0 when a refresh already runs.
    quint64 applyRefresh(const RefreshPlan& plan);
    // The plan's destinations the user cannot change: applyRefresh hands such a plan to pkexec.
    QStringList privilegedDestinations(const RefreshPlan& plan) const
    {
        return destinationsNeedingPrivileges(plan, m_writeAccessCheck);
    }
    // The staples refreshes replaced for a bundle (Bundle::id), most recent first.
    QList<ReplacedStaple> replacedStaples(const QString& bundleId) const { return m_replacedStaples.value(bundleId); }
    // Tests: how processes run (pkexec), where pkexec and staplescope-cli are (nullopt: searched,
    // see PrivilegedApply.h; empty: not installed), who may change a file.
    void setProcessRunner(ProcessRunner runner);
    void setPrivilegedTools(std::optional<QString> pkexecPath, std::optional<QString> cliPath);
    void setWriteAccessCheck(WriteAccessCheck check);

    // ---- deploy (core/act/Deployer.h)
    // Options for deploying `from` into `to`: layout, generations kept and the HOST:PORT to verify
    // from the settings (Deploy…), the reload command and HAProxy socket the refresh uses, the
    // trust anchors of the settings and of the files loaded.
    DeployOptions deployOptions(const QString& from, const QString& to) const;
    // Reads the source, fetches a fresh staple and judges the new generation off the GUI thread,
    // at the clock's now. Changes nothing; deployPlanned follows. 0 when a deploy job runs.
    quint64 planDeploy(const DeployOptions& options);
    // Carries a plan out in-process (the user can write DEST; otherwise the window shows the sudo
    // line and never calls this). deployed follows; then the loaded files are read again.
    quint64 executeDeploy(const DeployPlan& plan, const DeployOptions& options);
    // generationsListed follows. Reading only: runs beside other jobs.
    quint64 listGenerations(const QString& destination);
    // Flips `options.to` back to `generation` (empty: the one before the current); rolledBack follows.
    quint64 rollbackDeploy(const DeployOptions& options, const QString& generation = {});
    bool isDeploying() const; // planning, deploying or rolling back
    // The paths a deploy must change or read that the user cannot: DEST (or where it would be
    // created) not writable, the source's key not readable. Non-empty: the window shows the sudo line.
    QStringList deployPathsNeedingPrivileges(const DeployOptions& options, const DeployPlan* plan = nullptr) const;

    // ---- renew (core/act/Renewal.h)
    // Detects the ACME client of a bundle's certificate off the GUI thread (a few file reads),
    // once per bundle: clientDetected follows. 0 when known already or being detected.
    quint64 detectClient(const QString& bundleId);
    // What detection found for a bundle; nullopt while unknown.
    std::optional<ClientDetection> clientDetection(const QString& bundleId) const;
    RenewOptions renewOptions() const;
    // Decides for the bundle's certificate (asking the CA's renewal window when its directory is
    // known); runs nothing. renewPlanned follows. 0 when its client is not known or a renewal runs.
    quint64 planRenew(const QString& bundleId, const RenewOptions& options);
    // Runs the plan's client; each line it prints arrives as renewOutput, then renewed, then the
    // files are read again. Not cancellable: an ACME order cannot be stopped half-way.
    quint64 executeRenew(const RenewPlan& plan, const RenewOptions& options);
    bool isRenewing() const;
    // The folders a renewal changes that the user cannot write (the client's configuration and
    // certificate folders). Non-empty: the window shows the sudo line instead of running it.
    QStringList renewPathsNeedingPrivileges(const ManagedCertificate& managed) const;
    // Tests: who may write a folder (default userCanWriteFolder).
    void setFolderWriteCheck(WriteAccessCheck check);

signals:
    // The session's contents changed (files loaded, a server checked); a report follows.
    void sessionChanged();
    // A new report: `fresh` when it is the first of newly loaded files (a view starts over),
    // otherwise a re-evaluation of what is shown (a view keeps its place).
    void reportChanged(bool fresh);

    void jobStarted(const staplescope::ui::JobInfo& job);
    void jobProgress(const staplescope::ui::JobInfo& job, qint64 done, qint64 total);
    void jobFinished(const staplescope::ui::JobInfo& job, staplescope::ui::JobOutcome outcome);
    void jobFailed(const staplescope::ui::JobInfo& job, const QString& error);

    // A refresh plan is ready (before its job's jobFinished); nothing has changed yet.
    void refreshPlanned(const staplescope::ui::JobInfo& job, const staplescope::RefreshPlan& plan);
    // A plan was carried out (or could not be); the reload of the files has started.
    void refreshApplied(const staplescope::ui::JobInfo& job, const staplescope::ui::RefreshApplyResult& result);

    void deployPlanned(const staplescope::ui::JobInfo& job, const staplescope::DeployPlan& plan,
                       const staplescope::DeployOptions& options);
    void deployed(const staplescope::ui::JobInfo& job, const staplescope::DeployResult& result);
    // The step a deploy job is at ("generation-written", "flipped", …: core's words), as it passes it.
    void deployStep(const staplescope::ui::JobInfo& job, const QString& step);
    void generationsListed(const staplescope::ui::JobInfo& job, const QString& destination,
                           const QList<staplescope::GenerationInfo>& generations, const QString& why);
    void rolledBack(const staplescope::ui::JobInfo& job, const staplescope::DeployResult& result);
    void clientDetected(const QString& bundleId);
    void renewPlanned(const staplescope::ui::JobInfo& job, const staplescope::RenewPlan& plan,
                      const staplescope::RenewOptions& options);
    // One line the ACME client printed (queued from the worker as it comes).
    void renewOutput(quint64 job, const QString& path, const QString& line);
    void renewed(const staplescope::ui::JobInfo& job, const staplescope::RenewResult& result);

private:
    struct Running;
    friend class JobControl;

    void progress(quint64 id, qint64 done, qint64 total);
    // A callback for core's step reports that reaches deployStep on the GUI thread.
    std::function<void(const QString&)> stepReporter(const JobInfo& job);
    void finish(quint64 id);
    Running* running(quint64 id) const;
    bool runs(JobKind kind, bool countReplaced) const;
    AnalysisOptions analysisOptions() const;
    std::optional<QString> askPassword(JobControl& control, const PasswordPrompt& prompt,
                                       const QString& path);
    void applyLoad(const std::shared_ptr<InspectionSession>& session, const InspectionReport& report);
    void applyServerCheck(const ServerEntry& entry);
    void rebuildSession();
    InspectionReport withReplacedStaples(InspectionReport report) const;
    void applyRefreshResult(const JobInfo& job, const RefreshApplyResult& result);

    AppSettings& m_settings;
    std::shared_ptr<const Clock> m_clock = Clock::system();
    QList<std::shared_ptr<Running>> m_jobs;
    quint64 m_lastJobId = 0;
    bool m_evaluationPending = false;
    PasswordPrompt m_passwordPrompt;

    std::shared_ptr<InspectionSession> m_session;     // files and servers together: what is shown
    std::shared_ptr<InspectionSession> m_fileSession; // the files last opened
    QList<ServerEntry> m_servers;
    InspectionReport m_report;
    QStringList m_loadedPaths;
    QStringList m_loadedCaFiles;
    std::unique_ptr<QTemporaryDir> m_demoDir;
    QDateTime m_asOf; // null: the clock
    QDateTime m_loadTime;

    QHash<QString, QList<ReplacedStaple>> m_replacedStaples; // bundle id → most recent first
    ProcessRunner m_processRunner;
    std::optional<QString> m_pkexecPath;
    std::optional<QString> m_cliPath;
    WriteAccessCheck m_writeAccessCheck = userCanReplace;
    WriteAccessCheck m_folderWriteCheck = userCanWriteFolder;
    QHash<QString, ClientDetection> m_clients; // bundle id → what detection found
    QStringList m_detecting;                   // bundle ids being detected
};

} // namespace staplescope::ui
