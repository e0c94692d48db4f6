#pragma once
// A scenario builder on top of PkiFactory, relative to fixedNow(): the standard
// root → intermediate → leaf (with OCSP and CRL URLs) plus a delegated responder, staples with
// chosen times, status, CertID hash and signer, and a temporary folder to write them into.

#include "Inspection.h"
#include "PkiFactory.h"
#include "TestClock.h"

#include <QByteArray>
#include <QString>
#include <QTemporaryDir>

#include <functional>
#include <memory>

namespace staplescope::test {

inline const QString kOcspUrl = QStringLiteral("http://ocsp.example.test");
inline const QString kCrlUrl = QStringLiteral("http://crl.example.test/int.crl");
inline const QString kCaIssuerUrl = QStringLiteral("http://ca.example.test/int.der");

class TestPki {
public:
    // Builds the standard PKI at `now`:
    //  root          now − 5 years … now + 10 years
    //  intermediate  now − 2 years … now + 3 years, issued by root
    //  leaf          www.example.test, now − 10 days … now + 80 days (90-day lifetime), OCSP + CRL URLs
    //  responder     delegated OCSP signer (id-kp-OCSPSigning, ocsp-nocheck), now − 30 days … now + 60 days
    explicit TestPki(const QDateTime& now = fixedNow());

    const QDateTime& now() const { return m_now; }
    const PkiFactory& factory() const { return m_factory; }

    IssuedCert root, intermediate, leaf, responder;

    // The spec the standard leaf was made from, to vary: tweak it and issue another leaf.
    CertSpec leafSpec() const;
    IssuedCert issueLeaf(const std::function<void(CertSpec&)>& tweak, const IssuedCert* issuer = nullptr) const;
    // Another CA (self-signed root + intermediate), for "from another issuer" cases.
    IssuedCert otherCa(const QString& commonName = QStringLiteral("Other Test CA")) const;
    // A CA certificate named `commonName`, valid from `fromDays` to `toDays` around now(), issued
    // by `issuer` (self-signed when null); `tweak` changes anything else.
    IssuedCert issueCa(const QString& commonName, const IssuedCert* issuer, int fromDays, int toDays,
                       const std::function<void(CertSpec&)>& tweak = {}) const;
    // A CA with the intermediate's name and a key of its own, issued by the root: a re-keyed CA,
    // which only the key (and the signature) tells apart from the intermediate.
    IssuedCert rekeyedIntermediate() const;
    // Any other certificate from the same factory.
    IssuedCert issue(const CertSpec& spec, const IssuedCert* issuer) const { return m_factory.issue(spec, issuer); }

    // A good response valid thisUpdate = now − 1 day … nextUpdate = now + 6 days, SHA-1 CertID,
    // signed by the issuer itself.
    OcspSpec goodStapleSpec() const;
    // A staple about `subject` (default: the leaf), issued by `issuer` (default: the intermediate),
    // signed by `signer` (default: the issuer).
    QByteArray staple(const OcspSpec& spec, const IssuedCert* subject = nullptr, const IssuedCert* issuer = nullptr,
                      const IssuedCert* signer = nullptr) const;
    QByteArray goodStaple() const { return staple(goodStapleSpec()); }

    static QByteArray pem(const IssuedCert& cert) { return cert.certPem(); }
    static QByteArray pem(const QList<const IssuedCert*>& certs);
    QByteArray keyPem(const IssuedCert& cert) const;

private:
    QDateTime m_now;
    PkiFactory m_factory;
};

// A temporary folder with helpers to write PKI files into it.
class TestFolder {
public:
    TestFolder();
    bool isValid() const { return m_dir.isValid(); }
    QString path() const { return m_dir.path(); }
    QString path(const QString& relative) const { return m_dir.filePath(relative); }
    // Writes (creating sub-folders); returns the absolute path, or an empty string on failure.
    QString write(const QString& relative, const QByteArray& data) const;
    QString mkdir(const QString& relative) const;

private:
    QTemporaryDir m_dir;
};

// Loads `paths` the way the CLI does, trusting only `caFiles` (never the system store, so a
// result cannot depend on the machine), and evaluates at `at`.
InspectionReport inspectPaths(const QStringList& paths, const QStringList& caFiles, const QDateTime& at = fixedNow(),
                              const LoadOptions& load = {});
// Every code in a report (bundle and input findings).
QStringList codesOf(const InspectionReport& report);

// STAPLESCOPE_FINDINGS_DUMP=file appends `finding` as a JSON line with `tempDir` shown as
// `shownAs` and `row` naming the case: the examples in docs/findings.md are real engine output
// made this way.
void dumpExample(const Finding& finding, const QString& tempDir, const QString& shownAs, const QString& row);

} // namespace staplescope::test
