// The window's Deploy…, Generations… and Renew… end to end on 127.0.0.1: a source folder of one
// certificate (made by TestPki at the wall clock's now, so the deployer's gate judges it valid)
// whose OCSP URL is the in-process test responder. Deploy… plans off the GUI thread and shows the
// new generation and the staple fetched for it; Deploy flips DEST/current (checked on disk); the
// generations view lists both generations with the current one marked; Roll Back returns current
// to the previous one (on disk). A DEST the user cannot write shows the sudo line instead. Renew…
// on a certbot lineage (real certbot, its renewal config pointing at a closed loopback port) shows
// the exact command and that a renewal cannot be stopped, then certbot's own error text streamed.
// The timeline draws a renewal-window lane in its own style with the CA's explanation URL.

#include "AppSettings.h"
#include "BundleListModel.h"
#include "CommandLineRow.h"
#include "DeployDialog.h"
#include "DeployPlanDialog.h"
#include "DeployResultDialog.h"
#include "GenerationsDialog.h"
#include "MainWindow.h"
#include "PrivilegedApply.h"
#include "RenewDialog.h"
#include "TestClock.h"
#include "TestPki.h"
#include "TestResponder.h"
#include "TimelineWidget.h"
#include "UiStyle.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHelpEvent>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <QToolTip>
#include <QTreeWidget>

using namespace staplescope;
using namespace staplescope::ui;
using namespace staplescope::test;

namespace {

// Planning asks the responder over loopback; deploying writes, gates and flips; certbot starts Python.
constexpr int kJobTimeoutMs = 60000;

QByteArray readFile(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The generation DEST/current names (its folder name), read from disk.
QString currentGeneration(const QString& destination)
{
    const QFileInfo current(QDir(destination).filePath(QStringLiteral("current")));
    if (!current.isSymLink())
        return {};
    return QFileInfo(current.symLinkTarget()).fileName();
}

template <typename Dialog>
Dialog* waitForDialog(QWidget* parent)
{
    Dialog* found = nullptr;
    const bool shown = QTest::qWaitFor(
        [&] {
            const QList<Dialog*> all = parent->findChildren<Dialog*>();
            for (Dialog* d : all)
                if (d->isVisible())
                    found = d;
            return found != nullptr;
        },
        kJobTimeoutMs);
    return shown ? found : nullptr;
}

void saveShot(QWidget* widget, const QString& name)
{
    const QString folder = qEnvironmentVariable("STAPLESCOPE_GUI_SHOTS");
    if (!folder.isEmpty())
        widget->grab().save(QDir(folder).filePath(name));
}

// A serial without separators, upper case: the forms core uses differ only in that.
QString bareSerial(QString serial)
{
    return serial.remove(QLatin1Char(':')).toUpper();
}

// A loopback port nothing listens on: bound, then closed again.
quint16 closedPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = server.serverPort();
    server.close();
    return port;
}

} // namespace

class TestGuiDeploy : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void deployFlipsAndRollBackReturns();
    void unwritableDestinationShowsTheSudoLine();
    void renewalWindowLaneHasItsOwnStyle();
    void renewStreamsCertbotsError();
    void sudoLinesQuoteForTheShell();

private:
    // Writes the source folder as certbot's live/NAME shape (cert, chain, fullchain, privkey).
    void writeSource(const IssuedCert& leaf);
    DeployPlanDialog* planThroughTheWindow(const QString& destination);
    QString deployThroughTheWindow(const QString& destination);

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestResponder> m_responder;
    QTemporaryDir m_dir;
    QString m_rootFile;
    std::unique_ptr<TestFolder> m_files;
    std::unique_ptr<MainWindow> m_window;
    int m_counter = 0;
};

void TestGuiDeploy::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // The deployer's gate judges the new generation at the real time: the PKI is made around it.
    const QDateTime now = QDateTime::fromSecsSinceEpoch(QDateTime::currentSecsSinceEpoch(), Qt::UTC);
    m_pki = std::make_unique<TestPki>(now);
    m_rootFile = m_dir.filePath(QStringLiteral("root.pem"));
    QFile root(m_rootFile);
    QVERIFY(root.open(QIODevice::WriteOnly));
    root.write(TestPki::pem(m_pki->root));
    root.close();
    m_responder = std::make_unique<TestResponder>(*m_pki);
    QVERIFY(m_responder->start());
}

