#include "TimelineWidget.h"

#include "Certificate.h" // formatTime, formatDuration
#include "UiStyle.h"

#include <QGestureEvent>
#include <QKeyEvent>
#include <QLocale>
#include <QNativeGestureEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPinchGesture>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>

#include <cmath>

namespace staplescope::ui {

namespace {

constexpr qint64 kMinute = 60;
constexpr qint64 kHour = 3600;
constexpr qint64 kDay = 86400;
constexpr double kMonth = 30.436875 * kDay;

// Lanes drawn as context, in neutral grey with their own words: a superseded certificate, a
// staple a refresh replaced.
bool isContextLane(const TimelineLane& lane)
{
    return lane.kind == LaneKind::PreviousCertificate || lane.kind == LaneKind::ReplacedStaple;
}

bool isRenewalLane(const TimelineLane& lane) { return lane.kind == LaneKind::RenewalWindow; }

double secs(const QDateTime& t) { return double(t.toMSecsSinceEpoch()) / 1000.0; }
QDateTime fromSecs(double s) { return QDateTime::fromMSecsSinceEpoch(qint64(std::llround(s * 1000.0)), Qt::UTC); }

// A tick step: either a fixed number of seconds or a number of calendar months.
struct TickStep {
    qint64 seconds = 0;
    int months = 0;
    double approxSeconds() const { return months ? months * kMonth : double(seconds); }
};

const QList<TickStep>& tickSteps()
{
    static const QList<TickStep> steps{
        {15 * kMinute, 0}, {30 * kMinute, 0}, {kHour, 0},     {2 * kHour, 0},  {3 * kHour, 0},  {6 * kHour, 0},
        {12 * kHour, 0},   {kDay, 0},         {2 * kDay, 0},  {7 * kDay, 0},   {0, 1},          {0, 2},
        {0, 3},            {0, 6},            {0, 12},        {0, 24},         {0, 60},         {0, 120},
    };
    return steps;
}

QString tickLabel(const QDateTime& t, const TickStep& step)
{
    const QLocale locale;
    if (step.months >= 12)
        return QString::number(t.date().year());
    if (step.months)
        return locale.toString(t.date(), QStringLiteral("MMM"));
    if (step.seconds >= kDay)
        return locale.toString(t.date(), QStringLiteral("d MMM"));
    if (t.time() == QTime(0, 0))
        return locale.toString(t.date(), QStringLiteral("d MMM"));
    return t.time().toString(QStringLiteral("HH:mm"));
}

QColor withAlpha(QColor c, int alpha)
{
    c.setAlpha(alpha);
    return c;
}

} // namespace

TimelineWidget::TimelineWidget(QWidget* parent) : QWidget(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setAttribute(Qt::WA_AcceptTouchEvents);
    grabGesture(Qt::PinchGesture);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    setAccessibleName(tr("Validity timeline"));
    setWhatsThis(tr("Each lane is one certificate or OCSP staple. Wheel or +/- zooms, dragging or the "
                    "arrow keys pan, Home fits everything, T goes to the evaluation time, Up/Down "
                    "moves between lanes."));
    const double now = secs(m_clock->now());
    setView(now - 7 * kDay, 14 * kDay);
    m_fleetScroll = new QScrollBar(Qt::Vertical, this);
    m_fleetScroll->setObjectName(QStringLiteral("fleetScrollBar"));
    m_fleetScroll->setFocusPolicy(Qt::NoFocus); // the widget's own keys scroll it
    m_fleetScroll->hide();
    connect(m_fleetScroll, &QScrollBar::valueChanged, this, qOverload<>(&QWidget::update));
}

void TimelineWidget::setClock(std::shared_ptr<const Clock> clock)
{
    m_clock = clock ? std::move(clock) : Clock::system();
    m_atIsNow = m_timeline.at.isValid() && qAbs(m_timeline.at.secsTo(m_clock->now())) < 120;
    update();
}

void TimelineWidget::setTimeline(const Timeline& timeline, bool keepView)
{
    m_fleetMode = false;
    m_fleet = {};
    m_currentFleetLane = -1;
    m_fleetScroll->hide();
    m_timeline = timeline;
    m_atIsNow = m_timeline.at.isValid() && qAbs(m_timeline.at.secsTo(m_clock->now())) < 120;
    if (m_currentLane >= m_timeline.lanes.size())
        m_currentLane = -1;
    relayout();
    if (!keepView)
        zoomToFocus();
    updateGeometry();
    update();
    QStringList summary;
    for (const TimelineLane& lane : std::as_const(m_timeline.lanes))
        summary << QStringLiteral("%1: %2").arg(lane.label, laneStateLabel(lane.state));
    setAccessibleDescription(summary.join(QStringLiteral("; ")));
}

void TimelineWidget::clear()
{
    setTimeline({});
}

void TimelineWidget::setHighlightedObjects(const QStringList& objectIds)
{
    if (m_highlighted == objectIds)
        return;
    m_highlighted = objectIds;
    update();
}

QDateTime TimelineWidget::viewStart() const { return fromSecs(m_start); }
QDateTime TimelineWidget::viewEnd() const { return fromSecs(m_start + m_span); }

void TimelineWidget::setViewRange(const QDateTime& start, const QDateTime& end)
{
    if (!start.isValid() || !end.isValid() || end <= start)
        return;
    setView(secs(start), secs(end) - secs(start));
}

void TimelineWidget::setView(double start, double span)
{
    span = std::clamp(span, double(minimumSpanSeconds), double(maximumSpanSeconds));
    if (start == m_start && span == m_span)
        return;
    m_start = start;
    m_span = span;
    update();
    emit viewChanged();
}

// ---- layout -----------------------------------------------------------------------------------

int TimelineWidget::axisHeight() const { return fontMetrics().height() * 2 + 10; }
int TimelineWidget::laneHeight() const { return fontMetrics().height() * 2 + 14; }
int TimelineWidget::sectionGap() const { return fontMetrics().height() + 12; }

int TimelineWidget::labelColumnWidth() const
{
    if (m_fleetMode)
        return qMin(m_fleetLabelWidth, qMax(120, width() * 2 / 5));
    const QFontMetrics fm = fontMetrics();
    int widest = fm.horizontalAdvance(QLatin1Char('M')) * 12;
    for (const TimelineLane& lane : m_timeline.lanes)
        widest = qMax(widest, fm.horizontalAdvance(lane.label) + fm.height() + 16);
    // Never more than a third of the widget: the plot is what matters.
    return qMin(widest, qMax(120, width() / 3));
}

void TimelineWidget::relayout()
{
    // Display order: the leaf, its own staples and its chain first; then, after a visible gap,
    // what belongs to another certificate (previous certificates and the staples detached from
    // the leaf, each staple right below the certificate it names when that one is known).
    m_rows.clear();
    QList<int> main, elsewhere;
    for (int i = 0; i < m_timeline.lanes.size(); ++i) {
        const TimelineLane& lane = m_timeline.lanes[i];
        if (lane.detached || lane.kind == LaneKind::PreviousCertificate)
            continue;
        if (lane.kind == LaneKind::Leaf || lane.kind == LaneKind::Staple || lane.kind == LaneKind::ReplacedStaple ||
            lane.kind == LaneKind::OnlineResponse || lane.kind == LaneKind::Crl || lane.kind == LaneKind::RenewalWindow)
            main << i;
    }
    for (int i = 0; i < m_timeline.lanes.size(); ++i) {
        const TimelineLane& lane = m_timeline.lanes[i];
        if (!lane.detached && (lane.kind == LaneKind::Intermediate || lane.kind == LaneKind::Root))
            main << i;
    }
    for (int i = 0; i < m_timeline.lanes.size(); ++i)
        if (m_timeline.lanes[i].kind == LaneKind::PreviousCertificate)
            elsewhere << i;
    for (int i = 0; i < m_timeline.lanes.size(); ++i)
        if (m_timeline.lanes[i].detached && m_timeline.lanes[i].kind != LaneKind::PreviousCertificate)
            elsewhere << i;

    qreal y = axisHeight();
    for (int lane : std::as_const(main)) {
        m_rows << Row{lane, y, false};
        y += laneHeight();
    }
    bool first = true;
    for (int lane : std::as_const(elsewhere)) {
        if (first)
            y += sectionGap();
        m_rows << Row{lane, y, first};
        first = false;
        y += laneHeight();
    }
}

int TimelineWidget::rowForLane(int lane) const
{
    for (int r = 0; r < m_rows.size(); ++r)
        if (m_rows[r].lane == lane)
            return r;
    return -1;
}

QRectF TimelineWidget::plotRect() const
{
    const qreal left = labelColumnWidth() + 8;
    const qreal scrollBar = m_fleetMode && m_fleetScroll->isVisible() ? m_fleetScroll->width() : 0;
    const qreal bottom = m_fleetMode ? fleetAreaBottom() : height();
    return QRectF(left, axisHeight(), qMax<qreal>(10, width() - left - 12 - scrollBar), qMax<qreal>(0, bottom - axisHeight()));
}

QRectF TimelineWidget::laneRect(int lane) const
{
    const int r = rowForLane(lane);
    if (r < 0)
        return {};
    const QRectF plot = plotRect();
    return QRectF(plot.left(), m_rows[r].top, plot.width(), laneHeight());
}

QRectF TimelineWidget::barRect(int lane) const
{
    const QRectF row = laneRect(lane);
    if (row.isNull())
        return {};
    const TimelineLane& l = m_timeline.lanes[lane];
    if (!l.start.isValid())
        return {};
    const QRectF plot = plotRect();
    const qreal x0 = xForTime(l.start);
    // No nextUpdate: the window is open-ended, drawn to the right edge.
    const qreal x1 = l.end.isValid() ? xForTime(l.end) : plot.right() + 1;
    qreal left = qMax(x0, plot.left());
    qreal right = qMin(x1, plot.right());
    if (x1 < plot.left() || x0 > plot.right())
        return {};
    // A 7-day staple on a 15-year view is under a pixel: keep it visible (and hoverable).
    if (right - left < 4) {
        const qreal mid = (left + right) / 2;
        left = qMax(plot.left(), mid - 2);
        right = qMin(plot.right(), mid + 2);
    }
    const qreal inset = 7;
    return QRectF(left, row.top() + inset, right - left, row.height() - 2 * inset);
}

qreal TimelineWidget::xForTime(const QDateTime& time) const
{
    const QRectF plot = plotRect();
    return plot.left() + (secs(time) - m_start) / m_span * plot.width();
}

QDateTime TimelineWidget::timeAtX(qreal x) const
{
    const QRectF plot = plotRect();
    return fromSecs(m_start + (x - plot.left()) / plot.width() * m_span);
}

TimelineWidget::Hit TimelineWidget::hitTest(const QPointF& pos) const
{
    Hit hit;
    const QRectF plot = plotRect();
    if (pos.x() >= plot.left() && pos.x() <= plot.right() && pos.y() >= 0 && pos.y() <= height())
        hit.time = timeAtX(pos.x());
    if (m_fleetMode) {
        hit.lane = fleetLaneAt(pos);
        return hit;
    }
    for (const Row& row : m_rows) {
        if (pos.y() >= row.top && pos.y() < row.top + laneHeight() && pos.x() >= 0 && pos.x() <= width()) {
            hit.lane = row.lane;
            hit.onBar = barRect(row.lane).contains(pos);
            break;
        }
    }
    return hit;
}

QSize TimelineWidget::sizeHint() const
{
    const int lanes = qMax<qsizetype>(3, m_rows.size());
    const bool hasSection = std::any_of(m_rows.cbegin(), m_rows.cend(), [](const Row& r) { return r.sectionStart; });
    return QSize(fontMetrics().horizontalAdvance(QLatin1Char('M')) * 70,
                 axisHeight() + lanes * laneHeight() + (hasSection ? sectionGap() : 0) + fontMetrics().height() + 20);
}

QSize TimelineWidget::minimumSizeHint() const
{
    return QSize(fontMetrics().horizontalAdvance(QLatin1Char('M')) * 30, axisHeight() + 2 * laneHeight());
}

// ---- view commands ----------------------------------------------------------------------------

void TimelineWidget::frame(double first, double last)
{
    if (last <= first)
        last = first + kDay;
    const double pad = (last - first) * 0.05;
    setView(first - pad, (last - first) + 2 * pad);
}

void TimelineWidget::zoomToFit()
{
    double first = std::numeric_limits<double>::max(), last = std::numeric_limits<double>::lowest();
    auto take = [&](const QDateTime& t) {
        if (t.isValid()) {
            first = std::min(first, secs(t));
            last = std::max(last, secs(t));
        }
    };
    take(m_timeline.at);
    for (const TimelineLane& lane : std::as_const(m_timeline.lanes)) {
        take(lane.start);
        take(lane.end);
    }
    for (const FleetLane& lane : std::as_const(m_fleet.lanes)) {
        take(lane.certificate.start);
        take(lane.certificate.end);
    }
    if (first > last)
        return;
    frame(first, last);
}

void TimelineWidget::zoomToLeaf()
{
    if (m_fleetMode) {
        zoomToFocus(); // every lane is a leaf: what comes next is what matters
        return;
    }
    double first = std::numeric_limits<double>::max(), last = std::numeric_limits<double>::lowest();
    auto take = [&](const QDateTime& t) {
        if (t.isValid()) {
            first = std::min(first, secs(t));
            last = std::max(last, secs(t));
        }
    };
    take(m_timeline.at);
    for (const TimelineLane& lane : std::as_const(m_timeline.lanes)) {
        if (lane.kind == LaneKind::Leaf || lane.kind == LaneKind::Staple || isContextLane(lane) || isRenewalLane(lane)) {
            take(lane.start);
            take(lane.end);
        }
    }
    if (first > last) {
        zoomToFit();
        return;
    }
    frame(first, last);
}

void TimelineWidget::zoomToFocus()
{
    // What an admin looks at first: the staples' windows and the evaluation time, with the leaf's
    // start when it is recent (a renewal) — hours and days readable, not the whole 90 days.
    double first = std::numeric_limits<double>::max(), last = std::numeric_limits<double>::lowest();
    auto take = [&](const QDateTime& t) {
        if (t.isValid()) {
            first = std::min(first, secs(t));
            last = std::max(last, secs(t));
        }
    };
    const QDateTime at = m_timeline.at.isValid() ? m_timeline.at : m_clock->now();
    if (m_fleetMode) {
        // Two weeks back (what just went wrong) to three months ahead: a 90-day certificate's whole
        // future, staple refresh points readable as days.
        frame(secs(at) - 14.0 * kDay, secs(at) + 92.0 * kDay);
        return;
    }
    take(at);
    bool any = false;
    for (const TimelineLane& lane : std::as_const(m_timeline.lanes)) {
        // A replaced staple too: the new window is read against the one it replaced.
        if ((lane.kind == LaneKind::Staple || lane.kind == LaneKind::ReplacedStaple) && lane.start.isValid()) {
            take(lane.start);
            take(lane.end);
            any = true;
        }
        if (lane.kind == LaneKind::Leaf) {
            for (const QDateTime& t : {lane.start, lane.end})
                if (t.isValid() && std::abs(at.secsTo(t)) <= 21 * kDay)
                    take(t);
        }
    }
    if (!any && last - first < kDay) {
        zoomToLeaf();
        return;
    }
    // At least a week, so the context around a short staple is visible.
    if (last - first < 7 * kDay) {
        const double mid = (first + last) / 2;
        first = mid - 3.5 * kDay;
        last = mid + 3.5 * kDay;
    }
    frame(first, last);
}

void TimelineWidget::centerOnNow()
{
    const QDateTime at = m_timeline.at.isValid() ? m_timeline.at : m_clock->now();
    setView(secs(at) - m_span / 2, m_span);
}

void TimelineWidget::zoomIn() { zoomBy(1.0 / 1.5, plotRect().center().x()); }
void TimelineWidget::zoomOut() { zoomBy(1.5, plotRect().center().x()); }

void TimelineWidget::zoomBy(double factor, qreal anchorX)
{
    const QRectF plot = plotRect();
    const double anchorT = m_start + (anchorX - plot.left()) / plot.width() * m_span;
    const double span = std::clamp(m_span * factor, double(minimumSpanSeconds), double(maximumSpanSeconds));
    // Keep the time under the anchor (the mouse) where it is.
    const double start = anchorT - (anchorX - plot.left()) / plot.width() * span;
    setView(start, span);
}

void TimelineWidget::panByPixels(qreal dx)
{
    setView(m_start - dx / plotRect().width() * m_span, m_span);
}

void TimelineWidget::setCurrentLane(int lane)
{
    if (lane < -1 || lane >= m_timeline.lanes.size() || lane == m_currentLane)
        return;
    m_currentLane = lane;
    update();
    emit currentLaneChanged(lane);
}

// ---- input ------------------------------------------------------------------------------------

void TimelineWidget::wheelEvent(QWheelEvent* event)
{
    const QPoint angle = event->angleDelta();
    const QPoint pixels = event->pixelDelta();
    // Horizontal scrolling (trackpads, Shift+wheel) pans; vertical zooms around the pointer.
    // The fleet view scrolls its lanes with the wheel and zooms with Ctrl held.
    if (m_fleetMode && angle.x() == 0 && !(event->modifiers() & (Qt::ShiftModifier | Qt::ControlModifier))) {
        const int dy = pixels.y() != 0 ? pixels.y() : angle.y() * fleetLaneHeight() * 3 / 120;
        m_fleetScroll->setValue(m_fleetScroll->value() - dy);
    } else if (angle.x() != 0 || (event->modifiers() & Qt::ShiftModifier)) {
        const int delta = angle.x() != 0 ? angle.x() : angle.y();
        panByPixels(pixels.x() != 0 ? pixels.x() : delta / 2.0);
    } else if (angle.y() != 0) {
        zoomBy(std::pow(1.0015, -angle.y()), event->position().x());
    }
    event->accept();
}

void TimelineWidget::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton) {
        m_dragging = true;
        m_dragOrigin = event->position();
        m_dragStart = m_start;
        const Hit hit = hitTest(event->position());
        if (m_fleetMode && hit.lane >= 0)
            setCurrentFleetLane(hit.lane);
        else if (hit.lane >= 0)
            setCurrentLane(hit.lane);
    }
    QWidget::mousePressEvent(event);
}

