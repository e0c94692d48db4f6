// Certificate on its own, without files: every field the rules read, checked against what the test
// PKI was asked to make (the spec) or against a hash computed here, never against Certificate's own
// other accessors.

#include "Certificate.h"
#include "TestPki.h"

#include <QCryptographicHash>
#include <QTest>
#include <QTimeZone>

#include <memory>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(KeyType)

namespace {

Certificate certOf(const IssuedCert& issued, const QString& path = QStringLiteral("test.pem"))
{
    return Certificate::fromDer(issued.certDer(), SourceLocation{path, 0, 1});
}

// `issued` with the UTCTime of its notBefore (or notAfter) given month 13: still decodable ASN.1,
// not a time. Same length, so the DER stays well formed (the signature breaks; nothing here checks it).
QByteArray withMonth13(const QByteArray& der, const QDateTime& field)
{
    const QByteArray time = field.toUTC().toString(QStringLiteral("yyMMddHHmmss")).toLatin1() + 'Z';
    const qsizetype at = der.indexOf(QByteArray("\x17\x0d", 2) + time);
    if (at < 0)
        return {};
    QByteArray patched = der;
    patched.replace(at + 4, 2, "13");
    return patched;
}

} // namespace

class TestCertificate : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void leafFields();
    void fingerprintsAndId();
    void notACertificate();
    void nullCertificateIsEmpty();
    void withSourceKeepsTheCertificate();
    void keyDescription_data();
    void keyDescription();
    void serialSign_data();
    void serialSign();
    void sameMagnitudeOtherSignIsAnotherCertificate();
    void commonNameFallsBack_data();
    void commonNameFallsBack();
    void keyIdentifiers();
    void caAndSelfSigned();
    void selfIssuedButNotSelfSigned();
    void extensionFlags();
    void issuedByTheIntermediate();
    void rekeyedIssuerWithTheSameName();
    void unreadableTimes_data();
    void unreadableTimes();
    void formatDuration_data();
    void formatDuration();
    void formatTime_data();
    void formatTime();
    void hexColon_data();
    void hexColon();
    void signedSerialHelpers();

private:
    std::unique_ptr<TestPki> m_pki;
    Certificate m_root, m_intermediate, m_leaf, m_responder;
};

void TestCertificate::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    m_root = certOf(m_pki->root, QStringLiteral("root.pem"));
    m_intermediate = certOf(m_pki->intermediate, QStringLiteral("intermediate.pem"));
    m_leaf = certOf(m_pki->leaf, QStringLiteral("leaf.pem"));
    m_responder = certOf(m_pki->responder, QStringLiteral("responder.pem"));
    QVERIFY(!m_root.isNull() && !m_intermediate.isNull() && !m_leaf.isNull() && !m_responder.isNull());
}

void TestCertificate::leafFields()
{
    const CertSpec spec = m_pki->leafSpec();
    QCOMPARE(m_leaf.subject(), QStringLiteral("CN=www.example.test, O=Staplescope Test"));
    QCOMPARE(m_leaf.issuer(), QStringLiteral("CN=Staplescope Test Intermediate, O=Staplescope Test"));
    QCOMPARE(m_leaf.commonName(), QStringLiteral("www.example.test"));
    QCOMPARE(m_leaf.dnsNames(), spec.dnsNames);
    QVERIFY(m_leaf.ipAddresses().isEmpty());
    QCOMPARE(m_leaf.ocspUrls(), QStringList{kOcspUrl});
    QCOMPARE(m_leaf.crlUrls(), QStringList{kCrlUrl});
    QCOMPARE(m_leaf.caIssuerUrls(), QStringList{kCaIssuerUrl});
    QCOMPARE(m_leaf.notBefore(), spec.notBefore);
    QCOMPARE(m_leaf.notAfter(), spec.notAfter);
    QCOMPARE(m_leaf.notAfter().timeSpec(), Qt::UTC);
    QCOMPARE(m_leaf.lifetimeSeconds(), qint64(90) * 86400);
    QCOMPARE(m_leaf.signatureAlgorithm(), QStringLiteral("ecdsa-with-SHA256"));
    QCOMPARE(m_leaf.source().path, QStringLiteral("leaf.pem"));
    QCOMPARE(m_leaf.displayName(), QStringLiteral("www.example.test (serial %1)").arg(m_leaf.serialHex()));
    // The names as DER are the issuer's subject, byte for byte: what OCSP's issuerNameHash hashes.
    QCOMPARE(m_leaf.issuerNameDer(), m_intermediate.subjectNameDer());
    QVERIFY(m_leaf.subjectNameDer() != m_leaf.issuerNameDer());
    QVERIFY(m_leaf.textDump().contains(QStringLiteral("www.example.test")));
}

