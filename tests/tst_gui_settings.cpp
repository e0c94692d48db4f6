// What the window remembers and how it starts: the theme (View ▸ Theme, applied live, kept in
// AppSettings), recent servers (Connect dialog and File menu), servers dropped as URLs or
// host:port text, mnemonics that reach their fields, the layout at 1024×700, and the binary itself:
// --screenshot leaves the user's settings as they were, --help and --version need no display.
// Servers are in-process TLS endpoints on 127.0.0.1 with a generated PKI.

#include "AppSettings.h"
#include "BundleListModel.h"
#include "ConnectDialog.h"
#include "DemoData.h"
#include "DetailsPane.h"
#include "ElidedLabel.h"
#include "FindingListModel.h"
#include "LivePki.h"
#include "LoopbackServer.h"
#include "MainWindow.h"
#include "ReportFormat.h"
#include "SeverityBadgeDelegate.h"
#include "TestClock.h"
#include "Theme.h"
#include "UiStyle.h"

#include <QAbstractScrollArea>
#include <QAbstractSpinBox>
#include <QHeaderView>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QCompleter>
#include <QCryptographicHash>
#include <QDirIterator>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QSplitter>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QTreeView>
#include <QUrl>

using namespace staplescope;
using namespace staplescope::test;
using namespace staplescope::ui;

namespace {

// Sends a drag-enter and a drop of `mime` to the window; whether each was accepted.
struct DropOutcome {
    bool enterAccepted = false;
    bool dropAccepted = false;
};
DropOutcome drop(QWidget* target, const QMimeData& mime)
{
    const QPoint pos(target->width() / 2, target->height() / 2);
    QDragEnterEvent enter(pos, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &enter);
    QDropEvent dropEvent(QPointF(pos), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &dropEvent);
    return {enter.isAccepted(), dropEvent.isAccepted()};
}

// Every file under `dir` with a digest of its bytes: a settings folder before and after.
QMap<QString, QByteArray> snapshot(const QString& dir)
{
    QMap<QString, QByteArray> files;
    QDirIterator it(dir, QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        QFile f(path);
        if (f.open(QIODevice::ReadOnly))
            files.insert(QDir(dir).relativeFilePath(path), QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256));
    }
    return files;
}

QString appBinary() { return QStringLiteral(STAPLESCOPE_APP); }

// An environment without any display: the window system is unreachable.
QProcessEnvironment withoutDisplay()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* name : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORMTHEME"})
        env.remove(QString::fromLatin1(name));
    return env;
}

} // namespace

class TestGuiSettings : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void themeIsPersistedAndAppliedLive();
    void darkOverrideIsNotRemembered();
    void recentServersAreRememberedOrderedAndBounded();
    void connectDialogOffersRecentServers();
    void droppedUrlStartsAConnect();
    void droppedHostPortTextStartsAConnect();
    void droppedFilesStillOpenAndOtherTextIsRefused();
    void mnemonicsReachTheirFields();
    void everythingFitsAt1024x700();
    void wordingMatchesTheCli();
    void helpAndVersionNeedNoDisplay();
    void screenshotLeavesSettingsUnchanged();

private:
    std::unique_ptr<AppSettings> settingsAt(const QString& name);
    bool waitForCheck(int timeoutMs = 15000);
    void loadDemo();

    QTemporaryDir m_dir;
    LivePki m_pki;
    QString m_rootFile;
    QString m_demoAnchor;
    QStringList m_demoPaths;
    QPalette m_desktopPalette;
    std::unique_ptr<MainWindow> m_window;
};

void TestGuiSettings::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_desktopPalette = QApplication::palette();
    m_pki = makeLivePki(QDateTime::currentDateTimeUtc());
    m_rootFile = LivePki::write(m_dir.path(), QStringLiteral("root.pem"), m_pki.root.certPem());
    QVERIFY(!m_rootFile.isEmpty());
    const DemoResult demo = writeDemo(m_dir.filePath(QStringLiteral("demo")), fixedNow());
    QVERIFY2(demo.ok, qPrintable(demo.error));
    m_demoAnchor = demo.trustAnchorFile;
    m_demoPaths = demo.paths;
}

std::unique_ptr<AppSettings> TestGuiSettings::settingsAt(const QString& name)
{
    return std::make_unique<AppSettings>(std::make_unique<QSettings>(m_dir.filePath(name), QSettings::IniFormat));
}

