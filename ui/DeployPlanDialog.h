#pragma once
// Shows a deploy plan before anything changes: the action and why, the certificate, the new
// generation's name, the staple fetched for it, the gate's findings, what DEST/current holds now
// and which old generations go; then what runs after the flip. Deploy or Cancel. When the user
// cannot write DEST (or read the key), Deploy is off and the exact sudo line is shown instead.
// It presents the plan core made; it decides nothing.

#include "Deployer.h"

#include <QDialog>

class QLabel;
class QPushButton;
class QTextBrowser;

namespace staplescope::ui {

class CommandLineRow;

class DeployPlanDialog : public QDialog {
    Q_OBJECT
public:
    // `privilegedPaths` non-empty: Deploy is replaced by `sudoLine`.
    DeployPlanDialog(const DeployPlan& plan, const DeployOptions& options, const QStringList& privilegedPaths,
                     const QString& sudoLine, QWidget* parent = nullptr);

    const DeployPlan& plan() const { return m_plan; }
    const DeployOptions& options() const { return m_options; }
    QPushButton* deployButton() const { return m_deploy; }
    QPushButton* cancelButton() const { return m_cancel; }
    QString summaryText() const;
    QString detailsText() const; // the plan as shown, plain text
    QString sudoLine() const;    // empty when the user can deploy

private:
    DeployPlan m_plan;
    DeployOptions m_options;
    QLabel* m_summary = nullptr;
    QTextBrowser* m_details = nullptr;
    CommandLineRow* m_sudo = nullptr;
    QPushButton* m_deploy = nullptr;
    QPushButton* m_cancel = nullptr;
};

// "Deploy", "Up to date", "Refused" (translated).
QString deployActionLabel(DeployAction action);
// "2026-12-01 08:00:00 UTC → 2027-03-01 08:00:00 UTC"; "?" for a missing end.
QString windowText(const QDateTime& start, const QDateTime& end);
// The findings as an HTML list (escaped), for the plan and result dialogs; empty for none.
QString findingsHtml(const QList<Finding>& findings, const QPalette& palette);

} // namespace staplescope::ui