void TimelineWidget::mouseMoveEvent(QMouseEvent* event)
{
    if (m_dragging && (event->buttons() & Qt::LeftButton)) {
        const qreal dx = event->position().x() - m_dragOrigin.x();
        if (std::abs(dx) > 2) {
            setCursor(Qt::ClosedHandCursor);
            setView(m_dragStart - dx / plotRect().width() * m_span, m_span);
        }
    }
    QWidget::mouseMoveEvent(event);
}

void TimelineWidget::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton && m_dragging) {
        m_dragging = false;
        unsetCursor();
        if (std::abs(event->position().x() - m_dragOrigin.x()) <= 2) {
            const Hit hit = hitTest(event->position());
            if (m_fleetMode && hit.lane >= 0)
                emit fleetLaneActivated(m_fleet.lanes[hit.lane].bundleId);
            else if (hit.lane >= 0)
                emit laneActivated(hit.lane);
        }
    }
    QWidget::mouseReleaseEvent(event);
}

void TimelineWidget::mouseDoubleClickEvent(QMouseEvent* event)
{
    // Double-click zooms in around the point; with Shift, out.
    zoomBy((event->modifiers() & Qt::ShiftModifier) ? 2.0 : 0.5, event->position().x());
}

void TimelineWidget::keyPressEvent(QKeyEvent* event)
{
    const qreal page = plotRect().width();
    const bool shift = event->modifiers() & Qt::ShiftModifier;
    if (m_fleetMode && !m_fleet.lanes.isEmpty()) {
        const int pageLanes = qMax(1, int((fleetAreaBottom() - axisHeight()) / fleetLaneHeight()) - 1);
        const int last = int(m_fleet.lanes.size()) - 1;
        const int current = m_currentFleetLane;
        switch (event->key()) {
        case Qt::Key_Up: setCurrentFleetLane(current < 0 ? 0 : qMax(0, current - 1)); event->accept(); return;
        case Qt::Key_Down: setCurrentFleetLane(current < 0 ? 0 : qMin(last, current + 1)); event->accept(); return;
        case Qt::Key_PageUp: setCurrentFleetLane(qMax(0, current - pageLanes)); event->accept(); return;
        case Qt::Key_PageDown: setCurrentFleetLane(qMin(last, qMax(0, current) + pageLanes)); event->accept(); return;
        case Qt::Key_Return:
        case Qt::Key_Enter:
        case Qt::Key_Space:
            if (current >= 0)
                emit fleetLaneActivated(m_fleet.lanes[current].bundleId);
            event->accept();
            return;
        default: break;
        }
    }
    switch (event->key()) {
    case Qt::Key_Left: panByPixels(shift ? page * 0.8 : page / 8); break;
    case Qt::Key_Right: panByPixels(shift ? -page * 0.8 : -page / 8); break;
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomIn(); break;
    case Qt::Key_Minus:
    case Qt::Key_Underscore: zoomOut(); break;
    case Qt::Key_Home: zoomToFit(); break;
    case Qt::Key_L: zoomToLeaf(); break;
    case Qt::Key_F: zoomToFocus(); break;
    case Qt::Key_End:
    case Qt::Key_T: centerOnNow(); break;
    case Qt::Key_Up:
    case Qt::Key_Down: {
        if (m_rows.isEmpty())
            break;
        int r = rowForLane(m_currentLane);
        r = r < 0 ? 0 : std::clamp(r + (event->key() == Qt::Key_Up ? -1 : 1), 0, int(m_rows.size()) - 1);
        setCurrentLane(m_rows[r].lane);
        break;
    }
    case Qt::Key_Return:
    case Qt::Key_Enter:
    case Qt::Key_Space:
        if (m_currentLane >= 0)
            emit laneActivated(m_currentLane);
        break;
    default: QWidget::keyPressEvent(event); return;
    }
    event->accept();
}

