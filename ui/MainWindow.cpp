#include "MainWindow.h"

#include "AboutDialog.h"
#include "AppResources.h"
#include "AppSettings.h"
#include "BundleFilterModel.h"
#include "BundleListModel.h"
#include "ConnectDialog.h"
#include "DeployDialog.h"
#include "DeployPlanDialog.h"
#include "DeployResultDialog.h"
#include "DetailsPane.h"
#include "FilterLineEdit.h"
#include "ElidedLabel.h"
#include "FindingListModel.h"
#include "FleetTimeline.h"
#include "GenerationsDialog.h"
#include "GuiRemedy.h"
#include "RefreshEngine.h"
#include "RefreshPlanDialog.h"
#include "RefreshResultDialog.h"
#include "RenewDialog.h"
#include "ReportFormat.h"
#include "SettingsDialog.h"
#include "SeverityBadgeDelegate.h"
#include "TextEscape.h"
#include "Theme.h"
#include "TimelineWidget.h"
#include "UiStyle.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDateTimeEdit>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QShortcut>
#include <QSlider>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextBrowser>
#include <QToolBar>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

#include <tuple>

namespace staplescope::ui {

namespace {

// The slider spans three months back to a year ahead of the moment of loading, in hours.
constexpr int kSliderBackHours = 90 * 24;
constexpr int kSliderAheadHours = 365 * 24;

QString relativeToNow(const QDateTime& at, const QDateTime& now)
{
    const qint64 delta = now.secsTo(at);
    if (qAbs(delta) < 120)
        return MainWindow::tr("now");
    return delta > 0 ? MainWindow::tr("%1 from now").arg(formatDuration(delta))
                     : MainWindow::tr("%1 ago").arg(formatDuration(-delta));
}

} // namespace

MainWindow::MainWindow(std::unique_ptr<AppSettings> settings, QWidget* parent)
    : QMainWindow(parent), m_settings(settings ? std::move(settings) : std::make_unique<AppSettings>()),
      m_workspace(std::make_unique<Workspace>(*m_settings))
{
    setWindowTitle(tr("Staplescope"));
    setWindowIcon(applicationIcon());
    setAcceptDrops(true);
    m_bundleModel = new BundleListModel(this);
    m_bundleFilter = new BundleFilterModel(this);
    m_bundleFilter->setSourceModel(m_bundleModel);
    m_findingModel = new FindingListModel(this);

    m_stack = new QStackedWidget(this);
    m_stack->addWidget(buildWelcome());
    m_stack->addWidget(buildWorkspace());
    setCentralWidget(m_stack);
    buildActions();

    // Plain text (file names and hosts), elided in small windows with the whole line as tooltip.
    m_statusLabel = new ElidedLabel(tr("Drop certificates, chains, keys and OCSP staples, a whole folder, or a server's "
                                       "address (https://name/, name:port)."),
                                    this);
    m_statusLabel->setObjectName(QStringLiteral("statusLabel"));
    statusBar()->addWidget(m_statusLabel, 1);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 0); // busy until the loader reports how many files there are
    m_progress->setMaximumWidth(200);
    m_progress->setTextVisible(false);
    m_progress->setAccessibleName(tr("Loading"));
    m_progress->hide();
    statusBar()->addPermanentWidget(m_progress);
    m_cancelConnectButton = new QPushButton(tr("Cancel"), this);
    m_cancelConnectButton->setToolTip(tr("Stop loading and the server checks that are running (Esc)"));
    m_cancelConnectButton->setShortcut(QKeySequence(Qt::Key_Escape));
    m_cancelConnectButton->hide();
    connect(m_cancelConnectButton, &QPushButton::clicked, this, &MainWindow::cancelWork);
    statusBar()->addPermanentWidget(m_cancelConnectButton);

    resize(1280, 820);
    if (!m_settings->windowGeometry().isEmpty())
        restoreGeometry(m_settings->windowGeometry());
    m_mainSplitter->restoreState(m_settings->raw().value(QStringLiteral("window/mainSplitter")).toByteArray());
    m_rightSplitter->restoreState(m_settings->raw().value(QStringLiteral("window/rightSplitter")).toByteArray());
    updateRecentMenu();
    updateRecentServersMenu();
    applyTheme(m_settings->theme());
    updateAsOfControls();
    watchWorkspace();
    setNonInteractive(false);
    updateRefreshControls();
}

// The workspace (a member) cancels its jobs and waits for them.
MainWindow::~MainWindow() = default;

// ---- building ---------------------------------------------------------------------------------

void MainWindow::buildActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open Files…"), this, &MainWindow::openFilesDialog);
    open->setShortcut(QKeySequence::Open);
    QAction* openFolder = file->addAction(tr("Open &Folder…"), this, &MainWindow::openFolderDialog);
    openFolder->setShortcut(QKeySequence(tr("Ctrl+Shift+O")));
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_reloadAction = file->addAction(tr("&Reload"), this, [this] { m_workspace->reload(); });
    m_reloadAction->setShortcut(QKeySequence::Refresh);
    m_reloadAction->setEnabled(false);
    file->addAction(tr("Show the &Demo"), this, &MainWindow::openDemo);
    file->addSeparator();
    QAction* connectAction = file->addAction(tr("&Connect to Server…"), this, &MainWindow::connectDialog);
    connectAction->setShortcut(QKeySequence(tr("Ctrl+K")));
    m_recentServersMenu = file->addMenu(tr("Recent &Servers"));
    m_recentServersMenu->setObjectName(QStringLiteral("recentServersMenu"));
    // Read when opened: the Connect dialog may have cleared the list meanwhile.
    connect(m_recentServersMenu, &QMenu::aboutToShow, this, &MainWindow::updateRecentServersMenu);
    m_recheckAction = file->addAction(tr("Re-c&heck Server"), this, &MainWindow::recheckSelectedServer);
    m_recheckAction->setShortcut(QKeySequence(tr("Ctrl+Shift+R")));
    m_recheckAction->setEnabled(false);
    file->addSeparator();
    m_exportAction = file->addAction(tr("&Export Report…"), this, &MainWindow::exportInteractive);
    m_exportAction->setShortcut(QKeySequence(tr("Ctrl+E")));
    m_exportAction->setEnabled(false);
    file->addSeparator();
    QAction* settings = file->addAction(tr("&Settings…"), this, &MainWindow::showSettings);
    settings->setShortcut(QKeySequence::Preferences);
    settings->setMenuRole(QAction::PreferencesRole);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);

    // Staple refresh: the selected bundle (where its finding's remedy or the header offers it), or
    // every bundle that is due.
    QMenu* staples = menuBar()->addMenu(tr("&Staples"));
    m_refreshStapleAction = staples->addAction(tr("&Refresh Staple…"), this, &MainWindow::refreshSelectedStaple);
    m_refreshStapleAction->setObjectName(QStringLiteral("refreshStapleAction"));
    m_refreshStapleAction->setShortcut(QKeySequence(tr("Ctrl+Shift+S")));
    m_refreshAllDueAction = staples->addAction(tr("Refresh &All Due…"), this, &MainWindow::refreshAllDue);
    m_refreshAllDueAction->setObjectName(QStringLiteral("refreshAllDueAction"));
    m_refreshAllDueAction->setShortcut(QKeySequence(tr("Ctrl+Shift+A")));
    m_refreshAllDueAction->setToolTip(tr("Fetch fresh staples for every bundle whose staple is missing, wrong or past "
                                         "its refresh point; the plan is shown before anything changes"));
    staples->setToolTipsVisible(true);

    // Renew and deploy: certificate, chain, key and staple change together (core/act).
    QMenu* deploy = menuBar()->addMenu(tr("&Deploy"));
    m_renewAction = deploy->addAction(tr("Re&new Certificate…"), this, &MainWindow::renewSelected);
    m_renewAction->setObjectName(QStringLiteral("renewAction"));
    m_renewAction->setShortcut(QKeySequence(tr("Ctrl+Shift+N")));
    m_renewAction->setEnabled(false);
    deploy->addSeparator();
    m_deployAction = deploy->addAction(tr("&Deploy…"), this, &MainWindow::deployInteractive);
    m_deployAction->setObjectName(QStringLiteral("deployAction"));
    m_deployAction->setShortcut(QKeySequence(tr("Ctrl+Shift+D")));
    m_deployAction->setToolTip(tr("Deploy a certificate's files into generations of a destination and switch to the "
                                  "new one in one step; the plan is shown before anything changes"));
    m_generationsAction = deploy->addAction(tr("&Generations…"), this, [this] { showGenerations(); });
    m_generationsAction->setObjectName(QStringLiteral("generationsAction"));
    m_generationsAction->setShortcut(QKeySequence(tr("Ctrl+Shift+G")));
    m_generationsAction->setToolTip(tr("The generations of a deploy destination: which one is current, their "
                                       "certificate and staple windows, and Roll Back"));
    deploy->setToolTipsVisible(true);

    QToolBar* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("mainToolBar"));
    toolbar->setMovable(false);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    toolbar->addAction(open);
    toolbar->addAction(openFolder);
    toolbar->addAction(connectAction);
    toolbar->addAction(m_reloadAction);
    toolbar->addSeparator();
    toolbar->addAction(m_refreshStapleAction);
    toolbar->addAction(m_refreshAllDueAction);
    toolbar->addSeparator();
    toolbar->addAction(m_renewAction);
    toolbar->addAction(m_deployAction);
    toolbar->addAction(m_generationsAction);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* copy = edit->addAction(tr("&Copy Finding"), this, &MainWindow::copyCurrentFinding);
    copy->setShortcut(QKeySequence(tr("Ctrl+Shift+C")));
    QAction* filter = edit->addAction(tr("&Filter Bundles"), this, [this] {
        m_bundleFilterEdit->setFocus(Qt::ShortcutFocusReason);
        m_bundleFilterEdit->selectAll();
    });
    filter->setObjectName(QStringLiteral("filterBundlesAction"));
    filter->setShortcut(QKeySequence::Find);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Fit All"), QKeySequence(tr("Ctrl+0")), m_timeline, &TimelineWidget::zoomToFit);
    view->addAction(tr("Fit &Leaf and Staples"), QKeySequence(tr("Ctrl+L")), m_timeline, &TimelineWidget::zoomToLeaf);
    view->addAction(tr("&Today"), QKeySequence(tr("Ctrl+T")), m_timeline, &TimelineWidget::centerOnNow);
    view->addAction(tr("Zoom &In"), QKeySequence::ZoomIn, m_timeline, &TimelineWidget::zoomIn);
    view->addAction(tr("Zoom &Out"), QKeySequence::ZoomOut, m_timeline, &TimelineWidget::zoomOut);
    view->addSeparator();
    view->addAction(tr("&Bundles"), QKeySequence(tr("Ctrl+1")), this, [this] { m_bundleView->setFocus(); });
    view->addAction(tr("Time&line"), QKeySequence(tr("Ctrl+2")), this, [this] { m_timeline->setFocus(); });
    view->addAction(tr("Fi&ndings"), QKeySequence(tr("Ctrl+3")), this, [this] {
        m_tabs->setCurrentIndex(0);
        m_findingView->setFocus();
    });
    view->addAction(tr("&Details"), QKeySequence(tr("Ctrl+4")), this, [this] {
        m_tabs->setCurrentIndex(1);
        m_details->setFocus();
    });
    view->addAction(tr("Fl&eet Timeline"), QKeySequence(tr("Ctrl+Shift+F")), this, [this] { showFleet(); });
    view->addAction(tr("&As Of…"), QKeySequence(tr("Ctrl+D")), this, [this] { m_asOfEdit->setFocus(); });
    view->addAction(tr("As of &Now"), QKeySequence(tr("Ctrl+N")), this, [this] { setAsOf({}); });
    buildThemeMenu(view);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard"), this, [this] {
        QMessageBox::information(
            this, tr("Keyboard"),
            tr("<p><b>Ctrl+1…4</b> bundles, timeline, findings, details · <b>Ctrl+D</b> the “as of” field · "
               "<b>Ctrl+N</b> as of now</p><p>In the timeline: <b>←/→</b> pan (Shift: a page) · <b>+/−</b> zoom · "
               "<b>Home</b> fit all · <b>L</b> leaf and staples · <b>T</b> the evaluation time · <b>↑/↓</b> lanes · "
               "<b>Enter</b> show the lane's details</p><p><b>Ctrl+Shift+C</b> copies the selected finding.</p>"));
    });
    QAction* about = help->addAction(tr("&About Staplescope"), this, [this] {
        // open(), not exec(): no nested event loop, and tests find the dialog and close it.
        auto* dialog = new AboutDialog(this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->open();
    });
    about->setObjectName(QStringLiteral("aboutAction"));
    about->setMenuRole(QAction::AboutRole);
}