void TestCertificate::fingerprintsAndId()
{
    const QByteArray der = m_pki->leaf.certDer();
    QCOMPARE(m_leaf.der(), der);
    QCOMPARE(m_leaf.sha256(), QCryptographicHash::hash(der, QCryptographicHash::Sha256));
    QCOMPARE(m_leaf.sha1(), QCryptographicHash::hash(der, QCryptographicHash::Sha1));
    QCOMPARE(
        m_leaf.id(),
        QStringLiteral("cert:") +
            QString::fromLatin1(QCryptographicHash::hash(der, QCryptographicHash::Sha256).toHex().left(16)));
    QVERIFY(m_leaf.id() != m_intermediate.id());
    // get1 hands out a new reference to the same X509; get0 borrows it.
    const X509Ptr ref = m_leaf.get1();
    QCOMPARE(ref.get(), m_leaf.get0());
    // Equality is by DER: the same bytes parsed twice are one certificate.
    QVERIFY(certOf(m_pki->leaf, QStringLiteral("elsewhere.pem")) == m_leaf);
    QVERIFY(m_leaf != m_intermediate);
}

void TestCertificate::notACertificate()
{
    const SourceLocation where{QStringLiteral("x.der"), 0, 1};
    QVERIFY(Certificate::fromDer(QByteArray(), where).isNull());
    QVERIFY(Certificate::fromDer(QByteArrayLiteral("not a certificate"), where).isNull());
    const QByteArray der = m_pki->leaf.certDer();
    QVERIFY(Certificate::fromDer(der.left(der.size() - 1), where).isNull());
    // Trailing bytes after a certificate: not the certificate file it claims to be.
    QVERIFY(Certificate::fromDer(der + QByteArray(1, '\0'), where).isNull());
    QVERIFY(Certificate::fromX509(nullptr, where).isNull());
}

void TestCertificate::nullCertificateIsEmpty()
{
    const Certificate none;
    QVERIFY(none.isNull());
    QVERIFY(none.get0() == nullptr);
    QVERIFY(none.der().isEmpty());
    QVERIFY(none.id().isEmpty());
    QVERIFY(none.serialHex().isEmpty());
    QVERIFY(!none.notAfter().isValid());
    QVERIFY(!none.isCa());
    QVERIFY(!none.isIssuedBy(m_root));
    QVERIFY(!m_root.isIssuedBy(none));
    QVERIFY(!m_leaf.verifySignatureWith(none));
    QVERIFY(none == Certificate());
    QVERIFY(none != m_leaf);
    QVERIFY(unreadableValidityText(none).isEmpty());
}

void TestCertificate::withSourceKeepsTheCertificate()
{
    const Certificate moved = m_leaf.withSource(SourceLocation{QStringLiteral("fullchain.pem"), 1, 3});
    QVERIFY(moved == m_leaf);
    QCOMPARE(moved.source().display(), QStringLiteral("fullchain.pem (#2 of 3)"));
    QCOMPARE(m_leaf.source().display(), QStringLiteral("leaf.pem"));
}

void TestCertificate::keyDescription_data()
{
    QTest::addColumn<KeyType>("type");
    QTest::addColumn<QString>("description");
    QTest::addColumn<QString>("signatureAlgorithm"); // of a self-signed certificate with that key
    QTest::newRow("EC P-256") << KeyType::EcP256 << QStringLiteral("EC P-256")
                              << QStringLiteral("ecdsa-with-SHA256");
    QTest::newRow("RSA 2048") << KeyType::Rsa2048 << QStringLiteral("RSA 2048")
                              << QStringLiteral("sha256WithRSAEncryption");
    QTest::newRow("RSA 1024") << KeyType::Rsa1024 << QStringLiteral("RSA 1024")
                              << QStringLiteral("sha256WithRSAEncryption");
    QTest::newRow("Ed25519") << KeyType::Ed25519 << QStringLiteral("Ed25519") << QStringLiteral("ED25519");
}

