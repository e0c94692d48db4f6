// Bundler: what dropping a folder means. Each test lays out files as admins do and checks which
// chain, staples and key each certificate ends up with, and why.

#include "Analyzer.h"
#include "Bundler.h"
#include "TestPki.h"

#include <QTest>

using namespace staplescope;
using namespace staplescope::test;

namespace {

CertSpec caSpec(const QString& name)
{
    CertSpec spec;
    spec.commonName = name;
    spec.isCa = true;
    spec.notBefore = daysFrom(fixedNow(), -100);
    spec.notAfter = daysFrom(fixedNow(), 1000);
    return spec;
}

void named(CertSpec& s, const QString& name)
{
    s.commonName = name;
    s.dnsNames = {name};
}

} // namespace

class TestBundler : public QObject {
    Q_OBJECT

private slots:
    void init();

    void chainAttachesByNameKeyIdAndSignature_data();
    void chainAttachesByNameKeyIdAndSignature();
    void oneChainFileServesTwoBundles();
    void sameCertificateInTwoFilesIsOneBundle();
    void responderCertificateHeadsNoBundle();
    void staplesAttachByCertId();
    void signedSerialsAreDifferentCertificates();
    void haproxyOcspBesideItsPem();
    void stapleBesideFiles();
    void stapleToTheOnlyBundle();
    void strayStapleWithSeveralBundlesStaysUnattached();
    void keysAttachByPublicKey();
    void loneKeyBesideOneCertificateIsAMismatch();
    void newestNotBeforeSupersedes();
    void stapleOfSupersededCertificateGoesToTheCurrentOne();
    void stapleBesideItsSupersededCertificateIsHistory();
    void numberedArchiveKeepsEachIssuancesStaple();
    void explicitRoles();
    void explicitRolesKeepTheGivenOrder();
    void rolesAndPathsAreOneInputSet();
    void concatenatedFullchainsAreSeparateBundles();
    void oneServersFileKeepsItsWholeOrder();
    void chainLongerThanTheBoundIsSaidSo();

private:
    QList<Bundle> bundleFolder(const QString& path) const
    {
        return Bundler(m_trust.get()).bundle(Loader().loadPaths({path}));
    }
    // The codes the analyzer gives `bundle` at the fixed time, trusting the test root.
    QStringList analyzedCodes(const Bundle& bundle) const
    {
        AnalysisOptions options;
        options.at = fixedNow();
        options.trust = m_trust.get();
        QStringList codes;
        for (const Finding& f : Analyzer().analyze(bundle, options))
            codes << f.code;
        return codes;
    }
    static const Bundle* bundleFor(const QList<Bundle>& bundles, const IssuedCert& leaf)
    {
        for (const Bundle& b : bundles)
            if (b.leaf.der() == leaf.certDer())
                return &b;
        return nullptr;
    }

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestFolder> m_dir;
    std::shared_ptr<TrustStore> m_trust;
};

void TestBundler::init()
{
    m_pki = std::make_unique<TestPki>();
    m_dir = std::make_unique<TestFolder>();
    m_trust = std::make_shared<TrustStore>(false);
    m_trust->addCertificate(Certificate::fromDer(m_pki->root.certDer(), {}));
}

void TestBundler::chainAttachesByNameKeyIdAndSignature_data()
{
    QTest::addColumn<bool>("twinHasKeyId");
    QTest::addColumn<bool>("twinFirst");
    QTest::newRow("twin with another key id, listed first") << true << true;
    QTest::newRow("twin with another key id, listed last") << true << false;
    QTest::newRow("twin without key id: the signature decides, listed first") << false << true;
    QTest::newRow("twin without key id: the signature decides, listed last") << false << false;
}