void TestGuiSettings::init()
{
    auto settings = settingsAt(QStringLiteral("settings-%1.ini").arg(QTest::currentTestFunction()));
    settings->setExtraTrustAnchors({m_rootFile, m_demoAnchor});
    settings->setUseSystemTrust(false);
    m_window = std::make_unique<MainWindow>(std::move(settings));
    m_window->setNonInteractive(true);
    m_window->resize(1200, 800);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestGuiSettings::cleanup()
{
    m_window.reset();
    applyTheme(Theme::System); // the next test starts from the desktop's look
}

bool TestGuiSettings::waitForCheck(int timeoutMs)
{
    QSignalSpy finished(m_window.get(), &MainWindow::serverCheckFinished);
    if (!finished.wait(timeoutMs))
        return false;
    QSignalSpy updated(m_window.get(), &MainWindow::reportUpdated);
    return m_window->isEvaluating() ? updated.wait(timeoutMs) : true;
}

void TestGuiSettings::loadDemo()
{
    m_window->setAsOf(fixedNow());
    QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
    m_window->openPaths(m_demoPaths);
    QVERIFY(loaded.wait(20000));
    QCOMPARE(m_window->bundleModel()->report().bundles.size(), 3);
}

void TestGuiSettings::themeIsPersistedAndAppliedLive()
{
    QVERIFY(!isDarkPalette(QApplication::palette())); // offscreen's palette is light
    QAction* dark = m_window->themeAction(Theme::Dark);
    QVERIFY(dark && dark->isCheckable());
    QVERIFY(m_window->themeAction(Theme::System)->isChecked());
    dark->trigger();

    // Remembered, and applied to the window and to the menu bar (which kept the desktop's light
    // palette when only the application palette was set).
    QCOMPARE(m_window->settings().theme(), Theme::Dark);
    QCOMPARE(m_window->settings().raw().value(QStringLiteral("view/theme")).toString(), QStringLiteral("dark"));
    QVERIFY(isDarkPalette(QApplication::palette()));
    QVERIFY(isDarkPalette(m_window->palette()));
    QVERIFY(isDarkPalette(m_window->menuBar()->palette()));
    QVERIFY(isDarkPalette(QApplication::palette("QMenuBar")));
    QVERIFY(isDarkPalette(QApplication::palette("QMenu")));
    QVERIFY(isDarkPalette(m_window->bundleView()->palette()));
    QCOMPARE(QApplication::style()->name().toLower(), QStringLiteral("fusion"));

    // A new window on the same settings starts dark, with Dark checked.
    const QString file = m_window->settings().raw().fileName();
    m_window->settings().raw().sync();
    m_window.reset();
    applyTheme(Theme::System);
    QVERIFY(!isDarkPalette(QApplication::palette()));
    m_window = std::make_unique<MainWindow>(std::make_unique<AppSettings>(std::make_unique<QSettings>(file, QSettings::IniFormat)));
    QVERIFY(isDarkPalette(QApplication::palette()));
    QVERIFY(isDarkPalette(m_window->menuBar()->palette()));
    QVERIFY(m_window->themeAction(Theme::Dark)->isChecked());

    // Light is light, and System gives the desktop's palette back.
    m_window->themeAction(Theme::Light)->trigger();
    QCOMPARE(m_window->settings().theme(), Theme::Light);
    QVERIFY(!isDarkPalette(QApplication::palette()));
    QVERIFY(!isDarkPalette(m_window->menuBar()->palette()));
    m_window->themeAction(Theme::System)->trigger();
    QCOMPARE(m_window->settings().theme(), Theme::System);
    QVERIFY(!m_window->settings().raw().contains(QStringLiteral("view/theme")));
    QCOMPARE(QApplication::palette().color(QPalette::Window), m_desktopPalette.color(QPalette::Window));
    QCOMPARE(QApplication::palette("QMenuBar").color(QPalette::Window), m_desktopPalette.color(QPalette::Window));
}

void TestGuiSettings::darkOverrideIsNotRemembered()
{
    // --dark: this run only.
    m_window->applyThemeForThisRun(Theme::Dark);
    QVERIFY(isDarkPalette(QApplication::palette()));
    QVERIFY(isDarkPalette(m_window->menuBar()->palette()));
    QVERIFY(m_window->themeAction(Theme::Dark)->isChecked());
    QCOMPARE(m_window->settings().theme(), Theme::System);
    QVERIFY(!m_window->settings().raw().contains(QStringLiteral("view/theme")));
}

void TestGuiSettings::recentServersAreRememberedOrderedAndBounded()
{
    AppSettings& settings = m_window->settings();
    QVERIFY(settings.recentServers().isEmpty());
    QVERIFY(!m_window->recentServersMenu()->isEnabled());
    // Loopback addresses on a port nothing listens on: nothing is resolved or sent off the machine.
    quint16 closedPort = 0;
    {
        LoopbackServer probe([](Connection&) {});
        closedPort = probe.start();
        QVERIFY(closedPort);
    }
    for (int i = 1; i <= AppSettings::maxRecentServers + 2; ++i) {
        ServerCheckRequest request;
        request.probe.host = QStringLiteral("127.0.0.%1").arg(i);
        request.probe.port = closedPort;
        m_window->connectToServer(request); // refused: the check fails, the entry stays
    }
    m_window->cancelServerChecks();
    QList<RecentServer> recent = settings.recentServers();
    QCOMPARE(recent.size(), AppSettings::maxRecentServers);
    // Most recent first; the two oldest fell off.
    QCOMPARE(recent.first().host, QStringLiteral("127.0.0.%1").arg(AppSettings::maxRecentServers + 2));
    QCOMPARE(recent.last().host, QStringLiteral("127.0.0.3"));

    // The same endpoint again moves to the top with its newest STARTTLS and SNI choice, once.
    RecentServer again;
    again.host = QStringLiteral("127.0.0.5");
    again.port = closedPort;
    again.startTls = StartTlsProtocol::Smtp;
    again.serverName = QStringLiteral("mx.example.test");
    settings.addRecentServer(again);
    recent = settings.recentServers();
    QCOMPARE(recent.size(), AppSettings::maxRecentServers);
    QCOMPARE(recent.first(), again);
    int copies = 0;
    for (const RecentServer& s : recent)
        copies += s.sameEndpoint(again);
    QCOMPARE(copies, 1);
    // Host names compare without case (settings only: nothing connects).
    RecentServer named;
    named.host = QStringLiteral("Mail.Example.Test");
    named.port = 587;
    settings.addRecentServer(named);
    named.host = QStringLiteral("mail.example.test");
    named.startTls = StartTlsProtocol::Smtp;
    settings.addRecentServer(named);
    recent = settings.recentServers();
    QCOMPARE(recent.first(), named);
    QVERIFY(!recent.at(1).sameEndpoint(named));
    QCOMPARE(recent.size(), AppSettings::maxRecentServers);

    // Stored in the settings file: a new AppSettings on it reads the same list.
    settings.raw().sync();
    AppSettings reread(std::make_unique<QSettings>(settings.raw().fileName(), QSettings::IniFormat));
    QCOMPARE(reread.recentServers(), recent);

    // File ▸ Recent Servers lists them when opened, most recent first, and offers to clear them.
    emit m_window->recentServersMenu()->aboutToShow();
    QVERIFY(m_window->recentServersMenu()->isEnabled());
    const QList<QAction*> actions = m_window->recentServersMenu()->actions();
    QVERIFY(actions.size() >= AppSettings::maxRecentServers);
    QVERIFY2(actions.first()->text().contains(QStringLiteral("mail.example.test:587 (STARTTLS smtp)")),
             qPrintable(actions.first()->text()));
    QAction* clear = actions.last();
    QVERIFY(clear->text().contains(QStringLiteral("Clear")));
    clear->trigger();
    QVERIFY(settings.recentServers().isEmpty());
    QVERIFY(!m_window->recentServersMenu()->isEnabled());
}

void TestGuiSettings::connectDialogOffersRecentServers()
{
    AppSettings& settings = m_window->settings();
    RecentServer web;
    web.host = QStringLiteral("www.example.test");
    web.port = 443;
    RecentServer mail;
    mail.host = QStringLiteral("mail.example.test");
    mail.port = 2525;
    mail.startTls = StartTlsProtocol::Smtp;
    mail.serverName = QStringLiteral("mx.example.test");
    settings.addRecentServer(web);
    settings.addRecentServer(mail);

    ConnectDialog dialog;
    dialog.setRecentServers(&settings);
    QComboBox* combo = dialog.serverCombo();
    QVERIFY(combo->isEditable());
    QCOMPARE(combo->count(), 2);
    QCOMPARE(combo->itemText(0), QStringLiteral("mail.example.test:2525"));
    QCOMPARE(combo->itemText(1), QStringLiteral("www.example.test:443"));
    QVERIFY(combo->completer());
    QCOMPARE(combo->completer()->caseSensitivity(), Qt::CaseInsensitive);

    // Choosing one fills its STARTTLS choice and SNI.
    combo->setCurrentIndex(0);
    emit combo->activated(0);
    const ServerCheckRequest request = dialog.request();
    QCOMPARE(request.probe.host, mail.host);
    QCOMPARE(request.probe.port, mail.port);
    QCOMPARE(request.probe.startTls, mail.startTls);
    QCOMPARE(request.probe.serverName, mail.serverName);

    // A URL typed or pasted is understood as core reads it.
    dialog.serverEdit()->setText(QStringLiteral("imaps://imap.example.test/INBOX"));
    QVERIFY(dialog.requestError().isEmpty());
    dialog.protocolCombo()->setCurrentIndex(0); // automatic
    QCOMPARE(dialog.request().probe.port, quint16(993));
    QCOMPARE(dialog.request().probe.startTls, std::optional<StartTlsProtocol>(StartTlsProtocol::None));
    dialog.serverEdit()->setText(QStringLiteral("gopher://old.example.test/"));
    QVERIFY(dialog.requestError().contains(QStringLiteral("gopher")));

    // Clear Recent empties the stored list and the combo.
    QVERIFY(dialog.clearRecentButton()->isEnabled());
    dialog.clearRecentButton()->click();
    QCOMPARE(combo->count(), 0);
    QVERIFY(settings.recentServers().isEmpty());
}

void TestGuiSettings::droppedUrlStartsAConnect()
{
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);

    QMimeData mime;
    mime.setUrls({QUrl(QStringLiteral("https://127.0.0.1:%1/some/page?x=1").arg(port))});
    const DropOutcome outcome = drop(m_window.get(), mime);
    QVERIFY(outcome.enterAccepted);
    QVERIFY(outcome.dropAccepted);
    QVERIFY(m_window->isConnecting());
    QVERIFY(waitForCheck());
    QVERIFY(server.connectionsAccepted() >= 1);
    const InspectionReport& report = m_window->bundleModel()->report();
    QCOMPARE(report.bundles.size(), 1);
    QVERIFY(report.bundles.first().bundle.served);
    QVERIFY2(report.bundles.first().bundle.origin.contains(QStringLiteral("127.0.0.1:%1").arg(port)),
             qPrintable(report.bundles.first().bundle.origin));
    // https:// means TLS from the first byte, and the server is remembered.
    const QList<RecentServer> recent = m_window->settings().recentServers();
    QCOMPARE(recent.size(), 1);
    QCOMPARE(recent.first().host, QStringLiteral("127.0.0.1"));
    QCOMPARE(recent.first().port, port);
    QCOMPARE(recent.first().startTls, std::optional<StartTlsProtocol>(StartTlsProtocol::None));
}