bool TimelineWidget::event(QEvent* event)
{
    switch (event->type()) {
    case QEvent::ToolTip: {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString text = tooltipFor(help->pos());
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, this);
        return true;
    }
    case QEvent::NativeGesture: {
        // Trackpad pinch (macOS, Wayland, X11 with libinput): value is the relative change.
        auto* gesture = static_cast<QNativeGestureEvent*>(event);
        if (gesture->gestureType() == Qt::ZoomNativeGesture) {
            zoomBy(1.0 / (1.0 + gesture->value()), mapFromGlobal(gesture->globalPosition().toPoint()).x());
            return true;
        }
        break;
    }
    case QEvent::Gesture: {
        // Touchscreen pinch.
        auto* gestureEvent = static_cast<QGestureEvent*>(event);
        if (auto* pinch = static_cast<QPinchGesture*>(gestureEvent->gesture(Qt::PinchGesture))) {
            if (pinch->changeFlags() & QPinchGesture::ScaleFactorChanged && pinch->scaleFactor() > 0)
                zoomBy(1.0 / pinch->scaleFactor(), mapFromGlobal(pinch->centerPoint().toPoint()).x());
            gestureEvent->accept(pinch);
            return true;
        }
        break;
    }
    default: break;
    }
    return QWidget::event(event);
}

void TimelineWidget::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    relayout();
    updateFleetScroll();
}

void TimelineWidget::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::FontChange || event->type() == QEvent::StyleChange) {
        relayout();
        updateGeometry();
    }
    if (event->type() == QEvent::PaletteChange)
        update();
    QWidget::changeEvent(event);
}

