#pragma once
// An in-process OCSP responder, CRL and CA Issuers server on 127.0.0.1 for tests and benchmarks:
// HTTP/1.1 with keep-alive (several requests per connection), on a free port, built on
// LoopbackServer (one thread per connection). It signs with the test PKI's issuer or a delegated
// responder, relative to a time you give it (real servers judge by the real clock: pass
// QDateTime::currentDateTimeUtc() and a PKI made at that time), and can misbehave on purpose.
//
//   TestPki pki;                                   // or any CA: TestResponder({pki.intermediate, pki.responder}, now)
//   TestResponder responder(pki);                  // signs as pki.intermediate, at pki.now()
//   QVERIFY(responder.start());
//   IssuedCert leaf = responder.issueLeaf();       // AIA OCSP, CA Issuers and CRL URLs point here
//   responder.setScenario(leaf, ResponderScenario::Revoked);   // or setScenario(serialHex, …)
//   … fetch responder.ocspUrl() / leaf's URLs …
//   QCOMPARE(responder.requestCount(), 1);
//
// Routes (paths are fixed; the URL helpers build them):
//   POST /ocsp, GET /ocsp/<url-encoded base64 request>   OCSP (RFC 6960 / RFC 5019); also under any
//                                                          prefix ("/long/prefix/ocsp") for long URLs
//   GET /int.crl, /int.pem.crl                             the issuer's CRL (DER / PEM), now − 1 d …
//                                                          now + 6 d, listing every certificate whose
//                                                          scenario is Revoked (at now − 1 d, keyCompromise)
//   GET /issuer.der, /issuer.pem, /issuer.p7c, /issuer.p7b  the issuer as DER, PEM, PKCS#7 DER, PKCS#7 PEM
//   GET /redirect/<n>/<path>                               redirects n times, then serves <path>
//   anything set with serve(path, …)                       those bytes
// Requests in absolute form ("GET http://host/path HTTP/1.1", as sent to a proxy) are answered
// the same way and recorded as such, so the responder doubles as a test proxy.
//
// Scenarios: for OCSP per certificate serial (setScenario) with a default (setDefaultScenario);
// for any path (setPathScenario), where the HTTP-level ones apply (a path scenario also overrides
// the serial's for OCSP requests to that path).

#include "PkiFactory.h"

#include <QByteArray>
#include <QDateTime>
#include <QHash>
#include <QList>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace staplescope::test {

class TestPki;
class LoopbackServer;
class Connection;

enum class ResponderScenario {
    // Signed answers about the certificate asked for (CertID as requested, SHA-1 or SHA-256).
    Good,              // thisUpdate now − 1 h, nextUpdate now + 7 d
    Revoked,           // revoked at now − 1 d, reason keyCompromise; the CRL lists it too
    Unknown,
    // Unsuccessful OCSP response statuses (no body, as RFC 6960 says).
    TryLater,
    InternalError,
    Unauthorized,
    MalformedRequest,
    // Signed, but wrong.
    OtherSerial,       // a good response about another certificate
    Expired,           // thisUpdate now − 10 d, nextUpdate now − 3 d
    FromTheFuture,     // thisUpdate now + 1 d, nextUpdate now + 8 d
    NoNextUpdate,
    BadSignature,      // a bit of the signature flipped
    WrongSigner,       // signed by a key the CA never authorised (a stranger's CA)
    WrongNonce,        // a nonce other than the request's
    // HTTP-level failures (OCSP and paths).
    Garbage,           // 200 with the right content type and bytes that are no DER at all
    Http500,           // 500 Internal Server Error, text/plain
    HtmlErrorPage,     // 503 with an HTML page titled "503 Service Temporarily Unavailable"
    WrongContentType,  // 200 text/html: a captive-portal page
    Oversized,         // 200 with Content-Length oversizeBytes() (over every cap but the CRL's)
    OversizedNoLength, // 200, no Content-Length, streams oversizeBytes() then closes
    Slow,              // says nothing for slowMs(), then answers
    SlowBody,          // headers at once, then one byte every 100 ms
    RedirectLoop,      // 302 to itself
    ClosedMidBody,     // announces the whole body, sends half, closes
    CloseWithoutAnswer,// reads the request and closes
};
QString responderScenarioName(ResponderScenario scenario);

// Who the responder is: the CA whose certificates it answers for, and an optional delegated
// signer (id-kp-OCSPSigning) issued by that CA.
struct ResponderCa {
    IssuedCert issuer;
    IssuedCert delegatedSigner;    // empty: only the issuer can sign
};

// One request as the responder saw it.
struct ResponderRequest {
    QByteArray method;
    QByteArray target;             // as sent: "/ocsp/MEow…" or "http://host:port/ocsp/MEow…"
    QByteArray path;               // the path part, percent-encoded as sent
    bool absoluteForm = false;     // sent as to a proxy
    QByteArray host, userAgent, accept, contentType;
    QByteArray body;
    QByteArray ocspRequestDer;     // for OCSP requests: the DER request (GET decoded or POST body)
    bool ocspGet = false;
    int connection = 0;            // which accepted connection (1, 2, …)
};