QWidget* MainWindow::buildWelcome()
{
    auto* page = new QWidget(this);
    auto* outer = new QVBoxLayout(page);
    outer->addStretch(1);
    auto* zone = new QFrame(page);
    zone->setObjectName(QStringLiteral("dropZone"));
    zone->setStyleSheet(QStringLiteral("QFrame#dropZone { border: 2px dashed palette(mid); border-radius: 14px; }"));
    zone->setMaximumWidth(760);
    auto* layout = new QVBoxLayout(zone);
    layout->setContentsMargins(36, 28, 36, 28);
    layout->setSpacing(12);

    auto* title = new QLabel(tr("<h1>Staplescope</h1>"), zone);
    title->setAlignment(Qt::AlignCenter);
    layout->addWidget(title);
    auto* text = new QLabel(
        tr("<p><b>Drop certificates, chains, private keys and OCSP staples here</b> — single files or whole "
           "folders such as <span style='white-space:nowrap'><tt>/etc/letsencrypt/live/example.org/</tt></span> or <tt>/etc/exim4/</tt>.</p>"
           "<p>Staplescope reads PEM, DER, PKCS#7, PKCS#12, OCSP responses, keys and CRLs, puts each certificate "
           "together with its chain, staple and key, and tells you exactly what is wrong and how to fix it. "
           "Every validity window appears on one timeline; move the “as of” slider to see what breaks next week.</p>"
           "<p>Files are only read, never changed. Private key material is never shown.</p>"),
        zone);
    text->setWordWrap(true);
    text->setTextFormat(Qt::RichText);
    layout->addWidget(text);

    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    auto* demo = new QPushButton(tr("Show the &Demo"), zone);
    demo->setToolTip(tr("A healthy bundle and a renewal incident, generated now so the dates are current"));
    demo->setDefault(true);
    demo->setAutoDefault(true);
    auto* openFiles = new QPushButton(tr("&Open Files…"), zone);
    auto* openFolder = new QPushButton(tr("Open &Folder…"), zone);
    buttons->addWidget(demo);
    buttons->addWidget(openFiles);
    buttons->addWidget(openFolder);
    buttons->addStretch();
    layout->addLayout(buttons);
    connect(demo, &QPushButton::clicked, this, &MainWindow::openDemo);
    connect(openFiles, &QPushButton::clicked, this, &MainWindow::openFilesDialog);
    connect(openFolder, &QPushButton::clicked, this, &MainWindow::openFolderDialog);

    auto* recentLabel = new QLabel(tr("&Recent:"), zone);
    recentLabel->setObjectName(QStringLiteral("recentLabel"));
    m_welcomeRecent = new QListWidget(zone);
    m_welcomeRecent->setMaximumHeight(130);
    m_welcomeRecent->setAccessibleName(tr("Recent files and folders"));
    recentLabel->setBuddy(m_welcomeRecent);
    layout->addWidget(recentLabel);
    layout->addWidget(m_welcomeRecent);
    connect(m_welcomeRecent, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { openPaths({item->data(Qt::UserRole).toString()}); });

    auto* center = new QHBoxLayout;
    center->addStretch();
    center->addWidget(zone, 4);
    center->addStretch();
    outer->addLayout(center);
    outer->addStretch(2);
    setTabOrder(demo, openFiles);
    setTabOrder(openFiles, openFolder);
    setTabOrder(openFolder, m_welcomeRecent);
    return page;
}