QString TimelineWidget::tooltipFor(const QPoint& pos) const
{
    const Hit hit = hitTest(pos);
    if (m_fleetMode && hit.lane >= 0)
        return fleetTooltip(hit.lane, hit.time);
    if (hit.lane < 0) {
        if (hit.time.isValid())
            return tr("<b>%1</b>").arg(formatTime(hit.time).toHtmlEscaped());
        return {};
    }
    const TimelineLane& lane = m_timeline.lanes[hit.lane];
    QStringList lines;
    lines << QStringLiteral("<b>%1</b> — %2").arg(lane.label.toHtmlEscaped(), laneStateLabel(lane.state).toHtmlEscaped());
    if (lane.detached)
        lines << tr("<b>Not for this certificate:</b> %1").arg(lane.detachedReason.toHtmlEscaped());
    if (!lane.detail.isEmpty())
        lines << lane.detail.toHtmlEscaped().replace(QLatin1Char('\n'), QLatin1String("<br>"));
    const bool staple = lane.kind == LaneKind::Staple || lane.kind == LaneKind::ReplacedStaple;
    if (isRenewalLane(lane)) {
        // The CA's suggestion, not a validity window: say so in its own words.
        // Its detail (below) gives the window, the CA's explanation URL and where it was asked.
        lines << tr("The CA suggests renewing in this window (ACME Renewal Information): %1").arg(lane.stateText.toHtmlEscaped());
        if (lane.start.isValid())
            lines << tr("from: %1").arg(formatTime(lane.start).toHtmlEscaped());
        if (lane.end.isValid())
            lines << tr("until: %1").arg(formatTime(lane.end).toHtmlEscaped());
    } else {
        if (lane.start.isValid())
            lines << (staple ? tr("thisUpdate: %1") : tr("notBefore: %1")).arg(formatTime(lane.start).toHtmlEscaped());
        if (lane.end.isValid())
            lines << (staple ? tr("nextUpdate: %1") : tr("notAfter: %1")).arg(formatTime(lane.end).toHtmlEscaped());
        else if (lane.start.isValid())
            lines << tr("no nextUpdate: open-ended");
    }

    if (lane.marker.isValid())
        lines << tr("%1: %2").arg(lane.markerLabel.toHtmlEscaped(), formatTime(lane.marker).toHtmlEscaped());
    if (hit.time.isValid()) {
        QString relation;
        if (lane.start.isValid() && hit.time < lane.start)
            relation = tr("%1 before it starts").arg(formatDuration(hit.time.secsTo(lane.start)));
        else if (lane.end.isValid() && hit.time > lane.end)
            relation = tr("%1 after it ends").arg(formatDuration(lane.end.secsTo(hit.time)));
        else if (lane.end.isValid())
            relation = tr("%1 left").arg(formatDuration(hit.time.secsTo(lane.end)));
        lines << QStringLiteral("<hr>") + tr("Pointer: %1").arg(formatTime(hit.time).toHtmlEscaped()) +
                     (relation.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(relation.toHtmlEscaped()));
    }
    return QStringLiteral("<p style='white-space:pre'>%1</p>").arg(lines.join(QLatin1String("<br>")));
}

// ---- painting ---------------------------------------------------------------------------------

void TimelineWidget::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    const QRectF plot = plotRect();

    if (m_fleetMode) {
        paintFleet(p);
        return;
    }
    if (m_timeline.lanes.isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Select a bundle to see the validity windows of its certificates and staples."));
        return;
    }

    // Label column background and alternating row stripes.
    p.fillRect(QRectF(0, 0, plot.left() - 4, height()), pal.color(QPalette::Window));
    for (int r = 0; r < m_rows.size(); ++r)
        if (r % 2)
            p.fillRect(QRectF(plot.left(), m_rows[r].top, plot.width(), laneHeight()),
                       withAlpha(pal.color(QPalette::AlternateBase), 160));

    paintAxis(p, plot);
    for (const Row& row : std::as_const(m_rows))
        paintLane(p, row, plot);
    paintNowLine(p, plot);
    paintLabels(p, plot);
    paintLegend(p);

    if (hasFocus()) {
        QPen focusPen(pal.color(QPalette::Highlight), 2);
        p.setPen(focusPen);
        p.setBrush(Qt::NoBrush);
        p.drawRect(QRectF(rect()).adjusted(1, 1, -1, -1));
    }
}

void TimelineWidget::paintAxis(QPainter& p, const QRectF& plot)
{
    const QPalette pal = palette();
    const QFontMetrics fm = fontMetrics();
    const double pxPerSec = plot.width() / m_span;
    const int minSpacing = fm.horizontalAdvance(QStringLiteral("00 MMM")) + 24;
    TickStep step = tickSteps().last();
    for (const TickStep& s : tickSteps())
        if (s.approxSeconds() * pxPerSec >= minSpacing) {
            step = s;
            break;
        }

    const double end = m_start + m_span;
    QList<double> ticks;
    if (step.months) {
        const QDate d = fromSecs(m_start).date();
        int monthIndex = d.year() * 12 + (d.month() - 1);
        monthIndex -= monthIndex % step.months;
        for (int i = 0; i < 2000; ++i, monthIndex += step.months) {
            const double t = secs(QDateTime(QDate(monthIndex / 12, monthIndex % 12 + 1, 1), QTime(0, 0), Qt::UTC));
            if (t > end)
                break;
            ticks << t;
        }
    } else {
        // Weeks start on Monday: the epoch was a Thursday, 1970-01-05 a Monday.
        const double offset = step.seconds == 7 * kDay ? 4.0 * kDay : 0.0;
        double t = std::floor((m_start - offset) / double(step.seconds)) * double(step.seconds) + offset;
        for (int i = 0; i < 2000 && t <= end; ++i, t += double(step.seconds))
            ticks << t;
    }

    const qreal labelY = fm.height() + 6;
    p.setFont(font());
    // Tick labels give way to the "now"/"as of" tag drawn over them.
    QRectF nowTag;
    if (m_timeline.at.isValid()) {
        const qreal nx = xForTime(m_timeline.at);
        const qreal w = fm.horizontalAdvance(tr("as of")) + 14;
        nowTag = QRectF(nx - w / 2, labelY, w, fm.height() + 2);
    }
    for (double t : std::as_const(ticks)) {
        const qreal x = plot.left() + (t - m_start) * pxPerSec;
        if (x < plot.left() - 1 || x > plot.right() + 1)
            continue;
        p.setPen(QPen(withAlpha(pal.color(QPalette::Text), 28), 1));
        p.drawLine(QPointF(x, plot.top()), QPointF(x, rowsBottom()));
        p.setPen(withAlpha(pal.color(QPalette::Text), 110));
        p.drawLine(QPointF(x, plot.top() - 4), QPointF(x, plot.top()));
        p.setPen(pal.color(QPalette::Text));
        const QString label = tickLabel(fromSecs(t), step);
        const qreal w = fm.horizontalAdvance(label);
        const QRectF labelRect(x + 3, labelY, w, fm.height());
        if (x + 3 + w <= plot.right() + 8 && !labelRect.intersects(nowTag))
            p.drawText(QPointF(x + 3, labelY + fm.ascent()), label);
    }

    // Context row above the ticks: the day for hour ticks, month for day ticks, year for months.
    enum class Unit { None, Day, Month, Year } unit = Unit::None;
    if (!step.months && step.seconds < kDay)
        unit = Unit::Day;
    else if (!step.months)
        unit = Unit::Month;
    else if (step.months < 12)
        unit = Unit::Year;
    QList<std::pair<double, QString>> contexts;
    const QLocale locale;
    if (unit == Unit::Day) {
        QDateTime d(fromSecs(m_start).date(), QTime(0, 0), Qt::UTC);
        for (int i = 0; i < 400 && secs(d) <= end; ++i, d = d.addDays(1))
            contexts << std::pair{secs(d), locale.toString(d.date(), QStringLiteral("ddd d MMM yyyy"))};
    } else if (unit == Unit::Month) {
        const QDate s = fromSecs(m_start).date();
        QDateTime d(QDate(s.year(), s.month(), 1), QTime(0, 0), Qt::UTC);
        for (int i = 0; i < 400 && secs(d) <= end; ++i, d = d.addMonths(1))
            contexts << std::pair{secs(d), locale.toString(d.date(), QStringLiteral("MMMM yyyy"))};
    } else if (unit == Unit::Year) {
        QDateTime d(QDate(fromSecs(m_start).date().year(), 1, 1), QTime(0, 0), Qt::UTC);
        for (int i = 0; i < 200 && secs(d) <= end; ++i, d = d.addYears(1))
            contexts << std::pair{secs(d), QString::number(d.date().year())};
    }
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    const QFontMetrics bfm(bold);
    for (int i = 0; i < contexts.size(); ++i) {
        qreal x = plot.left() + (contexts[i].first - m_start) * pxPerSec;
        const qreal nextX = i + 1 < contexts.size() ? plot.left() + (contexts[i + 1].first - m_start) * pxPerSec : plot.right();
        // The first label sticks to the left edge so the context is always visible.
        x = qMax(x, plot.left());
        const qreal w = bfm.horizontalAdvance(contexts[i].second);
        if (x > plot.right() || x + w + 6 > nextX)
            continue;
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QPointF(x + 3, 3 + bfm.ascent()), contexts[i].second);
    }
    p.setFont(font());
    // Corner: all times are UTC, as in every report.
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRectF(8, 0, plot.left() - 16, axisHeight()), Qt::AlignLeft | Qt::AlignVCenter, tr("Times in UTC"));
    p.setPen(withAlpha(pal.color(QPalette::Text), 90));
    p.drawLine(QPointF(0, plot.top()), QPointF(width(), plot.top()));
}