void TestCertificate::keyDescription()
{
    QFETCH(KeyType, type);
    QFETCH(QString, description);
    QFETCH(QString, signatureAlgorithm);
    CertSpec spec = m_pki->leafSpec();
    spec.keyType = type;
    const Certificate cert = certOf(m_pki->issue(spec, nullptr));
    QCOMPARE(cert.keyDescription(), description);
    QCOMPARE(cert.signatureAlgorithm(), signatureAlgorithm);
}

void TestCertificate::serialSign_data()
{
    QTest::addColumn<QByteArray>("magnitude");
    QTest::addColumn<bool>("negative");
    QTest::addColumn<QString>("hex");
    QTest::newRow("positive") << QByteArray::fromHex("1111") << false << QStringLiteral("11:11");
    QTest::newRow("negative (RFC 5280 forbids it; CAs did it)")
        << QByteArray::fromHex("1111") << true << QStringLiteral("-11:11");
    // DER pads a positive INTEGER whose top bit is set with 00; the magnitude has no pad.
    QTest::newRow("top bit set") << QByteArray::fromHex("8001") << false << QStringLiteral("80:01");
    QTest::newRow("negative, top bit set") << QByteArray::fromHex("8001") << true << QStringLiteral("-80:01");
    QTest::newRow("twenty bytes") << QByteArray::fromHex("7fffffffffffffffffffffffffffffffffffff01") << false
                                  << QStringLiteral(
                                         "7F:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:01");
}

void TestCertificate::serialSign()
{
    QFETCH(QByteArray, magnitude);
    QFETCH(bool, negative);
    QFETCH(QString, hex);
    const Certificate cert = certOf(m_pki->issueLeaf([&](CertSpec& s) {
        s.serial = magnitude;
        s.negativeSerial = negative;
    }));
    QVERIFY(!cert.isNull());
    QCOMPARE(cert.serial(), magnitude);
    QCOMPARE(cert.serialNegative(), negative);
    QCOMPARE(cert.serialHex(), hex);
    QVERIFY(cert.displayName().endsWith(QStringLiteral("(serial %1)").arg(hex)));
    // What OpenSSL stored, read without Certificate: the sign is the INTEGER's type.
    QCOMPARE(ASN1_STRING_type(X509_get0_serialNumber(cert.get0())),
             negative ? V_ASN1_NEG_INTEGER : V_ASN1_INTEGER);
}

void TestCertificate::sameMagnitudeOtherSignIsAnotherCertificate()
{
    const auto withSerial = [&](bool negative) {
        return certOf(m_pki->issueLeaf([&](CertSpec& s) {
            s.serial = QByteArray::fromHex("1111");
            s.negativeSerial = negative;
        }));
    };
    const Certificate plus = withSerial(false), minus = withSerial(true);
    QCOMPARE(plus.serial(), minus.serial());
    QVERIFY(plus.serialNegative() != minus.serialNegative());
    QVERIFY(signedSerialKey(plus.serial(), plus.serialNegative()) !=
            signedSerialKey(minus.serial(), minus.serialNegative()));
    QVERIFY(plus.serialHex() != minus.serialHex());
    QVERIFY(plus != minus);
}

void TestCertificate::commonNameFallsBack_data()
{
    QTest::addColumn<QString>("cn");
    QTest::addColumn<QStringList>("dnsNames");
    QTest::addColumn<QString>("organization");
    QTest::addColumn<QString>("expected");
    QTest::newRow("CN") << QStringLiteral("mail.example.test")
                        << QStringList{QStringLiteral("other.example.test")} << QStringLiteral("Org")
                        << QStringLiteral("mail.example.test");
    QTest::newRow("no CN: the first SAN")
        << QString() << QStringList{QStringLiteral("a.example.test"), QStringLiteral("b.example.test")}
        << QStringLiteral("Org") << QStringLiteral("a.example.test");
    QTest::newRow("no CN, no SAN: the subject")
        << QString() << QStringList() << QStringLiteral("Only An Org") << QStringLiteral("O=Only An Org");
}