QWidget* MainWindow::buildWorkspace()
{
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setChildrenCollapsible(false);
    m_mainSplitter = splitter;

    // Left: bundles, worst first.
    auto* left = new QWidget(splitter);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(6, 6, 0, 6);
    m_bundleHeader = new QLabel(tr("&Bundles"), left);
    m_bundleView = new QTreeView(left);
    m_bundleHeader->setBuddy(m_bundleView);
    m_bundleView->setModel(m_bundleFilter);
    m_bundleView->setRootIsDecorated(false);
    m_bundleView->setUniformRowHeights(true);
    m_bundleView->setAlternatingRowColors(true);
    m_bundleView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_bundleView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_bundleView->setItemDelegateForColumn(BundleListModel::SeverityColumn, new SeverityBadgeDelegate(m_bundleView));
    m_bundleView->setAccessibleName(tr("Bundles, worst first"));
    m_bundleView->header()->setStretchLastSection(false);
    m_bundleView->header()->setSectionResizeMode(BundleListModel::SeverityColumn, QHeaderView::ResizeToContents);
    m_bundleView->header()->setSectionResizeMode(BundleListModel::NameColumn, QHeaderView::Interactive);
    m_bundleView->header()->setSectionResizeMode(BundleListModel::VerdictColumn, QHeaderView::Stretch);
    m_bundleView->header()->setSectionResizeMode(BundleListModel::FindingsColumn, QHeaderView::ResizeToContents);
    m_bundleView->header()->setSectionResizeMode(BundleListModel::OriginColumn, QHeaderView::Interactive);
    m_bundleView->header()->resizeSection(BundleListModel::NameColumn, 140);
    m_bundleView->setColumnHidden(BundleListModel::OriginColumn, true);
    auto* headerRow = new QHBoxLayout;
    headerRow->addWidget(m_bundleHeader, 1);
    auto* connectButton = new QPushButton(tr("Connect…"), left);
    connectButton->setToolTip(tr("Check what a live server serves (Ctrl+K)"));
    connect(connectButton, &QPushButton::clicked, this, &MainWindow::connectDialog);
    m_recheckButton = new QPushButton(tr("Re-check"), left);
    m_recheckButton->setToolTip(tr("Connect to the selected server again (Ctrl+Shift+R)"));
    m_recheckButton->setEnabled(false);
    connect(m_recheckButton, &QPushButton::clicked, this, &MainWindow::recheckSelectedServer);
    m_refreshButton = new QPushButton(tr("Refresh Staple"), left);
    m_refreshButton->setObjectName(QStringLiteral("refreshStapleButton"));
    m_refreshButton->setEnabled(false);
    connect(m_refreshButton, &QPushButton::clicked, this, &MainWindow::refreshSelectedStaple);
    headerRow->addWidget(connectButton);
    headerRow->addWidget(m_recheckButton);
    headerRow->addWidget(m_refreshButton);
    leftLayout->addLayout(headerRow);
    leftLayout->addWidget(buildBundleFilterRow(left));
    leftLayout->addWidget(m_bundleView);
    setUpBundleColumns();
    connect(m_bundleView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                // A current row the view set without selecting it (focus arriving while the fleet
                // was shown, a filtered-out row giving way to its neighbour) is selected: what is
                // shown is what actions act on.
                if (current.isValid() && !m_bundleView->selectionModel()->isSelected(current))
                    m_bundleView->selectionModel()->select(current, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
                showRow(m_bundleFilter->mapToSource(current).row(), false);
            });

    // Right: timeline with its controls above the findings and details.
    auto* right = new QSplitter(Qt::Vertical, splitter);
    right->setChildrenCollapsible(false);
    m_rightSplitter = right;
    auto* top = new QWidget(right);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 6, 6, 0);
    // A tool bar, so the controls that do not fit a small window move behind its "»" button
    // instead of widening the pane.
    auto* controls = new QToolBar(tr("Timeline"), top);
    controls->setObjectName(QStringLiteral("timelineControls"));
    controls->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto addButton = [&](const QString& text, const QString& tip, auto slot) {
        auto* b = new QToolButton(top);
        b->setText(text);
        b->setToolTip(tip);
        b->setAccessibleName(tip);
        connect(b, &QToolButton::clicked, this, slot);
        controls->addWidget(b);
        return b;
    };
    m_timeline = new TimelineWidget(top);
    addButton(tr("Fit all"), tr("Show every validity window (Home)"), [this] { m_timeline->zoomToFit(); });
    addButton(tr("Leaf"), tr("Show the certificate and its staples (L)"), [this] { m_timeline->zoomToLeaf(); });
    addButton(tr("Focus"), tr("Show the staples around the evaluation time (F)"), [this] { m_timeline->zoomToFocus(); });
    addButton(tr("Today"), tr("Centre on the evaluation time (T)"), [this] { m_timeline->centerOnNow(); });
    addButton(tr("−"), tr("Zoom out (−)"), [this] { m_timeline->zoomOut(); });
    addButton(tr("+"), tr("Zoom in (+)"), [this] { m_timeline->zoomIn(); });
    m_fleetButton = addButton(tr("Fleet"), tr("Every bundle on one timeline, the next event first (Ctrl+Shift+F)"),
                              [this] {
                                  if (m_fleetButton->isChecked())
                                      showFleet();
                                  else
                                      selectBundleRow(0); // the worst bundle, as after loading
                              });
    m_fleetButton->setCheckable(true);
    controls->addSeparator();
    auto* asOfLabel = new QLabel(tr("&As of:"), top);
    m_asOfEdit = new QDateTimeEdit(top);
    m_asOfEdit->setTimeSpec(Qt::UTC);
    m_asOfEdit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm 'UTC'"));
    m_asOfEdit->setCalendarPopup(true);
    m_asOfEdit->setToolTip(tr("Evaluate the bundles as of this moment (like staplescope-cli --at)"));
    asOfLabel->setBuddy(m_asOfEdit);
    m_asOfSlider = new QSlider(Qt::Horizontal, top);
    m_asOfSlider->setRange(-kSliderBackHours, kSliderAheadHours);
    m_asOfSlider->setSingleStep(1);
    m_asOfSlider->setPageStep(24);
    m_asOfSlider->setMinimumWidth(120);
    m_asOfSlider->setToolTip(tr("Drag to evaluate as of another moment: three months back to a year ahead "
                                "(arrow keys: an hour; Page Up/Down: a day)"));
    m_asOfSlider->setAccessibleName(tr("As of, relative to the moment of loading"));
    auto* nowButton = new QToolButton(top);
    nowButton->setText(tr("Now"));
    nowButton->setToolTip(tr("Evaluate as of the current time (Ctrl+N)"));
    m_asOfHint = new QLabel(top);
    m_asOfHint->setMinimumWidth(QFontMetrics(font()).horizontalAdvance(QStringLiteral("10 days 23 hours from now")));
    auto* spacer = new QWidget(top);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    controls->addWidget(spacer);
    controls->addWidget(asOfLabel);
    controls->addWidget(m_asOfEdit);
    m_asOfSlider->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    controls->addWidget(m_asOfSlider);
    controls->addWidget(nowButton);
    controls->addWidget(m_asOfHint);
    topLayout->addWidget(controls);
    topLayout->addWidget(m_timeline, 1);
    connect(nowButton, &QToolButton::clicked, this, [this] { setAsOf({}); });
    connect(m_asOfEdit, &QDateTimeEdit::dateTimeChanged, this, [this](const QDateTime& t) { setAsOf(t.toUTC()); });
    connect(m_asOfSlider, &QSlider::valueChanged, this, [this](int hours) {
        const QDateTime base = m_sliderBase.isValid() ? m_sliderBase : m_clock->now();
        setAsOf(base.addSecs(qint64(hours) * 3600));
    });

    m_tabs = new QTabWidget(right);
    auto* findingsPage = new QSplitter(Qt::Horizontal, m_tabs);
    findingsPage->setChildrenCollapsible(false);
    m_findingView = new QTreeView(findingsPage);
    m_findingView->setModel(m_findingModel);
    m_findingView->setRootIsDecorated(false);
    m_findingView->setUniformRowHeights(true);
    m_findingView->setSelectionMode(QAbstractItemView::SingleSelection);
    m_findingView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_findingView->setAccessibleName(tr("Findings, worst first"));
    m_findingView->header()->setStretchLastSection(false);
    m_findingView->header()->setSectionResizeMode(FindingListModel::SeverityColumn, QHeaderView::ResizeToContents);
    m_findingView->header()->setSectionResizeMode(FindingListModel::TitleColumn, QHeaderView::Stretch);
    m_findingView->header()->setSectionResizeMode(FindingListModel::CodeColumn, QHeaderView::ResizeToContents);
    m_findingView->setColumnHidden(FindingListModel::CodeColumn, true); // shown beside the message
    connect(m_findingView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) { showFinding(current.row()); });
    auto* copyShortcut = new QShortcut(QKeySequence::Copy, m_findingView, nullptr, nullptr, Qt::WidgetShortcut);
    connect(copyShortcut, &QShortcut::activated, this, &MainWindow::copyCurrentFinding);

    auto* findingBox = new QWidget(findingsPage);
    auto* findingLayout = new QVBoxLayout(findingBox);
    findingLayout->setContentsMargins(0, 0, 0, 0);
    m_findingText = new QTextBrowser(findingBox);
    m_findingText->setOpenLinks(false);
    m_findingText->setAccessibleName(tr("Selected finding: message and fix"));
    findingLayout->addWidget(m_findingText, 1);
    auto* findingButtons = new QHBoxLayout;
    findingButtons->addStretch();
    // Offered where the finding's typed remedy is a staple refresh (the registry decides where).
    m_findingRefreshButton = new QPushButton(tr("&Refresh Staple…"), findingBox);
    m_findingRefreshButton->setObjectName(QStringLiteral("findingRefreshButton"));
    m_findingRefreshButton->hide();
    connect(m_findingRefreshButton, &QPushButton::clicked, this, &MainWindow::refreshSelectedStaple);
    findingButtons->addWidget(m_findingRefreshButton);
    m_copyFinding = new QPushButton(tr("&Copy Finding"), findingBox);
    m_copyFinding->setToolTip(tr("Copy the finding as text (Ctrl+Shift+C)"));
    m_copyFinding->setEnabled(false);
    findingButtons->addWidget(m_copyFinding);
    findingLayout->addLayout(findingButtons);
    connect(m_copyFinding, &QPushButton::clicked, this, &MainWindow::copyCurrentFinding);
    findingsPage->addWidget(m_findingView);
    findingsPage->addWidget(findingBox);
    findingsPage->setStretchFactor(0, 2);
    findingsPage->setStretchFactor(1, 3);
    m_tabs->addTab(findingsPage, tr("Findings"));

    m_details = new DetailsPane(m_tabs);
    m_tabs->addTab(m_details, tr("Details"));
    connect(m_timeline, &TimelineWidget::fleetLaneActivated, this, &MainWindow::selectBundleId);
    connect(m_timeline, &TimelineWidget::laneActivated, this, [this](int lane) {
        if (lane < 0 || lane >= m_timeline->timeline().lanes.size())
            return;
        if (m_details->showObject(m_timeline->timeline().lanes[lane].objectId))
            m_tabs->setCurrentWidget(m_details);
    });

    right->addWidget(top);
    right->addWidget(m_tabs);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 3);
    splitter->setSizes({470, 810});
    setTabOrder(m_bundleFilterEdit, m_bundleView);
    setTabOrder(m_bundleView, m_timeline);
    return splitter;
}

// ---- loading and evaluation -------------------------------------------------------------------

bool MainWindow::isWelcomeShown() const { return m_stack->currentIndex() == 0; }

void MainWindow::openPaths(const QStringList& paths)
{
    if (paths.isEmpty())
        return;
    for (const QString& p : paths)
        m_settings->addRecentFile(p);
    updateRecentMenu();
    m_workspace->load(paths);
}

