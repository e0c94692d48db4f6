// The main window on the built-in demo, generated at the pinned clock: drop, list, select, re-evaluate
// "as of", export. The window only presents core's results, so the expectations are core's.

#include "AppSettings.h"
#include "BundleListModel.h"
#include "DemoData.h"
#include "DetailsPane.h"
#include "ElidedLabel.h"
#include "FindingListModel.h"
#include "MainWindow.h"
#include "TestClock.h"
#include "TestPki.h"
#include "TimelineWidget.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDateTimeEdit>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMimeData>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocument>
#include <QTreeWidget>
#include <QTreeView>
#include <QUrl>

using namespace staplescope;
using namespace staplescope::ui;
using namespace staplescope::test;

Q_DECLARE_METATYPE(ExportFormat)

namespace {

QStringList codesOf(const QList<Finding>& findings)
{
    QStringList codes;
    for (const Finding& f : findings)
        codes << f.code;
    return codes;
}

void dropPaths(QWidget* target, const QStringList& paths)
{
    auto* mime = new QMimeData; // owned by the test: events do not take it
    QList<QUrl> urls;
    for (const QString& p : paths)
        urls << QUrl::fromLocalFile(p);
    mime->setUrls(urls);
    const QPointF pos(target->width() / 2.0, target->height() / 2.0);
    QDragEnterEvent enter(pos.toPoint(), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(pos, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &drop);
    QVERIFY(drop.isAccepted());
    delete mime;
}

// What a widget shows for `text`: Qt::AutoText (labels, tooltips) renders text that looks like
// HTML as rich text.
QString shownText(const QString& text, Qt::TextFormat format = Qt::AutoText)
{
    if (format == Qt::PlainText || (format == Qt::AutoText && !Qt::mightBeRichText(text)))
        return text;
    QTextDocument document;
    document.setHtml(text);
    return document.toPlainText();
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_demoDir.isValid());
        const DemoResult demo = writeDemo(m_demoDir.path(), fixedNow());
        QVERIFY2(demo.ok, qPrintable(demo.error));
        m_trustAnchor = demo.trustAnchorFile;
        m_demoPaths = demo.paths;
    }

