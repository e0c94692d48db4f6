#include "RealServers.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QThread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace staplescope::test {

namespace {

// Quotes a path for /bin/sh (test folders never hold a single quote, but say so if one does).
QString shellQuote(const QString& word)
{
    QString quoted = word;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QStringList nginxCommonArguments(const NginxOptions& options)
{
    return {QStringLiteral("-p"), options.dir,
            QStringLiteral("-c"), options.dir + QStringLiteral("/nginx.conf"),
            QStringLiteral("-e"), options.dir + QStringLiteral("/error.log")};
}

} // namespace

QString findServer(const QString& name)
{
    const QStringList extra{QStringLiteral("/usr/sbin"), QStringLiteral("/usr/local/sbin"),
                            QStringLiteral("/sbin")};
    QString path = QStandardPaths::findExecutable(name);
    if (path.isEmpty())
        path = QStandardPaths::findExecutable(name, extra);
    return path;
}

quint16 freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    quint16 port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

bool ipv6PortAccepts(quint16 port)
{
    const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_loopback;
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0)
        ::close(fd);
    return ok;
}

bool portAccepts(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0)
        ::close(fd);
    return ok || ipv6PortAccepts(port);
}

QString makeServerDir(const QString& parent, const QString& name)
{
    const QString path = QDir(parent).filePath(name);
    QDir().mkpath(path);
    ::chmod(QFile::encodeName(path).constData(), 0777);
    return path;
}

ServerProcess::ServerProcess(const QString& name, const QString& program, const QStringList& args,
                             const QString& dir)
    : m_name(name), m_outputPath(QDir(dir).filePath(name + QStringLiteral(".out")))
{
    m_process.setProgram(program);
    m_process.setArguments(args);
    m_process.setWorkingDirectory(dir);
    m_process.setProcessChannelMode(QProcess::MergedChannels);
    m_process.setStandardOutputFile(m_outputPath);
}

bool ServerProcess::start(quint16 port, QString* why)
{
    m_process.start();
    if (!m_process.waitForStarted(3000)) {
        *why = m_name + QStringLiteral(" did not start: ") + m_process.errorString();
        return false;
    }
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 8000) {
        if (m_process.state() != QProcess::Running) {
            *why = QStringLiteral("%1 exited at start: %2").arg(m_name, output());
            return false;
        }
        if (portAccepts(port))
            return true;
        QThread::msleep(20);
    }
    *why = QStringLiteral("%1 did not listen on port %2 within 8 s: %3").arg(m_name).arg(port).arg(output());
    return false;
}

void ServerProcess::stop()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.terminate();
    if (!m_process.waitForFinished(3000)) {
        m_process.kill();
        m_process.waitForFinished(2000);
    }
}

QString ServerProcess::output() const
{
    QFile f(m_outputPath);
    return f.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(f.readAll().right(2000)) : QString();
}

QByteArray nginxConfig(const NginxOptions& options)
{
    const QString stapling =
        options.staple.isEmpty()
            ? QString()
            : QStringLiteral("ssl_stapling on;\n        ssl_stapling_file %1;").arg(options.staple);
    return QStringLiteral(R"(daemon off;
master_process %7;
worker_processes 1;
pid %1/nginx.pid;
error_log %1/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %1/tmp/body;
    proxy_temp_path %1/tmp/proxy;
    fastcgi_temp_path %1/tmp/fastcgi;
    uwsgi_temp_path %1/tmp/uwsgi;
    scgi_temp_path %1/tmp/scgi;
    server {
        listen 127.0.0.1:%2 ssl;
        server_name %3;
        ssl_certificate %4;
        ssl_certificate_key %5;
        ssl_protocols TLSv1.2 TLSv1.3;
        %6
        return 200 "ok\n";
    }
}
)")
        .arg(options.dir)
        .arg(options.port)
        .arg(options.serverName, options.fullchain, options.key, stapling,
             options.masterProcess ? QStringLiteral("on") : QStringLiteral("off"))
        .toUtf8();
}

QString nginxReloadCommand(const NginxOptions& options)
{
    QStringList words{shellQuote(findServer(QStringLiteral("nginx")))};
    for (const QString& argument : nginxCommonArguments(options))
        words << shellQuote(argument);
    words << QStringLiteral("-s") << QStringLiteral("reload");
    return words.join(QLatin1Char(' '));
}