void TimelineWidget::paintLane(QPainter& p, const Row& row, const QRectF& plot)
{
    const QPalette pal = palette();
    const TimelineLane& lane = m_timeline.lanes[row.lane];
    const QRectF rowRect(plot.left(), row.top, plot.width(), laneHeight());
    const bool highlighted = !m_highlighted.isEmpty() && m_highlighted.contains(lane.objectId);
    const bool dimmed = !m_highlighted.isEmpty() && !highlighted;

    if (row.sectionStart) {
        // The gap that sets apart what belongs to another certificate.
        const qreal gapTop = row.top - sectionGap();
        p.setPen(QPen(withAlpha(pal.color(QPalette::Text), 120), 1, Qt::DashLine));
        p.drawLine(QPointF(0, gapTop + sectionGap() / 2.0), QPointF(width(), gapTop + sectionGap() / 2.0));
        const QString heading = tr("Not part of this certificate's chain:");
        const QRectF textRect(8, gapTop, fontMetrics().horizontalAdvance(heading) + 12, sectionGap());
        p.fillRect(textRect, pal.color(QPalette::Window));
        p.setPen(pal.color(QPalette::Text));
        p.drawText(textRect.adjusted(4, 0, 0, 0), Qt::AlignVCenter | Qt::AlignLeft, heading);
    }
    if (highlighted)
        p.fillRect(QRectF(0, row.top, width(), laneHeight()), withAlpha(pal.color(QPalette::Highlight), 55));

    const QRectF bar = barRect(row.lane);
    if (bar.isNull()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        QString note;
        if (!lane.start.isValid())
            note = tr("no validity window (%1)").arg(laneStateLabel(lane.state));
        else if (lane.end.isValid() && xForTime(lane.end) < plot.left())
            note = tr("◂ ended %1").arg(formatTime(lane.end));
        else
            note = tr("starts %1 ▸").arg(formatTime(lane.start));
        const Qt::Alignment align =
            (lane.start.isValid() && (!lane.end.isValid() || xForTime(lane.end) >= plot.left())) ? Qt::AlignRight : Qt::AlignLeft;
        p.drawText(rowRect.adjusted(8, 0, -8, 0), align | Qt::AlignVCenter, note);
        return;
    }

    QColor fill = laneStateColor(lane.state, pal);
    if (isContextLane(lane))
        fill = pal.color(QPalette::Mid); // superseded or replaced: neutral, it is context, not a problem
    if (isRenewalLane(lane))
        fill = renewalWindowColor(pal); // a suggestion, not a validity window: its own colour
    if (dimmed)
        fill = withAlpha(fill, 110);
    if (lane.detached)
        fill = withAlpha(fill, dimmed ? 70 : 150);

    const bool clippedLeft = xForTime(lane.start) < plot.left();
    const bool clippedRight = !lane.end.isValid() || xForTime(lane.end) > plot.right();
    const qreal radius = 4;
    QPainterPath path;
    path.addRoundedRect(bar, radius, radius);
    // Square ends where the window continues beyond the view.
    if (clippedLeft)
        path = path.united([&] { QPainterPath q; q.addRect(bar.adjusted(0, 0, -bar.width() / 2, 0)); return q; }());
    if (clippedRight)
        path = path.united([&] { QPainterPath q; q.addRect(bar.adjusted(bar.width() / 2, 0, 0, 0)); return q; }());

    p.setPen(Qt::NoPen);
    if (!lane.end.isValid()) {
        // Open-ended (no nextUpdate): fade out to the right.
        QLinearGradient g(bar.topLeft(), bar.topRight());
        g.setColorAt(0, fill);
        g.setColorAt(1, withAlpha(fill, 40));
        p.setBrush(g);
    } else {
        p.setBrush(fill);
    }
    p.drawPath(path);

    // Second channel: a hatching per state, in the bar's contrasting colour.
    const Qt::BrushStyle pattern = laneStatePattern(lane.state);
    if (pattern != Qt::NoBrush && !isContextLane(lane)) {
        QBrush hatch(withAlpha(textOn(fill), 120), pattern);
        p.setBrush(hatch);
        p.drawPath(path);
    }

    // Marker: the expiry-warning threshold (certificates) or the refresh point (staples).
    if (lane.marker.isValid()) {
        const qreal mx = xForTime(lane.marker);
        const qreal endX = lane.end.isValid() ? qMin(xForTime(lane.end), bar.right()) : bar.right();
        if (mx >= bar.left() - 0.5 && mx <= bar.right() + 0.5) {
            const QColor markColor = isDarkPalette(pal) ? QColor(0xff, 0xd5, 0x4f) : QColor(0x5d, 0x40, 0x00);
            if (lane.kind != LaneKind::Staple && endX > mx) {
                // The warning window: a band along the bottom of the bar up to notAfter.
                const QRectF band(mx, bar.bottom() - 5, endX - mx, 5);
                p.fillRect(band, QBrush(markColor, Qt::SolidPattern));
            }
            p.setPen(QPen(markColor, 2));
            p.drawLine(QPointF(mx, bar.top() - 5), QPointF(mx, bar.bottom() + 3));
            QPolygonF tri{QPointF(mx - 5, bar.top() - 7), QPointF(mx + 5, bar.top() - 7), QPointF(mx, bar.top() - 1)};
            p.setBrush(markColor);
            p.setPen(Qt::NoPen);
            p.drawPolygon(tri);
        }
    }

    // Outline: dashed for a detached staple, bold for the highlighted ones.
    QPen outline(laneStateColor(lane.state, pal).darker(isDarkPalette(pal) ? 100 : 130), 1);
    if (lane.detached) {
        outline = QPen(laneStateColor(lane.state, pal), 2, Qt::DashLine);
    }
    if (isRenewalLane(lane))
        outline = QPen(renewalWindowColor(pal).darker(isDarkPalette(pal) ? 100 : 140), 2, Qt::DotLine);
    if (highlighted)
        outline = QPen(pal.color(QPalette::Highlight), 3, lane.detached ? Qt::DashLine : Qt::SolidLine);
    if (row.lane == m_currentLane && hasFocus())
        outline = QPen(pal.color(QPalette::Text), 2, Qt::DotLine);
    p.setPen(outline);
    p.setBrush(Qt::NoBrush);
    p.drawPath(path);

    // Words in the bar: state and length, or why it is detached.
    QString text = isContextLane(lane) ? lane.stateText : laneStateLabel(lane.state);
    if (isRenewalLane(lane))
        text = lane.stateText; // core's words: "upcoming", "open: renew now", "early: …"
    if (lane.detached && !lane.detachedReason.isEmpty())
        text = tr("%1: %2").arg(laneStateLabel(lane.state), lane.detachedReason);
    else if (lane.start.isValid() && lane.end.isValid())
        text += QStringLiteral(" · ") + formatDuration(lane.start.secsTo(lane.end));
    const QFontMetrics fm = fontMetrics();
    const QString elided = fm.elidedText(text, Qt::ElideRight, int(bar.width() - 12));
    if (elided.size() > 3 && elided != QStringLiteral("…")) {
        const qreal tw = fm.horizontalAdvance(elided) + 8;
        const QRectF pill(bar.left() + 4, bar.center().y() - fm.height() / 2.0 - 1, tw, fm.height() + 2);
        const QColor solid = isContextLane(lane)   ? pal.color(QPalette::Mid)
                             : isRenewalLane(lane) ? renewalWindowColor(pal)
                                                   : laneStateColor(lane.state, pal);
        p.setPen(Qt::NoPen);
        p.setBrush(withAlpha(solid, dimmed ? 150 : 235));
        p.drawRoundedRect(pill, 3, 3);
        p.setPen(textOn(solid));
        p.drawText(pill, Qt::AlignCenter, elided);
    }
}

