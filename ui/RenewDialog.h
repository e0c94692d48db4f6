#pragma once
// Renew…: the plan for one certificate (its ACME client and how it was recognised, the exact
// command, whether renewal is due and the CA's suggested window, where the result is deployed),
// a plain sentence that a started renewal cannot be stopped, then the client's output as it comes,
// then the result evaluated again on a timeline beside the previous certificate. A certificate
// whose folders the user cannot write gets the sudo line instead of Start. Core plans, runs and
// judges; this shows it.

#include "Renewal.h"

#include <QDialog>

#include <memory>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTextBrowser;

namespace staplescope {
class Clock;
}

namespace staplescope::ui {

class CommandLineRow;
class TimelineWidget;
class Workspace;

class RenewDialog : public QDialog {
    Q_OBJECT
public:
    // `privilegedFolders` non-empty: Start is replaced by `sudoLine`.
    RenewDialog(Workspace& workspace, const RenewPlan& plan, const RenewOptions& options,
                const QStringList& privilegedFolders, const QString& sudoLine, std::shared_ptr<const Clock> clock,
                QWidget* parent = nullptr);

    const RenewPlan& plan() const { return m_plan; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* closeButton() const { return m_close; }
    QString planText() const;     // the plan as shown, plain text
    QString commandText() const;  // the client's exact command (ClientCommand::display())
    QString warningText() const;  // the sentence that a renewal cannot be stopped
    QString outputText() const;   // what the client printed so far
    QString resultText() const;   // the result, once there
    QString sudoLine() const;     // empty when the user can renew
    TimelineWidget* timeline() const { return m_timeline; }
    bool isRunning() const { return m_job != 0; }
    const std::optional<RenewResult>& result() const { return m_result; }

    void reject() override; // not while the client runs: it cannot be stopped

signals:
    void started();
    void renewFinished();

private:
    void start();
    void showResult(const RenewResult& result);

    Workspace& m_workspace;
    RenewPlan m_plan;
    RenewOptions m_options;
    std::shared_ptr<const Clock> m_clock;
    quint64 m_job = 0;
    std::optional<RenewResult> m_result;
    QWidget* m_top = nullptr;    // the plan, the command, the warning
    QWidget* m_bottom = nullptr; // the output, the result
    QTextBrowser* m_planView = nullptr;
    CommandLineRow* m_command = nullptr;
    QLabel* m_warning = nullptr;
    CommandLineRow* m_sudo = nullptr;
    QLabel* m_outputLabel = nullptr;
    QPlainTextEdit* m_output = nullptr;
    QPlainTextEdit* m_resultView = nullptr;
    TimelineWidget* m_timeline = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_close = nullptr;
};

// "certbot", "lego", … as shown (translated where it is a word).
QString acmeClientLabel(AcmeClient client);

} // namespace staplescope::ui
