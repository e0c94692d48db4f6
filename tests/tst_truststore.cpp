// TrustStore without the system store, so no answer depends on the machine: anchors added one by
// one or from CA files, issuer lookup by name, key identifier and signature, and the OpenSSL store
// the chain verifier uses.

#include "TestPki.h"
#include "TrustStore.h"

#include <QTest>

#include <memory>

#include <openssl/err.h>

using namespace staplescope;
using namespace staplescope::test;

namespace {

Certificate certOf(const IssuedCert& issued, const QString& path = QStringLiteral("test.pem"))
{
    return Certificate::fromDer(issued.certDer(), SourceLocation{path, 0, 1});
}

// How many certificates OpenSSL's own store holds: what X509_verify_cert will trust.
int storeCertificates(const TrustStore& store)
{
    int count = 0;
    const STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store.get0());
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i)
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objects, i)) == X509_LU_X509)
            ++count;
    return count;
}

// OpenSSL's verdict on `leaf` with `untrusted` as the chain it was sent with, against `store`.
bool opensslVerifies(const TrustStore& store, const Certificate& leaf, const QList<Certificate>& untrusted,
                     const QDateTime& at)
{
    X509StackPtr chain(sk_X509_new_null());
    for (const Certificate& c : untrusted)
        sk_X509_push(chain.get(), c.get1().release()); // the stack owns these references
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get0(), leaf.get0(), chain.get()) != 1)
        return false;
    X509_STORE_CTX_set_time(ctx.get(), 0, time_t(at.toSecsSinceEpoch()));
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    ERR_clear_error();
    return ok;
}

} // namespace

class TestTrustStore : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void emptyStoreWithoutSystem();
    void addCertificate();
    void addCertificateIgnoresDuplicatesAndNull();
    void findIssuer();
    void findIssuerSkipsASameNamedCaWithAnotherKey();
    void isAnchorIsByDer();
    void storeIsWhatOpenSslVerifiesWith();
    void addCaFile_data();
    void addCaFile();
    void caFileWithoutCertificates_data();
    void caFileWithoutCertificates();

private:
    std::unique_ptr<TestPki> m_pki;
    Certificate m_root, m_intermediate, m_leaf;
};

void TestTrustStore::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    m_root = certOf(m_pki->root, QStringLiteral("root.pem"));
    m_intermediate = certOf(m_pki->intermediate, QStringLiteral("intermediate.pem"));
    m_leaf = certOf(m_pki->leaf, QStringLiteral("leaf.pem"));
    QVERIFY(!m_root.isNull() && !m_intermediate.isNull() && !m_leaf.isNull());
}

void TestTrustStore::emptyStoreWithoutSystem()
{
    const TrustStore store(false);
    QVERIFY(!store.usesSystemStore());
    QVERIFY(store.get0() != nullptr);
    QVERIFY(store.extraAnchors().isEmpty());
    QCOMPARE(storeCertificates(store), 0);
    // A self-signed root trusts nothing by itself: without the system store, nothing is an anchor.
    QVERIFY(!store.isAnchor(m_root));
    QVERIFY(store.findIssuer(m_intermediate).isNull());
    QVERIFY(store.findIssuer(m_root).isNull());
    QVERIFY(store.findIssuer(Certificate()).isNull());
    QVERIFY(!store.isAnchor(Certificate()));
}

void TestTrustStore::addCertificate()
{
    TrustStore store(false);
    store.addCertificate(m_root);
    QCOMPARE(store.extraAnchors().size(), 1);
    QVERIFY(store.extraAnchors().first() == m_root);
    QCOMPARE(storeCertificates(store), 1);
    QVERIFY(store.isAnchor(m_root));
    QVERIFY(!store.isAnchor(m_intermediate));
    store.addCertificate(m_intermediate);
    QCOMPARE(store.extraAnchors().size(), 2);
    QCOMPARE(storeCertificates(store), 2);
    QVERIFY(store.isAnchor(m_intermediate));
}

void TestTrustStore::addCertificateIgnoresDuplicatesAndNull()
{
    TrustStore store(false);
    store.addCertificate(m_root);
    // The same DER from another file is the same anchor.
    store.addCertificate(certOf(m_pki->root, QStringLiteral("copy-of-root.pem")));
    store.addCertificate(Certificate());
    QCOMPARE(store.extraAnchors().size(), 1);
    QCOMPARE(storeCertificates(store), 1);
    QCOMPARE(store.extraAnchors().first().source().path, QStringLiteral("root.pem")); // the first one stays
}

void TestTrustStore::findIssuer()
{
    TrustStore store(false);
    store.addCertificate(m_root);
    QVERIFY(store.findIssuer(m_intermediate) == m_root);
    QVERIFY(store.findIssuer(m_root) == m_root); // self-signed: its own issuer
    // The root did not sign the leaf: the intermediate is missing, so no issuer.
    QVERIFY(store.findIssuer(m_leaf).isNull());
    store.addCertificate(m_intermediate);
    QVERIFY(store.findIssuer(m_leaf) == m_intermediate);
    // Another CA's leaf has no issuer here.
    const IssuedCert other = m_pki->otherCa();
    QVERIFY(store.findIssuer(certOf(m_pki->issueLeaf({}, &other))).isNull());
}

