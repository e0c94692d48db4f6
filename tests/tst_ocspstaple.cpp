// OcspStaple on its own, without files: parsing, CertID matching, the responder and its signature,
// checked against what the test PKI was asked to make and against hashes computed here.

#include "OcspStaple.h"
#include "TestPki.h"

#include <QCryptographicHash>
#include <QTest>

#include <memory>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(staplescope::OcspCertStatus)

namespace {

Certificate certOf(const IssuedCert& issued, const QString& path = QStringLiteral("test.pem"))
{
    return Certificate::fromDer(issued.certDer(), SourceLocation{path, 0, 1});
}

OcspStaple parse(const QByteArray& der, OcspStaple::Encoding encoding = OcspStaple::Encoding::Der)
{
    const OcspStaple::ParseResult result =
        OcspStaple::fromDer(der, SourceLocation{QStringLiteral("site.ocsp"), 0, 1}, encoding);
    if (!result.error.isEmpty())
        qWarning("parse failed: %s", qPrintable(result.error));
    return result.staple;
}

} // namespace

class TestOcspStaple : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void parseGood();
    void certStatus_data();
    void certStatus();
    void noNextUpdate();
    void certIdMatching();
    void certIdWithoutMatchingIssuer();
    void negativeSerials_data();
    void negativeSerials();
    void sha256CertId();
    void responderByName();
    void responderByKey();
    void responderByNameWithAnotherKey();
    void delegatedResponder();
    void verifySignature();
    void corruptSignature();
    void unsuccessfulStatuses_data();
    void unsuccessfulStatuses();
    void undefinedStatusIsRefused();
    void notAnOcspResponse_data();
    void notAnOcspResponse();
    void embeddedCertificates();
    void severalSingleResponses();
    void withSourceKeepsTheResponse();

private:
    std::unique_ptr<TestPki> m_pki;
    Certificate m_root, m_intermediate, m_leaf, m_responder;
};

void TestOcspStaple::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    m_root = certOf(m_pki->root);
    m_intermediate = certOf(m_pki->intermediate);
    m_leaf = certOf(m_pki->leaf);
    m_responder = certOf(m_pki->responder);
    QVERIFY(!m_root.isNull() && !m_intermediate.isNull() && !m_leaf.isNull() && !m_responder.isNull());
}

