#pragma once

#include <QDialog>

class QCheckBox;
class QDoubleSpinBox;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace staplescope::ui {

class AppSettings;

// Analysis options, extra trust anchors and what runs after a staple refresh. Accepting writes
// them to AppSettings.
class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(AppSettings& settings, QWidget* parent = nullptr);
    void accept() override;

private:
    AppSettings& m_settings;
    QSpinBox* m_warningDays = nullptr;
    QDoubleSpinBox* m_refreshPercent = nullptr;
    QListWidget* m_anchors = nullptr;
    QCheckBox* m_systemTrust = nullptr;
    QLineEdit* m_reloadCommand = nullptr;
    QLineEdit* m_haproxySocket = nullptr;
};

} // namespace staplescope::ui