void TestGuiSettings::droppedHostPortTextStartsAConnect()
{
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.previousStaple; // the renewal incident: the check must reach the server
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);

    QMimeData mime;
    mime.setText(QStringLiteral("  127.0.0.1:%1\n").arg(port));
    const DropOutcome outcome = drop(m_window.get(), mime);
    QVERIFY(outcome.enterAccepted);
    QVERIFY(outcome.dropAccepted);
    QVERIFY(waitForCheck());
    QVERIFY(server.connectionsAccepted() >= 1);
    const BundleReport* selected = m_window->bundleModel()->bundleAt(m_window->currentBundleRow());
    QVERIFY(selected);
    QVERIFY(selected->bundle.served);
    QCOMPARE(selected->findings.value(0).code, QStringLiteral("STAPLE_FOR_OTHER_CERT"));
    // host:port text goes by port (core's defaultStartTlsProtocol), as the Connect dialog does.
    QVERIFY(!m_window->settings().recentServers().value(0).startTls.has_value());
}

void TestGuiSettings::droppedFilesStillOpenAndOtherTextIsRefused()
{
    QMimeData words;
    words.setText(QStringLiteral("not a server at all"));
    DropOutcome outcome = drop(m_window.get(), words);
    QVERIFY(outcome.enterAccepted); // let through, so the drop can say why it is refused
    QVERIFY(!outcome.dropAccepted);
    QVERIFY(!m_window->isConnecting());
    QVERIFY(m_window->settings().recentServers().isEmpty());
    QVERIFY2(m_window->statusLabel()->text().contains(QStringLiteral("\"not a server at all\" is not a server")),
             qPrintable(m_window->statusLabel()->text()));

    QMimeData unknownScheme;
    unknownScheme.setUrls({QUrl(QStringLiteral("gopher://old.example.test/"))});
    QVERIFY(!drop(m_window.get(), unknownScheme).dropAccepted);
    QVERIFY(!m_window->isConnecting());
    QVERIFY2(m_window->statusLabel()->text().contains(QStringLiteral("gopher://")), qPrintable(m_window->statusLabel()->text()));

    // Local files keep opening as files, never as a connect.
    QMimeData files;
    QList<QUrl> urls;
    for (const QString& path : std::as_const(m_demoPaths))
        urls << QUrl::fromLocalFile(path);
    files.setUrls(urls);
    QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
    outcome = drop(m_window.get(), files);
    QVERIFY(outcome.enterAccepted && outcome.dropAccepted);
    QVERIFY(m_window->isLoading());
    QVERIFY(!m_window->isConnecting());
    QVERIFY(loaded.wait(20000));
    QCOMPARE(m_window->bundleModel()->report().bundles.size(), 3);
    QVERIFY(m_window->settings().recentServers().isEmpty());
}

