#pragma once
// The bundle list as shown: filtered by the words typed above it and sorted by the clicked
// column. Unsorted it keeps core's order (worst first). It only presents: the text a word is
// looked for in and the values a column sorts by are the source model's (BundleListModel).

#include <QSortFilterProxyModel>

namespace staplescope::ui {

class BundleFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit BundleFilterModel(QObject* parent = nullptr);

    // Words separated by spaces; a row is shown when each word is part of its filter text
    // (name, location, path, finding codes, severities), ignoring case.
    void setFilterText(const QString& text);
    QString filterText() const { return m_words.join(QLatin1Char(' ')); }
    bool isFiltering() const { return !m_words.isEmpty(); }
    // Rows of bundles shown / listed (the row of findings about the inputs is not a bundle).
    int shownBundleCount() const;
    int bundleCount() const;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    QStringList m_words;
};

} // namespace staplescope::ui