void TestCertificate::commonNameFallsBack()
{
    QFETCH(QString, cn);
    QFETCH(QStringList, dnsNames);
    QFETCH(QString, organization);
    QFETCH(QString, expected);
    const Certificate cert = certOf(m_pki->issueLeaf([&](CertSpec& s) {
        s.commonName = cn;
        s.dnsNames = dnsNames;
        s.organization = organization;
    }));
    QVERIFY(!cert.isNull());
    QCOMPARE(cert.commonName(), expected);
    QCOMPARE(cert.dnsNames(), dnsNames);
}

void TestCertificate::keyIdentifiers()
{
    // RFC 5280 method 1, computed here from the key's BIT STRING.
    const QByteArray leafKeyId =
        QCryptographicHash::hash(m_leaf.publicKeyBitString(), QCryptographicHash::Sha1);
    QCOMPARE(m_leaf.subjectKeyId(), leafKeyId);
    QCOMPARE(m_leaf.authorityKeyId(), m_intermediate.subjectKeyId());
    QCOMPARE(m_intermediate.authorityKeyId(), m_root.subjectKeyId());
    QCOMPARE(m_root.authorityKeyId(), m_root.subjectKeyId()); // self-signed: names its own key
    QVERIFY(m_leaf.subjectKeyId() != m_intermediate.subjectKeyId());
    QCOMPARE(m_leaf.publicKeyBitString().size(), 65); // uncompressed P-256 point
    // The SubjectPublicKeyInfo as OpenSSL encodes it, to match private keys.
    unsigned char* spki = nullptr;
    const int len = i2d_PUBKEY(X509_get0_pubkey(m_leaf.get0()), &spki);
    QVERIFY(len > 0);
    const QByteArray expected(reinterpret_cast<const char*>(spki), len);
    OPENSSL_free(spki);
    QCOMPARE(m_leaf.publicKeyDer(), expected);

    const Certificate bare = certOf(m_pki->issueLeaf([](CertSpec& s) {
        s.subjectKeyId = false;
        s.authorityKeyId = false;
    }));
    QVERIFY(bare.subjectKeyId().isEmpty());
    QVERIFY(bare.authorityKeyId().isEmpty());
}

void TestCertificate::caAndSelfSigned()
{
    QVERIFY(m_root.isCa());
    QVERIFY(m_root.isSelfIssued());
    QVERIFY(m_root.isSelfSigned());
    QVERIFY(m_intermediate.isCa());
    QVERIFY(!m_intermediate.isSelfIssued());
    QVERIFY(!m_intermediate.isSelfSigned());
    QVERIFY(!m_leaf.isCa());
    QVERIFY(!m_leaf.isSelfIssued());
    QVERIFY(!m_leaf.isSelfSigned());

    // A self-signed leaf is self-signed without being a CA.
    const Certificate selfSignedLeaf = certOf(m_pki->issue(m_pki->leafSpec(), nullptr));
    QVERIFY(selfSignedLeaf.isSelfSigned());
    QVERIFY(!selfSignedLeaf.isCa());

    // isCa needs basicConstraints CA:TRUE; keyCertSign alone does not make a CA.
    CertSpec noBasic;
    noBasic.commonName = QStringLiteral("CA Without Basic Constraints");
    noBasic.isCa = true;
    noBasic.basicConstraints = false;
    noBasic.notBefore = daysFrom(fixedNow(), -10);
    noBasic.notAfter = daysFrom(fixedNow(), 100);
    const Certificate withoutBc = certOf(m_pki->issue(noBasic, &m_pki->root));
    QVERIFY(!withoutBc.isNull());
    QVERIFY(!withoutBc.isCa());
}

void TestCertificate::selfIssuedButNotSelfSigned()
{
    // Subject = issuer name (the root's), but signed by the root's key, not its own: self-issued
    // (a CA key rollover certificate looks like this), not self-signed.
    const Certificate rollover = certOf(m_pki->issueCa(QStringLiteral("Staplescope Test Root"), &m_pki->root, -10, 100));
    QCOMPARE(rollover.subject(), m_root.subject());
    QVERIFY(rollover.isSelfIssued());
    QVERIFY(!rollover.isSelfSigned());
    QVERIFY(rollover.verifySignatureWith(m_root));
}