void TestGuiSettings::mnemonicsReachTheirFields()
{
    ConnectDialog dialog;
    dialog.show();
    QVERIFY(QTest::qWaitForWindowActive(&dialog));
    int withMnemonic = 0;
    for (QLabel* label : dialog.findChildren<QLabel*>()) {
        const QString text = QString(label->text()).remove(QStringLiteral("&&"));
        if (!text.contains(QLatin1Char('&')))
            continue;
        ++withMnemonic;
        QVERIFY2(label->buddy(), qPrintable(QStringLiteral("“%1” has no buddy").arg(label->text())));
        QVERIFY2(label->buddy()->isVisibleTo(&dialog) && label->buddy()->focusPolicy() != Qt::NoFocus, qPrintable(label->text()));
    }
    QVERIFY(withMnemonic >= 7);

    // Alt+letter moves the focus to the field (the labels' shortcuts, as a user presses them).
    QTest::keyClick(&dialog, Qt::Key_N, Qt::AltModifier);
    QTRY_COMPARE(QApplication::focusWidget(), static_cast<QWidget*>(dialog.serverNameEdit()));
    QTest::keyClick(&dialog, Qt::Key_P, Qt::AltModifier);
    QTRY_COMPARE(QApplication::focusWidget(), static_cast<QWidget*>(dialog.protocolCombo()));
    QTest::keyClick(&dialog, Qt::Key_S, Qt::AltModifier);
    QTRY_VERIFY(QApplication::focusWidget() == dialog.serverCombo() || QApplication::focusWidget() == dialog.serverEdit());

    // The main window's own labels too.
    for (QLabel* label : m_window->findChildren<QLabel*>()) {
        const QString text = QString(label->text()).remove(QStringLiteral("&&"));
        if (text.contains(QLatin1Char('&')) && !text.contains(QLatin1Char('<')))
            QVERIFY2(label->buddy(), qPrintable(QStringLiteral("“%1” has no buddy").arg(label->text())));
    }
}

