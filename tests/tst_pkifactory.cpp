// PkiFactory is checked with OpenSSL itself (and once with the `openssl` command), never with the
// factory's own accessors: a bug that writes and reads a field the same wrong way must still fail.

#include "PkiFactory.h"
#include "TestClock.h"

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(KeyType)

namespace {

QDateTime toUtc(const ASN1_TIME* time)
{
    struct tm parts = {};
    if (!time || ASN1_TIME_to_tm(time, &parts) != 1)
        return {};
    return QDateTime(QDate(parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday),
                     QTime(parts.tm_hour, parts.tm_min, parts.tm_sec), Qt::UTC);
}

QByteArray bytesOf(const ASN1_STRING* s)
{
    return s ? QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s))
             : QByteArray();
}

QByteArray serialBytes(const X509* cert)
{
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    QByteArray out(BN_num_bytes(bn.get()), Qt::Uninitialized);
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

QStringList uris(const GENERAL_NAMES* names, int type)
{
    QStringList out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        int nameType = -1;
        const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &nameType));
        if (nameType == type)
            out << QString::fromLatin1(bytesOf(value));
    }
    return out;
}

X509Ptr parseCert(const QByteArray& der)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    return X509Ptr(d2i_X509(nullptr, &p, long(der.size())));
}

OcspResponsePtr parseResponse(const QByteArray& der)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    return OcspResponsePtr(d2i_OCSP_RESPONSE(nullptr, &p, long(der.size())));
}

// OCSP_BASICRESP_verify is not exported by OpenSSL 3.0, so check the signature the way a relying
// party would: over the DER of tbsResponseData, with the algorithm the response names.
bool ocspSignedBy(OCSP_BASICRESP* basic, EVP_PKEY* key)
{
    const int length = i2d_OCSP_BASICRESP(basic, nullptr);
    QByteArray der(length, Qt::Uninitialized);
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_OCSP_BASICRESP(basic, &out);

    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    long contentLength = 0;
    int tag = 0, xclass = 0;
    if (ASN1_get_object(&p, &contentLength, &tag, &xclass, long(der.size())) & 0x80)
        return false; // BasicOCSPResponse SEQUENCE header
    const unsigned char* tbsStart = p;
    if (ASN1_get_object(&p, &contentLength, &tag, &xclass, contentLength) & 0x80)
        return false; // tbsResponseData header
    const size_t tbsLength = size_t(p - tbsStart) + size_t(contentLength);

    const ASN1_OBJECT* algorithm = nullptr;
    X509_ALGOR_get0(&algorithm, nullptr, nullptr, OCSP_resp_get0_tbs_sigalg(basic));
    int digestNid = NID_undef, keyNid = NID_undef;
    if (!OBJ_find_sigid_algs(OBJ_obj2nid(algorithm), &digestNid, &keyNid))
        return false;
    const EVP_MD* digest = digestNid == NID_undef ? nullptr : EVP_get_digestbynid(digestNid);

    const ASN1_OCTET_STRING* signature = OCSP_resp_get0_signature(basic);
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    const bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, key) == 1
                    && EVP_DigestVerify(ctx.get(), ASN1_STRING_get0_data(signature),
                                        size_t(ASN1_STRING_length(signature)), tbsStart, tbsLength)
                           == 1;
    ERR_clear_error();
    return ok;
}

QByteArray runOpenssl(const QStringList& arguments, int* exitCode)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStandardPaths::findExecutable(QStringLiteral("openssl")), arguments);
    if (!process.waitForFinished(30000))
        return {};
    *exitCode = process.exitCode();
    return process.readAll();
}

bool writeFile(const QString& path, const QByteArray& data)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(data) == data.size();
}

} // namespace