void TestBundler::chainAttachesByNameKeyIdAndSignature()
{
    QFETCH(bool, twinHasKeyId);
    QFETCH(bool, twinFirst);
    CertSpec twinSpec = caSpec(QStringLiteral("Staplescope Test Intermediate"));
    twinSpec.subjectKeyId = twinHasKeyId;
    const IssuedCert twin = m_pki->issue(twinSpec, &m_pki->root);
    const QByteArray chain = twinFirst ? twin.certPem() + m_pki->intermediate.certPem()
                                       : m_pki->intermediate.certPem() + twin.certPem();
    m_dir->write(QStringLiteral("site/cert.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("site/chain.pem"), chain);

    const QList<Bundle> bundles = bundleFolder(m_dir->path(QStringLiteral("site")));
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles.first().chain.size(), 1);
    QCOMPARE(bundles.first().chain.first().der(), m_pki->intermediate.certDer());
    QCOMPARE(bundles.first().anchor.der(), m_pki->root.certDer());
}

void TestBundler::oneChainFileServesTwoBundles()
{
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    m_dir->write(QStringLiteral("a.pem"), a.certPem());
    m_dir->write(QStringLiteral("b.pem"), b.certPem());
    m_dir->write(QStringLiteral("chain.pem"), m_pki->intermediate.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    for (const IssuedCert* leaf : {&a, &b}) {
        const Bundle* bundle = bundleFor(bundles, *leaf);
        QVERIFY(bundle);
        QCOMPARE(bundle->chain.size(), 1);
        QCOMPARE(bundle->chain.first().der(), m_pki->intermediate.certDer());
        QVERIFY(!bundle->anchor.isNull());
        QVERIFY(!bundle->isSuperseded());
    }
}

void TestBundler::sameCertificateInTwoFilesIsOneBundle()
{
    m_dir->write(QStringLiteral("cert.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("fullchain.pem"), TestPki::pem({&m_pki->leaf, &m_pki->intermediate}));
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles.first().chain.size(), 1);
    // The order a server would send comes from fullchain.pem.
    QCOMPARE(bundles.first().chainAsGiven.size(), 1);
    QVERIFY(bundles.first().chainAsGivenSource.endsWith(QLatin1String("fullchain.pem")));
}

void TestBundler::responderCertificateHeadsNoBundle()
{
    m_dir->write(QStringLiteral("cert.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("responder.pem"), m_pki->responder.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles.first().leaf.der(), m_pki->leaf.certDer());
    QCOMPARE(bundles.first().responderCertificates.size(), 1);
}

void TestBundler::staplesAttachByCertId()
{
    // Names deliberately misleading: a's staple is called b.ocsp and the other way round; one
    // uses a SHA-1 CertID, the other SHA-256.
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    OcspSpec sha256 = m_pki->goodStapleSpec();
    sha256.certIdHash = EVP_sha256();
    m_dir->write(QStringLiteral("a.pem"), a.certPem());
    m_dir->write(QStringLiteral("b.pem"), b.certPem());
    m_dir->write(QStringLiteral("chain.pem"), m_pki->intermediate.certPem());
    m_dir->write(QStringLiteral("b.ocsp"), m_pki->staple(m_pki->goodStapleSpec(), &a));
    m_dir->write(QStringLiteral("a.ocsp"), m_pki->staple(sha256, &b));

    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    const Bundle* ba = bundleFor(bundles, a);
    const Bundle* bb = bundleFor(bundles, b);
    QVERIFY(ba && bb);
    QCOMPARE(ba->staples.size(), 1);
    QCOMPARE(bb->staples.size(), 1);
    QVERIFY(ba->staples.first().staple.source().path.endsWith(QLatin1String("b.ocsp")));
    QVERIFY(bb->staples.first().staple.source().path.endsWith(QLatin1String("a.ocsp")));
    QCOMPARE(ba->staples.first().attachment, StapleAttachment::CertIdMatch);
    QCOMPARE(bb->staples.first().attachment, StapleAttachment::CertIdMatch);
    QCOMPARE(bb->staples.first().staple.responses().first().certId.hashAlgorithm, QStringLiteral("SHA-256"));
}

void TestBundler::signedSerialsAreDifferentCertificates()
{
    // Serial −0x1111 and +0x1111 have the same magnitude bytes; OCSP_id_cmp tells them apart.
    const IssuedCert positive = m_pki->issueLeaf([](CertSpec& s) {
        named(s, QStringLiteral("a.example.test"));
        s.serial = QByteArray::fromHex("1111");
    });
    const IssuedCert negative = m_pki->issueLeaf([](CertSpec& s) {
        named(s, QStringLiteral("b.example.test"));
        s.serial = QByteArray::fromHex("1111");
        s.negativeSerial = true;
    });
    m_dir->write(QStringLiteral("a.pem"), positive.certPem());
    m_dir->write(QStringLiteral("b.pem"), negative.certPem());
    m_dir->write(QStringLiteral("chain.pem"), m_pki->intermediate.certPem());
    m_dir->write(QStringLiteral("1.der"), m_pki->staple(m_pki->goodStapleSpec(), &negative));
    m_dir->write(QStringLiteral("2.der"), m_pki->staple(m_pki->goodStapleSpec(), &positive));

    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    const Bundle* bp = bundleFor(bundles, positive);
    const Bundle* bn = bundleFor(bundles, negative);
    QVERIFY(bp && bn);
    QCOMPARE(bp->leaf.serialHex(), QStringLiteral("11:11"));
    QCOMPARE(bn->leaf.serialHex(), QStringLiteral("-11:11"));
    QCOMPARE(bp->staples.size(), 1);
    QCOMPARE(bn->staples.size(), 1);
    QVERIFY(bp->staples.first().staple.source().path.endsWith(QLatin1String("2.der")));
    QVERIFY(bn->staples.first().staple.source().path.endsWith(QLatin1String("1.der")));
    QCOMPARE(bn->staples.first().staple.responses().first().certId.serialHex(), QStringLiteral("-11:11"));
    QCOMPARE(bn->staples.first().attachment, StapleAttachment::CertIdMatch);
}

void TestBundler::haproxyOcspBesideItsPem()
{
    // HAProxy: site.pem holds cert + chain + key, site.pem.ocsp the staple. A stale staple (for a
    // certificate no longer here) still belongs to the .pem it is named after.
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    const IssuedCert gone = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("gone.example.test")); });
    m_dir->write(QStringLiteral("a.pem"), TestPki::pem({&a, &m_pki->intermediate}) + m_pki->keyPem(a));
    m_dir->write(QStringLiteral("b.pem"), TestPki::pem({&b, &m_pki->intermediate}) + m_pki->keyPem(b));
    m_dir->write(QStringLiteral("b.pem.ocsp"), m_pki->staple(m_pki->goodStapleSpec(), &gone));

    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    QCOMPARE(bundleFor(bundles, a)->staples.size(), 0);
    QCOMPARE(bundleFor(bundles, b)->staples.size(), 1);
    QCOMPARE(bundleFor(bundles, b)->staples.first().attachment, StapleAttachment::BesideFiles);
    QCOMPARE(bundleFor(bundles, a)->keyStatus, KeyStatus::Matches);
    QCOMPARE(bundleFor(bundles, b)->keyStatus, KeyStatus::Matches);
}

void TestBundler::stapleBesideFiles()
{
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    const IssuedCert gone = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("gone.example.test")); });
    m_dir->write(QStringLiteral("a/cert.pem"), a.certPem());
    m_dir->write(QStringLiteral("b/cert.pem"), b.certPem());
    m_dir->write(QStringLiteral("b/ocsp.der"), m_pki->staple(m_pki->goodStapleSpec(), &gone));
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundleFor(bundles, a)->staples.size(), 0);
    QCOMPARE(bundleFor(bundles, b)->staples.size(), 1);
    QCOMPARE(bundleFor(bundles, b)->staples.first().attachment, StapleAttachment::BesideFiles);
}

