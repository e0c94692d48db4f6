#include "Workspace.h"

#include "AppSettings.h"
#include "DemoData.h"
#include "GuiRemedy.h"
#include "ReportFormat.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QTemporaryDir>
#include <QThread>
#include <QtConcurrent/QtConcurrentRun>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace staplescope::ui {

namespace {

// A worker waiting for an answer from the GUI thread looks at its cancel flag this often, so a
// cancelled (or destroyed) workspace never waits for a dialog.
constexpr auto kAnswerPoll = std::chrono::milliseconds(50);
constexpr qint64 kProgressIntervalMs = 50;
// pkexec waits for the user to authenticate; after this long it is stopped (and the sudo line shown).
constexpr int kPrivilegedApplyTimeoutMs = 10 * 60 * 1000;
// A staple file is a few KiB; reading more than this to see whether it changed is never needed.
constexpr qint64 kMaxStapleFileRead = 1024 * 1024;

// Whether a plan's change to `bundle.destination` is on disk now: the new staple written, or the
// stale one moved away. Read after the apply, whichever process did it.
bool changeIsOnDisk(const BundleRefresh& bundle)
{
    QFile file(bundle.destination);
    if (bundle.outcome == RefreshOutcome::MoveStaleAside)
        return !file.exists();
    if (bundle.outcome != RefreshOutcome::Install || bundle.newStapleDer.isEmpty() || !file.open(QIODevice::ReadOnly))
        return false;
    return file.read(kMaxStapleFileRead) == bundle.newStapleDer;
}

QStringList changedDestinations(const RefreshPlan& plan)
{
    QStringList changed;
    for (const BundleRefresh& bundle : plan.bundles)
        if (bundle.changesFiles() && !bundle.destination.isEmpty() && changeIsOnDisk(bundle))
            changed << bundle.destination;
    return changed;
}

} // namespace

struct Workspace::Running {
    JobInfo info;
    std::shared_ptr<JobControl> control;
    QFutureWatcher<JobResult>* watcher = nullptr;
    bool applyWhenCancelled = false;
    bool replaced = false;
};

void JobControl::setProgress(qint64 done, qint64 total)
{
    const qint64 now = m_sinceStart.elapsed();
    if (done != total && now - m_lastProgressMs.load() < kProgressIntervalMs)
        return;
    m_lastProgressMs.store(now);
    // The workspace outlives every worker (its destructor waits), so it is a safe context here;
    // a call still queued when it is destroyed is dropped with it.
    Workspace* workspace = m_workspace;
    const quint64 id = m_id;
    QMetaObject::invokeMethod(
        workspace, [workspace, id, done, total] { workspace->progress(id, done, total); },
        Qt::QueuedConnection);
}

bool RefreshApplyResult::ok() const
{
    if (!error.isEmpty() || cancelled)
        return false;
    if (install)
        return install->ok();
    return run && run->exitCode == 0;
}

Workspace::Workspace(AppSettings& settings, QObject* parent) : QObject(parent), m_settings(settings)
{
    m_processRunner = [](const QString& program, const QStringList& arguments, const std::atomic<bool>* cancel) {
        return runProcess(program, arguments, cancel, kPrivilegedApplyTimeoutMs);
    };
}

Workspace::~Workspace()
{
    // Stop first, then wait: work polls its flag, so every job ends within its current step.
    for (const auto& job : std::as_const(m_jobs)) {
        job->replaced = true;
        job->control->m_cancel.store(true);
        job->watcher->disconnect(this);
    }
    for (const auto& job : std::as_const(m_jobs))
        job->watcher->waitForFinished();
}

// ---- jobs --------------------------------------------------------------------------------------

