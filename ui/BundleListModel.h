#pragma once
// The bundle list: one row per bundle of an InspectionReport, worst first (core's order), plus a
// row for findings about the inputs themselves when there are any.

#include "Inspection.h"

#include <QAbstractTableModel>

namespace staplescope::ui {

class BundleListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { SeverityColumn, NameColumn, VerdictColumn, FindingsColumn, OriginColumn, ColumnCount };
    enum Role {
        BundleIdRole = Qt::UserRole + 1, // QString; empty for the input-findings row
        SeverityRole,                    // int(Severity)
        HealthyRole,                     // bool: nothing worse than info
        InputsRowRole,                   // bool: the row for findings about the inputs
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

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QString m_inputsRowLabel = tr("Input files");
    struct Row {
        int bundle = -1; // index into m_report.bundles; -1: the inputs row
    };
    InspectionReport m_report;
    QList<Row> m_rows;
};

} // namespace staplescope::ui
