// The window for many bundles: the list's Location, "Expires in" and "Staple valid for" columns,
// sorting, the filter box, keyboard navigation, the selection kept across re-evaluation, and the
// fleet timeline. The PKI is generated here around the pinned clock; every figure expected is
// what core says about it (the window only presents).

#include "AppSettings.h"
#include "BundleFilterModel.h"
#include "BundleListModel.h"
#include "FindingListModel.h"
#include "FleetTimeline.h"
#include "MainWindow.h"
#include "TestClock.h"
#include "TestPki.h"
#include "TimelineWidget.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTest>
#include <QTreeView>

using namespace staplescope;
using namespace staplescope::ui;
using namespace staplescope::test;

class TestFleet : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void columnsShowCoresFigures();
    void locationShownOnlyWhenNamesRepeat();
    void headerClickSortsByExpiresIn();
    void filterByNameCodeSeverityAndPath();
    void selectionKeptAcrossReevaluation();
    void keyboardMovesThroughTheShownBundles();
    void fleetTimelineLanesAndClick();

private:
    void load(const QStringList& paths);
    // The proxy row (as the list shows it) whose name column reads `name`; -1 when not shown.
    int shownRowNamed(const QString& name, const QString& location = {}) const;
    QString shownName(int proxyRow) const;
    QString shownLeafLabel() const; // the detailed timeline's leaf lane
    QString selectedName() const;

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestFolder> m_sites;
    std::unique_ptr<TestFolder> m_trust;
    std::unique_ptr<TestFolder> m_settingsDir;
    QString m_rootFile;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<QAbstractItemModelTester> m_listTester;
    std::unique_ptr<QAbstractItemModelTester> m_filterTester;
    int m_counter = 0;
};

void TestFleet::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    m_sites = std::make_unique<TestFolder>();
    m_trust = std::make_unique<TestFolder>();
    m_settingsDir = std::make_unique<TestFolder>();
    m_rootFile = m_trust->write(QStringLiteral("root.pem"), m_pki->root.certPem());
    const IssuedCert second = m_pki->issueCa(QStringLiteral("Second Test Intermediate"), &m_pki->root, -365, 1000);
    auto site = [&](const QString& folder, const QString& name, int fromDays, int toDays,
                    const std::optional<std::pair<double, double>>& staple, const IssuedCert* issuer = nullptr) {
        const IssuedCert& ca = issuer ? *issuer : m_pki->intermediate;
        const IssuedCert leaf = m_pki->issueLeaf(
            [&](CertSpec& spec) {
                spec.commonName = name;
                spec.dnsNames = {name};
                spec.notBefore = daysFrom(fixedNow(), fromDays);
                spec.notAfter = daysFrom(fixedNow(), toDays);
            },
            &ca);
        QVERIFY(!m_sites->write(folder + QStringLiteral("/cert.pem"), leaf.certPem() + ca.certPem()).isEmpty());
        if (staple) {
            OcspSpec spec = m_pki->goodStapleSpec();
            spec.thisUpdate = daysFrom(fixedNow(), staple->first);
            spec.nextUpdate = daysFrom(fixedNow(), staple->second);
            QVERIFY(!m_sites->write(folder + QStringLiteral("/ocsp.der"), m_pki->staple(spec, &leaf, &ca)).isEmpty());
        }
    };
    site(QStringLiteral("alpha"), QStringLiteral("alpha.example.test"), -10, 80, std::pair{-1.0, 6.0});
    site(QStringLiteral("bravo"), QStringLiteral("bravo.example.test"), -85, 5, std::nullopt);
    site(QStringLiteral("charlie"), QStringLiteral("charlie.example.test"), -93, -3, std::nullopt);
    site(QStringLiteral("delta"), QStringLiteral("delta.example.test"), -10, 80, std::pair{-8.0, -1.0});
    // The same name twice, from two CAs (so neither supersedes the other).
    site(QStringLiteral("mail1"), QStringLiteral("mail.example.test"), -20, 70, std::nullopt);
    site(QStringLiteral("mail2"), QStringLiteral("mail.example.test"), -30, 60, std::nullopt, &second);
}