quint64 Workspace::start(Job job)
{
    auto running = std::make_shared<Running>();
    running->info = JobInfo{++m_lastJobId, job.kind, job.title, job.cancellable};
    running->control = std::make_shared<JobControl>(this, running->info.id);
    running->applyWhenCancelled = job.applyWhenCancelled;
    running->watcher = new QFutureWatcher<JobResult>(this);
    const quint64 id = running->info.id;
    connect(running->watcher, &QFutureWatcher<JobResult>::finished, this, [this, id] { finish(id); });
    m_jobs << running;
    // The worker holds the control too: the cancel flag and progress outlive the record here.
    running->watcher->setFuture(QtConcurrent::run(
        [work = std::move(job.work), control = running->control] { return work(*control); }));
    // Its progress and end arrive as queued events: observers still see jobStarted first, and
    // a job cancelled from a jobStarted handler already has its work running to stop.
    emit jobStarted(running->info);
    return id;
}

Workspace::Running* Workspace::running(quint64 id) const
{
    for (const auto& job : m_jobs)
        if (job->info.id == id)
            return job.get();
    return nullptr;
}

bool Workspace::cancel(quint64 id)
{
    Running* job = running(id);
    if (!job || !job->info.cancellable)
        return false;
    job->control->m_cancel.store(true);
    return true;
}

void Workspace::cancelAll()
{
    for (const auto& job : std::as_const(m_jobs))
        cancel(job->info.id);
}

void Workspace::cancelAll(JobKind kind)
{
    for (const auto& job : std::as_const(m_jobs))
        if (job->info.kind == kind)
            cancel(job->info.id);
}

QList<JobInfo> Workspace::jobs() const
{
    QList<JobInfo> out;
    for (const auto& job : m_jobs)
        out << job->info;
    return out;
}

bool Workspace::runs(JobKind kind, bool countReplaced) const
{
    for (const auto& job : m_jobs)
        if (job->info.kind == kind && (countReplaced || !job->replaced))
            return true;
    return false;
}

bool Workspace::isLoading() const
{
    return runs(JobKind::Load, false);
}
// A replaced evaluation still counts: evaluations run one at a time.
bool Workspace::isEvaluating() const
{
    return runs(JobKind::Evaluate, true);
}
bool Workspace::isConnecting() const
{
    return runs(JobKind::ServerCheck, true);
}
bool Workspace::isRefreshing() const
{
    return runs(JobKind::PlanRefresh, true) || runs(JobKind::ApplyRefresh, true);
}
bool Workspace::isDeploying() const
{
    return runs(JobKind::PlanDeploy, true) || runs(JobKind::Deploy, true) || runs(JobKind::Rollback, true);
}
bool Workspace::isRenewing() const
{
    return runs(JobKind::PlanRenew, true) || runs(JobKind::Renew, true);
}

void Workspace::progress(quint64 id, qint64 done, qint64 total)
{
    const Running* job = running(id);
    if (!job || job->replaced)
        return;
    emit jobProgress(job->info, done, total);
}

void Workspace::finish(quint64 id)
{
    const auto it =
        std::find_if(m_jobs.begin(), m_jobs.end(), [id](const auto& job) { return job->info.id == id; });
    if (it == m_jobs.end())
        return;
    const std::shared_ptr<Running> job = *it;
    m_jobs.erase(it);
    job->watcher->deleteLater();
    const JobResult result = job->watcher->result();
    const bool cancelled = job->control->isCancelled();

    if (job->replaced)
        emit jobFinished(job->info, JobOutcome::Replaced);
    else if (!result.error.isEmpty())
        emit jobFailed(job->info, result.error);
    else {
        if (result.apply && (!cancelled || job->applyWhenCancelled))
            result.apply();
        emit jobFinished(job->info, cancelled ? JobOutcome::Cancelled : JobOutcome::Done);
    }

    if (job->info.kind == JobKind::Evaluate && m_evaluationPending) {
        m_evaluationPending = false;
        reevaluate();
    }
}

// ---- loading -----------------------------------------------------------------------------------

AnalysisOptions Workspace::analysisOptions() const
{
    AnalysisOptions options;
    options.at = m_asOf.isValid() ? m_asOf : m_clock->now();
    options.expiryWarningSeconds = m_settings.expiryWarningSeconds();
    options.stapleRefreshFraction = m_settings.stapleRefreshFraction();
    return options;
}