void TestBundler::stapleToTheOnlyBundle()
{
    const IssuedCert gone = m_pki->issueLeaf({});
    m_dir->write(QStringLiteral("certs/cert.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("ocsp/staple.der"), m_pki->staple(m_pki->goodStapleSpec(), &gone));
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles.first().staples.size(), 1);
    QCOMPARE(bundles.first().staples.first().attachment, StapleAttachment::OnlyBundle);
}

void TestBundler::strayStapleWithSeveralBundlesStaysUnattached()
{
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    m_dir->write(QStringLiteral("a/cert.pem"), a.certPem());
    m_dir->write(QStringLiteral("b/cert.pem"), b.certPem());
    m_dir->write(QStringLiteral("ocsp/staple.der"), m_pki->goodStaple()); // for the standard leaf, not here
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    for (const Bundle& bundle : bundles)
        QCOMPARE(bundle.staples.size(), 0);
}

void TestBundler::keysAttachByPublicKey()
{
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    m_dir->write(QStringLiteral("a.crt"), a.certPem());
    m_dir->write(QStringLiteral("b.crt"), b.certPem());
    m_dir->write(QStringLiteral("a.key"), m_pki->keyPem(b)); // swapped names
    m_dir->write(QStringLiteral("b.key"), PkiFactory::privateKeyPem(a.key.get(), PkiFactory::KeyFormat::Sec1Ec));
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    QCOMPARE(bundleFor(bundles, a)->keyStatus, KeyStatus::Matches);
    QVERIFY(bundleFor(bundles, a)->key.source().path.endsWith(QLatin1String("b.key")));
    QCOMPARE(bundleFor(bundles, b)->keyStatus, KeyStatus::Matches);
    QVERIFY(bundleFor(bundles, b)->key.source().path.endsWith(QLatin1String("a.key")));
}

void TestBundler::loneKeyBesideOneCertificateIsAMismatch()
{
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("b.example.test")); });
    const IssuedCert stranger = m_pki->issueLeaf({});
    m_dir->write(QStringLiteral("a/cert.pem"), a.certPem());
    m_dir->write(QStringLiteral("a/privkey.pem"), m_pki->keyPem(stranger));
    m_dir->write(QStringLiteral("b/cert.pem"), b.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundleFor(bundles, a)->keyStatus, KeyStatus::Mismatch);
    QCOMPARE(bundleFor(bundles, b)->keyStatus, KeyStatus::NotProvided);

    // Two certificates beside it: whose it would be is unknown, so it is nobody's.
    m_dir->write(QStringLiteral("b/privkey.pem"), m_pki->keyPem(stranger));
    m_dir->write(QStringLiteral("b/other.pem"), m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("c.example.test")); }).certPem());
    const QList<Bundle> again = bundleFolder(m_dir->path());
    QCOMPARE(bundleFor(again, b)->keyStatus, KeyStatus::NotProvided);
}

