#pragma once
// The one table of finding codes (STYLE.md 14): what each code means, as types. Producers make
// findings through makeFinding(), which spells the code and checks the severity against the code's
// ladder; consumers (the timeline, the reports, the front ends) ask the registry, never compare
// code strings. docs/findings.md documents every code; tests/tst_registry.cpp checks both agree.

#include "Finding.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace staplescope {

// Every finding code, in the order of docs/findings.md. The spelling (codeName) is the public contract.
enum class FindingCode {
    // Inputs
    InputUnreadable,
    InputEmpty,
    InputUnrecognized,
    InputMalformed,
    InputPasswordRequired,
    NoServerCertificate,
    // Certificates and keys
    CertExpired,
    CertNotYetValid,
    CertExpiringSoon,
    CertSuperseded,
    CertRevoked,
    CertWrongPurpose,
    CertCriticalExtension,
    KeyMismatch,
    KeyEncrypted,
    HostnameMismatch,
    // Chain
    ChainOrder,
    ChainIncomplete,
    ChainBadSignature,
    ChainExtraCert,
    ChainTooLong,
    ChainUntrusted,
    ChainIssuerNotCa,
    ChainPathLength,
    ChainNameConstraints,
    ChainCrlUnusable,
    ChainRejected,
    // Staple matching, validity, status and presence
    StapleForOtherCert,
    StapleIssuerMismatch,
    StapleForIntermediate,
    StapleMultipleResponses,
    StapleUnmatched,
    StapleResponseUnsuccessful,
    StapleSignatureInvalid,
    StapleResponderUnauthorized,
    StapleResponderExpired,
    StapleUnverifiable,
    StapleSignerNotFound,
    StapleExpired,
    StapleNotYetValid,
    StapleClockSkew,
    StapleNoNextUpdate,
    StapleRefreshDue,
    StapleOutlivesCert,
    StapleTextEncoded,
    StapleRevoked,
    StapleStatusUnknown,
    StapleMissing,
    StapleNotServed,
    MustStapleMissing,
    MustStapleNoOcspUrl,
    OcspUrlMissing,
    StapleButNoOcspUrl,
    // Live servers
    ConnectFailed,
    TlsHandshakeFailed,
    StartTlsNotOffered,
    StartTlsFailed,
    ServedDiffersFromDisk,
    AddressesDiffer,
    // Online checks: responders, CRLs and issuers asked over HTTP (inspect --online, refresh)
    OcspFetchFailed,
    IssuerFetched,
    IssuerFetchFailed,
    CrlFetchFailed,
    CrlInvalid,
    CrlExpired,
    RevocationChecked,
    // Deploying and renewing (core/act: deploy, renew)
    DeployRefused,
    DeployRolledBack,
    RenewalDue,
    RenewalWindowEarly,
    RenewalInfoFailed,
    RenewClientFailed,
};

// What a finding is about; the reports group by it (connection findings get their own heading;
// info findings about one input file are summed up on a terminal). Input: one file could not be
// used. NO_SERVER_CERTIFICATE is about the certificates found, so Certificate.
enum class FindingCategory { Input, Certificate, Key, Chain, Staple, Connection };

// What a finding does to the timeline lane of the objects it names (Timeline maps it to LaneState).
enum class LaneEffect { None, Due, NotYetValid, Expired, Invalid, Revoked, Mismatched };

// Which lanes the effect colours: a leaf's lane is not coloured by findings that are really about
// its staple (a staple for another certificate makes the staple mismatched, not the certificate).
enum class LaneScope { AnyLane, StapleLaneOnly };

// Every kind, for tests and for front ends that list them.
QList<RemedyKind> allRemedyKinds();
// Stable machine name ("refresh-staple").
QString remedyKindName(RemedyKind kind);

struct FindingInfo {
    FindingCode code;
    QString name;                // CERT_EXPIRED: the public spelling
    FindingCategory category;
    QList<Severity> ladder;      // the severities a producer may choose, worst first
    LaneEffect lane;
    LaneScope laneScope;
    RemedyKind remedy;           // the usual remedy; a producer may name a more precise one
    QString docsAnchor;          // the heading's anchor in docs/findings.md: "cert_expired"
};

// The table, in FindingCode order.
const QList<FindingInfo>& findingRegistry();
const FindingInfo& findingInfo(FindingCode code);
QString codeName(FindingCode code);
std::optional<FindingCode> findingCodeFromName(const QString& name);
// The registry entry of a finding; nullptr for a finding whose code is not registered (none made
// by makeFinding; only hand-built ones).
const FindingInfo* findingInfo(const Finding& finding);
std::optional<FindingCode> findingCode(const Finding& finding);
bool isOnLadder(FindingCode code, Severity severity);
QString findingCategoryName(FindingCategory category);

// The one way to make a finding. `severity` must lie on the code's ladder: a severity off it is
// kept, so that behaviour never depends on the check, and reported with qWarning; with
// STAPLESCOPE_STRICT_FINDINGS set in the environment (the test suite sets it) it is fatal. `remedy.kind` None: the code's usual remedy kind (with the data given).
Finding makeFinding(FindingCode code, Severity severity, const QString& title, const QString& subject, const QString& message,
                    const QString& fix, const QStringList& objectIds = {}, const Remedy& remedy = {});

} // namespace staplescope