std::optional<QString> Workspace::askPassword(JobControl& control, const PasswordPrompt& prompt,
                                              const QString& path)
{
    if (!prompt || control.isCancelled())
        return std::nullopt;
    if (QThread::currentThread() == thread())
        return prompt(path); // a job run in place (waited for): nobody else would answer

    // The GUI thread answers into shared state; the worker waits for it or for a cancel. A
    // blocking queued call would deadlock a destructor that waits for this worker.
    struct Answer {
        std::mutex mutex;
        std::condition_variable done;
        bool answered = false;
        bool abandoned = false;
        std::optional<QString> password;
    };
    const auto answer = std::make_shared<Answer>();
    const std::atomic<bool>* cancel = control.cancelFlag();
    QMetaObject::invokeMethod(
        this,
        [answer, prompt, path, cancel] {
            {
                const std::lock_guard lock(answer->mutex);
                if (answer->abandoned || cancel->load())
                    return;
            }
            std::optional<QString> password = prompt(path); // a dialog: events keep flowing
            const std::lock_guard lock(answer->mutex);
            answer->password = std::move(password);
            answer->answered = true;
            answer->done.notify_all();
        },
        Qt::QueuedConnection);
    std::unique_lock lock(answer->mutex);
    while (!answer->answered && !cancel->load())
        answer->done.wait_for(lock, kAnswerPoll);
    answer->abandoned = !answer->answered;
    return answer->password;
}

quint64 Workspace::load(const QStringList& paths, const QStringList& caFiles)
{
    // Replaced staples are history of these files; other files start without.
    if (paths != m_loadedPaths) {
        m_replacedStaples.clear();
        m_clients.clear();
    }
    m_loadedPaths = paths;
    m_loadedCaFiles = caFiles;
    // A newer load replaces the running one (stop reading for it) and makes a running
    // evaluation of the old session stale.
    for (const auto& job : std::as_const(m_jobs)) {
        if (job->info.kind == JobKind::Load) {
            job->replaced = true;
            job->control->m_cancel.store(true);
        } else if (job->info.kind == JobKind::Evaluate) {
            job->replaced = true;
        }
    }

    InspectRequest request;
    request.files.paths = paths;
    request.caFiles = caFiles + m_settings.extraTrustAnchors();
    request.useSystemTrust = m_settings.useSystemTrust();
    const AnalysisOptions options = analysisOptions();
    m_loadTime = options.at;

    Job job;
    job.kind = JobKind::Load;
    job.title = paths.size() == 1 ? QDir::toNativeSeparators(paths.first())
                                  : tr("%n item(s)", nullptr, int(paths.size()));
    job.work = [this, request, options, prompt = m_passwordPrompt](JobControl& control) mutable {
        request.load.cancel = control.cancelFlag();
        request.load.progress = [&control](qsizetype done, qsizetype total) {
            control.setProgress(done, total);
        };
        // A PKCS#12 or encrypted key asks for its password on the GUI thread, while the worker waits.
        request.load.passwordProvider = [this, &control, prompt](const QString& path) {
            return askPassword(control, prompt, path);
        };
        std::shared_ptr<InspectionSession> session = InspectionSession::load(request);
        InspectionReport report = session->evaluate(options);
        return JobResult{[this, session, report] { applyLoad(session, report); }, {}};
    };
    return start(std::move(job));
}

quint64 Workspace::reload()
{
    return m_loadedPaths.isEmpty() ? 0 : load(m_loadedPaths, m_loadedCaFiles);
}

JobStart Workspace::loadDemo()
{
    // A fresh folder of our own (mkdtemp: new, empty, mode 0700), so writeDemo's rule (a new or
    // empty folder; nothing replaced or followed; keys 0600) holds by construction, every time.
    auto dir = std::make_unique<QTemporaryDir>(QDir::tempPath() + QStringLiteral("/staplescope-demo-XXXXXX"));
    if (!dir->isValid())
        return {0, tr("Cannot create a temporary folder for the demo: %1").arg(dir->errorString())};
    const DemoResult demo = writeDemo(dir->path(), m_clock->now());
    if (!demo.ok)
        return {0, tr("Cannot write the demo: %1").arg(demo.error)};
    m_demoDir = std::move(dir);
    return {
        load(demo.paths, demo.trustAnchorFile.isEmpty() ? QStringList() : QStringList{demo.trustAnchorFile}),
        {}};
}