void TestBundler::newestNotBeforeSupersedes()
{
    auto renewal = [&](int daysAgo, const IssuedCert* issuer = nullptr) {
        return m_pki->issueLeaf([&](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -daysAgo);
            s.notAfter = daysFrom(s.notBefore, 90);
        }, issuer);
    };
    const IssuedCert oldest = renewal(120), middle = renewal(60), newest = renewal(2);
    CertSpec otherCa = caSpec(QStringLiteral("Another Intermediate"));
    const IssuedCert otherIntermediate = m_pki->issue(otherCa, &m_pki->root);
    const IssuedCert fromOtherCa = renewal(1, &otherIntermediate);
    const IssuedCert otherNames = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("mail.example.test")); });
    // File order must not matter: the newest is written first.
    m_dir->write(QStringLiteral("1.pem"), newest.certPem());
    m_dir->write(QStringLiteral("2.pem"), oldest.certPem());
    m_dir->write(QStringLiteral("3.pem"), middle.certPem());
    m_dir->write(QStringLiteral("4.pem"), fromOtherCa.certPem());
    m_dir->write(QStringLiteral("5.pem"), otherNames.certPem());

    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 5);
    const Bundle* current = bundleFor(bundles, newest);
    QVERIFY(!current->isSuperseded());
    QCOMPARE(current->previousCertificates.size(), 2);
    for (const IssuedCert* old : {&oldest, &middle}) {
        QVERIFY(bundleFor(bundles, *old)->isSuperseded());
        QCOMPARE(bundleFor(bundles, *old)->supersededBy.der(), newest.certDer());
    }
    QVERIFY(!bundleFor(bundles, fromOtherCa)->isSuperseded());
    QVERIFY(!bundleFor(bundles, otherNames)->isSuperseded());
}

