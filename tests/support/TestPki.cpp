#include "TestPki.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

namespace staplescope::test {

TestPki::TestPki(const QDateTime& now) : m_now(now)
{
    CertSpec rootSpec;
    rootSpec.commonName = QStringLiteral("Staplescope Test Root");
    rootSpec.isCa = true;
    rootSpec.notBefore = daysFrom(now, -5 * 365);
    rootSpec.notAfter = daysFrom(now, 10 * 365);
    root = m_factory.issue(rootSpec);

    CertSpec intSpec;
    intSpec.commonName = QStringLiteral("Staplescope Test Intermediate");
    intSpec.isCa = true;
    intSpec.pathLength = 0;
    intSpec.notBefore = daysFrom(now, -2 * 365);
    intSpec.notAfter = daysFrom(now, 3 * 365);
    intermediate = m_factory.issue(intSpec, &root);

    leaf = m_factory.issue(leafSpec(), &intermediate);

    CertSpec responderSpec;
    responderSpec.commonName = QStringLiteral("Staplescope Test OCSP Responder");
    responderSpec.serverAuth = false;
    responderSpec.ocspSigning = true;
    responderSpec.ocspNoCheck = true;
    responderSpec.notBefore = daysFrom(now, -30);
    responderSpec.notAfter = daysFrom(now, 60);
    responder = m_factory.issue(responderSpec, &intermediate);
}

CertSpec TestPki::leafSpec() const
{
    CertSpec spec;
    spec.commonName = QStringLiteral("www.example.test");
    spec.dnsNames = {QStringLiteral("www.example.test"), QStringLiteral("example.test")};
    spec.notBefore = daysFrom(m_now, -10);
    spec.notAfter = daysFrom(m_now, 80);
    spec.ocspUrls = {kOcspUrl};
    spec.crlUrls = {kCrlUrl};
    spec.caIssuerUrls = {kCaIssuerUrl};
    return spec;
}

IssuedCert TestPki::issueLeaf(const std::function<void(CertSpec&)>& tweak, const IssuedCert* issuer) const
{
    CertSpec spec = leafSpec();
    if (tweak)
        tweak(spec);
    return m_factory.issue(spec, issuer ? issuer : &intermediate);
}

IssuedCert TestPki::otherCa(const QString& commonName) const
{
    CertSpec spec;
    spec.commonName = commonName;
    spec.organization = QStringLiteral("Other Test Organisation");
    spec.isCa = true;
    spec.notBefore = daysFrom(m_now, -365);
    spec.notAfter = daysFrom(m_now, 5 * 365);
    return m_factory.issue(spec);
}

IssuedCert TestPki::issueCa(const QString& commonName, const IssuedCert* issuer, int fromDays, int toDays,
                            const std::function<void(CertSpec&)>& tweak) const
{
    CertSpec spec;
    spec.commonName = commonName;
    spec.isCa = true;
    spec.notBefore = daysFrom(m_now, fromDays);
    spec.notAfter = daysFrom(m_now, toDays);
    if (tweak)
        tweak(spec);
    return m_factory.issue(spec, issuer);
}

IssuedCert TestPki::rekeyedIntermediate() const
{
    return issueCa(QStringLiteral("Staplescope Test Intermediate"), &root, -10, 1000);
}

OcspSpec TestPki::goodStapleSpec() const
{
    OcspSpec spec;
    spec.thisUpdate = daysFrom(m_now, -1);
    spec.nextUpdate = daysFrom(m_now, 6);
    return spec;
}

QByteArray TestPki::staple(const OcspSpec& spec, const IssuedCert* subject, const IssuedCert* issuer,
                           const IssuedCert* signer) const
{
    const IssuedCert& s = subject ? *subject : leaf;
    const IssuedCert& i = issuer ? *issuer : intermediate;
    const IssuedCert& g = signer ? *signer : i;
    return m_factory.ocspResponse(s, i, g, spec);
}

QByteArray TestPki::pem(const QList<const IssuedCert*>& certs)
{
    QByteArray out;
    for (const IssuedCert* c : certs)
        out += c->certPem();
    return out;
}

QByteArray TestPki::keyPem(const IssuedCert& cert) const
{
    return PkiFactory::privateKeyPem(cert.key.get(), PkiFactory::KeyFormat::Pkcs8);
}

TestFolder::TestFolder() = default;

QString TestFolder::write(const QString& relative, const QByteArray& data) const
{
    const QString target = m_dir.filePath(relative);
    if (!QDir().mkpath(QFileInfo(target).absolutePath()))
        return {};
    QFile file(target);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(data) != data.size())
        return {};
    return target;
}

QString TestFolder::mkdir(const QString& relative) const
{
    const QString target = m_dir.filePath(relative);
    return QDir().mkpath(target) ? target : QString();
}

InspectionReport inspectPaths(const QStringList& paths, const QStringList& caFiles, const QDateTime& at,
                              const LoadOptions& load)
{
    InspectRequest request;
    request.files.paths = paths;
    request.caFiles = caFiles;
    request.useSystemTrust = false;
    request.load = load;
    request.analysis.at = at;
    return inspect(request);
}

QStringList codesOf(const InspectionReport& report)
{
    QStringList codes;
    for (const Finding& f : report.allFindings())
        codes << f.code;
    return codes;
}

void dumpExample(const Finding& finding, const QString& tempDir, const QString& shownAs, const QString& row)
{
    const QString target = qEnvironmentVariable("STAPLESCOPE_FINDINGS_DUMP");
    if (target.isEmpty())
        return;
    const auto clean = [&](QString text) { return text.replace(tempDir, shownAs); };
    QJsonObject o;
    o[QStringLiteral("row")] = row;
    o[QStringLiteral("code")] = finding.code;
    o[QStringLiteral("severity")] = severityName(finding.severity);
    o[QStringLiteral("title")] = finding.title;
    o[QStringLiteral("subject")] = clean(finding.subject);
    o[QStringLiteral("message")] = clean(finding.message);
    o[QStringLiteral("fix")] = clean(finding.fix);
    QFile file(target);
    if (file.open(QIODevice::Append))
        file.write(QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n');
}

} // namespace staplescope::test