bool Workspace::isDemo() const
{
    return m_demoDir && !m_loadedPaths.isEmpty() && m_loadedPaths.first().startsWith(m_demoDir->path());
}

void Workspace::applyLoad(const std::shared_ptr<InspectionSession>& session, const InspectionReport& report)
{
    m_fileSession = session;
    if (m_servers.isEmpty())
        m_session = session;
    else
        rebuildSession(); // servers checked earlier stay listed beside the new files
    m_report = withReplacedStaples(report);
    emit sessionChanged();
    emit reportChanged(true);
    if (!m_servers.isEmpty())
        reevaluate(); // the first report was of the files alone
}

// ---- evaluation --------------------------------------------------------------------------------

bool Workspace::setAsOf(const QDateTime& at)
{
    m_asOf = at.isValid() ? at.toUTC() : QDateTime();
    return reevaluate();
}

bool Workspace::reevaluate()
{
    if (!m_session || isLoading())
        return false;
    if (isEvaluating()) {
        m_evaluationPending = true;
        return true;
    }
    Job job;
    job.kind = JobKind::Evaluate;
    const AnalysisOptions options = analysisOptions();
    job.title = formatTime(options.at);
    job.cancellable = false; // evaluation has no cancel point; a stale result is dropped instead
    job.work = [this, session = m_session, options](JobControl&) {
        InspectionReport report = session->evaluate(options);
        return JobResult{[this, report] {
                             m_report = withReplacedStaples(report);
                             emit reportChanged(false);
                         },
                         {}};
    };
    start(std::move(job));
    return true;
}

// ---- live servers ------------------------------------------------------------------------------

quint64 Workspace::checkServer(const ServerCheckRequest& request)
{
    ServerCheckOptions options;
    options.caFiles = m_loadedCaFiles + m_settings.extraTrustAnchors();
    options.useSystemTrust = m_settings.useSystemTrust();
    options.at = analysisOptions().at;
    options.clock = m_clock;
    // Concatenation: a host as typed may hold "%1".
    const QString endpoint = request.probe.host + QLatin1Char(':') + QString::number(request.probe.port);

    Job job;
    job.kind = JobKind::ServerCheck;
    job.title = endpoint;
    job.applyWhenCancelled = true;
    job.work = [this, request, options, endpoint](JobControl& control) {
        const ServerCheckResult result = runServerChecks({request}, options, control.cancelFlag());
        ServerEntry entry{request, endpoint, result.session, {}, control.id()};
        for (const ServerCheckEndpoint& e : result.endpoints)
            entry.bundleIds += e.bundleIds;
        return JobResult{[this, entry] { applyServerCheck(entry); }, {}};
    };
    return start(std::move(job));
}

void Workspace::applyServerCheck(const ServerEntry& entry)
{
    const auto existing = std::find_if(m_servers.begin(), m_servers.end(),
                                       [&](const ServerEntry& s) { return s.endpoint == entry.endpoint; });
    if (existing != m_servers.end())
        *existing = entry;
    else
        m_servers << entry;
    rebuildSession();
    emit sessionChanged();
    reevaluate();
}

void Workspace::rebuildSession()
{
    QList<std::shared_ptr<InspectionSession>> parts{m_fileSession};
    for (const ServerEntry& server : std::as_const(m_servers))
        parts << server.session;
    m_session = InspectionSession::combine(parts);
}

int Workspace::serverIndexOfBundle(const QString& bundleId) const
{
    if (bundleId.isEmpty())
        return -1;
    for (int i = 0; i < m_servers.size(); ++i)
        if (m_servers.at(i).bundleIds.contains(bundleId))
            return i;
    return -1;
}

int Workspace::serverIndexOfJob(quint64 id) const
{
    for (int i = 0; i < m_servers.size(); ++i)
        if (m_servers.at(i).job == id)
            return i;
    return -1;
}

// ---- export ------------------------------------------------------------------------------------