void TestFleet::init()
{
    auto settings = std::make_unique<AppSettings>(std::make_unique<QSettings>(
        m_settingsDir->path(QStringLiteral("s%1.ini").arg(++m_counter)), QSettings::IniFormat));
    settings->setExtraTrustAnchors({m_rootFile});
    m_window = std::make_unique<MainWindow>(std::move(settings));
    m_window->setNonInteractive(true);
    m_window->setAsOf(fixedNow());
    m_listTester = std::make_unique<QAbstractItemModelTester>(m_window->bundleModel(),
                                                              QAbstractItemModelTester::FailureReportingMode::QtTest);
    m_filterTester = std::make_unique<QAbstractItemModelTester>(m_window->bundleFilter(),
                                                                QAbstractItemModelTester::FailureReportingMode::QtTest);
    m_window->resize(1400, 900);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestFleet::cleanup()
{
    m_filterTester.reset();
    m_listTester.reset();
    m_window.reset();
}

void TestFleet::load(const QStringList& paths)
{
    QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
    m_window->openPaths(paths);
    QVERIFY(loaded.wait(30000));
    QTRY_VERIFY(!m_window->isEvaluating());
}

int TestFleet::shownRowNamed(const QString& name, const QString& location) const
{
    const QAbstractItemModel* shown = m_window->bundleFilter();
    for (int r = 0; r < shown->rowCount(); ++r)
        if (shown->index(r, BundleListModel::NameColumn).data().toString() == name &&
            (location.isEmpty() || shown->index(r, BundleListModel::OriginColumn).data().toString() == location))
            return r;
    return -1;
}

QString TestFleet::shownName(int proxyRow) const
{
    return m_window->bundleFilter()->index(proxyRow, BundleListModel::NameColumn).data().toString();
}

QString TestFleet::shownLeafLabel() const
{
    const Timeline& t = m_window->timeline()->timeline();
    return t.lanes.isEmpty() ? QString() : t.lanes.first().label;
}

QString TestFleet::selectedName() const
{
    const int row = m_window->currentBundleRow();
    return row < 0 ? QString() : m_window->bundleModel()->index(row, BundleListModel::NameColumn).data().toString();
}

void TestFleet::columnsShowCoresFigures()
{
    load({m_sites->path()});
    const BundleListModel* model = m_window->bundleModel();
    QCOMPARE(model->report().bundles.size(), 6);
    QCOMPARE(model->headerData(BundleListModel::ExpiresColumn, Qt::Horizontal).toString(), QStringLiteral("Expires in"));
    QCOMPARE(model->headerData(BundleListModel::StapleColumn, Qt::Horizontal).toString(), QStringLiteral("Staple valid for"));
    QCOMPARE(model->headerData(BundleListModel::OriginColumn, Qt::Horizontal).toString(), QStringLiteral("Location"));

    struct Expected {
        QString name;
        QString expires;
        qint64 expiresSeconds;
        QString staple;
    };
    const QList<Expected> expected{
        {QStringLiteral("alpha.example.test"), QStringLiteral("80 days"), 80 * 86400LL, QStringLiteral("6 days")},
        {QStringLiteral("bravo.example.test"), QStringLiteral("5 days"), 5 * 86400LL, QStringLiteral("none")},
        {QStringLiteral("charlie.example.test"), QStringLiteral("−3 days"), -3 * 86400LL, QStringLiteral("none")},
        {QStringLiteral("delta.example.test"), QStringLiteral("80 days"), 80 * 86400LL, QStringLiteral("expired")},
    };
    for (const Expected& e : expected) {
        const int row = shownRowNamed(e.name);
        QVERIFY2(row >= 0, qPrintable(e.name));
        const QAbstractItemModel* shown = m_window->bundleFilter();
        QCOMPARE(shown->index(row, BundleListModel::ExpiresColumn).data().toString(), e.expires);
        QCOMPARE(shown->index(row, BundleListModel::ExpiresColumn).data(BundleListModel::SortRole).toLongLong(), e.expiresSeconds);
        QCOMPARE(shown->index(row, BundleListModel::StapleColumn).data().toString(), e.staple);
        // The figure is core's, for the same bundle at the same moment.
        const QString id = shown->index(row, 0).data(BundleListModel::BundleIdRole).toString();
        const BundleReport* b = model->bundleAt(model->rowOfBundle(id));
        QVERIFY(b);
        QCOMPARE(bundleWindows(*b, model->report().at).expiresInSeconds, std::optional<qint64>(e.expiresSeconds));
    }
    // A staple one second from its nextUpdate still counts; the tooltip gives the exact time.
    const int alpha = shownRowNamed(QStringLiteral("alpha.example.test"));
    QCOMPARE(m_window->bundleFilter()->index(alpha, BundleListModel::StapleColumn).data(BundleListModel::SortRole).toLongLong(),
             6 * 86400LL);
    QVERIFY(m_window->bundleFilter()->index(alpha, BundleListModel::ExpiresColumn).data(Qt::ToolTipRole).toString().contains(
        QStringLiteral("in 80 days")));
}

void TestFleet::locationShownOnlyWhenNamesRepeat()
{
    load({m_sites->path()});
    // Two mail.example.test: the Location column tells them apart, relative to the folder opened.
    QVERIFY(!m_window->bundleView()->isColumnHidden(BundleListModel::OriginColumn));
    QVERIFY(shownRowNamed(QStringLiteral("mail.example.test"), QStringLiteral("mail1/cert.pem")) >= 0);
    QVERIFY(shownRowNamed(QStringLiteral("mail.example.test"), QStringLiteral("mail2/cert.pem")) >= 0);
    const int row = shownRowNamed(QStringLiteral("mail.example.test"), QStringLiteral("mail1/cert.pem"));
    QCOMPARE(m_window->bundleFilter()->index(row, BundleListModel::OriginColumn).data(Qt::ToolTipRole).toString().contains(
                 m_sites->path(QStringLiteral("mail1/cert.pem")).toHtmlEscaped()),
             true);

    // Distinct names: hidden, but there.
    load({m_sites->path(QStringLiteral("alpha")), m_sites->path(QStringLiteral("bravo"))});
    QCOMPARE(m_window->bundleModel()->report().bundles.size(), 2);
    QVERIFY(m_window->bundleView()->isColumnHidden(BundleListModel::OriginColumn));
    QCOMPARE(m_window->bundleFilter()->index(shownRowNamed(QStringLiteral("alpha.example.test")), BundleListModel::OriginColumn)
                 .data()
                 .toString(),
             QStringLiteral("alpha/cert.pem"));
}

void TestFleet::headerClickSortsByExpiresIn()
{
    load({m_sites->path()});
    QHeaderView* header = m_window->bundleView()->header();
    QStringList coreOrder;
    for (int r = 0; r < m_window->bundleModel()->rowCount(); ++r)
        coreOrder << m_window->bundleModel()->index(r, BundleListModel::NameColumn).data().toString();
    QStringList shownOrder;
    for (int r = 0; r < m_window->bundleFilter()->rowCount(); ++r)
        shownOrder << shownName(r);
    QCOMPARE(shownOrder, coreOrder); // unsorted: core's worst first

    const QPoint onExpires(header->sectionViewportPosition(BundleListModel::ExpiresColumn) + 8, header->height() / 2);
    QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, onExpires);
    QCOMPARE(header->sortIndicatorSection(), int(BundleListModel::ExpiresColumn));
    QCOMPARE(header->sortIndicatorOrder(), Qt::AscendingOrder);
    // Numerically: −3 days, 5, 60, 70, 80, 80 (not "5 days" after "80 days" as text would).
    QCOMPARE(shownName(0), QStringLiteral("charlie.example.test"));
    QCOMPARE(shownName(1), QStringLiteral("bravo.example.test"));
    QCOMPARE(m_window->bundleFilter()->index(2, BundleListModel::OriginColumn).data().toString(), QStringLiteral("mail2/cert.pem"));
    QCOMPARE(m_window->bundleFilter()->index(3, BundleListModel::OriginColumn).data().toString(), QStringLiteral("mail1/cert.pem"));
    qint64 previous = std::numeric_limits<qint64>::min();
    for (int r = 0; r < m_window->bundleFilter()->rowCount(); ++r) {
        const QVariant v = m_window->bundleFilter()->index(r, BundleListModel::ExpiresColumn).data(BundleListModel::SortRole);
        if (!v.isValid())
            continue; // the row of input findings, last
        QVERIFY(v.toLongLong() >= previous);
        previous = v.toLongLong();
    }

    QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, onExpires);
    QCOMPARE(header->sortIndicatorOrder(), Qt::DescendingOrder);
    QCOMPARE(m_window->bundleFilter()->index(0, BundleListModel::ExpiresColumn).data(BundleListModel::SortRole).toLongLong(),
             80 * 86400LL);
    QCOMPARE(shownName(4), QStringLiteral("bravo.example.test"));

    // Staple valid for: none and expired before the one with six days left.
    m_window->bundleView()->sortByColumn(BundleListModel::StapleColumn, Qt::AscendingOrder);
    const int last = m_window->bundleFilter()->rowCount() - 1;
    int alphaRow = shownRowNamed(QStringLiteral("alpha.example.test"));
    QVERIFY(alphaRow == last || (alphaRow == last - 1 && m_window->bundleModel()->inputsRow() >= 0));
    QVERIFY(shownRowNamed(QStringLiteral("delta.example.test")) > shownRowNamed(QStringLiteral("charlie.example.test")));

    // Back to core's order.
    m_window->bundleView()->sortByColumn(-1, Qt::AscendingOrder);
    shownOrder.clear();
    for (int r = 0; r < m_window->bundleFilter()->rowCount(); ++r)
        shownOrder << shownName(r);
    QCOMPARE(shownOrder, coreOrder);
}

