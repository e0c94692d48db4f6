#pragma once
// What the window remembers (QSettings): analysis options, extra trust anchors, recent files,
// geometry. Tests give it their own INI file.

#include "StartTls.h"

#include <QByteArray>
#include <QList>
#include <QSettings>
#include <QStringList>

#include <memory>
#include <optional>

namespace staplescope::ui {

// View ▸ Theme: the desktop's palette, or Staplescope's own light or dark one.
enum class Theme { System, Light, Dark };

// A server the Connect dialog remembers: what it was asked to connect to and how.
struct RecentServer {
    QString host; // without brackets
    quint16 port = 443;
    std::optional<StartTlsProtocol> startTls; // empty: by port
    QString serverName;                       // SNI; empty: the host
    // "host:port" as typed into the Connect dialog ([IPv6]:port).
    QString endpointText() const;
    bool sameEndpoint(const RecentServer& other) const;
    bool operator==(const RecentServer& other) const = default;
};

class AppSettings {
public:
    // Default: the platform's settings for organisation/application "Staplescope".
    AppSettings();
    explicit AppSettings(std::unique_ptr<QSettings> settings);

    // nullopt: core's default (a third of the lifetime, at most 30 days).
    std::optional<qint64> expiryWarningSeconds() const;
    void setExpiryWarningSeconds(std::optional<qint64> seconds);
    double stapleRefreshFraction() const; // 0.5 unless set
    void setStapleRefreshFraction(double fraction);
    QStringList extraTrustAnchors() const;
    void setExtraTrustAnchors(const QStringList& files);
    bool useSystemTrust() const;
    void setUseSystemTrust(bool use);

    // Staple refresh (RefreshOptions): run after any staple change (sh -c); empty: none.
    QString refreshReloadCommand() const;
    void setRefreshReloadCommand(const QString& command);
    // HAProxy's runtime API socket, told each new staple; empty: none.
    QString haproxySocket() const;
    void setHaproxySocket(const QString& path);

    // Deploy… remembers what was last deployed where (DeployOptions): the source folder, DEST,
    // the layout key ("all", "nginx", …), how many generations to keep, the HOST:PORT to verify.
    // The reload command and HAProxy socket are the refresh's (above).
    QString deploySource() const;
    void setDeploySource(const QString& path);
    QString deployDestination() const;
    void setDeployDestination(const QString& path);
    QString deployLayout() const; // "all" unless set
    void setDeployLayout(const QString& key);
    int deployKeep() const;       // 3 unless set
    void setDeployKeep(int keep);
    QString deployVerify() const;
    void setDeployVerify(const QString& hostPort);

    QStringList recentFiles() const;
    void addRecentFile(const QString& path); // most recent first, at most maxRecent
    void clearRecentFiles();
    static constexpr int maxRecent = 10;

    // Most recent first, at most maxRecentServers; one entry per host and port (the newest choice
    // of STARTTLS and SNI wins).
    QList<RecentServer> recentServers() const;
    void addRecentServer(const RecentServer& server);
    void clearRecentServers();
    static constexpr int maxRecentServers = 10;

    Theme theme() const; // System unless chosen
    void setTheme(Theme theme);

    QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray& geometry);
    QByteArray windowState() const;
    void setWindowState(const QByteArray& state);

    QSettings& raw() { return *m_settings; }

private:
    std::unique_ptr<QSettings> m_settings;
};

} // namespace staplescope::ui