WriteResult Workspace::exportReport(const QString& path, ExportFormat format) const
{
    QByteArray bytes;
    switch (format) {
    case ExportFormat::Markdown:
        bytes = reportToMarkdown(m_report, guiRemedyText).toUtf8();
        break;
    case ExportFormat::Html:
        bytes = reportToHtml(m_report, guiRemedyText).toUtf8();
        break;
    case ExportFormat::Json:
        bytes = reportToJsonBytes(m_report);
        break;
    }
    return writeFileAtomically(path, bytes, 0644);
}

// ---- staple refresh ----------------------------------------------------------------------------

RefreshOptions Workspace::refreshOptions(bool ifDue, const QStringList& bundleIds) const
{
    RefreshOptions options;
    options.ifDue = ifDue;
    options.bundleIds = bundleIds;
    options.reloadCommand = m_settings.refreshReloadCommand();
    options.haproxySocket = m_settings.haproxySocket();
    return options;
}

quint64 Workspace::planRefresh(const RefreshOptions& options)
{
    if (!m_session || isRefreshing())
        return 0;
    const QDateTime at = m_clock->now();
    Job job;
    job.kind = JobKind::PlanRefresh;
    const qsizetype bundles = options.bundleIds.isEmpty() ? m_session->bundles().size() : options.bundleIds.size();
    job.title = bundles == 1 ? tr("one bundle") : tr("%1 bundles").arg(bundles);
    const QString title = job.title;
    job.work = [this, session = m_session, options, at, title](JobControl& control) {
        RefreshPlan plan = staplescope::planRefresh(*session, options, at, control.cancelFlag(),
                                       [&control](int done, int total) { control.setProgress(done, total); });
        const JobInfo info{control.id(), JobKind::PlanRefresh, title, true};
        return JobResult{[this, info, plan] { emit refreshPlanned(info, plan); }, {}};
    };
    return start(std::move(job));
}

quint64 Workspace::applyRefresh(const RefreshPlan& plan)
{
    if (isRefreshing())
        return 0;
    RefreshApplyResult prepared;
    prepared.plan = plan;
    prepared.privilegedFiles = destinationsNeedingPrivileges(plan, m_writeAccessCheck);

    Job job;
    job.kind = JobKind::ApplyRefresh;
    int files = 0;
    for (const BundleRefresh& b : plan.bundles)
        files += b.changesFiles() ? 1 : 0;
    job.title = prepared.privileged() ? tr("as administrator") : files == 1 ? tr("one staple file") : tr("%1 staple files").arg(files);
    // What was done before a cancel is on disk: the result is shown and the files read again.
    job.applyWhenCancelled = true;
    const QString title = job.title;
    job.work = [this, prepared, title, runner = m_processRunner, pkexecOverride = m_pkexecPath,
                cliOverride = m_cliPath](JobControl& control) mutable {
        RefreshApplyResult result = std::move(prepared);
        if (!result.privileged()) {
            result.install = executeRefreshPlan(result.plan, {}, control.cancelFlag());
        } else {
            const PlanFile planFile = writePlanFile(result.plan);
            const QString cli = cliOverride ? *cliOverride : findStaplescopeCli();
            const QString pkexec = pkexecOverride ? *pkexecOverride : findPkexec();
            result.planFile = planFile.path;
            if (!planFile.error.isEmpty()) {
                result.error = planFile.error;
            } else if (cli.isEmpty()) {
                result.error = tr("staplescope-cli is neither next to this program (%1) nor in PATH: install it to apply "
                                  "the plan as administrator.")
                                   .arg(QDir::toNativeSeparators(QCoreApplication::applicationDirPath()));
                result.sudoLine = sudoApplyLine({}, planFile.path);
            } else if (pkexec.isEmpty()) {
                result.sudoLine = sudoApplyLine(cli, planFile.path);
            } else {
                // pkexec takes the program's absolute path; polkit's action matches it (exec.path).
                const QStringList arguments{cli, QStringLiteral("apply"), planFile.path};
                result.command = (QStringList{pkexec} + arguments).join(QLatin1Char(' '));
                result.run = runner(pkexec, arguments, control.cancelFlag());
                const int status = result.run->exitCode;
                if (!result.run->started || status == kPkexecNotAuthorized || status == kPkexecDismissed)
                    result.sudoLine = sudoApplyLine(cli, planFile.path);
                if (status == 0)
                    QFile::remove(planFile.path); // done: the plan is spent (apply refuses it again anyway)
            }
        }
        result.cancelled = control.isCancelled();
        result.changedFiles = changedDestinations(result.plan);
        const JobInfo info{control.id(), JobKind::ApplyRefresh, title, true};
        return JobResult{[this, info, result] { applyRefreshResult(info, result); }, {}};
    };
    return start(std::move(job));
}