QByteArray eximConfig(const EximOptions& options)
{
    // A throwaway Exim: its own spool, log and pid file. As root, -C is trusted and Exim drops to
    // Debian's exim user for each connection, which is why every file it reads must be
    // world-readable. As anyone else, the setuid binary gives up root for an untrusted -C and
    // refuses -oP, so it must run as that user and take its pid file from the config.
    const bool root = ::geteuid() == 0;
    EximOptions files = options;
    if (!options.generationPathFile.isEmpty()) {
        const QString under = QStringLiteral("$acl_c_generation/");
        files.cert = under + options.cert;
        files.key = under + options.key;
        if (!options.staple.isEmpty())
            files.staple = under + options.staple;
    }
    QString conf = QStringLiteral(R"(exim_user = %6
exim_group = %7
keep_environment =
primary_hostname = %1
spool_directory = %2/spool
log_file_path = %2/log/%slog
pid_file_path = %2/exim.pid
local_interfaces = 127.0.0.1
tls_advertise_hosts = %3
tls_certificate = %4
tls_privatekey = %5
)")
                       .arg(options.hostName, options.dir,
                            options.advertiseTls ? QStringLiteral("*") : QString(), files.cert, files.key,
                            root ? QStringLiteral("Debian-exim") : QString::number(::geteuid()),
                            root ? QStringLiteral("Debian-exim") : QString::number(::getegid()));
    if (!files.staple.isEmpty() && options.stapleOnlyIfExists)
        conf += QStringLiteral("tls_ocsp_file = ${if exists{%1}{%1}}\n").arg(files.staple);
    else if (!files.staple.isEmpty())
        conf += QStringLiteral("tls_ocsp_file = %1\n").arg(files.staple);
    if (!options.generationPathFile.isEmpty())
        conf += QStringLiteral("acl_smtp_connect = acl_check_connect\n");
    conf += QStringLiteral("acl_smtp_rcpt = acl_check_rcpt\nbegin acl\n");
    if (!options.generationPathFile.isEmpty())
        conf += QStringLiteral("acl_check_connect:\n  accept set acl_c_generation = ${readfile{%1}}\n")
                    .arg(options.generationPathFile);
    conf += QStringLiteral("acl_check_rcpt:\n  deny\n");
    return conf.toUtf8();
}

QByteArray haproxyConfig(const HaproxyOptions& options)
{
    QString global = QStringLiteral("global\n    maxconn 64\n");
    if (!options.adminSocket.isEmpty())
        global += QStringLiteral("    stats socket %1 level admin\n").arg(options.adminSocket);
    return (global + QStringLiteral(R"(defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend tls
    bind 127.0.0.1:%1 ssl crt %2
    http-request return status 200 content-type text/plain string ok
)")
                         .arg(options.port)
                         .arg(options.crt))
        .toUtf8();
}

QByteArray dovecotConfig(const DovecotOptions& options)
{
    // Its own base, state and log folders; only the IMAP login service, on loopback. Logins are
    // never made: the tests only run STARTTLS.
    return QStringLiteral(R"(protocols = imap
listen = 127.0.0.1
base_dir = %1/run
state_dir = %1/state
log_path = %1/dovecot.log
ssl = yes
ssl_cert = <%3
ssl_key = <%4
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%1/home
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %2
  }
  inet_listener imaps {
    port = 0
  }
}
)")
        .arg(options.dir)
        .arg(options.port)
        .arg(options.cert, options.key)
        .toUtf8();
}

QString dovecotReloadCommand(const DovecotOptions& options)
{
    return QStringLiteral("%1 -c %2 reload")
        .arg(shellQuote(findServer(QStringLiteral("dovecot"))), shellQuote(options.dir + QStringLiteral("/dovecot.conf")));
}

QString haproxyRuntimeCommand(const QString& socketPath, const QByteArray& command, QString* why,
                              int timeoutMs)
{
    const QByteArray path = QFile::encodeName(socketPath);
    sockaddr_un addr{};
    if (path.size() >= qsizetype(sizeof addr.sun_path)) {
        *why = QStringLiteral("socket path too long: ") + socketPath;
        return {};
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.constData(), size_t(path.size()));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        *why = QStringLiteral("cannot connect to %1: %2")
                   .arg(socketPath, QString::fromLocal8Bit(std::strerror(errno)));
        if (fd >= 0)
            ::close(fd);
        return {};
    }
    const QByteArray line = command + '\n';
    qsizetype sent = 0;
    while (sent < line.size()) {
        const ssize_t n = ::send(fd, line.constData() + sent, size_t(line.size() - sent), MSG_NOSIGNAL);
        if (n <= 0) {
            *why = QStringLiteral("cannot send to %1").arg(socketPath);
            ::close(fd);
            return {};
        }
        sent += n;
    }
    // HAProxy answers and closes the connection (non-interactive mode).
    QByteArray answer;
    QElapsedTimer t;
    t.start();
    constexpr qsizetype kMaxAnswerBytes = 1 << 20;
    while (t.elapsed() < timeoutMs && answer.size() < kMaxAnswerBytes) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, int(qMax<qint64>(1, timeoutMs - t.elapsed()))) <= 0)
            break;
        char buffer[4096];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        answer.append(buffer, n);
    }
    ::close(fd);
    if (answer.isEmpty())
        *why = QStringLiteral("no answer from %1 within %2 ms").arg(socketPath).arg(timeoutMs);
    return QString::fromUtf8(answer).trimmed();
}