void TestGuiSettings::everythingFitsAt1024x700()
{
    loadDemo();
    m_window->resize(1024, 700);
    QTest::qWait(50);
    QCOMPARE(m_window->size(), QSize(1024, 700));
    const QSize minimum = m_window->minimumSizeHint();
    QVERIFY2(minimum.width() <= 1024 && minimum.height() <= 700,
             qPrintable(QStringLiteral("the window needs %1×%2").arg(minimum.width()).arg(minimum.height())));

    for (const int tab : {0, 1}) {
        m_window->lowerTabs()->setCurrentIndex(tab);
        m_window->selectBundleRow(0);
        QApplication::processEvents();
        QStringList problems;
        for (QWidget* w : m_window->findChildren<QWidget*>()) {
            if (!w->isVisibleTo(m_window.get()) || w->isWindow() || !w->parentWidget())
                continue;
            // Inside a scroll area the content may be larger: the scroll bar shows the rest.
            bool scrolled = false;
            for (QWidget* p = w->parentWidget(); p && p != m_window.get(); p = p->parentWidget())
                if (auto* area = qobject_cast<QAbstractScrollArea*>(p); area && area->viewport()->isAncestorOf(w))
                    scrolled = true;
            // Parts a composite widget sizes itself: an item view's header, a spin box's editor.
            if (scrolled || qobject_cast<QHeaderView*>(w) || qobject_cast<QAbstractSpinBox*>(w->parentWidget()))
                continue;
            const QString name = QStringLiteral("%1 %2").arg(QString::fromLatin1(w->metaObject()->className()), w->objectName());
            const QRect inParent = w->geometry();
            if (!w->parentWidget()->rect().contains(inParent) && !qobject_cast<QMenuBar*>(w->parentWidget()))
                problems << QStringLiteral("%1 at %2,%3 %4×%5 is outside its parent (%6×%7)")
                                .arg(name)
                                .arg(inParent.x())
                                .arg(inParent.y())
                                .arg(inParent.width())
                                .arg(inParent.height())
                                .arg(w->parentWidget()->width())
                                .arg(w->parentWidget()->height());
            const QSize hint = w->minimumSizeHint();
            const QSizePolicy policy = w->sizePolicy();
            const bool widthMatters = hint.width() > 0 && policy.horizontalPolicy() != QSizePolicy::Ignored;
            const bool heightMatters = hint.height() > 0 && policy.verticalPolicy() != QSizePolicy::Ignored;
            if ((widthMatters && w->width() < qMin(hint.width(), w->maximumWidth())) ||
                (heightMatters && w->height() < qMin(hint.height(), w->maximumHeight())))
                problems << QStringLiteral("%1 is %2×%3, smaller than its minimum %4×%5")
                                .arg(name)
                                .arg(w->width())
                                .arg(w->height())
                                .arg(hint.width())
                                .arg(hint.height());
        }
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    }

    // Verdicts that do not fit end in "…" and keep the whole text as tooltip.
    ElidedLabel* header = m_window->details()->header();
    const QString verdict = m_window->bundleModel()->bundleAt(0)->verdict;
    QVERIFY(header->text().contains(verdict));
    QVERIFY(header->toolTip().contains(verdict.toHtmlEscaped()));
    // The findings list elides titles too; its tooltip starts with the whole title.
    const QModelIndex finding = m_window->findingModel()->index(0, FindingListModel::TitleColumn);
    QVERIFY(finding.isValid());
    QVERIFY(finding.data(Qt::ToolTipRole).toString().contains(finding.data().toString().toHtmlEscaped()));
    header->resize(120, header->height());
    QVERIFY(header->isElided());
    QVERIFY(header->shownText().endsWith(QChar(0x2026)));
    QVERIFY(header->toolTip().contains(verdict.toHtmlEscaped()));
}