void Workspace::applyRefreshResult(const JobInfo& job, const RefreshApplyResult& result)
{
    // The staples the refresh replaced leave the files; they stay on the timeline as history.
    const QDateTime replacedAt = m_clock->now();
    for (const BundleRefresh& bundle : result.plan.bundles) {
        if (!result.changedFiles.contains(bundle.destination) || bundle.current.isNull())
            continue;
        ReplacedStaple old;
        old.file = bundle.destination;
        old.serial = bundle.current.serial;
        old.status = bundle.current.status;
        old.thisUpdate = bundle.current.thisUpdate;
        old.nextUpdate = bundle.current.nextUpdate;
        old.replacedAt = replacedAt;
        old.movedAside = bundle.outcome == RefreshOutcome::MoveStaleAside;
        QList<ReplacedStaple>& history = m_replacedStaples[bundle.bundleId];
        history.prepend(old);
        if (history.size() > kReplacedStapleLanes)
            history.resize(kReplacedStapleLanes);
    }
    // Evaluate what is on disk now, whatever happened: that is the truth to show. Started first,
    // so observers of refreshApplied see the load running.
    reload();
    emit refreshApplied(job, result);
}

InspectionReport Workspace::withReplacedStaples(InspectionReport report) const
{
    if (m_replacedStaples.isEmpty())
        return report;
    for (BundleReport& bundle : report.bundles) {
        const auto it = m_replacedStaples.constFind(bundle.bundle.id);
        if (it != m_replacedStaples.constEnd())
            addReplacedStaples(bundle.timeline, *it);
    }
    return report;
}

// ---- deploy ------------------------------------------------------------------------------------

DeployOptions Workspace::deployOptions(const QString& from, const QString& to) const
{
    DeployOptions options;
    options.from = from;
    options.to = to;
    options.layout = deployLayoutFromKey(m_settings.deployLayout()).value_or(DeployLayout::All);
    options.keep = m_settings.deployKeep();
    options.reloadCommand = m_settings.refreshReloadCommand();
    options.haproxySocket = m_settings.haproxySocket();
    options.verify = m_settings.deployVerify();
    options.caFiles = m_loadedCaFiles + m_settings.extraTrustAnchors();
    options.useSystemTrust = m_settings.useSystemTrust();
    return options;
}

QStringList Workspace::deployPathsNeedingPrivileges(const DeployOptions& options, const DeployPlan* plan) const
{
    QStringList paths;
    const QString destination = plan && !plan->destination.isEmpty() ? plan->destination : options.to;
    if (!destination.isEmpty() && !m_folderWriteCheck(destination))
        paths << destination;
    // The key is copied into the generation: reading it may need root (0600 root in /etc/letsencrypt).
    if (plan && !plan->source.keyFile.isEmpty()) {
        const QFileInfo key(plan->source.keyFile);
        if (key.exists() && !key.isReadable())
            paths << plan->source.keyFile;
    }
    return paths;
}

quint64 Workspace::planDeploy(const DeployOptions& options)
{
    if (isDeploying())
        return 0;
    const QDateTime at = m_clock->now();
    Job job;
    job.kind = JobKind::PlanDeploy;
    job.title = QDir::toNativeSeparators(options.to);
    const QString title = job.title;
    job.work = [this, options, at, title](JobControl& control) {
        const JobInfo info{control.id(), JobKind::PlanDeploy, title, true};
        // Steps come as words, not counts: the status bar shows the latest.
        const DeployPlan plan = staplescope::planDeploy(options, at, control.cancelFlag(), stepReporter(info));
        return JobResult{[this, info, plan, options] { emit deployPlanned(info, plan, options); }, {}};
    };
    return start(std::move(job));
}

