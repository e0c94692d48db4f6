#pragma once
// The desktop window: welcome view, bundle list, timeline with "as of" control, findings and
// details. It builds and wires widgets; the files, servers and the jobs that load, evaluate and
// check them off the GUI thread are its Workspace's, which it observes.

#include "AppSettings.h"
#include "AtomicFile.h"
#include "Clock.h"
#include "Inspection.h"
#include "ServerCheck.h"
#include "Workspace.h"

#include <QDateTime>
#include <QMainWindow>

#include <memory>

class QAbstractItemView;
class QDateTimeEdit;
class QLabel;
class QLineEdit;
class QToolButton;
class QActionGroup;
class QMenu;
class QMimeData;
class QProgressBar;
class QSlider;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTextBrowser;
class QTreeView;
class QListWidget;
class QPushButton;

namespace staplescope::ui {

class AppSettings;
class BundleFilterModel;
class BundleListModel;
class ElidedLabel;
class DetailsPane;
class FindingListModel;
class TimelineWidget;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // `settings`: null uses the platform's settings ("Staplescope"); tests pass their own.
    explicit MainWindow(std::unique_ptr<AppSettings> settings = nullptr, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Loads files and folders (as dropped) off the GUI thread; loadFinished() follows.
    void openPaths(const QStringList& paths);
    // Writes the built-in demo (fresh dates) to a temporary folder and loads it.
    bool openDemo();
    bool isLoading() const { return m_workspace->isLoading(); }
    // Interactive dialogs (PKCS#12 passwords, errors) are suppressed: screenshots and tests.
    void setNonInteractive(bool on);

    // Where "now" comes from (the system clock unless a test pins one): the evaluation time when
    // "as of" follows the clock, the demo's dates, the slider's zero. The window reads no other.
    void setClock(std::shared_ptr<const Clock> clock);
    const Clock& clock() const { return *m_clock; }

    // The "as of" moment; null follows the clock (the moment of loading or of "Now").
    void setAsOf(const QDateTime& at);
    QDateTime asOf() const { return m_workspace->asOf(); }
    // The moment the shown report was evaluated at.
    QDateTime evaluatedAt() const;
    bool isEvaluating() const { return m_workspace->isEvaluating(); }

    Workspace* workspace() const { return m_workspace.get(); }

    const InspectionReport& report() const;
    AppSettings& settings() const { return *m_settings; }
    BundleListModel* bundleModel() const { return m_bundleModel; }
    FindingListModel* findingModel() const { return m_findingModel; }
    TimelineWidget* timeline() const { return m_timeline; }
    DetailsPane* details() const { return m_details; }
    QTreeView* bundleView() const { return m_bundleView; }
    QTreeView* findingView() const { return m_findingView; }
    QDateTimeEdit* asOfEdit() const { return m_asOfEdit; }
    QSlider* asOfSlider() const { return m_asOfSlider; }
    QTabWidget* lowerTabs() const { return m_tabs; }
    bool isWelcomeShown() const;

    // Rows are the bundle model's (core's order, whatever the list's sorting and filter).
    bool selectBundleRow(int row);
    int currentBundleRow() const;

    // The list as shown: sorted by the clicked column, filtered by the box above it (Ctrl+F).
    BundleFilterModel* bundleFilter() const { return m_bundleFilter; }
    QLineEdit* bundleFilterEdit() const { return m_bundleFilterEdit; }
    QLabel* bundleFilterCount() const { return m_bundleFilterCount; }
    // The fleet timeline: no bundle selected, one lane per bundle the filter shows. A click on a
    // lane selects that bundle. Kept across re-evaluation while nothing is selected.
    void showFleet(bool keepView = false);
    bool isFleetShown() const;
    bool selectBundleId(const QString& bundleId);
    bool selectFindingRow(int row);
    int currentFindingRow() const;

    WriteResult exportReport(const QString& path, ExportFormat format) const;

    // Checks a live server off the GUI thread; its bundles join the list (replacing an earlier
    // check of the same endpoint). serverCheckFinished() follows, also when cancelled.
    void connectToServer(const ServerCheckRequest& request);
    // Runs the check that produced the selected bundle again; false when it is not a server's.
    bool recheckSelectedServer();
    void cancelServerChecks();
    // Stops the running load (after its current file) and every server check.
    void cancelWork();
    bool isConnecting() const { return m_workspace->isConnecting(); }

    // Staple refresh: plans off the GUI thread, then shows the plan (RefreshPlanDialog); Apply
    // carries it out (Workspace::applyRefresh) and the files are evaluated again. The selected
    // bundle only, or every bundle that is due. False when nothing was started (see the actions'
    // tooltips for why).
    bool refreshSelectedStaple();
    bool refreshAllDue();
    bool isRefreshing() const { return m_workspace->isRefreshing(); }
    QAction* refreshStapleAction() const { return m_refreshStapleAction; }
    QAction* refreshAllDueAction() const { return m_refreshAllDueAction; }

    // Deploy…: asks what to deploy where (DeployDialog, starting from the selected bundle's folder
    // and the remembered DEST), plans off the GUI thread, shows the plan (DeployPlanDialog); Deploy
    // carries it out and shows what happened (DeployResultDialog). A DEST the user cannot write
    // gets the sudo line. False when a deploy already runs.
    bool deployInteractive();
    // Plans a deploy of these options directly (what the Deploy… dialog's Plan does).
    bool planDeploy(const DeployOptions& options);
    // Deploy ▸ Generations…: the generations of `destination` (empty: the remembered DEST).
    void showGenerations(const QString& destination = {});
    // Renew…: for the selected bundle once its ACME client was detected (detectAcmeClient, a job
    // per bundle): plans, then shows the RenewDialog. False when not possible (see the tooltip).
    bool renewSelected();
    bool isDeploying() const { return m_workspace->isDeploying(); }
    bool isRenewing() const { return m_workspace->isRenewing(); }
    QAction* deployAction() const { return m_deployAction; }
    QAction* generationsAction() const { return m_generationsAction; }
    QAction* renewAction() const { return m_renewAction; }

    // View ▸ Theme: applied live and remembered (AppSettings::theme). applyThemeForThisRun is the
    // --dark override: applied and shown as checked, not remembered.
    void setTheme(Theme theme);
    void applyThemeForThisRun(Theme theme);
    QAction* themeAction(Theme theme) const;
    ElidedLabel* statusLabel() const { return m_statusLabel; }

    // File ▸ Recent Servers, from AppSettings::recentServers (connectToServer adds to it).
    QMenu* recentServersMenu() const { return m_recentServersMenu; }
    // What a drop would do: local files are opened; otherwise each URL or line of text that
    // parseServerTarget reads as a server is connected to (at most kMaxDroppedServers).
    struct DroppedServers {
        QList<ServerCheckRequest> requests;
        QStringList errors; // core's words for what was dropped but is not a server
    };
    static QStringList droppedPaths(const QMimeData* data);
    static DroppedServers droppedServers(const QMimeData* data);
    static constexpr int kMaxDroppedServers = 16;

signals:
    void loadFinished();    // a load completed and its first report is shown
    void reportUpdated();   // any report (first or re-evaluated) is shown
    void serverCheckFinished();
    void refreshPlanShown();   // the plan dialog is open
    void refreshFinished();    // an applied refresh was evaluated again (or planning ended without a plan)
    void deployPlanShown();    // the deploy plan dialog is open
    void deployFinished();     // a deploy ended (its result shown) or its plan was cancelled
    void renewPlanShown();     // the renew dialog is open with its plan
    void renewControlsUpdated(); // Renew…'s state changed (a client was detected for a bundle)

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void buildActions();
    QWidget* buildWelcome();
    QWidget* buildWorkspace();
    void watchWorkspace();
    void onJobStarted(const JobInfo& job);
    void onJobFinished(const JobInfo& job, JobOutcome outcome);
    void onSessionChanged();
    void requestEvaluation();
    void applyReport(const InspectionReport& report, bool fresh);
    void showRow(int row, bool keepView);
    QWidget* buildBundleFilterRow(QWidget* parent);
    void setUpBundleColumns();
    void showBundleHeaderMenu(const QPoint& pos);
    void updateBundleFilterCount();
    void updateLocationColumn();
    void showFinding(int row);
    void updateAsOfControls();
    void updateRecentMenu();
    void updateWindowTitle();
    void exportInteractive();
    void openFilesDialog();
    void openFolderDialog();
    void showSettings();
    void copyCurrentFinding();
    void showError(const QString& title, const QString& text);
    void connectDialog();
    QList<int> serversToRecheck() const;
    void updateServerControls();
    void updateRefreshControls();
    void onRefreshPlanned(const RefreshPlan& plan);
    void onRefreshApplied(const RefreshApplyResult& result);
    QString selectedBundleId() const;
    void updateDeployControls();
    void updateRenewControls();
    void onDeployPlanned(const DeployPlan& plan, const DeployOptions& options);
    void onDeployed(const DeployResult& result);
    void onRenewPlanned(const RenewPlan& plan, const RenewOptions& options);
    void buildThemeMenu(QMenu* view);
    void updateRecentServersMenu();

    std::unique_ptr<AppSettings> m_settings;
    // After m_settings, which it reads: destroyed first, so its jobs end while the window and
    // the settings still exist.
    std::unique_ptr<Workspace> m_workspace;
    std::shared_ptr<const Clock> m_clock = Clock::system();
    QString m_selectAfterEvaluation; // bundle id to select when the next report arrives
    bool m_nonInteractive = false;
    QDateTime m_sliderBase; // the slider's zero: the moment of loading

    QStackedWidget* m_stack = nullptr;
    QSplitter* m_mainSplitter = nullptr;
    QSplitter* m_rightSplitter = nullptr;
    QListWidget* m_welcomeRecent = nullptr;
    BundleListModel* m_bundleModel = nullptr;
    BundleFilterModel* m_bundleFilter = nullptr;
    QLineEdit* m_bundleFilterEdit = nullptr;
    QLabel* m_bundleFilterCount = nullptr;
    QToolButton* m_fleetButton = nullptr;
    bool m_locationColumnChosen = false; // the user showed or hid it: no longer follows repeated names
    FindingListModel* m_findingModel = nullptr;
    QTreeView* m_bundleView = nullptr;
    QTreeView* m_findingView = nullptr;
    QTextBrowser* m_findingText = nullptr;
    QPushButton* m_copyFinding = nullptr;
    TimelineWidget* m_timeline = nullptr;
    DetailsPane* m_details = nullptr;
    QTabWidget* m_tabs = nullptr;
    QDateTimeEdit* m_asOfEdit = nullptr;
    QSlider* m_asOfSlider = nullptr;
    QLabel* m_asOfHint = nullptr;
    QLabel* m_bundleHeader = nullptr;
    ElidedLabel* m_statusLabel = nullptr;
    QProgressBar* m_progress = nullptr;
    QMenu* m_recentMenu = nullptr;
    QAction* m_exportAction = nullptr;
    QAction* m_reloadAction = nullptr;
    QAction* m_recheckAction = nullptr;
    QPushButton* m_recheckButton = nullptr;
    QPushButton* m_cancelConnectButton = nullptr;
    QAction* m_refreshStapleAction = nullptr;
    QAction* m_refreshAllDueAction = nullptr;
    QPushButton* m_refreshButton = nullptr;        // beside the bundle list's header
    QPushButton* m_findingRefreshButton = nullptr; // under a finding whose remedy is RemedyKind::RefreshStaple
    bool m_refreshResultPending = false;           // refreshFinished follows the reload after an apply
    QAction* m_deployAction = nullptr;
    QAction* m_generationsAction = nullptr;
    QAction* m_renewAction = nullptr;
    QActionGroup* m_themeGroup = nullptr;
    QMenu* m_recentServersMenu = nullptr;
};

} // namespace staplescope::ui