void TestCertificate::extensionFlags()
{
    QVERIFY(!m_leaf.mustStaple());
    QVERIFY(!m_leaf.hasOcspSigningUsage());
    QVERIFY(!m_leaf.hasOcspNoCheck());
    QVERIFY(m_responder.hasOcspSigningUsage());
    QVERIFY(m_responder.hasOcspNoCheck());
    QVERIFY(!m_responder.isCa());
    const Certificate mustStaple = certOf(m_pki->issueLeaf([](CertSpec& s) { s.mustStaple = true; }));
    QVERIFY(mustStaple.mustStaple());
    // Signing usage without nocheck, and the other way round: two separate answers.
    const Certificate signingOnly = certOf(m_pki->issueLeaf([](CertSpec& s) { s.ocspSigning = true; }));
    QVERIFY(signingOnly.hasOcspSigningUsage());
    QVERIFY(!signingOnly.hasOcspNoCheck());
}

void TestCertificate::issuedByTheIntermediate()
{
    QVERIFY(m_leaf.namesIssuer(m_intermediate));
    QVERIFY(m_leaf.verifySignatureWith(m_intermediate));
    QVERIFY(m_leaf.isIssuedBy(m_intermediate));
    QVERIFY(m_intermediate.isIssuedBy(m_root));
    QVERIFY(m_root.isIssuedBy(m_root));
    // Asked twice (the answer is remembered): the same.
    QVERIFY(m_leaf.isIssuedBy(m_intermediate));

    QVERIFY(!m_leaf.namesIssuer(m_root));
    QVERIFY(!m_leaf.verifySignatureWith(m_root));
    QVERIFY(!m_leaf.isIssuedBy(m_root));
    QVERIFY(!m_intermediate.isIssuedBy(m_leaf));
    QVERIFY(!m_leaf.verifySignatureWith(m_leaf));
    QVERIFY(!m_leaf.verifySignatureWith(m_leaf)); // remembered as false, too
}

void TestCertificate::rekeyedIssuerWithTheSameName()
{
    // Same name as the intermediate, another key: a re-keyed CA.
    const Certificate rekeyed = certOf(m_pki->rekeyedIntermediate());
    QCOMPARE(rekeyed.subjectNameDer(), m_intermediate.subjectNameDer());
    QVERIFY(rekeyed.subjectKeyId() != m_intermediate.subjectKeyId());

    // The leaf's authorityKeyIdentifier tells them apart by name alone.
    QVERIFY(!m_leaf.namesIssuer(rekeyed));
    QVERIFY(!m_leaf.isIssuedBy(rekeyed));

    // Without key identifiers the name matches, and only the signature tells.
    const Certificate noAki = certOf(m_pki->issueLeaf([](CertSpec& s) { s.authorityKeyId = false; }));
    QVERIFY(noAki.namesIssuer(rekeyed));
    QVERIFY(!noAki.verifySignatureWith(rekeyed));
    QVERIFY(!noAki.isIssuedBy(rekeyed));
    QVERIFY(noAki.isIssuedBy(m_intermediate));
}

void TestCertificate::unreadableTimes_data()
{
    QTest::addColumn<bool>("patchNotBefore");
    QTest::addColumn<bool>("patchNotAfter");
    QTest::addColumn<QString>("named");
    QTest::newRow("notBefore month 13") << true << false << QStringLiteral("notBefore is not a valid time");
    QTest::newRow("notAfter month 13") << false << true << QStringLiteral("notAfter is not a valid time");
    QTest::newRow("both month 13") << true << true
                                   << QStringLiteral("notBefore and notAfter are not a valid time");
}

void TestCertificate::unreadableTimes()
{
    QFETCH(bool, patchNotBefore);
    QFETCH(bool, patchNotAfter);
    QFETCH(QString, named);
    QVERIFY(unreadableValidityText(m_leaf).isEmpty());

    const CertSpec spec = m_pki->leafSpec();
    QByteArray der = m_pki->leaf.certDer();
    if (patchNotBefore)
        der = withMonth13(der, spec.notBefore);
    if (patchNotAfter)
        der = withMonth13(der, spec.notAfter);
    QVERIFY(!der.isEmpty());
    // It still parses: the object is kept and its problem named.
    const Certificate cert = Certificate::fromDer(der, SourceLocation{QStringLiteral("month13.pem"), 0, 1});
    QVERIFY(!cert.isNull());
    QCOMPARE(cert.notBefore().isValid(), !patchNotBefore);
    QCOMPARE(cert.notAfter().isValid(), !patchNotAfter);
    if (!patchNotBefore)
        QCOMPARE(cert.notBefore(), spec.notBefore);
    if (!patchNotAfter)
        QCOMPARE(cert.notAfter(), spec.notAfter);
    const QString text = unreadableValidityText(cert);
    QVERIFY2(text.contains(named), qPrintable(text));
    QCOMPARE(staplescope::formatTime(cert.notAfter()),
             patchNotAfter ? QStringLiteral("(none)") : staplescope::formatTime(spec.notAfter));
}