ServerProcess* RealServers::launch(const QString& name, const QString& program, const QStringList& args,
                                   const QString& dir, quint16 port, QString* why)
{
    auto server = std::make_unique<ServerProcess>(name, program, args, dir);
    QString problem;
    const bool ok = server->start(port, &problem);
    m_servers.push_back(std::move(server));
    if (!ok) {
        qWarning("%s", qPrintable(problem));
        if (why)
            *why = problem;
        return nullptr;
    }
    return m_servers.back().get();
}

ServerStart RealServers::launchStart(const QString& name, const QString& program, const QStringList& args,
                                     const QString& dir, quint16 port)
{
    ServerStart start;
    QString why;
    start.process = launch(name, program, args, dir, port, &why);
    start.status = start.process ? ServerStart::Status::Started : ServerStart::Status::Failed;
    if (!start.process)
        start.problem = QStringLiteral("%1 failed to start: %2").arg(name, why);
    return start;
}

ServerStart RealServers::startNginx(const NginxOptions& options)
{
    const QString nginx = findServer(QStringLiteral("nginx"));
    if (nginx.isEmpty())
        return {ServerStart::Status::NotInstalled, QStringLiteral("nginx is not installed"), nullptr};
    QDir().mkpath(options.dir + QStringLiteral("/tmp"));
    if (!writeFile(options.dir + QStringLiteral("/nginx.conf"), nginxConfig(options)))
        return {ServerStart::Status::Failed, QStringLiteral("cannot write nginx.conf in ") + options.dir,
                nullptr};
    return launchStart(QStringLiteral("nginx"), nginx, nginxCommonArguments(options), options.dir,
                       options.port);
}

ServerStart RealServers::startExim(const EximOptions& options)
{
    const QString exim = findServer(QStringLiteral("exim4"));
    if (exim.isEmpty())
        return {ServerStart::Status::NotInstalled, QStringLiteral("exim4 is not installed"), nullptr};
    for (const char* sub : {"spool", "log"}) {
        const QString path = options.dir + QLatin1Char('/') + QLatin1String(sub);
        QDir().mkpath(path);
        ::chmod(QFile::encodeName(path).constData(), 0777);
    }
    if (!writeFile(options.dir + QStringLiteral("/exim.conf"), eximConfig(options)))
        return {ServerStart::Status::Failed, QStringLiteral("cannot write exim.conf in ") + options.dir,
                nullptr};
    QStringList arguments{"-C", options.dir + "/exim.conf", "-bdf", "-oX", QString::number(options.port)};
    if (::geteuid() == 0)
        arguments << "-oP" << options.dir + "/exim.pid";
    return launchStart(QStringLiteral("exim"), exim, arguments, options.dir, options.port);
}

ServerStart RealServers::startHaproxy(const HaproxyOptions& options)
{
    const QString haproxy = findServer(QStringLiteral("haproxy"));
    if (haproxy.isEmpty())
        return {ServerStart::Status::NotInstalled, QStringLiteral("haproxy is not installed"), nullptr};
    if (!writeFile(options.dir + QStringLiteral("/haproxy.cfg"), haproxyConfig(options)))
        return {ServerStart::Status::Failed, QStringLiteral("cannot write haproxy.cfg in ") + options.dir,
                nullptr};
    return launchStart(QStringLiteral("haproxy"), haproxy, {"-db", "-f", options.dir + "/haproxy.cfg"},
                       options.dir, options.port);
}

ServerStart RealServers::startDovecot(const DovecotOptions& options)
{
    const QString dovecot = findServer(QStringLiteral("dovecot"));
    if (dovecot.isEmpty() || !QFileInfo::exists(QStringLiteral("/usr/lib/dovecot/imap-login")))
        return {ServerStart::Status::NotInstalled, QStringLiteral("dovecot (dovecot-core, dovecot-imapd) is not installed"),
                nullptr};
    if (!writeFile(options.dir + QStringLiteral("/dovecot.conf"), dovecotConfig(options)))
        return {ServerStart::Status::Failed, QStringLiteral("cannot write dovecot.conf in ") + options.dir, nullptr};
    return launchStart(QStringLiteral("dovecot"), dovecot, {"-F", "-c", options.dir + "/dovecot.conf"}, options.dir,
                       options.port);
}

} // namespace staplescope::test
