#pragma once
// Shows a staple refresh plan before anything changes: per bundle the outcome, why, which file is
// written or moved aside, the old and the new staple window, its findings; then the reload command
// and HAProxy socket that will run, and whether an administrator must apply it. Apply or Cancel.
// It presents the plan core made; it decides nothing.

#include "RefreshPlan.h"

#include <QDialog>

class QLabel;
class QPushButton;
class QTextBrowser;
class QTreeWidget;

namespace staplescope::ui {

class RefreshPlanDialog : public QDialog {
    Q_OBJECT
public:
    enum Column { BundleColumn, OutcomeColumn, FileColumn, WindowColumn, ColumnCount };

    // `privilegedFiles`: the destinations the user cannot change (Apply goes through pkexec).
    RefreshPlanDialog(const RefreshPlan& plan, const QStringList& privilegedFiles, QWidget* parent = nullptr);

    const RefreshPlan& plan() const { return m_plan; }
    QTreeWidget* list() const { return m_list; }
    QPushButton* applyButton() const { return m_apply; }
    QPushButton* cancelButton() const { return m_cancel; }
    // The "after the change" lines (reload command, HAProxy socket) as shown, for tests.
    QString afterText() const;
    // What the details below the list say about the selected bundle (its reason, windows, findings).
    QString detailsText() const;

private:
    RefreshPlan m_plan;
    void showDetails(int bundleIndex);

    QTreeWidget* m_list = nullptr;
    QTextBrowser* m_details = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_after = nullptr;
    QLabel* m_privileged = nullptr;
    QPushButton* m_apply = nullptr;
    QPushButton* m_cancel = nullptr;
};

// "good · 2026-12-01 08:00:00 UTC → 2026-12-08 08:00:00 UTC (serial 0A:…)"; "none" for a null window.
QString stapleWindowText(const StapleWindow& window);

} // namespace staplescope::ui