void TestGuiDeploy::init()
{
    m_files = std::make_unique<TestFolder>();
    QVERIFY(m_files->isValid());
    const QString ini = m_dir.filePath(QStringLiteral("settings-%1.ini").arg(++m_counter));
    auto settings = std::make_unique<AppSettings>(std::make_unique<QSettings>(ini, QSettings::IniFormat));
    settings->setExtraTrustAnchors({m_rootFile});
    settings->setUseSystemTrust(false);
    m_window = std::make_unique<MainWindow>(std::move(settings));
    m_window->setNonInteractive(true);
    m_window->setClock(std::make_shared<FixedClock>(m_pki->now()));
    m_window->resize(1300, 850);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestGuiDeploy::cleanup()
{
    m_window.reset();
    m_files.reset();
}

void TestGuiDeploy::writeSource(const IssuedCert& leaf)
{
    QVERIFY(!m_files->write(QStringLiteral("source/cert.pem"), TestPki::pem(leaf)).isEmpty());
    QVERIFY(!m_files->write(QStringLiteral("source/chain.pem"), TestPki::pem(m_pki->intermediate)).isEmpty());
    QVERIFY(!m_files->write(QStringLiteral("source/fullchain.pem"), TestPki::pem({&leaf, &m_pki->intermediate})).isEmpty());
    const QString key = m_files->write(QStringLiteral("source/privkey.pem"), m_pki->keyPem(leaf));
    QVERIFY(!key.isEmpty());
    QVERIFY(QFile::setPermissions(key, QFileDevice::ReadOwner | QFileDevice::WriteOwner));
}

// Deploy… → the options dialog (source and DEST filled in) → Plan… → the plan dialog.
DeployPlanDialog* TestGuiDeploy::planThroughTheWindow(const QString& destination)
{
    if (!m_window->deployInteractive())
        return nullptr;
    auto* options = waitForDialog<DeployDialog>(m_window.get());
    if (!options)
        return nullptr;
    options->sourceEdit()->setText(m_files->path(QStringLiteral("source")));
    options->destinationEdit()->setText(destination);
    saveShot(options, QStringLiteral("deploy-options.png"));
    QSignalSpy shown(m_window.get(), &MainWindow::deployPlanShown);
    QTest::mouseClick(options->planButton(), Qt::LeftButton);
    if (!shown.wait(kJobTimeoutMs))
        return nullptr;
    return waitForDialog<DeployPlanDialog>(m_window.get());
}

// Plans and deploys; returns the new generation's name (empty on failure).
QString TestGuiDeploy::deployThroughTheWindow(const QString& destination)
{
    DeployPlanDialog* dialog = planThroughTheWindow(destination);
    if (!dialog || dialog->plan().action != DeployAction::Deploy || !dialog->deployButton()->isEnabled())
        return {};
    const QString generation = dialog->plan().generationName;
    QSignalSpy finished(m_window.get(), &MainWindow::deployFinished);
    QTest::mouseClick(dialog->deployButton(), Qt::LeftButton);
    if (!finished.wait(kJobTimeoutMs))
        return {};
    if (auto* result = waitForDialog<DeployResultDialog>(m_window.get()))
        result->close();
    return generation;
}

void TestGuiDeploy::deployFlipsAndRollBackReturns()
{
    const IssuedCert first = m_responder->issueLeaf();
    writeSource(first);
    const Certificate firstCert = Certificate::fromDer(first.certDer(), {});
    const QString dest = m_files->path(QStringLiteral("dest"));

    // The plan: a new generation named after this certificate, with a good staple fetched for it.
    DeployPlanDialog* dialog = planThroughTheWindow(dest);
    QVERIFY(dialog);
    saveShot(dialog, QStringLiteral("deploy-plan.png"));
    const DeployPlan plan = dialog->plan(); // a copy: the dialog deletes itself once closed
    QCOMPARE(plan.action, DeployAction::Deploy);
    QVERIFY(!plan.generationName.isEmpty());
    QVERIFY2(dialog->detailsText().contains(plan.generationName), qPrintable(dialog->detailsText()));
    QVERIFY(dialog->summaryText().contains(plan.generationName));
    QVERIFY(!plan.staple.isNull());
    QCOMPARE(plan.staple.status, QStringLiteral("good"));
    QCOMPARE(bareSerial(plan.staple.serial), bareSerial(firstCert.serialHex()));
    QVERIFY(!plan.stapleDer.isEmpty());
    QVERIFY2(dialog->detailsText().contains(QStringLiteral("fetched: good")), qPrintable(dialog->detailsText()));
    QVERIFY(dialog->deployButton()->isEnabled());
    QVERIFY(dialog->sudoLine().isEmpty());
    // Nothing on disk before Deploy.
    QVERIFY(currentGeneration(dest).isEmpty());

    QSignalSpy finished(m_window.get(), &MainWindow::deployFinished);
    QTest::mouseClick(dialog->deployButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    auto* result = waitForDialog<DeployResultDialog>(m_window.get());
    QVERIFY(result);
    saveShot(result, QStringLiteral("deploy-result.png"));
    QVERIFY2(result->details().contains(plan.generationName), qPrintable(result->details()));
    result->close();

    // On disk: DEST/current names the new generation, which holds this certificate and the staple.
    QCOMPARE(currentGeneration(dest), plan.generationName);
    const QString current = QDir(dest).filePath(QStringLiteral("current"));
    QVERIFY(readFile(QDir(current).filePath(QStringLiteral("fullchain.pem"))).startsWith(TestPki::pem(first)));
    QCOMPARE(readFile(QDir(current).filePath(QStringLiteral("ocsp.der"))), plan.stapleDer);

    // A renewed certificate in the same source, deployed again: DEST is remembered.
    const IssuedCert second = m_responder->issueLeaf();
    writeSource(second);
    QCOMPARE(m_window->settings().deployDestination(), dest);
    const QString secondGeneration = deployThroughTheWindow(dest);
    QVERIFY(!secondGeneration.isEmpty());
    QVERIFY(secondGeneration != plan.generationName);
    QCOMPARE(currentGeneration(dest), secondGeneration);

    // The generations view: both, newest first, the current one marked, both on the timeline.
    m_window->showGenerations();
    auto* generations = waitForDialog<GenerationsDialog>(m_window.get());
    QVERIFY(generations);
    if (generations->generations().size() != 2) {
        QSignalSpy listed(generations, &GenerationsDialog::listed);
        QVERIFY(listed.wait(kJobTimeoutMs));
    }
    QCOMPARE(generations->destination(), dest);
    QCOMPARE(generations->table()->topLevelItemCount(), 2);
    QTreeWidgetItem* newest = generations->table()->topLevelItem(0);
    QTreeWidgetItem* older = generations->table()->topLevelItem(1);
    QCOMPARE(newest->text(GenerationsDialog::NameColumn), secondGeneration);
    QVERIFY(!newest->text(GenerationsDialog::CurrentColumn).isEmpty());
    QCOMPARE(older->text(GenerationsDialog::NameColumn), plan.generationName);
    QVERIFY(older->text(GenerationsDialog::CurrentColumn).isEmpty());
    QVERIFY(newest->text(GenerationsDialog::StapleWindowColumn).startsWith(QStringLiteral("good")));
    int certificateLanes = 0, stapleLanes = 0;
    for (const TimelineLane& lane : generations->timeline()->timeline().lanes) {
        certificateLanes += lane.kind == LaneKind::Leaf ? 1 : 0;
        stapleLanes += lane.kind == LaneKind::Staple ? 1 : 0;
        QCOMPARE(lane.state, LaneState::Ok);
    }
    QCOMPARE(certificateLanes, 2);
    QCOMPARE(stapleLanes, 2);
    QVERIFY(!generations->timeline()->laneRect(3).isNull());
    saveShot(generations, QStringLiteral("deploy-generations.png"));

    // Roll Back: confirmed by name, then current is the previous generation again (on disk).
    QCOMPARE(generations->rollbackTarget(), plan.generationName);
    QVERIFY(generations->rollbackButton()->isEnabled());
    QTest::mouseClick(generations->rollbackButton(), Qt::LeftButton);
    QMessageBox* confirm = generations->confirmation();
    QVERIFY(confirm);
    QTRY_VERIFY(confirm->isVisible());
    QVERIFY2(confirm->text().contains(plan.generationName), qPrintable(confirm->text()));
    saveShot(confirm, QStringLiteral("deploy-rollback-confirm.png"));
    auto* yes = confirm->findChild<QPushButton*>(QStringLiteral("confirmRollbackButton"));
    QVERIFY(yes);
    QSignalSpy rolledBack(generations, &GenerationsDialog::rollbackFinished);
    QSignalSpy relisted(generations, &GenerationsDialog::listed);
    QTest::mouseClick(yes, Qt::LeftButton);
    QVERIFY(rolledBack.wait(kJobTimeoutMs));
    QCOMPARE(rolledBack.first().first().toBool(), true);
    QCOMPARE(currentGeneration(dest), plan.generationName);
    QVERIFY(readFile(QDir(current).filePath(QStringLiteral("fullchain.pem"))).startsWith(TestPki::pem(first)));
    // The view lists again and marks the generation it returned to.
    QVERIFY(relisted.size() > 0 || relisted.wait(kJobTimeoutMs));
    QCOMPARE(generations->table()->topLevelItemCount(), 2);
    QVERIFY(generations->table()->topLevelItem(0)->text(GenerationsDialog::CurrentColumn).isEmpty());
    QVERIFY(!generations->table()->topLevelItem(1)->text(GenerationsDialog::CurrentColumn).isEmpty());
    auto* rollbackResult = waitForDialog<DeployResultDialog>(generations);
    QVERIFY(rollbackResult);
    saveShot(rollbackResult, QStringLiteral("deploy-rollback-result.png"));
    QVERIFY2(rollbackResult->details().contains(QStringLiteral("Returned to: ") + plan.generationName),
             qPrintable(rollbackResult->details()));
    rollbackResult->close();

    // As if DEST were root's: no Roll Back, the exact sudo line for the generation it would return to.
    m_window->workspace()->setFolderWriteCheck([dest](const QString& path) { return !path.startsWith(dest); });
    QSignalSpy listedAgain(generations, &GenerationsDialog::listed);
    generations->listDestination(dest);
    QVERIFY(listedAgain.wait(kJobTimeoutMs));
    // Current is the oldest now: nothing before it, until another generation is selected.
    QVERIFY(generations->rollbackTarget().isEmpty());
    QVERIFY(!generations->rollbackButton()->isEnabled());
    generations->table()->setCurrentItem(generations->table()->topLevelItem(0));
    QCOMPARE(generations->rollbackTarget(), secondGeneration);
    QVERIFY(!generations->rollbackButton()->isEnabled());
    const QString sudo = generations->sudoLine();
    QVERIFY2(sudo.startsWith(QStringLiteral("sudo ")) &&
                 sudo.contains(QStringLiteral(" deploy --to ") + dest + QStringLiteral(" --rollback --generation ") + secondGeneration),
             qPrintable(sudo));
    saveShot(generations, QStringLiteral("deploy-generations-sudo.png"));
}

void TestGuiDeploy::unwritableDestinationShowsTheSudoLine()
{
    writeSource(m_responder->issueLeaf());
    const QString dest = m_files->path(QStringLiteral("etc-dest"));
    // As if DEST were root's: the window plans (reading only) but offers the sudo line, not Deploy.
    m_window->workspace()->setFolderWriteCheck([dest](const QString& path) { return !path.startsWith(dest); });
    DeployPlanDialog* dialog = planThroughTheWindow(dest);
    QVERIFY(dialog);
    saveShot(dialog, QStringLiteral("deploy-plan-sudo.png"));
    QCOMPARE(dialog->plan().action, DeployAction::Deploy);
    QVERIFY(!dialog->deployButton()->isEnabled());
    const QString line = dialog->sudoLine();
    QVERIFY2(line.startsWith(QStringLiteral("sudo ")), qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral(" deploy --from ") + m_files->path(QStringLiteral("source"))), qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral(" --to ") + dest), qPrintable(line));
    QVERIFY(line.contains(QStringLiteral("--layout all --keep 3")));
    auto* row = dialog->findChild<CommandLineRow*>();
    QVERIFY(row);
    QTest::mouseClick(row->copyButton(), Qt::LeftButton);
    QCOMPARE(QApplication::clipboard()->text(), line);
    // Cancel: nothing was created.
    QSignalSpy finished(m_window.get(), &MainWindow::deployFinished);
    QTest::mouseClick(dialog->cancelButton(), Qt::LeftButton);
    QCOMPARE(finished.size(), 1);
    QVERIFY(!QFileInfo::exists(dest));
}

