// Input that is large on purpose (exported stores, CA bundles, folders of thousands of sites) costs
// time and memory linear in its size, and the report grows linearly too: a file of N end-entity
// certificates is N bundles, each with its own handful of findings, never N findings each.
// Times and peak memory are printed, not asserted (tests never assert timings); sizes are asserted.

#include "Inspection.h"
#include "PkiFactory.h"
#include "ReportFormat.h"
#include "TestClock.h"
#include "TestPki.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTest>

#include <sys/resource.h>

using namespace staplescope;
using namespace staplescope::test;

namespace {

qint64 peakResidentKiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// A CA and `count` leaves for different sites, all in one PEM file in the order `layout` asks for.
// One key for every leaf: generating 10,000 keys would measure key generation, not Staplescope.
struct ManyLeaves {
    QByteArray pem;
    int leaves = 0;
};

enum class Layout { CaFirst, CaAfterEachLeaf };

// A root CA valid from `daysBack` days before the fixed time until 1,000 days after it.
IssuedCert makeCa(const PkiFactory& factory, const QString& name, int daysBack)
{
    CertSpec spec;
    spec.commonName = name;
    spec.isCa = true;
    spec.notBefore = daysFrom(fixedNow(), -daysBack);
    spec.notAfter = daysFrom(fixedNow(), 1000);
    return factory.issue(spec);
}

ManyLeaves makeManyLeaves(int count, Layout layout)
{
    const PkiFactory factory;
    const QDateTime now = fixedNow();
    const IssuedCert ca = makeCa(factory, QStringLiteral("Scale CA"), 100);
    CertSpec leafSpec;
    leafSpec.notBefore = daysFrom(now, -10);
    leafSpec.notAfter = daysFrom(now, 80);
    leafSpec.ocspUrls = {QStringLiteral("http://ocsp.example.test")};
    ManyLeaves out;
    out.leaves = count;
    if (layout == Layout::CaFirst)
        out.pem += ca.certPem();
    for (int i = 0; i < count; ++i) {
        leafSpec.commonName = QStringLiteral("site%1.example.test").arg(i);
        leafSpec.dnsNames = {leafSpec.commonName};
        const IssuedCert leaf = factory.issue(leafSpec, &ca);
        if (!leafSpec.reuseKey)
            leafSpec.reuseKey = leaf.key;
        out.pem += leaf.certPem();
        if (layout == Layout::CaAfterEachLeaf)
            out.pem += ca.certPem();
    }
    return out;
}

} // namespace

class TestScale : public QObject {
    Q_OBJECT

private slots:
    void manyLeavesInOneFile_data();
    void manyLeavesInOneFile();
    void sameNamesManyTimes();
};

void TestScale::manyLeavesInOneFile_data()
{
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("layout");
    QTest::newRow("300 leaves after their CA") << 300 << int(Layout::CaFirst);
    QTest::newRow("1000 fullchains concatenated") << 1000 << int(Layout::CaAfterEachLeaf);
    QTest::newRow("10000 leaves after their CA") << 10000 << int(Layout::CaFirst);
}

