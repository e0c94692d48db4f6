#pragma once
// Real servers for tests — openssl s_server, nginx, HAProxy, Exim, Dovecot — run as child processes on
// 127.0.0.1 and free ports, each with its own throwaway folder, config, log and pid file, and
// stopped (terminated, then killed) when the test case ends, passed or failed.
//
// A server whose binary is not installed is reported as such, so the case can QSKIP; the test
// command (scripts/dev) installs them. What each server does with its staple file, measured, is
// in docs/refresh.md.

#include <QProcess>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace staplescope::test {

// The path of a server binary, also looked for in the sbin folders a non-root PATH lacks.
QString findServer(const QString& name);

// A port that was free on 127.0.0.1 a moment ago (the server binds it right after).
quint16 freePort();

// Something accepts TCP connections on `port` at 127.0.0.1 or at ::1.
bool portAccepts(quint16 port);
bool ipv6PortAccepts(quint16 port);

// Creates `parent/name` writable by everyone: Exim drops to its own user for each connection and
// must read (and log into) what the test, running as root, created.
QString makeServerDir(const QString& parent, const QString& name);

// A server process in the foreground, owned by the test: terminated, then killed, on destruction.
// Its merged stdout/stderr go to `<dir>/<name>.out`.
class ServerProcess {
public:
    ServerProcess(const QString& name, const QString& program, const QStringList& args, const QString& dir);
    ~ServerProcess() { stop(); }
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // Starts and waits until the port accepts connections (or the process dies), 8 s at most.
    bool start(quint16 port, QString* why);
    void stop();
    bool running() const { return m_process.state() == QProcess::Running; }
    qint64 pid() const { return m_process.processId(); }
    // The last 2,000 bytes the server printed.
    QString output() const;

private:
    QString m_name;
    QString m_outputPath;
    QProcess m_process;
};

// How a launch went: a case skips on NotInstalled and fails on Failed, with `problem` saying why.
struct ServerStart {
    enum class Status { Started, NotInstalled, Failed };
    Status status = Status::Failed;
    QString problem;
    ServerProcess* process = nullptr;

    bool started() const { return status == Status::Started; }
    bool notInstalled() const { return status == Status::NotInstalled; }
};

// nginx serving `fullchain`/`key` on 127.0.0.1:port, with `ssl_stapling_file staple` when a
// staple is given. Without a master process the test's child is the server itself; with one,
// `nginx -s reload` starts new workers with the new configuration, as in production.
struct NginxOptions {
    QString dir;
    quint16 port = 0;
    QString serverName;
    QString fullchain;
    QString key;
    QString staple;
    bool masterProcess = false;
};

// Exim (Debian's exim4-daemon-light, GnuTLS) offering STARTTLS with `cert`/`key`. `staple` goes
// into tls_ocsp_file as a plain path, or as `${if exists{F}{F}}` when stapleOnlyIfExists: the form
// in which a missing file means no staple rather than failed handshakes (docs/refresh.md).
struct EximOptions {
    QString dir;
    quint16 port = 0;
    QString hostName;
    QString cert;
    QString key;
    QString staple;
    bool advertiseTls = true;
    bool stapleOnlyIfExists = false;
    // A deploy destination's `DEST/current/path` (docs/deploy.md): read once per connection in
    // the connect ACL into $acl_c_generation, and cert/key/staple (then bare file names) are
    // opened under it, so one connection never mixes two generations.
    QString generationPathFile;
};

// HAProxy terminating TLS with `crt` (certificate, chain and key in one PEM; the staple is read
// from `<crt>.ocsp` at load), and an admin-level runtime API socket when `adminSocket` is set.
struct HaproxyOptions {
    QString dir;
    quint16 port = 0;
    QString crt;
    QString adminSocket;
};

// Dovecot's IMAP server (Debian's dovecot-core + dovecot-imapd) offering STARTTLS with `cert`
// (certificate and chain) and `key`, read at start and at `dovecot reload`. Dovecot 2.3 staples
// nothing.
struct DovecotOptions {
    QString dir;
    quint16 port = 0;
    QString cert;
    QString key;
};

QByteArray nginxConfig(const NginxOptions& options);
QByteArray dovecotConfig(const DovecotOptions& options);
// `dovecot -c CONF reload`: Dovecot reads its certificate files again.
QString dovecotReloadCommand(const DovecotOptions& options);
QByteArray eximConfig(const EximOptions& options);
QByteArray haproxyConfig(const HaproxyOptions& options);

// The shell command that makes a running nginx of `options` re-read its configuration (and with
// it the staple file): what `refresh --reload-command` is given.
QString nginxReloadCommand(const NginxOptions& options);

// Sends one command line to HAProxy's runtime API and returns its answer (empty on failure, with
// `why` set). Bounded by `timeoutMs`.
QString haproxyRuntimeCommand(const QString& socketPath, const QByteArray& command, QString* why,
                              int timeoutMs = 3000);

// The servers of one test case. Everything it started is stopped by stopAll() (call it from the
// test's cleanup()) and by its destructor.
class RealServers {
public:
    RealServers() = default;
    RealServers(const RealServers&) = delete;
    RealServers& operator=(const RealServers&) = delete;

    // Starts `program` in `dir` and waits for `port`; nullptr (and a warning, and `why`) on failure.
    ServerProcess* launch(const QString& name, const QString& program, const QStringList& args,
                          const QString& dir, quint16 port, QString* why = nullptr);

    // Each writes its config into options.dir and starts the server in the foreground.
    ServerStart startNginx(const NginxOptions& options);
    ServerStart startExim(const EximOptions& options);
    ServerStart startHaproxy(const HaproxyOptions& options);
    ServerStart startDovecot(const DovecotOptions& options);

    void stopAll() { m_servers.clear(); }

private:
    ServerStart launchStart(const QString& name, const QString& program, const QStringList& args,
                            const QString& dir, quint16 port);

    std::vector<std::unique_ptr<ServerProcess>> m_servers;
};

} // namespace staplescope::test
