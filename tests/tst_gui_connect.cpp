// File ▸ Connect… in the window: a live server checked off the GUI thread appears as a bundle
// beside the files, can be re-checked and cancelled, and the window keeps responding meanwhile.
// Servers are in-process TLS endpoints on 127.0.0.1 with a generated PKI.

#include "AppSettings.h"
#include "BundleListModel.h"
#include "ConnectDialog.h"
#include "FindingListModel.h"
#include "LivePki.h"
#include "LoopbackServer.h"
#include "MainWindow.h"

#include <QElapsedTimer>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace staplescope;
using namespace staplescope::test;
using namespace staplescope::ui;

namespace {

ServerCheckRequest loopbackRequest(quint16 port, const QString& serverName)
{
    ServerCheckRequest request;
    request.probe.host = QStringLiteral("127.0.0.1");
    request.probe.port = port;
    request.probe.serverName = serverName;
    request.probe.startTls = StartTlsProtocol::None;
    request.probe.connectTimeoutMs = request.probe.stepTimeoutMs = 3000;
    request.probe.totalTimeoutMs = 8000;
    return request;
}

QStringList codesOfSelected(MainWindow& window)
{
    QStringList codes;
    for (int row = 0; row < window.findingModel()->rowCount(); ++row)
        codes << window.findingModel()->findingAt(row)->code;
    return codes;
}

} // namespace

class TestGuiConnect : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void servedBundleJoinsTheList();
    void staleStapleIsDiagnosed();
    void recheckConnectsAgain();
    void failedCheckCanBeRetried();
    void cancelStopsASilentServerAndTheWindowKeepsResponding();
    void dialogBuildsTheRequest();

private:
    bool waitForCheck(MainWindow& window, int timeoutMs = 15000);

    QTemporaryDir m_dir;
    LivePki m_pki;
    QString m_rootFile;
    std::unique_ptr<MainWindow> m_window;
};

void TestGuiConnect::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_pki = makeLivePki(QDateTime::currentDateTimeUtc());
    m_rootFile = LivePki::write(m_dir.path(), QStringLiteral("root.pem"), m_pki.root.certPem());
    QVERIFY(!m_rootFile.isEmpty());
}

void TestGuiConnect::init()
{
    auto settings = std::make_unique<AppSettings>(
        std::make_unique<QSettings>(m_dir.filePath(QStringLiteral("settings-%1.ini").arg(QTest::currentTestFunction())),
                                    QSettings::IniFormat));
    settings->setExtraTrustAnchors({m_rootFile});
    settings->setUseSystemTrust(false);
    m_window = std::make_unique<MainWindow>(std::move(settings));
    m_window->setNonInteractive(true);
    m_window->resize(1200, 800);
    m_window->show();
}

void TestGuiConnect::cleanup() { m_window.reset(); }

bool TestGuiConnect::waitForCheck(MainWindow& window, int timeoutMs)
{
    QSignalSpy finished(&window, &MainWindow::serverCheckFinished);
    if (!finished.wait(timeoutMs))
        return false;
    // The evaluation that follows runs off the GUI thread too.
    QSignalSpy updated(&window, &MainWindow::reportUpdated);
    return window.isEvaluating() ? updated.wait(timeoutMs) : true;
}

void TestGuiConnect::servedBundleJoinsTheList()
{
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);

    // Files first, then the server: both must be listed.
    const QString files = m_dir.filePath(QStringLiteral("files"));
    QVERIFY(QDir().mkpath(files));
    LivePki::write(files, QStringLiteral("fullchain.pem"), m_pki.fullchainPem(m_pki.leaf));
    QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
    m_window->openPaths({files});
    QVERIFY(loaded.wait(15000));
    const int fileBundles = m_window->bundleModel()->report().bundles.size();
    QCOMPARE(fileBundles, 1);

    m_window->connectToServer(loopbackRequest(port, m_pki.hostName));
    QVERIFY(m_window->isConnecting());
    QVERIFY(waitForCheck(*m_window));
    const InspectionReport& report = m_window->bundleModel()->report();
    QCOMPARE(report.bundles.size(), fileBundles + 1);

    // The served bundle is selected, named by its origin, and healthy.
    const BundleReport* selected = m_window->bundleModel()->bundleAt(m_window->currentBundleRow());
    QVERIFY(selected);
    QVERIFY(selected->bundle.served);
    QVERIFY(selected->bundle.origin.contains(QStringLiteral("127.0.0.1:%1").arg(port)));
    QCOMPARE(m_window->bundleModel()->data(m_window->bundleModel()->index(m_window->currentBundleRow(), BundleListModel::NameColumn))
                 .toString(),
             selected->bundle.origin);
    QVERIFY2(selected->worst == Severity::Info, qPrintable(codesOfSelected(*m_window).join(QLatin1Char(','))));
    QCOMPARE(selected->bundle.staples.size(), 1);
}

void TestGuiConnect::staleStapleIsDiagnosed()
{
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.previousStaple; // the renewal incident, live
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);

    m_window->connectToServer(loopbackRequest(port, m_pki.hostName));
    QVERIFY(waitForCheck(*m_window));
    QVERIFY(!m_window->isWelcomeShown());
    const QStringList codes = codesOfSelected(*m_window);
    QVERIFY2(codes.value(0) == QLatin1String("STAPLE_FOR_OTHER_CERT"), qPrintable(codes.join(QLatin1Char(','))));
}