void TestOcspStaple::parseGood()
{
    const OcspSpec spec = m_pki->goodStapleSpec();
    const QByteArray der = m_pki->goodStaple();
    const OcspStaple staple = parse(der, OcspStaple::Encoding::Pem);
    QVERIFY(!staple.isNull());
    QVERIFY(staple.isSuccessful());
    QCOMPARE(staple.responseStatus(), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    QCOMPARE(staple.responseStatusName(), QStringLiteral("successful"));
    QVERIFY(staple.basic0() != nullptr);
    QCOMPARE(staple.der(), der);
    QCOMPARE(staple.encoding(), OcspStaple::Encoding::Pem); // as the caller said the file held it
    QCOMPARE(
        staple.id(),
        QStringLiteral("staple:") +
            QString::fromLatin1(QCryptographicHash::hash(der, QCryptographicHash::Sha256).toHex().left(16)));
    QCOMPARE(staple.producedAt(), spec.thisUpdate); // the factory's default producedAt
    QCOMPARE(staple.signatureAlgorithm(), QStringLiteral("ecdsa-with-SHA256"));

    const QList<OcspSingleResponse> responses = staple.responses();
    QCOMPARE(responses.size(), 1);
    const OcspSingleResponse& single = responses.first();
    QCOMPARE(single.status, OcspCertStatus::Good);
    QCOMPARE(single.thisUpdate, spec.thisUpdate);
    QCOMPARE(single.nextUpdate, *spec.nextUpdate);
    QVERIFY(!single.revocationTime.isValid());
    QCOMPARE(single.revocationReason, -1);
    QCOMPARE(single.certId.hashAlgorithm, QStringLiteral("SHA-1"));
    QCOMPARE(single.certId.hashNid, NID_sha1);
    QCOMPARE(single.certId.serial, m_leaf.serial());
    QCOMPARE(single.certId.serialNegative, false);
    QCOMPARE(single.certId.serialHex(), m_leaf.serialHex());
    // RFC 6960 4.1.1: the hashes of the issuer's DN and of its key's BIT STRING, computed here.
    QCOMPARE(single.certId.issuerNameHash,
             QCryptographicHash::hash(m_intermediate.subjectNameDer(), QCryptographicHash::Sha1));
    QCOMPARE(single.certId.issuerKeyHash,
             QCryptographicHash::hash(m_intermediate.publicKeyBitString(), QCryptographicHash::Sha1));

    QVERIFY(staple.textDump().contains(QStringLiteral("Cert Status: good")));
}

void TestOcspStaple::certStatus_data()
{
    QTest::addColumn<int>("certStatus");
    QTest::addColumn<int>("reason");
    QTest::addColumn<OcspCertStatus>("expected");
    QTest::addColumn<QString>("statusName");
    QTest::addColumn<QString>("reasonName");
    QTest::newRow("good") << V_OCSP_CERTSTATUS_GOOD << -1 << OcspCertStatus::Good << QStringLiteral("good")
                          << QString();
    QTest::newRow("revoked, keyCompromise")
        << V_OCSP_CERTSTATUS_REVOKED << OCSP_REVOKED_STATUS_KEYCOMPROMISE << OcspCertStatus::Revoked
        << QStringLiteral("revoked") << QStringLiteral("keyCompromise");
    QTest::newRow("revoked, superseded")
        << V_OCSP_CERTSTATUS_REVOKED << OCSP_REVOKED_STATUS_SUPERSEDED << OcspCertStatus::Revoked
        << QStringLiteral("revoked") << QStringLiteral("superseded");
    QTest::newRow("revoked, no reason") << V_OCSP_CERTSTATUS_REVOKED << -1 << OcspCertStatus::Revoked
                                        << QStringLiteral("revoked") << QString();
    QTest::newRow("unknown") << V_OCSP_CERTSTATUS_UNKNOWN << -1 << OcspCertStatus::Unknown
                             << QStringLiteral("unknown") << QString();
}

void TestOcspStaple::certStatus()
{
    QFETCH(int, certStatus);
    QFETCH(int, reason);
    QFETCH(OcspCertStatus, expected);
    QFETCH(QString, statusName);
    QFETCH(QString, reasonName);
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.certStatus = certStatus;
    spec.revocationReason = reason;
    spec.revocationTime = daysFrom(fixedNow(), -3);
    const OcspStaple staple = parse(m_pki->staple(spec));
    QVERIFY(staple.isSuccessful());
    QCOMPARE(staple.responses().size(), 1);
    const OcspSingleResponse single = staple.responses().first();
    QCOMPARE(single.status, expected);
    QCOMPARE(ocspStatusName(single.status), statusName);
    if (expected == OcspCertStatus::Revoked) {
        QCOMPARE(single.revocationTime, spec.revocationTime);
    } else {
        QVERIFY(!single.revocationTime.isValid());
    }
    QCOMPARE(single.revocationReason, reason);
    QCOMPARE(single.revocationReasonName, reasonName);
    QCOMPARE(single.thisUpdate, spec.thisUpdate);
    QVERIFY(staple.textDump().contains(QStringLiteral("Cert Status: %1").arg(statusName)));
}

void TestOcspStaple::noNextUpdate()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.nextUpdate.reset();
    const OcspStaple staple = parse(m_pki->staple(spec));
    QVERIFY(staple.isSuccessful());
    QVERIFY(!staple.responses().first().nextUpdate.isValid());
    QCOMPARE(staple.responses().first().thisUpdate, spec.thisUpdate);
}

