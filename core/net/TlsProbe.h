#pragma once
// The network layer of "inspect a live server": resolve, connect, run the STARTTLS dialogue if the
// protocol has one, do a TLS handshake that asks for an OCSP staple, and return what the server
// served (chain and staple as DER, in served order) plus findings. No certificate is verified or
// parsed here: the analysis does that on the returned bytes.
//
// Blocking and bounded: call from a worker thread. Every wait has a deadline, every buffer a cap.

#include "Finding.h"
#include "StartTls.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <atomic>
#include <optional>

namespace staplescope {

// This layer's findings (CONNECT_FAILED, TLS_HANDSHAKE_FAILED, STARTTLS_*; all Severity::Error) are
// in the registry (FindingRegistry.h).

struct ProbeOptions {
    enum class TlsVersion { Any, Tls12, Tls13 }; // Any: TLS 1.2 or 1.3, whichever the server prefers

    QString host;            // DNS name or IP literal ("[::1]" accepted)
    quint16 port = 443;
    QString serverName;      // SNI; empty: the host name, or no SNI when the host is an IP literal
    // IP literals: connect only there and skip DNS (the host still names SNI). Several: check each
    // of these backends, as if the name resolved to them.
    QStringList pinnedAddresses;
    std::optional<StartTlsProtocol> startTls; // empty: defaultStartTlsProtocol(port)
    TlsVersion tlsVersion = TlsVersion::Any;
    int connectTimeoutMs = 5000; // per address
    int stepTimeoutMs = 5000;    // each clear-text exchange, and the TLS handshake
    int totalTimeoutMs = 20000;  // the whole probe() call, all addresses together
    bool requestStatus = true;   // send status_request (ask for an OCSP staple)
    // When a handshake with status_request fails, try once more without it: some servers (a staple
    // file that doesn't match the certificate) fail exactly those handshakes.
    bool retryWithoutStatusRequest = true;
    QString clientName = QStringLiteral("staplescope.invalid"); // SMTP EHLO argument
    int maxChainCertificates = 100;
    qsizetype maxChainBytes = 1024 * 1024;      // the Certificate message (OpenSSL's max_cert_list)
    qsizetype maxPlainTextBytes = 64 * 1024;    // everything received before TLS starts
    qsizetype maxLineBytes = 16 * 1024;
};

// The outcome for one address.
struct ProbeResult {
    QString host;
    quint16 port = 0;
    QString address;         // the address connected to; empty when resolution failed
    StartTlsProtocol protocol = StartTlsProtocol::None;
    QString serverName;      // SNI actually sent; empty: none
    bool connected = false;
    bool tlsEstablished = false;
    bool cancelled = false;  // the cancel flag stopped this check; findings are then incomplete
    QList<QByteArray> chainDer; // as served: leaf first, then whatever the server sent
    QByteArray stapleDer;    // the OCSP response as received; empty: none stapled
    bool stapleRequested = false; // the successful (or last) handshake sent status_request
    // The handshake with status_request failed and one without it was tried.
    bool retriedWithoutStatusRequest = false;
    // ... and that second one succeeded: the server breaks handshakes that ask for a staple.
    bool handshakeSucceededOnlyWithoutStatusRequest = false;
    QString tlsVersion;      // "TLSv1.3"
    QString cipher;          // OpenSSL name, "TLS_AES_256_GCM_SHA384"
    QStringList alerts;      // TLS alerts, "received: handshake failure" / "sent: ..."
    QStringList transcript;  // clear-text exchange and TLS steps, for a details view; never secrets
    QList<Finding> findings;

    // "host:port [address]" (or "host:port" before an address is known): the findings' subject.
    QString subject() const;
};

// Probes every address the host resolves to (A and AAAA, sequentially, in resolver order), or only
// the pinned addresses. Returns at least one result. `cancel`, when set, stops the work within about
// 100 ms (DNS resolution itself is not interruptible and is bounded by the system resolver).
QList<ProbeResult> probe(const ProbeOptions& options, const std::atomic<bool>* cancel = nullptr);

// probe() for many endpoints on a private thread pool of `maxConcurrent` threads; results in the
// order of `endpoints`. Blocks until all are done.
QList<QList<ProbeResult>> probeMany(const QList<ProbeOptions>& endpoints, int maxConcurrent,
                                    const std::atomic<bool>* cancel = nullptr);

} // namespace staplescope
