#include "DemoData.h"

#include "AtomicFile.h"
#include "PkiFactory.h"

#include <QDir>

namespace staplescope {

namespace {

constexpr qint64 hour = 3600;
constexpr qint64 day = 24 * hour;

// Whole minutes: the demo's times read cleanly in every view.
QDateTime roundedNow(const QDateTime& now)
{
    const qint64 secs = now.toUTC().toSecsSinceEpoch();
    return QDateTime::fromSecsSinceEpoch(secs - secs % 60, Qt::UTC);
}

struct DemoWriter {
    QDir folder;
    QString error;

    bool write(const QString& relativePath, const QByteArray& content, unsigned mode = 0644)
    {
        if (!error.isEmpty())
            return false;
        const QString path = folder.filePath(relativePath);
        if (!QDir().mkpath(QFileInfo(path).absolutePath())) {
            error = QStringLiteral("cannot create the folder %1").arg(QFileInfo(path).absolutePath());
            return false;
        }
        const WriteResult result = writeFileAtomically(path, content, mode);
        if (!result.ok)
            error = result.error;
        return result.ok;
    }
};

} // namespace

DemoResult writeDemo(const QString& folderPath, const QDateTime& nowInput)
{
    DemoResult result;
    const QDateTime now = roundedNow(nowInput.isValid() ? nowInput : QDateTime::currentDateTimeUtc());
    const PkiFactory factory;

    CertSpec rootSpec;
    rootSpec.commonName = QStringLiteral("Staplescope Demo Root CA");
    rootSpec.organization = QStringLiteral("Staplescope Demo");
    rootSpec.isCa = true;
    rootSpec.notBefore = now.addSecs(-3 * 365 * day);
    rootSpec.notAfter = now.addSecs(12 * 365 * day);
    const IssuedCert root = factory.issue(rootSpec);

    CertSpec caSpec;
    caSpec.commonName = QStringLiteral("Staplescope Demo Issuing CA 1");
    caSpec.organization = rootSpec.organization;
    caSpec.isCa = true;
    caSpec.pathLength = 0;
    caSpec.notBefore = now.addSecs(-400 * day);
    caSpec.notAfter = now.addSecs(4 * 365 * day);
    caSpec.crlUrls = {QStringLiteral("http://crl.demo.example.test/root.crl")};
    const IssuedCert issuingCa = factory.issue(caSpec, &root);

    CertSpec responderSpec;
    responderSpec.commonName = QStringLiteral("Staplescope Demo OCSP Responder");
    responderSpec.organization = rootSpec.organization;
    responderSpec.notBefore = now.addSecs(-10 * day);
    responderSpec.notAfter = now.addSecs(50 * day);
    responderSpec.serverAuth = false;
    responderSpec.ocspSigning = true;
    responderSpec.ocspNoCheck = true;
    const IssuedCert responder = factory.issue(responderSpec, &issuingCa);

    const QStringList ocspUrl = {QStringLiteral("http://ocsp.demo.example.test")};
    const QStringList caIssuerUrl = {QStringLiteral("http://ca.demo.example.test/issuing-ca-1.der")};
    const QStringList crlUrl = {QStringLiteral("http://crl.demo.example.test/issuing-ca-1.crl")};

    // Healthy: a 90-day certificate a month in, a staple fetched yesterday from a delegated responder.
    CertSpec wwwSpec;
    wwwSpec.commonName = QStringLiteral("www.example.test");
    wwwSpec.dnsNames = {QStringLiteral("www.example.test"), QStringLiteral("example.test")};
    wwwSpec.notBefore = now.addSecs(-30 * day);
    wwwSpec.notAfter = now.addSecs(60 * day);
    wwwSpec.ocspUrls = ocspUrl;
    wwwSpec.caIssuerUrls = caIssuerUrl;
    wwwSpec.crlUrls = crlUrl;
    const IssuedCert www = factory.issue(wwwSpec, &issuingCa);

    OcspSpec wwwStaple;
    wwwStaple.thisUpdate = now.addSecs(-20 * hour);
    wwwStaple.producedAt = wwwStaple.thisUpdate;
    wwwStaple.nextUpdate = now.addSecs(6 * day + 4 * hour);
    wwwStaple.certIdHash = EVP_sha256();

    // The incident: mail.example.test was renewed two days ago; the cron job that refreshes
    // tls_ocsp_file still asks about the previous certificate, so Exim staples that one's response.
    CertSpec previousSpec;
    previousSpec.commonName = QStringLiteral("mail.example.test");
    previousSpec.dnsNames = {QStringLiteral("mail.example.test"), QStringLiteral("smtp.example.test")};
    previousSpec.notBefore = now.addSecs(-62 * day - 7 * hour);
    previousSpec.notAfter = previousSpec.notBefore.addSecs(90 * day);
    previousSpec.ocspUrls = ocspUrl;
    previousSpec.caIssuerUrls = caIssuerUrl;
    previousSpec.crlUrls = crlUrl;
    const IssuedCert previous = factory.issue(previousSpec, &issuingCa);

    CertSpec renewedSpec = previousSpec;
    renewedSpec.notBefore = now.addSecs(-2 * day - 3 * hour);
    renewedSpec.notAfter = renewedSpec.notBefore.addSecs(90 * day);
    const IssuedCert renewed = factory.issue(renewedSpec, &issuingCa);

    OcspSpec staleStaple;
    staleStaple.thisUpdate = now.addSecs(-9 * hour);
    staleStaple.producedAt = staleStaple.thisUpdate;
    staleStaple.nextUpdate = now.addSecs(7 * day - 9 * hour);

    if (!root.cert || !issuingCa.cert || !responder.cert || !www.cert || !previous.cert || !renewed.cert) {
        result.error = QStringLiteral("could not generate the demo certificates (OpenSSL failed)");
        return result;
    }

    DemoWriter writer{QDir(folderPath), {}};
    const QByteArray chainPem = issuingCa.certPem();
    writer.write(QStringLiteral("root-ca.pem"), root.certPem());
    // nginx-style layout.
    writer.write(QStringLiteral("healthy/fullchain.pem"), www.certPem() + chainPem);
    writer.write(QStringLiteral("healthy/privkey.pem"),
                 PkiFactory::privateKeyPem(www.key.get(), PkiFactory::KeyFormat::Pkcs8), 0600);
    writer.write(QStringLiteral("healthy/ocsp.der"), factory.ocspResponse(www, issuingCa, responder, wwwStaple));
    // Exim-style layout: tls_certificate, tls_privatekey, tls_ocsp_file, and the certificate the
    // renewal replaced, kept by the renewal script.
    writer.write(QStringLiteral("incident/exim.crt"), renewed.certPem() + chainPem);
    writer.write(QStringLiteral("incident/exim.key"),
                 PkiFactory::privateKeyPem(renewed.key.get(), PkiFactory::KeyFormat::Pkcs8), 0600);
    writer.write(QStringLiteral("incident/exim.ocsp.der"),
                 factory.ocspResponse(previous, issuingCa, issuingCa, staleStaple));
    writer.write(QStringLiteral("incident/previous/exim.crt"), previous.certPem() + chainPem);
    if (!writer.error.isEmpty()) {
        result.error = writer.error;
        return result;
    }

    result.ok = true;
    result.paths = {writer.folder.filePath(QStringLiteral("healthy")), writer.folder.filePath(QStringLiteral("incident"))};
    result.trustAnchorFile = writer.folder.filePath(QStringLiteral("root-ca.pem"));
    return result;
}

} // namespace staplescope
