#include "ElidedLabel.h"

#include "UiStyle.h"

#include <QPainter>
#include <QStyle>

namespace staplescope::ui {

ElidedLabel::ElidedLabel(QWidget* parent) : QFrame(parent)
{
    setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
}

ElidedLabel::ElidedLabel(const QString& text, QWidget* parent) : ElidedLabel(parent) { setText(text); }

void ElidedLabel::setText(const QString& text)
{
    if (text == m_text)
        return;
    m_text = text;
    setAccessibleName(text);
    updateGeometry();
    updateToolTip();
    update();
}

void ElidedLabel::setElideMode(Qt::TextElideMode mode)
{
    m_mode = mode;
    update();
}

QString ElidedLabel::shownText() const
{
    // One line: line breaks in outside text would otherwise be drawn over each other.
    QString line = m_text;
    line.replace(QLatin1Char('\n'), QLatin1Char(' '));
    return fontMetrics().elidedText(line, m_mode, qMax(0, contentsRect().width()));
}

QSize ElidedLabel::sizeHint() const
{
    const QFontMetrics fm = fontMetrics();
    const QMargins m = contentsMargins();
    return QSize(fm.horizontalAdvance(m_text) + m.left() + m.right(), fm.height() + m.top() + m.bottom());
}

QSize ElidedLabel::minimumSizeHint() const
{
    // Room for "…" and a few characters; the rest is elided.
    const QFontMetrics fm = fontMetrics();
    const QMargins m = contentsMargins();
    return QSize(fm.horizontalAdvance(QStringLiteral("MMM…")) + m.left() + m.right(), fm.height() + m.top() + m.bottom());
}

void ElidedLabel::paintEvent(QPaintEvent* event)
{
    QFrame::paintEvent(event);
    QPainter painter(this);
    painter.setPen(palette().color(isEnabled() ? QPalette::Active : QPalette::Disabled, foregroundRole()));
    painter.drawText(contentsRect(), int(Qt::AlignLeft | Qt::AlignVCenter) | Qt::TextSingleLine, shownText());
}

void ElidedLabel::updateToolTip()
{
    // The full text, shown literally (plainToolTip), whether or not it is cut right now: the
    // window may be resized later.
    setToolTip(plainToolTip(m_text));
}

} // namespace staplescope::ui
