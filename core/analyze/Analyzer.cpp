#include "Analyzer.h"

#include "ChainVerifier.h"
#include "FindingRegistry.h"

#include <QSet>

#include <algorithm>

namespace staplescope {

namespace {

constexpr qint64 kDay = 86400;
// How far a staple's thisUpdate may lie ahead of the evaluation time: OpenSSL's default leeway
// (OCSP_check_validity with nsec = 300, as `openssl ocsp` uses). Only the not-yet-valid side:
// OpenSSL lets nextUpdate pass by the same 5 minutes, but a staple past nextUpdate means its
// refresh job has stopped, and that is worth saying at once rather than 5 minutes later.
constexpr qint64 kStapleClockLeeway = 300;

QString stapleSubject(const OcspStaple& staple)
{
    const auto responses = staple.responses();
    if (responses.isEmpty())
        return QStringLiteral("%1: OCSP response (%2)").arg(staple.source().display(), staple.responseStatusName());
    return QStringLiteral("%1: OCSP response for serial %2").arg(staple.source().display(), responses.first().certId.serialHex());
}

class Rules {
public:
    Rules(const Bundle& bundle, const AnalysisOptions& options) : b(bundle), o(options), at(options.at.toUTC()) {}

    QList<Finding> run()
    {
        // The chain verdict is OpenSSL's: its path, at the evaluation time, with its errors.
        m_verified = verifyChain(b, o.trust, at);
        checkCertificateTimes(b.leaf, true);
        for (const Certificate& c : m_verified.aboveLeaf())
            checkCertificateTimes(c, false);
        checkKey();
        checkHostName();
        checkChain();
        checkCrls();
        checkStaples();
        // A superseded certificate's window no longer matters (and its findings are demoted below).
        if (!b.renewalWindow.isNull() && !b.isSuperseded())
            m_findings << renewalWindowFindings(b.leaf, b.renewalWindow);
        fillRemedyData();
        if (b.isSuperseded())
            demoteSuperseded();
        // A chain file with thousands of unrelated certificates is one problem, said once.
        m_findings = collapseRepeatedFindings(m_findings, b.chainAsGivenSource.isEmpty() ? b.origin : b.chainAsGivenSource);
        sortFindings(m_findings);
        return m_findings;
    }

private:
    Finding& add(FindingCode code, Severity severity, const QString& title, const QString& subject, const QString& message,
                 const QString& fix, const QStringList& objectIds, const Remedy& remedy = {})
    {
        m_findings << makeFinding(code, severity, title, subject, message, fix, objectIds, remedy);
        return m_findings.last();
    }

    bool isPathAnchor(const Certificate& cert) const
    {
        return m_verified.endsAtAnchor && !m_verified.path.isEmpty() && cert == m_verified.path.last() && cert != b.leaf;
    }

    QString role(const Certificate& cert) const
    {
        if (cert == b.leaf)
            return QStringLiteral("certificate");
        if (isPathAnchor(cert))
            return cert.isSelfSigned() ? QStringLiteral("trusted root certificate") : QStringLiteral("trust anchor");
        if (cert.isSelfSigned())
            return QStringLiteral("root certificate");
        return QStringLiteral("intermediate certificate");
    }

    void checkCertificateTimes(const Certificate& cert, bool isLeaf)
    {
        const QString what = role(cert);
        const QString fixRenew = isLeaf
            ? QStringLiteral("Renew the certificate, install it, and fetch a new staple for it at the same time; then reload the server.")
            : isPathAnchor(cert)
            ? QStringLiteral("Clients that trust only this anchor reject every chain ending at it. Serve the chain to the CA's current "
                             "root (see the CA's repository) and replace the expired anchor in the clients' and this tool's trust store.")
            : QStringLiteral("Replace the %1 in the chain file with the CA's current one (see the CA's repository or the leaf's CA Issuers URL).").arg(what);
        // A time that does not parse is an invalid QDateTime, which compares before every valid
        // one: unchecked, it reads as "expired" or "not yet valid". The loader reports it as
        // INPUT_MALFORMED naming the field; here nothing is claimed from a date nobody can read.
        if (cert.notAfter().isValid() && at > cert.notAfter()) {
            add(FindingCode::CertExpired, isLeaf ? Severity::Critical : Severity::Error,
                isLeaf ? QStringLiteral("Certificate expired") : QStringLiteral("Chain certificate expired"), certificateSubject(cert),
                QStringLiteral("The %1 expired %2 (notAfter %3); clients reject it.")
                    .arg(what, relativeTime(at, cert.notAfter()), formatTime(cert.notAfter())),
                fixRenew, {cert.id()});
            return;
        }
        if (cert.notBefore().isValid() && at < cert.notBefore()) {
            add(FindingCode::CertNotYetValid, Severity::Error, QStringLiteral("Certificate not yet valid"), certificateSubject(cert),
                QStringLiteral("The %1 becomes valid only %2 (notBefore %3); clients reject it until then. "
                               "Either it was installed before its start time or a clock is wrong.")
                    .arg(what, relativeTime(at, cert.notBefore()), formatTime(cert.notBefore())),
                QStringLiteral("Keep serving the previous certificate until then, or check the clocks of this machine and the server."),
                {cert.id()});
            return;
        }
        // The warning window is a share of the lifetime, unknown without both dates.
        if (!cert.notBefore().isValid() || !cert.notAfter().isValid())
            return;
        const QDateTime warnFrom = o.expiryWarningStart(cert);
        // --crit-days moves the step to critical; it may reach further than the warning window.
        const QDateTime critFrom = o.expiryCriticalSeconds ? cert.notAfter().addSecs(-*o.expiryCriticalSeconds) : QDateTime();
        const bool critical = critFrom.isValid() && at >= critFrom;
        if (critical || at >= warnFrom) {
            const QString window = critical
                ? QStringLiteral("within the critical threshold of %1 (as configured)").arg(formatDuration(*o.expiryCriticalSeconds))
                : QStringLiteral("within the warning window of %1%2")
                      .arg(formatDuration(warnFrom.secsTo(cert.notAfter())),
                           o.expiryWarningSeconds ? QStringLiteral(" (as configured)")
                                                  : QStringLiteral(" (a third of its %1 lifetime, at most 30 days)")
                                                        .arg(formatDuration(cert.lifetimeSeconds())));
            add(FindingCode::CertExpiringSoon, critical ? Severity::Critical : Severity::Warning,
                isLeaf ? QStringLiteral("Certificate expires soon") : QStringLiteral("Chain certificate expires soon"), certificateSubject(cert),
                QStringLiteral("The %1 expires %2 (notAfter %3), %4.")
                    .arg(what, relativeTime(at, cert.notAfter()), formatTime(cert.notAfter()), window),
                isLeaf ? QStringLiteral("Renew now; automated renewal should already have done so, so check its timer and log. Renew the staple with it.")
                       : fixRenew,
                {cert.id()});
        }
    }

    void checkKey()
    {
        if (b.keyStatus == KeyStatus::Mismatch) {
            add(FindingCode::KeyMismatch, Severity::Critical, QStringLiteral("Private key does not match"),
                QStringLiteral("%1: %2 private key").arg(b.key.source().display(), b.key.keyDescription()),
                QStringLiteral("The private key (%1, %2) does not belong to %3 (%4 key). A server configured with this pair "
                               "refuses to start or fails every handshake.")
                    .arg(b.key.format(), b.key.keyDescription(), b.leaf.displayName(), b.leaf.keyDescription()),
                QStringLiteral("Configure the key that was generated with this certificate's request (renewal tools keep it beside the certificate)."),
                {b.leaf.id(), b.key.id()});
        } else if (b.keyStatus == KeyStatus::Encrypted) {
            add(FindingCode::KeyEncrypted, Severity::Info, QStringLiteral("Private key is encrypted"),
                QStringLiteral("%1: %2").arg(b.key.source().display(), b.key.format()),
                QStringLiteral("The private key is encrypted, so whether it matches the certificate was not checked. Servers started "
                               "unattended need an unencrypted key or a passphrase helper."),
                QStringLiteral("Give the passphrase to check it."), {b.key.id()}, Remedy{RemedyKind::GivePassword, b.key.source().path, {}, {}});
        }
    }

