#pragma once
// A one-line label that never asks for more width than it gets: text that does not fit ends in
// "…", and the full text is the tooltip. For verdicts, names and status lines in panes that must
// survive small windows. Plain text only (it shows outside text: names, server replies).

#include <QFrame>

namespace staplescope::ui {

class ElidedLabel : public QFrame {
    Q_OBJECT
public:
    explicit ElidedLabel(QWidget* parent = nullptr);
    explicit ElidedLabel(const QString& text, QWidget* parent = nullptr);

    void setText(const QString& text);
    QString text() const { return m_text; }
    // What is painted: the text, elided to the current width.
    QString shownText() const;
    bool isElided() const { return shownText() != m_text; }
    void setElideMode(Qt::TextElideMode mode);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    void updateToolTip();

    QString m_text;
    Qt::TextElideMode m_mode = Qt::ElideRight;
};

} // namespace staplescope::ui
