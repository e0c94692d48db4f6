#include "OnlineLookup.h"

#include "FindingRegistry.h"

#include <QHash>

#include <vector>

#include <openssl/pem.h>
#include <openssl/rand.h>

namespace staplescope {

namespace {

// RFC 5019 §5: GET when the whole URL (scheme, host, base64 request, after URL-encoding) is at most
// 255 bytes; POST otherwise.
constexpr qsizetype kMaxGetUrlBytes = 255;
constexpr int kNonceBytes = 16;
// Certificates taken from one CA Issuers answer (a PKCS#7 bundle or a PEM file may hold several).
constexpr int kMaxIssuerCandidates = 16;

SourceLocation fetchedFrom(const QUrl& url, int index = 0, int count = 1)
{
    SourceLocation where;
    where.path = url.toString(QUrl::RemoveUserInfo);
    where.index = index;
    where.count = count;
    where.served = true;
    return where;
}

QString shown(const QUrl& url) { return url.toString(QUrl::RemoveUserInfo); }

QByteArray toDer(OCSP_REQUEST* request)
{
    unsigned char* out = nullptr;
    const int len = i2d_OCSP_REQUEST(request, &out);
    if (len <= 0)
        return {};
    QByteArray der(reinterpret_cast<const char*>(out), len);
    OPENSSL_free(out);
    return der;
}

// DER, PEM (any number of certificates) or PKCS#7 certs-only (DER or PEM): the forms CA Issuers
// URLs serve (RFC 5280 §4.2.2.1 says DER or "certs-only" CMS; PEM is common in practice).
QList<Certificate> certificatesIn(const QByteArray& body, const QUrl& url)
{
    std::vector<X509Ptr> found;
    {
        const auto* p = reinterpret_cast<const unsigned char*>(body.constData());
        X509Ptr x(d2i_X509(nullptr, &p, long(body.size())));
        if (x && p == reinterpret_cast<const unsigned char*>(body.constData()) + body.size())
            found.push_back(std::move(x));
    }
    const auto fromPkcs7 = [&](PKCS7* p7) {
        if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign)
            return;
        STACK_OF(X509)* certs = p7->d.sign->cert;
        for (int i = 0; i < sk_X509_num(certs) && int(found.size()) < kMaxIssuerCandidates; ++i) {
            X509* c = sk_X509_value(certs, i);
            X509_up_ref(c);
            found.push_back(X509Ptr(c));
        }
    };
    if (found.empty()) {
        const auto* p = reinterpret_cast<const unsigned char*>(body.constData());
        Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, long(body.size())));
        fromPkcs7(p7.get());
    }
    if (found.empty() && body.contains("-----BEGIN")) {
        BioPtr bio = memoryBio(body);
        while (int(found.size()) < kMaxIssuerCandidates) {
            X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
            if (!x)
                break;
            found.push_back(std::move(x));
        }
        if (found.empty()) {
            BioPtr again = memoryBio(body);
            Pkcs7Ptr p7(PEM_read_bio_PKCS7(again.get(), nullptr, nullptr, nullptr));
            fromPkcs7(p7.get());
        }
    }
    clearOpenSslErrors();
    QList<Certificate> certs;
    for (size_t i = 0; i < found.size(); ++i)
        certs << Certificate::fromX509(std::move(found[i]), fetchedFrom(url, int(i), int(found.size())));
    return certs;
}

X509CrlPtr crlIn(const QByteArray& body)
{
    const auto* p = reinterpret_cast<const unsigned char*>(body.constData());
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, long(body.size())));
    if (crl && p == reinterpret_cast<const unsigned char*>(body.constData()) + body.size())
        return crl;
    crl.reset();
    if (body.contains("-----BEGIN X509 CRL-----")) {
        BioPtr bio = memoryBio(body);
        crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    }
    clearOpenSslErrors();
    return crl;
}

QList<QUrl> httpUrls(const QStringList& urls)
{
    QList<QUrl> out;
    for (const QString& u : urls)
        out << QUrl(u);
    return out;
}

} // namespace

std::optional<QString> parseCertIdHash(const QString& text)
{
    const QString t = text.trimmed().toLower();
    if (t == QLatin1String("sha1") || t == QLatin1String("sha-1"))
        return QStringLiteral("sha1");
    if (t == QLatin1String("sha256") || t == QLatin1String("sha-256"))
        return QStringLiteral("sha256");
    return std::nullopt;
}