class TestPkiFactory : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void rootIsSelfSignedCa();
    void intermediateIsCaSignedByRoot();
    void leafHasRequestedFields_data();
    void leafHasRequestedFields();
    void randomSerialsArePositiveAndDistinct();
    void responderHasOcspSigningAndNoCheck();
    void reuseKeyKeepsThePublicKey();

    void ocspResponse_data();
    void ocspResponse();
    void ocspCorruptSignatureDoesNotVerify();
    void opensslCliReadsOcspResponse();

private:
    PkiFactory m_factory;
    IssuedCert m_root;
    IssuedCert m_intermediate;
    IssuedCert m_leaf;
    IssuedCert m_responder;
};

void TestPkiFactory::initTestCase()
{
    const QDateTime now = fixedNow();

    CertSpec root;
    root.commonName = QStringLiteral("Staplescope Test Root");
    root.isCa = true;
    root.pathLength = 1;
    root.notBefore = daysFrom(now, -365);
    root.notAfter = daysFrom(now, 3650);
    root.serial = QByteArray::fromHex("01");
    m_root = m_factory.issue(root);
    QVERIFY(m_root.cert && m_root.key);

    CertSpec inter;
    inter.commonName = QStringLiteral("Staplescope Test Intermediate");
    inter.isCa = true;
    inter.pathLength = 0;
    inter.notBefore = daysFrom(now, -200);
    inter.notAfter = daysFrom(now, 1000);
    inter.serial = QByteArray::fromHex("02");
    inter.crlUrls = {QStringLiteral("http://crl.example.test/root.crl")};
    inter.caIssuerUrls = {QStringLiteral("http://ca.example.test/root.der")};
    m_intermediate = m_factory.issue(inter, &m_root);
    QVERIFY(m_intermediate.cert && m_intermediate.key);

    CertSpec leaf;
    leaf.dnsNames = {QStringLiteral("www.example.test"), QStringLiteral("api.example.test")};
    leaf.notBefore = daysFrom(now, -10);
    leaf.notAfter = daysFrom(now, 80);
    leaf.serial = QByteArray::fromHex("0a0b0c");
    leaf.mustStaple = true;
    leaf.ocspUrls = {QStringLiteral("http://ocsp.example.test")};
    m_leaf = m_factory.issue(leaf, &m_intermediate);
    QVERIFY(m_leaf.cert && m_leaf.key);

    CertSpec responder;
    responder.commonName = QStringLiteral("Staplescope Test OCSP Responder");
    responder.notBefore = daysFrom(now, -1);
    responder.notAfter = daysFrom(now, 30);
    responder.serverAuth = false;
    responder.ocspSigning = true;
    responder.ocspNoCheck = true;
    m_responder = m_factory.issue(responder, &m_intermediate);
    QVERIFY(m_responder.cert && m_responder.key);
}

void TestPkiFactory::rootIsSelfSignedCa()
{
    X509* root = m_root.x509();
    QCOMPARE(X509_NAME_cmp(X509_get_subject_name(root), X509_get_issuer_name(root)), 0);
    QCOMPARE(X509_verify(root, X509_get0_pubkey(root)), 1);
    QVERIFY(X509_check_ca(root) >= 1);
    QCOMPARE(X509_get_pathlen(root), 1L);
    QVERIFY(X509_get_key_usage(root) & KU_KEY_CERT_SIGN);
    QVERIFY(X509_get_key_usage(root) & KU_CRL_SIGN);
    QCOMPARE(X509_get_version(root), long(X509_VERSION_3));
    QCOMPARE(serialBytes(root), QByteArray::fromHex("01"));
    // Self-signed: AKI names its own key.
    QCOMPARE(bytesOf(X509_get0_authority_key_id(root)), bytesOf(X509_get0_subject_key_id(root)));
}

