// TimelineWidget takes plain data: these cases build a Timeline by hand, so a failure here is the
// widget's, never the analysis'.

#include "Certificate.h"
#include "TestClock.h"
#include "TimelineWidget.h"
#include "UiStyle.h"

#include <QApplication>
#include <QKeyEvent>
#include <QSignalSpy>
#include <QTest>
#include <QToolTip>
#include <QWheelEvent>

using namespace staplescope;
using namespace staplescope::ui;
using namespace staplescope::test;

namespace {

TimelineLane lane(const QString& id, LaneKind kind, const QDateTime& start, const QDateTime& end, LaneState state,
                  bool detached = false)
{
    TimelineLane l;
    l.objectId = id;
    l.kind = kind;
    l.label = id;
    l.start = start;
    l.end = end;
    l.state = state;
    l.stateText = laneStateName(state);
    l.detached = detached;
    if (detached)
        l.detachedReason = QStringLiteral("for serial 01 (previous certificate)");
    return l;
}

// Lane order as core builds it: leaf, staples, chain, previous certificates.
Timeline sampleTimeline()
{
    const QDateTime now = fixedNow();
    Timeline t;
    t.at = now;
    t.lanes << lane(QStringLiteral("cert:leaf"), LaneKind::Leaf, daysFrom(now, -2), daysFrom(now, 88), LaneState::Ok);
    t.lanes << lane(QStringLiteral("staple:old"), LaneKind::Staple, hoursFrom(now, -10), daysFrom(now, 6), LaneState::Mismatched, true);
    t.lanes << lane(QStringLiteral("cert:ca"), LaneKind::Intermediate, daysFrom(now, -400), daysFrom(now, 1000), LaneState::Ok);
    t.lanes << lane(QStringLiteral("cert:prev"), LaneKind::PreviousCertificate, daysFrom(now, -60), daysFrom(now, 30), LaneState::Ok);
    t.lanes[3].stateText = QStringLiteral("superseded");
    t.lanes << lane(QStringLiteral("staple:bad"), LaneKind::Staple, {}, {}, LaneState::Invalid);
    return t;
}

QColor pixelAt(const QImage& image, const QPointF& p, qreal dpr)
{
    return image.pixelColor((p * dpr).toPoint());
}

} // namespace