void TestGuiSettings::wordingMatchesTheCli()
{
    loadDemo();
    // The status bar says what it counts, in core's words (the CLI's text report ends with them).
    const QString counts = reportCountsLine(m_window->report());
    QVERIFY2(m_window->statusLabel()->text().startsWith(counts), qPrintable(m_window->statusLabel()->text()));
    QVERIFY(counts.contains(QStringLiteral("bundles by worst finding")));
    QVERIFY(counts.contains(QStringLiteral("findings:")));

    // The healthy bundle is called what the CLI calls it.
    int healthyRow = -1;
    for (int r = 0; r < m_window->bundleModel()->rowCount(); ++r)
        if (const BundleReport* b = m_window->bundleModel()->bundleAt(r); b && b->worst == Severity::Info && !b->bundle.isSuperseded())
            healthyRow = r;
    QVERIFY(healthyRow >= 0);
    QVERIFY(m_window->selectBundleRow(healthyRow));
    QCOMPARE(m_window->bundleModel()->bundleAt(healthyRow)->verdict, healthyVerdict());
    QVERIFY(m_window->details()->header()->text().endsWith(healthyVerdict()));
    // The list's badge says it too; the superseded bundle's badge says INFO, as the CLI's does.
    const QAbstractItemModel* model = m_window->bundleModel();
    QCOMPARE(SeverityBadgeDelegate::badgeText(model->index(healthyRow, BundleListModel::SeverityColumn)), healthyVerdict());
    int supersededRow = -1;
    for (int r = 0; r < m_window->bundleModel()->rowCount(); ++r)
        if (const BundleReport* b = m_window->bundleModel()->bundleAt(r); b && b->bundle.isSuperseded() && b->worst == Severity::Info)
            supersededRow = r;
    QVERIFY(supersededRow >= 0);
    QCOMPARE(SeverityBadgeDelegate::badgeText(model->index(supersededRow, BundleListModel::SeverityColumn)), QStringLiteral("INFO"));
    QVERIFY(reportToText(m_window->report(), false).contains(QStringLiteral("[INFO] Superseded")));
    const QString cli = reportToText(m_window->report(), false);
    QVERIFY(cli.contains(QStringLiteral("] %1\n").arg(healthyVerdict())));
}

