#include "AppSettings.h"

#include <QDir>
#include <QFileInfo>

namespace staplescope::ui {

AppSettings::AppSettings() : m_settings(std::make_unique<QSettings>(QStringLiteral("Staplescope"), QStringLiteral("Staplescope"))) {}

AppSettings::AppSettings(std::unique_ptr<QSettings> settings) : m_settings(std::move(settings)) {}

std::optional<qint64> AppSettings::expiryWarningSeconds() const
{
    const QVariant v = m_settings->value(QStringLiteral("analysis/expiryWarningSeconds"));
    if (!v.isValid() || v.toLongLong() <= 0)
        return std::nullopt;
    return v.toLongLong();
}

void AppSettings::setExpiryWarningSeconds(std::optional<qint64> seconds)
{
    if (seconds && *seconds > 0)
        m_settings->setValue(QStringLiteral("analysis/expiryWarningSeconds"), *seconds);
    else
        m_settings->remove(QStringLiteral("analysis/expiryWarningSeconds"));
}

double AppSettings::stapleRefreshFraction() const
{
    const double f = m_settings->value(QStringLiteral("analysis/stapleRefreshFraction"), 0.5).toDouble();
    return (f > 0.0 && f < 1.0) ? f : 0.5;
}

void AppSettings::setStapleRefreshFraction(double fraction)
{
    m_settings->setValue(QStringLiteral("analysis/stapleRefreshFraction"), fraction);
}

// Empty values are removed, so the settings file only holds what was chosen.
static void setOrRemove(QSettings& settings, const QString& key, const QString& value)
{
    if (value.trimmed().isEmpty())
        settings.remove(key);
    else
        settings.setValue(key, value.trimmed());
}

QString AppSettings::refreshReloadCommand() const
{
    return m_settings->value(QStringLiteral("refresh/reloadCommand")).toString();
}

void AppSettings::setRefreshReloadCommand(const QString& command)
{
    setOrRemove(*m_settings, QStringLiteral("refresh/reloadCommand"), command);
}

QString AppSettings::haproxySocket() const
{
    return m_settings->value(QStringLiteral("refresh/haproxySocket")).toString();
}

void AppSettings::setHaproxySocket(const QString& path)
{
    setOrRemove(*m_settings, QStringLiteral("refresh/haproxySocket"), path);
}

QString AppSettings::deploySource() const { return m_settings->value(QStringLiteral("deploy/source")).toString(); }
void AppSettings::setDeploySource(const QString& path) { setOrRemove(*m_settings, QStringLiteral("deploy/source"), path); }
QString AppSettings::deployDestination() const { return m_settings->value(QStringLiteral("deploy/destination")).toString(); }
void AppSettings::setDeployDestination(const QString& path)
{
    setOrRemove(*m_settings, QStringLiteral("deploy/destination"), path);
}
QString AppSettings::deployLayout() const
{
    return m_settings->value(QStringLiteral("deploy/layout"), QStringLiteral("all")).toString();
}
void AppSettings::setDeployLayout(const QString& key) { setOrRemove(*m_settings, QStringLiteral("deploy/layout"), key); }
int AppSettings::deployKeep() const { return qMax(1, m_settings->value(QStringLiteral("deploy/keep"), 3).toInt()); }
void AppSettings::setDeployKeep(int keep) { m_settings->setValue(QStringLiteral("deploy/keep"), qMax(1, keep)); }
QString AppSettings::deployVerify() const { return m_settings->value(QStringLiteral("deploy/verify")).toString(); }
void AppSettings::setDeployVerify(const QString& hostPort)
{
    setOrRemove(*m_settings, QStringLiteral("deploy/verify"), hostPort);
}

QStringList AppSettings::extraTrustAnchors() const
{
    return m_settings->value(QStringLiteral("trust/extraAnchors")).toStringList();
}

void AppSettings::setExtraTrustAnchors(const QStringList& files)
{
    m_settings->setValue(QStringLiteral("trust/extraAnchors"), files);
}

bool AppSettings::useSystemTrust() const { return m_settings->value(QStringLiteral("trust/useSystem"), true).toBool(); }
void AppSettings::setUseSystemTrust(bool use) { m_settings->setValue(QStringLiteral("trust/useSystem"), use); }

QStringList AppSettings::recentFiles() const
{
    return m_settings->value(QStringLiteral("recent/files")).toStringList();
}

void AppSettings::addRecentFile(const QString& path)
{
    const QString clean = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    QStringList list = recentFiles();
    list.removeAll(clean);
    list.prepend(clean);
    while (list.size() > maxRecent)
        list.removeLast();
    m_settings->setValue(QStringLiteral("recent/files"), list);
}

void AppSettings::clearRecentFiles() { m_settings->remove(QStringLiteral("recent/files")); }

QString RecentServer::endpointText() const
{
    const QString shownHost = host.contains(QLatin1Char(':')) ? QStringLiteral("[%1]").arg(host) : host;
    return shownHost + QLatin1Char(':') + QString::number(port); // a host may hold "%1": no arg()
}

bool RecentServer::sameEndpoint(const RecentServer& other) const
{
    return port == other.port && host.compare(other.host, Qt::CaseInsensitive) == 0;
}

QList<RecentServer> AppSettings::recentServers() const
{
    QList<RecentServer> servers;
    // Bounded like the list it was written as: a hand-edited file cannot make it longer.
    const int count = qMin(m_settings->beginReadArray(QStringLiteral("recent/servers")), maxRecentServers);
    for (int i = 0; i < count; ++i) {
        m_settings->setArrayIndex(i);
        RecentServer server;
        server.host = m_settings->value(QStringLiteral("host")).toString().trimmed();
        const uint port = m_settings->value(QStringLiteral("port")).toUInt();
        if (server.host.isEmpty() || port == 0 || port > 65535)
            continue;
        server.port = quint16(port);
        const QString startTls = m_settings->value(QStringLiteral("startTls")).toString();
        if (!startTls.isEmpty())
            server.startTls = startTlsProtocolFromName(startTls); // an unknown name: by port
        server.serverName = m_settings->value(QStringLiteral("serverName")).toString().trimmed();
        servers << server;
    }
    m_settings->endArray();
    return servers;
}

void AppSettings::addRecentServer(const RecentServer& server)
{
    QList<RecentServer> servers = recentServers();
    servers.removeIf([&server](const RecentServer& s) { return s.sameEndpoint(server); });
    servers.prepend(server);
    while (servers.size() > maxRecentServers)
        servers.removeLast();
    m_settings->remove(QStringLiteral("recent/servers"));
    m_settings->beginWriteArray(QStringLiteral("recent/servers"), int(servers.size()));
    for (int i = 0; i < servers.size(); ++i) {
        m_settings->setArrayIndex(i);
        m_settings->setValue(QStringLiteral("host"), servers[i].host);
        m_settings->setValue(QStringLiteral("port"), servers[i].port);
        if (servers[i].startTls)
            m_settings->setValue(QStringLiteral("startTls"), startTlsProtocolName(*servers[i].startTls));
        if (!servers[i].serverName.isEmpty())
            m_settings->setValue(QStringLiteral("serverName"), servers[i].serverName);
    }
    m_settings->endArray();
}

void AppSettings::clearRecentServers() { m_settings->remove(QStringLiteral("recent/servers")); }

Theme AppSettings::theme() const
{
    const QString name = m_settings->value(QStringLiteral("view/theme")).toString();
    if (name == QLatin1String("light"))
        return Theme::Light;
    if (name == QLatin1String("dark"))
        return Theme::Dark;
    return Theme::System;
}

void AppSettings::setTheme(Theme theme)
{
    switch (theme) {
    case Theme::System: m_settings->remove(QStringLiteral("view/theme")); break;
    case Theme::Light: m_settings->setValue(QStringLiteral("view/theme"), QStringLiteral("light")); break;
    case Theme::Dark: m_settings->setValue(QStringLiteral("view/theme"), QStringLiteral("dark")); break;
    }
}

QByteArray AppSettings::windowGeometry() const { return m_settings->value(QStringLiteral("window/geometry")).toByteArray(); }
void AppSettings::setWindowGeometry(const QByteArray& g) { m_settings->setValue(QStringLiteral("window/geometry"), g); }
QByteArray AppSettings::windowState() const { return m_settings->value(QStringLiteral("window/state")).toByteArray(); }
void AppSettings::setWindowState(const QByteArray& s) { m_settings->setValue(QStringLiteral("window/state"), s); }

} // namespace staplescope::ui
