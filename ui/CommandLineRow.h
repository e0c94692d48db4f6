#pragma once
// A command line to copy into a terminal (the sudo line for a deploy, renew or refresh the user
// cannot run themselves, the ACME client's exact command): read-only, monospace, with Copy.

#include <QWidget>

class QLineEdit;
class QPushButton;

namespace staplescope::ui {

class CommandLineRow : public QWidget {
    Q_OBJECT
public:
    CommandLineRow(const QString& line, const QString& accessibleName, QWidget* parent = nullptr);
    QString text() const;
    QLineEdit* edit() const { return m_edit; }
    QPushButton* copyButton() const { return m_copy; }

private:
    QLineEdit* m_edit = nullptr;
    QPushButton* m_copy = nullptr;
};

} // namespace staplescope::ui