class TestTimelineWidget : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        m_widget = std::make_unique<TimelineWidget>();
        m_widget->resize(1000, 420);
        m_widget->setTimeline(sampleTimeline());
        m_widget->setViewRange(daysFrom(fixedNow(), -20), daysFrom(fixedNow(), 20));
    }
    void cleanup() { m_widget.reset(); }

    void timeComesFromTheClock()
    {
        // Without a timeline there is no evaluation time: "today" is the injected clock's.
        TimelineWidget widget;
        widget.resize(1000, 420);
        widget.setClock(std::make_shared<FixedClock>(daysFrom(fixedNow(), 100)));
        widget.centerOnNow();
        const QDateTime now = daysFrom(fixedNow(), 100);
        QVERIFY(qAbs(widget.viewStart().secsTo(now) - now.secsTo(widget.viewEnd())) <= 2);
        // The evaluation time is labelled "now" when it was the clock's now as the timeline came;
        // painting reads no clock, so moving the clock alone changes nothing on screen.
        const auto clock = std::make_shared<FixedClock>(fixedNow());
        widget.setClock(clock);
        widget.setTimeline(sampleTimeline()); // evaluated at fixedNow()
        const QImage asNow = widget.grab().toImage();
        clock->advance(30 * 86400);
        QCOMPARE(widget.grab().toImage(), asNow);
        widget.setTimeline(sampleTimeline()); // the same moment, now a month ago: "as of"
        QVERIFY(widget.grab().toImage() != asNow);
    }

    void hitTest_data()
    {
        QTest::addColumn<int>("lane");
        QTest::addColumn<double>("daysFromNow");
        QTest::newRow("leaf at now") << 0 << 0.0;
        QTest::newRow("leaf three days later") << 0 << 3.0;
        QTest::newRow("detached staple at its start") << 1 << -10.0 / 24;
        QTest::newRow("intermediate two weeks back") << 2 << -14.0;
        QTest::newRow("previous certificate, far right") << 3 << 19.0;
        QTest::newRow("staple without window") << 4 << 5.0;
    }
    void hitTest()
    {
        QFETCH(int, lane);
        QFETCH(double, daysFromNow);
        const QDateTime time = daysFrom(fixedNow(), daysFromNow);
        const QRectF row = m_widget->laneRect(lane);
        QVERIFY(!row.isNull());
        const QPointF point(m_widget->xForTime(time), row.center().y());
        const TimelineWidget::Hit hit = m_widget->hitTest(point);
        QCOMPARE(hit.lane, lane);
        QVERIFY(hit.time.isValid());
        // One pixel is 40 days / plot width: the time must be within that.
        const qint64 perPixel = m_widget->viewSpanSeconds() / qint64(m_widget->plotRect().width()) + 1;
        QVERIFY2(qAbs(hit.time.secsTo(time)) <= perPixel,
                 qPrintable(QStringLiteral("%1 vs %2").arg(hit.time.toString(Qt::ISODate), time.toString(Qt::ISODate))));
        QCOMPARE(hit.onBar, lane != 4);
    }

    void hitTestOutside()
    {
        const TimelineWidget::Hit above = m_widget->hitTest(QPointF(500, 2));
        QCOMPARE(above.lane, -1);
        const TimelineWidget::Hit labels = m_widget->hitTest(QPointF(5, m_widget->laneRect(0).center().y()));
        QCOMPARE(labels.lane, 0);       // the label column belongs to the lane
        QVERIFY(!labels.time.isValid()); // but has no time
    }

    void detachedStapleSitsApartFromLeaf()
    {
        // Core puts the stale staple right after the leaf; the widget moves it below the chain,
        // beyond a gap, next to the previous certificate it belongs to.
        const QRectF leaf = m_widget->laneRect(0);
        const QRectF ca = m_widget->laneRect(2);
        const QRectF previous = m_widget->laneRect(3);
        const QRectF detached = m_widget->laneRect(1);
        QVERIFY(ca.top() >= leaf.bottom() - 0.5);
        QVERIFY2(previous.top() > ca.bottom() + 4, "a visible gap before what belongs elsewhere");
        QVERIFY(detached.top() >= previous.bottom() - 0.5);
    }

    void replacedStapleSitsBesideItsSuccessor()
    {
        // After a refresh: the new staple, then the one it replaced (core's order), drawn in the
        // leaf's group right below the new one, in neutral grey: history, not a problem.
        const QDateTime now = fixedNow();
        Timeline t;
        t.at = now;
        t.lanes << lane(QStringLiteral("cert:leaf"), LaneKind::Leaf, daysFrom(now, -2), daysFrom(now, 88), LaneState::Ok);
        t.lanes << lane(QStringLiteral("staple:new"), LaneKind::Staple, hoursFrom(now, -1), daysFrom(now, 7), LaneState::Ok);
        t.lanes << lane(QStringLiteral("replaced-staple:old"), LaneKind::ReplacedStaple, daysFrom(now, -10), daysFrom(now, -3),
                        LaneState::Ok);
        t.lanes[2].stateText = QStringLiteral("replaced 2026-06-15 12:00 UTC");
        t.lanes << lane(QStringLiteral("cert:ca"), LaneKind::Intermediate, daysFrom(now, -400), daysFrom(now, 1000), LaneState::Ok);
        m_widget->setTimeline(t);
        m_widget->setViewRange(daysFrom(now, -20), daysFrom(now, 20));
        QCOMPARE(m_widget->laneRect(2).top(), m_widget->laneRect(1).bottom());
        QCOMPARE(m_widget->laneRect(3).top(), m_widget->laneRect(2).bottom());
        m_widget->zoomToFocus(); // frames both staples' windows
        QVERIFY(m_widget->viewStart() <= daysFrom(now, -10));
        QVERIFY(m_widget->viewEnd() >= daysFrom(now, 7));

        m_widget->setViewRange(daysFrom(now, -20), daysFrom(now, 20));
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        const QImage image = m_widget->grab().toImage();
        const QRectF bar = m_widget->barRect(2);
        QVERIFY(!bar.isNull());
        const QColor painted = pixelAt(image, QPointF(bar.left() + bar.width() * 0.85, bar.top() + bar.height() * 0.3),
                                       image.devicePixelRatio());
        // Neutral grey, not the state's green (a pixel may differ by rounding in the blend).
        const QColor grey = m_widget->palette().color(QPalette::Mid);
        QVERIFY2(qAbs(painted.red() - grey.red()) <= 3 && qAbs(painted.green() - grey.green()) <= 3 &&
                     qAbs(painted.blue() - grey.blue()) <= 3,
                 qPrintable(painted.name() + QStringLiteral(" vs ") + grey.name()));
        QVERIFY(painted.name() != laneStateColor(LaneState::Ok, m_widget->palette()).name());
    }

    void rendersLanesWhereTheModelSays()
    {
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        const QImage image = m_widget->grab().toImage();
        const qreal dpr = image.devicePixelRatio();
        const QColor background = m_widget->palette().color(QPalette::Base);
        const Timeline& t = m_widget->timeline();
        for (int i = 0; i < t.lanes.size(); ++i) {
            const TimelineLane& l = t.lanes[i];
            const QRectF bar = m_widget->barRect(i);
            if (!l.start.isValid()) {
                QVERIFY2(bar.isNull(), "a staple without validity window draws no bar");
                continue;
            }
            QVERIFY2(!bar.isNull(), qPrintable(l.objectId));
            // Right part of the bar (the words sit at its left), upper third (markers sit below).
            const QPointF inside(bar.left() + bar.width() * 0.85, bar.top() + bar.height() * 0.3);
            const QColor painted = pixelAt(image, inside, dpr);
            QVERIFY2(painted != background, qPrintable(QStringLiteral("lane %1 not painted").arg(l.objectId)));
            if (l.state == LaneState::Ok && l.kind != LaneKind::PreviousCertificate)
                QCOMPARE(painted.name(), laneStateColor(LaneState::Ok, m_widget->palette()).name());
            // Before the window starts, the row is empty.
            const qreal before = m_widget->xForTime(l.start) - 6;
            if (before > m_widget->plotRect().left() + 2) {
                const QColor empty = pixelAt(image, QPointF(before, inside.y()), dpr);
                QVERIFY2(empty != laneStateColor(l.state, m_widget->palette()), qPrintable(l.objectId));
            }
        }
    }

    void barsFollowTheTimes()
    {
        const QDateTime now = fixedNow();
        const QRectF leafBar = m_widget->barRect(0);
        QVERIFY(qAbs(leafBar.left() - m_widget->xForTime(daysFrom(now, -2))) < 1.0);
        // The leaf runs past the view: clipped at the plot's right edge.
        QVERIFY(qAbs(leafBar.right() - m_widget->plotRect().right()) < 1.0);
        const QRectF staple = m_widget->barRect(1);
        QVERIFY(qAbs(staple.right() - m_widget->xForTime(daysFrom(now, 6))) < 1.0);
    }

    void zoomIsClampedFromHoursToDecades()
    {
        for (int i = 0; i < 60; ++i)
            m_widget->zoomIn();
        QCOMPARE(m_widget->viewSpanSeconds(), TimelineWidget::minimumSpanSeconds);
        for (int i = 0; i < 80; ++i)
            m_widget->zoomOut();
        QCOMPARE(m_widget->viewSpanSeconds(), TimelineWidget::maximumSpanSeconds);
    }

    void wheelZoomKeepsTheTimeUnderThePointer()
    {
        const QPointF pointer(m_widget->xForTime(daysFrom(fixedNow(), 5)), m_widget->laneRect(0).center().y());
        const QDateTime before = m_widget->timeAtX(pointer.x());
        const qint64 span = m_widget->viewSpanSeconds();
        QWheelEvent wheel(pointer, m_widget->mapToGlobal(pointer), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(m_widget.get(), &wheel);
        QVERIFY(m_widget->viewSpanSeconds() < span);
        QVERIFY(qAbs(m_widget->timeAtX(pointer.x()).secsTo(before)) < 60);
    }

    void keyboard()
    {
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        const QDateTime start = m_widget->viewStart();
        QTest::keyClick(m_widget.get(), Qt::Key_Right);
        QVERIFY(m_widget->viewStart() > start);
        QTest::keyClick(m_widget.get(), Qt::Key_Left);
        QVERIFY(qAbs(m_widget->viewStart().secsTo(start)) < 2);
        const qint64 span = m_widget->viewSpanSeconds();
        QTest::keyClick(m_widget.get(), Qt::Key_Plus);
        QVERIFY(m_widget->viewSpanSeconds() < span);
        QTest::keyClick(m_widget.get(), Qt::Key_Home); // fit all: the intermediate's 1400 days
        QVERIFY(m_widget->viewStart() <= daysFrom(fixedNow(), -400));
        QVERIFY(m_widget->viewEnd() >= daysFrom(fixedNow(), 1000));
        QTest::keyClick(m_widget.get(), Qt::Key_T);
        const qint64 offset = m_widget->viewStart().secsTo(fixedNow()) - fixedNow().secsTo(m_widget->viewEnd());
        QVERIFY(qAbs(offset) < 120);
        QSignalSpy activated(m_widget.get(), &TimelineWidget::laneActivated);
        QTest::keyClick(m_widget.get(), Qt::Key_Down);
        QCOMPARE(m_widget->currentLane(), 0); // the first row: the leaf
        QTest::keyClick(m_widget.get(), Qt::Key_Down);
        QCOMPARE(m_widget->currentLane(), 4); // display order: the leaf's own staples hang below it
        QTest::keyClick(m_widget.get(), Qt::Key_Down);
        QCOMPARE(m_widget->currentLane(), 2); // then the chain, before what belongs elsewhere
        QTest::keyClick(m_widget.get(), Qt::Key_Return);
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().first().toInt(), 2);
    }

    void dragPans()
    {
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        const QDateTime start = m_widget->viewStart();
        const QPoint from = m_widget->laneRect(0).center().toPoint();
        QTest::mousePress(m_widget.get(), Qt::LeftButton, Qt::NoModifier, from);
        QMouseEvent move(QEvent::MouseMove, QPointF(from + QPoint(100, 0)), m_widget->mapToGlobal(QPointF(from + QPoint(100, 0))),
                         Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(m_widget.get(), &move);
        QTest::mouseRelease(m_widget.get(), Qt::LeftButton, Qt::NoModifier, from + QPoint(100, 0));
        QVERIFY(m_widget->viewStart() < start); // dragged right: earlier times come into view
    }

    void highlightedLanesPaintDifferently()
    {
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        const QRectF row = m_widget->laneRect(2);
        const QPointF probe(row.left() + 2, row.top() + 2);
        const QColor plain = m_widget->grab().toImage().pixelColor(probe.toPoint());
        m_widget->setHighlightedObjects({QStringLiteral("cert:ca")});
        const QColor highlighted = m_widget->grab().toImage().pixelColor(probe.toPoint());
        QVERIFY(plain != highlighted);
    }

    void tooltipGivesExactTimes()
    {
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        const QRectF bar = m_widget->barRect(0);
        const QPoint pos = bar.center().toPoint();
        QHelpEvent help(QEvent::ToolTip, pos, m_widget->mapToGlobal(pos));
        QApplication::sendEvent(m_widget.get(), &help);
        QTRY_VERIFY(QToolTip::isVisible());
        const QString text = QToolTip::text();
        const TimelineLane& leaf = m_widget->timeline().lanes[0];
        QVERIFY2(text.contains(formatTime(leaf.start)), qPrintable(text));
        QVERIFY2(text.contains(formatTime(leaf.end)), qPrintable(text));
        QVERIFY2(text.contains(formatTime(m_widget->hitTest(pos).time).left(16)), qPrintable(text));
        QToolTip::hideText();
    }

    void axisAdaptsFromHoursToDecades_data()
    {
        QTest::addColumn<double>("spanDays");
        QTest::newRow("six hours") << 0.25;
        QTest::newRow("three days") << 3.0;
        QTest::newRow("two months") << 60.0;
        QTest::newRow("three years") << 3 * 365.0;
        QTest::newRow("forty years") << 40 * 365.0;
    }
    void axisAdaptsFromHoursToDecades()
    {
        QFETCH(double, spanDays);
        m_widget->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_widget.get()));
        m_widget->setViewRange(daysFrom(fixedNow(), -spanDays / 2), daysFrom(fixedNow(), spanDays / 2));
        const QImage image = m_widget->grab().toImage();
        // The leaf is on screen at every zoom (a minimum width keeps short windows visible).
        QVERIFY(!m_widget->barRect(0).isNull());
        QVERIFY(m_widget->barRect(0).width() >= 3.9);
        if (qEnvironmentVariableIsSet("STAPLESCOPE_SAVE_RENDERS"))
            image.save(QStringLiteral("%1/timeline-%2d.png").arg(qEnvironmentVariable("STAPLESCOPE_SAVE_RENDERS")).arg(spanDays));
    }

    void sizeHintFitsTheLanes()
    {
        const QSize hint = m_widget->sizeHint();
        QVERIFY(hint.height() >= m_widget->laneRect(1).bottom());
        QVERIFY(hint.width() > 300);
    }

    void emptyTimeline()
    {
        m_widget->clear();
        QCOMPARE(m_widget->hitTest(QPointF(300, 100)).lane, -1);
        QVERIFY(m_widget->laneRect(0).isNull());
        m_widget->grab(); // paints the placeholder without crashing
    }

private:
    std::unique_ptr<TimelineWidget> m_widget;
};

QTEST_MAIN(TestTimelineWidget)
#include "tst_gui_timelinewidget.moc"