void TestBundler::stapleOfSupersededCertificateGoesToTheCurrentOne()
{
    const IssuedCert previous = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -60);
        s.notAfter = daysFrom(fixedNow(), 30);
    });
    // The staple lies where the current certificate's staple belongs: the renewal incident.
    m_dir->write(QStringLiteral("old/cert.pem"), previous.certPem());
    m_dir->write(QStringLiteral("live/cert.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("live/ocsp.der"), m_pki->staple(m_pki->goodStapleSpec(), &previous));
    m_dir->write(QStringLiteral("chain.pem"), m_pki->intermediate.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundleFor(bundles, previous)->staples.size(), 0);
    const Bundle* current = bundleFor(bundles, m_pki->leaf);
    QCOMPARE(current->staples.size(), 1);
    QCOMPARE(current->staples.first().attachment, StapleAttachment::PreviousCertificate);
}

void TestBundler::stapleBesideItsSupersededCertificateIsHistory()
{
    // archive/ keeps the previous certificate with the staple it had: history, not a stale staple
    // of the current certificate (which has its own staple in live/).
    const IssuedCert previous = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -60);
        s.notAfter = daysFrom(fixedNow(), 30);
    });
    m_dir->write(QStringLiteral("archive/cert.pem"), previous.certPem());
    m_dir->write(QStringLiteral("archive/ocsp.der"), m_pki->staple(m_pki->goodStapleSpec(), &previous));
    m_dir->write(QStringLiteral("live/cert.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("live/ocsp.der"), m_pki->goodStaple());
    m_dir->write(QStringLiteral("chain.pem"), m_pki->intermediate.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    const Bundle* old = bundleFor(bundles, previous);
    QVERIFY(old->isSuperseded());
    QCOMPARE(old->staples.size(), 1);
    QCOMPARE(old->staples.first().attachment, StapleAttachment::CertIdMatch);
    const Bundle* current = bundleFor(bundles, m_pki->leaf);
    QCOMPARE(current->staples.size(), 1);
    QCOMPARE(current->staples.first().attachment, StapleAttachment::CertIdMatch);

    // The analysis agrees: the current certificate is healthy, the history only noted.
    Analyzer analyzer;
    AnalysisOptions options;
    options.at = fixedNow();
    for (const Finding& f : analyzer.analyze(*current, options))
        QVERIFY2(f.code != QLatin1String("STAPLE_FOR_OTHER_CERT") && f.code != QLatin1String("STAPLE_MULTIPLE_RESPONSES"),
                 qPrintable(f.message));
    for (const Finding& f : analyzer.analyze(*old, options))
        QVERIFY2(f.severity == Severity::Info, qPrintable(f.message));
}

void TestBundler::numberedArchiveKeepsEachIssuancesStaple()
{
    // certbot's archive/NAME holds every issuance in one folder, numbered: a staple numbered like
    // the previous certificate's files is that issuance's history; an unnumbered one for the
    // previous certificate, in the folder the current one is in, is still the renewal incident.
    const IssuedCert previous = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -60);
        s.notAfter = daysFrom(fixedNow(), 30);
    });
    m_dir->write(QStringLiteral("archive/site/cert1.pem"), previous.certPem());
    m_dir->write(QStringLiteral("archive/site/cert2.pem"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("archive/site/chain2.pem"), m_pki->intermediate.certPem());
    m_dir->write(QStringLiteral("archive/site/ocsp1.der"), m_pki->staple(m_pki->goodStapleSpec(), &previous));
    m_dir->write(QStringLiteral("archive/site/ocsp2.der"), m_pki->goodStaple());
    QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundleFor(bundles, previous)->staples.size(), 1);
    QCOMPARE(bundleFor(bundles, m_pki->leaf)->staples.size(), 1);
    QCOMPARE(bundleFor(bundles, m_pki->leaf)->staples.first().attachment, StapleAttachment::CertIdMatch);

    m_dir->write(QStringLiteral("archive/site/ocsp.der"), m_pki->staple(m_pki->goodStapleSpec(), &previous));
    bundles = bundleFolder(m_dir->path());
    const Bundle* current = bundleFor(bundles, m_pki->leaf);
    QCOMPARE(current->staples.size(), 2);
    bool incident = false;
    for (const AttachedStaple& a : current->staples)
        incident |= a.attachment == StapleAttachment::PreviousCertificate && a.staple.source().path.endsWith(QLatin1String("/ocsp.der"));
    QVERIFY(incident);
}

