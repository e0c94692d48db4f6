// Hostile and damaged input never crashes the engine: every truncation and many bit flips of real
// certificates, staples, keys, PKCS#7 and PKCS#12 files go through load, bundle and analysis, and
// each damaged input yields either objects or an INPUT_* finding that explains it.

#include "Inspection.h"
#include "Loader.h"
#include "PkiFactory.h"
#include "TestClock.h"

#include <openssl/pkcs12.h>

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTest>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(QList<QByteArray>)

class TestRobustness : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void damagedInputIsExplained_data();
    void damagedInputIsExplained();
    void absentOptionalFieldsDoNotCrash_data();
    void absentOptionalFieldsDoNotCrash();
    void costlyKeyDerivationIsRefused_data();
    void costlyKeyDerivationIsRefused();

private:
    QList<QPair<QString, QByteArray>> m_samples;
};

void TestRobustness::initTestCase()
{
    const PkiFactory factory;
    const QDateTime now = fixedNow();
    CertSpec caSpec;
    caSpec.commonName = QStringLiteral("Robustness CA");
    caSpec.isCa = true;
    caSpec.notBefore = daysFrom(now, -10);
    caSpec.notAfter = daysFrom(now, 100);
    const IssuedCert ca = factory.issue(caSpec);
    CertSpec leafSpec;
    leafSpec.dnsNames = {QStringLiteral("www.example.test")};
    leafSpec.notBefore = daysFrom(now, -1);
    leafSpec.notAfter = daysFrom(now, 30);
    leafSpec.ocspUrls = {QStringLiteral("http://ocsp.example.test")};
    leafSpec.keyType = KeyType::Rsa2048;
    const IssuedCert leaf = factory.issue(leafSpec, &ca);
    OcspSpec ocsp;
    ocsp.thisUpdate = hoursFrom(now, -1);
    ocsp.nextUpdate = daysFrom(now, 3);
    const QByteArray staple = factory.ocspResponse(leaf, ca, ca, ocsp);

    m_samples = {
        {QStringLiteral("cert-der"), leaf.certDer()},
        {QStringLiteral("cert-pem"), leaf.certPem() + ca.certPem()},
        {QStringLiteral("staple-der"), staple},
        {QStringLiteral("staple-pem"), PkiFactory::toPem(staple, "OCSP RESPONSE")},
        {QStringLiteral("staple-base64"), staple.toBase64()},
        {QStringLiteral("key-pkcs8"), PkiFactory::privateKeyPem(leaf.key.get(), PkiFactory::KeyFormat::Pkcs8)},
        {QStringLiteral("key-pkcs1"), PkiFactory::privateKeyPem(leaf.key.get(), PkiFactory::KeyFormat::Pkcs1Rsa)},
        {QStringLiteral("pkcs7"), PkiFactory::pkcs7Der({&leaf, &ca})},
        {QStringLiteral("pkcs12"), PkiFactory::pkcs12(leaf, {&ca}, QByteArray())},
        {QStringLiteral("crl"), factory.crlDer(ca, hoursFrom(now, -1), daysFrom(now, 7), {&leaf})},
    };
    for (const auto& sample : m_samples)
        QVERIFY2(!sample.second.isEmpty(), qPrintable(sample.first));
}

void TestRobustness::damagedInputIsExplained_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QList<QByteArray>>("variants");
    QRandomGenerator random(20261124); // fixed seed: the same damage on every run
    for (const auto& [kind, bytes] : m_samples) {
        QList<QByteArray> truncated, flipped;
        const int step = qMax(1, int(bytes.size() / 64));
        for (int length = 0; length < bytes.size(); length += step)
            truncated << bytes.left(length);
        for (int i = 0; i < 64; ++i) {
            QByteArray damaged = bytes;
            const int at = int(random.bounded(quint32(bytes.size())));
            damaged[at] = char(damaged[at] ^ char(1 << random.bounded(8)));
            flipped << damaged;
        }
        QTest::newRow(qPrintable(kind + QStringLiteral("-truncated"))) << kind << truncated;
        QTest::newRow(qPrintable(kind + QStringLiteral("-bit-flips"))) << kind << flipped;
    }
}