bool MainWindow::openDemo()
{
    const JobStart started = m_workspace->loadDemo();
    if (!started.id)
        showError(tr("Demo"), started.error);
    return started.id != 0;
}

void MainWindow::setNonInteractive(bool on)
{
    m_nonInteractive = on;
    if (on) {
        m_workspace->setPasswordPrompt({});
        return;
    }
    m_workspace->setPasswordPrompt([this](const QString& path) -> std::optional<QString> {
        bool ok = false;
        const QString password = QInputDialog::getText(
            // The dialog's label takes rich text: the file name goes in escaped.
            this, tr("Password"), plainToolTip(tr("Password for %1:").arg(QDir::toNativeSeparators(path))), QLineEdit::Password,
            QString(), &ok);
        if (ok)
            return password;
        return std::nullopt;
    });
}

void MainWindow::watchWorkspace()
{
    connect(m_workspace.get(), &Workspace::jobStarted, this, &MainWindow::onJobStarted);
    connect(m_workspace.get(), &Workspace::jobFinished, this, &MainWindow::onJobFinished);
    connect(m_workspace.get(), &Workspace::jobProgress, this, [this](const JobInfo& job, qint64 done, qint64 total) {
        if (job.kind != JobKind::Load && job.kind != JobKind::PlanRefresh)
            return;
        m_progress->setRange(0, int(total));
        m_progress->setValue(int(done));
        m_statusLabel->setText(job.kind == JobKind::Load ? tr("Reading files: %1 of %2…").arg(done).arg(total)
                                                         : tr("Asking OCSP responders: %1 of %2 bundles…").arg(done).arg(total));
    });
    connect(m_workspace.get(), &Workspace::refreshPlanned, this,
            [this](const JobInfo&, const RefreshPlan& plan) { onRefreshPlanned(plan); });
    connect(m_workspace.get(), &Workspace::refreshApplied, this,
            [this](const JobInfo&, const RefreshApplyResult& result) { onRefreshApplied(result); });
    connect(m_workspace.get(), &Workspace::deployPlanned, this,
            [this](const JobInfo&, const DeployPlan& plan, const DeployOptions& options) { onDeployPlanned(plan, options); });
    connect(m_workspace.get(), &Workspace::deployStep, this, [this](const JobInfo& job, const QString& step) {
        // core's step name, as it is: the same words `deploy` prints and its fault points use.
        m_statusLabel->setText((job.kind == JobKind::PlanDeploy ? tr("Planning a deploy into %1: %2")
                                                                : tr("Deploying into %1: %2"))
                                   .arg(job.title, step));
    });
    connect(m_workspace.get(), &Workspace::deployed, this,
            [this](const JobInfo&, const DeployResult& result) { onDeployed(result); });
    connect(m_workspace.get(), &Workspace::renewPlanned, this,
            [this](const JobInfo&, const RenewPlan& plan, const RenewOptions& options) { onRenewPlanned(plan, options); });
    connect(m_workspace.get(), &Workspace::renewed, this, [this](const JobInfo&, const RenewResult& result) {
        m_statusLabel->setText(result.exitCode() == 0 ? tr("Renewal finished; the files are read again.")
                                                      : tr("Renewal failed or ended with problems: see the Renew window."));
    });
    connect(m_workspace.get(), &Workspace::clientDetected, this, [this](const QString& bundleId) {
        if (bundleId == selectedBundleId())
            updateRenewControls();
    });
    connect(m_workspace.get(), &Workspace::sessionChanged, this, &MainWindow::onSessionChanged);
    connect(m_workspace.get(), &Workspace::reportChanged, this,
            [this](bool fresh) { applyReport(m_workspace->report(), fresh); });
}

void MainWindow::onJobStarted(const JobInfo& job)
{
    switch (job.kind) {
    case JobKind::Load:
        m_progress->setRange(0, 0);
        m_progress->show();
        m_cancelConnectButton->show();
        m_statusLabel->setText(tr("Reading %1…").arg(job.title));
        setCursor(Qt::BusyCursor);
        m_sliderBase = m_workspace->loadTime();
        break;
    case JobKind::ServerCheck:
        m_progress->show();
        m_cancelConnectButton->show();
        m_statusLabel->setText(tr("Connecting to %1…").arg(job.title));
        updateServerControls();
        break;
    case JobKind::PlanRefresh:
    case JobKind::ApplyRefresh:
        m_progress->setRange(0, 0);
        m_progress->show();
        m_cancelConnectButton->show();
        m_statusLabel->setText(job.kind == JobKind::PlanRefresh ? tr("Asking OCSP responders for %1…").arg(job.title)
                                                                : tr("Applying the refresh plan (%1)…").arg(job.title));
        updateRefreshControls();
        break;
    case JobKind::PlanDeploy:
    case JobKind::Deploy:
    case JobKind::Rollback:
    case JobKind::PlanRenew:
    case JobKind::Renew:
        m_progress->setRange(0, 0);
        m_progress->show();
        if (job.cancellable)
            m_cancelConnectButton->show();
        if (job.kind == JobKind::PlanDeploy)
            m_statusLabel->setText(tr("Planning a deploy into %1: reading the source, fetching its staple…").arg(job.title));
        else if (job.kind == JobKind::Deploy)
            m_statusLabel->setText(tr("Deploying into %1…").arg(job.title));
        else if (job.kind == JobKind::Rollback)
            m_statusLabel->setText(tr("Rolling back %1…").arg(job.title));
        else if (job.kind == JobKind::PlanRenew)
            m_statusLabel->setText(tr("Planning the renewal of %1…").arg(job.title));
        else
            m_statusLabel->setText(tr("Renewing %1 — this cannot be stopped once the client runs…").arg(job.title));
        updateDeployControls();
        updateRenewControls();
        break;
    case JobKind::Generations:
    case JobKind::DetectClient:
    case JobKind::Evaluate:
    case JobKind::Custom:
        break;
    }
}

void MainWindow::onJobFinished(const JobInfo& job, JobOutcome outcome)
{
    if (outcome == JobOutcome::Replaced || job.kind == JobKind::Evaluate || job.kind == JobKind::Custom ||
        job.kind == JobKind::Generations || job.kind == JobKind::DetectClient)
        return;
    if (!m_workspace->isLoading() && !m_workspace->isConnecting() && !m_workspace->isRefreshing() &&
        !m_workspace->isDeploying() && !m_workspace->isRenewing()) {
        m_progress->hide();
        m_cancelConnectButton->hide();
    }
    if (job.kind == JobKind::PlanDeploy || job.kind == JobKind::Deploy || job.kind == JobKind::Rollback ||
        job.kind == JobKind::PlanRenew || job.kind == JobKind::Renew) {
        updateDeployControls();
        updateRenewControls();
        if (job.kind == JobKind::PlanDeploy && outcome == JobOutcome::Cancelled) {
            m_statusLabel->setText(tr("Deploy cancelled: nothing was changed."));
            emit deployFinished();
        }
        if (job.kind == JobKind::PlanRenew && outcome == JobOutcome::Cancelled)
            m_statusLabel->setText(tr("Renewal cancelled: nothing was run."));
        return;
    }
    if (job.kind == JobKind::PlanRefresh || job.kind == JobKind::ApplyRefresh) {
        updateRefreshControls();
        if (job.kind == JobKind::PlanRefresh && outcome == JobOutcome::Cancelled) {
            m_statusLabel->setText(tr("Refresh cancelled: nothing was changed."));
            emit refreshFinished();
        }
        return;
    }
    if (job.kind == JobKind::Load) {
        unsetCursor();
        if (outcome == JobOutcome::Cancelled)
            // The workspace kept what was shown before; a half-read folder would mislead.
            m_statusLabel->setText(tr("Loading cancelled: nothing was changed."));
        else
            updateWindowTitle();
        emit loadFinished();
        if (m_refreshResultPending) {
            // The files were read again after a refresh (or that reading was cancelled).
            m_refreshResultPending = false;
            emit refreshFinished();
        }
        return;
    }
    // A server check: its bundle is selected when the re-evaluation it started arrives.
    const int server = m_workspace->serverIndexOfJob(job.id);
    m_selectAfterEvaluation = server >= 0 ? m_workspace->servers().at(server).bundleIds.value(0) : QString();
    if (outcome == JobOutcome::Cancelled)
        m_statusLabel->setText(tr("Check of %1 cancelled.").arg(job.title));
    if (m_workspace->isLoading())
        updateAsOfControls(); // no re-evaluation: the load's report comes next
    updateWindowTitle();
    emit serverCheckFinished();
}

void MainWindow::onSessionChanged()
{
    if (m_workspace->hasFileSession())
        m_reloadAction->setEnabled(true);
    m_exportAction->setEnabled(true);
    m_stack->setCurrentIndex(1);
    m_bundleModel->setInputsRowLabel(m_workspace->servers().isEmpty() ? tr("Input files")
                                     : m_workspace->hasFileSession()  ? tr("Files and connections")
                                                                      : tr("Connections"));
}

void MainWindow::setAsOf(const QDateTime& at)
{
    const QDateTime value = at.isValid() ? at.toUTC() : QDateTime();
    if (value == m_workspace->asOf() && value.isValid())
        return;
    if (!value.isValid())
        m_sliderBase = m_clock->now();
    if (!m_workspace->setAsOf(value))
        updateAsOfControls();
}

void MainWindow::requestEvaluation()
{
    if (!m_workspace->reevaluate())
        updateAsOfControls();
}