void TestOcspStaple::certIdMatching()
{
    const OcspCertId id = parse(m_pki->goodStaple()).responses().first().certId;
    QVERIFY(id.serialMatches(m_leaf));
    QVERIFY(id.issuerNameMatches(m_leaf));
    QVERIFY(id.issuerKeyMatches(m_intermediate));
    QVERIFY(id.matches(m_leaf, m_intermediate));

    // Another leaf of the same issuer: names and key match, the serial does not.
    const Certificate sibling = certOf(m_pki->issueLeaf({}));
    QVERIFY(!id.serialMatches(sibling));
    QVERIFY(id.issuerNameMatches(sibling));
    QVERIFY(!id.matches(sibling, m_intermediate));

    // The right leaf with the wrong issuer certificate: the key hash tells.
    QVERIFY(!id.issuerKeyMatches(m_root));
    QVERIFY(!id.matches(m_leaf, m_root));
    // The intermediate's own issuer name is the root's: not what this CertID names.
    QVERIFY(!id.issuerNameMatches(m_intermediate));

    QVERIFY(!id.serialMatches(Certificate()));
    QVERIFY(!id.issuerNameMatches(Certificate()));
    QVERIFY(!id.issuerKeyMatches(Certificate()));
}

void TestOcspStaple::certIdWithoutMatchingIssuer()
{
    // The same serial from another CA: the serial matches, the issuer hashes do not.
    const IssuedCert otherCa = m_pki->otherCa();
    const IssuedCert twin = m_pki->issueLeaf([&](CertSpec& s) { s.serial = m_leaf.serial(); }, &otherCa);
    const Certificate twinCert = certOf(twin);
    QCOMPARE(twinCert.serial(), m_leaf.serial());
    const OcspCertId id = parse(m_pki->goodStaple()).responses().first().certId;
    QVERIFY(id.serialMatches(twinCert));
    QVERIFY(!id.issuerNameMatches(twinCert));
    QVERIFY(!id.issuerKeyMatches(certOf(otherCa)));
    QVERIFY(!id.matches(twinCert, certOf(otherCa)));
}

void TestOcspStaple::negativeSerials_data()
{
    QTest::addColumn<bool>("stapleNegative");
    QTest::addColumn<bool>("certNegative");
    QTest::addColumn<bool>("matches");
    QTest::newRow("-0x1111 staple, -0x1111 certificate") << true << true << true;
    QTest::newRow("-0x1111 staple, +0x1111 certificate") << true << false << false;
    QTest::newRow("+0x1111 staple, -0x1111 certificate") << false << true << false;
    QTest::newRow("+0x1111 staple, +0x1111 certificate") << false << false << true;
}

void TestOcspStaple::negativeSerials()
{
    QFETCH(bool, stapleNegative);
    QFETCH(bool, certNegative);
    QFETCH(bool, matches);
    const auto leafWith = [&](bool negative) {
        return m_pki->issueLeaf([&](CertSpec& s) {
            s.serial = QByteArray::fromHex("1111");
            s.negativeSerial = negative;
        });
    };
    const IssuedCert stapled = leafWith(stapleNegative);
    const Certificate cert = certOf(leafWith(certNegative));
    const OcspStaple staple = parse(m_pki->staple(m_pki->goodStapleSpec(), &stapled));
    QVERIFY(staple.isSuccessful());
    const OcspCertId id = staple.responses().first().certId;
    QCOMPARE(id.serial, QByteArray::fromHex("1111"));
    QCOMPARE(id.serialNegative, stapleNegative);
    QCOMPARE(id.serialHex(), stapleNegative ? QStringLiteral("-11:11") : QStringLiteral("11:11"));
    QCOMPARE(id.serialMatches(cert), matches);
    QCOMPARE(id.matches(cert, m_intermediate), matches);
}