class TestResponder {
public:
    // Answers for pki.intermediate (delegated signer: pki.responder) at pki.now(); knows pki.leaf.
    // `pki` is only read here.
    explicit TestResponder(const TestPki& pki);
    TestResponder(ResponderCa ca, const QDateTime& now);
    ~TestResponder();
    TestResponder(const TestResponder&) = delete;
    TestResponder& operator=(const TestResponder&) = delete;

    // Listens on 127.0.0.1 on a free port; false on failure. stop() (or the destructor) ends it.
    bool start();
    void stop();
    quint16 port() const;

    QString baseUrl() const;       // "http://127.0.0.1:PORT"
    QString ocspUrl() const;       // baseUrl + "/ocsp"
    QString crlUrl(bool pem = false) const;                  // "/int.crl" or "/int.pem.crl"
    enum class IssuerFormat { Der, Pem, Pkcs7Der, Pkcs7Pem };
    QString issuerUrl(IssuerFormat format = IssuerFormat::Der) const;
    // `url` on this server reached through `hops` redirects ("/redirect/<hops>/…").
    QString redirectingUrl(const QString& path, int hops) const;

    // A leaf spec at now (www.example.test, now − 10 d … now + 80 d) whose AIA OCSP, CA Issuers
    // and CRL URLs point here. Call after start().
    CertSpec leafSpec() const;
    // Issues `spec` (default leafSpec()) under the CA and registers it for OCSP answers.
    IssuedCert issueLeaf(const std::function<void(CertSpec&)>& tweak = {});
    IssuedCert issueLeaf(const CertSpec& spec);
    // Registers a certificate issued elsewhere by this CA, so OCSP requests about it are answered.
    // Requests about unregistered serials, or another issuer, get "unauthorized" (as real ones).
    void addCertificate(const IssuedCert& cert);
    // Answers as another CA from now on (a CA made after the responder had to be listening, such
    // as pebble's, which is told the responder's URL at its start). Keeps the registered certificates.
    void setCa(ResponderCa ca);
    // For a CA that issues while the test runs (an ACME CA such as pebble): asked for the serial
    // (Certificate::serialHex() form) of a request that names this CA but no registered
    // certificate; what it returns is registered and answered for, nullopt gets "unauthorized".
    // Called with the responder's lock held, so it must not call back into the responder.
    void setCertificateLookup(std::function<std::optional<IssuedCert>(const QString& serialHex)> lookup);

    void setScenario(const IssuedCert& cert, ResponderScenario scenario);
    void setScenario(const QString& serialHex, ResponderScenario scenario); // Certificate::serialHex() form
    void setDefaultScenario(ResponderScenario scenario);                    // Good unless set
    void setPathScenario(const QString& path, ResponderScenario scenario);  // "/int.crl"; "/ocsp" covers its GETs
    void clearScenarios();

    // Serves `bytes` at `path` ("/my.crl") with `contentType`.
    void serve(const QString& path, const QByteArray& bytes, const QByteArray& contentType);
    // A CRL signed by `signer` (default: the CA) with the given window, listing `revoked`; returns
    // its URL. For "CRL not from the issuer" and "CRL past nextUpdate" cases.
    QString serveCrl(const QString& path, const QDateTime& thisUpdate, const QDateTime& nextUpdate,
                     const QList<const IssuedCert*>& revoked = {}, const IssuedCert* signer = nullptr);
    // A certificate (DER, PEM or PKCS#7) at `path`; returns its URL.
    QString serveCertificate(const QString& path, const IssuedCert& cert, IssuerFormat format = IssuerFormat::Der);

    void setNow(const QDateTime& now);      // the time the answers are made relative to
    QDateTime now() const;
    void setDelegatedSigner(bool delegated); // sign OCSP with the delegated signer (default: the issuer)
    void setEchoNonce(bool echo);           // answer a request's nonce (default true; false: omit it)
    void setLatencyMs(int ms);              // before every answer (benchmarks: 0, 20)
    void setSlowMs(int ms);                 // for Slow (default 5000)
    void setOversizeBytes(qsizetype bytes); // for Oversized* (default 80 KiB)

    int requestCount() const;
    int ocspRequestCount() const;
    int connectionCount() const;            // TCP connections accepted
    int maxRequestsInFlight() const;        // the most requests being answered at one time
    QList<ResponderRequest> requests() const;
    void clearRequests(); // the log and requestCount()/ocspRequestCount()

private:
    struct State;
    void handle(Connection& connection);
    std::shared_ptr<State> m_state;
    std::unique_ptr<LoopbackServer> m_server;
};

} // namespace staplescope::test