void TestScale::manyLeavesInOneFile()
{
    QFETCH(int, count);
    QFETCH(int, layout);
    const ManyLeaves input = makeManyLeaves(count, Layout(layout));
    TestFolder folder;
    const QString file = folder.write(QStringLiteral("store.pem"), input.pem);
    // STAPLESCOPE_SCALE_KEEP=DIR keeps a copy, so the openssl reference in docs/performance.md can
    // be timed on the same bytes.
    if (const QString keep = qEnvironmentVariable("STAPLESCOPE_SCALE_KEEP"); !keep.isEmpty())
        QFile::copy(file, QDir(keep).filePath(QStringLiteral("store-%1-%2.pem").arg(count).arg(layout)));

    const qint64 memoryBefore = peakResidentKiB();
    QElapsedTimer timer;
    timer.start();
    const InspectionReport report = inspectPaths({file}, {});
    const qint64 inspectMs = timer.elapsed();
    const qint64 inspectMemory = peakResidentKiB() - memoryBefore;
    const QByteArray json = reportToJsonBytes(report);
    const QString text = reportToText(report, false);
    qInfo("%d leaves in one %lld KiB file: inspected in %lld ms (peak memory +%lld MiB), JSON and text reports in %lld ms "
          "(peak memory +%lld MiB in all); JSON %lld KiB, text %lld KiB",
          count, qint64(input.pem.size() / 1024), inspectMs, inspectMemory / 1024, timer.elapsed() - inspectMs,
          (peakResidentKiB() - memoryBefore) / 1024, qint64(json.size() / 1024), qint64(text.size() / 1024));

    // Each end-entity certificate is its own bundle.
    QCOMPARE(report.bundles.size(), qsizetype(count));
    // None of them is blamed for the others: at most a few findings each, and a report whose size
    // grows with the number of certificates, not with its square.
    qsizetype findings = 0;
    for (const BundleReport& bundle : report.bundles) {
        QVERIFY2(bundle.findings.size() <= 6,
                 qPrintable(QStringLiteral("%1 has %2 findings, first %3")
                                .arg(bundle.bundle.leaf.displayName())
                                .arg(bundle.findings.size())
                                .arg(bundle.findings.value(0).code)));
        findings += bundle.findings.size();
    }
    QVERIFY2(findings <= 4 * qsizetype(count), qPrintable(QString::number(findings)));
    // A generous linear bound: a few KiB of JSON per certificate (each finding's remedy included).
    QVERIFY2(json.size() < 10 * 1024 * qsizetype(count), qPrintable(QString::number(json.size())));
    // Not one "leaf is not first": a file of many certificates is a collection, not one server's file.
    for (const Finding& f : report.allFindings())
        QVERIFY2(f.code != QLatin1String("CHAIN_ORDER"), qPrintable(f.subject + QLatin1String(": ") + f.message));
}

void TestScale::sameNamesManyTimes()
{
    // 2,000 renewals of one name from one CA in one folder: one current certificate, the rest
    // superseded; the current one's timeline shows a bounded number of previous certificates.
    const PkiFactory factory;
    const QDateTime now = fixedNow();
    const IssuedCert ca = makeCa(factory, QStringLiteral("Renewal CA"), 3000);
    CertSpec leafSpec;
    leafSpec.commonName = QStringLiteral("www.example.test");
    leafSpec.dnsNames = {leafSpec.commonName};
    QByteArray pem = ca.certPem();
    const int renewals = 2000;
    for (int i = 0; i < renewals; ++i) {
        leafSpec.notBefore = now.addSecs(-qint64(renewals - i) * 3600);
        leafSpec.notAfter = leafSpec.notBefore.addDays(90);
        const IssuedCert leaf = factory.issue(leafSpec, &ca);
        if (!leafSpec.reuseKey)
            leafSpec.reuseKey = leaf.key;
        pem += leaf.certPem();
    }
    TestFolder folder;
    const QString file = folder.write(QStringLiteral("archive.pem"), pem);
    QElapsedTimer timer;
    timer.start();
    const InspectionReport report = inspectPaths({file}, {});
    qInfo("%d renewals of one name: inspected in %lld ms", renewals, timer.elapsed());
    QCOMPARE(report.bundles.size(), qsizetype(renewals));
    const BundleReport& current = report.bundles.first();
    QVERIFY(!current.bundle.isSuperseded());
    QCOMPARE(current.bundle.previousCertificates.size(), qsizetype(renewals - 1));
    int previousLanes = 0;
    for (const TimelineLane& lane : current.timeline.lanes)
        if (lane.kind == LaneKind::PreviousCertificate)
            ++previousLanes;
    QVERIFY2(previousLanes > 0 && previousLanes <= kPreviousCertificateLanes, qPrintable(QString::number(previousLanes)));
    for (const BundleReport& bundle : report.bundles)
        QVERIFY2(bundle.findings.size() <= 6, qPrintable(bundle.bundle.leaf.displayName()));
    // Every bundle lists its leaf and chain, and the current one its 1,999 predecessors: linear.
    const QByteArray json = reportToJsonBytes(report);
    QVERIFY2(json.size() < 16 * 1024 * qsizetype(renewals), qPrintable(QString::number(json.size())));
}

QTEST_GUILESS_MAIN(TestScale)
#include "tst_scale.moc"
