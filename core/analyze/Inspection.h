#pragma once

#include "Analyzer.h"
#include "Bundler.h"
#include "Clock.h"
#include "Loader.h"
#include "RoleFiles.h"
#include "Timeline.h"

#include <memory>

namespace staplescope {

struct BundleReport {
    Bundle bundle;
    QList<Finding> findings; // worst first
    Severity worst = Severity::Info;
    QString verdict;         // one line: the worst finding's headline, or healthyVerdict()
    Timeline timeline;
};

// What a bundle with nothing worse than information is called, in every front end (the CLI's
// text report, the window's list and panes): "Healthy".
QString healthyVerdict();

// Sets `worst` and `verdict` from the report's findings (and whether the bundle is superseded):
// after findings were added to a report, its one-line summary is made again this way.
void summarizeBundleReport(BundleReport& report);

struct InspectionReport {
    QDateTime at;
    QList<BundleReport> bundles;  // worst first
    QList<Finding> inputFindings; // INPUT_* and others not tied to a bundle
    QStringList files;
    // Findings removed by silenceFindings (--ignore CODE): kept so every output can say what it
    // does not show.
    QList<Finding> silenced;

    QList<Finding> allFindings() const;
    Severity worst() const;
    // Monitoring-plugin convention: 0 ok/info, 1 warning, 2 error or critical.
    int exitCode() const;
};

struct InspectRequest {
    RoleFiles files;             // paths (roles inferred) and files given with roles
    QStringList caFiles;
    bool useSystemTrust = true;
    LoadOptions load;
    AnalysisOptions analysis;    // `trust` is filled in by the session
};

// Loaded and bundled once; evaluated as often as the "as of" time changes.
class InspectionSession {
public:
    static std::shared_ptr<InspectionSession> load(const InspectRequest& request);
    // The same loading with the caller's loader (its options and parse cache) and trust store:
    // a server check compares what it was served with files this way, so they are read exactly
    // as `inspect` reads them.
    static std::shared_ptr<InspectionSession> load(const RoleFiles& files, const Loader& loader,
                                                   std::shared_ptr<TrustStore> trust);
    // For bundles built elsewhere (a live server): the session takes them as they are.
    static std::shared_ptr<InspectionSession> fromBundles(QList<Bundle> bundles, QList<Finding> inputFindings,
                                                          std::shared_ptr<TrustStore> trust);

    // One session holding the bundles and input findings of several (files + live servers), so
    // they are evaluated and listed together. Trust comes from the first session that has one.
    static std::shared_ptr<InspectionSession> combine(const QList<std::shared_ptr<InspectionSession>>& sessions);

    // At options.at; when that is null, at `clock`'s now.
    InspectionReport evaluate(AnalysisOptions options, const Clock& clock = *Clock::system()) const;

    const QList<Bundle>& bundles() const { return m_bundles; }
    const QList<Finding>& inputFindings() const { return m_inputFindings; }
    const TrustStore& trust() const { return *m_trust; }
    std::shared_ptr<TrustStore> sharedTrust() const { return m_trust; }
    QStringList files() const { return m_files; }
    // Every certificate read, in whatever role and whether or not it heads a bundle (a folder of
    // CA certificates has none): what a served chain is compared with.
    const QList<Certificate>& certificates() const { return m_certificates; }

private:
    QList<Bundle> m_bundles;
    QList<Finding> m_inputFindings;
    QStringList m_files;
    QList<Certificate> m_certificates;
    std::shared_ptr<TrustStore> m_trust;
};

// Moves every finding whose code is in `codes` (CERT_EXPIRING_SOON spellings) from the bundles
// and input findings to report.silenced, and summarizes the bundles again.
void silenceFindings(InspectionReport& report, const QStringList& codes);

// One call for the CLI: load, bundle and evaluate at request.analysis.at.
InspectionReport inspect(const InspectRequest& request);

} // namespace staplescope