void TestGuiDeploy::renewalWindowLaneHasItsOwnStyle()
{
    // A timeline as core builds it for a bundle whose CA gave a renewal window.
    const QDateTime now = m_pki->now();
    Timeline timeline;
    timeline.at = now;
    TimelineLane leaf;
    leaf.objectId = QStringLiteral("leaf");
    leaf.kind = LaneKind::Leaf;
    leaf.label = QStringLiteral("Leaf www.example.test");
    leaf.start = daysFrom(now, -60);
    leaf.end = daysFrom(now, 30);
    timeline.lanes << leaf;
    TimelineLane window;
    window.objectId = QStringLiteral("renewal");
    window.kind = LaneKind::RenewalWindow;
    window.label = QStringLiteral("Suggested renewal window");
    window.start = daysFrom(now, -2);
    window.end = daysFrom(now, 3);
    window.state = LaneState::Due;
    window.stateText = QStringLiteral("open: renew now");
    window.detail = QStringLiteral("explanation: https://ca.example.test/incident?<b>x</b>");
    timeline.lanes << window;

    TimelineWidget widget;
    widget.setClock(std::make_shared<FixedClock>(now));
    widget.resize(900, 300);
    widget.setTimeline(timeline);
    widget.show();
    QVERIFY(QTest::qWaitForWindowExposed(&widget));
    // Laid out as a row of its own, drawn in its colour (not the state's).
    QVERIFY(!widget.laneRect(1).isNull());
    const QRectF bar = widget.barRect(1);
    QVERIFY(!bar.isNull());
    const QImage image = widget.grab().toImage();
    const QColor drawn = image.pixelColor(bar.toRect().center() + QPoint(0, int(bar.height() / 2) - 3));
    const QColor expected = renewalWindowColor(widget.palette());
    QVERIFY2(qAbs(drawn.hue() - expected.hue()) < 20, qPrintable(drawn.name() + QStringLiteral(" vs ") + expected.name()));
    saveShot(&widget, QStringLiteral("timeline-renewal-window.png"));

    // The tooltip says what it is and gives the explanation URL, escaped.
    const QPoint pos = bar.center().toPoint();
    QHelpEvent help(QEvent::ToolTip, pos, widget.mapToGlobal(pos));
    QApplication::sendEvent(&widget, &help);
    QTRY_VERIFY(QToolTip::isVisible());
    const QString text = QToolTip::text();
    QVERIFY2(text.contains(QStringLiteral("https://ca.example.test/incident?&lt;b&gt;x&lt;/b&gt;")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("suggests renewing")), qPrintable(text));
    QVERIFY(text.contains(formatTime(window.start)));
    QToolTip::hideText();
}