std::optional<OcspRequestOptions::Method> parseOcspMethod(const QString& text)
{
    const QString t = text.trimmed().toLower();
    if (t == QLatin1String("get"))
        return OcspRequestOptions::Method::Get;
    if (t == QLatin1String("post"))
        return OcspRequestOptions::Method::Post;
    if (t == QLatin1String("auto"))
        return OcspRequestOptions::Method::Auto;
    return std::nullopt;
}

QUrl ocspGetUrl(const QUrl& responder, const QByteArray& requestDer)
{
    // RFC 6960 appendix A.1: {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}.
    QByteArray base = responder.toEncoded();
    if (!base.endsWith('/'))
        base += '/';
    return QUrl::fromEncoded(base + QUrl::toPercentEncoding(QString::fromLatin1(requestDer.toBase64())), QUrl::StrictMode);
}

OcspRequestBuild buildOcspRequest(const Certificate& cert, const Certificate& issuer, const OcspRequestOptions& options)
{
    OcspRequestBuild build;
    if (cert.isNull() || issuer.isNull()) {
        build.error = QStringLiteral("the certificate and its issuer are both needed for an OCSP request");
        return build;
    }
    QUrl responder = options.responder;
    if (responder.isEmpty()) {
        const QStringList urls = cert.ocspUrls();
        if (urls.isEmpty()) {
            build.error = QStringLiteral("the certificate names no OCSP responder (no AIA OCSP URL) and none was given (--responder)");
            return build;
        }
        responder = QUrl(urls.first());
    }
    const std::optional<QString> hash = parseCertIdHash(options.certIdHash);
    if (!hash) {
        build.error = QStringLiteral("unknown CertID hash \"%1\" (sha1 or sha256)").arg(options.certIdHash);
        return build;
    }
    const EVP_MD* md = *hash == QLatin1String("sha256") ? EVP_sha256() : EVP_sha1();
    OcspRequestPtr request(OCSP_REQUEST_new());
    OcspCertIdPtr id(OCSP_cert_to_id(md, cert.get0(), issuer.get0()));
    if (!request || !id || !OCSP_request_add0_id(request.get(), id.get())) {
        build.error = QStringLiteral("OpenSSL could not make the OCSP request: %1").arg(takeOpenSslErrors());
        return build;
    }
    id.release(); // add0: the request owns it now
    if (options.nonce) {
        build.nonce = QByteArray(kNonceBytes, '\0');
        if (RAND_bytes(reinterpret_cast<unsigned char*>(build.nonce.data()), kNonceBytes) != 1
            || OCSP_request_add1_nonce(request.get(), reinterpret_cast<unsigned char*>(build.nonce.data()), kNonceBytes) != 1) {
            build.error = QStringLiteral("OpenSSL could not add a nonce: %1").arg(takeOpenSslErrors());
            return build;
        }
    }
    build.der = toDer(request.get());
    if (build.der.isEmpty()) {
        build.error = QStringLiteral("OpenSSL could not encode the OCSP request: %1").arg(takeOpenSslErrors());
        return build;
    }
    build.fetch.kind = FetchKind::OcspResponse;
    const QUrl getUrl = ocspGetUrl(responder, build.der);
    const bool useGet = options.method == OcspRequestOptions::Method::Get
        || (options.method == OcspRequestOptions::Method::Auto && getUrl.toEncoded().size() <= kMaxGetUrlBytes);
    if (useGet) {
        build.fetch.url = getUrl;
    } else {
        build.fetch.url = responder;
        build.fetch.postBody = build.der;
        build.fetch.postContentType = "application/ocsp-request";
    }
    return build;
}

OnlineLookup::OnlineLookup(OnlineOptions options) : m_options(std::move(options)), m_fetcher(m_options.fetch) {}