void TestBundler::explicitRoles()
{
    const IssuedCert gone = m_pki->issueLeaf({});
    const QString cert = m_dir->write(QStringLiteral("exim/tls_certificate.pem"), m_pki->leaf.certPem());
    const QString chain = m_dir->write(QStringLiteral("ca/chain.pem"), m_pki->intermediate.certPem());
    const QString staple = m_dir->write(QStringLiteral("ocsp/somewhere-else.der"), m_pki->staple(m_pki->goodStapleSpec(), &gone));
    const QString key = m_dir->write(QStringLiteral("private/key.pem"), m_pki->keyPem(m_pki->leaf));

    InspectRequest request;
    request.useSystemTrust = false;
    request.caFiles = {m_dir->write(QStringLiteral("root.pem"), m_pki->root.certPem())};
    request.files.certFiles = {cert};
    request.files.chainFiles = {chain};
    request.files.stapleFiles = {staple};
    request.files.keyFiles = {key};
    const auto session = InspectionSession::load(request);
    QCOMPARE(session->bundles().size(), 1);
    const Bundle& b = session->bundles().first();
    QCOMPARE(b.leaf.der(), m_pki->leaf.certDer());
    QCOMPARE(b.chain.size(), 1);
    QCOMPARE(b.keyStatus, KeyStatus::Matches);
    QCOMPARE(b.staples.size(), 1); // the user said so, whatever it is about
    QCOMPARE(b.staples.first().attachment, StapleAttachment::Explicit);

    AnalysisOptions options;
    options.at = fixedNow();
    const InspectionReport report = session->evaluate(options);
    QStringList codes = codesOf(report);
    QVERIFY2(codes.contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")), qPrintable(codes.join(' ')));
}

// --cert leaf.pem plus PATHs holding the intermediate, the leaf's key, its staple, a CRL, another
// server's certificate with its own staple, and leaf.pem again: each object counts once, the
// positional ones serve the role bundle, the other server gets its own bundle.
void TestBundler::rolesAndPathsAreOneInputSet()
{
    const IssuedCert other = m_pki->issueLeaf([](CertSpec& s) {
        s.commonName = QStringLiteral("other.example.test");
        s.dnsNames = {QStringLiteral("other.example.test")};
    });
    const Loader loader;
    RoleInputs roles;
    roles.cert = loader.loadData(m_pki->leaf.certPem(), QStringLiteral("/etc/exim/cert.pem"));
    roles.origin = QStringLiteral("--cert /etc/exim/cert.pem");
    LoadedInputs paths = loader.loadData(m_pki->leaf.certPem(), QStringLiteral("/etc/exim/cert.pem"));
    paths.append(loader.loadData(m_pki->intermediate.certPem(), QStringLiteral("/srv/ca/chain.pem")));
    paths.append(loader.loadData(m_pki->keyPem(m_pki->leaf), QStringLiteral("/srv/keys/exim.key")));
    paths.append(loader.loadData(m_pki->goodStaple(), QStringLiteral("/srv/ocsp/exim.der")));
    paths.append(loader.loadData(m_pki->factory().crlDer(m_pki->intermediate, fixedNow().addDays(-1), fixedNow().addDays(6), {}),
                                 QStringLiteral("/srv/crl/int.crl")));
    paths.append(loader.loadData(other.certPem(), QStringLiteral("/srv/other/cert.pem")));
    paths.append(loader.loadData(m_pki->staple(m_pki->goodStapleSpec(), &other), QStringLiteral("/srv/other/ocsp.der")));
    QVERIFY2(paths.findings.isEmpty(), qPrintable(paths.findings.value(0).message));

    const QList<Bundle> bundles = Bundler(m_trust.get()).bundleInputSet(roles, paths);
    QCOMPARE(bundles.size(), 2); // the role's leaf given positionally too is no second bundle
    const Bundle& b = bundles.first();
    QCOMPARE(b.leaf.der(), m_pki->leaf.certDer());
    QCOMPARE(b.origin, roles.origin);
    QCOMPARE(b.chain.size(), 1); // the positional intermediate, as a path candidate
    QVERIFY(b.chainAsGiven.isEmpty()); // ...but not as sent: the roles give that order
    QCOMPARE(b.keyStatus, KeyStatus::Matches);
    QCOMPARE(b.crls.size(), 1);
    QCOMPARE(b.staples.size(), 1);
    QCOMPARE(b.staples.first().attachment, StapleAttachment::CertIdMatch);
    QCOMPARE(b.staples.first().staple.source().path, QStringLiteral("/srv/ocsp/exim.der"));

    const Bundle* o = bundleFor(bundles, other);
    QVERIFY(o);
    QCOMPARE(o->chain.size(), 1);
    QCOMPARE(o->staples.size(), 1);
    QCOMPARE(o->staples.first().staple.source().path, QStringLiteral("/srv/other/ocsp.der"));
    QCOMPARE(o->keyStatus, KeyStatus::NotProvided); // the role leaf's key is not offered to it
    QCOMPARE(o->crls.size(), 1);
}

void TestBundler::explicitRolesKeepTheGivenOrder()
{
    CertSpec upper = caSpec(QStringLiteral("Upper"));
    const IssuedCert u = m_pki->issue(upper, &m_pki->root);
    CertSpec lower = caSpec(QStringLiteral("Lower"));
    const IssuedCert l = m_pki->issue(lower, &u);
    const IssuedCert leaf = m_pki->issueLeaf({}, &l);
    const Loader loader;
    RoleInputs roles;
    roles.cert = loader.loadData(leaf.certPem(), QStringLiteral("cert.pem"));
    roles.chain = loader.loadData(TestPki::pem({&u, &l}), QStringLiteral("chain.pem"));
    roles.chain.files = {QStringLiteral("chain.pem")};
    roles.origin = QStringLiteral("--cert cert.pem");
    const QList<Bundle> bundles = Bundler(m_trust.get()).bundleExplicit(roles);
    QCOMPARE(bundles.size(), 1);
    const Bundle& b = bundles.first();
    QCOMPARE(b.chainAsGiven.size(), 2);
    QCOMPARE(b.chainAsGiven[0].commonName(), QStringLiteral("Upper"));
    QCOMPARE(b.chain.size(), 2);
    QCOMPARE(b.chain[0].commonName(), QStringLiteral("Lower"));
    QCOMPARE(b.chainAsGivenSource, QStringLiteral("chain.pem"));
    QCOMPARE(b.keyStatus, KeyStatus::NotProvided);

    const QStringList codes = analyzedCodes(b);
    QVERIFY2(codes.contains(QStringLiteral("CHAIN_ORDER")), qPrintable(codes.join(' ')));
}

void TestBundler::concatenatedFullchainsAreSeparateBundles()
{
    // Two sites' fullchains in one file (an export, a cat of two fullchain.pem): each leaf is followed
    // by its own chain, so neither is "not first" and neither is blamed for the other's certificates.
    const IssuedCert other = m_pki->otherCa();
    const IssuedCert otherLeaf = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("mail.example.test")); }, &other);
    m_dir->write(QStringLiteral("both.pem"), m_pki->leaf.certPem() + m_pki->intermediate.certPem() + otherLeaf.certPem() +
                                                 other.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 2);
    const Bundle* first = bundleFor(bundles, m_pki->leaf);
    const Bundle* second = bundleFor(bundles, otherLeaf);
    QVERIFY(first && second);
    QCOMPARE(first->chainAsGiven.size(), 1);
    QCOMPARE(first->chainAsGiven.first().der(), m_pki->intermediate.certDer());
    QVERIFY(first->leafFirstAsGiven);
    QCOMPARE(second->chainAsGiven.size(), 1);
    QCOMPARE(second->chainAsGiven.first().der(), other.certDer());
    QVERIFY(second->leafFirstAsGiven);

    AnalysisOptions options;
    options.at = fixedNow();
    options.trust = m_trust.get();
    for (const Bundle* b : {first, second})
        for (const Finding& f : Analyzer().analyze(*b, options))
            // (Sending a root is worth a note; an unrelated certificate in the chain would be a warning.)
            QVERIFY2(f.code != QLatin1String("CHAIN_ORDER") &&
                         !(f.code == QLatin1String("CHAIN_EXTRA_CERT") && f.severity > Severity::Info),
                     qPrintable(f.code + QLatin1String(": ") + f.message));
}

