// Hostile and damaged input never crashes the engine: every truncation and many bit flips of real
// certificates, staples, keys, PKCS#7 and PKCS#12 files go through load, bundle and analysis, and
// each damaged input yields either objects or an INPUT_* finding that explains it.

#include "Inspection.h"
#include "Loader.h"
#include "PkiFactory.h"
#include "TestClock.h"

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

QTEST_GUILESS_MAIN(TestRobustness)
#include "tst_robustness.moc"
