#pragma once
// ACME Renewal Information (RFC 9773): when the CA suggests renewing a certificate. Reads the ACME
// server's directory for its "renewalInfo" URL, asks renewalInfo/<certID> over verified HTTPS
// (HttpFetcher with FetchKind::AcmeJson), and turns the answer into a RenewalWindow: the suggested
// window, the explanation URL and Retry-After. Every failure is one sentence; nothing is decided
// here (core/act/Renewal decides).

#include "Certificate.h"
#include "HttpFetcher.h"
#include "RenewalWindow.h"

#include <QByteArray>
#include <QDateTime>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <atomic>
#include <optional>

namespace staplescope {

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(the serial's DER INTEGER content
// octets, leading 0x00 included), both without padding. Empty when either part is empty.
QString acmeCertId(const QByteArray& authorityKeyId, const QByteArray& serialDerContent);
// The same from a certificate; empty with `why` when it has no Authority Key Identifier.
QString acmeCertId(const Certificate& cert, QString* why = nullptr);
// The content octets of the certificate's serialNumber INTEGER as encoded (0x00 prefix kept).
QByteArray serialDerContent(const Certificate& cert);

// RFC 9773 §4.3: values under a minute count as a minute, over a day as a day; no header: 6 hours.
inline constexpr qint64 kAriMinRetrySeconds = 60;
inline constexpr qint64 kAriMaxRetrySeconds = 86400;
inline constexpr qint64 kAriDefaultRetrySeconds = 6 * 3600;
// The most a suggested window may span before it is refused as nonsense: a year.
inline constexpr qint64 kAriMaxWindowSeconds = 366 * 86400;

// Retry-After as seconds ("21600") or an HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"), relative to
// `now` and clamped as above; absent or unreadable: now + 6 hours.
QDateTime parseRetryAfter(const QByteArray& value, const QDateTime& now);

// The directory's "renewalInfo" URL; nullopt when the directory is readable and has none (ARI
// is optional), an invalid URL with `error` when the body is no ACME directory.
std::optional<QUrl> renewalInfoUrlFromDirectory(const QByteArray& json, QString* error);

// A renewalInfo body: suggestedWindow.start/end (RFC 3339) and explanationURL. A null window with
// `error` when it is not one (missing or unreadable times, end not after start, a window over a
// year, explanationURL not http(s)).
RenewalWindow parseRenewalInfo(const QByteArray& json, QString* error);

struct AriOptions {
    FetchOptions fetch;            // allowHttps is set by the lookup; timeouts and proxies are used as given
    QStringList caFiles;           // trust for the ACME server besides the system's (--acme-ca-file)
    bool useSystemTrust = true;
    // Answer again from the last successful lookup of the same renewalInfo URL until its
    // Retry-After (RFC 9773 §4.3: do not ask before then). Per process.
    bool reuseUntilRetryAfter = true;
};

struct AriLookup {
    QUrl directory;
    QString certId;
    QUrl renewalInfoUrl;           // the resource asked (renewalInfo/<certID>); empty when not reached
    RenewalWindow window;          // null on failure
    bool notOffered = false;       // the directory has no renewalInfo: not an error, ARI is optional
    bool fromCache = false;        // answered by an earlier lookup whose Retry-After has not passed
    QString error;                 // one sentence when the window is null
    bool ok() const { return !window.isNull(); }
};

// Directory, then renewalInfo; bounded by the fetch options' timeouts and 64 KiB per body.
AriLookup fetchRenewalInfo(const Certificate& cert, const QUrl& directory, const AriOptions& options, const QDateTime& now,
                           const std::atomic<bool>* cancel = nullptr);

// Forgets what reuseUntilRetryAfter kept (tests).
void clearRenewalInfoCache();

} // namespace staplescope