void TestPkiFactory::intermediateIsCaSignedByRoot()
{
    X509* inter = m_intermediate.x509();
    QCOMPARE(X509_verify(inter, m_root.key.get()), 1);
    QCOMPARE(X509_check_issued(m_root.x509(), inter), X509_V_OK);
    QVERIFY(X509_check_ca(inter) >= 1);
    QCOMPARE(X509_get_pathlen(inter), 0L);
    QCOMPARE(bytesOf(X509_get0_authority_key_id(inter)), bytesOf(X509_get0_subject_key_id(m_root.x509())));

    CrlDistPointsPtr points(static_cast<CRL_DIST_POINTS*>(
        X509_get_ext_d2i(inter, NID_crl_distribution_points, nullptr, nullptr)));
    QVERIFY(points);
    QCOMPARE(sk_DIST_POINT_num(points.get()), 1);
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), 0);
    QVERIFY(point->distpoint && point->distpoint->type == 0);
    QCOMPARE(uris(point->distpoint->name.fullname, GEN_URI),
             QStringList{QStringLiteral("http://crl.example.test/root.crl")});
}

void TestPkiFactory::leafHasRequestedFields_data()
{
    QTest::addColumn<KeyType>("keyType");
    QTest::addColumn<KeyType>("issuerKeyType");
    QTest::newRow("ec-leaf-ec-issuer") << KeyType::EcP256 << KeyType::EcP256;
    QTest::newRow("rsa-leaf-rsa-issuer") << KeyType::Rsa2048 << KeyType::Rsa2048;
    QTest::newRow("ed25519-leaf-ed25519-issuer") << KeyType::Ed25519 << KeyType::Ed25519;
    QTest::newRow("rsa-leaf-ec-issuer") << KeyType::Rsa2048 << KeyType::EcP256;
}

void TestPkiFactory::leafHasRequestedFields()
{
    QFETCH(KeyType, keyType);
    QFETCH(KeyType, issuerKeyType);
    const QDateTime now = fixedNow();

    CertSpec caSpec;
    caSpec.commonName = QStringLiteral("Row CA");
    caSpec.isCa = true;
    caSpec.notBefore = daysFrom(now, -30);
    caSpec.notAfter = daysFrom(now, 300);
    caSpec.keyType = issuerKeyType;
    const IssuedCert ca = m_factory.issue(caSpec);
    QVERIFY(ca.cert);

    CertSpec spec;
    spec.commonName = QStringLiteral("leaf.example.test");
    spec.dnsNames = {QStringLiteral("leaf.example.test"), QStringLiteral("*.leaf.example.test")};
    spec.notBefore = QDateTime(QDate(2026, 6, 1), QTime(0, 0, 0), Qt::UTC);
    spec.notAfter = QDateTime(QDate(2026, 8, 30), QTime(23, 59, 59), Qt::UTC);
    spec.serial = QByteArray::fromHex("7f00ff1234");
    spec.mustStaple = true;
    spec.ocspUrls = {QStringLiteral("http://ocsp.example.test/a")};
    spec.caIssuerUrls = {QStringLiteral("http://ca.example.test/ca.der")};
    spec.crlUrls = {QStringLiteral("http://crl.example.test/a.crl"), QStringLiteral("http://crl2.example.test/a.crl")};
    spec.keyType = keyType;
    const IssuedCert issued = m_factory.issue(spec, &ca);
    QVERIFY(issued.cert && issued.key);

    // Parse back from DER so we look at what was encoded, not at cached struct fields.
    X509Ptr leaf = parseCert(issued.certDer());
    QVERIFY(leaf);
    QCOMPARE(toUtc(X509_get0_notBefore(leaf.get())), spec.notBefore);
    QCOMPARE(toUtc(X509_get0_notAfter(leaf.get())), spec.notAfter);
    QCOMPARE(serialBytes(leaf.get()), *spec.serial);
    QCOMPARE(X509_verify(leaf.get(), ca.key.get()), 1);
    QCOMPARE(X509_check_issued(ca.x509(), leaf.get()), X509_V_OK);
    QCOMPARE(X509_check_private_key(leaf.get(), issued.key.get()), 1);
    QCOMPARE(X509_check_ca(leaf.get()), 0);
    QVERIFY(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER);
    QVERIFY(!(X509_get_extended_key_usage(leaf.get()) & XKU_OCSP_SIGN));
    QCOMPARE(bytesOf(X509_get0_authority_key_id(leaf.get())), bytesOf(X509_get0_subject_key_id(ca.x509())));

    const char* expectedKey = keyType == KeyType::EcP256 ? "EC" : keyType == KeyType::Rsa2048 ? "RSA" : "ED25519";
    QVERIFY(EVP_PKEY_is_a(X509_get0_pubkey(leaf.get()), expectedKey));

    GeneralNamesPtr sans(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, nullptr, nullptr)));
    QVERIFY(sans);
    QCOMPARE(uris(sans.get(), GEN_DNS), spec.dnsNames);

    // Must-staple: TLS Feature extension holding exactly SEQUENCE { INTEGER 5 }.
    const int featureIndex = X509_get_ext_by_NID(leaf.get(), NID_tlsfeature, -1);
    QVERIFY(featureIndex >= 0);
    X509_EXTENSION* feature = X509_get_ext(leaf.get(), featureIndex);
    QCOMPARE(bytesOf(X509_EXTENSION_get_data(feature)), QByteArray::fromHex("3003020105"));
}