void TestCertificate::formatDuration_data()
{
    QTest::addColumn<qint64>("seconds");
    QTest::addColumn<QString>("text");
    QTest::newRow("zero") << qint64(0) << QStringLiteral("0 seconds");
    QTest::newRow("one second") << qint64(1) << QStringLiteral("1 second");
    QTest::newRow("59 seconds") << qint64(59) << QStringLiteral("59 seconds");
    QTest::newRow("one minute") << qint64(60) << QStringLiteral("1 minute");
    QTest::newRow("90 seconds") << qint64(90) << QStringLiteral("1 minute 30 seconds");
    QTest::newRow("45 minutes") << qint64(45 * 60) << QStringLiteral("45 minutes");
    QTest::newRow("two units at most")
        << qint64(2 * 86400 + 3 * 3600 + 59 * 60 + 59) << QStringLiteral("2 days 3 hours");
    QTest::newRow("adjacent units only") << qint64(86400 + 30) << QStringLiteral("1 day");
    QTest::newRow("the last second before a day") << qint64(86399) << QStringLiteral("23 hours 59 minutes");
    QTest::newRow("one year twenty days") << qint64(385 * 86400) << QStringLiteral("1 year 20 days");
    QTest::newRow("negative: the magnitude") << qint64(-3 * 3600) << QStringLiteral("3 hours");
}

void TestCertificate::formatDuration()
{
    QFETCH(qint64, seconds);
    QFETCH(QString, text);
    QCOMPARE(staplescope::formatDuration(seconds), text);
}

void TestCertificate::formatTime_data()
{
    QTest::addColumn<QDateTime>("time");
    QTest::addColumn<QString>("text");
    QTest::newRow("UTC") << QDateTime(QDate(2026, 11, 24), QTime(8, 0, 0), Qt::UTC)
                         << QStringLiteral("2026-11-24 08:00:00 UTC");
    QTest::newRow("an offset is converted to UTC")
        << QDateTime(QDate(2026, 11, 24), QTime(10, 30, 5), QTimeZone(2 * 3600))
        << QStringLiteral("2026-11-24 08:30:05 UTC");
    QTest::newRow("across midnight") << QDateTime(QDate(2027, 1, 1), QTime(0, 30, 0), QTimeZone(3600))
                                     << QStringLiteral("2026-12-31 23:30:00 UTC");
    QTest::newRow("invalid") << QDateTime() << QStringLiteral("(none)");
}

void TestCertificate::formatTime()
{
    QFETCH(QDateTime, time);
    QFETCH(QString, text);
    QCOMPARE(staplescope::formatTime(time), text);
}

void TestCertificate::hexColon_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("text");
    QTest::newRow("empty") << QByteArray() << QString();
    QTest::newRow("one byte") << QByteArray::fromHex("0a") << QStringLiteral("0A");
    QTest::newRow("uppercase, colons") << QByteArray::fromHex("0a1bff00") << QStringLiteral("0A:1B:FF:00");
}

void TestCertificate::hexColon()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, text);
    QCOMPARE(staplescope::hexColon(bytes), text);
}

void TestCertificate::signedSerialHelpers()
{
    const QByteArray magnitude = QByteArray::fromHex("1111");
    QCOMPARE(signedSerialHex(magnitude, false), QStringLiteral("11:11"));
    QCOMPARE(signedSerialHex(magnitude, true), QStringLiteral("-11:11"));
    QCOMPARE(signedSerialKey(magnitude, false), QByteArrayLiteral("+\x11\x11"));
    QCOMPARE(signedSerialKey(magnitude, true), QByteArrayLiteral("-\x11\x11"));
}

QTEST_GUILESS_MAIN(TestCertificate)
#include "tst_certificate.moc"