QList<IssuerLookup> OnlineLookup::fetchIssuers(const QList<Certificate>& certs, const std::atomic<bool>* cancel)
{
    QList<IssuerLookup> lookups(certs.size());
    QList<FetchRequest> requests;
    QList<QList<int>> requestsOf(certs.size()); // indices into requests, per certificate
    for (qsizetype i = 0; i < certs.size(); ++i) {
        for (const QUrl& url : httpUrls(certs[i].caIssuerUrls())) {
            FetchRequest r;
            r.kind = FetchKind::Certificate;
            r.url = url;
            requestsOf[i] << int(requests.size());
            requests << r;
        }
    }
    const QList<FetchResult> results = m_fetcher.fetchAll(requests, cancel);
    for (qsizetype i = 0; i < certs.size(); ++i) {
        const Certificate& cert = certs[i];
        IssuerLookup& lookup = lookups[i];
        const QString fix = QStringLiteral("Give the chain file (fullchain.pem or --chain) so the issuer need not be fetched.");
        if (requestsOf[i].isEmpty()) {
            lookup.findings << makeFinding(FindingCode::IssuerFetchFailed, Severity::Warning, QStringLiteral("Issuer not found"),
                                           certificateSubject(cert),
                                           QStringLiteral("The issuer (%1) is not among the inputs and the certificate names no "
                                                          "CA Issuers URL to fetch it from.")
                                               .arg(cert.issuer()),
                                           fix, {cert.id()}, Remedy{RemedyKind::AddChainFile, {}, cert.serialHex(), {}});
            continue;
        }
        QStringList problems;
        for (int r : std::as_const(requestsOf[i])) {
            const FetchResult& result = results[r];
            const QUrl url = result.request.url;
            if (!result.ok()) {
                problems << QStringLiteral("%1: %2").arg(shown(url), result.error);
                continue;
            }
            const QList<Certificate> candidates = certificatesIn(result.body, url);
            if (candidates.isEmpty()) {
                problems << QStringLiteral("%1 served %2 bytes that are no certificate (DER, PEM or PKCS#7)")
                                .arg(shown(url))
                                .arg(result.body.size());
                continue;
            }
            for (const Certificate& candidate : candidates) {
                if (cert.isIssuedBy(candidate)) {
                    lookup.issuer = candidate;
                    break;
                }
            }
            if (!lookup.issuer.isNull()) {
                lookup.findings << makeFinding(
                    FindingCode::IssuerFetched, Severity::Info, QStringLiteral("Issuer fetched"), certificateSubject(cert),
                    QStringLiteral("The issuer %1 was not among the inputs; it was fetched from %2 (the certificate's CA "
                                   "Issuers URL) and its key verifies the certificate's signature.")
                        .arg(lookup.issuer.displayName(), shown(url)),
                    QStringLiteral("If the server sends its chain without this certificate, add it to the chain file."),
                    {cert.id(), lookup.issuer.id()}, Remedy{RemedyKind::FetchIssuer, {}, cert.serialHex(), shown(url)});
                break;
            }
            QStringList names;
            for (const Certificate& c : candidates)
                names << c.subject();
            problems << QStringLiteral("%1 serves %2, which did not sign this certificate (issued by %3)")
                            .arg(shown(url), names.join(QStringLiteral("; ")), cert.issuer());
        }
        if (lookup.issuer.isNull()) {
            const QUrl first(cert.caIssuerUrls().value(0));
            lookup.findings << makeFinding(FindingCode::IssuerFetchFailed, Severity::Warning, QStringLiteral("Issuer could not be fetched"),
                                           certificateSubject(cert),
                                           QStringLiteral("The issuer (%1) is not among the inputs, and fetching it failed: %2. Without "
                                                          "it no OCSP request can be made and no response verified.")
                                               .arg(cert.issuer(), problems.join(QStringLiteral("; "))),
                                           fix, {cert.id()}, Remedy{RemedyKind::RetryFetch, {}, cert.serialHex(), shown(first)});
        }
    }
    return lookups;
}

