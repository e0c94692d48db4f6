#include "FindingRegistry.h"

#include <QHash>
#include <QtGlobal>

namespace staplescope {

namespace {

FindingInfo entry(FindingCode code, const char* name, FindingCategory category, QList<Severity> ladder, LaneEffect lane,
                  LaneScope scope, RemedyKind remedy)
{
    const QString spelled = QString::fromLatin1(name);
    // GitHub's heading anchor for "### `CERT_EXPIRED`": lower case, the backticks dropped.
    return FindingInfo{code, spelled, category, std::move(ladder), lane, scope, remedy, spelled.toLower()};
}

QList<FindingInfo> makeTable()
{
    using C = FindingCode;
    using Cat = FindingCategory;
    using S = Severity;
    using L = LaneEffect;
    using R = RemedyKind;
    // code, spelling, category, severity ladder, timeline effect, lanes it colours, usual remedy
    return {
        entry(C::InputUnreadable, "INPUT_UNREADABLE", Cat::Input, {S::Error, S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::CheckPath),
        entry(C::InputEmpty, "INPUT_EMPTY", Cat::Input, {S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::RerunFetchJob),
        entry(C::InputUnrecognized, "INPUT_UNRECOGNIZED", Cat::Input, {S::Error, S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::UseServerFile),
        entry(C::InputMalformed, "INPUT_MALFORMED", Cat::Input, {S::Error}, L::None, LaneScope::AnyLane, R::FetchFileAgain),
        entry(C::InputPasswordRequired, "INPUT_PASSWORD_REQUIRED", Cat::Input, {S::Error}, L::None, LaneScope::AnyLane, R::GivePassword),
        entry(C::NoServerCertificate, "NO_SERVER_CERTIFICATE", Cat::Certificate, {S::Info}, L::None, LaneScope::AnyLane, R::AddServerCertificate),
        entry(C::CertExpired, "CERT_EXPIRED", Cat::Certificate, {S::Critical, S::Error}, L::Expired, LaneScope::AnyLane, R::RenewCertificate),
        entry(C::CertNotYetValid, "CERT_NOT_YET_VALID", Cat::Certificate, {S::Error}, L::NotYetValid, LaneScope::AnyLane, R::CheckClocks),
        entry(C::CertExpiringSoon, "CERT_EXPIRING_SOON", Cat::Certificate, {S::Critical, S::Warning}, L::Due, LaneScope::AnyLane, R::RenewCertificate),
        entry(C::CertSuperseded, "CERT_SUPERSEDED", Cat::Certificate, {S::Info}, L::None, LaneScope::AnyLane, R::RetireOldCertificate),
        entry(C::CertRevoked, "CERT_REVOKED", Cat::Certificate, {S::Critical}, L::Revoked, LaneScope::AnyLane, R::ReplaceCertificate),
        entry(C::CertWrongPurpose, "CERT_WRONG_PURPOSE", Cat::Certificate, {S::Error}, L::Invalid, LaneScope::AnyLane, R::ReissueCertificate),
        entry(C::CertCriticalExtension, "CERT_CRITICAL_EXTENSION", Cat::Certificate, {S::Error}, L::Invalid, LaneScope::AnyLane, R::ReissueCertificate),
        entry(C::KeyMismatch, "KEY_MISMATCH", Cat::Key, {S::Critical}, L::None, LaneScope::AnyLane, R::ConfigureMatchingKey),
        entry(C::KeyEncrypted, "KEY_ENCRYPTED", Cat::Key, {S::Info}, L::None, LaneScope::AnyLane, R::GivePassword),
        entry(C::HostnameMismatch, "HOSTNAME_MISMATCH", Cat::Certificate, {S::Error}, L::None, LaneScope::AnyLane, R::CheckServerName),
        entry(C::ChainOrder, "CHAIN_ORDER", Cat::Chain, {S::Error, S::Warning}, L::None, LaneScope::AnyLane, R::FixChainOrder),
        entry(C::ChainIncomplete, "CHAIN_INCOMPLETE", Cat::Chain, {S::Error}, L::None, LaneScope::AnyLane, R::FetchIssuer),
        entry(C::ChainBadSignature, "CHAIN_BAD_SIGNATURE", Cat::Chain, {S::Error}, L::Invalid, LaneScope::AnyLane, R::ReplaceChain),
        entry(C::ChainExtraCert, "CHAIN_EXTRA_CERT", Cat::Chain, {S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::RemoveFromChain),
        entry(C::ChainTooLong, "CHAIN_TOO_LONG", Cat::Chain, {S::Error}, L::None, LaneScope::AnyLane, R::ReplaceChain),
        entry(C::ChainUntrusted, "CHAIN_UNTRUSTED", Cat::Chain, {S::Error}, L::None, LaneScope::AnyLane, R::AddTrustAnchor),
        entry(C::ChainIssuerNotCa, "CHAIN_ISSUER_NOT_CA", Cat::Chain, {S::Error}, L::Invalid, LaneScope::AnyLane, R::ReplaceChain),
        entry(C::ChainPathLength, "CHAIN_PATH_LENGTH", Cat::Chain, {S::Error}, L::Invalid, LaneScope::AnyLane, R::ReplaceChain),
        entry(C::ChainNameConstraints, "CHAIN_NAME_CONSTRAINTS", Cat::Chain, {S::Error}, L::Invalid, LaneScope::AnyLane, R::ReissueCertificate),
        entry(C::ChainCrlUnusable, "CHAIN_CRL_UNUSABLE", Cat::Chain, {S::Warning}, L::None, LaneScope::AnyLane, R::FetchCrl),
        entry(C::ChainRejected, "CHAIN_REJECTED", Cat::Chain, {S::Error}, L::Invalid, LaneScope::AnyLane, R::RenewCertificate),
        entry(C::StapleForOtherCert, "STAPLE_FOR_OTHER_CERT", Cat::Staple, {S::Critical}, L::Mismatched, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleIssuerMismatch, "STAPLE_ISSUER_MISMATCH", Cat::Staple, {S::Critical}, L::Mismatched, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleForIntermediate, "STAPLE_FOR_INTERMEDIATE", Cat::Staple, {S::Critical}, L::Mismatched, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleMultipleResponses, "STAPLE_MULTIPLE_RESPONSES", Cat::Staple, {S::Warning, S::Info}, L::None, LaneScope::StapleLaneOnly, R::RemoveStaple),
        entry(C::StapleUnmatched, "STAPLE_UNMATCHED", Cat::Staple, {S::Warning}, L::None, LaneScope::StapleLaneOnly, R::LoadStapleWithCertificate),
        entry(C::StapleResponseUnsuccessful, "STAPLE_RESPONSE_UNSUCCESSFUL", Cat::Staple, {S::Error}, L::Invalid, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleSignatureInvalid, "STAPLE_SIGNATURE_INVALID", Cat::Staple, {S::Critical}, L::Invalid, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleResponderUnauthorized, "STAPLE_RESPONDER_UNAUTHORIZED", Cat::Staple, {S::Critical}, L::Invalid, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleResponderExpired, "STAPLE_RESPONDER_EXPIRED", Cat::Staple, {S::Error}, L::Invalid, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleUnverifiable, "STAPLE_UNVERIFIABLE", Cat::Staple, {S::Warning}, L::None, LaneScope::StapleLaneOnly, R::AddChainFile),
        entry(C::StapleSignerNotFound, "STAPLE_SIGNER_NOT_FOUND", Cat::Staple, {S::Error}, L::Invalid, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleExpired, "STAPLE_EXPIRED", Cat::Staple, {S::Critical, S::Error}, L::Expired, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleNotYetValid, "STAPLE_NOT_YET_VALID", Cat::Staple, {S::Error}, L::NotYetValid, LaneScope::StapleLaneOnly, R::CheckClocks),
        entry(C::StapleClockSkew, "STAPLE_CLOCK_SKEW", Cat::Staple, {S::Info}, L::None, LaneScope::StapleLaneOnly, R::CheckClocks),
        entry(C::StapleNoNextUpdate, "STAPLE_NO_NEXT_UPDATE", Cat::Staple, {S::Warning}, L::None, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleRefreshDue, "STAPLE_REFRESH_DUE", Cat::Staple, {S::Critical, S::Warning}, L::Due, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleOutlivesCert, "STAPLE_OUTLIVES_CERT", Cat::Staple, {S::Info}, L::None, LaneScope::StapleLaneOnly, R::None),
        entry(C::StapleTextEncoded, "STAPLE_TEXT_ENCODED", Cat::Staple, {S::Warning}, L::None, LaneScope::StapleLaneOnly, R::ConvertStaple),
        entry(C::StapleRevoked, "STAPLE_REVOKED", Cat::Staple, {S::Critical}, L::Revoked, LaneScope::AnyLane, R::ReplaceCertificate),
        entry(C::StapleStatusUnknown, "STAPLE_STATUS_UNKNOWN", Cat::Staple, {S::Error}, L::Invalid, LaneScope::StapleLaneOnly, R::RefreshStaple),
        entry(C::StapleMissing, "STAPLE_MISSING", Cat::Staple, {S::Warning}, L::None, LaneScope::StapleLaneOnly, R::ConfigureStapling),
        entry(C::StapleNotServed, "STAPLE_NOT_SERVED", Cat::Staple, {S::Critical, S::Warning}, L::None, LaneScope::StapleLaneOnly, R::ConfigureStapling),
        entry(C::MustStapleMissing, "MUST_STAPLE_MISSING", Cat::Staple, {S::Critical}, L::None, LaneScope::AnyLane, R::ConfigureStapling),
        entry(C::MustStapleNoOcspUrl, "MUST_STAPLE_NO_OCSP_URL", Cat::Certificate, {S::Error}, L::None, LaneScope::AnyLane, R::ReissueCertificate),
        entry(C::OcspUrlMissing, "OCSP_URL_MISSING", Cat::Certificate, {S::Info}, L::None, LaneScope::AnyLane, R::None),
        entry(C::StapleButNoOcspUrl, "STAPLE_BUT_NO_OCSP_URL", Cat::Staple, {S::Warning}, L::None, LaneScope::StapleLaneOnly, R::RemoveStaple),
        entry(C::ConnectFailed, "CONNECT_FAILED", Cat::Connection, {S::Error}, L::None, LaneScope::AnyLane, R::CheckServerSetup),
        entry(C::TlsHandshakeFailed, "TLS_HANDSHAKE_FAILED", Cat::Connection, {S::Error}, L::None, LaneScope::AnyLane, R::CheckServerTlsFiles),
        entry(C::StartTlsNotOffered, "STARTTLS_NOT_OFFERED", Cat::Connection, {S::Error}, L::None, LaneScope::AnyLane, R::EnableStartTls),
        entry(C::StartTlsFailed, "STARTTLS_FAILED", Cat::Connection, {S::Error}, L::None, LaneScope::AnyLane, R::CheckServerSetup),
        entry(C::ServedDiffersFromDisk, "SERVED_DIFFERS_FROM_DISK", Cat::Connection, {S::Error, S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::ReloadServer),
        entry(C::AddressesDiffer, "ADDRESSES_DIFFER", Cat::Connection, {S::Error, S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::ReloadServer),
        entry(C::OcspFetchFailed, "OCSP_FETCH_FAILED", Cat::Connection, {S::Error, S::Warning}, L::None, LaneScope::AnyLane, R::RetryFetch),
        entry(C::IssuerFetched, "ISSUER_FETCHED", Cat::Chain, {S::Info}, L::None, LaneScope::AnyLane, R::FetchIssuer),
        entry(C::IssuerFetchFailed, "ISSUER_FETCH_FAILED", Cat::Connection, {S::Warning}, L::None, LaneScope::AnyLane, R::RetryFetch),
        entry(C::CrlFetchFailed, "CRL_FETCH_FAILED", Cat::Connection, {S::Warning}, L::None, LaneScope::AnyLane, R::RetryFetch),
        entry(C::CrlInvalid, "CRL_INVALID", Cat::Chain, {S::Error}, L::None, LaneScope::AnyLane, R::FetchCrl),
        entry(C::CrlExpired, "CRL_EXPIRED", Cat::Chain, {S::Warning}, L::None, LaneScope::AnyLane, R::FetchCrl),
        entry(C::RevocationChecked, "REVOCATION_CHECKED", Cat::Certificate, {S::Info}, L::None, LaneScope::AnyLane, R::None),
        entry(C::DeployRefused, "DEPLOY_REFUSED", Cat::Certificate, {S::Critical, S::Error}, L::None, LaneScope::AnyLane, R::RetryFetch),
        entry(C::DeployRolledBack, "DEPLOY_ROLLED_BACK", Cat::Connection, {S::Critical}, L::None, LaneScope::AnyLane, R::CheckServerTlsFiles),
        entry(C::RenewalDue, "RENEWAL_DUE", Cat::Certificate, {S::Warning, S::Info}, L::Due, LaneScope::AnyLane, R::RenewCertificate),
        entry(C::RenewalWindowEarly, "RENEWAL_WINDOW_EARLY", Cat::Certificate, {S::Warning}, L::Due, LaneScope::AnyLane, R::RenewCertificate),
        entry(C::RenewalInfoFailed, "RENEWAL_INFO_FAILED", Cat::Connection, {S::Warning, S::Info}, L::None, LaneScope::AnyLane, R::RetryFetch),
        entry(C::RenewClientFailed, "RENEW_CLIENT_FAILED", Cat::Certificate, {S::Critical, S::Error}, L::None, LaneScope::AnyLane, R::CheckAcmeClient),
    };
}

const QHash<QString, FindingCode>& byName()
{
    static const QHash<QString, FindingCode> names = [] {
        QHash<QString, FindingCode> out;
        for (const FindingInfo& info : findingRegistry())
            out.insert(info.name, info.code);
        return out;
    }();
    return names;
}

} // namespace

QList<RemedyKind> allRemedyKinds()
{
    QList<RemedyKind> out;
    for (int k = int(RemedyKind::None); k <= int(RemedyKind::CheckAcmeClient); ++k)
        out << RemedyKind(k);
    return out;
}

QString remedyKindName(RemedyKind kind)
{
    switch (kind) {
    case RemedyKind::None: return QStringLiteral("none");
    case RemedyKind::CheckPath: return QStringLiteral("check-path");
    case RemedyKind::RerunFetchJob: return QStringLiteral("rerun-fetch-job");
    case RemedyKind::UseServerFile: return QStringLiteral("use-server-file");
    case RemedyKind::FetchFileAgain: return QStringLiteral("fetch-file-again");
    case RemedyKind::GivePassword: return QStringLiteral("give-password");
    case RemedyKind::AddServerCertificate: return QStringLiteral("add-server-certificate");
    case RemedyKind::RenewCertificate: return QStringLiteral("renew-certificate");
    case RemedyKind::ReplaceCertificate: return QStringLiteral("replace-certificate");
    case RemedyKind::ReissueCertificate: return QStringLiteral("reissue-certificate");
    case RemedyKind::CheckClocks: return QStringLiteral("check-clocks");
    case RemedyKind::RetireOldCertificate: return QStringLiteral("retire-old-certificate");
    case RemedyKind::ConfigureMatchingKey: return QStringLiteral("configure-matching-key");
    case RemedyKind::CheckServerName: return QStringLiteral("check-server-name");
    case RemedyKind::FixChainOrder: return QStringLiteral("fix-chain-order");
    case RemedyKind::FetchIssuer: return QStringLiteral("fetch-issuer");
    case RemedyKind::ReplaceChain: return QStringLiteral("replace-chain");
    case RemedyKind::RemoveFromChain: return QStringLiteral("remove-from-chain");
    case RemedyKind::AddTrustAnchor: return QStringLiteral("add-trust-anchor");
    case RemedyKind::FetchCrl: return QStringLiteral("fetch-crl");
    case RemedyKind::RefreshStaple: return QStringLiteral("refresh-staple");
    case RemedyKind::RemoveStaple: return QStringLiteral("remove-staple");
    case RemedyKind::ConvertStaple: return QStringLiteral("convert-staple");
    case RemedyKind::AddChainFile: return QStringLiteral("add-chain-file");
    case RemedyKind::LoadStapleWithCertificate: return QStringLiteral("load-staple-with-certificate");
    case RemedyKind::ConfigureStapling: return QStringLiteral("configure-stapling");
    case RemedyKind::ReloadServer: return QStringLiteral("reload-server");
    case RemedyKind::CheckServerTlsFiles: return QStringLiteral("check-server-tls-files");
    case RemedyKind::CheckServerSetup: return QStringLiteral("check-server-setup");
    case RemedyKind::EnableStartTls: return QStringLiteral("enable-starttls");
    case RemedyKind::RetryFetch: return QStringLiteral("retry-fetch");
    case RemedyKind::CheckAcmeClient: return QStringLiteral("check-acme-client");
    }
    return QStringLiteral("none");
}

const QList<FindingInfo>& findingRegistry()
{
    static const QList<FindingInfo> table = makeTable();
    return table;
}

const FindingInfo& findingInfo(FindingCode code)
{
    // The table is in enum order (tst_registry checks it).
    return findingRegistry().at(qsizetype(code));
}

QString codeName(FindingCode code) { return findingInfo(code).name; }

std::optional<FindingCode> findingCodeFromName(const QString& name)
{
    const auto it = byName().constFind(name);
    if (it == byName().constEnd())
        return std::nullopt;
    return *it;
}

const FindingInfo* findingInfo(const Finding& finding)
{
    const std::optional<FindingCode> code = findingCodeFromName(finding.code);
    return code ? &findingInfo(*code) : nullptr;
}

std::optional<FindingCode> findingCode(const Finding& finding) { return findingCodeFromName(finding.code); }

bool isOnLadder(FindingCode code, Severity severity) { return findingInfo(code).ladder.contains(severity); }

QString findingCategoryName(FindingCategory category)
{
    switch (category) {
    case FindingCategory::Input: return QStringLiteral("input");
    case FindingCategory::Certificate: return QStringLiteral("certificate");
    case FindingCategory::Key: return QStringLiteral("key");
    case FindingCategory::Chain: return QStringLiteral("chain");
    case FindingCategory::Staple: return QStringLiteral("staple");
    case FindingCategory::Connection: return QStringLiteral("connection");
    }
    return QStringLiteral("input");
}

Finding makeFinding(FindingCode code, Severity severity, const QString& title, const QString& subject, const QString& message,
                    const QString& fix, const QStringList& objectIds, const Remedy& remedy)
{
    const FindingInfo& info = findingInfo(code);
    if (!info.ladder.contains(severity)) {
        static const bool strict = qEnvironmentVariableIsSet("STAPLESCOPE_STRICT_FINDINGS");
        if (strict)
            qFatal("finding %s: severity %s is not on its ladder", qPrintable(info.name), qPrintable(severityName(severity)));
        qWarning("finding %s: severity %s is not on its ladder", qPrintable(info.name), qPrintable(severityName(severity)));
    }
    Finding f;
    f.code = info.name;
    f.severity = severity;
    f.title = title;
    f.subject = subject;
    f.message = message;
    f.fix = fix;
    f.objectIds = objectIds;
    f.remedy = remedy;
    if (f.remedy.kind == RemedyKind::None)
        f.remedy.kind = info.remedy;
    return f;
}

} // namespace staplescope
