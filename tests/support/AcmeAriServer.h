#pragma once
// A small ACME server for ACME Renewal Information (RFC 9773) tests: HTTPS on 127.0.0.1 (a free
// port; its certificate names IP:127.0.0.1 and DNS:localhost), serving a directory with a
// renewalInfo URL and, per certID, the suggested window a test sets. Pebble 2.4 has no
// renewalInfo, so tests of `renew --if-due` and the timeline's window lane use this one.
//
// Its TLS certificate comes from a CA made at the real current time (clients check it against
// the real clock); trust it through caPem() (renew --acme-ca-file).
//
//   AcmeAriServer ari;
//   QVERIFY(ari.start());
//   ari.setScenario(acmeCertId(cert), AriScenario::MovedEarlier, cert.notBefore(), cert.notAfter(), now);
//   … renew --acme-directory ari.directoryUrl() --acme-ca-file <ari.caPem() written to a file> …
//   QCOMPARE(ari.renewalInfoRequests(), 1);

#include "PkiFactory.h"

#include <QByteArray>
#include <QDateTime>
#include <QHash>
#include <QString>
#include <QStringList>

#include <memory>
#include <mutex>

namespace staplescope::test {

class LoopbackServer;
class Connection;

enum class AriScenario {
    Normal,       // start at two thirds of the lifetime, two days long
    MovedEarlier, // now − 2 days … now − 1 hour, with an explanationURL (a mass revocation: renew at once)
    RetryAfter,   // Normal, with "Retry-After: 3600"
    NotFound,     // 404 with an RFC 7807 problem document
    Garbage,      // 200 application/json that is no JSON
};

// One answer of renewalInfo/<certID>.
struct AriAnswer {
    int status = 200;
    QByteArray body;                   // sent as is
    QByteArray contentType = "application/json";
    QByteArray retryAfter;             // empty: no Retry-After header
};

// A suggestedWindow body.
QByteArray ariWindowJson(const QDateTime& start, const QDateTime& end, const QString& explanationUrl = {});

class AcmeAriServer {
public:
    AcmeAriServer();
    ~AcmeAriServer();
    AcmeAriServer(const AcmeAriServer&) = delete;
    AcmeAriServer& operator=(const AcmeAriServer&) = delete;

    bool start();
    void stop();
    quint16 port() const;

    QString directoryUrl() const;      // "https://127.0.0.1:PORT/dir"
    QString renewalInfoBase() const;   // "https://127.0.0.1:PORT/renewal-info"
    QByteArray caPem() const;          // the root that issued the server's certificate

    void setOfferRenewalInfo(bool offer); // false: the directory has no renewalInfo (default true)
    void setAnswer(const QString& certId, const AriAnswer& answer);
    void setScenario(const QString& certId, AriScenario scenario, const QDateTime& notBefore, const QDateTime& notAfter,
                     const QDateTime& now);

    int directoryRequests() const;
    int renewalInfoRequests() const;
    QStringList requestedCertIds() const;

private:
    struct State;
    void handle(Connection& connection);
    std::shared_ptr<State> m_state;
    std::unique_ptr<LoopbackServer> m_server;
};

} // namespace staplescope::test
