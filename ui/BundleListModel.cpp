#include "BundleListModel.h"

#include "UiStyle.h"

#include <QApplication>
#include <QPalette>

namespace staplescope::ui {

BundleListModel::BundleListModel(QObject* parent) : QAbstractTableModel(parent) {}

void BundleListModel::setReport(const InspectionReport& report)
{
    beginResetModel();
    m_report = report;
    m_rows.clear();
    const Severity inputsWorst = worstSeverity(m_report.inputFindings);
    bool inputsPlaced = m_report.inputFindings.isEmpty();
    // Core orders bundles worst first; the inputs row goes where its severity puts it.
    for (int i = 0; i < m_report.bundles.size(); ++i) {
        if (!inputsPlaced && inputsWorst > m_report.bundles[i].worst) {
            m_rows << Row{-1};
            inputsPlaced = true;
        }
        m_rows << Row{i};
    }
    if (!inputsPlaced)
        m_rows << Row{-1};
    endResetModel();
}

const BundleReport* BundleListModel::bundleAt(int row) const
{
    if (row < 0 || row >= m_rows.size() || m_rows[row].bundle < 0)
        return nullptr;
    return &m_report.bundles[m_rows[row].bundle];
}

bool BundleListModel::isInputsRow(int row) const { return row >= 0 && row < m_rows.size() && m_rows[row].bundle < 0; }

QList<Finding> BundleListModel::findingsAt(int row) const
{
    if (isInputsRow(row))
        return m_report.inputFindings;
    if (const BundleReport* b = bundleAt(row))
        return b->findings;
    return {};
}

int BundleListModel::rowOfBundle(const QString& bundleId) const
{
    for (int r = 0; r < m_rows.size(); ++r)
        if (m_rows[r].bundle >= 0 && m_report.bundles[m_rows[r].bundle].bundle.id == bundleId)
            return r;
    return -1;
}

int BundleListModel::inputsRow() const
{
    for (int r = 0; r < m_rows.size(); ++r)
        if (m_rows[r].bundle < 0)
            return r;
    return -1;
}

int BundleListModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int BundleListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant BundleListModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int row = index.row();
    const BundleReport* b = bundleAt(row);
    const QList<Finding>& findings = b ? b->findings : m_report.inputFindings;
    const Severity worst = b ? b->worst : worstSeverity(m_report.inputFindings);
    const bool healthy = worst == Severity::Info;

    switch (role) {
    case BundleIdRole: return b ? b->bundle.id : QString();
    case SeverityRole: return int(worst);
    case HealthyRole: return healthy;
    case InputsRowRole: return b == nullptr;
    default: break;
    }

    switch (index.column()) {
    case SeverityColumn:
        if (role == Qt::DisplayRole)
            return healthy ? tr("OK") : severityLabel(worst);
        if (role == Qt::DecorationRole)
            return severityIcon(worst, healthy);
        if (role == Qt::ToolTipRole)
            return healthy ? tr("Nothing worse than information") : tr("Worst finding: %1").arg(severityName(worst));
        break;
    case NameColumn:
        if (role == Qt::DisplayRole)
            // A live server's bundle is named by where it came from: several addresses may serve
            // the same name.
            return b ? (b->bundle.served && !b->bundle.origin.isEmpty() ? b->bundle.origin : b->bundle.leaf.commonName())
                     : m_inputsRowLabel;
        if (role == Qt::ToolTipRole)
            return b ? plainToolTip(b->bundle.served ? tr("%1, served by %2").arg(b->bundle.leaf.displayName(), b->bundle.origin)
                                                     : b->bundle.leaf.displayName())
                     : tr("Findings about the files read and the servers connected to");
        break;
    case VerdictColumn:
        if (role == Qt::DisplayRole) {
            if (b)
                return b->verdict;
            for (const Finding& f : findings)
                if (f.severity == worst)
                    return f.title;
            return tr("All files read");
        }
        if (role == Qt::ToolTipRole && b)
            return plainToolTip(b->verdict);
        break;
    case FindingsColumn:
        if (role == Qt::DisplayRole)
            return int(findings.size());
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case OriginColumn:
        if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
            const QString origin = b ? (b->bundle.origin.isEmpty() ? b->bundle.leaf.source().path : b->bundle.origin) : QString();
            return role == Qt::ToolTipRole ? plainToolTip(origin) : origin;
        }
        break;
    default: break;
    }
    return {};
}

QVariant BundleListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case SeverityColumn: return tr("Status");
    case NameColumn: return tr("Certificate");
    case VerdictColumn: return tr("Verdict");
    case FindingsColumn: return tr("Findings");
    case OriginColumn: return tr("Location");
    default: return {};
    }
}

void BundleListModel::setInputsRowLabel(const QString& label)
{
    if (label == m_inputsRowLabel)
        return;
    m_inputsRowLabel = label;
    const int row = inputsRow();
    if (row >= 0)
        emit dataChanged(index(row, NameColumn), index(row, NameColumn));
}

} // namespace staplescope::ui
