#include "BundleFilterModel.h"

#include "BundleListModel.h"

namespace staplescope::ui {

BundleFilterModel::BundleFilterModel(QObject* parent) : QSortFilterProxyModel(parent)
{
    setSortRole(BundleListModel::SortRole);
    setDynamicSortFilter(true);
}

void BundleFilterModel::setFilterText(const QString& text)
{
    const QStringList words = text.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (words == m_words)
        return;
    m_words = words;
    invalidateRowsFilter();
}

bool BundleFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_words.isEmpty())
        return true;
    const QString text =
        sourceModel()->index(sourceRow, 0, sourceParent).data(BundleListModel::FilterTextRole).toString();
    for (const QString& word : m_words)
        if (!text.contains(word))
            return false;
    return true;
}

bool BundleFilterModel::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const QVariant a = left.data(sortRole());
    const QVariant b = right.data(sortRole());
    // Rows without a value (the inputs row, an unreadable date) go after those with one in either
    // order (a descending sort asks lessThan(right, left)). Equal values compare false both ways:
    // the sort is stable, so they keep core's order.
    if (!a.isValid() || !b.isValid())
        return a.isValid() != b.isValid() && (sortOrder() == Qt::AscendingOrder ? a.isValid() : b.isValid());
    return QVariant::compare(a, b) == QPartialOrdering::Less;
}

int BundleFilterModel::shownBundleCount() const
{
    int n = 0;
    for (int r = 0; r < rowCount(); ++r)
        n += index(r, 0).data(BundleListModel::InputsRowRole).toBool() ? 0 : 1;
    return n;
}

int BundleFilterModel::bundleCount() const
{
    auto* source = qobject_cast<const BundleListModel*>(sourceModel());
    return source ? int(source->report().bundles.size()) : 0;
}

} // namespace staplescope::ui
