#pragma once

#include <QDialog>

class QCheckBox;
class QDoubleSpinBox;
class QListWidget;
class QSpinBox;

namespace staplescope::ui {

class AppSettings;

// Analysis options and extra trust anchors. Accepting writes them to AppSettings.
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
};

} // namespace staplescope::ui