    void checkHostName()
    {
        if (b.expectedHostName.isEmpty())
            return;
        const QByteArray host = b.expectedHostName.toUtf8();
        const bool ok = X509_check_host(b.leaf.get0(), host.constData(), size_t(host.size()), 0, nullptr) == 1 ||
                        X509_check_ip_asc(b.leaf.get0(), host.constData(), 0) == 1;
        clearOpenSslErrors();
        if (ok)
            return;
        QStringList names = b.leaf.dnsNames() + b.leaf.ipAddresses();
        add(FindingCode::HostnameMismatch, Severity::Error, QStringLiteral("Certificate is not for this host name"), certificateSubject(b.leaf),
            QStringLiteral("The certificate does not cover \"%1\"; it is for %2.")
                .arg(b.expectedHostName, names.isEmpty() ? b.leaf.subject() : names.join(QStringLiteral(", "))),
            QStringLiteral("Serve a certificate that lists %1, or check the server name asked for (SNI) and the server's virtual host.").arg(b.expectedHostName),
            {b.leaf.id()});
    }

    // The certificate the verified path has at `depth`, and the one it issued (depth − 1).
    Certificate pathAt(int depth) const
    {
        return depth >= 0 && depth < m_verified.path.size() ? m_verified.path[depth] : Certificate();
    }

    // Every input certificate once, for explaining why one was not used. Deduplicated through a
    // set: the inputs may hold thousands of certificates.
    QList<Certificate> inputCertificates() const
    {
        QList<Certificate> all;
        QSet<QByteArray> seen;
        for (const QList<Certificate>* list : {&b.chain, &b.chainAsGiven, &b.knownCertificates})
            for (const Certificate& c : *list)
                if (!seen.contains(c.sha256())) {
                    seen.insert(c.sha256());
                    all << c;
                }
        return all;
    }

    void checkChain()
    {
        const ChainVerification& v = m_verified;
        const Certificate top = v.path.last();
        const bool tooLong = b.chainTooLong || v.hasError(X509_V_ERR_CERT_CHAIN_TOO_LONG);
        if (tooLong) {
            const Certificate deepest = b.chain.isEmpty() ? top : b.chain.last();
            add(FindingCode::ChainTooLong, Severity::Error, QStringLiteral("Chain is too long"), certificateSubject(b.leaf),
                QStringLiteral("Following issuers from %1 up through the inputs gives a path of more than %2 certificates without "
                               "reaching a root; the last one reached is %3. Real chains have one to three certificates above the "
                               "server certificate; a deeper path is not checked further here, and many clients refuse it.")
                    .arg(b.leaf.displayName(), QString::number(kMaxChainLength), deepest.displayName()),
                QStringLiteral("Serve only the certificate and the intermediates on its path to a root; the inputs hold a "
                               "generated hierarchy of CAs."),
                {b.leaf.id(), deepest.id()});
        }
        for (const VerifyProblem& problem : v.problems)
            reportVerifierProblem(problem, tooLong);
        checkChainAsSent();
    }

    void reportVerifierProblem(const VerifyProblem& problem, bool tooLong)
    {
        const Certificate cert = problem.cert.isNull() ? pathAt(problem.depth) : problem.cert;
        if (cert.isNull())
            return;
        switch (problem.error) {
        // Said by checkCertificateTimes for every certificate on the path (and by the loader for
        // times that cannot be read), with how long ago and what to do.
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
        case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
        case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
        case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        // A CRL is a help, not a requirement: clients rarely demand one for every level.
        case X509_V_ERR_UNABLE_TO_GET_CRL:
            return;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            if (!tooLong)
                reportMissingIssuer(cert);
            return;
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
            reportBadSignature(cert, pathAt(problem.depth + 1));
            return;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_UNTRUSTED:
        case X509_V_ERR_CERT_REJECTED:
            reportUntrusted(cert, problem.error);
            return;
        case X509_V_ERR_INVALID_CA:
            reportIssuerNotCa(cert, pathAt(problem.depth - 1), false);
            return;
        case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
            reportIssuerNotCa(cert, pathAt(problem.depth - 1), true);
            return;
        case X509_V_ERR_PATH_LENGTH_EXCEEDED:
            reportPathLength(cert, problem.depth);
            return;
        case X509_V_ERR_PERMITTED_VIOLATION:
        case X509_V_ERR_EXCLUDED_VIOLATION:
        case X509_V_ERR_SUBTREE_MINMAX:
        case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
        case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
        case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
            reportNameConstraints(cert, problem);
            return;
        case X509_V_ERR_INVALID_PURPOSE:
            reportWrongPurpose(cert);
            return;
        case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
            reportUnknownCriticalExtension(cert);
            return;
        case X509_V_ERR_CERT_REVOKED:
            if (cert != b.leaf) // the leaf's revocation is checkCrls', with the revocation time
                reportRevokedChainCertificate(cert);
            return;
        case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        case X509_V_ERR_CRL_SIGNATURE_FAILURE:
        case X509_V_ERR_CRL_NOT_YET_VALID:
        case X509_V_ERR_CRL_HAS_EXPIRED:
        case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
        case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
        case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
        case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        case X509_V_ERR_DIFFERENT_CRL_SCOPE:
        case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
            reportUnusableCrl(cert, problem.error);
            return;
        default:
            reportRejected(cert, problem);
            return;
        }
    }