void TimelineWidget::paintNowLine(QPainter& p, const QRectF& plot)
{
    if (!m_timeline.at.isValid())
        return;
    const qreal x = xForTime(m_timeline.at);
    if (x < plot.left() || x > plot.right())
        return;
    const QPalette pal = palette();
    const QColor c = isDarkPalette(pal) ? QColor(0x4f, 0xc3, 0xf7) : QColor(0x0d, 0x47, 0xa1);
    p.setPen(QPen(c, 2));
    p.drawLine(QPointF(x, plot.top() - 2), QPointF(x, rowsBottom()));
    const QString label = m_atIsNow ? tr("now") : tr("as of");
    const QFontMetrics fm = fontMetrics();
    const qreal w = fm.horizontalAdvance(label) + 10;
    QRectF tag(x - w / 2, plot.top() - fm.height() - 4, w, fm.height() + 2);
    tag.moveLeft(std::clamp(tag.left(), plot.left(), plot.right() - w));
    p.setPen(Qt::NoPen);
    p.setBrush(c);
    p.drawRoundedRect(tag, 3, 3);
    p.setPen(textOn(c));
    p.drawText(tag, Qt::AlignCenter, label);
}

qreal TimelineWidget::rowsBottom() const
{
    if (m_fleetMode)
        return qMin(fleetAreaBottom(), axisHeight() + qreal(m_fleet.lanes.size()) * fleetLaneHeight() - m_fleetScroll->value());
    return m_rows.isEmpty() ? axisHeight() : m_rows.last().top + laneHeight();
}

void TimelineWidget::paintLegend(QPainter& p)
{
    // A key for what is on screen: each state present (swatch with its hatching, and its word),
    // then the markers. Colour is never the only channel, so the key names the patterns too.
    const QPalette pal = palette();
    const QFontMetrics fm = fontMetrics();
    const qreal y = rowsBottom() + 8;
    const qreal h = fm.height();
    QRectF band(0, y - 4, width(), h + 8);
    p.fillRect(band, pal.color(QPalette::Window));
    qreal x = 8;
    auto text = [&](const QString& t, const QColor& c) {
        p.setPen(c);
        p.drawText(QPointF(x, y + fm.ascent()), t);
        x += fm.horizontalAdvance(t) + 16;
    };
    QList<LaneState> states;
    for (const TimelineLane& lane : std::as_const(m_timeline.lanes))
        if (!isContextLane(lane) && !isRenewalLane(lane) && !states.contains(lane.state))
            states << lane.state;
    std::sort(states.begin(), states.end());
    for (LaneState state : std::as_const(states)) {
        const QRectF swatch(x, y + 2, h * 1.6, h - 4);
        const QColor fill = laneStateColor(state, pal);
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawRect(swatch);
        if (laneStatePattern(state) != Qt::NoBrush) {
            p.setBrush(QBrush(withAlpha(textOn(fill), 140), laneStatePattern(state)));
            p.drawRect(swatch);
        }
        x = swatch.right() + 5;
        text(laneStateLabel(state), pal.color(QPalette::WindowText));
    }
    // Grey lanes are context (a superseded certificate, a staple a refresh replaced): say so.
    if (std::any_of(m_timeline.lanes.cbegin(), m_timeline.lanes.cend(), isContextLane)) {
        const QRectF swatch(x, y + 2, h * 1.6, h - 4);
        p.setPen(Qt::NoPen);
        p.setBrush(pal.color(QPalette::Mid));
        p.drawRect(swatch);
        x = swatch.right() + 5;
        text(tr("superseded / replaced"), pal.color(QPalette::WindowText));
    }
    if (std::any_of(m_timeline.lanes.cbegin(), m_timeline.lanes.cend(), isRenewalLane)) {
        const QRectF swatch(x, y + 2, h * 1.6, h - 4);
        p.setPen(QPen(renewalWindowColor(pal).darker(isDarkPalette(pal) ? 100 : 140), 1.5, Qt::DotLine));
        p.setBrush(renewalWindowColor(pal));
        p.drawRect(swatch);
        x = swatch.right() + 5;
        text(tr("the CA's suggested renewal window"), pal.color(QPalette::WindowText));
    }
    const QColor markColor = isDarkPalette(pal) ? QColor(0xff, 0xd5, 0x4f) : QColor(0x5d, 0x40, 0x00);
    p.setPen(Qt::NoPen);
    p.setBrush(markColor);
    p.drawPolygon(QPolygonF{QPointF(x, y + 3), QPointF(x + 10, y + 3), QPointF(x + 5, y + h - 3)});
    x += 15;
    text(tr("refresh point / expiry warning starts"), pal.color(QPalette::WindowText));
    const QColor nowColor = isDarkPalette(pal) ? QColor(0x4f, 0xc3, 0xf7) : QColor(0x0d, 0x47, 0xa1);
    p.fillRect(QRectF(x, y + 1, 2, h - 2), nowColor);
    x += 8;
    text(tr("evaluation time"), pal.color(QPalette::WindowText));
    p.setPen(QPen(pal.color(QPalette::WindowText), 1.5, Qt::DashLine));
    p.setBrush(Qt::NoBrush);
    p.drawRect(QRectF(x, y + 2, h * 1.6, h - 4));
    x += h * 1.6 + 5;
    text(tr("belongs to another certificate"), pal.color(QPalette::WindowText));
}

void TimelineWidget::paintLabels(QPainter& p, const QRectF& plot)
{
    const QPalette pal = palette();
    const QFontMetrics fm = fontMetrics();
    const int columnRight = int(plot.left()) - 8;
    // Attached staples hang off the certificate row above them (several certificates: the
    // generations of a deploy destination, each followed by its staple).
    int leafRow = -1;
    for (int r = 0; r < m_rows.size(); ++r) {
        const Row& row = m_rows[r];
        const TimelineLane& lane = m_timeline.lanes[row.lane];
        if (lane.kind == LaneKind::Leaf)
            leafRow = r;
        const qreal indent =
            ((lane.kind == LaneKind::Staple || lane.kind == LaneKind::ReplacedStaple) && !lane.detached) ? 14 : 0;
        const QRectF area(8 + indent, row.top + 4, columnRight - 8 - indent, laneHeight() - 8);

        // Attached staples hang off the leaf with a bracket; a detached one has none.
        if (indent > 0 && leafRow >= 0) {
            const qreal x = 10;
            const qreal top = m_rows[leafRow].top + laneHeight() - 6;
            const qreal y = row.top + laneHeight() / 2.0;
            p.setPen(QPen(withAlpha(pal.color(QPalette::Text), 140), 1));
            p.drawLine(QPointF(x, top), QPointF(x, y));
            p.drawLine(QPointF(x, y), QPointF(x + indent - 4, y));
        }

        // A small swatch with the state's colour and hatching, like a legend entry.
        const QRectF swatch(area.left(), area.top() + 2, fm.height() - 4, fm.height() - 4);
        QColor fill = isContextLane(lane)   ? pal.color(QPalette::Mid)
                      : isRenewalLane(lane) ? renewalWindowColor(pal)
                                            : laneStateColor(lane.state, pal);
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawRect(swatch);
        if (laneStatePattern(lane.state) != Qt::NoBrush && !isContextLane(lane)) {
            p.setBrush(QBrush(withAlpha(textOn(fill), 140), laneStatePattern(lane.state)));
            p.drawRect(swatch);
        }

        QFont titleFont = font();
        titleFont.setBold(lane.kind == LaneKind::Leaf);
        p.setFont(titleFont);
        const QFontMetrics tfm(titleFont);
        const QRectF titleRect(swatch.right() + 6, area.top(), area.right() - swatch.right() - 6, fm.height());
        p.setPen(pal.color(QPalette::WindowText));
        p.drawText(titleRect, Qt::AlignLeft | Qt::AlignVCenter, tfm.elidedText(lane.label, Qt::ElideRight, int(titleRect.width())));
        p.setFont(font());

        QString second = isContextLane(lane) ? lane.stateText : laneStateLabel(lane.state);
        if (lane.detached)
            second = tr("⚠ %1 · not for this certificate").arg(laneStateLabel(lane.state));
        else if (lane.kind == LaneKind::Staple && lane.state == LaneState::Ok)
            second = tr("%1 · for this certificate").arg(second);
        else if (isRenewalLane(lane))
            second = tr("suggested by the CA · %1").arg(lane.stateText);
        const QRectF secondRect(titleRect.left(), titleRect.bottom() + 1, titleRect.width(), fm.height());
        // State words in the state's colour, darkened on light palettes so amber stays readable.
        const QColor stateText = isDarkPalette(pal) ? laneStateColor(lane.state, pal) : laneStateColor(lane.state, pal).darker(150);
        p.setPen(lane.state == LaneState::Ok || isContextLane(lane) ? pal.color(QPalette::PlaceholderText)
                                                                                             : stateText);
        p.drawText(secondRect, Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(second, Qt::ElideRight, int(secondRect.width())));

        if (row.lane == m_currentLane) {
            p.setPen(QPen(pal.color(QPalette::Highlight), 2));
            p.setBrush(Qt::NoBrush);
            p.drawRect(QRectF(2, row.top + 1, width() - 4, laneHeight() - 2));
        }
    }
}

