#include "UiStyle.h"

#include <QCoreApplication>
#include <QIconEngine>
#include <QPainter>
#include <QPainterPath>
#include <QTextDocument>

namespace staplescope::ui {

bool isDarkPalette(const QPalette& palette) { return palette.color(QPalette::Window).lightness() < 128; }

QString plainToolTip(const QString& text)
{
    // convertFromPlainText escapes <, > and & and returns a <p>, so Qt::mightBeRichText is always
    // true and the escaped text is what shows.
    return text.isEmpty() ? QString() : Qt::convertFromPlainText(text, Qt::WhiteSpaceNormal);
}

QColor severityColor(Severity severity, const QPalette& palette)
{
    const bool dark = isDarkPalette(palette);
    switch (severity) {
    case Severity::Critical: return dark ? QColor(0xff, 0x6b, 0x6b) : QColor(0xb0, 0x00, 0x20);
    case Severity::Error: return dark ? QColor(0xff, 0x8c, 0x5a) : QColor(0xd0, 0x3a, 0x00);
    case Severity::Warning: return dark ? QColor(0xf5, 0xc2, 0x42) : QColor(0xb8, 0x7a, 0x00);
    case Severity::Info: return dark ? QColor(0x6c, 0xb4, 0xff) : QColor(0x1f, 0x6f, 0xc5);
    }
    return palette.color(QPalette::Text);
}

QColor healthyColor(const QPalette& palette)
{
    return isDarkPalette(palette) ? QColor(0x5c, 0xd6, 0x7e) : QColor(0x1e, 0x8a, 0x3c);
}

QString severityLabel(Severity severity)
{
    switch (severity) {
    case Severity::Critical: return QCoreApplication::translate("staplescope", "CRITICAL");
    case Severity::Error: return QCoreApplication::translate("staplescope", "ERROR");
    case Severity::Warning: return QCoreApplication::translate("staplescope", "WARNING");
    case Severity::Info: return QCoreApplication::translate("staplescope", "INFO");
    }
    return {};
}

namespace {

// Paints the badge at whatever size and device pixel ratio the view asks for (no blurry scaling).
class BadgeIconEngine : public QIconEngine {
public:
    BadgeIconEngine(Severity severity, bool healthy) : m_severity(severity), m_healthy(healthy) {}

    void paint(QPainter* painter, const QRect& rect, QIcon::Mode mode, QIcon::State) override
    {
        QPalette light; // fixed light-palette colours: the badge has its own white glyph
        light.setColor(QPalette::Window, Qt::white);
        QColor fill = m_healthy ? healthyColor(light) : severityColor(m_severity, light);
        if (mode == QIcon::Disabled)
            fill = QColor(0x9e, 0x9e, 0x9e);
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing);
        const qreal side = qMin(rect.width(), rect.height());
        const QRectF box(rect.x() + (rect.width() - side) / 2.0, rect.y() + (rect.height() - side) / 2.0, side, side);
        const QRectF inner = box.adjusted(side * 0.06, side * 0.06, -side * 0.06, -side * 0.06);
        painter->setPen(Qt::NoPen);
        painter->setBrush(fill);
        // Shape is a second channel: diamond for critical, triangle for warning, circle otherwise.
        if (!m_healthy && m_severity == Severity::Critical) {
            QPainterPath diamond;
            diamond.moveTo(inner.center().x(), inner.top());
            diamond.lineTo(inner.right(), inner.center().y());
            diamond.lineTo(inner.center().x(), inner.bottom());
            diamond.lineTo(inner.left(), inner.center().y());
            diamond.closeSubpath();
            painter->drawPath(diamond);
        } else if (!m_healthy && m_severity == Severity::Warning) {
            QPainterPath tri;
            tri.moveTo(inner.center().x(), inner.top());
            tri.lineTo(inner.right(), inner.bottom());
            tri.lineTo(inner.left(), inner.bottom());
            tri.closeSubpath();
            painter->drawPath(tri);
        } else {
            painter->drawEllipse(inner);
        }
        QPen pen(Qt::white, qMax<qreal>(1.0, side * 0.12), Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
        painter->setPen(pen);
        painter->setBrush(Qt::NoBrush);
        const QPointF c = inner.center();
        const qreal u = side * 0.18;
        if (m_healthy) {
            painter->drawPolyline(QPolygonF{QPointF(c.x() - u * 1.2, c.y()), QPointF(c.x() - u * 0.3, c.y() + u),
                                            QPointF(c.x() + u * 1.3, c.y() - u)});
        } else if (m_severity == Severity::Info) {
            painter->drawLine(QPointF(c.x(), c.y() - u * 0.2), QPointF(c.x(), c.y() + u * 1.2));
            painter->drawPoint(QPointF(c.x(), c.y() - u * 1.2));
        } else if (m_severity == Severity::Warning) {
            painter->drawLine(QPointF(c.x(), c.y() - u * 0.4), QPointF(c.x(), c.y() + u * 0.7));
            painter->drawPoint(QPointF(c.x(), c.y() + u * 1.6));
        } else if (m_severity == Severity::Error) {
            painter->drawLine(QPointF(c.x(), c.y() - u * 1.3), QPointF(c.x(), c.y() + u * 0.4));
            painter->drawPoint(QPointF(c.x(), c.y() + u * 1.4));
        } else {
            painter->drawLine(QPointF(c.x() - u, c.y() - u), QPointF(c.x() + u, c.y() + u));
            painter->drawLine(QPointF(c.x() + u, c.y() - u), QPointF(c.x() - u, c.y() + u));
        }
        painter->restore();
    }