void TestGuiDeploy::renewStreamsCertbotsError()
{
    const QString certbot = QStandardPaths::findExecutable(QStringLiteral("certbot"));
    if (certbot.isEmpty())
        QSKIP("certbot is not installed (Debian package certbot)");
    // A certbot lineage outside /etc/letsencrypt: archive/NAME/*1.pem, live/NAME/* symlinks, and
    // renewal/NAME.conf naming an ACME server on a loopback port nobody listens on. The
    // certificate has 5 days left, so certbot itself finds it due and goes to the server.
    const quint16 port = closedPort();
    QVERIFY(port != 0);
    const IssuedCert leaf = m_pki->issueLeaf([this](CertSpec& spec) {
        spec.notBefore = daysFrom(m_pki->now(), -85);
        spec.notAfter = daysFrom(m_pki->now(), 5);
    });
    const QString name = QStringLiteral("www.example.test");
    const QString config = m_files->path(QStringLiteral("le"));
    const QString archive = QStringLiteral("archive/") + name + QLatin1Char('/');
    const QString live = QStringLiteral("live/") + name + QLatin1Char('/');
    QVERIFY(!m_files->write(QStringLiteral("le/") + archive + QStringLiteral("cert1.pem"), TestPki::pem(leaf)).isEmpty());
    QVERIFY(!m_files->write(QStringLiteral("le/") + archive + QStringLiteral("chain1.pem"), TestPki::pem(m_pki->intermediate)).isEmpty());
    QVERIFY(!m_files->write(QStringLiteral("le/") + archive + QStringLiteral("fullchain1.pem"),
                            TestPki::pem({&leaf, &m_pki->intermediate})).isEmpty());
    QVERIFY(!m_files->write(QStringLiteral("le/") + archive + QStringLiteral("privkey1.pem"), m_pki->keyPem(leaf)).isEmpty());
    QVERIFY(!m_files->mkdir(QStringLiteral("le/") + live).isEmpty());
    for (const QString& file : {QStringLiteral("cert"), QStringLiteral("chain"), QStringLiteral("fullchain"), QStringLiteral("privkey")})
        QVERIFY(QFile::link(QStringLiteral("../../archive/") + name + QLatin1Char('/') + file + QStringLiteral("1.pem"),
                            QDir(config).filePath(live + file + QStringLiteral(".pem"))));
    const QString server = QStringLiteral("https://127.0.0.1:%1/dir").arg(port);
    const QString conf = QStringLiteral("# renew_before_expiry = 30 days\nversion = 2.1.0\n"
                                        "archive_dir = %1/archive/%2\ncert = %1/live/%2/cert.pem\n"
                                        "privkey = %1/live/%2/privkey.pem\nchain = %1/live/%2/chain.pem\n"
                                        "fullchain = %1/live/%2/fullchain.pem\n\n[renewalparams]\n"
                                        "account = 0123456789abcdef0123456789abcdef\nserver = %3\n"
                                        "authenticator = standalone\nhttp01_port = %4\nhttp01_address = 127.0.0.1\n"
                                        // As certbot records them for a lineage made with these options: its
                                        // logs and work files stay in the test's folder, not /var.
                                        "config_dir = %1\nwork_dir = %1/work\nlogs_dir = %1/logs\n")
                             .arg(config, name, server, QString::number(closedPort()));
    QVERIFY(!m_files->write(QStringLiteral("le/renewal/") + name + QStringLiteral(".conf"), conf.toUtf8()).isEmpty());

    // Load the lineage; Renew… is offered once the client was detected.
    QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
    m_window->openPaths({QDir(config).filePath(live)});
    QVERIFY(loaded.wait(kJobTimeoutMs));
    QVERIFY(m_window->selectBundleRow(m_window->bundleModel()->rowOfBundle(m_window->report().bundles.value(0).bundle.id)));
    QTRY_VERIFY_WITH_TIMEOUT(m_window->renewAction()->isEnabled(), kJobTimeoutMs);
    QVERIFY2(m_window->renewAction()->toolTip().contains(QStringLiteral("certbot")), qPrintable(m_window->renewAction()->toolTip()));

    QSignalSpy shown(m_window.get(), &MainWindow::renewPlanShown);
    QVERIFY(m_window->renewSelected());
    QVERIFY(shown.wait(kJobTimeoutMs));
    auto* dialog = waitForDialog<RenewDialog>(m_window.get());
    QVERIFY(dialog);
    saveShot(dialog, QStringLiteral("renew-plan.png"));
    const RenewPlanEntry entry = dialog->plan().entries.value(0);
    QVERIFY(entry.managed);
    QCOMPARE(entry.managed->client, AcmeClient::Certbot);
    QVERIFY2(dialog->planText().contains(entry.managed->detectedBy), qPrintable(dialog->planText()));
    // The exact command, and the sentence that it cannot be stopped, before anything runs.
    QCOMPARE(dialog->commandText(), entry.command.display());
    QVERIFY(dialog->commandText().contains(QStringLiteral("certbot")));
    QVERIFY(dialog->commandText().contains(QStringLiteral("--config-dir ") + config));
    QVERIFY(dialog->commandText().contains(QStringLiteral("--logs-dir ") + config + QStringLiteral("/logs")));
    QVERIFY2(dialog->warningText().contains(QStringLiteral("cannot be stopped")), qPrintable(dialog->warningText()));
    QVERIFY(dialog->outputText().isEmpty());
    QVERIFY(dialog->startButton()->isEnabled());

    // Start: certbot's lines arrive while it runs, then its error is the result.
    QSignalSpy lines(m_window->workspace(), &Workspace::renewOutput);
    QSignalSpy done(dialog, &RenewDialog::renewFinished);
    QTest::mouseClick(dialog->startButton(), Qt::LeftButton);
    QVERIFY(dialog->isRunning());
    QVERIFY(!dialog->closeButton()->isEnabled());
    dialog->reject(); // cannot be closed while the client runs
    QVERIFY(dialog->isVisible());
    QVERIFY(done.wait(kJobTimeoutMs * 2));
    QVERIFY(dialog->result());
    const RenewEntryResult renewed = dialog->result()->entries.value(0);
    QVERIFY(renewed.ran);
    QVERIFY(!renewed.renewed);
    QVERIFY(renewed.client.exitStatus != 0);
    QStringList codes;
    for (const Finding& f : renewed.findings)
        codes << f.code;
    QVERIFY2(codes.contains(QStringLiteral("RENEW_CLIENT_FAILED")), qPrintable(codes.join(QLatin1Char(','))));
    QVERIFY(lines.size() > 0);
    // certbot's own words: its last line of output is in the dialog.
    QStringList clientLines = renewed.client.output.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QVERIFY(!clientLines.isEmpty());
    QVERIFY2(dialog->outputText().contains(clientLines.constLast().trimmed()), qPrintable(dialog->outputText()));
    QVERIFY2(dialog->outputText().contains(config + QStringLiteral("/logs")), qPrintable(dialog->outputText()));
    QVERIFY(dialog->closeButton()->isEnabled());
    QVERIFY(!dialog->resultText().isEmpty());
    saveShot(dialog, QStringLiteral("renew-failed.png"));
    // Nothing changed on disk: the lineage still holds the one certificate.
    QCOMPARE(QDir(QDir(config).filePath(archive)).entryList(QDir::Files).size(), 4);
    dialog->reject();
}