void TestGuiConnect::recheckConnectsAgain()
{
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);

    m_window->connectToServer(loopbackRequest(port, m_pki.hostName));
    QVERIFY(waitForCheck(*m_window));
    const int accepted = server.connectionsAccepted();
    QVERIFY(accepted >= 1);
    const int bundles = m_window->bundleModel()->report().bundles.size();

    QVERIFY(m_window->recheckSelectedServer());
    QVERIFY(waitForCheck(*m_window));
    QVERIFY(server.connectionsAccepted() > accepted);
    // A re-check replaces the earlier result instead of adding a second copy.
    QCOMPARE(m_window->bundleModel()->report().bundles.size(), bundles);
}

void TestGuiConnect::failedCheckCanBeRetried()
{
    // A port nothing listens on yet.
    quint16 port = 0;
    {
        LoopbackServer probe([](Connection&) {});
        port = probe.start();
        QVERIFY(port);
    }
    m_window->connectToServer(loopbackRequest(port, m_pki.hostName));
    QVERIFY(waitForCheck(*m_window));
    QCOMPARE(m_window->bundleModel()->report().bundles.size(), 0);
    const int inputsRow = m_window->bundleModel()->inputsRow();
    QVERIFY(inputsRow >= 0);
    QCOMPARE(m_window->bundleModel()->data(m_window->bundleModel()->index(inputsRow, BundleListModel::NameColumn)).toString(),
             QStringLiteral("Connections"));
    QVERIFY(m_window->selectBundleRow(inputsRow));
    QCOMPARE(codesOfSelected(*m_window).value(0), QStringLiteral("CONNECT_FAILED"));

    // The server comes up; Re-check on the failed row connects again and the bundle replaces the failure.
    TlsServerConfig config;
    config.leaf = m_pki.leaf;
    config.chain = {m_pki.ca};
    config.staple = m_pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    QCOMPARE(server.start("127.0.0.1", port), port);
    QVERIFY(m_window->recheckSelectedServer());
    QVERIFY(waitForCheck(*m_window));
    QCOMPARE(m_window->bundleModel()->report().bundles.size(), 1);
    QVERIFY(m_window->bundleModel()->report().inputFindings.isEmpty());
}

void TestGuiConnect::cancelStopsASilentServerAndTheWindowKeepsResponding()
{
    // Accepts and never says a word: only the timeout or the cancel ends the check.
    LoopbackServer silent([](Connection& connection) { connection.drainUntilClosed(30000); });
    const quint16 port = silent.start();
    QVERIFY(port);

    ServerCheckRequest request = loopbackRequest(port, m_pki.hostName);
    request.probe.connectTimeoutMs = request.probe.stepTimeoutMs = 20000;
    request.probe.totalTimeoutMs = 25000;

    qint64 longestGap = 0;
    QElapsedTimer sinceTick;
    sinceTick.start();
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, this, [&] {
        longestGap = qMax(longestGap, sinceTick.restart());
    });
    ticker.start(10);

    QSignalSpy finished(m_window.get(), &MainWindow::serverCheckFinished);
    QElapsedTimer elapsed;
    elapsed.start();
    m_window->connectToServer(request);
    QTest::qWait(300);
    QVERIFY(m_window->isConnecting());
    m_window->cancelServerChecks();
    QVERIFY(finished.wait(5000));
    QVERIFY2(elapsed.elapsed() < 5000, "cancelling must end the check well before its 20 s timeouts");
    ticker.stop();
    QVERIFY2(longestGap < 500, qPrintable(QStringLiteral("GUI thread blocked for %1 ms").arg(longestGap)));
    QVERIFY(!m_window->isConnecting());
}

void TestGuiConnect::dialogBuildsTheRequest()
{
    ConnectDialog dialog;
    dialog.serverEdit()->setText(QStringLiteral("mail.example.org"));
    QVERIFY(dialog.requestError().isEmpty());
    QCOMPARE(dialog.request().probe.port, quint16(443));
    dialog.serverEdit()->setText(QStringLiteral("[2001:db8::1]:587"));
    QCOMPARE(dialog.request().probe.host, QStringLiteral("2001:db8::1"));
    QCOMPARE(dialog.request().probe.port, quint16(587));
    QVERIFY(!dialog.request().probe.startTls.has_value()); // automatic: by port
    dialog.serverEdit()->setText(QStringLiteral("mail.example.org:99999"));
    QVERIFY(!dialog.requestError().isEmpty());

    ServerCheckRequest request = loopbackRequest(2525, QStringLiteral("mx.example.test"));
    request.probe.startTls = StartTlsProtocol::Smtp;
    request.compare.paths = {QStringLiteral("/etc/exim4")};
    dialog.setRequest(request);
    const ServerCheckRequest back = dialog.request();
    QCOMPARE(back.probe.host, request.probe.host);
    QCOMPARE(back.probe.port, request.probe.port);
    QCOMPARE(back.probe.serverName, request.probe.serverName);
    QCOMPARE(back.probe.startTls, request.probe.startTls);
    QCOMPARE(back.compare.paths, request.compare.paths);
}

QTEST_MAIN(TestGuiConnect)
#include "tst_gui_connect.moc"