quint64 Workspace::executeDeploy(const DeployPlan& plan, const DeployOptions& options)
{
    if (isDeploying())
        return 0;
    Job job;
    job.kind = JobKind::Deploy;
    job.title = QDir::toNativeSeparators(plan.destination);
    // Past the flip a deploy finishes (reload, verify, rollback) whatever is pressed.
    job.cancellable = false;
    const QString title = job.title;
    job.work = [this, plan, options, title](JobControl& control) {
        const JobInfo info{control.id(), JobKind::Deploy, title, false};
        const DeployResult result = staplescope::executeDeploy(plan, options, control.cancelFlag(), stepReporter(info));
        return JobResult{[this, info, result] {
                             // The files shown may live in DEST: what is on disk now is what to show.
                             reload();
                             emit deployed(info, result);
                         },
                         {}};
    };
    return start(std::move(job));
}

quint64 Workspace::listGenerations(const QString& destination)
{
    Job job;
    job.kind = JobKind::Generations;
    job.title = QDir::toNativeSeparators(destination);
    const QString title = job.title;
    job.work = [this, destination, title](JobControl& control) {
        QString why;
        const QList<GenerationInfo> generations = staplescope::listGenerations(destination, &why);
        const JobInfo info{control.id(), JobKind::Generations, title, true};
        return JobResult{[this, info, destination, generations, why] {
                             emit generationsListed(info, destination, generations, why);
                         },
                         {}};
    };
    return start(std::move(job));
}

quint64 Workspace::rollbackDeploy(const DeployOptions& options, const QString& generation)
{
    if (isDeploying())
        return 0;
    Job job;
    job.kind = JobKind::Rollback;
    job.title = QDir::toNativeSeparators(options.to);
    job.cancellable = false;
    const QString title = job.title;
    job.work = [this, options, generation, title](JobControl& control) {
        const DeployResult result = staplescope::rollbackDeploy(options, generation);
        const JobInfo info{control.id(), JobKind::Rollback, title, false};
        return JobResult{[this, info, result] {
                             reload();
                             emit rolledBack(info, result);
                         },
                         {}};
    };
    return start(std::move(job));
}

std::function<void(const QString&)> Workspace::stepReporter(const JobInfo& job)
{
    // Called on the worker; the workspace outlives it (its destructor waits for every job).
    return [this, job](const QString& step) {
        QMetaObject::invokeMethod(
            this,
            [this, job, step] {
                const Running* running = this->running(job.id);
                if (running && !running->replaced)
                    emit deployStep(job, step);
            },
            Qt::QueuedConnection);
    };
}

// ---- renew -------------------------------------------------------------------------------------

quint64 Workspace::detectClient(const QString& bundleId)
{
    if (bundleId.isEmpty() || m_clients.contains(bundleId) || m_detecting.contains(bundleId) || !m_session)
        return 0;
    QString path;
    for (const BundleReport& bundle : std::as_const(m_report.bundles))
        if (bundle.bundle.id == bundleId && !bundle.bundle.served)
            path = bundle.bundle.leaf.source().path;
    if (path.isEmpty())
        return 0;
    m_detecting << bundleId;
    Job job;
    job.kind = JobKind::DetectClient;
    job.title = QDir::toNativeSeparators(path);
    job.cancellable = false; // a few file reads; its end always clears m_detecting
    job.work = [this, bundleId, path](JobControl&) {
        ClientDetection found;
        found.path = path;
        found.managed = detectAcmeClient(path, &found.why);
        return JobResult{[this, bundleId, found] {
                             m_detecting.removeAll(bundleId);
                             m_clients.insert(bundleId, found);
                             emit clientDetected(bundleId);
                         },
                         {}};
    };
    return start(std::move(job));
}

std::optional<ClientDetection> Workspace::clientDetection(const QString& bundleId) const
{
    const auto it = m_clients.constFind(bundleId);
    if (it == m_clients.constEnd())
        return std::nullopt;
    return *it;
}