void TestRobustness::damagedInputIsExplained()
{
    QFETCH(QString, kind);
    QFETCH(QList<QByteArray>, variants);
    LoadOptions options;
    options.passwordProvider = [](const QString&) { return std::optional<QString>(QString()); };
    const Loader loader(options);
    const Bundler bundler(nullptr);
    const Analyzer analyzer;
    AnalysisOptions analysis;
    analysis.at = fixedNow();
    for (int i = 0; i < variants.size(); ++i) {
        const LoadedInputs inputs = loader.loadData(variants.at(i), QStringLiteral("%1 variant %2").arg(kind).arg(i));
        const bool something = !inputs.certificates.isEmpty() || !inputs.staples.isEmpty() || !inputs.keys.isEmpty() ||
                               !inputs.crls.isEmpty() || !inputs.findings.isEmpty();
        QVERIFY2(something, qPrintable(QStringLiteral("%1 variant %2 produced neither objects nor a finding").arg(kind).arg(i)));
        for (const Finding& finding : inputs.findings)
            QVERIFY2(!finding.message.isEmpty(), qPrintable(finding.code));
        for (const Bundle& bundle : bundler.bundle(inputs))
            analyzer.analyze(bundle, analysis); // must not crash on a damaged but parseable object
        for (const OcspStaple& staple : inputs.staples)
            (void)staple.textDump();
        for (const Certificate& cert : inputs.certificates)
            (void)cert.textDump();
    }
}

void TestRobustness::absentOptionalFieldsDoNotCrash_data()
{
    QTest::addColumn<QByteArray>("data");
    // Well-formed DER in which an OPTIONAL part OpenSSL represents as NULL is absent.
    const QByteArray emptySignedData = QByteArray::fromHex("300b06092a864886f70d010702");
    QTest::newRow("PKCS#7 signedData with no content") << emptySignedData;
    QTest::newRow("PKCS#7 signedData with no content, PEM") << PkiFactory::toPem(emptySignedData, "PKCS7");
    // The same inside a PEM bundle next to a real certificate, as `--ca-file` reads it.
    QTest::newRow("empty PKCS#7 after a certificate")
        << m_samples.at(1).second + PkiFactory::toPem(emptySignedData, "PKCS7");
    QTest::newRow("tryLater staple (no basic response)") << QByteArray::fromHex("30030a0103");
    QTest::newRow("unauthorized staple, PEM") << PkiFactory::toPem(QByteArray::fromHex("30030a0106"), "OCSP RESPONSE");
}

void TestRobustness::absentOptionalFieldsDoNotCrash()
{
    QFETCH(QByteArray, data);
    const Loader loader;
    const LoadedInputs inputs = loader.loadData(data, QStringLiteral("crafted"));
    QVERIFY(!inputs.findings.isEmpty() || !inputs.staples.isEmpty());
    // Everything a window or report does with what was loaded, against every certificate we have.
    const LoadedInputs certs = loader.loadData(m_samples.at(1).second, QStringLiteral("certs.pem"));
    QVERIFY(!certs.certificates.isEmpty());
    for (const OcspStaple& staple : inputs.staples) {
        (void)staple.textDump();
        (void)staple.responderId();
        for (const Certificate& cert : certs.certificates) {
            QVERIFY(!staple.isResponder(cert));
            QVERIFY(!staple.verifySignature(cert));
        }
    }
    LoadedInputs all = certs;
    all.append(inputs);
    const Bundler bundler(nullptr);
    const Analyzer analyzer;
    AnalysisOptions analysis;
    analysis.at = fixedNow();
    for (const Bundle& bundle : bundler.bundle(all))
        analyzer.analyze(bundle, analysis);
}