void TestOcspStaple::sha256CertId()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.certIdHash = EVP_sha256();
    const OcspStaple staple = parse(m_pki->staple(spec));
    QVERIFY(staple.isSuccessful());
    const OcspCertId id = staple.responses().first().certId;
    QCOMPARE(id.hashAlgorithm, QStringLiteral("SHA-256"));
    QCOMPARE(id.hashNid, NID_sha256);
    QCOMPARE(id.issuerNameHash,
             QCryptographicHash::hash(m_intermediate.subjectNameDer(), QCryptographicHash::Sha256));
    QCOMPARE(id.issuerKeyHash,
             QCryptographicHash::hash(m_intermediate.publicKeyBitString(), QCryptographicHash::Sha256));
    // Matching hashes with the CertID's own algorithm, not SHA-1.
    QVERIFY(id.matches(m_leaf, m_intermediate));
    QVERIFY(!id.issuerKeyMatches(m_root));
    QVERIFY(!id.matches(certOf(m_pki->issueLeaf({})), m_intermediate));
}

void TestOcspStaple::responderByName()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.responderId = OcspResponderIdKind::ByName;
    const OcspStaple staple = parse(m_pki->staple(spec));
    QCOMPARE(staple.responderName(), QStringLiteral("CN=Staplescope Test Intermediate, O=Staplescope Test"));
    QVERIFY(staple.responderKeyHash().isEmpty());
    QCOMPARE(staple.responderId(),
             QStringLiteral("byName: CN=Staplescope Test Intermediate, O=Staplescope Test"));
    QVERIFY(staple.isResponder(m_intermediate));
    QVERIFY(!staple.isResponder(m_root));
    QVERIFY(!staple.isResponder(m_responder));
    QVERIFY(!staple.isResponder(Certificate()));
    QVERIFY(staple.verifySignature(m_intermediate));
}

void TestOcspStaple::responderByKey()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.responderId = OcspResponderIdKind::ByKey;
    const OcspStaple staple = parse(m_pki->staple(spec));
    // RFC 6960: SHA-1 of the key's BIT STRING contents, whatever the CertID's hash.
    const QByteArray keyHash =
        QCryptographicHash::hash(m_intermediate.publicKeyBitString(), QCryptographicHash::Sha1);
    QCOMPARE(staple.responderKeyHash(), keyHash);
    QVERIFY(staple.responderName().isEmpty());
    QCOMPARE(staple.responderId(), QStringLiteral("byKey: ") + hexColon(keyHash));
    QVERIFY(staple.isResponder(m_intermediate));
    QVERIFY(!staple.isResponder(m_root));
    QVERIFY(!staple.isResponder(m_leaf));
    QVERIFY(staple.verifySignature(m_intermediate));
}

void TestOcspStaple::responderByNameWithAnotherKey()
{
    // A CA re-keyed under the same name: by name it is the responder, its key does not verify.
    const Certificate rekeyed = certOf(m_pki->rekeyedIntermediate());

    OcspSpec byName = m_pki->goodStapleSpec();
    byName.responderId = OcspResponderIdKind::ByName;
    const OcspStaple named = parse(m_pki->staple(byName));
    QVERIFY(named.isResponder(rekeyed));
    QVERIFY(!named.verifySignature(rekeyed));
    QVERIFY(named.verifySignature(m_intermediate));

    // By key, the re-keyed CA is not even the responder.
    const OcspStaple keyed = parse(m_pki->goodStaple());
    QVERIFY(!keyed.isResponder(rekeyed));
    QVERIFY(!keyed.verifySignature(rekeyed));
}

void TestOcspStaple::delegatedResponder()
{
    const OcspStaple staple =
        parse(m_pki->staple(m_pki->goodStapleSpec(), nullptr, nullptr, &m_pki->responder));
    QVERIFY(staple.isSuccessful());
    QVERIFY(staple.isResponder(m_responder));
    QVERIFY(!staple.isResponder(m_intermediate));
    QVERIFY(staple.verifySignature(m_responder));
    QVERIFY(!staple.verifySignature(m_intermediate));
    // The CertID still names the leaf's issuer, not the responder.
    QVERIFY(staple.responses().first().certId.matches(m_leaf, m_intermediate));
}