RenewOptions Workspace::renewOptions() const
{
    RenewOptions options;
    options.caFiles = m_loadedCaFiles + m_settings.extraTrustAnchors();
    options.useSystemTrust = m_settings.useSystemTrust();
    options.deploy = deployOptions({}, {});
    return options;
}

QStringList Workspace::renewPathsNeedingPrivileges(const ManagedCertificate& managed) const
{
    QStringList folders;
    auto check = [&](const QString& path, bool isFolder) {
        if (path.isEmpty())
            return;
        const QString folder = isFolder ? path : QFileInfo(path).absolutePath();
        if (!folders.contains(folder) && !m_folderWriteCheck(folder))
            folders << folder;
    };
    check(managed.certificateFile, false);
    check(managed.configFile, false);
    check(managed.certbotConfigDir, true);
    check(managed.certbotWorkDir, true);
    check(managed.certbotLogsDir, true);
    check(managed.legoPath, true);
    return folders;
}

quint64 Workspace::planRenew(const QString& bundleId, const RenewOptions& options)
{
    const std::optional<ClientDetection> detection = clientDetection(bundleId);
    if (!detection || !detection->managed || isRenewing())
        return 0;
    const QDateTime at = m_clock->now();
    Job job;
    job.kind = JobKind::PlanRenew;
    job.title = detection->managed->name;
    const QString title = job.title;
    job.work = [this, path = detection->path, options, at, title, remembered = m_settings.deployDestination()](JobControl& control) {
        RenewPlan plan = staplescope::planRenew({path}, options, at, control.cancelFlag());
        // A renewal of the certificate the remembered deploy destination serves is deployed there.
        RenewOptions effective = options;
        if (effective.deployTo.isEmpty() && !plan.entries.isEmpty() && plan.entries.first().managed) {
            effective.deployTo = destinationsServing(plan.entries.first().before.bundle.leaf, {remembered});
            plan.entries.first().deployTo = effective.deployTo;
        }
        const JobInfo info{control.id(), JobKind::PlanRenew, title, true};
        return JobResult{[this, info, plan, effective] { emit renewPlanned(info, plan, effective); }, {}};
    };
    return start(std::move(job));
}

quint64 Workspace::executeRenew(const RenewPlan& plan, const RenewOptions& options)
{
    if (isRenewing())
        return 0;
    Job job;
    job.kind = JobKind::Renew;
    job.title = plan.entries.size() == 1 ? QDir::toNativeSeparators(plan.entries.first().path)
                                         : tr("%n certificate(s)", nullptr, int(plan.entries.size()));
    job.cancellable = false;
    const QString title = job.title;
    job.work = [this, plan, options, title](JobControl& control) {
        const quint64 id = control.id();
        // Each line reaches the GUI thread as it comes; the workspace outlives this worker.
        const auto output = [this, id](const QString& path, const QString& line) {
            QMetaObject::invokeMethod(
                this, [this, id, path, line] { emit renewOutput(id, path, line); }, Qt::QueuedConnection);
        };
        const RenewResult result = staplescope::executeRenew(plan, options, output, control.cancelFlag());
        const JobInfo info{id, JobKind::Renew, title, false};
        return JobResult{[this, info, result] {
                             // A renewed certificate is a new bundle: its client is detected again.
                             m_clients.clear();
                             reload();
                             emit renewed(info, result);
                         },
                         {}};
    };
    return start(std::move(job));
}

void Workspace::setFolderWriteCheck(WriteAccessCheck check)
{
    m_folderWriteCheck = check ? std::move(check) : WriteAccessCheck(userCanWriteFolder);
}

void Workspace::setProcessRunner(ProcessRunner runner)
{
    if (runner)
        m_processRunner = std::move(runner);
}

void Workspace::setPrivilegedTools(std::optional<QString> pkexecPath, std::optional<QString> cliPath)
{
    m_pkexecPath = std::move(pkexecPath);
    m_cliPath = std::move(cliPath);
}

void Workspace::setWriteAccessCheck(WriteAccessCheck check)
{
    m_writeAccessCheck = check ? std::move(check) : WriteAccessCheck(userCanReplace);
}

} // namespace staplescope::ui