void MainWindow::setClock(std::shared_ptr<const Clock> clock)
{
    m_clock = clock ? std::move(clock) : Clock::system();
    m_workspace->setClock(m_clock);
    m_timeline->setClock(m_clock);
    updateAsOfControls();
}

const InspectionReport& MainWindow::report() const { return m_bundleModel->report(); }

QDateTime MainWindow::evaluatedAt() const { return report().at; }

void MainWindow::applyReport(const InspectionReport& newReport, bool fresh)
{
    // Core re-sorts bundles on every evaluation: keep the selection by bundle id, not by row.
    const int oldRow = currentBundleRow();
    const QString selectedId = oldRow >= 0 ? m_bundleModel->data(m_bundleModel->index(oldRow, 0), BundleListModel::BundleIdRole).toString()
                                           : QString();
    const bool wasInputs = m_bundleModel->isInputsRow(oldRow);
    const QString selectedCode = m_findingModel->findingAt(currentFindingRow()) ? m_findingModel->findingAt(currentFindingRow())->code : QString();
    const bool keepFleet = !fresh && isFleetShown() && m_selectAfterEvaluation.isEmpty();

    m_bundleModel->setReport(newReport);
    updateLocationColumn();
    int row = 0;
    if (!fresh) {
        row = wasInputs ? m_bundleModel->inputsRow() : m_bundleModel->rowOfBundle(selectedId);
        if (row < 0)
            row = 0;
    }
    bool sameBundle = !fresh;
    if (!m_selectAfterEvaluation.isEmpty()) {
        const int wanted = m_bundleModel->rowOfBundle(m_selectAfterEvaluation);
        if (wanted >= 0) {
            sameBundle = m_selectAfterEvaluation == selectedId;
            row = wanted;
            m_selectAfterEvaluation.clear();
        }
    }
    // The row as the list shows it (sorted, filtered); a bundle the filter hides gives way to the
    // first one shown.
    QModelIndex shown = m_bundleFilter->mapFromSource(m_bundleModel->index(row, 0));
    if (!shown.isValid()) {
        shown = m_bundleFilter->index(0, 0);
        sameBundle = false;
    }
    row = m_bundleFilter->mapToSource(shown).row();
    if (keepFleet && m_bundleModel->report().bundles.size() > 1) {
        showFleet(true);
    } else {
        if (shown.isValid()) {
            const QSignalBlocker block(m_bundleView->selectionModel());
            m_bundleView->selectionModel()->setCurrentIndex(shown, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
            m_bundleView->scrollTo(shown);
            m_bundleView->viewport()->update();
        }
        showRow(row, !fresh);
    }
    if (sameBundle && !selectedCode.isEmpty()) {
        for (int r = 0; r < m_findingModel->rowCount(); ++r)
            if (m_findingModel->findingAt(r)->code == selectedCode) {
                selectFindingRow(r);
                break;
            }
    }

    const InspectionReport& r = m_bundleModel->report();
    m_bundleHeader->setText(tr("&Bundles (%1)").arg(r.bundles.size()));
    updateBundleFilterCount();
    // core's counts line, as the CLI's text report ends: it says what it counts.
    m_statusLabel->setText(tr("%1 · files read: %2 · evaluated at %3")
                               .arg(reportCountsLine(r), QString::number(r.files.size()), formatTime(r.at)));
    updateAsOfControls();
    emit reportUpdated();
}

void MainWindow::showRow(int row, bool keepView)
{
    // Nothing selected among several bundles: all of them, on one timeline.
    if (row < 0 && m_bundleModel->report().bundles.size() > 1) {
        showFleet(keepView);
        return;
    }
    m_fleetButton->setChecked(false);
    const BundleReport* b = m_bundleModel->bundleAt(row);
    m_findingModel->setFindings(m_bundleModel->findingsAt(row));
    if (b)
        m_timeline->setTimeline(b->timeline, keepView);
    else
        m_timeline->clear();
    m_details->setBundle(b);
    updateServerControls();
    updateRefreshControls();
    updateRenewControls();
    if (m_findingModel->rowCount() > 0)
        selectFindingRow(0);
    else
        showFinding(-1);
}

void MainWindow::showFinding(int row)
{
    const Finding* f = m_findingModel->findingAt(row);
    m_copyFinding->setEnabled(f != nullptr);
    m_findingRefreshButton->setVisible(f && f->remedy.kind == RemedyKind::RefreshStaple);
    if (!f) {
        m_timeline->setHighlightedObjects({});
        const BundleReport* b = m_bundleModel->bundleAt(currentBundleRow());
        // core's word for it, as the CLI's report and the bundle list say.
        m_findingText->setHtml(b ? tr("<p><b>%1</b>: no findings as of %2.</p>")
                                       .arg(healthyVerdict().toHtmlEscaped(), formatTime(report().at).toHtmlEscaped())
                                 : QString());
        return;
    }
    m_timeline->setHighlightedObjects(f->objectIds);
    const QColor c = severityColor(f->severity, palette());
    // escapeHtml, not only toHtmlEscaped: a server's control bytes show as \x1b here as in the reports.
    QString html = QStringLiteral("<h3 style='margin-bottom:2px'>%1</h3>").arg(escapeHtml(f->title));
    html += QStringLiteral("<p style='margin-top:0'><b style='color:%1'>%2</b> · <tt>%3</tt></p>")
                .arg(c.name(), severityLabel(f->severity), escapeHtml(f->code));
    if (!f->subject.isEmpty())
        html += QStringLiteral("<p><i>%1</i></p>").arg(escapeHtml(f->subject));
    html += QStringLiteral("<p>%1</p>").arg(escapeHtml(f->message));
    if (!f->fix.isEmpty())
        html += QStringLiteral("<p><b>%1</b> %2</p>").arg(tr("Fix:"), escapeHtml(f->fix));
    if (f->remedy.kind != RemedyKind::None)
        html += QStringLiteral("<p><b>%1</b> %2</p>").arg(tr("Remedy:"), escapeHtml(guiRemedyText(f->remedy)));
    m_findingText->setHtml(html);
}

bool MainWindow::selectBundleRow(int row)
{
    if (row < 0 || row >= m_bundleModel->rowCount())
        return false;
    QModelIndex shown = m_bundleFilter->mapFromSource(m_bundleModel->index(row, 0));
    if (!shown.isValid()) {
        // Asked for by name (a fleet lane, a test): the filter must not hide it.
        m_bundleFilterEdit->clear();
        shown = m_bundleFilter->mapFromSource(m_bundleModel->index(row, 0));
    }
    const bool wasCurrent = shown == m_bundleView->selectionModel()->currentIndex();
    m_bundleView->selectionModel()->setCurrentIndex(shown, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_bundleView->scrollTo(shown);
    if (wasCurrent && isFleetShown())
        showRow(row, false); // current but not selected (the fleet was shown): no signal follows
    return true;
}

int MainWindow::currentBundleRow() const
{
    // No selection (the fleet is shown) is no row, even where the view keeps a current index.
    if (!m_bundleView->selectionModel()->hasSelection())
        return -1;
    const QModelIndex i = m_bundleFilter->mapToSource(m_bundleView->selectionModel()->currentIndex());
    return i.isValid() ? i.row() : -1;
}

bool MainWindow::selectBundleId(const QString& bundleId)
{
    return selectBundleRow(m_bundleModel->rowOfBundle(bundleId));
}

bool MainWindow::isFleetShown() const { return m_timeline->isFleet(); }

void MainWindow::showFleet(bool keepView)
{
    {
        const QSignalBlocker block(m_bundleView->selectionModel());
        m_bundleView->selectionModel()->clearSelection();
        m_bundleView->selectionModel()->setCurrentIndex({}, QItemSelectionModel::NoUpdate);
    }
    m_bundleView->viewport()->update();
    FleetTimeline fleet = buildFleetTimeline(m_bundleModel->report());
    if (m_bundleFilter->isFiltering()) {
        // The lanes of the bundles the list shows.
        QSet<QString> shown;
        for (int r = 0; r < m_bundleFilter->rowCount(); ++r)
            shown.insert(m_bundleFilter->index(r, 0).data(BundleListModel::BundleIdRole).toString());
        fleet.lanes.removeIf([&shown](const FleetLane& lane) { return !shown.contains(lane.bundleId); });
    }
    m_timeline->setFleet(fleet, keepView);
    m_fleetButton->setChecked(true);
    m_findingModel->setFindings({});
    m_details->setBundle(nullptr);
    updateServerControls();
    updateRefreshControls();
    updateRenewControls();
    showFinding(-1);
    m_findingText->setHtml(tr("<p>Fleet timeline: %1 bundles, the one whose next event comes first at the top. "
                              "Click a lane or a row of the list to see that bundle's findings.</p>")
                               .arg(fleet.lanes.size()));
}

QWidget* MainWindow::buildBundleFilterRow(QWidget* parent)
{
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* label = new QLabel(tr("F&ilter:"), row);
    m_bundleFilterEdit = new FilterLineEdit(row);
    m_bundleFilterEdit->setObjectName(QStringLiteral("bundleFilter"));
    m_bundleFilterEdit->setPlaceholderText(tr("name, path, code or severity (Ctrl+F)"));
    m_bundleFilterEdit->setToolTip(tr("Shows the bundles whose name, location, file, finding code or severity "
                                      "(critical, error, warning, ok) contains every word typed; Esc clears"));
    m_bundleFilterEdit->setAccessibleName(tr("Filter bundles"));
    label->setBuddy(m_bundleFilterEdit);
    m_bundleFilterCount = new QLabel(row);
    m_bundleFilterCount->setObjectName(QStringLiteral("bundleFilterCount"));
    layout->addWidget(label);
    layout->addWidget(m_bundleFilterEdit, 1);
    layout->addWidget(m_bundleFilterCount);
    connect(m_bundleFilterEdit, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_bundleFilter->setFilterText(text);
        updateBundleFilterCount();
        if (isFleetShown())
            showFleet(true);
    });
    return row;
}

void MainWindow::setUpBundleColumns()
{
    QHeaderView* header = m_bundleView->header();
    const QFontMetrics fm(m_bundleView->font());
    // Shown as: status, name, location, the two figures, verdict, findings.
    header->moveSection(header->visualIndex(BundleListModel::OriginColumn), 2);
    header->moveSection(header->visualIndex(BundleListModel::ExpiresColumn), 3);
    header->moveSection(header->visualIndex(BundleListModel::StapleColumn), 4);
    header->setSectionResizeMode(BundleListModel::ExpiresColumn, QHeaderView::Interactive);
    header->setSectionResizeMode(BundleListModel::StapleColumn, QHeaderView::Interactive);
    header->resizeSection(BundleListModel::ExpiresColumn, fm.horizontalAdvance(tr("Expires in")) + 24);
    header->resizeSection(BundleListModel::StapleColumn, fm.horizontalAdvance(tr("Staple valid for")) + 16);
    header->resizeSection(BundleListModel::OriginColumn, 120);
    // Unsorted until a header is clicked: core's order, worst first. A third click returns to it.
    header->setSortIndicator(-1, Qt::AscendingOrder);
    header->setSortIndicatorClearable(true);
    m_bundleView->setSortingEnabled(true);
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this, &MainWindow::showBundleHeaderMenu);
}

