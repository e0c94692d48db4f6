#pragma once
// The bundle list: one row per bundle of an InspectionReport, worst first (core's order), plus a
// row for findings about the inputs themselves when there are any. The figures (time until the
// certificate expires, how long its staple stays valid) are core's (bundleWindows).

#include "FleetTimeline.h"
#include "Inspection.h"

#include <QAbstractTableModel>

namespace staplescope::ui {

class BundleListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // OriginColumn is headed "Location": the bundle's file or folder below the inputs' common
    // parent, or host:port.
    enum Column {
        SeverityColumn,
        NameColumn,
        VerdictColumn,
        FindingsColumn,
        OriginColumn,
        ExpiresColumn,       // "Expires in": time until the leaf's notAfter
        StapleColumn,        // "Staple valid for": time until the current staple's nextUpdate
        ColumnCount
    };
    enum Role {
        BundleIdRole = Qt::UserRole + 1, // QString; empty for the input-findings row
        SeverityRole,                    // int(Severity)
        HealthyRole,                     // bool: nothing worse than info
        InputsRowRole,                   // bool: the row for findings about the inputs
        SortRole,                        // what the column sorts by: seconds, counts, lower-case text; invalid sorts last
        FilterTextRole,                  // lower-case text a filter word is looked for in: names, location, codes, severities
    };

    explicit BundleListModel(QObject* parent = nullptr);

    void setReport(const InspectionReport& report);
    const InspectionReport& report() const { return m_report; }
    // What the row of findings not tied to a bundle is called ("Input files", "Connections", …).
    void setInputsRowLabel(const QString& label);

    // nullptr for the inputs row or a bad row.
    const BundleReport* bundleAt(int row) const;
    bool isInputsRow(int row) const;
    // Findings shown for a row: the bundle's, or the input findings.
    QList<Finding> findingsAt(int row) const;
    int rowOfBundle(const QString& bundleId) const;
    int inputsRow() const;
    // Two bundles or more are listed under the same name: the Location column tells them apart.
    bool displayNamesRepeat() const { return m_namesRepeat; }
    // The folder the Location column is relative to (empty: locations are shown in full).
    QString commonParent() const { return m_commonParent; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QString m_inputsRowLabel = tr("Input files");
    struct Row {
        int bundle = -1; // index into m_report.bundles; -1: the inputs row
        BundleWindows windows;
        QString location;
        QString filterText;
    };
    QString displayName(const BundleReport& b) const;
    static QString shortDuration(qint64 seconds);
    QString filterTextFor(int bundle) const;
    QVariant expiresData(const Row& row, int role) const;
    QVariant stapleData(const Row& row, int role) const;

    InspectionReport m_report;
    QList<Row> m_rows;
    bool m_namesRepeat = false;
    QString m_commonParent;
};

} // namespace staplescope::ui
