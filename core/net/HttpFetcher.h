#pragma once
// The one HTTP client of the engine, for what certificates point to: OCSP responders, CRLs and
// CA Issuers certificates; and, over verified HTTPS only, an ACME server's directory and renewalInfo
// (core/net/AcmeRenewalInfo.h). Built on QNetworkAccessManager: connections kept alive and reused per
// host, up to maxConcurrent requests in flight (also to one host: Qt's six connections per host and
// manager are lifted by using maxConcurrent / 6 managers), identical requests made once, proxies from the environment
// (http_proxy, https_proxy, no_proxy), bounded in time and size, at most three redirects, and a
// User-Agent naming Staplescope and its version.
//
// Blocking: fetchAll() runs its own event loop in the calling thread, so the CLI calls it on its
// main thread and the window from a Workspace job (never the GUI thread).

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <atomic>
#include <functional>
#include <memory>

namespace staplescope {

// AcmeJson: an ACME server's JSON resource (directory, renewalInfo). The only kind fetched over
// https:// (and only over https://, with FetchOptions::allowHttps): ACME servers are HTTPS-only
// (RFC 8555 §6.1), while OCSP, CRL and CA Issuers stay plain http:// (docs/online.md).
enum class FetchKind { OcspResponse, Certificate, Crl, AcmeJson };

// The most a body of this kind may be: OCSP 64 KiB, certificate 64 KiB, CRL 32 MiB, ACME JSON 64 KiB.
qsizetype maxBodyBytes(FetchKind kind);
QString fetchKindName(FetchKind kind); // "OCSP response", "certificate", "CRL", "ACME resource"

struct FetchOptions {
    int connectTimeoutMs = 10000; // until the server answers at all (DNS, TCP, first byte)
    int totalTimeoutMs = 30000;   // the whole request, redirects included
    int maxConcurrent = 16;       // requests in flight at once (--concurrency)
    int maxRedirects = 3;
    // http_proxy / https_proxy / no_proxy (lowercase first, then uppercase), read by us rather than
    // through QNetworkProxyFactory::setUseSystemConfiguration: Debian's Qt asks libproxy, which may
    // also consult desktop settings or PAC/WPAD; we want exactly what curl and openssl do.
    // false: always direct.
    bool proxyFromEnvironment = true;
    QByteArray userAgent;         // empty: defaultUserAgent()
    // HTTPS, for FetchKind::AcmeJson requests only (every other kind refuses https:// whatever
    // this says). The server's certificate is always verified, against the system's trust store
    // (unless httpsUseSystemTrust is false) plus the PEM or DER certificates in httpsCaFiles
    // (a private ACME CA such as pebble or step-ca); verification is never switched off.
    bool allowHttps = false;
    QStringList httpsCaFiles;
    bool httpsUseSystemTrust = true;
};

// "Staplescope/0.1.0": the application's version when set, else the version CMake built.
QByteArray defaultUserAgent();

struct FetchRequest {
    FetchKind kind = FetchKind::OcspResponse;
    QUrl url;
    QByteArray postBody;          // empty: GET
    QByteArray postContentType;   // "application/ocsp-request"

    bool operator==(const FetchRequest&) const = default;
};

enum class FetchFailure {
    None,
    InvalidUrl,        // not an http:// URL we can ask (https is refused: responders are plain HTTP by design, and a TLS lookup would recurse;
                       // only AcmeJson is fetched, and only over https, when allowHttps is set)
    HostNotFound,      // DNS
    ConnectionRefused,
    Timeout,           // connect or total timeout
    ConnectionClosed,  // closed before the whole body arrived
    HttpStatus,        // not 200; `error` quotes the status and the first line of an HTML error page
    WrongContentType,  // e.g. text/html for an OCSP request
    TooLarge,          // over maxBodyBytes(kind)
    TooManyRedirects,  // more than maxRedirects, or a redirect loop
    EmptyBody,         // HTTP 200 with nothing in it
    ProxyFailed,
    Tls,               // HTTPS: the server's certificate was not accepted (named with why), or the handshake failed
    Network,           // anything else the network layer reports
    Cancelled,
};

struct FetchResult {
    FetchRequest request;
    QUrl finalUrl;                 // after redirects
    FetchFailure failure = FetchFailure::None;
    QString error;                 // one sentence: "ocsp.example.test:80 refused the connection"
    int httpStatus = 0;            // 0 when no HTTP answer came
    QByteArray contentType;
    QByteArray body;               // the whole body when ok()
    qint64 elapsedMs = 0;
    bool fromCache = false;        // the same request was made earlier by this fetcher
    QString proxy;                 // "127.0.0.1:3128" when it went through a proxy; empty: direct
    // The last hop's response headers as sent (names as the server spelled them); kept for every
    // answer, also a failed status (ACME's Retry-After).
    QList<std::pair<QByteArray, QByteArray>> headers;

    bool ok() const { return failure == FetchFailure::None; }
    // The first header of that name (case-insensitive); empty when absent.
    QByteArray header(const QByteArray& name) const;
};

QString fetchFailureName(FetchFailure failure); // "timeout", "http-status", … (for JSON and tests)

// The proxy the environment names for `url` ("http://user:pw@host:port"); empty when none applies
// (no variable set, or no_proxy names the host: "*", a host, ".domain" or "domain" suffix, an IP;
// a ":port" on an entry is ignored).
QUrl environmentProxyFor(const QUrl& url);

class HttpFetcher {
public:
    explicit HttpFetcher(FetchOptions options = {});
    ~HttpFetcher();
    HttpFetcher(const HttpFetcher&) = delete;
    HttpFetcher& operator=(const HttpFetcher&) = delete;

    const FetchOptions& options() const { return m_options; }

    // Runs every request, at most maxConcurrent at once; identical requests (also those made by
    // earlier calls on this fetcher) are made once. Within a call every identical request gets the
    // one result; across calls only successful results are reused (a failure is asked again). Results in request order. `cancel` stops
    // waiting (results then say Cancelled); `progress` is called as requests finish.
    QList<FetchResult> fetchAll(const QList<FetchRequest>& requests, const std::atomic<bool>* cancel = nullptr,
                                const std::function<void(int done, int total)>& progress = {});

private:
    struct Cache;
    FetchOptions m_options;
    std::unique_ptr<Cache> m_cache;
};

} // namespace staplescope
