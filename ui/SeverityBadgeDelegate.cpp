#include "SeverityBadgeDelegate.h"

#include "BundleListModel.h"
#include "UiStyle.h"

#include <QApplication>
#include <QPainter>

namespace staplescope::ui {

QString SeverityBadgeDelegate::badgeText(const QModelIndex& index)
{
    // The model words it as the CLI does ("Healthy", "INFO" for a superseded bundle).
    return index.data(Qt::DisplayRole).toString();
}

void SeverityBadgeDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const auto severity = Severity(index.data(BundleListModel::SeverityRole).toInt());
    const bool healthy = index.data(BundleListModel::HealthyRole).toBool();
    const QString text = badgeText(index);
    const QIcon icon = opt.icon;
    opt.text.clear();
    opt.icon = QIcon();
    // Background and selection as the style draws them.
    QStyle* style = opt.widget ? opt.widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);

    const QColor fill = healthy ? healthyColor(opt.palette) : severityColor(severity, opt.palette);
    QFont bold = opt.font;
    bold.setBold(true);
    const QFontMetrics fm(bold);
    const int iconSize = fm.height();
    const int w = iconSize + fm.horizontalAdvance(text) + 14;
    const QRectF pill(opt.rect.left() + 4, opt.rect.center().y() - (fm.height() + 4) / 2.0, w, fm.height() + 4);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(fill);
    painter->drawRoundedRect(pill, pill.height() / 2, pill.height() / 2);
    // The glyph in a white disc keeps its shape readable on the coloured pill.
    const QRect iconRect(int(pill.left() + 3), int(pill.top() + 2), iconSize, iconSize);
    painter->setBrush(Qt::white);
    painter->drawEllipse(iconRect.adjusted(0, 0, 0, 0));
    icon.paint(painter, iconRect.adjusted(1, 1, -1, -1));
    painter->setPen(textOn(fill));
    painter->setFont(bold);
    painter->drawText(QRectF(iconRect.right() + 4, pill.top(), pill.right() - iconRect.right() - 6, pill.height()),
                      Qt::AlignCenter, text);
    painter->restore();
}

QSize SeverityBadgeDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const
{
    QSize s = QStyledItemDelegate::sizeHint(option, index);
    QFont bold = option.font;
    bold.setBold(true);
    const QFontMetrics fm(bold);
    s.setWidth(fm.height() + fm.horizontalAdvance(QStringLiteral("CRITICAL")) + 26);
    s.setHeight(qMax(s.height(), fm.height() + 10));
    return s;
}

} // namespace staplescope::ui