void TestGuiDeploy::sudoLinesQuoteForTheShell()
{
    DeployOptions options;
    options.from = QStringLiteral("/etc/letsencrypt/live/mail.example.org");
    options.to = QStringLiteral("/etc/ssl/deployed/mail");
    options.layout = DeployLayout::Exim;
    options.keep = 5;
    options.reloadCommand = QStringLiteral("systemctl reload exim4 && echo 'done'");
    options.verify = QStringLiteral("127.0.0.1:25");
    // The reload command as one word, its own quotes closed and escaped ('\'').
    const QString reload = QStringLiteral("'systemctl reload exim4 && echo '\\''done'\\'''");
    QCOMPARE(sudoDeployLine(QStringLiteral("/usr/bin/staplescope-cli"), options),
             QStringLiteral("sudo /usr/bin/staplescope-cli deploy --from /etc/letsencrypt/live/mail.example.org --to "
                            "/etc/ssl/deployed/mail --layout exim --keep 5 --reload-command ") +
                 reload + QStringLiteral(" --verify 127.0.0.1:25"));
    QCOMPARE(sudoRollbackLine({}, options, QStringLiteral("20261202T051500Z-0A1B")),
             QStringLiteral("sudo staplescope-cli deploy --to /etc/ssl/deployed/mail --rollback --generation "
                            "20261202T051500Z-0A1B --reload-command ") +
                 reload + QStringLiteral(" --verify 127.0.0.1:25"));
    RenewOptions renew;
    renew.client = AcmeClient::Certbot;
    renew.deployTo = {QStringLiteral("/srv/my certs")};
    QCOMPARE(sudoRenewLine(QStringLiteral("/usr/bin/staplescope-cli"), {QStringLiteral("/etc/letsencrypt/live/a b")}, renew),
             QStringLiteral("sudo /usr/bin/staplescope-cli renew --client certbot --deploy-to '/srv/my certs' "
                            "--layout all --keep 3 '/etc/letsencrypt/live/a b'"));
}

QTEST_MAIN(TestGuiDeploy)
#include "tst_gui_deploy.moc"