QList<OcspLookup> OnlineLookup::fetchOcsp(const QList<std::pair<Certificate, Certificate>>& certAndIssuer,
                                          const std::atomic<bool>* cancel, const std::function<void(int done, int total)>& progress)
{
    QList<OcspLookup> lookups(certAndIssuer.size());
    QList<OcspRequestBuild> builds(certAndIssuer.size());
    QList<FetchRequest> requests;
    QList<int> requestOf(certAndIssuer.size(), -1);
    for (qsizetype i = 0; i < certAndIssuer.size(); ++i) {
        const auto& [cert, issuer] = certAndIssuer[i];
        builds[i] = buildOcspRequest(cert, issuer, m_options.ocsp);
        lookups[i].responder = m_options.ocsp.responder.isEmpty() ? QUrl(cert.ocspUrls().value(0)) : m_options.ocsp.responder;
        if (!builds[i].error.isEmpty()) {
            lookups[i].findings << makeFinding(
                FindingCode::OcspFetchFailed, Severity::Error, QStringLiteral("No OCSP request could be made"), certificateSubject(cert),
                QStringLiteral("No OCSP request could be made for this certificate: %1.").arg(builds[i].error),
                QStringLiteral("Give the issuer (the chain file) and a responder URL (--responder) if the certificate has none."),
                {cert.id()}, Remedy{RemedyKind::RetryFetch, {}, cert.serialHex(), shown(lookups[i].responder)});
            continue;
        }
        requestOf[i] = int(requests.size());
        requests << builds[i].fetch;
    }
    const QList<FetchResult> results = m_fetcher.fetchAll(requests, cancel, progress);
    for (qsizetype i = 0; i < certAndIssuer.size(); ++i) {
        if (requestOf[i] < 0)
            continue;
        const Certificate& cert = certAndIssuer[i].first;
        OcspLookup& lookup = lookups[i];
        lookup.http = results[requestOf[i]];
        const QString responder = shown(lookup.responder);
        const Remedy retry{RemedyKind::RetryFetch, {}, cert.serialHex(), responder};
        const QString fix = QStringLiteral("Check that this machine reaches %1 (proxy settings, firewall) and run again; until "
                                           "then a still-good staple is kept.")
                                .arg(responder);
        if (!lookup.http.ok()) {
            lookup.findings << makeFinding(FindingCode::OcspFetchFailed, Severity::Error, QStringLiteral("OCSP responder not reached"),
                                           certificateSubject(cert),
                                           QStringLiteral("Asking the OCSP responder %1 failed: %2.").arg(responder, lookup.http.error),
                                           fix, {cert.id()}, retry);
            continue;
        }
        OcspStaple::ParseResult parsed = OcspStaple::fromDer(lookup.http.body, fetchedFrom(lookup.http.finalUrl));
        if (parsed.staple.isNull()) {
            lookup.findings << makeFinding(
                FindingCode::OcspFetchFailed, Severity::Error, QStringLiteral("Responder sent no OCSP response"), certificateSubject(cert),
                QStringLiteral("The OCSP responder %1 answered HTTP 200 with %2 bytes (%3) that are not an OCSP response: %4.")
                    .arg(responder)
                    .arg(lookup.http.body.size())
                    .arg(lookup.http.contentType.isEmpty() ? QStringLiteral("no content type")
                                                           : QString::fromLatin1(lookup.http.contentType),
                         parsed.error),
                fix, {cert.id()}, retry);
            continue;
        }
        if (!builds[i].nonce.isEmpty() && parsed.staple.isSuccessful()) {
            // Rebuilt to ask OpenSSL: OCSP_check_nonce compares the request's and the response's.
            const auto* p = reinterpret_cast<const unsigned char*>(builds[i].der.constData());
            OcspRequestPtr request(d2i_OCSP_REQUEST(nullptr, &p, long(builds[i].der.size())));
            const int check = request ? OCSP_check_nonce(request.get(), parsed.staple.basic0()) : 0;
            clearOpenSslErrors();
            // 1: echoed. -1: the responder left it out, which most large CAs do (they serve
            // pre-signed responses, as RFC 5019 allows); accepted, and said in nonceEchoed.
            // 0 (or 3, a nonce we never sent): a replayed or someone else's answer.
            lookup.nonceEchoed = check == 1;
            if (check == 0 || check == 3) {
                lookup.findings << makeFinding(
                    FindingCode::OcspFetchFailed, Severity::Error, QStringLiteral("OCSP nonce mismatch"), certificateSubject(cert),
                    QStringLiteral("The OCSP responder %1 answered with a nonce other than the one sent (--nonce): the response "
                                   "is replayed or meant for another request, so it is not used.")
                        .arg(responder),
                    fix, {cert.id()}, retry);
                continue;
            }
        }
        lookup.response = parsed.staple;
    }
    return lookups;
}

