#pragma once
// Help ▸ About Staplescope: the icon, the name, the version the build was configured with, what the
// program does, and the Qt and OpenSSL it runs on.

#include <QDialog>

class QLabel;

namespace staplescope::ui {

class AboutDialog : public QDialog {
    Q_OBJECT
public:
    explicit AboutDialog(QWidget* parent = nullptr);

    // For tests: the labels as shown.
    QLabel* iconLabel() const { return m_icon; }
    QLabel* versionLabel() const { return m_version; }

private:
    QLabel* m_icon = nullptr;
    QLabel* m_version = nullptr;
};

} // namespace staplescope::ui