void TestGuiSettings::helpAndVersionNeedNoDisplay()
{
    QProcess process;
    process.setProcessEnvironment(withoutDisplay());
    process.start(appBinary(), {QStringLiteral("--help")});
    QVERIFY(process.waitForFinished(20000));
    const QString help = QString::fromUtf8(process.readAllStandardOutput());
    QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
             qPrintable(help + QString::fromUtf8(process.readAllStandardError())));
    QVERIFY(help.contains(QStringLiteral("--screenshot")));
    QVERIFY(help.contains(QStringLiteral("--connect")));

    process.start(appBinary(), {QStringLiteral("--version")});
    QVERIFY(process.waitForFinished(20000));
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(QString::fromUtf8(process.readAllStandardOutput()).contains(QStringLiteral(STAPLESCOPE_VERSION)));

    // A mistyped option is said as such, not as a missing display.
    process.start(appBinary(), {QStringLiteral("--no-such-option")});
    QVERIFY(process.waitForFinished(20000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QVERIFY(process.exitCode() != 0);
    const QString error = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(error.contains(QStringLiteral("no-such-option")), qPrintable(error));
    QVERIFY2(!error.contains(QStringLiteral("display"), Qt::CaseInsensitive), qPrintable(error));
}

void TestGuiSettings::screenshotLeavesSettingsUnchanged()
{
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);

    // The user's settings, where QSettings keeps them under XDG_CONFIG_HOME.
    QTemporaryDir home;
    QVERIFY(home.isValid());
    const QString config_home = QDir(home.path()).filePath(QStringLiteral("config"));
    QVERIFY(QDir().mkpath(config_home + QStringLiteral("/Staplescope")));
    const QString userFile = config_home + QStringLiteral("/Staplescope/Staplescope.conf");
    {
        AppSettings user(std::make_unique<QSettings>(userFile, QSettings::IniFormat));
        user.addRecentFile(QDir(home.path()).filePath(QStringLiteral("an-earlier-folder")));
        RecentServer earlier;
        earlier.host = QStringLiteral("earlier.example.test");
        user.addRecentServer(earlier);
        user.setTheme(Theme::Light);
        user.setExtraTrustAnchors({m_rootFile, m_demoAnchor});
        user.setUseSystemTrust(false);
        user.setWindowGeometry(QByteArray("geometry as the user left it"));
        user.raw().sync();
    }
    const QMap<QString, QByteArray> before = snapshot(home.path());
    QVERIFY(before.contains(QStringLiteral("config/Staplescope/Staplescope.conf")));

    QProcess process;
    QProcessEnvironment env = withoutDisplay();
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), config_home);
    env.insert(QStringLiteral("HOME"), home.path());
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    process.setProcessEnvironment(env);
    const QString png = m_dir.filePath(QStringLiteral("shot.png"));
    // Files and a server: both would go into the recent lists of an interactive run.
    process.start(appBinary(), {QStringLiteral("--screenshot"), png, QStringLiteral("--size"), QStringLiteral("1024x700"),
                                QStringLiteral("--dark"), QStringLiteral("--connect"), QStringLiteral("127.0.0.1:%1").arg(port),
                                m_demoPaths.value(0)});
    QVERIFY(process.waitForFinished(60000));
    QVERIFY2(process.exitCode() == 0, qPrintable(QString::fromUtf8(process.readAllStandardError())));
    QVERIFY(QImage(png).size() == QSize(1024, 700));
    QVERIFY(server.connectionsAccepted() >= 1); // the connect did happen

    QCOMPARE(snapshot(home.path()), before);
    AppSettings after(std::make_unique<QSettings>(userFile, QSettings::IniFormat));
    QCOMPARE(after.recentFiles().size(), 1);
    QCOMPARE(after.recentServers().size(), 1);
    QCOMPARE(after.theme(), Theme::Light); // --dark was for that run only
}

QTEST_MAIN(TestGuiSettings)
#include "tst_gui_settings.moc"
