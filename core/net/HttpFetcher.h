#pragma once
// The one HTTP client of the engine, for what certificates point to: OCSP responders, CRLs and
// CA Issuers certificates. Built on QNetworkAccessManager: one connection reused per host, many
// requests in flight (bounded), identical requests made once, proxies from the environment
// (http_proxy, https_proxy, no_proxy), bounded in time and size, at most three redirects, and a
// User-Agent naming Staplescope and its version.
//
// Blocking: fetchAll() runs its own event loop in the calling thread, so the CLI calls it on its
// main thread and the window from a Workspace job (never the GUI thread).

#include <QByteArray>
#include <QList>
#include <QString>
#include <QUrl>

#include <atomic>
#include <functional>
#include <memory>

namespace staplescope {

enum class FetchKind { OcspResponse, Certificate, Crl };

// The most a body of this kind may be: OCSP 64 KiB, certificate 64 KiB, CRL 32 MiB.
qsizetype maxBodyBytes(FetchKind kind);
QString fetchKindName(FetchKind kind); // "OCSP response", "certificate", "CRL"

struct FetchOptions {
    int connectTimeoutMs = 10000; // until the server answers at all (DNS, TCP, first byte)
    int totalTimeoutMs = 30000;   // the whole request, redirects included
    int maxConcurrent = 16;       // requests in flight at once (--concurrency)
    int maxRedirects = 3;
    bool proxyFromEnvironment = true;
    QByteArray userAgent;         // empty: "Staplescope/VERSION"
};

struct FetchRequest {
    FetchKind kind = FetchKind::OcspResponse;
    QUrl url;
    QByteArray postBody;          // empty: GET
    QByteArray postContentType;   // "application/ocsp-request"

    bool operator==(const FetchRequest&) const = default;
};

enum class FetchFailure {
    None,
    InvalidUrl,        // not an http:// URL we can ask (https is refused: responders are plain HTTP by design, and a TLS lookup would recurse)
    HostNotFound,      // DNS
    ConnectionRefused,
    Timeout,           // connect or total timeout
    ConnectionClosed,  // closed before the whole body arrived
    HttpStatus,        // not 200; `error` quotes the status and the first line of an HTML error page
    WrongContentType,  // e.g. text/html for an OCSP request
    TooLarge,          // over maxBodyBytes(kind)
    TooManyRedirects,
    ProxyFailed,
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

    bool ok() const { return failure == FetchFailure::None; }
};

class HttpFetcher {
public:
    explicit HttpFetcher(FetchOptions options = {});
    ~HttpFetcher();
    HttpFetcher(const HttpFetcher&) = delete;
    HttpFetcher& operator=(const HttpFetcher&) = delete;

    const FetchOptions& options() const { return m_options; }

    // Runs every request, at most maxConcurrent at once; identical requests (also those made by
    // earlier calls on this fetcher) are made once. Results in request order. `cancel` stops
    // waiting (results then say Cancelled); `progress` is called as requests finish.
    QList<FetchResult> fetchAll(const QList<FetchRequest>& requests, const std::atomic<bool>* cancel = nullptr,
                                const std::function<void(int done, int total)>& progress = {});

private:
    struct Cache;
    FetchOptions m_options;
    std::unique_ptr<Cache> m_cache;
};

} // namespace staplescope