void TestOcspStaple::verifySignature()
{
    const OcspStaple staple = parse(m_pki->goodStaple());
    QVERIFY(staple.verifySignature(m_intermediate));
    QVERIFY(staple.verifySignature(m_intermediate)); // remembered: the same answer
    QVERIFY(!staple.verifySignature(m_root));
    QVERIFY(!staple.verifySignature(m_leaf));
    QVERIFY(!staple.verifySignature(m_responder));
    QVERIFY(!staple.verifySignature(Certificate()));
    QVERIFY(!OcspStaple().verifySignature(m_intermediate));
}

void TestOcspStaple::corruptSignature()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.corruptSignature = true;
    const OcspStaple staple = parse(m_pki->staple(spec));
    QVERIFY(staple.isSuccessful()); // it parses, and names its responder …
    QVERIFY(staple.isResponder(m_intermediate));
    QVERIFY(!staple.verifySignature(m_intermediate)); // … whose key does not verify it
    QVERIFY(staple.responses().first().certId.matches(m_leaf, m_intermediate));
}

void TestOcspStaple::unsuccessfulStatuses_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("name");
    QTest::newRow("malformedRequest")
        << OCSP_RESPONSE_STATUS_MALFORMEDREQUEST << QStringLiteral("malformedRequest");
    QTest::newRow("internalError") << OCSP_RESPONSE_STATUS_INTERNALERROR << QStringLiteral("internalError");
    QTest::newRow("tryLater") << OCSP_RESPONSE_STATUS_TRYLATER << QStringLiteral("tryLater");
    QTest::newRow("sigRequired") << OCSP_RESPONSE_STATUS_SIGREQUIRED << QStringLiteral("sigRequired");
    QTest::newRow("unauthorized") << OCSP_RESPONSE_STATUS_UNAUTHORIZED << QStringLiteral("unauthorized");
}

void TestOcspStaple::unsuccessfulStatuses()
{
    QFETCH(int, status);
    QFETCH(QString, name);
    OcspSpec spec;
    spec.responseStatus = status;
    const QByteArray der = m_pki->staple(spec);
    QVERIFY(!der.isEmpty());
    const OcspStaple::ParseResult result =
        OcspStaple::fromDer(der, SourceLocation{QStringLiteral("x.ocsp"), 0, 1});
    // A defined status: a real answer from a responder, kept so the analysis can name it.
    QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
    const OcspStaple& staple = result.staple;
    QVERIFY(!staple.isNull());
    QVERIFY(!staple.isSuccessful());
    QCOMPARE(staple.responseStatus(), status);
    QCOMPARE(staple.responseStatusName(), name);
    QVERIFY(staple.basic0() == nullptr);
    QVERIFY(staple.responses().isEmpty());
    QVERIFY(staple.embeddedCertificates().isEmpty());
    QVERIFY(!staple.producedAt().isValid());
    // No body, so no responder: asking must neither crash nor say yes.
    QVERIFY(!staple.isResponder(m_intermediate));
    QVERIFY(!staple.verifySignature(m_intermediate));
}

void TestOcspStaple::undefinedStatusIsRefused()
{
    OcspSpec spec;
    spec.responseStatus = 4; // RFC 6960 leaves 4 unused
    const QByteArray der = m_pki->staple(spec);
    QVERIFY(!der.isEmpty());
    const OcspStaple::ParseResult result =
        OcspStaple::fromDer(der, SourceLocation{QStringLiteral("x.ocsp"), 0, 1});
    QVERIFY(result.staple.isNull());
    QVERIFY2(result.error.contains(QStringLiteral("RFC 6960 does not define")), qPrintable(result.error));
}

