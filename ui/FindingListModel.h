#pragma once
// The findings of one bundle (or of the inputs), in core's order: worst first.

#include "Finding.h"

#include <QAbstractTableModel>

namespace staplescope::ui {

class FindingListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { SeverityColumn, TitleColumn, CodeColumn, ColumnCount };
    enum Role {
        CodeRole = Qt::UserRole + 1, // QString
        SeverityRole,                // int(Severity)
        ObjectIdsRole,               // QStringList: lanes to highlight
        RemedyRole,                  // QString: what to do, in the GUI's words (empty for RemedyKind::None)
    };

    explicit FindingListModel(QObject* parent = nullptr);
    void setFindings(const QList<Finding>& findings);
    const QList<Finding>& findings() const { return m_findings; }
    const Finding* findingAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<Finding> m_findings;
};

} // namespace staplescope::ui