// ---- the fleet view ---------------------------------------------------------------------------

QFont TimelineWidget::boldFont() const
{
    QFont bold = font();
    bold.setBold(true);
    return bold;
}

int TimelineWidget::fleetLaneHeight() const { return fontMetrics().height() * 2 + 10; }

qreal TimelineWidget::fleetAreaBottom() const
{
    // The key sits in a band of its own along the bottom edge; the lanes scroll above it.
    return qMax<qreal>(axisHeight(), height() - (fontMetrics().height() + 12));
}

void TimelineWidget::setFleet(const FleetTimeline& fleet, bool keepView)
{
    const bool wasFleet = m_fleetMode;
    const QString currentId = wasFleet && m_currentFleetLane >= 0 ? m_fleet.lanes.value(m_currentFleetLane).bundleId : QString();
    m_timeline = Timeline{fleet.at, {}};
    m_rows.clear();
    m_currentLane = -1;
    m_fleet = fleet;
    m_fleetMode = true;
    m_atIsNow = m_fleet.at.isValid() && qAbs(m_fleet.at.secsTo(m_clock->now())) < 120;
    // Labels are measured once here, not on every paint: thousands of lanes.
    const QFontMetrics fm = fontMetrics();
    // Room for the second line too ("certificate expires in 29 days 23 hours", bounded below).
    int widest = fm.horizontalAdvance(QStringLiteral("certificate expires in 29 days 23 hours")) + fm.height() + 20;
    for (const FleetLane& lane : std::as_const(m_fleet.lanes))
        widest = qMax(widest, QFontMetrics(boldFont()).horizontalAdvance(lane.label) + fm.height() + 20);
    m_fleetLabelWidth = widest;
    // The current lane follows its bundle when the fleet is evaluated again.
    m_currentFleetLane = -1;
    for (int i = 0; !currentId.isEmpty() && i < m_fleet.lanes.size(); ++i)
        if (m_fleet.lanes[i].bundleId == currentId)
            m_currentFleetLane = i;
    if (!wasFleet)
        m_fleetScroll->setValue(0);
    updateFleetScroll();
    if (!keepView || !wasFleet)
        zoomToFocus();
    update();
    setAccessibleDescription(tr("Fleet: %1 bundles, the next event first").arg(m_fleet.lanes.size()));
}

void TimelineWidget::updateFleetScroll()
{
    if (!m_fleetMode) {
        m_fleetScroll->hide();
        return;
    }
    const int viewport = qMax(0, int(fleetAreaBottom() - axisHeight()));
    const qint64 content = qint64(m_fleet.lanes.size()) * fleetLaneHeight();
    m_fleetScroll->setRange(0, int(qMax<qint64>(0, content - viewport)));
    m_fleetScroll->setPageStep(viewport);
    m_fleetScroll->setSingleStep(fleetLaneHeight());
    const int w = m_fleetScroll->sizeHint().width();
    m_fleetScroll->setGeometry(width() - w, axisHeight(), w, viewport);
    m_fleetScroll->setVisible(content > viewport);
}

int TimelineWidget::fleetLaneAt(const QPointF& pos) const
{
    if (!m_fleetMode || pos.y() < axisHeight() || pos.y() >= fleetAreaBottom() || pos.x() < 0 || pos.x() > width())
        return -1;
    const qint64 lane = qint64(std::floor((pos.y() - axisHeight() + m_fleetScroll->value()) / fleetLaneHeight()));
    return lane >= 0 && lane < m_fleet.lanes.size() ? int(lane) : -1;
}

QRectF TimelineWidget::fleetLaneRect(int lane) const
{
    if (!m_fleetMode || lane < 0 || lane >= m_fleet.lanes.size())
        return {};
    return QRectF(0, axisHeight() + qreal(lane) * fleetLaneHeight() - m_fleetScroll->value(), width(), fleetLaneHeight());
}

void TimelineWidget::scrollToFleetLane(int lane)
{
    const QRectF r = fleetLaneRect(lane);
    if (r.isNull())
        return;
    if (r.top() < axisHeight())
        m_fleetScroll->setValue(m_fleetScroll->value() - int(std::ceil(axisHeight() - r.top())));
    else if (r.bottom() > fleetAreaBottom())
        m_fleetScroll->setValue(m_fleetScroll->value() + int(std::ceil(r.bottom() - fleetAreaBottom())));
}

void TimelineWidget::setCurrentFleetLane(int lane)
{
    if (lane < -1 || lane >= m_fleet.lanes.size())
        return;
    m_currentFleetLane = lane;
    scrollToFleetLane(lane);
    update();
}

QString TimelineWidget::fleetTooltip(int index, const QDateTime& pointer) const
{
    const FleetLane& lane = m_fleet.lanes[index];
    QStringList lines;
    lines << QStringLiteral("<b>%1</b> — %2").arg(lane.label.toHtmlEscaped(), lane.verdict.toHtmlEscaped());
    if (!lane.origin.isEmpty() && lane.origin != lane.label)
        lines << lane.origin.toHtmlEscaped();
    lines << tr("Next: %1").arg(describeFleetEvent(lane, m_fleet.at).toHtmlEscaped());
    const TimelineLane& cert = lane.certificate;
    if (cert.start.isValid())
        lines << tr("Certificate: %1 → %2 (%3)")
                     .arg(formatTime(cert.start).toHtmlEscaped(), formatTime(cert.end).toHtmlEscaped(), laneStateLabel(cert.state).toHtmlEscaped());
    if (lane.staple && lane.staple->start.isValid())
        lines << tr("Staple: %1 → %2 (%3)")
                     .arg(formatTime(lane.staple->start).toHtmlEscaped(),
                          lane.staple->end.isValid() ? formatTime(lane.staple->end).toHtmlEscaped() : tr("no nextUpdate"),
                          laneStateLabel(lane.staple->state).toHtmlEscaped());
    else if (!lane.staple)
        lines << tr("No staple");
    if (pointer.isValid())
        lines << QStringLiteral("<hr>") + tr("Pointer: %1").arg(formatTime(pointer).toHtmlEscaped());
    lines << tr("<i>Click to show this bundle</i>");
    return QStringLiteral("<p style='white-space:pre'>%1</p>").arg(lines.join(QLatin1String("<br>")));
}

