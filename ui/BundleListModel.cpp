#include "BundleListModel.h"

#include "UiStyle.h"

#include <QApplication>
#include <QPalette>
#include <QSet>

#include <limits>

namespace staplescope::ui {

BundleListModel::BundleListModel(QObject* parent) : QAbstractTableModel(parent) {}

void BundleListModel::setReport(const InspectionReport& report)
{
    beginResetModel();
    m_report = report;
    m_rows.clear();
    m_commonParent = commonParentFolder(m_report.files);
    const Severity inputsWorst = worstSeverity(m_report.inputFindings);
    bool inputsPlaced = m_report.inputFindings.isEmpty();
    auto inputsRow = [this] {
        Row row;
        row.filterText = filterTextFor(-1);
        return row;
    };
    QSet<QString> names;
    m_namesRepeat = false;
    // Core orders bundles worst first; the inputs row goes where its severity puts it.
    for (int i = 0; i < m_report.bundles.size(); ++i) {
        if (!inputsPlaced && inputsWorst > m_report.bundles[i].worst) {
            m_rows << inputsRow();
            inputsPlaced = true;
        }
        const BundleReport& b = m_report.bundles[i];
        Row row;
        row.bundle = i;
        row.windows = bundleWindows(b, m_report.at);
        row.location = locationBelow(b.bundle.origin.isEmpty() ? b.bundle.leaf.source().path : b.bundle.origin, m_commonParent);
        row.filterText = filterTextFor(i) + QLatin1Char('\n') + row.location.toLower();
        const QString name = displayName(b);
        m_namesRepeat = m_namesRepeat || names.contains(name);
        names.insert(name);
        m_rows << row;
    }
    if (!inputsPlaced)
        m_rows << inputsRow();
    endResetModel();
}

QString BundleListModel::displayName(const BundleReport& b) const
{
    // A live server's bundle is named by where it came from: several addresses may serve the same name.
    return b.bundle.served && !b.bundle.origin.isEmpty() ? b.bundle.origin : b.bundle.leaf.commonName();
}

QString BundleListModel::filterTextFor(int bundle) const
{
    // Everything a filter word may name: the names, where it came from, the verdict, each finding's
    // code and severity, and the status word the list shows ("ok" for a healthy bundle).
    const BundleReport* b = bundle >= 0 ? &m_report.bundles[bundle] : nullptr;
    const QList<Finding>& findings = b ? b->findings : m_report.inputFindings;
    QStringList parts;
    if (b) {
        parts << displayName(*b) << b->bundle.leaf.displayName() << b->bundle.origin << b->bundle.leaf.source().path << b->verdict;
        parts << b->bundle.leaf.dnsNames();
    } else {
        parts << m_inputsRowLabel;
    }
    const Severity worst = b ? b->worst : worstSeverity(findings);
    parts << (worst == Severity::Info ? QStringLiteral("ok healthy") : severityName(worst));
    for (const Finding& f : findings)
        parts << f.code << severityName(f.severity);
    return parts.join(QLatin1Char('\n')).toLower();
}

QVariant BundleListModel::expiresData(const Row& row, int role) const
{
    const std::optional<qint64> seconds = row.windows.expiresInSeconds;
    if (role == SortRole)
        return seconds ? QVariant(*seconds) : QVariant();
    if (role == Qt::TextAlignmentRole)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    const BundleReport* b = row.bundle >= 0 ? &m_report.bundles[row.bundle] : nullptr;
    if (!b)
        return {};
    if (role == Qt::DisplayRole) {
        if (!seconds)
            return tr("unreadable");
        // Past notAfter: negative, and in the error colour (the Status column says "critical" too).
        return *seconds > 0 ? shortDuration(*seconds) : QStringLiteral("−") + shortDuration(-*seconds);
    }
    if (role == Qt::ForegroundRole && seconds && *seconds <= 0)
        return severityColor(Severity::Critical, QApplication::palette());
    if (role == Qt::ToolTipRole) {
        if (!seconds)
            return tr("The certificate's validity times do not parse");
        return *seconds > 0 ? tr("notAfter %1: in %2").arg(formatTime(b->bundle.leaf.notAfter()), formatDuration(*seconds))
                            : tr("notAfter %1: expired %2 ago").arg(formatTime(b->bundle.leaf.notAfter()), formatDuration(-*seconds));
    }
    return {};
}

QVariant BundleListModel::stapleData(const Row& row, int role) const
{
    const BundleWindows& w = row.windows;
    constexpr qint64 lowest = std::numeric_limits<qint64>::min();
    if (role == SortRole) {
        // Least useful first when ascending: none, unreadable, not yet valid, then by time left
        // (expired ones negative); open-ended last.
        if (row.bundle < 0)
            return {};
        switch (w.staple) {
        case StapleWindowState::None: return QVariant(lowest + 1);
        case StapleWindowState::Unreadable: return QVariant(lowest + 2);
        case StapleWindowState::NotYetValid: return QVariant(lowest + 3);
        case StapleWindowState::OpenEnded: return QVariant(std::numeric_limits<qint64>::max());
        case StapleWindowState::Valid:
        case StapleWindowState::Expired: return QVariant(w.stapleSecondsLeft.value_or(0));
        }
        return {};
    }
    if (role == Qt::TextAlignmentRole)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (row.bundle < 0)
        return {};
    if (role == Qt::DisplayRole) {
        switch (w.staple) {
        case StapleWindowState::None: return tr("none");
        case StapleWindowState::Valid: return shortDuration(w.stapleSecondsLeft.value_or(0));
        case StapleWindowState::Expired: return tr("expired");  // the time since is in the tooltip
        case StapleWindowState::NotYetValid: return tr("not yet valid");
        case StapleWindowState::OpenEnded: return tr("no end");
        case StapleWindowState::Unreadable: return tr("unreadable");
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (w.staple) {
        case StapleWindowState::None: return tr("No OCSP staple for this certificate among the inputs");
        case StapleWindowState::Valid:
            return tr("The staple's nextUpdate is in %1").arg(formatDuration(w.stapleSecondsLeft.value_or(0)));
        case StapleWindowState::Expired:
            return tr("The staple's nextUpdate passed %1 ago").arg(formatDuration(-w.stapleSecondsLeft.value_or(0)));
        case StapleWindowState::NotYetValid: return tr("The staple's thisUpdate is after the evaluation time");
        case StapleWindowState::OpenEnded: return tr("The staple has no nextUpdate: clients decide how long to believe it");
        case StapleWindowState::Unreadable: return tr("The staple is not a successful response with a validity window");
        }
    }
    return {};
}

QString BundleListModel::shortDuration(qint64 seconds)
{
    // Whole days from two days on (the figure admins compare), hours below.
    // Spelled out: without a loaded translation "%n day(s)" would show as it is written.
    if (seconds >= 2 * 86400)
        return tr("%1 days").arg(seconds / 86400);
    if (seconds >= 2 * 3600)
        return tr("%1 hours").arg(seconds / 3600);
    if (seconds >= 3600)
        return tr("1 hour");
    return tr("< 1 hour");
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
    // Asked for "the selected row" while none is (the fleet is shown): nothing, quietly.
    if (!index.isValid())
        return {};
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int row = index.row();
    const BundleReport* b = bundleAt(row);
    const QList<Finding>& findings = b ? b->findings : m_report.inputFindings;
    const Severity worst = b ? b->worst : worstSeverity(m_report.inputFindings);
    const bool healthy = worst == Severity::Info;

    const Row& rowData = m_rows[row];
    if (index.column() == ExpiresColumn)
        return expiresData(rowData, role);
    if (index.column() == StapleColumn)
        return stapleData(rowData, role);
    switch (role) {
    case FilterTextRole: return rowData.filterText;
    case BundleIdRole: return b ? b->bundle.id : QString();
    case SeverityRole: return int(worst);
    case HealthyRole: return healthy;
    case InputsRowRole: return b == nullptr;
    default: break;
    }

    if (role == SortRole) {
        switch (index.column()) {
        case SeverityColumn: return row; // core's order: worst first
        case NameColumn: return b ? displayName(*b).toLower() : m_inputsRowLabel.toLower();
        case VerdictColumn: return b ? QVariant(b->verdict.toLower()) : QVariant();
        case FindingsColumn: return int(findings.size());
        case OriginColumn: return b ? QVariant(rowData.location.toLower()) : QVariant();
        default: return {};
        }
    }

    switch (index.column()) {
    case SeverityColumn:
        if (role == Qt::DisplayRole) {
            // The CLI's words: core's for a healthy bundle; a bundle with nothing worse than
            // information but another verdict (superseded) by its severity, as the CLI's badge.
            if (healthy)
                return !b || b->verdict == healthyVerdict() ? healthyVerdict() : severityLabel(Severity::Info);
            return severityLabel(worst);
        }
        if (role == Qt::DecorationRole)
            return severityIcon(worst, healthy);
        if (role == Qt::ToolTipRole)
            return healthy ? tr("Nothing worse than information") : tr("Worst finding: %1").arg(severityName(worst));
        break;
    case NameColumn:
        if (role == Qt::DisplayRole)
            return b ? displayName(*b) : m_inputsRowLabel;
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
        if (role == Qt::DisplayRole)
            return rowData.location;
        if (role == Qt::ToolTipRole)
            return plainToolTip(b ? (b->bundle.origin.isEmpty() ? b->bundle.leaf.source().path : b->bundle.origin) : QString());
        break;
    default: break;
    }
    return {};
}

QVariant BundleListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        switch (section) {
        case OriginColumn:
            return m_commonParent.isEmpty() ? tr("Where the bundle was read from, or the server it came from")
                                            : plainToolTip(tr("Where the bundle was read from, below %1; or the server it came from")
                                                               .arg(m_commonParent));
        case ExpiresColumn: return tr("Time until the certificate's notAfter, as of the evaluation time");
        case StapleColumn: return tr("Time until the nextUpdate of the certificate's staple, as of the evaluation time");
        default: break;
        }
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case SeverityColumn: return tr("Status");
    case NameColumn: return tr("Certificate");
    case VerdictColumn: return tr("Verdict");
    case FindingsColumn: return tr("Findings");
    case OriginColumn: return tr("Location");
    case ExpiresColumn: return tr("Expires in");
    case StapleColumn: return tr("Staple valid for");
    default: return {};
    }
}

void BundleListModel::setInputsRowLabel(const QString& label)
{
    if (label == m_inputsRowLabel)
        return;
    m_inputsRowLabel = label;
    const int row = inputsRow();
    if (row >= 0) {
        m_rows[row].filterText = filterTextFor(-1);
        emit dataChanged(index(row, NameColumn), index(row, NameColumn));
    }
}

} // namespace staplescope::ui
