#pragma once

#include <QStyledItemDelegate>

namespace staplescope::ui {

// Paints the bundle list's status column as a coloured pill with a glyph and the severity in
// words ("CRITICAL", "Healthy"): colour, shape and text all say the same.
class SeverityBadgeDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    // The words in a bundle list row's pill: the severity, or core's healthyVerdict() for a
    // healthy bundle (the CLI's words for the same bundle).
    static QString badgeText(const QModelIndex& index);
};

} // namespace staplescope::ui
