#include "Workspace.h"

#include "AppSettings.h"
#include "DemoData.h"
#include "ReportFormat.h"

#include <QDir>
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

Workspace::Workspace(AppSettings& settings, QObject* parent) : QObject(parent), m_settings(settings) {}

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
    m_report = report;
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
                             m_report = report;
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
        bytes = reportToMarkdown(m_report).toUtf8();
        break;
    case ExportFormat::Html:
        bytes = reportToHtml(m_report).toUtf8();
        break;
    case ExportFormat::Json:
        bytes = reportToJsonBytes(m_report);
        break;
    }
    return writeFileAtomically(path, bytes, 0644);
}

} // namespace staplescope::ui