QList<CrlLookup> OnlineLookup::checkCrls(const QList<std::pair<Certificate, Certificate>>& certAndIssuer, const QDateTime& at,
                                         const std::atomic<bool>* cancel)
{
    QList<CrlLookup> lookups(certAndIssuer.size());
    QList<FetchRequest> requests;
    QList<QList<int>> requestsOf(certAndIssuer.size());
    for (qsizetype i = 0; i < certAndIssuer.size(); ++i) {
        for (const QUrl& url : httpUrls(certAndIssuer[i].first.crlUrls())) {
            FetchRequest r;
            r.kind = FetchKind::Crl;
            r.url = url;
            requestsOf[i] << int(requests.size());
            requests << r;
        }
    }
    const QList<FetchResult> results = m_fetcher.fetchAll(requests, cancel);
    for (qsizetype i = 0; i < certAndIssuer.size(); ++i) {
        const auto& [cert, issuer] = certAndIssuer[i];
        CrlLookup& lookup = lookups[i];
        const QString subject = certificateSubject(cert);
        // No CRL Distribution Point: nothing to check (and nothing to retry); the caller sees a null CRL
        // and no findings.
        if (requestsOf[i].isEmpty())
            continue;
        QStringList problems;
        QList<Finding> invalid;
        for (int r : std::as_const(requestsOf[i])) {
            const FetchResult& result = results[r];
            const QString url = shown(result.request.url);
            if (!result.ok()) {
                problems << QStringLiteral("%1: %2").arg(url, result.error);
                continue;
            }
            X509CrlPtr parsed = crlIn(result.body);
            if (!parsed) {
                problems << QStringLiteral("%1 served %2 bytes that are no CRL (DER or PEM)").arg(url).arg(result.body.size());
                continue;
            }
            Crl crl = Crl::fromX509Crl(std::move(parsed), fetchedFrom(result.request.url));
            const bool namesIssuer = X509_NAME_cmp(X509_CRL_get_issuer(crl.get0()), X509_get_issuer_name(cert.get0())) == 0;
            EVP_PKEY* key = issuer.isNull() ? nullptr : X509_get0_pubkey(issuer.get0());
            const bool verifies = key && X509_CRL_verify(crl.get0(), key) == 1;
            clearOpenSslErrors();
            if (!namesIssuer || !verifies) {
                invalid << makeFinding(
                    FindingCode::CrlInvalid, Severity::Error, QStringLiteral("CRL not from the issuer"), subject,
                    !namesIssuer ? QStringLiteral("The CRL at %1 is issued by %2, not by the certificate's issuer %3, so it says "
                                                  "nothing about this certificate.")
                                       .arg(url, crl.issuer(), cert.issuer())
                                 : QStringLiteral("The CRL at %1 names the certificate's issuer %2, but its signature does not "
                                                  "verify with that issuer's key, so it is not used.")
                                       .arg(url, cert.issuer()),
                    QStringLiteral("Fetch the CRL again; if it persists, report it to the CA."), {cert.id()},
                    Remedy{RemedyKind::FetchCrl, {}, cert.serialHex(), url});
                continue;
            }
            lookup.crl = crl;
            const QString window = QStringLiteral("thisUpdate %1, nextUpdate %2")
                                       .arg(formatTime(crl.thisUpdate()),
                                            crl.nextUpdate().isValid() ? formatTime(crl.nextUpdate()) : QStringLiteral("none"));
            if (crl.nextUpdate().isValid() && crl.nextUpdate() < at) {
                lookup.findings << makeFinding(
                    FindingCode::CrlExpired, Severity::Warning, QStringLiteral("CRL past its nextUpdate"), subject,
                    QStringLiteral("The CRL at %1 (%2) passed its nextUpdate %3: the CA has not published a newer one, so "
                                   "clients that check CRLs may treat the certificate's status as unknown.")
                        .arg(url, window, relativeTime(at, crl.nextUpdate())),
                    QStringLiteral("Fetch it again later; if it stays old, tell the CA."), {cert.id()},
                    Remedy{RemedyKind::FetchCrl, {}, cert.serialHex(), url});
            }
            const std::optional<QDateTime> revoked = crl.revocationTimeOf(cert);
            if (revoked && *revoked <= at) {
                const QString reason = crl.revocationReasonOf(cert);
                lookup.findings << makeFinding(
                    FindingCode::CertRevoked, Severity::Critical, QStringLiteral("Certificate revoked (CRL)"), subject,
                    QStringLiteral("The issuer's CRL at %1 (%2) lists this certificate as revoked since %3 (%4), reason: %5.")
                        .arg(url, window, formatTime(*revoked), relativeTime(at, *revoked),
                             reason.isEmpty() ? QStringLiteral("not given") : reason),
                    QStringLiteral("Replace the certificate now: clients that check revocation reject it."), {cert.id()},
                    Remedy{RemedyKind::ReplaceCertificate, {}, cert.serialHex(), {}});
            } else {
                lookup.findings << makeFinding(
                    FindingCode::RevocationChecked, Severity::Info, QStringLiteral("Not revoked (CRL)"), subject,
                    QStringLiteral("The issuer's CRL at %1 (%2, signature verified with the issuer's key) does not list this "
                                   "certificate.")
                        .arg(url, window),
                    {}, {cert.id()});
            }
            break;
        }
        if (lookup.crl.isNull()) {
            lookup.findings << invalid;
            if (invalid.isEmpty())
                lookup.findings << makeFinding(
                    FindingCode::CrlFetchFailed, Severity::Warning, QStringLiteral("CRL could not be fetched"), subject,
                    QStringLiteral("The certificate's CRL could not be fetched, so its revocation status is unknown: %1.")
                        .arg(problems.join(QStringLiteral("; "))),
                    QStringLiteral("Check that this machine reaches the CRL URL and run again."), {cert.id()},
                    Remedy{RemedyKind::RetryFetch, {}, cert.serialHex(), cert.crlUrls().value(0)});
        }
    }
    return lookups;
}

} // namespace staplescope
