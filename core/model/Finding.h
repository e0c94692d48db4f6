#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace staplescope {

// Ordered: a larger value is worse.
enum class Severity { Info = 0, Warning = 1, Error = 2, Critical = 3 };

QString severityName(Severity severity);                 // "info", "warning", "error", "critical"
std::optional<Severity> severityFromName(const QString& name);

// What to do, as a type: each front end words it in its own terms (the CLI names its options, the
// GUI its dialogs). The finding's `fix` stays the core's neutral sentence.
enum class RemedyKind {
    None,                    // nothing to do
    CheckPath,               // the path is wrong or unreadable
    RerunFetchJob,           // a job truncated the file: run it again
    UseServerFile,           // point the tool at the file the server uses
    FetchFileAgain,          // the file is damaged: fetch it again
    GivePassword,            // a password or passphrase opens the file
    AddServerCertificate,    // the inputs lack the server certificate
    RenewCertificate,        // renew (expired, expiring, too weak)
    ReplaceCertificate,      // revoked: replace now
    ReissueCertificate,      // request the certificate again with other contents
    CheckClocks,             // a clock is wrong, or the object is not valid yet
    RetireOldCertificate,    // a superseded certificate: make sure nothing uses it
    ConfigureMatchingKey,    // the key does not belong to the certificate
    CheckServerName,         // the name asked for (SNI) is not on the certificate
    FixChainOrder,           // rewrite the chain file in order
    FetchIssuer,             // add the missing issuer (url: CA Issuers)
    ReplaceChain,            // serve another chain
    RemoveFromChain,         // remove a certificate from the chain file (file)
    AddTrustAnchor,          // trust a private root (clients, and this tool)
    FetchCrl,                // fetch the CA's current CRL (url)
    RefreshStaple,           // fetch a fresh staple (serial, url, file)
    RemoveStaple,            // remove stale staple files
    ConvertStaple,           // convert a text staple to DER (file)
    AddChainFile,            // give the chain so the staple can be verified
    LoadStapleWithCertificate, // load the staple together with its certificate
    ConfigureStapling,       // set up stapling on the server
    ReloadServer,            // the server serves something other than the files
    CheckServerTlsFiles,     // the server cannot set up TLS: its certificate, key and staple files
    CheckServerSetup,        // the server is down, or not what was expected on that port
    EnableStartTls,          // the server does not offer STARTTLS
    RetryFetch,              // a responder, CRL or issuer URL could not be fetched: check the way there, try again (url)
    CheckAcmeClient,         // the ACME client failed: its own output says why; fix and run renew again (file: the certificate)
};

// A remedy: its kind and the data it needs (empty fields are unknown). Outside text (file names)
// is data: front ends escape it for their output.
struct Remedy {
    RemedyKind kind = RemedyKind::None;
    QString file;   // the file to change or write (staple file, chain file, certificate)
    QString serial; // the certificate it is about
    QString url;    // where to fetch from (OCSP responder, CA Issuers, CRL)

    bool operator==(const Remedy&) const = default;
};

// Made by makeFinding() (FindingRegistry.h), which spells the code from the registry.
struct Finding {
    QString code;        // public contract: see docs/findings.md
    Severity severity = Severity::Info;
    QString title;       // one line for lists and verdicts: "Staple belongs to the previous certificate"
    QString subject;     // which file and which certificate or staple
    QString message;     // what is wrong, the likely cause
    QString fix;         // what to do (may be empty for info findings)
    QStringList objectIds; // Certificate::id() / OcspStaple::id() this finding concerns (for highlighting)
    Remedy remedy = {};  // what to do, typed: each front end words it (the CLI with its options)

    bool operator==(const Finding&) const = default;
};

// Worst severity of a list; Info for an empty list.
Severity worstSeverity(const QList<Finding>& findings);

// Stable sort: worst first, then by code.
void sortFindings(QList<Finding>& findings);

// Bounds on repeated findings, so that hostile input cannot multiply its own size in the report.
// A kind (same code, severity and title) seen more than kRepeatsBeforeCollapse times in one place
// becomes a single finding that gives the count and the first kLocationsShownWhenCollapsed details.
inline constexpr int kRepeatsBeforeCollapse = 5;
inline constexpr int kLocationsShownWhenCollapsed = 3;

// Collapses kinds that repeat more than kRepeatsBeforeCollapse times within `findings` (all about
// one `place`: a file, a bundle). The summary stands where the kind first appeared; the order of
// everything else is kept. Linear in the number of findings.
QList<Finding> collapseRepeatedFindings(const QList<Finding>& findings, const QString& place);

// What collapseRepeatedFindings groups by: code, severity and title.
QString findingKind(const Finding& finding);

// The same, for a producer that stores only the first few findings of a kind (so that hostile input
// cannot make it hold millions): `notKept` counts, by findingKind(), those it saw but did not store,
// and the summary gives the true total.
QList<Finding> collapseRepeatedFindings(const QList<Finding>& findings, const QString& place,
                                        const QHash<QString, qsizetype>& notKept);

} // namespace staplescope