void TestBundler::oneServersFileKeepsItsWholeOrder()
{
    // One leaf after its intermediate: the server sends the file as it is, so the leaf is not first.
    m_dir->write(QStringLiteral("site.pem"), m_pki->intermediate.certPem() + m_pki->leaf.certPem());
    const QList<Bundle> bundles = bundleFolder(m_dir->path());
    QCOMPARE(bundles.size(), 1);
    QVERIFY(!bundles.first().leafFirstAsGiven);
    QCOMPARE(bundles.first().chainAsGiven.size(), 1);
    const QStringList codes = analyzedCodes(bundles.first());
    QVERIFY2(codes.contains(QStringLiteral("CHAIN_ORDER")), qPrintable(codes.join(' ')));
}

void TestBundler::chainLongerThanTheBoundIsSaidSo()
{
    // A generated hierarchy deeper than any real one: every issuer is in the file, so the report must
    // say the chain is too long, not that an issuer is missing.
    QList<IssuedCert> cas{m_pki->root};
    for (int depth = 0; depth < kMaxChainLength + 3; ++depth)
        cas << m_pki->issue(caSpec(QStringLiteral("Level %1 CA").arg(depth)), &cas.last());
    const IssuedCert leaf = m_pki->issueLeaf([](CertSpec&) {}, &cas.last());
    QByteArray pem = leaf.certPem();
    for (qsizetype i = cas.size() - 1; i >= 1; --i)
        pem += cas[i].certPem();
    m_dir->write(QStringLiteral("deep/fullchain.pem"), pem);
    const QList<Bundle> bundles = bundleFolder(m_dir->path(QStringLiteral("deep")));
    QCOMPARE(bundles.size(), 1);
    QVERIFY(bundles.first().chainTooLong);
    QCOMPARE(bundles.first().chain.size(), kMaxChainLength);

    const QStringList codes = analyzedCodes(bundles.first());
    QVERIFY2(codes.contains(QStringLiteral("CHAIN_TOO_LONG")), qPrintable(codes.join(' ')));
    QVERIFY2(!codes.contains(QStringLiteral("CHAIN_INCOMPLETE")), qPrintable(codes.join(' ')));
}

QTEST_GUILESS_MAIN(TestBundler)
#include "tst_bundler.moc"
