#pragma once
// Asking the network about certificates: OCSP requests to responders, issuers from CA Issuers
// URLs, revocation from CRL Distribution Points. Turns every failure into a finding that says what
// happened (OCSP_FETCH_FAILED, ISSUER_FETCH_FAILED, CRL_*). Judging a response is not done here:
// the analysis judges a fetched response exactly as a staple on disk (core/act/RefreshEngine).
//
// Blocking, through one HttpFetcher (so a run shares connections and asks each URL once).

#include "Certificate.h"
#include "Crl.h"
#include "Finding.h"
#include "HttpFetcher.h"
#include "OcspStaple.h"

#include <QDateTime>
#include <QList>

#include <atomic>
#include <optional>

namespace staplescope {

struct OcspRequestOptions {
    enum class Method { Auto, Get, Post }; // Auto: GET when the request fits RFC 5019's 255 bytes, else POST
    QString certIdHash = QStringLiteral("sha1"); // "sha1" (what every responder answers) or "sha256"
    Method method = Method::Auto;
    bool nonce = false;
    QUrl responder;                        // empty: the certificate's first AIA OCSP URL
};

// --certid-hash / --ocsp-method text; nullopt when unknown.
std::optional<QString> parseCertIdHash(const QString& text);
std::optional<OcspRequestOptions::Method> parseOcspMethod(const QString& text);

struct OcspRequestBuild {
    QByteArray der;           // the OCSPRequest
    QByteArray nonce;         // empty unless asked for
    FetchRequest fetch;       // GET url/base64 or POST to the responder
    QString error;            // non-empty: no request could be made (no responder URL, bad hash …)
};
OcspRequestBuild buildOcspRequest(const Certificate& cert, const Certificate& issuer, const OcspRequestOptions& options);
// The RFC 5019 GET URL for `requestDer` at `responder`: {url}/{URL-encoded base64 of the DER}.
// Auto uses it when it is at most 255 bytes long (RFC 5019 §5 counts the whole URL).
QUrl ocspGetUrl(const QUrl& responder, const QByteArray& requestDer);

struct OcspLookup {
    QUrl responder;
    OcspStaple response;      // null when no OCSP response came back
    // OCSP_FETCH_FAILED (at Severity::Error) when none came back, or the nonce did not match.
    QList<Finding> findings;
    FetchResult http;
    // With --nonce: whether the response carried our nonce. A responder that leaves it out is
    // accepted (large CAs serve pre-signed responses and never echo one; RFC 5019 allows it);
    // a different nonce is OCSP_FETCH_FAILED and the response is not used.
    bool nonceEchoed = false;
};

struct IssuerLookup {
    Certificate issuer;       // null when not found; else verified to have signed the certificate
    QList<Finding> findings;  // ISSUER_FETCHED or ISSUER_FETCH_FAILED
};

struct CrlLookup {
    Crl crl;                  // null when none usable came back, or the certificate names no CRL
                              // Distribution Point (then there are no findings either)
    // CRL_FETCH_FAILED, CRL_INVALID, CRL_EXPIRED; CERT_REVOKED (with time and reason) when it
    // lists the certificate; REVOCATION_CHECKED when it does not.
    QList<Finding> findings;
};

struct OnlineOptions {
    FetchOptions fetch;
    OcspRequestOptions ocsp;
};

class OnlineLookup {
public:
    explicit OnlineLookup(OnlineOptions options = {});

    // For certificates whose issuer is not at hand: fetched from their CA Issuers URLs (DER, PEM
    // or PKCS#7), used only when it signed the certificate. In input order.
    QList<IssuerLookup> fetchIssuers(const QList<Certificate>& certs, const std::atomic<bool>* cancel = nullptr);
    // One OCSP request per (certificate, issuer), all in flight together. In input order.
    QList<OcspLookup> fetchOcsp(const QList<std::pair<Certificate, Certificate>>& certAndIssuer,
                                const std::atomic<bool>* cancel = nullptr,
                                const std::function<void(int done, int total)>& progress = {});
    // Revocation through each certificate's CRL Distribution Point, judged at `at`; the CRL's
    // signature is verified with the issuer. Several URLs: the first usable CRL counts. A CRL past
    // nextUpdate is still used (CRL_EXPIRED beside its verdict). In input order.
    QList<CrlLookup> checkCrls(const QList<std::pair<Certificate, Certificate>>& certAndIssuer, const QDateTime& at,
                               const std::atomic<bool>* cancel = nullptr);

    HttpFetcher& fetcher() { return m_fetcher; }
    const OnlineOptions& options() const { return m_options; }

private:
    OnlineOptions m_options;
    HttpFetcher m_fetcher;
};

} // namespace staplescope