void MainWindow::showBundleHeaderMenu(const QPoint& pos)
{
    QMenu menu(this);
    for (const int column : {int(BundleListModel::OriginColumn), int(BundleListModel::ExpiresColumn),
                             int(BundleListModel::StapleColumn), int(BundleListModel::VerdictColumn),
                             int(BundleListModel::FindingsColumn)}) {
        QAction* a = menu.addAction(m_bundleModel->headerData(column, Qt::Horizontal).toString());
        a->setCheckable(true);
        a->setChecked(!m_bundleView->isColumnHidden(column));
        connect(a, &QAction::toggled, this, [this, column](bool on) {
            m_bundleView->setColumnHidden(column, !on);
            if (column == BundleListModel::OriginColumn)
                m_locationColumnChosen = true;
        });
    }
    menu.addSeparator();
    menu.addAction(tr("Worst First (Unsorted)"), this, [this] { m_bundleView->sortByColumn(-1, Qt::AscendingOrder); });
    menu.exec(m_bundleView->header()->mapToGlobal(pos));
}

void MainWindow::updateBundleFilterCount()
{
    const int all = m_bundleFilter->bundleCount();
    const QString bundles = all == 1 ? tr("1 bundle") : tr("%1 bundles").arg(all);
    m_bundleFilterCount->setText(m_bundleFilter->isFiltering() ? tr("%1 of %2").arg(m_bundleFilter->shownBundleCount()).arg(bundles)
                                                               : bundles);
}

void MainWindow::updateLocationColumn()
{
    // Repeated names (a hundred mail.example.test) are told apart by where they came from.
    if (!m_locationColumnChosen)
        m_bundleView->setColumnHidden(BundleListModel::OriginColumn, !m_bundleModel->displayNamesRepeat());
}

bool MainWindow::selectFindingRow(int row)
{
    if (row < 0 || row >= m_findingModel->rowCount())
        return false;
    m_findingView->selectionModel()->setCurrentIndex(m_findingModel->index(row, 0),
                                                     QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    showFinding(row); // also when the row was already current
    return true;
}

int MainWindow::currentFindingRow() const
{
    const QModelIndex i = m_findingView->selectionModel()->currentIndex();
    return i.isValid() ? i.row() : -1;
}

void MainWindow::updateAsOfControls()
{
    const QDateTime asOf = m_workspace->asOf();
    const QDateTime now = m_clock->now();
    const QDateTime at = report().at.isValid() ? report().at : (asOf.isValid() ? asOf : now);
    {
        const QSignalBlocker b1(m_asOfEdit);
        m_asOfEdit->setDateTime(at);
    }
    {
        const QSignalBlocker b2(m_asOfSlider);
        const QDateTime base = m_sliderBase.isValid() ? m_sliderBase : at;
        m_asOfSlider->setValue(int(std::clamp<qint64>(base.secsTo(at) / 3600, -kSliderBackHours, kSliderAheadHours)));
    }
    m_asOfHint->setText(asOf.isValid() ? relativeToNow(at, now) : tr("now"));
}

// ---- files, recent, export --------------------------------------------------------------------

void MainWindow::openFilesDialog()
{
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Open certificates, keys and staples"), QString(),
        tr("TLS files (*.pem *.crt *.cer *.der *.key *.p7b *.p7c *.p12 *.pfx *.ocsp *.resp *.crl);;All files (*)"));
    openPaths(files);
}

void MainWindow::openFolderDialog()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Open a folder"));
    if (!folder.isEmpty())
        openPaths({folder});
}

void MainWindow::updateRecentMenu()
{
    const QStringList recent = m_settings->recentFiles();
    m_recentMenu->clear();
    m_welcomeRecent->clear();
    for (int i = 0; i < recent.size(); ++i) {
        const QString& path = recent[i];
        const QString shown = QDir::toNativeSeparators(path);
        // A menu makes "&x" a shortcut: a file name's own ampersands are doubled.
        QString inMenu = shown;
        inMenu.replace(QLatin1Char('&'), QLatin1String("&&"));
        QAction* a = m_recentMenu->addAction(i < 9 ? QStringLiteral("&%1 %2").arg(QString::number(i + 1), inMenu) : inMenu);
        connect(a, &QAction::triggered, this, [this, path] { openPaths({path}); });
        auto* item = new QListWidgetItem(shown, m_welcomeRecent);
        item->setData(Qt::UserRole, path);
    }
    if (!recent.isEmpty()) {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("&Clear List"), this, [this] {
            m_settings->clearRecentFiles();
            updateRecentMenu();
        });
    }
    m_recentMenu->setEnabled(!recent.isEmpty());
    m_welcomeRecent->setVisible(!recent.isEmpty());
    if (auto* label = findChild<QLabel*>(QStringLiteral("recentLabel")))
        label->setVisible(!recent.isEmpty());
}

void MainWindow::updateWindowTitle()
{
    const QStringList loaded = m_workspace->loadedPaths();
    QString what;
    if (m_workspace->isDemo())
        what = tr("Demo");
    else if (loaded.size() == 1)
        what = QFileInfo(loaded.first()).fileName();
    else
        what = tr("%n item(s)", nullptr, int(loaded.size()));
    setWindowTitle(tr("%1 — Staplescope").arg(what));
}

WriteResult MainWindow::exportReport(const QString& path, ExportFormat format) const
{
    return m_workspace->exportReport(path, format);
}

void MainWindow::exportInteractive()
{
    const QString markdown = tr("Markdown (*.md)"), html = tr("HTML (*.html)"), json = tr("JSON (*.json)");
    QString filter = markdown;
    QString path = QFileDialog::getSaveFileName(this, tr("Export report"), QStringLiteral("staplescope-report.md"),
                                                QStringList{markdown, html, json}.join(QStringLiteral(";;")), &filter);
    if (path.isEmpty())
        return;
    ExportFormat format = ExportFormat::Markdown;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (filter == html || suffix == QLatin1String("html") || suffix == QLatin1String("htm"))
        format = ExportFormat::Html;
    if (filter == json || suffix == QLatin1String("json"))
        format = ExportFormat::Json;
    if (QFileInfo(path).suffix().isEmpty())
        path += format == ExportFormat::Html ? QStringLiteral(".html") : format == ExportFormat::Json ? QStringLiteral(".json") : QStringLiteral(".md");
    const WriteResult result = exportReport(path, format);
    if (!result.ok)
        showError(tr("Export"), result.error);
    else
        statusBar()->showMessage(tr("Report written to %1").arg(QDir::toNativeSeparators(path)), 5000);
}

