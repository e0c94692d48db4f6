#pragma once
// File ▸ Connect…: which server to check and how (protocol, SNI, pinned address, TLS version,
// timeouts, files to compare with). It only collects the request; core runs the check.

#include "ServerCheck.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace staplescope::ui {

class ConnectDialog : public QDialog {
    Q_OBJECT
public:
    explicit ConnectDialog(QWidget* parent = nullptr);

    // Pre-fills the fields (Re-check, recent servers).
    void setRequest(const ServerCheckRequest& request);
    // Valid only when accepted (or when requestError() is empty).
    ServerCheckRequest request() const;
    // Why the current input is not a request yet; empty when it is.
    QString requestError() const;

    QLineEdit* serverEdit() const { return m_server; }

private:
    void updateState();
    void browseCompare();

    QLineEdit* m_server = nullptr;
    QComboBox* m_protocol = nullptr;
    QLabel* m_protocolHint = nullptr;
    QLineEdit* m_serverName = nullptr;
    QLineEdit* m_addresses = nullptr;
    QComboBox* m_tlsVersion = nullptr;
    QSpinBox* m_timeout = nullptr;
    QLineEdit* m_compare = nullptr;
    QLabel* m_error = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace staplescope::ui
