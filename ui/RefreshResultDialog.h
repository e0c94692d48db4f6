#pragma once
// What applying a staple refresh did: each file step, the reload command and HAProxy updates (run
// in-process), or what `pkexec staplescope-cli apply` printed; and, when pkexec or polkit could
// not do it, the exact sudo line to copy, with the plan file it names.

#include "Workspace.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPlainTextEdit;

namespace staplescope::ui {

class RefreshResultDialog : public QDialog {
    Q_OBJECT
public:
    explicit RefreshResultDialog(const RefreshApplyResult& result, QWidget* parent = nullptr);

    QString headline() const;
    QString details() const;
    QString sudoLine() const; // empty when none is shown

private:
    QLabel* m_headline = nullptr;
    QPlainTextEdit* m_details = nullptr;
    QLineEdit* m_sudoLine = nullptr;
};

// One line for the status bar and the dialog's headline.
QString refreshResultHeadline(const RefreshApplyResult& result);
// Everything that happened, as plain text (outside text escaped by core and by runProcess).
QString refreshResultDetails(const RefreshApplyResult& result);

} // namespace staplescope::ui
