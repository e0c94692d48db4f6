#pragma once
// "Inspect a live server", end to end: probe each endpoint (every address it resolves to), turn
// what each address served into a Bundle like any file-based one, compare it with files on disk,
// and evaluate everything with the same InspectionSession, so findings, JSON and text are the
// same as for files. Blocking: run it on a worker thread.

#include "Inspection.h"
#include "TlsProbe.h"

#include <atomic>
#include <memory>

namespace staplescope {

struct HostPort {
    QString host; // without brackets
    quint16 port = 443;
};
// What a user types for a server: "mail.example.org:587", "mail.example.org" (443), "[2001:db8::1]:993", "2001:db8::1" (443).
std::optional<HostPort> parseHostPort(const QString& text);

// A server as a user drops or pastes it: "host:port" text (parseHostPort; STARTTLS by port, as
// for --connect) or a URL whose scheme names the service. An implicit-TLS scheme (https, smtps,
// submissions, imaps, pop3s, ldaps, ftps) means TLS from the first byte; a scheme that is a
// STARTTLS protocol's name (smtp, imap, pop3, ftp, ldap, xmpp, sieve, postgres; startTlsProtocolNames)
// means that dialogue. Without a port, the scheme's well-known one (defaultStartTlsPort). The path
// and query of a URL are ignored. `error` says why text is not a server (unknown scheme, no host, …).
struct ServerTarget {
    HostPort endpoint;
    std::optional<StartTlsProtocol> startTls; // empty: by port (defaultStartTlsProtocol)
    QString error;                            // non-empty: not a server; endpoint is meaningless
    bool ok() const { return error.isEmpty(); }
};
ServerTarget parseServerTarget(const QString& text);

struct ServerCheckRequest {
    ProbeOptions probe;
    // What the server should be serving, as files (the server's configuration names them): read
    // as `inspect` reads them (--compare PATH: roles inferred; --cert, --chain, --staple, --key).
    RoleFiles compare;
};

struct ServerCheckOptions {
    int maxConcurrent = 8;       // endpoints probed at the same time
    QStringList caFiles;
    bool useSystemTrust = true;
    // When set, the trust anchors to use as they are (caFiles and useSystemTrust are then not
    // read): a long-running caller (serve) builds them once, because the system store's bundle
    // file is parsed for every new TrustStore (tens of milliseconds). Only read while checking.
    std::shared_ptr<TrustStore> trust;
    LoadOptions load;            // for the compare files
    // The evaluation time of what the check judges itself (a staple file that explains a failed
    // handshake has expired by then); null: `clock`'s now. The session it returns can be evaluated
    // at any time later.
    QDateTime at;
    std::shared_ptr<const Clock> clock = Clock::system();
};

// One endpoint's outcome: per address, what was probed and which bundle it became.
struct ServerCheckEndpoint {
    ServerCheckRequest request;
    QList<ProbeResult> addresses;
    QStringList bundleIds;       // Bundle::id of each address that served a certificate
    QStringList compareFiles;    // files read for the comparison
};

struct ServerCheckResult {
    std::shared_ptr<InspectionSession> session; // evaluate() again for another "as of" time
    QList<ServerCheckEndpoint> endpoints;        // in request order
    bool cancelled = false;
};

// Probes (bounded concurrency), bundles, compares. Findings that don't depend on the evaluation
// time (connection problems, differences) are the session's input findings.
ServerCheckResult runServerChecks(const QList<ServerCheckRequest>& requests, const ServerCheckOptions& options,
                                  const std::atomic<bool>* cancel = nullptr);

// runServerChecks + evaluate, both at analysis.at (options.clock's now when null).
InspectionReport checkServers(const QList<ServerCheckRequest>& requests, const ServerCheckOptions& options,
                              const AnalysisOptions& analysis, const std::atomic<bool>* cancel = nullptr);

// The files a request compares against, loaded and bundled as `inspect` would.
struct DiskState {
    QList<Bundle> bundles;
    QList<Finding> findings;
    QStringList files;
    QList<Certificate> certificates;
};

// What one address served against the files: the same certificate (else the current one on disk
// for the same names: the server was not reloaded after a renewal, or the files are not the ones
// it reads), then the same staple (none served, an old one, an older or newer thisUpdate).
// Findings are SERVED_DIFFERS_FROM_DISK; none when they agree. `compareLabel` names the files.
QList<Finding> compareWithDisk(const Bundle& served, const DiskState& disk, const QString& compareLabel);

// Turns one address's probe result into a served bundle (leaf, chain as served, staple attached
// explicitly, expected host name), or nullopt when the server sent no certificate. Findings for
// bytes that don't parse are appended to `findings`.
std::optional<Bundle> bundleFromProbe(const ProbeResult& result, const TrustStore* trust, QList<Finding>* findings);

} // namespace staplescope
