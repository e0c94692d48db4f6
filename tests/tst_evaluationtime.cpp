// --at as users write it, parsed once in core for both programs; "now" and relative times count
// from the clock given, so a pinned clock pins them.

#include "Clock.h"
#include "EvaluationTime.h"
#include "TestClock.h"

#include <QTest>

using namespace staplescope;
using namespace staplescope::test;

class TestEvaluationTime : public QObject {
    Q_OBJECT

private slots:
    void parse_data();
    void parse();
    void relativeTimesFollowTheClock();
    void fixedClockStandsStill();
};

void TestEvaluationTime::parse_data()
{
    const QDateTime now = fixedNow();
    QTest::addColumn<QString>("text");
    QTest::addColumn<QDateTime>("expected");
    QTest::newRow("date") << QStringLiteral("2026-12-01")
                          << QDateTime(QDate(2026, 12, 1), QTime(0, 0), Qt::UTC);
    QTest::newRow("utc-z") << QStringLiteral("2026-12-01T08:30:00Z")
                           << QDateTime(QDate(2026, 12, 1), QTime(8, 30), Qt::UTC);
    QTest::newRow("no-offset-is-utc")
        << QStringLiteral("2026-12-01T08:30") << QDateTime(QDate(2026, 12, 1), QTime(8, 30), Qt::UTC);
    QTest::newRow("offset") << QStringLiteral("2026-12-01T10:30:00+02:00")
                            << QDateTime(QDate(2026, 12, 1), QTime(8, 30), Qt::UTC);
    QTest::newRow("milliseconds") << QStringLiteral("2026-12-01T08:30:00.250Z")
                                  << QDateTime(QDate(2026, 12, 1), QTime(8, 30, 0, 250), Qt::UTC);
    QTest::newRow("plus-days") << QStringLiteral("+7d") << now.addDays(7);
    QTest::newRow("minus-hours") << QStringLiteral("-36h") << now.addSecs(-36 * 3600);
    QTest::newRow("weeks") << QStringLiteral("+2w") << now.addDays(14);
    QTest::newRow("seconds") << QStringLiteral("-1s") << now.addSecs(-1);
    QTest::newRow("now") << QStringLiteral("now") << now;
    QTest::newRow("now-any-case-and-spaces") << QStringLiteral("  NOW ") << now;
    QTest::newRow("garbage") << QStringLiteral("next tuesday") << QDateTime();
    QTest::newRow("unit-missing") << QStringLiteral("+7") << QDateTime();
    QTest::newRow("unknown-unit") << QStringLiteral("+7y") << QDateTime();
    QTest::newRow("empty") << QString() << QDateTime();
}

void TestEvaluationTime::parse()
{
    QFETCH(QString, text);
    QFETCH(QDateTime, expected);
    const FixedClock clock(fixedNow());
    const auto parsed = parseEvaluationTime(text, clock);
    QCOMPARE(parsed.has_value(), expected.isValid());
    if (parsed) {
        QCOMPARE(*parsed, expected);
        QCOMPARE(parsed->timeSpec(), Qt::UTC);
    }
}

void TestEvaluationTime::relativeTimesFollowTheClock()
{
    FixedClock clock(fixedNow());
    QCOMPARE(parseEvaluationTime(QStringLiteral("+1h"), clock), fixedNow().addSecs(3600));
    clock.advance(86400);
    QCOMPARE(parseEvaluationTime(QStringLiteral("+1h"), clock), fixedNow().addSecs(86400 + 3600));
    QCOMPARE(parseEvaluationTime(QStringLiteral("now"), clock), fixedNow().addDays(1));
    // An absolute time does not depend on the clock at all.
    QCOMPARE(parseEvaluationTime(QStringLiteral("2026-12-01"), clock),
             QDateTime(QDate(2026, 12, 1), QTime(0, 0), Qt::UTC));
}

void TestEvaluationTime::fixedClockStandsStill()
{
    FixedClock clock(fixedNow());
    QCOMPARE(clock.now(), fixedNow());
    QCOMPARE(clock.now().timeSpec(), Qt::UTC);
    clock.setNow(daysFrom(fixedNow(), 30));
    QCOMPARE(clock.now(), daysFrom(fixedNow(), 30));
    // The system clock is UTC and moves.
    const QDateTime wall = Clock::system()->now();
    QCOMPARE(wall.timeSpec(), Qt::UTC);
    QVERIFY(wall.isValid());
}

QTEST_GUILESS_MAIN(TestEvaluationTime)
#include "tst_evaluationtime.moc"