    void init()
    {
        QVERIFY(m_settingsDir.isValid());
        const QString ini = m_settingsDir.filePath(QStringLiteral("settings-%1.ini").arg(++m_counter));
        auto settings = std::make_unique<AppSettings>(std::make_unique<QSettings>(ini, QSettings::IniFormat));
        settings->setExtraTrustAnchors({m_trustAnchor});
        m_window = std::make_unique<MainWindow>(std::move(settings));
        m_window->setNonInteractive(true);
        m_window->setAsOf(fixedNow());
        m_bundleTester = std::make_unique<QAbstractItemModelTester>(m_window->bundleModel(),
                                                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
        m_findingTester = std::make_unique<QAbstractItemModelTester>(m_window->findingModel(),
                                                                     QAbstractItemModelTester::FailureReportingMode::QtTest);
        m_window->resize(1300, 850);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    }

    void cleanup()
    {
        m_bundleTester.reset();
        m_findingTester.reset();
        m_window.reset();
    }

    void startsWithWelcome() { QVERIFY(m_window->isWelcomeShown()); }

    void droppedFolderFillsBundleList()
    {
        QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
        dropPaths(m_window.get(), m_demoPaths);
        QVERIFY(m_window->isLoading());
        QVERIFY(loaded.wait(20000));
        QVERIFY(!m_window->isWelcomeShown());
        // healthy www, incident mail (current), and the superseded previous mail certificate.
        QCOMPARE(m_window->bundleModel()->rowCount(), 3);
        QCOMPARE(m_window->evaluatedAt(), fixedNow());
        // Worst first, as core ordered them.
        int previous = int(Severity::Critical) + 1;
        for (int r = 0; r < m_window->bundleModel()->rowCount(); ++r) {
            const int severity = m_window->bundleModel()->index(r, 0).data(BundleListModel::SeverityRole).toInt();
            QVERIFY(severity <= previous);
            previous = severity;
        }
        // Recent files remember what was dropped, most recent first.
        const QStringList recent = m_window->settings().recentFiles();
        for (const QString& p : m_demoPaths)
            QVERIFY2(recent.contains(QDir::cleanPath(p)), qPrintable(p));
    }

    void followsTheInjectedClock()
    {
        // "As of" following the clock evaluates at the window's clock's now, never the wall clock's.
        const auto clock = std::make_shared<FixedClock>(daysFrom(fixedNow(), 2));
        m_window->setClock(clock);
        m_window->setAsOf({});
        QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
        m_window->openPaths(m_demoPaths);
        QVERIFY(loaded.wait(20000));
        QCOMPARE(m_window->evaluatedAt(), daysFrom(fixedNow(), 2));
        QCOMPARE(m_window->asOfEdit()->dateTime().toUTC(), daysFrom(fixedNow(), 2));
        QCOMPARE(m_window->timeline()->timeline().at, daysFrom(fixedNow(), 2));

        // "Now" again, a day later by that clock.
        clock->advance(86400);
        QSignalSpy updated(m_window.get(), &MainWindow::reportUpdated);
        m_window->setAsOf({});
        QVERIFY(updated.wait(20000));
        QCOMPARE(m_window->evaluatedAt(), daysFrom(fixedNow(), 3));
    }

    void incidentShowsStapleForOtherCertFirst()
    {
        loadDemo();
        // The worst bundle is selected after loading; it is the renewal incident.
        QCOMPARE(m_window->currentBundleRow(), 0);
        const QModelIndex nameIndex = m_window->bundleModel()->index(0, BundleListModel::NameColumn);
        QCOMPARE(nameIndex.data().toString(), QStringLiteral("mail.example.test"));
        QCOMPARE(m_window->bundleModel()->index(0, 0).data(BundleListModel::SeverityRole).toInt(), int(Severity::Critical));
        QVERIFY(m_window->bundleModel()->index(0, BundleListModel::VerdictColumn).data().toString().contains(QStringLiteral("previous")));

        QVERIFY(m_window->findingModel()->rowCount() >= 1);
        QCOMPARE(m_window->findingModel()->index(0, 0).data(FindingListModel::CodeRole).toString(),
                 QStringLiteral("STAPLE_FOR_OTHER_CERT"));
        QCOMPARE(m_window->currentFindingRow(), 0);

        // The timeline shows the stale staple detached from the leaf, and the finding's lanes lit.
        const Timeline& t = m_window->timeline()->timeline();
        const auto detached = std::find_if(t.lanes.cbegin(), t.lanes.cend(), [](const TimelineLane& l) { return l.detached; });
        QVERIFY(detached != t.lanes.cend());
        QCOMPARE(detached->kind, LaneKind::Staple);
        const Finding* f = m_window->findingModel()->findingAt(0);
        QCOMPARE(m_window->timeline()->highlightedObjects(), f->objectIds);
        QVERIFY(f->objectIds.contains(detached->objectId));
    }

    void selectingAFindingHighlightsItsLanes()
    {
        loadDemo();
        // The superseded bundle has several findings about one certificate.
        int row = -1;
        for (int r = 0; r < m_window->bundleModel()->rowCount(); ++r)
            if (m_window->bundleModel()->findingsAt(r).size() >= 2)
                row = r;
        QVERIFY(row >= 0);
        QVERIFY(m_window->selectBundleRow(row));
        for (int i = 0; i < m_window->findingModel()->rowCount(); ++i) {
            QVERIFY(m_window->selectFindingRow(i));
            QCOMPARE(m_window->timeline()->highlightedObjects(), m_window->findingModel()->findingAt(i)->objectIds);
        }
    }

    void asOfChangesTheFindings()
    {
        loadDemo();
        const QString incidentId = m_window->bundleModel()->index(0, 0).data(BundleListModel::BundleIdRole).toString();
        const QStringList before = codesOf(m_window->findingModel()->findings());
        QVERIFY(!before.contains(QStringLiteral("CERT_EXPIRED")));

        // Four months on, the 90-day certificate has expired.
        QSignalSpy updated(m_window.get(), &MainWindow::reportUpdated);
        m_window->setAsOf(daysFrom(fixedNow(), 120));
        QTRY_VERIFY_WITH_TIMEOUT(m_window->evaluatedAt() == daysFrom(fixedNow(), 120), 10000);
        const QStringList after = codesOf(m_window->findingModel()->findings());
        QVERIFY2(after.contains(QStringLiteral("CERT_EXPIRED")), qPrintable(after.join(QLatin1Char(','))));
        QVERIFY(before != after);
        // The same bundle stays selected although core re-sorted the list.
        const int row = m_window->currentBundleRow();
        QCOMPARE(m_window->bundleModel()->index(row, 0).data(BundleListModel::BundleIdRole).toString(), incidentId);
        // The controls follow.
        QCOMPARE(m_window->asOfEdit()->dateTime().toUTC(), daysFrom(fixedNow(), 120));
        QCOMPARE(m_window->timeline()->timeline().at, daysFrom(fixedNow(), 120));
    }

    void asOfFieldAndSliderReEvaluate()
    {
        loadDemo();
        m_window->asOfEdit()->setDateTime(daysFrom(fixedNow(), 3));
        QTRY_COMPARE_WITH_TIMEOUT(m_window->evaluatedAt(), daysFrom(fixedNow(), 3), 10000);
        // The slider counts hours from the moment of loading (the pinned clock here).
        m_window->asOfSlider()->setValue(24 * 10);
        QTRY_COMPARE_WITH_TIMEOUT(m_window->evaluatedAt(), daysFrom(fixedNow(), 10), 10000);
    }

    void exportWritesEveryFinding_data()
    {
        QTest::addColumn<ExportFormat>("format");
        QTest::addColumn<QString>("suffix");
        QTest::newRow("markdown") << ExportFormat::Markdown << QStringLiteral("md");
        QTest::newRow("html") << ExportFormat::Html << QStringLiteral("html");
        QTest::newRow("json") << ExportFormat::Json << QStringLiteral("json");
    }
    void exportWritesEveryFinding()
    {
        QFETCH(ExportFormat, format);
        QFETCH(QString, suffix);
        loadDemo();
        QTemporaryDir out;
        const QString path = out.filePath(QStringLiteral("report.") + suffix);
        const WriteResult result = m_window->exportReport(path, format);
        QVERIFY2(result.ok, qPrintable(result.error));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray content = file.readAll();
        const QList<Finding> all = m_window->report().allFindings();
        QVERIFY(!all.isEmpty());
        if (format == ExportFormat::Json) {
            const QJsonArray findings = QJsonDocument::fromJson(content).object().value(QStringLiteral("findings")).toArray();
            QCOMPARE(findings.size(), all.size());
            QStringList exported;
            for (const QJsonValue& v : findings)
                exported << v.toObject().value(QStringLiteral("code")).toString();
            QStringList expected = codesOf(all);
            exported.sort();
            expected.sort();
            QCOMPARE(exported, expected);
            return;
        }
        const QString text = QString::fromUtf8(content);
        for (const Finding& f : all) {
            QVERIFY2(text.contains(f.code), qPrintable(f.code));
            // Messages go in whole (HTML escapes them; Markdown puts a backslash before markup characters).
            const QString message = format == ExportFormat::Html ? f.message.toHtmlEscaped() : f.message;
            const QString shown = format == ExportFormat::Markdown ? QString(text).remove(QLatin1Char('\\')) : text;
            QVERIFY2(shown.contains(message.left(60)), qPrintable(f.code));
        }
    }

    void detailsShowEveryObject()
    {
        loadDemo();
        const BundleReport* b = m_window->bundleModel()->bundleAt(0);
        QVERIFY(b);
        DetailsPane* details = m_window->details();
        QCOMPARE(details->fieldValue(b->bundle.leaf.id(), QStringLiteral("Serial")), b->bundle.leaf.serialHex());
        QCOMPARE(details->fieldValue(b->bundle.leaf.id(), QStringLiteral("OCSP URLs")), b->bundle.leaf.ocspUrls().join(QStringLiteral(", ")));
        QVERIFY(!b->bundle.staples.isEmpty());
        const OcspStaple& staple = b->bundle.staples.first().staple;
        QCOMPARE(details->fieldValue(staple.id(), QStringLiteral("CertID hash algorithm")),
                 staple.responses().first().certId.hashAlgorithm);
        QCOMPARE(details->fieldValue(staple.id(), QStringLiteral("CertID serial")), staple.responses().first().certId.serialHex());
        QVERIFY(details->showObject(staple.id()));
        QCOMPARE(details->currentDump(), staple.textDump());
        // Clicking the staple's lane in the timeline opens its details.
        const Timeline& t = m_window->timeline()->timeline();
        int leafLane = -1;
        for (int i = 0; i < t.lanes.size(); ++i)
            if (t.lanes[i].kind == LaneKind::Leaf)
                leafLane = i;
        QVERIFY(leafLane >= 0);
        emit m_window->timeline()->laneActivated(leafLane);
        QCOMPARE(details->currentObjectId(), b->bundle.leaf.id());
        QVERIFY(details->currentDump().contains(QStringLiteral("Serial Number"), Qt::CaseInsensitive));
    }

    void unreadableInputsGetTheirOwnRow()
    {
        QTemporaryDir dir;
        QFile html(dir.filePath(QStringLiteral("ocsp.der")));
        QVERIFY(html.open(QIODevice::WriteOnly));
        html.write("<html><body>502 Bad Gateway</body></html>");
        html.close();
        QFile empty(dir.filePath(QStringLiteral("empty.pem")));
        QVERIFY(empty.open(QIODevice::WriteOnly));
        empty.close();
        QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
        dropPaths(m_window.get(), {dir.path()});
        QVERIFY(loaded.wait(20000));
        const int row = m_window->bundleModel()->inputsRow();
        QVERIFY(row >= 0);
        QVERIFY(m_window->bundleModel()->index(row, 0).data(BundleListModel::InputsRowRole).toBool());
        QVERIFY(m_window->selectBundleRow(row));
        QVERIFY(m_window->findingModel()->rowCount() >= 2);
        for (const Finding& f : m_window->findingModel()->findings())
            QVERIFY2(f.code.startsWith(QStringLiteral("INPUT_")), qPrintable(f.code));
        QVERIFY(m_window->timeline()->timeline().lanes.isEmpty());
    }

    void settingsReachTheAnalysis()
    {
        // With a 100-day expiry warning, the healthy 90-day certificate is "expiring soon".
        m_window->settings().setExpiryWarningSeconds(100LL * 86400);
        loadDemo();
        bool found = false;
        for (int r = 0; r < m_window->bundleModel()->rowCount(); ++r) {
            const BundleReport* b = m_window->bundleModel()->bundleAt(r);
            if (b && b->bundle.leaf.commonName() == QLatin1String("www.example.test"))
                found = codesOf(b->findings).contains(QStringLiteral("CERT_EXPIRING_SOON"));
        }
        QVERIFY(found);
    }

    void recentFilesAreBoundedAndMostRecentFirst()
    {
        AppSettings& s = m_window->settings();
        s.clearRecentFiles();
        for (int i = 0; i < AppSettings::maxRecent + 3; ++i)
            s.addRecentFile(QStringLiteral("/tmp/recent-%1").arg(i));
        s.addRecentFile(QStringLiteral("/tmp/recent-5"));
        const QStringList recent = s.recentFiles();
        QCOMPARE(recent.size(), AppSettings::maxRecent);
        QCOMPARE(recent.first(), QStringLiteral("/tmp/recent-5"));
        QCOMPARE(recent.count(QStringLiteral("/tmp/recent-5")), 1);
    }

    void keyboardReachesTheBundleList()
    {
        loadDemo();
        m_window->bundleView()->setFocus();
        QTest::keyClick(m_window->bundleView(), Qt::Key_Down);
        QCOMPARE(m_window->currentBundleRow(), 1);
        QTest::keyClick(m_window->bundleView(), Qt::Key_Up);
        QCOMPARE(m_window->currentBundleRow(), 0);
    }

    // A certificate named "<b>bold</b>", in a file named "<i>x.pem": every label and tooltip that
    // shows them shows the markup as text.
    void outsideTextIsShownLiterally()
    {
        test::TestPki pki;
        const IssuedCert leaf = pki.issueLeaf([](CertSpec& s) { s.commonName = QStringLiteral("<b>bold</b> cn"); });
        test::TestFolder dir;
        const QString path = dir.write(QStringLiteral("<i>x.pem"), test::TestPki::pem({&leaf, &pki.intermediate}));
        QVERIFY(!path.isEmpty());

        QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
        m_window->openPaths({path});
        // While reading, the status bar names the file.
        int namingLabels = 0;
        for (const QLabel* label : m_window->findChildren<QLabel*>()) {
            if (!label->text().contains(QLatin1String("x.pem")))
                continue;
            ++namingLabels;
            QVERIFY2(shownText(label->text(), label->textFormat()).contains(QLatin1String("<i>x.pem")), qPrintable(label->text()));
        }
        // Elided labels (the status line) paint plain text; their tooltip holds all of it.
        for (const ElidedLabel* label : m_window->findChildren<ElidedLabel*>()) {
            if (!label->text().contains(QLatin1String("x.pem")))
                continue;
            ++namingLabels;
            QVERIFY2(label->text().contains(QLatin1String("<i>x.pem")), qPrintable(label->text()));
            QVERIFY2(shownText(label->toolTip()).contains(QLatin1String("<i>x.pem")), qPrintable(label->toolTip()));
        }
        QVERIFY(namingLabels > 0);
        QVERIFY(loaded.wait(20000));

        const BundleListModel* bundles = m_window->bundleModel();
        int row = -1;
        for (int r = 0; r < bundles->rowCount(); ++r)
            if (bundles->index(r, BundleListModel::NameColumn).data().toString().contains(QLatin1String("bold")))
                row = r;
        QVERIFY(row >= 0);
        QCOMPARE(bundles->index(row, BundleListModel::NameColumn).data().toString(), QStringLiteral("<b>bold</b> cn"));
        const QString nameTip = bundles->index(row, BundleListModel::NameColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(shownText(nameTip).contains(QLatin1String("<b>bold</b> cn (serial")), qPrintable(nameTip));
        const QString originTip = bundles->index(row, BundleListModel::OriginColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(shownText(originTip).contains(QLatin1String("<i>x.pem")), qPrintable(originTip));

        QVERIFY(m_window->selectBundleRow(row));
        const FindingListModel* findings = m_window->findingModel();
        QVERIFY(findings->rowCount() > 0);
        for (int r = 0; r < findings->rowCount(); ++r) {
            const QString tip = findings->index(r, 0).data(Qt::ToolTipRole).toString();
            if (tip.contains(QLatin1String("bold")))
                QVERIFY2(shownText(tip).contains(QLatin1String("<b>bold</b>")), qPrintable(tip));
        }

        auto* tree = m_window->details()->findChild<QTreeWidget*>();
        QVERIFY(tree);
        QTreeWidgetItem* certificate = nullptr;
        int fieldTips = 0;
        for (int i = 0; i < tree->topLevelItemCount(); ++i) {
            QTreeWidgetItem* object = tree->topLevelItem(i);
            if (object->text(0).contains(QLatin1String("<b>bold</b>")))
                certificate = object;
            for (int j = 0; j < object->childCount(); ++j) {
                const QString tip = object->child(j)->toolTip(1);
                if (!tip.contains(QLatin1String("bold")))
                    continue;
                ++fieldTips; // the subject (OpenSSL writes it RFC 2253-escaped: "CN=\<b\>bold…")
                QCOMPARE(shownText(tip), object->child(j)->text(1));
            }
        }
        QVERIFY(certificate);
        QVERIFY(fieldTips > 0);
        tree->setCurrentItem(certificate);
        int dumpTitles = 0;
        for (const QLabel* label : m_window->details()->findChildren<QLabel*>()) {
            if (!label->text().contains(QLatin1String("bold")))
                continue;
            ++dumpTitles;
            QVERIFY2(shownText(label->text(), label->textFormat()).contains(QLatin1String("<b>bold</b> cn")), qPrintable(label->text()));
        }
        for (const ElidedLabel* label : m_window->details()->findChildren<ElidedLabel*>()) {
            if (!label->text().contains(QLatin1String("bold")))
                continue;
            ++dumpTitles; // the pane's header and the dump's title
            QVERIFY2(label->text().contains(QLatin1String("<b>bold</b> cn")), qPrintable(label->text()));
            QVERIFY2(shownText(label->toolTip()).contains(QLatin1String("<b>bold</b> cn")), qPrintable(label->toolTip()));
        }
        QVERIFY(dumpTitles >= 2);
    }

private:
    void loadDemo()
    {
        QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
        m_window->openPaths(m_demoPaths);
        QVERIFY(loaded.wait(20000));
    }

    QTemporaryDir m_demoDir;
    QTemporaryDir m_settingsDir;
    QString m_trustAnchor;
    QStringList m_demoPaths;
    int m_counter = 0;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<QAbstractItemModelTester> m_bundleTester, m_findingTester;
};

QTEST_MAIN(TestMainWindow)
#include "tst_gui_mainwindow.moc"
