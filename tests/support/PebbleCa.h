#pragma once
// A loopback ACME CA for tests: pebble (Debian's 2.4) with pebble-challtestsrv as its DNS (every
// name is 127.0.0.1), on free ports of 127.0.0.1, in a folder of its own, its listener on a TLS
// certificate made here. Its certificates carry an AIA OCSP URL pointing at an in-process
// TestResponder that signs with pebble's own intermediate key (fetched from pebble's management
// interface), so they can be stapled like real ones. certbot and lego issue through it with a real
// http-01 validation on loopback.
//
//   PebbleCa pebble;
//   const PebbleCa::Start start = pebble.start();
//   if (start.notInstalled()) QSKIP(qPrintable(start.problem));
//   QVERIFY2(start.started(), qPrintable(start.problem));
//   const AcmeClientRun run = pebble.certbotIssue("mail.example.test", dir);   // dir/letsencrypt/live/…
//   … staplescope-cli with pebble.clientEnvironment() (REQUESTS_CA_BUNDLE, LEGO_CA_CERTIFICATES) …
//
// Everything is stopped by stop() and the destructor. Every wait is bounded.

#include "RealServers.h"
#include "TestResponder.h"

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>

namespace staplescope::test {

struct WatchedDirs;

// One run of an ACME client.
struct AcmeClientRun {
    bool notInstalled = false;     // the client's binary is missing: skip
    bool timedOut = false;
    int exitCode = -1;
    QString command;               // as run, for messages
    QString output;                // stdout and stderr merged
    // certbot: DIR/letsencrypt/live/NAME; lego: DIR/lego (its --path). Set whether or not the run worked.
    QString lineage;
    QString configDir, workDir, logsDir; // certbot's folders under DIR

    bool ok() const { return !notInstalled && !timedOut && exitCode == 0; }
    QString describe() const;      // command, exit code and the output's last lines
};

class PebbleCa {
public:
    struct Start {
        enum class Status { Started, NotInstalled, Failed };
        Status status = Status::Failed;
        QString problem;
        bool started() const { return status == Status::Started; }
        bool notInstalled() const { return status == Status::NotInstalled; }
    };

    PebbleCa();
    ~PebbleCa();
    PebbleCa(const PebbleCa&) = delete;
    PebbleCa& operator=(const PebbleCa&) = delete;

    // Starts the responder, pebble-challtestsrv and pebble, and reads pebble's CA (new at every
    // start). NotInstalled when pebble, pebble-challtestsrv, curl or openssl is missing.
    Start start();
    void stop();                   // pebble, its DNS and the responder
    void stopPebble();             // pebble only: ACME clients then fail, staples still work
    bool pebbleRunning() const;

    QString dir() const { return m_dir.path(); }
    QString directoryUrl() const;  // https://127.0.0.1:PORT/dir
    QString tlsCertificateFile() const;   // what pebble's listener presents: trust it to talk ACME
    QString rootFile() const;      // pebble's root (PEM): trust it to verify what pebble issued
    QString intermediateFile() const;
    quint16 http01Port() const { return m_http01Port; }
    TestResponder& responder() { return *m_responder; }
    IssuedCert intermediate() const { return m_intermediate; }

    // The environment ACME clients (and staplescope-cli running them) need to trust pebble's
    // listener: REQUESTS_CA_BUNDLE (certbot) and LEGO_CA_CERTIFICATES, added to this process's.
    QProcessEnvironment clientEnvironment() const;

    // certbot certonly --standalone for `name` (http-01 on 127.0.0.1), config/work/logs under
    // `dir`; ECDSA unless extraArgs say otherwise.
    AcmeClientRun certbotIssue(const QString& name, const QString& dir, const QStringList& extraArgs = {});
    // certbot renew --force-renewal --cert-name name (no random sleep), same folders.
    AcmeClientRun certbotRenew(const QString& name, const QString& dir, const QStringList& extraArgs = {});
    // lego run for `name` with --path dir/lego, http-01 on 127.0.0.1.
    AcmeClientRun legoIssue(const QString& name, const QString& dir, const QStringList& extraArgs = {});

    // Certificates found under `dir` (PEM files, searched when the responder is asked about a
    // serial it does not know) are answered for. The folders the helpers above use are watched
    // already; watch others a client writes into.
    void watchDirectory(const QString& dir);

    static constexpr int kClientTimeoutMs = 120000;

private:
    AcmeClientRun runClient(const QString& program, const QStringList& arguments, int timeoutMs) const;
    bool fetchManagement(const QString& path, const QString& file, QString* why) const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestResponder> m_responder;
    std::unique_ptr<ServerProcess> m_dns;
    std::unique_ptr<ServerProcess> m_pebble;
    quint16 m_acmePort = 0;
    quint16 m_managementPort = 0;
    quint16 m_http01Port = 0;
    IssuedCert m_intermediate;
    std::shared_ptr<WatchedDirs> m_watched;   // shared with the responder's threads
};

} // namespace staplescope::test