void TestTrustStore::findIssuerSkipsASameNamedCaWithAnotherKey()
{
    // A CA re-keyed under the intermediate's name, added first: findIssuer must not stop at the name.
    const Certificate rekeyed = certOf(m_pki->rekeyedIntermediate());
    QCOMPARE(rekeyed.subjectNameDer(), m_intermediate.subjectNameDer());

    // Without key identifiers only the signature tells them apart.
    const Certificate noAki = certOf(m_pki->issueLeaf([](CertSpec& s) { s.authorityKeyId = false; }));
    TrustStore store(false);
    store.addCertificate(rekeyed);
    QVERIFY(store.findIssuer(noAki).isNull());
    QVERIFY(store.findIssuer(m_leaf).isNull());
    store.addCertificate(m_intermediate);
    QVERIFY(store.findIssuer(noAki) == m_intermediate);
    QVERIFY(store.findIssuer(m_leaf) == m_intermediate);
}

void TestTrustStore::isAnchorIsByDer()
{
    TrustStore store(false);
    store.addCertificate(m_root);
    // Same name, same key: a root re-issued with other dates is another certificate, not an anchor.
    CertSpec spec;
    spec.commonName = QStringLiteral("Staplescope Test Root");
    spec.isCa = true;
    spec.notBefore = daysFrom(fixedNow(), -1);
    spec.notAfter = daysFrom(fixedNow(), 365);
    spec.reuseKey = m_pki->root.key;
    const Certificate reissued = certOf(m_pki->issue(spec, nullptr));
    QCOMPARE(reissued.subject(), m_root.subject());
    QVERIFY(reissued.isSelfSigned());
    QVERIFY(!store.isAnchor(reissued));
    // It is still found as the issuer of what the root signed: the name and key are the same.
    QVERIFY(!store.findIssuer(reissued).isNull());
    QVERIFY(store.isAnchor(m_root));
}

void TestTrustStore::storeIsWhatOpenSslVerifiesWith()
{
    TrustStore store(false);
    QVERIFY(!opensslVerifies(store, m_leaf, {m_intermediate}, fixedNow()));
    store.addCertificate(m_root);
    QVERIFY(opensslVerifies(store, m_leaf, {m_intermediate}, fixedNow()));
    QVERIFY(!opensslVerifies(store, m_leaf, {}, fixedNow())); // the chain is still needed
}

void TestTrustStore::addCaFile_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("anchors");
    QTest::newRow("PEM bundle") << QStringLiteral("bundle.pem")
                                << TestPki::pem({&m_pki->root, &m_pki->intermediate}) << 2;
    QTest::newRow("DER") << QStringLiteral("root.der") << m_pki->root.certDer() << 1;
    QTest::newRow("PEM with text around it") << QStringLiteral("root.crt")
                                             << QByteArrayLiteral("Subject: the test root\n") +
                                                    m_pki->root.certPem() + QByteArrayLiteral("\n# end\n")
                                             << 1;
    QTest::newRow("PKCS#7") << QStringLiteral("cas.p7b")
                            << PkiFactory::pkcs7Der({&m_pki->root, &m_pki->intermediate}) << 2;
}

void TestTrustStore::addCaFile()
{
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QFETCH(int, anchors);
    TestFolder folder;
    const QString path = folder.write(name, content);
    QVERIFY(!path.isEmpty());
    TrustStore store(false);
    const QList<Finding> findings = store.addCaFile(path);
    QVERIFY2(findings.isEmpty(), findings.isEmpty() ? "" : qPrintable(findings.first().message));
    QCOMPARE(store.extraAnchors().size(), anchors);
    QCOMPARE(storeCertificates(store), anchors);
    QVERIFY(store.isAnchor(m_root));
    QVERIFY(store.findIssuer(m_intermediate) == m_root);
    QCOMPARE(store.isAnchor(m_intermediate), anchors == 2);
}

void TestTrustStore::caFileWithoutCertificates_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("exists");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<bool>("saysNoCertificates"); // the store's own finding, not the loader's
    QTest::newRow("only a private key")
        << QStringLiteral("key.pem") << true << m_pki->keyPem(m_pki->root) << true;
    QTest::newRow("only a staple") << QStringLiteral("site.ocsp") << true << m_pki->goodStaple() << true;
    QTest::newRow("empty file") << QStringLiteral("empty.pem") << true << QByteArray() << false;
    QTest::newRow("garbage") << QStringLiteral("notes.txt") << true
                             << QByteArrayLiteral("no certificates here\n") << false;
    QTest::newRow("missing file") << QStringLiteral("missing.pem") << false << QByteArray() << false;
}

void TestTrustStore::caFileWithoutCertificates()
{
    QFETCH(QString, name);
    QFETCH(bool, exists);
    QFETCH(QByteArray, content);
    QFETCH(bool, saysNoCertificates);
    TestFolder folder;
    const QString path = exists ? folder.write(name, content) : folder.path(name);
    QVERIFY(!path.isEmpty());
    TrustStore store(false);
    const QList<Finding> findings = store.addCaFile(path);
    // Never silent: a CA file that adds nothing says why, about that file.
    QVERIFY(!findings.isEmpty());
    QVERIFY(std::any_of(findings.begin(), findings.end(),
                        [&](const Finding& f) { return f.subject.contains(name); }));
    QVERIFY(store.extraAnchors().isEmpty());
    QCOMPARE(storeCertificates(store), 0);
    const bool own = std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
        return f.code == QLatin1String("INPUT_UNRECOGNIZED") && f.severity == Severity::Error &&
               f.message.contains(QLatin1String("holds no certificates"));
    });
    QCOMPARE(own, saysNoCertificates);
}

QTEST_GUILESS_MAIN(TestTrustStore)
#include "tst_truststore.moc"
