#include "FindingListModel.h"

#include "GuiRemedy.h"
#include "TextEscape.h"
#include "UiStyle.h"

namespace staplescope::ui {

FindingListModel::FindingListModel(QObject* parent) : QAbstractTableModel(parent) {}

void FindingListModel::setFindings(const QList<Finding>& findings)
{
    beginResetModel();
    m_findings = findings;
    endResetModel();
}

const Finding* FindingListModel::findingAt(int row) const
{
    return row >= 0 && row < m_findings.size() ? &m_findings[row] : nullptr;
}

int FindingListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_findings.size()); }

int FindingListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant FindingListModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Finding& f = m_findings[index.row()];
    switch (role) {
    case CodeRole: return f.code;
    case SeverityRole: return int(f.severity);
    case ObjectIdsRole: return f.objectIds;
    case RemedyRole: return f.remedy.kind == RemedyKind::None ? QString() : guiRemedyText(f.remedy);
    // The title first: the list elides it in a narrow pane.
    case Qt::ToolTipRole:
        return plainToolTip(escapeText(f.title) + QStringLiteral("\n") + escapeText(f.subject) + QStringLiteral("\n\n") +
                            escapeText(f.message));
    default: break;
    }
    switch (index.column()) {
    case SeverityColumn:
        if (role == Qt::DisplayRole)
            return severityLabel(f.severity);
        if (role == Qt::DecorationRole)
            return severityIcon(f.severity);
        break;
    case TitleColumn:
        if (role == Qt::DisplayRole)
            return f.title.isEmpty() ? f.code : f.title;
        break;
    case CodeColumn:
        if (role == Qt::DisplayRole)
            return f.code;
        break;
    default: break;
    }
    return {};
}

QVariant FindingListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case SeverityColumn: return tr("Severity");
    case TitleColumn: return tr("Finding");
    case CodeColumn: return tr("Code");
    default: return {};
    }
}

} // namespace staplescope::ui
