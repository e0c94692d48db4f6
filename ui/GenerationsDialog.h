#pragma once
// Deploy ▸ Generations…: a deploy destination's generations (listGenerations, read off the GUI
// thread): which one is current, each one's certificate and staple windows and problems, drawn on
// a timeline core builds (buildGenerationsTimeline); Roll back flips DEST/current to the
// generation before the current one (or the one selected), after a confirmation naming it. A DEST
// the user cannot write gets the sudo line instead.

#include "Deployer.h"

#include <QDialog>

#include <memory>

class QLabel;
class QLineEdit;
class QMessageBox;
class QPushButton;
class QSplitter;
class QTreeWidget;

namespace staplescope {
class Clock;
}

namespace staplescope::ui {

class CommandLineRow;
class TimelineWidget;
class Workspace;

class GenerationsDialog : public QDialog {
    Q_OBJECT
public:
    enum Column { NameColumn, CurrentColumn, CertificateColumn, SerialColumn, CertificateWindowColumn,
                  StapleWindowColumn, ProblemColumn, ColumnCount };

    // `options`: reload command, HAProxy socket and verify used by a roll back; `options.to` is DEST.
    GenerationsDialog(Workspace& workspace, const DeployOptions& options, std::shared_ptr<const Clock> clock,
                      QWidget* parent = nullptr);

    // Lists `destination` (a job); listed() follows.
    void listDestination(const QString& destination);
    QString destination() const { return m_options.to; }
    const QList<GenerationInfo>& generations() const { return m_generations; }
    QTreeWidget* table() const { return m_table; }
    TimelineWidget* timeline() const { return m_timeline; }
    QPushButton* rollbackButton() const { return m_rollback; }
    QLabel* statusLabel() const { return m_status; }
    QString sudoLine() const;
    // The generation Roll back returns to: the selected one when it is not current, else the one
    // listed after the current one (the newest before it); empty when there is none.
    QString rollbackTarget() const;
    // The confirmation Roll back opened (open(), not exec()); null when none is showing.
    QMessageBox* confirmation() const { return m_confirmation; }

signals:
    void listed();
    void rollbackFinished(bool ok);

private:
    void showGenerations(const QList<GenerationInfo>& generations, const QString& why);
    void askRollback();
    void updateButtons();

    Workspace& m_workspace;
    std::shared_ptr<const Clock> m_clock;
    DeployOptions m_options;
    QList<GenerationInfo> m_generations;
    quint64 m_listJob = 0;
    quint64 m_rollbackJob = 0;
    QLineEdit* m_destinationEdit = nullptr;
    QLabel* m_status = nullptr;
    QSplitter* m_split = nullptr;
    QTreeWidget* m_table = nullptr;
    TimelineWidget* m_timeline = nullptr;
    QPushButton* m_rollback = nullptr;
    CommandLineRow* m_sudo = nullptr;
    QLabel* m_sudoLabel = nullptr;
    QMessageBox* m_confirmation = nullptr;
};

} // namespace staplescope::ui