    QPixmap pixmap(const QSize& size, QIcon::Mode mode, QIcon::State state) override
    {
        return scaledPixmap(size, mode, state, 1.0);
    }

    QPixmap scaledPixmap(const QSize& size, QIcon::Mode mode, QIcon::State state, qreal scale) override
    {
        QPixmap pm((QSizeF(size) * scale).toSize());
        pm.fill(Qt::transparent);
        pm.setDevicePixelRatio(scale);
        QPainter p(&pm);
        paint(&p, QRect(QPoint(0, 0), size), mode, state);
        return pm;
    }

    QIconEngine* clone() const override { return new BadgeIconEngine(m_severity, m_healthy); }

private:
    Severity m_severity;
    bool m_healthy;
};

} // namespace

QIcon severityIcon(Severity severity, bool healthy) { return QIcon(new BadgeIconEngine(severity, healthy)); }

QColor laneStateColor(LaneState state, const QPalette& palette)
{
    const bool dark = isDarkPalette(palette);
    switch (state) {
    case LaneState::Ok: return dark ? QColor(0x3f, 0xb9, 0x68) : QColor(0x2e, 0x9d, 0x52);
    case LaneState::Due: return dark ? QColor(0xe8, 0xb3, 0x2e) : QColor(0xe0, 0xa1, 0x00);
    case LaneState::Expired: return dark ? QColor(0xf0, 0x55, 0x55) : QColor(0xc6, 0x28, 0x28);
    case LaneState::NotYetValid: return dark ? QColor(0x8f, 0x9b, 0xb3) : QColor(0x78, 0x86, 0x9e);
    case LaneState::Mismatched: return dark ? QColor(0xc5, 0x7b, 0xf0) : QColor(0x8e, 0x3c, 0xc8);
    case LaneState::Revoked: return dark ? QColor(0xff, 0x70, 0x90) : QColor(0x8b, 0x00, 0x2a);
    case LaneState::Invalid: return dark ? QColor(0xff, 0x92, 0x4d) : QColor(0xd9, 0x5a, 0x00);
    }
    return palette.color(QPalette::Highlight);
}

Qt::BrushStyle laneStatePattern(LaneState state)
{
    switch (state) {
    case LaneState::Ok: return Qt::NoBrush;
    case LaneState::Due: return Qt::BDiagPattern;
    case LaneState::Expired: return Qt::DiagCrossPattern;
    case LaneState::NotYetValid: return Qt::Dense6Pattern;
    case LaneState::Mismatched: return Qt::FDiagPattern;
    case LaneState::Revoked: return Qt::CrossPattern;
    case LaneState::Invalid: return Qt::HorPattern;
    }
    return Qt::NoBrush;
}

QString laneStateLabel(LaneState state)
{
    switch (state) {
    case LaneState::Ok: return QCoreApplication::translate("staplescope", "ok");
    case LaneState::Due: return QCoreApplication::translate("staplescope", "due");
    case LaneState::Expired: return QCoreApplication::translate("staplescope", "expired");
    case LaneState::NotYetValid: return QCoreApplication::translate("staplescope", "not yet valid");
    case LaneState::Mismatched: return QCoreApplication::translate("staplescope", "mismatched");
    case LaneState::Revoked: return QCoreApplication::translate("staplescope", "revoked");
    case LaneState::Invalid: return QCoreApplication::translate("staplescope", "invalid");
    }
    return {};
}

QColor renewalWindowColor(const QPalette& palette)
{
    // Teal: no state uses it (mismatched is purple, the evaluation line blue).
    return isDarkPalette(palette) ? QColor(0x4d, 0xd0, 0xe1) : QColor(0x00, 0x83, 0x8f);
}

QString laneKindLabel(LaneKind kind)
{
    switch (kind) {
    case LaneKind::Leaf: return QCoreApplication::translate("staplescope", "Certificate");
    case LaneKind::Intermediate: return QCoreApplication::translate("staplescope", "Intermediate");
    case LaneKind::Root: return QCoreApplication::translate("staplescope", "Root");
    case LaneKind::Staple: return QCoreApplication::translate("staplescope", "OCSP staple");
    case LaneKind::PreviousCertificate: return QCoreApplication::translate("staplescope", "Previous certificate");
    case LaneKind::ReplacedStaple: return QCoreApplication::translate("staplescope", "Replaced OCSP staple");
    case LaneKind::Crl: return QCoreApplication::translate("staplescope", "CRL");
    case LaneKind::OnlineResponse: return QCoreApplication::translate("staplescope", "Responder's answer");
    case LaneKind::RenewalWindow: return QCoreApplication::translate("staplescope", "Suggested renewal window");
    }
    return {};
}

QColor textOn(const QColor& background)
{
    // Relative luminance (sRGB approximation) decides black or white text.
    const double l = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF();
    return l > 0.55 ? QColor(Qt::black) : QColor(Qt::white);
}

} // namespace staplescope::ui