void TestFleet::filterByNameCodeSeverityAndPath()
{
    load({m_sites->path()});
    QLineEdit* filter = m_window->bundleFilterEdit();
    QAction* find = m_window->findChild<QAction*>(QStringLiteral("filterBundlesAction"));
    QVERIFY(find);
    QCOMPARE(find->shortcut(), QKeySequence(QKeySequence::Find));
    m_window->bundleView()->setFocus();
    find->trigger();
    QVERIFY(filter->hasFocus());
    QCOMPARE(m_window->bundleFilterCount()->text(), QStringLiteral("6 bundles"));

    QTest::keyClicks(filter, QStringLiteral("charlie"));
    QCOMPARE(m_window->bundleFilter()->rowCount(), 1);
    QCOMPARE(shownName(0), QStringLiteral("charlie.example.test"));
    QCOMPARE(m_window->bundleFilterCount()->text(), QStringLiteral("1 of 6 bundles"));

    // A finding code, in any case.
    filter->setText(QStringLiteral("staple_expired"));
    QCOMPARE(m_window->bundleFilter()->rowCount(), 1);
    QCOMPARE(shownName(0), QStringLiteral("delta.example.test"));

    // A severity word: every bundle with a critical finding, and only those.
    filter->setText(QStringLiteral("Critical"));
    int critical = 0;
    for (const BundleReport& b : m_window->report().bundles)
        critical += std::any_of(b.findings.cbegin(), b.findings.cend(), [](const Finding& f) { return f.severity == Severity::Critical; });
    QVERIFY(critical >= 1);
    QCOMPARE(m_window->bundleFilter()->shownBundleCount(), critical);
    QVERIFY(shownRowNamed(QStringLiteral("charlie.example.test")) >= 0); // CERT_EXPIRED is critical
    QVERIFY(shownRowNamed(QStringLiteral("alpha.example.test")) < 0);

    // A path below the folder, and two words that must both match.
    filter->setText(QStringLiteral("mail2"));
    QCOMPARE(m_window->bundleFilter()->rowCount(), 1);
    QCOMPARE(m_window->bundleFilter()->index(0, BundleListModel::OriginColumn).data().toString(), QStringLiteral("mail2/cert.pem"));
    filter->setText(QStringLiteral("mail example"));
    QCOMPARE(m_window->bundleFilter()->shownBundleCount(), 2);
    filter->setText(QStringLiteral("mail alpha"));
    QCOMPARE(m_window->bundleFilter()->rowCount(), 0);
    QCOMPARE(m_window->bundleFilterCount()->text(), QStringLiteral("0 of 6 bundles"));

    // Esc clears the filter (and nothing else happens: no work was running to cancel).
    filter->setFocus();
    QTest::keyClick(filter, Qt::Key_Escape);
    QVERIFY(filter->text().isEmpty());
    QCOMPARE(m_window->bundleFilter()->shownBundleCount(), 6);
}