void TimelineWidget::paintFleet(QPainter& p)
{
    const QPalette pal = palette();
    const QRectF plot = plotRect();
    const int laneH = fleetLaneHeight();
    const qreal areaTop = axisHeight();
    const qreal areaBottom = fleetAreaBottom();
    const int scroll = m_fleetScroll->value();
    p.fillRect(QRectF(0, 0, plot.left() - 4, height()), pal.color(QPalette::Window));
    m_paintedFleetLanes = 0;
    if (m_fleet.lanes.isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("No bundles to show."));
        return;
    }
    // Only the lanes in view: the first whose bottom is below the top edge to the last whose top
    // is above the bottom edge.
    const int first = qMax(0, scroll / laneH);
    const int last = qMin(int(m_fleet.lanes.size()) - 1, int((scroll + (areaBottom - areaTop)) / laneH));
    p.save();
    p.setClipRect(QRectF(0, areaTop, width(), areaBottom - areaTop));
    for (int i = first; i <= last; ++i)
        if (i % 2)
            p.fillRect(QRectF(plot.left(), areaTop + qreal(i) * laneH - scroll, plot.width(), laneH),
                       withAlpha(pal.color(QPalette::AlternateBase), 160));
    p.restore();
    paintAxis(p, plot);
    p.save();
    p.setClipRect(QRectF(0, areaTop, width(), areaBottom - areaTop));
    for (int i = first; i <= last; ++i) {
        paintFleetLane(p, i, plot);
        ++m_paintedFleetLanes;
    }
    p.restore();
    paintNowLine(p, plot);
    paintFleetLegend(p);
    if (hasFocus()) {
        p.setPen(QPen(pal.color(QPalette::Highlight), 2));
        p.setBrush(Qt::NoBrush);
        p.drawRect(QRectF(rect()).adjusted(1, 1, -1, -1));
    }
}

void TimelineWidget::paintFleetLane(QPainter& p, int index, const QRectF& plot)
{
    const QPalette pal = palette();
    const FleetLane& lane = m_fleet.lanes[index];
    const QRectF row = fleetLaneRect(index);
    const QFontMetrics fm = fontMetrics();
    const double pxPerSec = plot.width() / m_span;
    auto xOf = [&](const QDateTime& t) { return plot.left() + (secs(t) - m_start) * pxPerSec; };
    const QColor markColor = isDarkPalette(pal) ? QColor(0xff, 0xd5, 0x4f) : QColor(0x5d, 0x40, 0x00);

    // Label: the worst severity's badge, the name, and the next event in words.
    const bool healthy = lane.worst == Severity::Info;
    const qreal iconSize = fm.height();
    severityIcon(lane.worst, healthy).paint(&p, QRect(6, int(row.top() + 4), int(iconSize), int(iconSize)));
    const qreal textLeft = 6 + iconSize + 6;
    const qreal textWidth = plot.left() - 8 - textLeft;
    const QFont bold = boldFont();
    p.setFont(bold);
    p.setPen(pal.color(QPalette::WindowText));
    p.drawText(QRectF(textLeft, row.top() + 3, textWidth, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(bold).elidedText(lane.label, Qt::ElideMiddle, int(textWidth)));
    p.setFont(font());
    const QString next = describeFleetEvent(lane, m_fleet.at);
    const QColor nextColor = lane.overdue ? (isDarkPalette(pal) ? severityColor(Severity::Error, pal)
                                                                : severityColor(Severity::Error, pal).darker(130))
                                          : pal.color(QPalette::PlaceholderText);
    p.setPen(nextColor);
    p.drawText(QRectF(textLeft, row.top() + 4 + fm.height(), textWidth, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
               fm.elidedText(next, Qt::ElideRight, int(textWidth)));

    // The certificate's window above, the staple's below; each in its state's colour and hatching.
    p.save();
    p.setClipRect(QRectF(plot.left(), row.top(), plot.width(), row.height()), Qt::IntersectClip);
    // A superseded certificate is context, drawn neutral as on a bundle's own timeline.
    auto bar = [&](const TimelineLane& l, qreal top, qreal height) -> QRectF {
        if (!l.start.isValid())
            return {};
        qreal x0 = xOf(l.start);
        qreal x1 = l.end.isValid() ? xOf(l.end) : plot.right() + 1;
        if (x1 < plot.left() || x0 > plot.right())
            return {};
        x0 = qMax(x0, plot.left() - 2);
        x1 = qMin(x1, plot.right() + 2);
        if (x1 - x0 < 3)
            x1 = x0 + 3;
        const QRectF r(x0, top, x1 - x0, height);
        const QColor fill = lane.superseded ? pal.color(QPalette::Mid) : laneStateColor(l.state, pal);
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawRoundedRect(r, 2, 2);
        if (laneStatePattern(l.state) != Qt::NoBrush && !lane.superseded) {
            p.setBrush(QBrush(withAlpha(textOn(fill), 120), laneStatePattern(l.state)));
            p.drawRoundedRect(r, 2, 2);
        }
        if (l.marker.isValid()) {
            const qreal mx = xOf(l.marker);
            if (mx >= r.left() && mx <= r.right()) {
                p.setPen(QPen(markColor, 2));
                p.drawLine(QPointF(mx, r.top() - 1), QPointF(mx, r.bottom() + 1));
            }
        }
        return r;
    };
    const qreal certTop = row.top() + 5;
    const qreal certHeight = row.height() * 0.42;
    const QRectF certBar = bar(lane.certificate, certTop, certHeight);
    QRectF stapleBar;
    if (lane.staple)
        stapleBar = bar(*lane.staple, certTop + certHeight + 3, row.height() * 0.22);
    // The next event: a diamond on the bar it belongs to.
    if (lane.event != FleetEvent::None && lane.eventAt.isValid()) {
        const bool onStaple = lane.event == FleetEvent::StapleRefresh || lane.event == FleetEvent::StapleExpiry;
        const QRectF on = onStaple && !stapleBar.isNull() ? stapleBar : certBar;
        const qreal x = xOf(lane.eventAt);
        if (!on.isNull() && x >= plot.left() && x <= plot.right()) {
            const qreal cy = on.center().y();
            const qreal r = 5;
            p.setPen(QPen(pal.color(QPalette::Base), 1.5));
            p.setBrush(pal.color(QPalette::WindowText));
            p.drawPolygon(QPolygonF{QPointF(x, cy - r), QPointF(x + r, cy), QPointF(x, cy + r), QPointF(x - r, cy)});
        }
    }
    p.restore();
    if (index == m_currentFleetLane) {
        p.setPen(QPen(pal.color(QPalette::Highlight), 2));
        p.setBrush(Qt::NoBrush);
        p.drawRect(row.adjusted(2, 1, -2 - (m_fleetScroll->isVisible() ? m_fleetScroll->width() : 0), -1));
    }
}

void TimelineWidget::paintFleetLegend(QPainter& p)
{
    const QPalette pal = palette();
    const QFontMetrics fm = fontMetrics();
    const qreal top = fleetAreaBottom();
    p.fillRect(QRectF(0, top, width(), height() - top), pal.color(QPalette::Window));
    p.setPen(withAlpha(pal.color(QPalette::Text), 90));
    p.drawLine(QPointF(0, top), QPointF(width(), top));
    const qreal y = top + 6;
    const qreal h = fm.height();
    qreal x = 8;
    auto text = [&](const QString& t) {
        if (x + fm.horizontalAdvance(t) > width() - 8)
            return; // a narrow window shows what fits
        p.setPen(pal.color(QPalette::WindowText));
        p.drawText(QPointF(x, y + fm.ascent()), t);
        x += fm.horizontalAdvance(t) + 16;
    };
    text(m_fleet.lanes.size() == 1 ? tr("1 bundle") : tr("%1 bundles, next event first").arg(m_fleet.lanes.size()));
    const QColor ok = laneStateColor(LaneState::Ok, pal);
    p.setPen(Qt::NoPen);
    p.setBrush(ok);
    p.drawRect(QRectF(x, y + 1, h * 1.6, h * 0.5));
    p.drawRect(QRectF(x, y + h * 0.5 + 3, h * 1.6, h * 0.3));
    x += h * 1.6 + 5;
    text(tr("certificate above its staple"));
    const QColor markColor = isDarkPalette(pal) ? QColor(0xff, 0xd5, 0x4f) : QColor(0x5d, 0x40, 0x00);
    p.fillRect(QRectF(x, y + 1, 2, h - 2), markColor);
    x += 8;
    text(tr("expiry warning / refresh point"));
    const qreal cy = y + h / 2;
    p.setPen(QPen(pal.color(QPalette::Base), 1.5));
    p.setBrush(pal.color(QPalette::WindowText));
    p.drawPolygon(QPolygonF{QPointF(x + 5, cy - 5), QPointF(x + 10, cy), QPointF(x + 5, cy + 5), QPointF(x, cy)});
    x += 16;
    text(tr("next event"));
    text(tr("Ctrl+wheel zooms; click a lane for its bundle"));
}

} // namespace staplescope::ui