    // Names the CRL files that speak about `cert` (published by its issuer).
    QString crlFilesFor(const Certificate& cert) const
    {
        QStringList files;
        for (const Crl& crl : b.crls)
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get0()), X509_get_issuer_name(cert.get0())) == 0)
                files << crl.source().display();
        files.removeDuplicates();
        return files.isEmpty() ? QStringLiteral("the CRL") : files.join(QStringLiteral(", "));
    }

    void reportMissingIssuer(const Certificate& cert)
    {
        // The verifier found no usable issuer. Among the inputs there may be one with the right
        // name that it refused: say why, instead of "add the issuer" when it is already there.
        Certificate sameName;
        for (const Certificate& candidate : inputCertificates()) {
            if (candidate == cert || candidate.subjectNameDer() != cert.issuerNameDer())
                continue;
            if (cert.verifySignatureWith(candidate)) {
                const int refusal = X509_check_issued(candidate.get0(), cert.get0());
                clearOpenSslErrors();
                if (refusal == X509_V_ERR_KEYUSAGE_NO_CERTSIGN) {
                    reportIssuerNotCa(candidate, cert, true);
                    return;
                }
            } else if (cert.namesIssuer(candidate) && sameName.isNull()) {
                sameName = candidate;
            }
        }
        if (!sameName.isNull()) {
            reportBadSignature(cert, sameName);
            return;
        }
        add(FindingCode::ChainIncomplete, Severity::Error, QStringLiteral("Chain is incomplete"), certificateSubject(cert),
            QStringLiteral("The issuer of %1, \"%2\", is neither among the %3 nor a trusted root. Clients that do not fetch missing "
                           "intermediates themselves (most mail clients, Java, OpenSSL-based tools) cannot build a path.")
                .arg(cert.displayName(), cert.issuer(), b.served ? QStringLiteral("certificates the server sent") : QStringLiteral("inputs")),
            QStringLiteral("Add the certificate of \"%1\"%2 to the chain the server sends%3; if it is a private root, "
                           "give it to clients (and to this tool) as a trust anchor instead.")
                .arg(cert.issuer(),
                     cert.caIssuerUrls().isEmpty() ? QString() : QStringLiteral(" (from %1)").arg(cert.caIssuerUrls().first()),
                     b.served ? QString() : QStringLiteral(" (fullchain.pem rather than cert.pem)")),
            {cert.id()}, Remedy{RemedyKind::FetchIssuer, {}, {}, cert.caIssuerUrls().value(0)});
    }

    void reportBadSignature(const Certificate& child, const Certificate& issuer)
    {
        add(FindingCode::ChainBadSignature, Severity::Error, QStringLiteral("Chain signature does not verify"), certificateSubject(child),
            QStringLiteral("%1 names \"%2\" as its issuer, but the key of the certificate with that name (%3) does not verify its "
                           "signature. The chain holds a different certificate with the same name (a re-keyed or cross-signed CA).")
                .arg(child.displayName(), child.issuer(), issuer.isNull() ? QStringLiteral("unknown") : issuer.source().display()),
            QStringLiteral("Replace the chain with the intermediate that actually issued this certificate (its CA Issuers URL: %1).")
                .arg(child.caIssuerUrls().isEmpty() ? QStringLiteral("none given") : child.caIssuerUrls().join(QStringLiteral(", "))),
            issuer.isNull() ? QStringList{child.id()} : QStringList{child.id(), issuer.id()});
    }

    void reportUntrusted(const Certificate& top, int error)
    {
        if (error == X509_V_ERR_CERT_UNTRUSTED || error == X509_V_ERR_CERT_REJECTED) {
            add(FindingCode::ChainUntrusted, Severity::Error, QStringLiteral("Anchor not trusted for TLS servers"), certificateSubject(top),
                QStringLiteral("The chain ends at %1, which the trust store holds with settings that %2 it for TLS servers "
                               "(OpenSSL trust attributes, as in a TRUSTED CERTIFICATE file).")
                    .arg(top.displayName(), error == X509_V_ERR_CERT_REJECTED ? QStringLiteral("reject") : QStringLiteral("do not allow")),
                QStringLiteral("Give the root as a trust anchor in a plain CERTIFICATE file, or fix its trust settings in the store."), {top.id()});
            return;
        }
        const bool selfSignedLeaf = top == b.leaf;
        add(FindingCode::ChainUntrusted, Severity::Error,
            selfSignedLeaf ? QStringLiteral("Self-signed certificate") : QStringLiteral("Chain ends at an untrusted root"),
            certificateSubject(top),
            selfSignedLeaf
                ? QStringLiteral("The certificate is self-signed; clients trust it only if it is installed on them.")
                : QStringLiteral("The chain ends at the root \"%1\", which is not among the trust anchors (%2).")
                      .arg(top.subject(), trustDescription()),
            QStringLiteral("Use a certificate from a CA your clients trust, or give the private CA's root as a trust anchor."),
            {top.id()});
    }

    // `issuer` signed `issued` but may not sign certificates at all.
    void reportIssuerNotCa(const Certificate& issuer, const Certificate& issued, bool keyUsage)
    {
        const QString what = issued.isNull() ? QStringLiteral("a certificate") : issued.displayName();
        add(FindingCode::ChainIssuerNotCa, Severity::Error,
            keyUsage ? QStringLiteral("Issuer may not sign certificates") : QStringLiteral("Issuer is not a CA"),
            certificateSubject(issuer),
            keyUsage
                ? QStringLiteral("%1 signed %2, but its key usage does not include keyCertSign, so it may not sign certificates. "
                                 "Clients do not accept it as an issuer and find no other: the chain fails.")
                      .arg(issuer.displayName(), what)
                : X509_get_extension_flags(issuer.get0()) & EXFLAG_BCONS
                ? QStringLiteral("%1 signed %2, but it is not a CA certificate (basicConstraints CA:FALSE). Clients reject a "
                                 "chain through it.").arg(issuer.displayName(), what)
                : QStringLiteral("%1 signed %2, but it has no basicConstraints extension, so it is not a CA certificate. "
                                 "Clients reject a chain through it (OpenSSL before 3.0 accepted one with keyCertSign).").arg(issuer.displayName(), what),
            QStringLiteral("This is the CA's mistake, or the chain holds a certificate that is not the intermediate: get the "
                           "real intermediate from the CA (the certificate's CA Issuers URL: %1), or have the certificate re-issued.")
                .arg(issued.isNull() || issued.caIssuerUrls().isEmpty() ? QStringLiteral("none given") : issued.caIssuerUrls().first()),
            issued.isNull() ? QStringList{issuer.id()} : QStringList{issuer.id(), issued.id()});
    }

    void reportPathLength(const Certificate& cert, int depth)
    {
        // OpenSSL reports the CA whose pathLenConstraint the path below it exceeds.
        const long limit = X509_get_pathlen(cert.get0());
        add(FindingCode::ChainPathLength, Severity::Error, QStringLiteral("Path length constraint exceeded"), certificateSubject(cert),
            QStringLiteral("%1 allows at most %2 intermediate CA certificate%3 below it (pathLenConstraint), but the path has %4. "
                           "Clients reject the chain.")
                .arg(cert.displayName(), QString::number(limit), limit == 1 ? QString() : QStringLiteral("s"),
                     QString::number(std::max(0, depth - 1))),
            QStringLiteral("Issue from a CA the constraint allows to (for a private PKI: re-issue the intermediate under the "
                           "root directly, or the root's CA certificate without the constraint)."),
            {cert.id(), b.leaf.id()});
    }

    void reportNameConstraints(const Certificate& cert, const VerifyProblem& problem)
    {
        // The violation is in `cert` (or one of its names); the constraint lives in a CA above it.
        QString constrainer;
        for (int depth = problem.depth + 1; depth < m_verified.path.size(); ++depth)
            if (X509_get_ext_by_NID(m_verified.path[depth].get0(), NID_name_constraints, -1) >= 0) {
                constrainer = m_verified.path[depth].displayName();
                break;
            }
        QStringList names = cert.dnsNames() + cert.ipAddresses();
        add(FindingCode::ChainNameConstraints, Severity::Error, QStringLiteral("Name outside the CA's permitted names"),
            certificateSubject(cert),
            QStringLiteral("%1 (names: %2) violates the name constraints of %3: %4. Clients reject the chain.")
                .arg(cert.displayName(), names.isEmpty() ? cert.subject() : names.join(QStringLiteral(", ")),
                     constrainer.isEmpty() ? QStringLiteral("a CA above it") : constrainer,
                     QString::fromUtf8(X509_verify_cert_error_string(problem.error))),
            QStringLiteral("Request the certificate only for names the CA may certify, or ask the CA to widen its constraints."),
            {cert.id()});
    }

    void reportWrongPurpose(const Certificate& cert)
    {
        const uint32_t xku = X509_get_extended_key_usage(cert.get0());
        QStringList usages;
        if (xku & XKU_SSL_CLIENT) usages << QStringLiteral("clientAuth");
        if (xku & XKU_SMIME) usages << QStringLiteral("emailProtection");
        if (xku & XKU_CODE_SIGN) usages << QStringLiteral("codeSigning");
        if (xku & XKU_OCSP_SIGN) usages << QStringLiteral("OCSPSigning");
        if (xku & XKU_TIMESTAMP) usages << QStringLiteral("timeStamping");
        const QString listed = usages.isEmpty() ? QStringLiteral("other purposes") : usages.join(QStringLiteral(", "));
        const bool leaf = cert == b.leaf;
        const bool ekuAllowsServer = !(X509_get_extension_flags(cert.get0()) & EXFLAG_XKUSAGE) || (xku & XKU_SSL_SERVER);
        if (ekuAllowsServer) {
            // The purpose check failed on keyUsage: a server certificate must allow digitalSignature
            // (ECDHE), keyEncipherment (RSA key exchange) or keyAgreement.
            add(FindingCode::CertWrongPurpose, Severity::Error,
                leaf ? QStringLiteral("Certificate is not for TLS servers") : QStringLiteral("Chain certificate is not for TLS servers"),
                certificateSubject(cert),
                QStringLiteral("The %1's key usage allows neither digitalSignature, keyEncipherment nor keyAgreement, so clients "
                               "refuse it for TLS.").arg(role(cert)),
                QStringLiteral("Have it re-issued with the key usage a server certificate needs (digitalSignature)."), {cert.id()});
            return;
        }
        add(FindingCode::CertWrongPurpose, Severity::Error,
            leaf ? QStringLiteral("Certificate is not for TLS servers") : QStringLiteral("Chain certificate is not for TLS servers"),
            certificateSubject(cert),
            leaf ? QStringLiteral("Its extended key usage lists %1 but not serverAuth, so clients refuse it as a server certificate.").arg(listed)
                 : QStringLiteral("The %1 %2 limits its extended key usage to %3, without serverAuth; clients refuse server "
                                  "certificates issued under it.").arg(role(cert), cert.displayName(), listed),
            leaf ? QStringLiteral("Request a server certificate (serverAuth; renewal tools do by default); this one was issued for another use.")
                 : QStringLiteral("Serve a chain through an intermediate that may issue TLS server certificates."),
            {cert.id()});
    }

    void reportUnknownCriticalExtension(const Certificate& cert)
    {
        QStringList oids;
        X509* x = cert.get0();
        for (int i = 0; i < X509_get_ext_count(x); ++i) {
            X509_EXTENSION* ext = X509_get_ext(x, i);
            if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext))
                continue;
            char text[128] = {};
            OBJ_obj2txt(text, sizeof text, X509_EXTENSION_get_object(ext), 1);
            oids << QString::fromLatin1(text);
        }
        add(FindingCode::CertCriticalExtension, Severity::Error, QStringLiteral("Unknown critical extension"), certificateSubject(cert),
            QStringLiteral("The %1 carries an extension marked critical that clients do not know (%2); RFC 5280 requires them to "
                           "reject it.").arg(role(cert), oids.isEmpty() ? QStringLiteral("unnamed") : oids.join(QStringLiteral(", "))),
            QStringLiteral("Have it re-issued without that extension, or with it marked non-critical."), {cert.id()});
    }

    void reportRevokedChainCertificate(const Certificate& cert)
    {
        add(FindingCode::CertRevoked, Severity::Critical, QStringLiteral("Chain certificate revoked (CRL)"), certificateSubject(cert),
            QStringLiteral("%1 lists the %2 %3 as revoked; clients that check it reject every certificate issued under it.")
                .arg(crlFilesFor(cert), role(cert), cert.displayName()),
            QStringLiteral("Serve the CA's current intermediate and have the certificate re-issued under it if needed."), {cert.id()});
    }

    void reportUnusableCrl(const Certificate& cert, int error)
    {
        add(FindingCode::ChainCrlUnusable, Severity::Warning, QStringLiteral("CRL cannot be used"), crlFilesFor(cert),
            QStringLiteral("%1 (about %2) cannot be used: %3. Clients that check CRLs fail or fall back, depending on their setting.")
                .arg(crlFilesFor(cert), cert.displayName(), QString::fromUtf8(X509_verify_cert_error_string(error))),
            QStringLiteral("Fetch the CA's current CRL (%1).")
                .arg(cert.crlUrls().isEmpty() ? QStringLiteral("the certificate lists no CRL URL") : cert.crlUrls().first()),
            {cert.id()});
    }

    // What the verifier rejects and no rule above words: said in OpenSSL's terms, never dropped.
    void reportRejected(const Certificate& cert, const VerifyProblem& problem)
    {
        const bool weak = problem.error == X509_V_ERR_EE_KEY_TOO_SMALL || problem.error == X509_V_ERR_CA_KEY_TOO_SMALL ||
                          problem.error == X509_V_ERR_CA_MD_TOO_WEAK;
        add(FindingCode::ChainRejected, Severity::Error, QStringLiteral("Chain rejected by the verifier"), certificateSubject(cert),
            QStringLiteral("OpenSSL's verifier, as a strict client runs it, rejects the %1 at depth %2 of the path: %3 (error %4).%5")
                .arg(role(cert), QString::number(problem.depth), QString::fromUtf8(X509_verify_cert_error_string(problem.error)),
                     QString::number(problem.error),
                     weak ? QStringLiteral(" Clients on Debian 12 and most current systems run at OpenSSL security level %1: "
                                           "RSA keys of at least 2048 bits, EC keys of at least 224 bits, no SHA-1 signatures (%2).")
                                .arg(QString::number(kClientSecurityLevel), cert.keyDescription())
                          : QString()),
            weak ? QStringLiteral("Renew with a stronger key (RSA 2048+ or EC P-256) and a SHA-256 signature.")
                 : QStringLiteral("Check the certificate with the CA; `openssl verify -purpose sslserver` gives the same error."),
            {cert.id()});
    }

    // Order and extras, where the inputs give an order (fullchain.pem, --chain, a handshake).
    void checkChainAsSent()
    {
        if (b.chainAsGiven.isEmpty())
            return;
        const QList<Certificate> verifiedAbove = m_verified.aboveLeaf();
        QSet<QByteArray> onPath;
        for (const Certificate& c : verifiedAbove)
            onPath.insert(c.sha256());
        // The path our own walk took beyond where the verifier stopped (above an anchor that is
        // not a root): not unrelated, only not needed.
        QSet<QByteArray> beyondAnchor;
        for (const Certificate& c : b.chain)
            if (!onPath.contains(c.sha256()))
                beyondAnchor.insert(c.sha256());
        if (!b.served && !b.leafFirstAsGiven) {
            add(FindingCode::ChainOrder, Severity::Error, QStringLiteral("Leaf is not first"), certificateSubject(b.leaf),
                QStringLiteral("In %1 the server certificate is #%2, but it must come first; servers send the file in order and pair "
                               "the key with the first certificate.")
                    .arg(b.chainAsGivenSource, QString::number(b.leaf.source().index + 1)),
                QStringLiteral("Rewrite the file as: certificate, then its issuer, then that one's issuer."), {b.leaf.id()});
        }
        QList<Certificate> givenOnPath;
        QSet<QByteArray> seenGiven;
        for (const Certificate& c : b.chainAsGiven) {
            if (seenGiven.contains(c.sha256())) {
                add(FindingCode::ChainExtraCert, Severity::Warning, QStringLiteral("Certificate sent twice"), certificateSubject(c),
                    QStringLiteral("%1 appears more than once in %2.").arg(c.displayName(), b.chainAsGivenSource),
                    QStringLiteral("Remove the duplicate."), {c.id()});
                continue;
            }
            seenGiven.insert(c.sha256());
            if (c == b.leaf)
                continue;
            if (onPath.contains(c.sha256())) {
                givenOnPath << c;
                if (c.isSelfSigned())
                    reportRootSent(c);
            } else if (c.notAfter().isValid() && at > c.notAfter()) {
                reportExpiredAlternative(c);
            } else if (beyondAnchor.contains(c.sha256()) || issuesPathCertificate(c)) {
                // Above a trust anchor that is not a root: the path is complete without it.
                if (c.isSelfSigned())
                    reportRootSent(c);
            } else {
                add(FindingCode::ChainExtraCert, Severity::Warning, QStringLiteral("Unrelated certificate in chain"), certificateSubject(c),
                    QStringLiteral("%1 is sent with the chain but is not on this certificate's path (it is issued by \"%2\"); "
                                   "it wastes bytes and can mislead clients that build paths naively.")
                        .arg(c.displayName(), c.issuer()),
                    QStringLiteral("Remove it from %1.").arg(b.chainAsGivenSource), {c.id()});
            }
        }
        for (int i = 0; i < givenOnPath.size(); ++i) {
            if (i < verifiedAbove.size() && givenOnPath[i] == verifiedAbove[i])
                continue;
            QStringList expected;
            for (const Certificate& c : verifiedAbove)
                expected << c.commonName();
            QStringList actual;
            for (const Certificate& c : givenOnPath)
                actual << c.commonName();
            add(FindingCode::ChainOrder, Severity::Warning, QStringLiteral("Chain is out of order"),
                b.chainAsGivenSource,
                QStringLiteral("The chain is sent as %1 but the path is %2. TLS requires each certificate to be followed by its "
                               "issuer; strict clients (older OpenSSL, Java, embedded devices) fail.")
                    .arg(actual.join(QStringLiteral(" → ")), expected.join(QStringLiteral(" → "))),
                QStringLiteral("Reorder %1: certificate first, then each issuer in turn.").arg(b.chainAsGivenSource),
                {givenOnPath[i].id()});
            break;
        }
    }

    bool issuesPathCertificate(const Certificate& c) const
    {
        for (const Certificate& p : m_verified.path)
            if (p != c && p.issuerNameDer() == c.subjectNameDer() && p.verifySignatureWith(c))
                return true;
        return false;
    }

    void reportRootSent(const Certificate& c)
    {
        add(FindingCode::ChainExtraCert, Severity::Info, QStringLiteral("Root certificate is sent"), certificateSubject(c),
            QStringLiteral("%1 sends the root \"%2\"; clients use their own copy, so it only adds bytes to every handshake.")
                .arg(b.chainAsGivenSource, c.subject()),
            QStringLiteral("Optionally drop the root from the chain."), {c.id()});
    }

    // An expired certificate sent beside a valid path: the 2021 "DST Root X3" pattern (and the
    // 2020 AddTrust "chain of pain"), where the CA's root is also cross-signed by an older root.
    void reportExpiredAlternative(const Certificate& c)
    {
        Certificate crossOf;
        for (const Certificate& p : m_verified.path)
            if (p.subjectNameDer() == c.subjectNameDer() && p.publicKeyBitString() == c.publicKeyBitString())
                crossOf = p;
        const QString expired = QStringLiteral("expired %1 (notAfter %2)").arg(relativeTime(at, c.notAfter()), formatTime(c.notAfter()));
        add(FindingCode::ChainExtraCert, Severity::Warning, QStringLiteral("Expired certificate in the chain"), certificateSubject(c),
            crossOf.isNull()
                ? QStringLiteral("%1 is sent with the chain but %2 and is not on the path clients build; it only adds bytes, and "
                                 "clients that build paths naively may follow it and fail.").arg(c.displayName(), expired)
                : QStringLiteral("%1 is a copy of %2 cross-signed by \"%3\"; it %4. Current clients (OpenSSL 1.1.1 and later, "
                                 "browsers) reach the trusted %2 instead, so the chain verifies; older clients (OpenSSL 1.0.2, "
                                 "old Android) follow the expired copy and fail. It only adds bytes.")
                      .arg(c.displayName(), crossOf.commonName(), c.issuer(), expired),
            QStringLiteral("Remove it from %1 (certbot: --preferred-chain with the current root's name).").arg(b.chainAsGivenSource),
            {c.id()});
    }

    QString trustDescription() const
    {
        if (!o.trust)
            return QStringLiteral("none configured");
        QString text = o.trust->usesSystemStore() ? QStringLiteral("the system store") : QStringLiteral("no system store");
        if (!o.trust->extraAnchors().isEmpty())
            text += QStringLiteral(" plus %1 extra trust anchor(s)").arg(o.trust->extraAnchors().size());
        return text;
    }

    void checkCrls()
    {
        for (const Crl& crl : b.crls) {
            const auto revoked = crl.revocationTimeOf(b.leaf);
            if (revoked && *revoked <= at)
                add(FindingCode::CertRevoked, Severity::Critical, QStringLiteral("Certificate revoked (CRL)"), certificateSubject(b.leaf),
                    QStringLiteral("The CRL %1 lists this certificate as revoked since %2 (%3).")
                        .arg(crl.source().display(), formatTime(*revoked), relativeTime(at, *revoked)),
                    QStringLiteral("Replace the certificate now."), {b.leaf.id()});
        }
    }

    // Finds who signed `staple`: the CA itself, or a delegated responder it embeds or we were given.
    Certificate findSigner(const OcspStaple& staple, const Certificate& issuer) const
    {
        if (staple.isResponder(issuer))
            return issuer;
        for (const Certificate& c : staple.embeddedCertificates() + b.responderCertificates + b.chain)
            if (staple.isResponder(c))
                return c;
        return {};
    }

    Certificate knownCertificateWithSerial(const OcspCertId& id) const
    {
        for (const Certificate& c : b.previousCertificates + b.knownCertificates)
            if (id.serialMatches(c) && c != b.leaf)
                return c;
        return {};
    }

    bool checkStapleIdentity(const OcspStaple& staple, const AttachedStaple& attached, OcspSingleResponse* matched)
    {
        const QList<OcspSingleResponse> responses = staple.responses();
        const Certificate issuer = b.issuer();
        for (const OcspSingleResponse& single : responses) {
            if (single.certId.serialMatches(b.leaf) && single.certId.issuerNameMatches(b.leaf) &&
                (issuer.isNull() || single.certId.issuerKeyMatches(issuer))) {
                *matched = single;
                return true;
            }
        }
        if (responses.isEmpty())
            return false;
        const OcspSingleResponse& single = responses.first();
        const OcspCertId& id = single.certId;
        const QString subject = stapleSubject(staple);
        const QStringList ids{staple.id(), b.leaf.id()};

        for (const Certificate& chainCert : b.chain) {
            if (id.serialMatches(chainCert) && id.issuerNameMatches(chainCert)) {
                add(FindingCode::StapleForIntermediate, Severity::Critical, QStringLiteral("Staple is for the intermediate"), subject,
                    QStringLiteral("This OCSP response is about the intermediate %1, not about the server certificate %2. "
                                   "Clients look for a response about the server certificate and find none.")
                        .arg(chainCert.displayName(), b.leaf.displayName()),
                    QStringLiteral("Fetch the staple for the server certificate: openssl ocsp -issuer %1 -cert <certificate> -url <OCSP URL> -respout <file>.")
                        .arg(chainCert.source().path),
                    ids + QStringList{chainCert.id()});
                return false;
            }
        }

        const bool sameIssuerName = id.issuerNameMatches(b.leaf);
        const bool sameIssuerKey = issuer.isNull() || id.issuerKeyMatches(issuer);
        const Certificate owner = knownCertificateWithSerial(id);
        QString ownerText;
        if (!owner.isNull()) {
            const bool previous = b.previousCertificates.contains(owner) || attached.attachment == StapleAttachment::PreviousCertificate;
            ownerText = QStringLiteral(" (%1 %2, valid %3 to %4)")
                            .arg(previous ? QStringLiteral("the previous certificate,") : QStringLiteral("the certificate in"),
                                 owner.source().display(), formatTime(owner.notBefore()), formatTime(owner.notAfter()));
        }
        if (sameIssuerName && sameIssuerKey && !id.serialMatches(b.leaf)) {
            const bool previous = attached.attachment == StapleAttachment::PreviousCertificate ||
                                  (!owner.isNull() && owner.notBefore() < b.leaf.notBefore());
            const qint64 sinceIssue = b.leaf.notBefore().secsTo(at);
            add(FindingCode::StapleForOtherCert, Severity::Critical,
                previous ? QStringLiteral("Staple belongs to the previous certificate") : QStringLiteral("Staple belongs to another certificate"),
                subject,
                QStringLiteral("The staple is for serial %1%2, but the certificate is serial %3, issued %4 (%5). "
                               "Both come from the same CA, so this is a stale staple left over from %6: a server sends it anyway, "
                               "and strict clients (must-staple, Firefox, Exim/GnuTLS peers) reject the handshake, often with a "
                               "misleading library error such as \"unsupported issuer hash algorithm\".")
                    .arg(id.serialHex(), ownerText, b.leaf.serialHex(), formatTime(b.leaf.notBefore()),
                         sinceIssue >= 0 ? QStringLiteral("%1 ago").arg(formatDuration(sinceIssue)) : relativeTime(at, b.leaf.notBefore()),
                         previous ? QStringLiteral("before the renewal") : QStringLiteral("another certificate")),
                QStringLiteral("Fetch a fresh OCSP response for serial %1 now and write it to %2; from now on renew certificate and "
                               "staple together (a renewal deploy hook that re-fetches the staple).")
                    .arg(b.leaf.serialHex(),
                         staple.source().served ? QStringLiteral("the server's staple file (nginx ssl_stapling_file, Exim "
                                                                 "tls_ocsp_file, HAProxy <certificate>.ocsp), then reload the server")
                                                : staple.source().path),
                owner.isNull() ? ids : ids + QStringList{owner.id()});
            return false;
        }
        QString why;
        if (!EVP_get_digestbynid(id.hashNid))
            why = QStringLiteral("its CertID hashes the issuer with %1, an algorithm neither this tool nor TLS clients implement, "
                                 "so nothing can match it to a certificate (OpenSSL says \"unsupported issuer hash algorithm\"%2)")
                      .arg(id.hashAlgorithm, id.serialMatches(b.leaf) ? QStringLiteral("; the serial is this certificate's")
                                                                      : QString());
        else if (!sameIssuerName)
            why = QStringLiteral("it names a different issuer (issuer name hash %1 with %2; this certificate's issuer is \"%3\")")
                      .arg(hexColon(id.issuerNameHash).left(23) + QStringLiteral("…"), id.hashAlgorithm, b.leaf.issuer());
        else
            why = QStringLiteral("the issuer has the same name but a different key (issuer key hash %1) — a re-keyed or "
                                 "cross-signed CA").arg(hexColon(id.issuerKeyHash).left(23) + QStringLiteral("…"));
        add(FindingCode::StapleIssuerMismatch, Severity::Critical, QStringLiteral("Staple is from another issuer"), subject,
            QStringLiteral("The staple is for serial %1%2 and does not belong to %3: %4. Clients reject it.")
                .arg(id.serialHex(), ownerText, b.leaf.displayName(), why),
            QStringLiteral("Fetch the staple from this certificate's own OCSP responder (%1) with its actual issuer.")
                .arg(b.leaf.ocspUrls().isEmpty() ? QStringLiteral("none listed") : b.leaf.ocspUrls().first()),
            owner.isNull() ? ids : ids + QStringList{owner.id()});
        return false;
    }

    // Returns true when the staple is one a strict client would accept.
    bool checkStaple(const AttachedStaple& attached)
    {
        const OcspStaple& staple = attached.staple;
        const QString subject = stapleSubject(staple);
        const QStringList ids{staple.id()};
        if (staple.encoding() != OcspStaple::Encoding::Der) {
            add(FindingCode::StapleTextEncoded, Severity::Warning, QStringLiteral("Staple file is text, not DER"), subject,
                QStringLiteral("The OCSP response is stored as %1 text. nginx (ssl_stapling_file), Exim (tls_ocsp_file) and HAProxy (.ocsp) "
                               "read raw DER and will fail to load it or staple garbage.")
                    .arg(staple.encoding() == OcspStaple::Encoding::Pem ? QStringLiteral("PEM") : QStringLiteral("base64")),
                staple.encoding() == OcspStaple::Encoding::Pem
                    ? QStringLiteral("Convert it: sed '/-----/d' %1 | base64 -d > %1.der").arg(staple.source().path)
                    : QStringLiteral("Convert it: base64 -d %1 > %1.der").arg(staple.source().path),
                ids);
        }
        if (!staple.isSuccessful()) {
            add(FindingCode::StapleResponseUnsuccessful, Severity::Error, QStringLiteral("Staple is an error response"), subject,
                QStringLiteral("The responder answered \"%1\" instead of a certificate status, and that answer was saved as the staple. "
                               "It carries no status, so clients ignore it (or fail, with must-staple).")
                    .arg(staple.responseStatusName()),
                QStringLiteral("Fetch again later (tryLater) or check the request (unauthorized: wrong responder or issuer); never "
                               "replace a good staple with an error response."),
                ids);
            return false;
        }
        if (staple.responses().size() > 1)
            add(FindingCode::StapleMultipleResponses, Severity::Info, QStringLiteral("Staple holds several responses"), subject,
                QStringLiteral("The OCSP response holds %1 single responses; clients look for the one about their certificate.")
                    .arg(staple.responses().size()),
                QString(), ids);

        OcspSingleResponse single;
        if (!checkStapleIdentity(staple, attached, &single))
            return false;
        bool acceptable = true;

        const Certificate issuer = b.issuer();
        if (issuer.isNull()) {
            add(FindingCode::StapleUnverifiable, Severity::Warning, QStringLiteral("Staple cannot be verified"), subject,
                QStringLiteral("The issuer of %1 is not among the inputs, so the staple's issuer key hash and signature cannot be "
                               "checked.").arg(b.leaf.displayName()),
                QStringLiteral("Add the chain file (or use fullchain.pem) to verify the staple."), ids);
        } else {
            const Certificate signer = findSigner(staple, issuer);
            if (signer.isNull()) {
                // With the issuer at hand, the signer can only be the issuer or a certificate the
                // response carries: a client has nothing more than we do, and OpenSSL fails
                // OCSP_basic_verify with "signer certificate not found". So the staple is unusable,
                // not merely unchecked.
                acceptable = false;
                add(FindingCode::StapleSignerNotFound, Severity::Error, QStringLiteral("Staple signer not found"), subject,
                    QStringLiteral("The response names its signer as %1, but neither the issuer %2 nor any certificate in the "
                                   "response or the inputs has that %3, so clients cannot verify it (OpenSSL: \"signer "
                                   "certificate not found\").")
                        .arg(staple.responderId(), issuer.displayName(),
                             staple.responderKeyHash().isEmpty() ? QStringLiteral("name") : QStringLiteral("key")),
                    QStringLiteral("Fetch a fresh staple from %1; a delegated responder must include its signing certificate.")
                        .arg(b.leaf.ocspUrls().value(0, QStringLiteral("the CA's OCSP responder"))),
                    ids);
            } else {
                if (!staple.verifySignature(signer)) {
                    acceptable = false;
                    add(FindingCode::StapleSignatureInvalid, Severity::Critical, QStringLiteral("Staple signature is invalid"), subject,
                        staple.responderKeyHash().isEmpty() && signer != issuer
                            ? QStringLiteral("The response names its signer by subject (%1), and the certificate with that name, %2, "
                                             "does not hold the key that signed it: the response carries the wrong responder "
                                             "certificate (a responder re-keyed under the same name), or the file is damaged. "
                                             "Clients reject it (OpenSSL: \"signature failure\").")
                                  .arg(staple.responderId(), signer.displayName())
                            : QStringLiteral("The response's signature does not verify with the key of its signer %1: the file is damaged or was tampered with.")
                                  .arg(signer.displayName()),
                        QStringLiteral("Fetch a fresh staple from %1.").arg(b.leaf.ocspUrls().value(0, QStringLiteral("the CA's OCSP responder"))),
                        ids);
                }
                if (signer != issuer)
                    acceptable &= checkDelegatedResponder(staple, signer, issuer, subject);
            }
        }

        const QDateTime thisUpdate = single.thisUpdate;
        const QDateTime nextUpdate = single.nextUpdate;
        if (thisUpdate.isValid() && thisUpdate > at && thisUpdate <= at.addSecs(kStapleClockLeeway)) {
            // Responders stamp thisUpdate with their own clock; a few minutes ahead is ordinary skew,
            // which OpenSSL (OCSP_check_validity, nsec = 300) and browsers tolerate.
            add(FindingCode::StapleClockSkew, Severity::Info, QStringLiteral("Staple is slightly from the future"), subject,
                QStringLiteral("The staple's thisUpdate is %1 (%2), within the %3 of clock skew that clients tolerate; a clock "
                               "is a little off (this machine's, the server's, or the responder's).")
                    .arg(formatTime(thisUpdate), relativeTime(at, thisUpdate), formatDuration(kStapleClockLeeway)),
                QStringLiteral("Nothing to do now; if it recurs, check NTP on the server and this machine."), ids);
        } else if (thisUpdate.isValid() && thisUpdate > at) {
            acceptable = false;
            add(FindingCode::StapleNotYetValid, Severity::Error, QStringLiteral("Staple is from the future"), subject,
                QStringLiteral("The staple's thisUpdate is %1 (%2); clients reject a response from the future. A clock is wrong "
                               "(this machine's, the server's, or the responder's).")
                    .arg(formatTime(thisUpdate), relativeTime(at, thisUpdate)),
                QStringLiteral("Check NTP on the server and this machine."), ids);
        }
        if (!nextUpdate.isValid()) {
            add(FindingCode::StapleNoNextUpdate, Severity::Warning, QStringLiteral("Staple has no expiry"), subject,
                QStringLiteral("The response has no nextUpdate, so clients cannot tell when it is stale; many accept it only for a "
                               "short time after thisUpdate (%1, %2).").arg(formatTime(thisUpdate), relativeTime(at, thisUpdate)),
                QStringLiteral("Refresh it often (at least daily)."), ids);
        } else if (at > nextUpdate) {
            acceptable = false;
            add(FindingCode::StapleExpired, b.leaf.mustStaple() ? Severity::Critical : Severity::Error,
                QStringLiteral("Staple expired"), subject,
                QStringLiteral("The staple expired %1 (nextUpdate %2); clients ignore it or, with must-staple, reject the handshake. "
                               "The job that refreshes it has not run or failed since %3.")
                    .arg(relativeTime(at, nextUpdate), formatTime(nextUpdate), formatTime(thisUpdate)),
                QStringLiteral("Fetch a fresh staple now and check the refresh job (cron/systemd timer) and its log."), ids);
        } else {
            const QDateTime refresh = o.stapleRefreshPoint(thisUpdate, nextUpdate);
            // --staple-warn-hours / --staple-crit-hours: hours left until nextUpdate, beside the
            // engine's own refresh point (whichever comes first warns).
            const QDateTime warnFrom = o.stapleWarningSeconds ? nextUpdate.addSecs(-*o.stapleWarningSeconds) : QDateTime();
            const QDateTime critFrom = o.stapleCriticalSeconds ? nextUpdate.addSecs(-*o.stapleCriticalSeconds) : QDateTime();
            const bool pastRefresh = refresh.isValid() && at >= refresh;
            const bool pastWarn = warnFrom.isValid() && at >= warnFrom;
            const bool critical = critFrom.isValid() && at >= critFrom;
            if (pastRefresh || pastWarn || critical) {
                QString reached;
                if (critical)
                    reached = QStringLiteral("The staple is within the critical threshold of %1 before its nextUpdate (as configured)")
                                  .arg(formatDuration(*o.stapleCriticalSeconds));
                else if (pastRefresh)
                    reached = QStringLiteral("The staple reached its refresh point %1 (at %2 of its validity)")
                                  .arg(relativeTime(at, refresh), QStringLiteral("%1%").arg(qRound(o.stapleRefreshFraction * 100)));
                else
                    reached = QStringLiteral("The staple is within the warning threshold of %1 before its nextUpdate (as configured)")
                                  .arg(formatDuration(*o.stapleWarningSeconds));
                add(FindingCode::StapleRefreshDue, critical ? Severity::Critical : Severity::Warning,
                    QStringLiteral("Staple refresh is overdue"), subject,
                    QStringLiteral("%1 and expires %2 (nextUpdate %3).").arg(reached, relativeTime(at, nextUpdate), formatTime(nextUpdate)),
                    QStringLiteral("Fetch a fresh staple; refresh jobs should renew at the halfway point, as DHCP renews leases."), ids);
            }
            if (b.leaf.notAfter().isValid() && nextUpdate > b.leaf.notAfter())
                add(FindingCode::StapleOutlivesCert, Severity::Info, QStringLiteral("Staple outlives the certificate"), subject,
                    QStringLiteral("The staple is valid until %1, after the certificate itself expires (%2).")
                        .arg(formatTime(nextUpdate), formatTime(b.leaf.notAfter())),
                    QStringLiteral("Nothing to do now; renew the certificate and the staple together."), ids);
        }

        if (single.status == OcspCertStatus::Revoked) {
            acceptable = false;
            add(FindingCode::StapleRevoked, Severity::Critical, QStringLiteral("Certificate is revoked"), subject,
                QStringLiteral("The CA says this certificate was revoked at %1 (%2)%3. Clients reject it.")
                    .arg(formatTime(single.revocationTime), relativeTime(at, single.revocationTime),
                         single.revocationReasonName.isEmpty() ? QString()
                                                               : QStringLiteral(", reason: %1").arg(single.revocationReasonName)),
                QStringLiteral("Replace the certificate now (and its key, if the reason is keyCompromise)."), {staple.id(), b.leaf.id()});
        } else if (single.status == OcspCertStatus::Unknown) {
            acceptable = false;
            add(FindingCode::StapleStatusUnknown, Severity::Error, QStringLiteral("Responder does not know the certificate"), subject,
                QStringLiteral("The responder answered \"unknown\" for serial %1: it does not know this certificate (asked the wrong "
                               "responder, or the certificate is too new to be published).").arg(single.certId.serialHex()),
                QStringLiteral("Ask the responder named in the certificate (%1) and retry in a few minutes.")
                    .arg(b.leaf.ocspUrls().value(0, QStringLiteral("none listed"))),
                ids);
        }
        return acceptable;
    }

    bool checkDelegatedResponder(const OcspStaple& staple, const Certificate& signer, const Certificate& issuer, const QString& subject)
    {
        const QStringList ids{staple.id(), signer.id()};
        bool ok = true;
        if (signer.issuerNameDer() == issuer.subjectNameDer() && !signer.verifySignatureWith(issuer)) {
            // The name is the CA's, the signature is not: a twin CA of the same name (re-keyed, or
            // a test CA), or a forgery. "Not issued by the CA" would send the reader looking for
            // another CA name.
            ok = false;
            add(FindingCode::StapleResponderUnauthorized, Severity::Critical, QStringLiteral("Responder certificate not validly signed by the CA"), subject,
                QStringLiteral("The response is signed by %1, whose certificate names the certificate's CA \"%2\" as its issuer "
                               "but is not validly signed by that CA: its signature does not verify with the CA's key (%3). "
                               "Another CA of the same name, or a forged responder certificate.")
                    .arg(signer.displayName(), issuer.subject(), issuer.source().display()),
                QStringLiteral("Fetch the staple from the CA's own responder (%1).").arg(b.leaf.ocspUrls().value(0, QStringLiteral("see the certificate's AIA"))),
                ids);
        } else if (!signer.isIssuedBy(issuer)) {
            ok = false;
            add(FindingCode::StapleResponderUnauthorized, Severity::Critical, QStringLiteral("Staple signed by an unauthorised responder"), subject,
                QStringLiteral("The response is signed by %1, which was not issued by the certificate's CA \"%2\"; only the CA or a "
                               "responder it delegated may sign. (OpenSSL reports this as \"root CA not trusted\".)")
                    .arg(signer.displayName(), issuer.subject()),
                QStringLiteral("Fetch the staple from the CA's own responder (%1).").arg(b.leaf.ocspUrls().value(0, QStringLiteral("see the certificate's AIA"))),
                ids);
        } else if (!signer.hasOcspSigningUsage()) {
            ok = false;
            add(FindingCode::StapleResponderUnauthorized, Severity::Critical, QStringLiteral("Responder lacks OCSP signing usage"), subject,
                QStringLiteral("The response is signed by %1, issued by the CA but without the id-kp-OCSPSigning extended key usage, "
                               "so it is not authorised to sign OCSP responses.").arg(signer.displayName()),
                QStringLiteral("The CA's responder is misconfigured; report it to the CA and fetch again later."), ids);
        }
        if (at > signer.notAfter() || at < signer.notBefore()) {
            ok = false;
            add(FindingCode::StapleResponderExpired, Severity::Error, QStringLiteral("Responder certificate expired"), subject,
                at > signer.notAfter()
                    ? QStringLiteral("The delegated responder certificate %1 expired %2 (%3); clients reject responses it signed.")
                          .arg(signer.displayName(), relativeTime(at, signer.notAfter()), formatTime(signer.notAfter()))
                    : QStringLiteral("The delegated responder certificate %1 becomes valid only %2 (%3).")
                          .arg(signer.displayName(), relativeTime(at, signer.notBefore()), formatTime(signer.notBefore())),
                QStringLiteral("Fetch a fresh staple; the responder has a newer signing certificate."), ids);
        }
        return ok;
    }

    void checkStaples()
    {
        const Certificate& leaf = b.leaf;
        const bool hasOcspUrl = !leaf.ocspUrls().isEmpty();
        const QStringList crlUrls = leaf.crlUrls();
        const QString leafSubject = certificateSubject(leaf);

        if (b.staples.isEmpty()) {
            if (leaf.mustStaple() && !hasOcspUrl) {
                add(FindingCode::MustStapleNoOcspUrl, Severity::Error, QStringLiteral("Must-staple without an OCSP URL"), leafSubject,
                    QStringLiteral("The certificate demands a staple (TLS Feature status_request) but names no OCSP responder, so no "
                                   "staple can ever be fetched; clients that enforce must-staple will reject it."),
                    QStringLiteral("Request the certificate again without the must-staple option (CAs without OCSP, such as Let's Encrypt since 2025, cannot honour it)."),
                    {leaf.id()});
                return;
            }
            if (!hasOcspUrl) {
                add(FindingCode::OcspUrlMissing, Severity::Info, QStringLiteral("No OCSP responder (normal for CRL-only CAs)"), leafSubject,
                    QStringLiteral("The certificate names no OCSP responder, so there is nothing to staple. This is normal: Let's Encrypt "
                                   "and other CAs dropped OCSP in 2025 and publish revocation through CRLs%1.")
                        .arg(crlUrls.isEmpty() ? QStringLiteral(" (this certificate lists no CRL URL either)")
                                               : QStringLiteral(" (here: %1)").arg(crlUrls.join(QStringLiteral(", ")))),
                    QStringLiteral("Nothing to do; turn stapling off for this certificate to avoid log noise."), {leaf.id()});
                return;
            }
            if (b.served) {
                add(FindingCode::StapleNotServed, leaf.mustStaple() ? Severity::Critical : Severity::Warning,
                    QStringLiteral("Server sends no staple"), b.origin,
                    QStringLiteral("The server sent no OCSP staple although the certificate has a responder (%1)%2.")
                        .arg(leaf.ocspUrls().first(),
                             leaf.mustStaple() ? QStringLiteral(" and demands a staple (must-staple): clients that enforce it reject the handshake")
                                               : QStringLiteral("; clients must ask the responder themselves, or skip the check")),
                    QStringLiteral("Enable stapling (nginx ssl_stapling_file, Exim tls_ocsp_file, HAProxy .ocsp) and check that the staple file is fresh."),
                    {leaf.id()});
                return;
            }
            if (leaf.mustStaple()) {
                add(FindingCode::MustStapleMissing, Severity::Critical, QStringLiteral("Must-staple certificate has no staple"), leafSubject,
                    QStringLiteral("The certificate demands a staple (TLS Feature status_request) and no OCSP response was found for it; "
                                   "clients that enforce must-staple (Firefox) reject the server."),
                    QStringLiteral("Fetch a staple from %1 and configure the server to send it.").arg(leaf.ocspUrls().first()), {leaf.id()});
                return;
            }
            add(FindingCode::StapleMissing, Severity::Warning, QStringLiteral("No staple for this certificate"), leafSubject,
                QStringLiteral("The certificate has an OCSP responder (%1) but no staple was found beside it. Without one, clients must "
                               "ask the responder themselves (slower, and it tells the CA who visits), or skip the check.")
                    .arg(leaf.ocspUrls().first()),
                QStringLiteral("Fetch a staple (openssl ocsp … -respout) and configure it, or point the tool at the staple file."),
                {leaf.id()});
            return;
        }

        if (b.staples.size() > 1) {
            QStringList files;
            for (const AttachedStaple& s : b.staples)
                files << s.staple.source().display();
            add(FindingCode::StapleMultipleResponses, Severity::Warning, QStringLiteral("Several staples for one certificate"), leafSubject,
                QStringLiteral("%1 staples belong to this certificate (%2); a server sends only one, so make sure it is the right one.")
                    .arg(QString::number(b.staples.size()), files.join(QStringLiteral(", "))),
                QStringLiteral("Remove the stale copies."), {leaf.id()});
        }
        if (!hasOcspUrl)
            add(FindingCode::StapleButNoOcspUrl, Severity::Warning, QStringLiteral("Staple for a certificate without OCSP"), leafSubject,
                QStringLiteral("A staple is configured, but the certificate names no OCSP responder%1, so nothing can refresh it. It is "
                               "probably left over from a previous certificate or CA.")
                    .arg(crlUrls.isEmpty() ? QString() : QStringLiteral(" (it uses CRLs: %1)").arg(crlUrls.join(QStringLiteral(", ")))),
                QStringLiteral("Remove the staple file and turn off stapling for this certificate."), {leaf.id()});

        bool anyAcceptable = false;
        for (const AttachedStaple& attached : b.staples)
            anyAcceptable |= checkStaple(attached);
        if (leaf.mustStaple() && !anyAcceptable)
            add(FindingCode::MustStapleMissing, Severity::Critical, QStringLiteral("Must-staple certificate has no valid staple"), leafSubject,
                QStringLiteral("The certificate demands a staple (TLS Feature status_request) and none of its staples is one a client "
                               "would accept (see the other findings); clients that enforce must-staple reject the server."),
                QStringLiteral("Fetch a valid staple for serial %1 now.").arg(leaf.serialHex()), {leaf.id()});
    }

    // The data the remedies need that the rules did not give: which staple file to write, for which
    // serial, from which responder; which chain file to rewrite.
    void fillRemedyData()
    {
        for (Finding& f : m_findings) {
            Remedy& r = f.remedy;
            switch (r.kind) {
            case RemedyKind::RefreshStaple:
            case RemedyKind::ConfigureStapling:
            case RemedyKind::ConvertStaple:
                if (r.serial.isEmpty())
                    r.serial = b.leaf.serialHex();
                if (r.url.isEmpty())
                    r.url = b.leaf.ocspUrls().value(0);
                if (r.file.isEmpty())
                    for (const AttachedStaple& a : b.staples)
                        if (f.objectIds.contains(a.staple.id()) && !a.staple.source().path.isEmpty())
                            r.file = a.staple.source().path;
                break;
            case RemedyKind::FixChainOrder:
            case RemedyKind::RemoveFromChain:
                if (r.file.isEmpty())
                    r.file = b.chainAsGivenSource;
                break;
            default: break;
            }
        }
    }

    // A superseded certificate is history: its problems are noted, not alarmed about.
    void demoteSuperseded()
    {
        // Its remedy is no longer the finding's own (renew, refresh): it is to retire the file.
        const Remedy retire{RemedyKind::RetireOldCertificate, b.leaf.source().path, b.leaf.serialHex(), {}};
        for (Finding& f : m_findings) {
            f.severity = Severity::Info;
            f.message = QStringLiteral("(Superseded certificate.) ") + f.message;
            f.remedy = retire;
        }
        add(FindingCode::CertSuperseded, Severity::Info, QStringLiteral("Superseded by a newer certificate"), certificateSubject(b.leaf),
            QStringLiteral("A newer certificate for the same names from the same CA exists: %1 in %2, valid from %3. This one is "
                           "the previous certificate and is not expected to be in use.")
                .arg(b.supersededBy.displayName(), b.supersededBy.source().display(), formatTime(b.supersededBy.notBefore())),
            QStringLiteral("Make sure no server configuration still points at %1; then archive or delete it.").arg(b.leaf.source().path),
            {b.leaf.id(), b.supersededBy.id()}, retire);
    }

    const Bundle& b;
    const AnalysisOptions& o;
    ChainVerification m_verified;
    QDateTime at;
    QList<Finding> m_findings;
};

} // namespace

