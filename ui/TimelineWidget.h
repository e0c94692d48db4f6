#pragma once
// The validity-window timeline: one lane per certificate or staple of a bundle, drawn with QPainter
// from core's Timeline (plain data; the widget decides nothing about states, it only draws them).
// Zoom from hours to decades (wheel, pinch, +/-), pan (drag, arrows), fit and today; hover shows
// exact times. State is told by colour, hatching and words, so it reads without colour vision.

#include "Clock.h"
#include "FleetTimeline.h"
#include "Timeline.h"

#include <QWidget>

class QScrollBar;

#include <memory>

namespace staplescope::ui {

class TimelineWidget : public QWidget {
    Q_OBJECT
public:
    struct Hit {
        int lane = -1;       // index into timeline().lanes; -1 outside every lane
        QDateTime time;      // UTC time under the point; null outside the plot area
        bool onBar = false;  // the point is on the lane's validity bar
    };

    explicit TimelineWidget(QWidget* parent = nullptr);

    // Where "now" comes from: whether the evaluation time is labelled "now" or "as of", and the
    // view's centre before there is a timeline. Read when a timeline is given, never when painting.
    void setClock(std::shared_ptr<const Clock> clock);

    // `keepView`: keep the visible range (re-evaluation of the same bundle "as of" another time);
    // otherwise the view frames the leaf, its staples and the evaluation time.
    void setTimeline(const Timeline& timeline, bool keepView = false);
    const Timeline& timeline() const { return m_timeline; }
    void clear();

    // The fleet view: one lane per bundle in core's order (buildFleetTimeline), the leaf's window
    // above its staple's, the next event marked. Lanes scroll vertically and only those in view
    // are painted, so thousands stay smooth; zoom and pan work as for one bundle. Clicking a lane
    // (or Enter on the current one) emits fleetLaneActivated. setTimeline() or clear() leaves it.
    void setFleet(const FleetTimeline& fleet, bool keepView = false);
    bool isFleet() const { return m_fleetMode; }
    const FleetTimeline& fleet() const { return m_fleet; }
    int fleetLaneAt(const QPointF& pos) const; // -1 outside every fleet lane
    QRectF fleetLaneRect(int lane) const;      // the lane's row, in widget coordinates (may be scrolled out)
    void scrollToFleetLane(int lane);
    int currentFleetLane() const { return m_currentFleetLane; }
    int paintedFleetLanes() const { return m_paintedFleetLanes; } // by the last paint: what virtualization saves
    QScrollBar* fleetScrollBar() const { return m_fleetScroll; }

    // Lanes whose objectId is in `objectIds` are emphasised (the selected finding's objects).
    void setHighlightedObjects(const QStringList& objectIds);
    QStringList highlightedObjects() const { return m_highlighted; }

    QDateTime viewStart() const;
    QDateTime viewEnd() const;
    qint64 viewSpanSeconds() const { return qint64(m_span); }
    void setViewRange(const QDateTime& start, const QDateTime& end);

    // Geometry, public for tests and accessibility: all in widget coordinates.
    Hit hitTest(const QPointF& pos) const;
    QRectF plotRect() const;           // where time maps to x
    QRectF laneRect(int lane) const;   // the lane's row across the plot area; null for a bad index
    QRectF barRect(int lane) const;    // the validity bar, clipped to the plot; null when not visible
    qreal xForTime(const QDateTime& time) const;
    QDateTime timeAtX(qreal x) const;

    int currentLane() const { return m_currentLane; }
    void setCurrentLane(int lane);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

    static constexpr qint64 minimumSpanSeconds = 2 * 3600;           // two hours: 6-day certs read in hours
    static constexpr qint64 maximumSpanSeconds = 60LL * 365 * 86400; // sixty years: roots fit

public slots:
    void zoomToFit();    // every lane and the evaluation time
    void zoomToLeaf();   // the leaf, its staples and the evaluation time
    void zoomToFocus();  // the staples and the evaluation time (the default for a new bundle)
    void centerOnNow();  // keeps the zoom, puts the "now"/"as of" line in the middle
    void zoomIn();
    void zoomOut();

signals:
    void viewChanged();
    void currentLaneChanged(int lane);
    void laneActivated(int lane); // clicked or Enter: the details pane shows that object
    void fleetLaneActivated(const QString& bundleId); // a fleet lane clicked or Enter on it

protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    bool event(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Row {
        int lane = -1;     // model index
        qreal top = 0;
        bool sectionStart = false; // first row of the "belongs elsewhere" section
    };
    void relayout();
    int labelColumnWidth() const;
    int axisHeight() const;
    int laneHeight() const;
    int sectionGap() const;
    int rowForLane(int lane) const;
    void zoomBy(double factor, qreal anchorX);
    void panByPixels(qreal dx);
    void setView(double start, double span);
    void frame(double first, double last);
    QString tooltipFor(const QPoint& pos) const;
    void paintAxis(QPainter& p, const QRectF& plot);
    void paintLane(QPainter& p, const Row& row, const QRectF& plot);
    void paintLabels(QPainter& p, const QRectF& plot);
    void paintNowLine(QPainter& p, const QRectF& plot);
    void paintLegend(QPainter& p);
    qreal rowsBottom() const;
    int fleetLaneHeight() const;
    QFont boldFont() const;
    qreal fleetAreaBottom() const;
    void updateFleetScroll();
    void setCurrentFleetLane(int lane);
    void paintFleet(QPainter& p);
    void paintFleetLane(QPainter& p, int lane, const QRectF& plot);
    void paintFleetLegend(QPainter& p);
    QString fleetTooltip(int lane, const QDateTime& pointer) const;

    std::shared_ptr<const Clock> m_clock = Clock::system();
    Timeline m_timeline;
    bool m_atIsNow = false;  // the evaluation time was the clock's now when the timeline came
    QList<Row> m_rows;       // display order: leaf, its staples, chain; then what belongs elsewhere
    QStringList m_highlighted;
    double m_start = 0;      // seconds since the epoch (UTC) at the plot's left edge
    double m_span = 86400;   // seconds across the plot
    int m_currentLane = -1;
    bool m_fleetMode = false;
    FleetTimeline m_fleet;
    int m_fleetLabelWidth = 0;
    int m_currentFleetLane = -1;
    int m_paintedFleetLanes = 0;
    QScrollBar* m_fleetScroll = nullptr;
    bool m_dragging = false;
    QPointF m_dragOrigin;
    double m_dragStart = 0;
};

} // namespace staplescope::ui
