// Replays every checked-in crashing input (fuzz/regressions/<target>/) and the generated seed
// corpus through the fuzz entry points, in every build: a regression shows up without a fuzzer.
// fuzz/regressions/README.md says which input belongs to which defect.

#include "FuzzTargets.h"

#include <QDir>
#include <QFile>
#include <QtTest>

using namespace staplescope::fuzz;

class TestFuzzRegressions : public QObject {
    Q_OBJECT

private slots:
    void regressions_data();
    void regressions();
    void seeds_data();
    void seeds();
};

namespace {

Entry entryFor(const QString& name)
{
    for (const Target& target : targets())
        if (name == QLatin1String(target.name))
            return target.entry;
    return nullptr;
}

} // namespace

void TestFuzzRegressions::regressions_data()
{
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("path");
    const QDir root(QStringLiteral(STAPLESCOPE_FUZZ_REGRESSIONS));
    int rows = 0;
    for (const Target& target : targets()) {
        const QDir dir(root.filePath(QLatin1String(target.name)));
        for (const QString& file : dir.entryList(QDir::Files | QDir::Hidden, QDir::Name)) {
            QTest::newRow(qPrintable(QStringLiteral("%1/%2").arg(QLatin1String(target.name), file)))
                << QString::fromLatin1(target.name) << dir.filePath(file);
            ++rows;
        }
    }
    if (rows == 0)
        QTest::newRow("none") << QString() << QString();
}

void TestFuzzRegressions::regressions()
{
    QFETCH(QString, target);
    QFETCH(QString, path);
    if (target.isEmpty())
        QSKIP("no regression inputs checked in");
    const Entry entry = entryFor(target);
    QVERIFY2(entry, qPrintable(QStringLiteral("fuzz/regressions/%1 names no fuzz target").arg(target)));
    QFile f(path);
    QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(path));
    // Named before it runs: a crash ends the process before QTest could name the row.
    qInfo("replaying fuzz/regressions/%s/%s", qPrintable(target), qPrintable(QFileInfo(path).fileName()));
    entry(f.readAll()); // passes when it returns: a crash or a sanitizer report ends the test
}

void TestFuzzRegressions::seeds_data()
{
    QTest::addColumn<QString>("target");
    QTest::addColumn<QByteArray>("data");
    for (const Seed& seed : seedCorpus())
        QTest::newRow(qPrintable(QStringLiteral("%1/%2").arg(seed.target, seed.name)))
            << seed.target << seed.data;
}

void TestFuzzRegressions::seeds()
{
    QFETCH(QString, target);
    QFETCH(QByteArray, data);
    const Entry entry = entryFor(target);
    QVERIFY(entry);
    entry(data);
}

QTEST_GUILESS_MAIN(TestFuzzRegressions)
#include "tst_fuzzregressions.moc"