QList<Finding> renewalWindowFindings(const Certificate& leaf, const RenewalWindow& window)
{
    if (window.isNull() || !window.start.isValid() || !leaf.notBefore().isValid() || !leaf.notAfter().isValid())
        return {};
    const QDateTime half = leaf.notBefore().addSecs(leaf.notBefore().secsTo(leaf.notAfter()) / 2);
    if (window.start >= half)
        return {};
    const QString explanation = window.explanationUrl.isEmpty()
        ? QStringLiteral(" The CA gives no explanation URL.")
        : QStringLiteral(" The CA explains why at %1.").arg(window.explanationUrl);
    return {makeFinding(FindingCode::RenewalWindowEarly, Severity::Warning, QStringLiteral("CA asks for early renewal"),
                        certificateSubject(leaf),
                        QStringLiteral("The CA's suggested renewal window (%1 to %2) starts before half of the certificate's lifetime "
                                       "(%3), as CAs do before revoking certificates they issued.%4")
                            .arg(formatTime(window.start), formatTime(window.end), formatTime(half), explanation),
                        QStringLiteral("Renew now (staplescope-cli renew %1), and read the CA's explanation.").arg(leaf.source().path),
                        {leaf.id()}, Remedy{RemedyKind::RenewCertificate, leaf.source().path, leaf.serialHex(), window.explanationUrl})};
}

qint64 AnalysisOptions::expiryWarningFor(qint64 lifetimeSeconds) const
{
    if (expiryWarningSeconds)
        return *expiryWarningSeconds;
    // A third of the lifetime, at most 30 days: 30 days for 90-day and longer certificates, 2 days
    // for a 6-day one.
    return std::min<qint64>(lifetimeSeconds / 3, 30 * kDay);
}

QDateTime AnalysisOptions::expiryWarningStart(const Certificate& cert) const
{
    return cert.notAfter().addSecs(-expiryWarningFor(cert.lifetimeSeconds()));
}

QDateTime AnalysisOptions::stapleRefreshPoint(const QDateTime& thisUpdate, const QDateTime& nextUpdate) const
{
    if (!thisUpdate.isValid() || !nextUpdate.isValid())
        return {};
    return thisUpdate.addSecs(qint64(double(thisUpdate.secsTo(nextUpdate)) * stapleRefreshFraction));
}

QList<Finding> Analyzer::analyze(const Bundle& bundle, const AnalysisOptions& options) const
{
    if (bundle.leaf.isNull())
        return {};
    return Rules(bundle, options).run();
}

} // namespace staplescope
