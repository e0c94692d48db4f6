#pragma once
// What a deploy or a roll back did: flipped or not, rolled back with both verify results, the
// reload command's output, HAProxy's answers, the generations removed, the findings.

#include "Deployer.h"

#include <QDialog>

class QLabel;
class QPlainTextEdit;

namespace staplescope::ui {

// One sentence: the result's message, prefixed by what happened ("Deployed", "Rolled back", …).
QString deployResultHeadline(const DeployResult& result);
// Every step in plain text: generations, reload output, HAProxy, both verify results, findings.
// `rollback`: the result of Roll Back (its generation is the one returned to).
QString deployResultDetails(const DeployResult& result, bool rollback = false);

class DeployResultDialog : public QDialog {
    Q_OBJECT
public:
    DeployResultDialog(const DeployResult& result, const QString& title, bool rollback = false, QWidget* parent = nullptr);
    QString headline() const;
    QString details() const;

private:
    QLabel* m_headline = nullptr;
    QPlainTextEdit* m_details = nullptr;
};

} // namespace staplescope::ui