void MainWindow::showSettings()
{
    const QStringList anchorsBefore = m_settings->extraTrustAnchors();
    const bool systemBefore = m_settings->useSystemTrust();
    SettingsDialog dialog(*m_settings, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    // Trust anchors are part of loading; thresholds only of evaluation.
    if ((anchorsBefore != m_settings->extraTrustAnchors() || systemBefore != m_settings->useSystemTrust())
        && !m_workspace->loadedPaths().isEmpty())
        m_workspace->reload();
    else
        requestEvaluation();
}

void MainWindow::copyCurrentFinding()
{
    if (const Finding* f = m_findingModel->findingAt(currentFindingRow())) {
        QApplication::clipboard()->setText(findingToText(*f, guiRemedyText));
        statusBar()->showMessage(tr("Finding %1 copied").arg(f->code), 3000);
    }
}

void MainWindow::showError(const QString& title, const QString& text)
{
    if (m_nonInteractive) {
        qWarning("%s: %s", qPrintable(title), qPrintable(escapeText(text))); // to a terminal
        return;
    }
    // The text quotes file names and server replies: plain, never rich text.
    QMessageBox box(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
    box.setTextFormat(Qt::PlainText);
    box.exec();
}

// ---- drag and drop, close ---------------------------------------------------------------------

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    // Any URL or text is let through: a drop that is no server gets a message saying why.
    if (event->mimeData()->hasUrls() || event->mimeData()->hasText())
        event->acceptProposedAction();
}

void MainWindow::dragMoveEvent(QDragMoveEvent* event)
{
    if (event->mimeData()->hasUrls() || event->mimeData()->hasText())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    // Local files open as files; anything else that names a server starts a connect.
    const QStringList paths = droppedPaths(event->mimeData());
    if (!paths.isEmpty()) {
        event->acceptProposedAction();
        openPaths(paths);
        return;
    }
    const DroppedServers servers = droppedServers(event->mimeData());
    if (servers.requests.isEmpty()) {
        m_statusLabel->setText(servers.errors.isEmpty()
                                   ? tr("Nothing to open or connect to was dropped.")
                                   : tr("Nothing to open or connect to: %1").arg(servers.errors.constFirst()));
        event->ignore();
        return;
    }
    if (!servers.errors.isEmpty())
        statusBar()->showMessage(tr("Not a server, skipped: %1").arg(servers.errors.constFirst()), 8000);
    event->acceptProposedAction();
    for (const ServerCheckRequest& request : servers.requests)
        connectToServer(request);
}

QStringList MainWindow::droppedPaths(const QMimeData* data)
{
    QStringList paths;
    if (data && data->hasUrls())
        for (const QUrl& url : data->urls())
            if (url.isLocalFile())
                paths << url.toLocalFile();
    return paths;
}

MainWindow::DroppedServers MainWindow::droppedServers(const QMimeData* data)
{
    DroppedServers out;
    if (!data)
        return out;
    QStringList candidates;
    if (data->hasUrls()) {
        for (const QUrl& url : data->urls())
            if (!url.isLocalFile())
                candidates << url.toString();
    } else if (data->hasText()) {
        // One server a line ("host:port" or a URL), as copied from a list.
        candidates = data->text().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    }
    for (const QString& candidate : std::as_const(candidates)) {
        if (candidate.trimmed().isEmpty())
            continue;
        if (out.requests.size() + out.errors.size() >= kMaxDroppedServers)
            break;
        const ServerTarget target = parseServerTarget(candidate);
        if (!target.ok()) {
            out.errors << target.error;
            continue;
        }
        ServerCheckRequest request;
        request.probe.host = target.endpoint.host;
        request.probe.port = target.endpoint.port;
        request.probe.startTls = target.startTls;
        out.requests << request;
    }
    return out;
}

// ---- live servers ------------------------------------------------------------------------------

void MainWindow::connectDialog()
{
    ConnectDialog dialog(this);
    dialog.setRecentServers(m_settings.get());
    const QList<Workspace::ServerEntry>& servers = m_workspace->servers();
    if (const int index = m_workspace->serverIndexOfBundle(
            m_bundleModel->data(m_bundleModel->index(currentBundleRow(), 0), BundleListModel::BundleIdRole).toString());
        index >= 0)
        dialog.setRequest(servers.at(index).request);
    else if (!servers.isEmpty())
        dialog.setRequest(servers.constLast().request);
    const bool accepted = dialog.exec() == QDialog::Accepted;
    updateRecentServersMenu(); // Clear Recent in the dialog empties the menu too
    if (accepted)
        connectToServer(dialog.request());
}

void MainWindow::connectToServer(const ServerCheckRequest& request)
{
    m_settings->addRecentServer(ConnectDialog::recentServerOf(request));
    updateRecentServersMenu();
    m_workspace->checkServer(request);
}

// The selected bundle's server; on the row of findings without a bundle, every server whose
// check produced none (it failed to connect), so a failed check can be tried again.
QList<int> MainWindow::serversToRecheck() const
{
    const int row = currentBundleRow();
    if (m_bundleModel->isInputsRow(row)) {
        QList<int> failed;
        const QList<Workspace::ServerEntry>& servers = m_workspace->servers();
        for (int i = 0; i < servers.size(); ++i)
            if (servers.at(i).bundleIds.isEmpty())
                failed << i;
        return failed;
    }
    const int index = m_workspace->serverIndexOfBundle(
        m_bundleModel->data(m_bundleModel->index(row, 0), BundleListModel::BundleIdRole).toString());
    return index >= 0 ? QList<int>{index} : QList<int>{};
}

bool MainWindow::recheckSelectedServer()
{
    const QList<int> servers = serversToRecheck();
    for (const int index : servers)
        connectToServer(m_workspace->servers().at(index).request);
    return !servers.isEmpty();
}

void MainWindow::cancelWork()
{
    m_workspace->cancelAll(JobKind::Load);
    m_workspace->cancelAll(JobKind::PlanRefresh);
    m_workspace->cancelAll(JobKind::ApplyRefresh);
    m_workspace->cancelAll(JobKind::PlanDeploy);
    m_workspace->cancelAll(JobKind::PlanRenew);
    cancelServerChecks();
}

void MainWindow::cancelServerChecks()
{
    m_workspace->cancelAll(JobKind::ServerCheck);
    m_statusLabel->setText(tr("Cancelling…"));
}

void MainWindow::updateServerControls()
{
    const bool server = !serversToRecheck().isEmpty();
    m_recheckAction->setEnabled(server);
    m_recheckButton->setEnabled(server);
}

// ---- staple refresh ----------------------------------------------------------------------------

QString MainWindow::selectedBundleId() const
{
    return m_bundleModel->data(m_bundleModel->index(currentBundleRow(), 0), BundleListModel::BundleIdRole).toString();
}

void MainWindow::updateRefreshControls()
{
    // Enabled by core's answers (refreshPossible, stapleDestination); the tooltip says why not.
    const BundleReport* selected = m_bundleModel->bundleAt(currentBundleRow());
    const RefreshOptions options = m_workspace->refreshOptions(false);
    QString why;
    if (m_workspace->isRefreshing())
        why = tr("A staple refresh is running.");
    else if (!selected)
        why = tr("Select a bundle to refresh its staple.");
    else if (!refreshPossible(selected->bundle, options) || stapleDestination(selected->bundle, options).isEmpty()) {
        // Core said no; the words say which of its reasons applies.
        if (selected->bundle.served)
            why = tr("This bundle was received from a live server: open its files (certificate and staple) to refresh "
                     "the staple there.");
        else if (selected->bundle.isSuperseded())
            why = tr("A newer certificate replaced this one: refresh the staple of the current certificate.");
        else if (selected->bundle.leaf.ocspUrls().isEmpty())
            why = tr("The certificate names no OCSP responder: its CA gives no OCSP URL (Let's Encrypt since 2025), so "
                     "there is no staple to fetch; revocation is told by its CRL.");
        else
            why = tr("Staplescope does not know which file this bundle's staple goes to: open the certificate together "
                     "with its staple file (or a HAProxy crt file).");
    }
    const bool possible = why.isEmpty();
    const QString tip = possible ? tr("Fetch a fresh staple for %1 into %2; the plan is shown before anything changes")
                                       .arg(selected->bundle.leaf.commonName(),
                                            QDir::toNativeSeparators(stapleDestination(selected->bundle, options)))
                                 : why;
    for (QAction* action : {m_refreshStapleAction}) {
        action->setEnabled(possible);
        action->setToolTip(plainToolTip(tip));
    }
    for (QPushButton* button : {m_refreshButton, m_findingRefreshButton}) {
        button->setEnabled(possible);
        button->setToolTip(plainToolTip(tip));
    }
    const bool anyBundle = !m_bundleModel->report().bundles.isEmpty();
    m_refreshAllDueAction->setEnabled(anyBundle && !m_workspace->isRefreshing());
}

bool MainWindow::refreshSelectedStaple()
{
    updateRefreshControls();
    const QString bundleId = selectedBundleId();
    if (!m_refreshStapleAction->isEnabled() || bundleId.isEmpty())
        return false;
    return m_workspace->planRefresh(m_workspace->refreshOptions(false, {bundleId})) != 0;
}

bool MainWindow::refreshAllDue()
{
    if (!m_refreshAllDueAction->isEnabled())
        return false;
    return m_workspace->planRefresh(m_workspace->refreshOptions(true)) != 0;
}

void MainWindow::onRefreshPlanned(const RefreshPlan& plan)
{
    m_statusLabel->setText(tr("Refresh plan ready: nothing changes until you press Apply."));
    // open(), not exec(): no nested event loop; tests find the dialog and press its buttons.
    auto* dialog = new RefreshPlanDialog(plan, m_workspace->privilegedDestinations(plan), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        m_selectAfterEvaluation = selectedBundleId();
        if (!m_workspace->applyRefresh(dialog->plan()))
            showError(tr("Refresh"), tr("Another staple refresh is still running; try again when it has finished."));
    });
    connect(dialog, &QDialog::rejected, this, [this] {
        m_statusLabel->setText(tr("Refresh cancelled: nothing was changed."));
        emit refreshFinished();
    });
    dialog->open();
    emit refreshPlanShown();
}