void TestFleet::selectionKeptAcrossReevaluation()
{
    load({m_sites->path()});
    m_window->bundleView()->sortByColumn(BundleListModel::ExpiresColumn, Qt::DescendingOrder);
    m_window->bundleFilterEdit()->setText(QStringLiteral("example"));
    // Select bravo as a user would: click its row.
    const int bravo = shownRowNamed(QStringLiteral("bravo.example.test"));
    QVERIFY(bravo >= 0);
    const QRect rect = m_window->bundleView()->visualRect(m_window->bundleFilter()->index(bravo, BundleListModel::NameColumn));
    QTest::mouseClick(m_window->bundleView()->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(selectedName(), QStringLiteral("bravo.example.test"));
    QCOMPARE(shownLeafLabel(), QStringLiteral("Leaf bravo.example.test"));

    // Ten days later bravo has expired: core re-sorts, the list re-sorts, bravo stays selected.
    QSignalSpy updated(m_window.get(), &MainWindow::reportUpdated);
    m_window->setAsOf(daysFrom(fixedNow(), 10));
    QVERIFY(updated.wait(10000));
    QCOMPARE(m_window->evaluatedAt(), daysFrom(fixedNow(), 10));
    QCOMPARE(selectedName(), QStringLiteral("bravo.example.test"));
    QCOMPARE(shownLeafLabel(), QStringLiteral("Leaf bravo.example.test"));
    const int row = m_window->bundleFilter()->mapFromSource(m_window->bundleModel()->index(m_window->currentBundleRow(), 0)).row();
    QCOMPARE(m_window->bundleView()->selectionModel()->currentIndex().row(), row);
    QCOMPARE(m_window->bundleFilter()->index(row, BundleListModel::ExpiresColumn).data().toString(),
             QStringLiteral("−5 days"));
}

void TestFleet::keyboardMovesThroughTheShownBundles()
{
    load({m_sites->path()});
    m_window->bundleView()->sortByColumn(BundleListModel::ExpiresColumn, Qt::AscendingOrder);
    // Tab from the filter reaches the list.
    m_window->bundleFilterEdit()->setFocus();
    QTest::keyClick(m_window->bundleFilterEdit(), Qt::Key_Tab);
    QCOMPARE(QApplication::focusWidget(), m_window->bundleView());

    QTreeView* view = m_window->bundleView();
    QTest::keyClick(view, Qt::Key_Home);
    QCOMPARE(selectedName(), QStringLiteral("charlie.example.test"));
    QCOMPARE(shownLeafLabel(), QStringLiteral("Leaf charlie.example.test"));
    QTest::keyClick(view, Qt::Key_Down);
    QCOMPARE(selectedName(), QStringLiteral("bravo.example.test")); // the next row as shown, not as core listed it
    QCOMPARE(shownLeafLabel(), QStringLiteral("Leaf bravo.example.test"));
    QVERIFY(m_window->findingModel()->rowCount() > 0);
    QTest::keyClick(view, Qt::Key_PageDown);
    const int last = m_window->bundleFilter()->rowCount() - 1;
    QCOMPARE(view->selectionModel()->currentIndex().row(), last);
    QTest::keyClick(view, Qt::Key_Up);
    QCOMPARE(view->selectionModel()->currentIndex().row(), last - 1);
    QCOMPARE(selectedName(), shownName(last - 1));
}

void TestFleet::fleetTimelineLanesAndClick()
{
    load({m_sites->path()});
    TimelineWidget* timeline = m_window->timeline();
    QVERIFY(!timeline->isFleet()); // a load selects the worst bundle
    m_window->showFleet();
    QVERIFY(m_window->isFleetShown());
    QCOMPARE(m_window->currentBundleRow(), -1);
    QCOMPARE(m_window->findingModel()->rowCount(), 0);
    const FleetTimeline& fleet = timeline->fleet();
    QCOMPARE(fleet.lanes.size(), 6);
    QCOMPARE(fleet.at, fixedNow());
    // Core's order: broken now first (the certificate expired 3 days ago: critical; the staple
    // expired a day ago: error), then the refresh point in 2.5 days, the expiry in 5 days, …
    QCOMPARE(fleet.lanes[0].label, QStringLiteral("charlie.example.test"));
    QCOMPARE(fleet.lanes[1].label, QStringLiteral("delta.example.test"));
    QCOMPARE(fleet.lanes[2].label, QStringLiteral("alpha.example.test"));
    QCOMPARE(fleet.lanes[3].label, QStringLiteral("bravo.example.test"));
    const FleetTimeline fromCore = buildFleetTimeline(m_window->report());
    for (int i = 0; i < fleet.lanes.size(); ++i)
        QCOMPARE(fleet.lanes[i].bundleId, fromCore.lanes[i].bundleId);
    QVERIFY(timeline->fleetLaneRect(0).top() < timeline->fleetLaneRect(1).top());

    // Re-evaluation keeps the fleet, re-ordered for the new moment.
    QSignalSpy updated(m_window.get(), &MainWindow::reportUpdated);
    m_window->setAsOf(daysFrom(fixedNow(), 1));
    QVERIFY(updated.wait(10000));
    QVERIFY(m_window->isFleetShown());
    QCOMPARE(timeline->fleet().at, daysFrom(fixedNow(), 1));
    QCOMPARE(timeline->fleet().lanes.size(), 6);

    // The filter narrows the lanes too.
    m_window->bundleFilterEdit()->setText(QStringLiteral("mail"));
    QVERIFY(m_window->isFleetShown());
    QCOMPARE(timeline->fleet().lanes.size(), 2);
    m_window->bundleFilterEdit()->clear();
    QCOMPARE(timeline->fleet().lanes.size(), 6);

    // A click on a lane shows that bundle: selected in the list, its own timeline.
    const QString clickedId = timeline->fleet().lanes[2].bundleId;
    const QString clickedLabel = timeline->fleet().lanes[2].label;
    const QRectF lane = timeline->fleetLaneRect(2);
    QTest::mouseClick(timeline, Qt::LeftButton, {}, QPoint(int(timeline->plotRect().center().x()), int(lane.center().y())));
    QVERIFY(!timeline->isFleet());
    QCOMPARE(m_window->bundleModel()->index(m_window->currentBundleRow(), 0).data(BundleListModel::BundleIdRole).toString(), clickedId);
    QCOMPARE(shownLeafLabel(), QStringLiteral("Leaf ") + clickedLabel);

    // Back to the fleet, and out of it with the list's keys.
    m_window->showFleet();
    QVERIFY(timeline->isFleet());
    QTest::keyClick(m_window->bundleView(), Qt::Key_Down); // the list's keys leave it again
    QVERIFY(!timeline->isFleet());
    QVERIFY(m_window->currentBundleRow() >= 0);
}

QTEST_MAIN(TestFleet)
#include "tst_gui_fleet.moc"