void TestPkiFactory::randomSerialsArePositiveAndDistinct()
{
    CertSpec spec;
    spec.notBefore = daysFrom(fixedNow(), -1);
    spec.notAfter = daysFrom(fixedNow(), 1);
    const IssuedCert a = m_factory.issue(spec, &m_intermediate);
    const IssuedCert b = m_factory.issue(spec, &m_intermediate);
    QVERIFY(serialBytes(a.x509()) != serialBytes(b.x509()));
    QVERIFY(!BN_is_negative(BignumPtr(ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.x509()), nullptr)).get()));
}

void TestPkiFactory::responderHasOcspSigningAndNoCheck()
{
    QVERIFY(X509_get_extended_key_usage(m_responder.x509()) & XKU_OCSP_SIGN);
    QVERIFY(X509_get_ext_by_NID(m_responder.x509(), NID_id_pkix_OCSP_noCheck, -1) >= 0);
}

void TestPkiFactory::reuseKeyKeepsThePublicKey()
{
    CertSpec spec;
    spec.notBefore = daysFrom(fixedNow(), -1);
    spec.notAfter = daysFrom(fixedNow(), 1);
    spec.reuseKey = m_leaf.key;
    const IssuedCert renewed = m_factory.issue(spec, &m_intermediate);
    QCOMPARE(EVP_PKEY_eq(X509_get0_pubkey(renewed.x509()), X509_get0_pubkey(m_leaf.x509())), 1);
}

void TestPkiFactory::ocspResponse_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("sha256CertId");
    QTest::addColumn<bool>("delegated");
    QTest::addColumn<bool>("withNextUpdate");
    QTest::newRow("good-sha1-ca") << int(V_OCSP_CERTSTATUS_GOOD) << false << false << true;
    QTest::newRow("good-sha256-delegated") << int(V_OCSP_CERTSTATUS_GOOD) << true << true << true;
    QTest::newRow("revoked-sha1-delegated") << int(V_OCSP_CERTSTATUS_REVOKED) << false << true << true;
    QTest::newRow("unknown-no-next-update") << int(V_OCSP_CERTSTATUS_UNKNOWN) << true << false << false;
}

