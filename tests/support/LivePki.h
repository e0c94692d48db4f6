#pragma once
// The PKI a live-server test serves: a root, an intermediate, the current certificate, the
// certificate it replaced (same names, same CA: the renewal incident), a must-staple certificate,
// and staples for each. Made relative to `now`; real servers (HAProxy, GnuTLS) judge staples by
// the real clock, so tests that start them pass the real time.

#include "PkiFactory.h"

#include <QDir>
#include <QFile>

namespace staplescope::test {

struct LivePki {
    IssuedCert root, ca, leaf, previousLeaf, mustStapleLeaf, noOcspLeaf;
    QByteArray leafStaple;         // current, good, for leaf
    QByteArray olderLeafStaple;    // good for leaf too, fetched a day earlier
    QByteArray previousStaple;     // good, for previousLeaf: the stale staple of the incident
    QByteArray mustStapleStaple;   // for mustStapleLeaf
    QString hostName;

    // Writes PEM/DER files into `dir` and returns the full path of `name`.
    static QString write(const QString& dir, const QString& name, const QByteArray& bytes)
    {
        const QString path = QDir(dir).filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return {};
        f.write(bytes);
        return path;
    }

    QByteArray chainPem() const { return ca.certPem(); }
    QByteArray fullchainPem(const IssuedCert& cert) const { return cert.certPem() + ca.certPem(); }
    static QByteArray keyPem(const IssuedCert& cert)
    {
        return PkiFactory::privateKeyPem(cert.key.get(), PkiFactory::KeyFormat::Pkcs8);
    }
};

inline LivePki makeLivePki(const QDateTime& now, const QString& hostName = QStringLiteral("mail.example.test"))
{
    const PkiFactory factory;
    LivePki pki;
    pki.hostName = hostName;
    const auto days = [&](double d) { return now.addSecs(qint64(d * 86400)); };

    CertSpec root;
    root.commonName = QStringLiteral("Staplescope Live Test Root");
    root.isCa = true;
    root.notBefore = days(-400);
    root.notAfter = days(3000);
    pki.root = factory.issue(root);

    CertSpec ca;
    ca.commonName = QStringLiteral("Staplescope Live Test CA");
    ca.isCa = true;
    ca.pathLength = 0;
    ca.notBefore = days(-300);
    ca.notAfter = days(1500);
    pki.ca = factory.issue(ca, &pki.root);

    CertSpec leaf;
    leaf.commonName = hostName;
    leaf.dnsNames = {hostName};
    leaf.ocspUrls = {QStringLiteral("http://ocsp.example.test")};
    leaf.notBefore = days(-2);
    leaf.notAfter = days(88);
    pki.leaf = factory.issue(leaf, &pki.ca);

    CertSpec previous = leaf;
    previous.notBefore = days(-62);
    previous.notAfter = days(28);
    pki.previousLeaf = factory.issue(previous, &pki.ca);

    CertSpec mustStaple = leaf;
    mustStaple.mustStaple = true;
    pki.mustStapleLeaf = factory.issue(mustStaple, &pki.ca);

    CertSpec noOcsp = leaf;
    noOcsp.ocspUrls.clear();
    pki.noOcspLeaf = factory.issue(noOcsp, &pki.ca);

    OcspSpec good;
    good.thisUpdate = now.addSecs(-3600);
    good.nextUpdate = days(6);
    pki.leafStaple = factory.ocspResponse(pki.leaf, pki.ca, pki.ca, good);
    pki.mustStapleStaple = factory.ocspResponse(pki.mustStapleLeaf, pki.ca, pki.ca, good);
    pki.previousStaple = factory.ocspResponse(pki.previousLeaf, pki.ca, pki.ca, good);
    OcspSpec older = good;
    older.thisUpdate = now.addSecs(-3600 - 86400);
    older.nextUpdate = days(5);
    pki.olderLeafStaple = factory.ocspResponse(pki.leaf, pki.ca, pki.ca, older);
    return pki;
}

} // namespace staplescope::test
