#pragma once
// File ▸ Connect…: which server to check and how (protocol, SNI, pinned address, TLS version,
// timeouts, files to compare with). It only collects the request; core runs the check.

#include "AppSettings.h"
#include "ServerCheck.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QToolButton;

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

    // The server field: an editable combo listing the recent servers (completion as you type).
    QLineEdit* serverEdit() const { return m_server; }
    QComboBox* serverCombo() const { return m_serverCombo; }
    QComboBox* protocolCombo() const { return m_protocol; }
    QLineEdit* serverNameEdit() const { return m_serverName; }

    // Offers `settings`' recent servers (most recent first); choosing one fills its protocol and
    // SNI, and "Clear Recent" empties the list in `settings`. The dialog does not add to it: the
    // window remembers what it connects to.
    void setRecentServers(AppSettings* settings);
    QToolButton* clearRecentButton() const { return m_clearRecent; }

    // The request as a recent-servers entry.
    static RecentServer recentServerOf(const ServerCheckRequest& request);

private:
    void updateState();
    void browseCompare();
    void fillFromRecent(int index);
    void clearRecent();

    AppSettings* m_settings = nullptr;
    QList<RecentServer> m_recent;
    QComboBox* m_serverCombo = nullptr;
    QToolButton* m_clearRecent = nullptr;
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