void TestPkiFactory::ocspResponse()
{
    QFETCH(int, status);
    QFETCH(bool, sha256CertId);
    QFETCH(bool, delegated);
    QFETCH(bool, withNextUpdate);
    const QDateTime now = fixedNow();

    OcspSpec spec;
    spec.certStatus = status;
    spec.producedAt = hoursFrom(now, -5);
    spec.thisUpdate = hoursFrom(now, -6);
    if (withNextUpdate)
        spec.nextUpdate = hoursFrom(now, 90);
    spec.revocationTime = daysFrom(now, -2);
    spec.revocationReason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    spec.certIdHash = sha256CertId ? EVP_sha256() : nullptr;
    const IssuedCert& signer = delegated ? m_responder : m_intermediate;
    const QByteArray der = m_factory.ocspResponse(m_leaf, m_intermediate, signer, spec);

    OcspResponsePtr response = parseResponse(der);
    QVERIFY(response);
    QCOMPARE(OCSP_response_status(response.get()), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
    QVERIFY(basic);
    QCOMPARE(toUtc(OCSP_resp_get0_produced_at(basic.get())), spec.producedAt);
    QVERIFY(ocspSignedBy(basic.get(), signer.key.get()));
    QCOMPARE(OCSP_resp_count(basic.get()), 1);

    OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), 0);
    int reason = -1;
    ASN1_GENERALIZEDTIME *revokedAt = nullptr, *thisUpdate = nullptr, *nextUpdate = nullptr;
    QCOMPARE(OCSP_single_get0_status(single, &reason, &revokedAt, &thisUpdate, &nextUpdate), status);
    QCOMPARE(toUtc(thisUpdate), spec.thisUpdate);
    QCOMPARE(nextUpdate != nullptr, withNextUpdate);
    if (withNextUpdate)
        QCOMPARE(toUtc(nextUpdate), *spec.nextUpdate);
    if (status == V_OCSP_CERTSTATUS_REVOKED) {
        QCOMPARE(toUtc(revokedAt), spec.revocationTime);
        QCOMPARE(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
    }

    // The CertID must equal the one OpenSSL computes with the same hash.
    OcspCertIdPtr expected(OCSP_cert_to_id(sha256CertId ? EVP_sha256() : EVP_sha1(), m_leaf.x509(),
                                           m_intermediate.x509()));
    QCOMPARE(OCSP_id_cmp(expected.get(), OCSP_SINGLERESP_get0_id(single)), 0);
}

void TestPkiFactory::ocspCorruptSignatureDoesNotVerify()
{
    OcspSpec spec;
    spec.thisUpdate = hoursFrom(fixedNow(), -1);
    spec.nextUpdate = hoursFrom(fixedNow(), 24);
    spec.corruptSignature = true;
    OcspResponsePtr response = parseResponse(m_factory.ocspResponse(m_leaf, m_intermediate, m_intermediate, spec));
    QVERIFY(response);
    OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
    QVERIFY(basic);
    QVERIFY(!ocspSignedBy(basic.get(), m_intermediate.key.get()));
}

// An independent reader: the openssl command must accept the response against our issuer.
void TestPkiFactory::opensslCliReadsOcspResponse()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    OcspSpec spec;
    spec.thisUpdate = hoursFrom(fixedNow(), -1);
    spec.nextUpdate = daysFrom(fixedNow(), 3);
    spec.certIdHash = EVP_sha256();
    QVERIFY(writeFile(dir.filePath(QStringLiteral("resp.der")),
                      m_factory.ocspResponse(m_leaf, m_intermediate, m_responder, spec)));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("issuer.pem")), m_intermediate.certPem()));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("root.pem")), m_root.certPem()));
    QVERIFY(writeFile(dir.filePath(QStringLiteral("chain.pem")), m_intermediate.certPem() + m_root.certPem()));
    int exitCode = -1;
    const QByteArray output = runOpenssl({QStringLiteral("ocsp"), QStringLiteral("-respin"),
                                          dir.filePath(QStringLiteral("resp.der")), QStringLiteral("-CAfile"),
                                          dir.filePath(QStringLiteral("chain.pem")), QStringLiteral("-resp_text"),
                                          QStringLiteral("-attime"), QString::number(fixedNow().toSecsSinceEpoch())},
                                         &exitCode);
    QVERIFY2(output.contains("Response verify OK"), output.constData());
    QVERIFY(output.contains("Hash Algorithm: sha256"));
    QCOMPARE(exitCode, 0);
}

QTEST_GUILESS_MAIN(TestPkiFactory)
#include "tst_pkifactory.moc"