void TestOcspStaple::notAnOcspResponse_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("error");
    QTest::newRow("empty") << QByteArray() << QStringLiteral("not a valid OCSP response");
    QTest::newRow("text") << QByteArrayLiteral("hello") << QStringLiteral("not a valid OCSP response");
    QTest::newRow("a certificate") << m_pki->leaf.certDer() << QStringLiteral("not a valid OCSP response");
    QTest::newRow("an OCSP request") << PkiFactory::ocspRequestDer(m_pki->leaf, m_pki->intermediate)
                                     << QStringLiteral("not a valid OCSP response");
    QTest::newRow("trailing data") << m_pki->goodStaple() + QByteArrayLiteral("xyz")
                                   << QStringLiteral("3 bytes of trailing data");
    const QByteArray good = m_pki->goodStaple();
    QTest::newRow("cut short") << good.left(good.size() - 10) << QStringLiteral("not a valid OCSP response");
}

void TestOcspStaple::notAnOcspResponse()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, error);
    const OcspStaple::ParseResult result =
        OcspStaple::fromDer(bytes, SourceLocation{QStringLiteral("x.ocsp"), 0, 1});
    QVERIFY(result.staple.isNull());
    QVERIFY2(result.error.contains(error), qPrintable(result.error));
    QVERIFY(result.staple.id().isEmpty());
    QCOMPARE(result.staple.responseStatus(), -1);
}

void TestOcspStaple::embeddedCertificates()
{
    // Delegated: the responder's certificate travels in the response, marked as embedded.
    const OcspStaple delegated =
        parse(m_pki->staple(m_pki->goodStapleSpec(), nullptr, nullptr, &m_pki->responder));
    QCOMPARE(delegated.embeddedCertificates().size(), 1);
    const Certificate embedded = delegated.embeddedCertificates().first();
    QVERIFY(embedded == m_responder);
    QCOMPARE(embedded.source().path, QStringLiteral("site.ocsp (embedded signer certificate)"));
    QVERIFY(delegated.verifySignature(embedded));

    // Signed by the issuer itself, with its certificate included.
    const OcspStaple direct = parse(m_pki->goodStaple());
    QCOMPARE(direct.embeddedCertificates().size(), 1);
    QVERIFY(direct.embeddedCertificates().first() == m_intermediate);

    // OCSP_NOCERTS: nothing embedded; the signer has to be found elsewhere.
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.includeSignerCert = false;
    const OcspStaple bare = parse(m_pki->staple(spec, nullptr, nullptr, &m_pki->responder));
    QVERIFY(bare.isSuccessful());
    QVERIFY(bare.embeddedCertificates().isEmpty());
    QVERIFY(bare.verifySignature(m_responder));
}

void TestOcspStaple::severalSingleResponses()
{
    const IssuedCert other =
        m_pki->issueLeaf([](CertSpec& s) { s.commonName = QStringLiteral("mail.example.test"); });
    const QByteArray der =
        m_pki->factory().ocspResponse(m_pki->leaf, m_pki->intermediate, m_pki->intermediate,
                                      m_pki->goodStapleSpec(), {{&other, &m_pki->intermediate}});
    const OcspStaple staple = parse(der);
    const QList<OcspSingleResponse> responses = staple.responses();
    QCOMPARE(responses.size(), 2);
    QVERIFY(responses[0].certId.matches(m_leaf, m_intermediate));
    QVERIFY(responses[1].certId.matches(certOf(other), m_intermediate));
    QVERIFY(!responses[1].certId.serialMatches(m_leaf));
}

void TestOcspStaple::withSourceKeepsTheResponse()
{
    const OcspStaple staple = parse(m_pki->goodStaple());
    const OcspStaple served =
        staple.withSource(SourceLocation{QStringLiteral("www.example.test:443 [127.0.0.1]"), 0, 1, true});
    QCOMPARE(served.id(), staple.id());
    QCOMPARE(served.der(), staple.der());
    QVERIFY(served.source().served);
    QCOMPARE(staple.source().path, QStringLiteral("site.ocsp"));
    QVERIFY(!staple.source().served);
}

QTEST_GUILESS_MAIN(TestOcspStaple)
#include "tst_ocspstaple.moc"