void MainWindow::onRefreshApplied(const RefreshApplyResult& result)
{
    const QString headline = refreshResultHeadline(result);
    m_statusLabel->setText(headline);
    // The workspace reloads the files now; refreshFinished follows that load.
    m_refreshResultPending = m_workspace->isLoading();
    // A clean in-process run says it in the status bar; anything else (pkexec's output, the sudo
    // line, a failed step, the reload command's output) gets a window.
    const bool quiet = result.ok() && !result.privileged() && !(result.install && result.install->reload);
    if (!quiet) {
        auto* dialog = new RefreshResultDialog(result, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->open();
    }
    if (!m_refreshResultPending)
        emit refreshFinished();
}

// ---- deploy and renew --------------------------------------------------------------------------

void MainWindow::updateDeployControls()
{
    const bool busy = m_workspace->isDeploying();
    m_deployAction->setEnabled(!busy);
    if (busy)
        m_deployAction->setToolTip(tr("A deploy is running."));
    else
        m_deployAction->setToolTip(tr("Deploy a certificate's files into generations of a destination and switch to "
                                      "the new one in one step; the plan is shown before anything changes"));
}

void MainWindow::updateRenewControls()
{
    // Enabled by core's answer (detectAcmeClient, asked once per bundle); the tooltip says why not.
    const BundleReport* selected = m_bundleModel->bundleAt(currentBundleRow());
    QString why;
    QString tip;
    if (m_workspace->isRenewing())
        why = tr("A renewal is running.");
    else if (!selected)
        why = tr("Select a bundle to renew its certificate.");
    else if (selected->bundle.served)
        why = tr("This bundle was received from a live server: open its files to renew it through its ACME client.");
    else {
        const std::optional<ClientDetection> detection = m_workspace->clientDetection(selected->bundle.id);
        if (!detection) {
            m_workspace->detectClient(selected->bundle.id);
            why = tr("Looking for the ACME client that manages this certificate…");
        } else if (!detection->managed) {
            why = tr("No ACME client manages this certificate: ") + detection->why;
        } else {
            tip = tr("Renew %1 through %2 (%3); the plan is shown first")
                      .arg(detection->managed->name, acmeClientLabel(detection->managed->client), detection->managed->detectedBy);
        }
    }
    m_renewAction->setEnabled(why.isEmpty());
    m_renewAction->setToolTip(plainToolTip(why.isEmpty() ? tip : why));
    emit renewControlsUpdated();
}

bool MainWindow::deployInteractive()
{
    if (m_workspace->isDeploying())
        return false;
    // The selected bundle's folder first (a lineage opened in the window), else the last source.
    QString source = m_settings->deploySource();
    if (const BundleReport* selected = m_bundleModel->bundleAt(currentBundleRow()); selected && !selected->bundle.served)
        source = QFileInfo(selected->bundle.leaf.source().path).absolutePath();
    auto* dialog = new DeployDialog(m_workspace->deployOptions(source, m_settings->deployDestination()), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        dialog->remember(*m_settings);
        if (!planDeploy(dialog->options()))
            showError(tr("Deploy"), tr("Another deploy is still running; try again when it has finished."));
    });
    dialog->open();
    return true;
}

bool MainWindow::planDeploy(const DeployOptions& options)
{
    return m_workspace->planDeploy(options) != 0;
}

void MainWindow::onDeployPlanned(const DeployPlan& plan, const DeployOptions& options)
{
    m_statusLabel->setText(tr("Deploy plan ready: nothing changes until you press Deploy."));
    const QStringList privileged = m_workspace->deployPathsNeedingPrivileges(options, &plan);
    auto* dialog = new DeployPlanDialog(plan, options, privileged,
                                        privileged.isEmpty() ? QString() : sudoDeployLine(findStaplescopeCli(), options), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (!m_workspace->executeDeploy(dialog->plan(), dialog->options()))
            showError(tr("Deploy"), tr("Another deploy is still running; try again when it has finished."));
    });
    connect(dialog, &QDialog::rejected, this, [this] {
        m_statusLabel->setText(tr("Deploy cancelled: nothing was changed."));
        emit deployFinished();
    });
    dialog->open();
    emit deployPlanShown();
}

void MainWindow::onDeployed(const DeployResult& result)
{
    m_statusLabel->setText(deployResultHeadline(result));
    auto* dialog = new DeployResultDialog(result, tr("Deploy — Result"), false, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
    emit deployFinished();
}

void MainWindow::showGenerations(const QString& destination)
{
    const QString dest = destination.isEmpty() ? m_settings->deployDestination() : destination;
    // One view: a second request shows the open one, listing the destination asked for.
    auto* dialog = findChild<GenerationsDialog*>();
    if (!dialog) {
        dialog = new GenerationsDialog(*m_workspace, m_workspace->deployOptions({}, dest), m_clock, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
    }
    dialog->listDestination(dest);
    dialog->show();
    dialog->raise();
}

bool MainWindow::renewSelected()
{
    updateRenewControls();
    const QString bundleId = selectedBundleId();
    if (!m_renewAction->isEnabled() || bundleId.isEmpty())
        return false;
    return m_workspace->planRenew(bundleId, m_workspace->renewOptions()) != 0;
}

void MainWindow::onRenewPlanned(const RenewPlan& plan, const RenewOptions& options)
{
    m_statusLabel->setText(tr("Renewal plan ready: nothing runs until you press Start."));
    QStringList privileged;
    QString sudo;
    const RenewPlanEntry entry = plan.entries.value(0);
    if (entry.managed) {
        privileged = m_workspace->renewPathsNeedingPrivileges(*entry.managed);
        RenewOptions exact = options;
        exact.client = entry.managed->client; // the line names the client that was recognised
        sudo = sudoRenewLine(findStaplescopeCli(), {entry.path}, exact);
    }
    auto* dialog = new RenewDialog(*m_workspace, plan, options, privileged, sudo, m_clock, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
    emit renewPlanShown();
}

// ---- theme and recent servers -----------------------------------------------------------------

void MainWindow::buildThemeMenu(QMenu* view)
{
    view->addSeparator();
    QMenu* menu = view->addMenu(tr("T&heme"));
    menu->setObjectName(QStringLiteral("themeMenu"));
    m_themeGroup = new QActionGroup(this);
    m_themeGroup->setExclusive(true);
    for (const auto& [theme, label, name] : {std::tuple{Theme::System, tr("&System"), "themeSystem"},
                                             std::tuple{Theme::Light, tr("&Light"), "themeLight"},
                                             std::tuple{Theme::Dark, tr("&Dark"), "themeDark"}}) {
        QAction* action = menu->addAction(label);
        action->setObjectName(QString::fromLatin1(name));
        action->setCheckable(true);
        action->setData(int(theme));
        action->setChecked(theme == m_settings->theme());
        m_themeGroup->addAction(action);
        connect(action, &QAction::triggered, this, [this, theme = theme] { setTheme(theme); });
    }
    menu->actions().at(0)->setToolTip(tr("The desktop's colours"));
}

QAction* MainWindow::themeAction(Theme theme) const
{
    for (QAction* action : m_themeGroup->actions())
        if (action->data().toInt() == int(theme))
            return action;
    return nullptr;
}

void MainWindow::setTheme(Theme theme)
{
    m_settings->setTheme(theme);
    applyThemeForThisRun(theme);
}

void MainWindow::applyThemeForThisRun(Theme theme)
{
    if (QAction* action = themeAction(theme))
        action->setChecked(true);
    applyTheme(theme);
}

void MainWindow::changeEvent(QEvent* event)
{
    QMainWindow::changeEvent(event);
    // The finding's HTML carries its severity colour, chosen for the palette it was made with.
    if (event->type() == QEvent::PaletteChange && m_findingModel && m_findingText)
        showFinding(currentFindingRow());
}

void MainWindow::updateRecentServersMenu()
{
    const QList<RecentServer> servers = m_settings->recentServers();
    m_recentServersMenu->clear();
    for (int i = 0; i < servers.size(); ++i) {
        const RecentServer& server = servers[i];
        QString shown = server.endpointText();
        if (server.startTls)
            shown += server.startTls == StartTlsProtocol::None ? tr(" (TLS)") : tr(" (STARTTLS %1)").arg(startTlsProtocolName(*server.startTls));
        if (!server.serverName.isEmpty())
            shown += tr(" — SNI %1").arg(server.serverName);
        // A menu makes "&x" a shortcut: the host's own ampersands are doubled.
        shown.replace(QLatin1Char('&'), QLatin1String("&&"));
        QAction* a = m_recentServersMenu->addAction(i < 9 ? QStringLiteral("&%1 %2").arg(QString::number(i + 1), shown) : shown);
        connect(a, &QAction::triggered, this, [this, server] {
            ServerCheckRequest request;
            request.probe.host = server.host;
            request.probe.port = server.port;
            request.probe.startTls = server.startTls;
            request.probe.serverName = server.serverName;
            connectToServer(request);
        });
    }
    if (!servers.isEmpty()) {
        m_recentServersMenu->addSeparator();
        m_recentServersMenu->addAction(tr("&Clear List"), this, [this] {
            m_settings->clearRecentServers();
            updateRecentServersMenu();
        });
    }
    m_recentServersMenu->setEnabled(!servers.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    // Running work ends within its timeouts; make it end now.
    m_workspace->cancelAll();
    m_settings->setWindowGeometry(saveGeometry());
    m_settings->raw().setValue(QStringLiteral("window/mainSplitter"), m_mainSplitter->saveState());
    m_settings->raw().setValue(QStringLiteral("window/rightSplitter"), m_rightSplitter->saveState());
    QMainWindow::closeEvent(event);
}

} // namespace staplescope::ui
