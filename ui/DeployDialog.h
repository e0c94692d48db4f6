#pragma once
// Deploy…: what to deploy where (a source folder, DEST, the layout, how many generations to keep,
// what tells the servers, the HOST:PORT to verify). Plan… hands the options to the workspace,
// which plans off the GUI thread; nothing changes here. The values are remembered in the settings.

#include "Deployer.h"

#include <QDialog>

class QComboBox;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace staplescope::ui {

class AppSettings;

class DeployDialog : public QDialog {
    Q_OBJECT
public:
    // `base`: the workspace's options (settings, trust); the fields start from them.
    DeployDialog(const DeployOptions& base, QWidget* parent = nullptr);

    // The options as filled in.
    DeployOptions options() const;
    // Remembers source, DEST, layout, keep and verify (Deploy…), reload command and HAProxy socket
    // (shared with the staple refresh).
    void remember(AppSettings& settings) const;

    QLineEdit* sourceEdit() const { return m_source; }
    QLineEdit* destinationEdit() const { return m_destination; }
    QComboBox* layoutBox() const { return m_layout; }
    QSpinBox* keepBox() const { return m_keep; }
    QLineEdit* reloadEdit() const { return m_reload; }
    QLineEdit* haproxyEdit() const { return m_haproxy; }
    QLineEdit* verifyEdit() const { return m_verify; }
    QPushButton* planButton() const { return m_plan; }

private:
    void updateButtons();

    DeployOptions m_base;
    QLineEdit* m_source = nullptr;
    QLineEdit* m_destination = nullptr;
    QComboBox* m_layout = nullptr;
    QSpinBox* m_keep = nullptr;
    QLineEdit* m_reload = nullptr;
    QLineEdit* m_haproxy = nullptr;
    QLineEdit* m_verify = nullptr;
    QPushButton* m_plan = nullptr;
};

} // namespace staplescope::ui