// A password-protected file names its own key-derivation cost. Files made with a distinctive
// iteration count (66,051, three bytes) are patched to ask for 8,388,607: the loader refuses them at
// once instead of deriving keys for minutes, and says why. (Making such a file honestly would take
// as long as opening it.)
void TestRobustness::costlyKeyDerivationIsRefused_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("what");
    const PkiFactory factory;
    CertSpec spec;
    spec.notBefore = daysFrom(fixedNow(), -1);
    spec.notAfter = daysFrom(fixedNow(), 30);
    const IssuedCert self = factory.issue(spec);
    constexpr int kMarkedIterations = 0x010203;
    const QByteArray marked("\x02\x03\x01\x02\x03", 5);
    const QByteArray costly("\x02\x03\x7f\xff\xff", 5);
    const auto patched = [&](QByteArray der) {
        const qsizetype occurrences = der.count(marked);
        der.replace(marked, costly);
        return occurrences > 0 ? der : QByteArray();
    };
    const auto pkcs12 = [&](int iterations, int macIterations) {
        OpenSslPtr<PKCS12, PKCS12_free> p12(PKCS12_create("pw", "site", self.key.get(), self.cert.get(), nullptr, 0, 0,
                                                          iterations, macIterations, 0));
        unsigned char* der = nullptr;
        const int length = p12 ? i2d_PKCS12(p12.get(), &der) : 0;
        QByteArray out(reinterpret_cast<const char*>(der), qMax(length, 0));
        OPENSSL_free(der);
        return out;
    };
    QTest::newRow("PKCS#12 MAC") << patched(pkcs12(2048, kMarkedIterations)) << QStringLiteral("PKCS#12 file");
    QTest::newRow("PKCS#12 encrypted safe and shrouded key") << patched(pkcs12(kMarkedIterations, 2048))
                                                            << QStringLiteral("PKCS#12 file");

    OpenSslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free> p8(EVP_PKEY2PKCS8(self.key.get()));
    OpenSslPtr<X509_SIG, X509_SIG_free> encrypted(
        PKCS8_encrypt(-1, EVP_aes_256_cbc(), "pw", 2, nullptr, 0, kMarkedIterations, p8.get()));
    unsigned char* der = nullptr;
    const int length = encrypted ? i2d_X509_SIG(encrypted.get(), &der) : 0;
    const QByteArray pkcs8(reinterpret_cast<const char*>(der), qMax(length, 0));
    OPENSSL_free(der);
    QTest::newRow("encrypted PKCS#8, DER") << patched(pkcs8) << QStringLiteral("encrypted private key");
    QTest::newRow("encrypted PKCS#8, PEM") << PkiFactory::toPem(patched(pkcs8), "ENCRYPTED PRIVATE KEY")
                                          << QStringLiteral("encrypted private key");
}

void TestRobustness::costlyKeyDerivationIsRefused()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, what);
    QVERIFY2(!bytes.isEmpty(), "the marked iteration count was not found to patch");
    bool asked = false;
    LoadOptions options;
    options.passwordProvider = [&](const QString&) {
        asked = true;
        return std::optional<QString>(QStringLiteral("pw"));
    };
    QElapsedTimer timer;
    timer.start();
    const LoadedInputs loaded = Loader(options).loadData(bytes, QStringLiteral("costly"));
    qInfo("refused in %lld ms", timer.elapsed());
    QVERIFY(loaded.keys.isEmpty());
    QVERIFY(loaded.certificates.isEmpty());
    QVERIFY2(!asked, "a password was asked for a file that is not going to be opened");
    QCOMPARE(loaded.findings.size(), 1);
    const Finding& f = loaded.findings.first();
    QCOMPARE(f.code, QStringLiteral("INPUT_UNREADABLE"));
    QVERIFY2(f.message.contains(what) && f.message.contains(QStringLiteral("8388607")), qPrintable(f.message));
}

QTEST_GUILESS_MAIN(TestRobustness)
#include "tst_robustness.moc"
