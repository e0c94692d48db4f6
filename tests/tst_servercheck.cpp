// ServerCheck's comparison of what a server serves with the files on disk (compareWithDisk), on
// bundles built in memory: no sockets, no files. The end-to-end path through a live loopback server
// is tst_servers.

#include "FindingRegistry.h"
#include "ServerCheck.h"
#include "TestPki.h"

#include <QTest>

#include <memory>

using namespace staplescope;
using namespace staplescope::test;

namespace {

const QString kServed = QStringLiteral("www.example.test:443 [127.0.0.1]");
const QString kFolder = QStringLiteral("/etc/nginx/ssl");
const QString kLabel = QStringLiteral("/etc/nginx/ssl/");

Certificate certOf(const IssuedCert& issued, const QString& path)
{
    return Certificate::fromDer(issued.certDer(), SourceLocation{path, 0, 1});
}

OcspStaple stapleOf(const QByteArray& der, const SourceLocation& where)
{
    return OcspStaple::fromDer(der, where).staple;
}

Bundle servedBundle(const Certificate& leaf, const OcspStaple& staple = {})
{
    Bundle b;
    b.served = true;
    b.origin = kServed;
    b.id = leaf.id() + QLatin1Char('@') + kServed;
    b.leaf = leaf.withSource(SourceLocation{kServed, 0, 2, true});
    if (!staple.isNull())
        b.staples << AttachedStaple{staple.withSource(SourceLocation{kServed, 0, 1, true}),
                                    StapleAttachment::Explicit};
    return b;
}

Bundle diskBundle(const Certificate& leaf, const QList<OcspStaple>& staples = {})
{
    Bundle b;
    b.origin = kFolder;
    b.id = leaf.id();
    b.leaf = leaf;
    for (const OcspStaple& s : staples)
        b.staples << AttachedStaple{s, StapleAttachment::CertIdMatch};
    return b;
}

DiskState diskOf(const QList<Bundle>& bundles)
{
    DiskState disk;
    disk.bundles = bundles;
    disk.files << kFolder + QStringLiteral("/site.pem");
    for (const Bundle& b : bundles)
        disk.certificates << b.leaf;
    return disk;
}

// The one finding a comparison must give, with its severity and what its message must name.
void expectOne(const QList<Finding>& findings, Severity severity, const QStringList& named,
               const QStringList& objectIds)
{
    QCOMPARE(findings.size(), 1);
    const Finding& f = findings.first();
    QCOMPARE(f.code, codeName(FindingCode::ServedDiffersFromDisk));
    QCOMPARE(f.severity, severity);
    QCOMPARE(f.subject, kServed); // about the address that served it
    for (const QString& text : named)
        QVERIFY2(f.message.contains(text),
                 qPrintable(QStringLiteral("'%1' not in: %2").arg(text, f.message)));
    QCOMPARE(f.objectIds, objectIds);
}

} // namespace

class TestServerCheck : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void sameCertificateAndStaple();
    void noStapleOnDiskIsNoDifference();
    void nothingOnDiskIsNoDifference();
    void servedCertificateNotAmongTheFiles();
    void onlyCaCertificatesOnDisk();
    void serverStillServesThePreviousCertificate();
    void serverStillServesThePreviousCertificateFoundByName();
    void serverServesANewerCertificate();
    void namesMatchWhateverTheCase();
    void stapleOnDiskNotServed();
    void serverStaplesTheOldCertificatesResponse();
    void stapleOnDiskIsNewer();
    void serverStaplesANewerResponse();
    void newestStapleOnDiskCounts();
    void serverTargets_data();
    void serverTargets();

private:
    QByteArray stapleAt(double thisUpdateDays, const IssuedCert* subject = nullptr) const;

    std::unique_ptr<TestPki> m_pki;
    IssuedCert m_renewedIssued;
    Certificate m_leaf;    // on disk as /etc/nginx/ssl/site.pem
    Certificate m_renewed; // the same names, issued 9 days later
};

void TestServerCheck::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    m_leaf = certOf(m_pki->leaf, kFolder + QStringLiteral("/site.pem"));
    m_renewedIssued = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -1);
        s.notAfter = daysFrom(fixedNow(), 89);
    });
    m_renewed = certOf(m_renewedIssued, kFolder + QStringLiteral("/site.pem"));
    QVERIFY(!m_leaf.isNull() && !m_renewed.isNull());
    QVERIFY(m_renewed.notBefore() > m_leaf.notBefore());
}

QByteArray TestServerCheck::stapleAt(double thisUpdateDays, const IssuedCert* subject) const
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.thisUpdate = daysFrom(fixedNow(), thisUpdateDays);
    spec.nextUpdate = daysFrom(spec.thisUpdate, 7);
    return m_pki->staple(spec, subject);
}

void TestServerCheck::sameCertificateAndStaple()
{
    const QByteArray der = stapleAt(-1);
    const OcspStaple onDisk = stapleOf(der, SourceLocation{kFolder + QStringLiteral("/site.ocsp"), 0, 1});
    const OcspStaple served = stapleOf(der, SourceLocation{kServed, 0, 1, true});
    QVERIFY(compareWithDisk(servedBundle(m_leaf, served), diskOf({diskBundle(m_leaf, {onDisk})}), kLabel)
                .isEmpty());
}

void TestServerCheck::noStapleOnDiskIsNoDifference()
{
    // The server may fetch its own staples: without a staple file there is nothing to compare.
    const OcspStaple served = stapleOf(stapleAt(-1), SourceLocation{kServed, 0, 1, true});
    QVERIFY(compareWithDisk(servedBundle(m_leaf, served), diskOf({diskBundle(m_leaf)}), kLabel).isEmpty());
    QVERIFY(compareWithDisk(servedBundle(m_leaf), diskOf({diskBundle(m_leaf)}), kLabel).isEmpty());
}

void TestServerCheck::nothingOnDiskIsNoDifference()
{
    // Nothing read (the loader's findings say why): no certificate to differ from.
    QVERIFY(compareWithDisk(servedBundle(m_leaf), DiskState{}, kLabel).isEmpty());
}

void TestServerCheck::servedCertificateNotAmongTheFiles()
{
    // The files hold another site's certificate: never a comparison partner, so "not among the files".
    const Certificate mail = certOf(m_pki->issueLeaf([](CertSpec& s) {
        s.commonName = QStringLiteral("mail.example.test");
        s.dnsNames = {QStringLiteral("mail.example.test")};
    }),
                                    kFolder + QStringLiteral("/mail.pem"));
    const QList<Finding> findings = compareWithDisk(servedBundle(m_leaf), diskOf({diskBundle(mail)}), kLabel);
    expectOne(findings, Severity::Warning, {kLabel, mail.displayName(), m_leaf.displayName()}, {m_leaf.id()});
}

void TestServerCheck::onlyCaCertificatesOnDisk()
{
    DiskState disk;
    disk.certificates << certOf(m_pki->intermediate, kFolder + QStringLiteral("/chain.pem"));
    const QList<Finding> findings = compareWithDisk(servedBundle(m_leaf), disk, kLabel);
    expectOne(findings, Severity::Warning, {QStringLiteral("only CA certificates")}, {m_leaf.id()});
}

void TestServerCheck::serverStillServesThePreviousCertificate()
{
    // The disk bundle of the old certificate knows it was superseded (the bundler said so).
    Bundle old =
        diskBundle(m_leaf.withSource(SourceLocation{kFolder + QStringLiteral("/previous.pem"), 0, 1}));
    old.supersededBy = m_renewed;
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_leaf), diskOf({old, diskBundle(m_renewed)}), kLabel);
    expectOne(findings, Severity::Error,
              {m_leaf.serialHex(), m_renewed.serialHex(), formatTime(m_renewed.notBefore()),
               kFolder + QStringLiteral("/site.pem")},
              {m_leaf.id(), m_renewed.id()});
}

void TestServerCheck::serverStillServesThePreviousCertificateFoundByName()
{
    // Only the renewed certificate on disk: found by its names.
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_leaf), diskOf({diskBundle(m_renewed)}), kLabel);
    expectOne(findings, Severity::Error, {m_leaf.serialHex(), m_renewed.serialHex()},
              {m_leaf.id(), m_renewed.id()});
}

void TestServerCheck::serverServesANewerCertificate()
{
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_renewed), diskOf({diskBundle(m_leaf)}), kLabel);
    expectOne(findings, Severity::Warning,
              {m_renewed.serialHex(), m_leaf.serialHex(), QStringLiteral("not the ones the server reads")},
              {m_renewed.id(), m_leaf.id()});
}

void TestServerCheck::namesMatchWhateverTheCase()
{
    const Certificate upper = certOf(m_pki->issueLeaf([](CertSpec& s) {
        s.commonName = QStringLiteral("WWW.EXAMPLE.TEST");
        s.dnsNames = {QStringLiteral("WWW.Example.Test")};
        s.notBefore = daysFrom(fixedNow(), -1);
    }),
                                     kFolder + QStringLiteral("/site.pem"));
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_leaf), diskOf({diskBundle(upper)}), kLabel);
    expectOne(findings, Severity::Error, {m_leaf.serialHex(), upper.serialHex()}, {m_leaf.id(), upper.id()});
}

void TestServerCheck::stapleOnDiskNotServed()
{
    const QString file = kFolder + QStringLiteral("/site.ocsp");
    const OcspStaple onDisk = stapleOf(stapleAt(-1), SourceLocation{file, 0, 1});
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_leaf), diskOf({diskBundle(m_leaf, {onDisk})}), kLabel);
    expectOne(findings, Severity::Warning, {file, m_leaf.serialHex(), QStringLiteral("sent no staple")},
              {onDisk.id(), m_leaf.id()});
}

void TestServerCheck::serverStaplesTheOldCertificatesResponse()
{
    // The classic: the file was replaced with the renewed certificate's staple, the server still
    // staples the previous certificate's.
    const QString file = kFolder + QStringLiteral("/site.ocsp");
    const OcspStaple onDisk = stapleOf(stapleAt(-1, &m_renewedIssued), SourceLocation{file, 0, 1});
    const OcspStaple served = stapleOf(stapleAt(-5), SourceLocation{kServed, 0, 1, true});
    QVERIFY(served.responses().first().certId.serialMatches(m_leaf));
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_renewed, served), diskOf({diskBundle(m_renewed, {onDisk})}), kLabel);
    expectOne(findings, Severity::Error, {m_leaf.serialHex(), m_renewed.serialHex(), file},
              {served.id(), onDisk.id(), m_renewed.id()});
}

void TestServerCheck::stapleOnDiskIsNewer()
{
    const QString file = kFolder + QStringLiteral("/site.ocsp");
    const OcspStaple onDisk = stapleOf(stapleAt(-1), SourceLocation{file, 0, 1});
    const OcspStaple served = stapleOf(stapleAt(-3.5), SourceLocation{kServed, 0, 1, true});
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_leaf, served), diskOf({diskBundle(m_leaf, {onDisk})}), kLabel);
    expectOne(findings, Severity::Warning,
              {file, formatTime(daysFrom(fixedNow(), -1)), formatTime(daysFrom(fixedNow(), -3.5)),
               QStringLiteral("2 days 12 hours older")},
              {served.id(), onDisk.id()});
}

void TestServerCheck::serverStaplesANewerResponse()
{
    const QString file = kFolder + QStringLiteral("/site.ocsp");
    const OcspStaple onDisk = stapleOf(stapleAt(-4), SourceLocation{file, 0, 1});
    const OcspStaple served = stapleOf(stapleAt(-1), SourceLocation{kServed, 0, 1, true});
    const QList<Finding> findings =
        compareWithDisk(servedBundle(m_leaf, served), diskOf({diskBundle(m_leaf, {onDisk})}), kLabel);
    expectOne(findings, Severity::Info, {file, formatTime(daysFrom(fixedNow(), -1))},
              {served.id(), onDisk.id()});
}

void TestServerCheck::newestStapleOnDiskCounts()
{
    // Two staples on disk for the leaf (an old one left beside the fresh one): the newest is what the
    // server should serve, so serving the old one is behind.
    const OcspStaple older =
        stapleOf(stapleAt(-6), SourceLocation{kFolder + QStringLiteral("/site.ocsp.old"), 0, 1});
    const OcspStaple newer =
        stapleOf(stapleAt(-1), SourceLocation{kFolder + QStringLiteral("/site.ocsp"), 0, 1});
    const OcspStaple served = stapleOf(older.der(), SourceLocation{kServed, 0, 1, true});
    for (const QList<OcspStaple>& order :
         {QList<OcspStaple>{older, newer}, QList<OcspStaple>{newer, older}}) {
        const QList<Finding> findings =
            compareWithDisk(servedBundle(m_leaf, served), diskOf({diskBundle(m_leaf, order)}), kLabel);
        expectOne(findings, Severity::Warning,
                  {kFolder + QStringLiteral("/site.ocsp"), QStringLiteral("5 days older")},
                  {served.id(), newer.id()});
    }
}

// What a user drops or pastes as a server: host:port text by port, URLs by their scheme.
void TestServerCheck::serverTargets_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("host");      // empty: not a server
    QTest::addColumn<int>("port");
    QTest::addColumn<int>("startTls");      // -1: by port
    QTest::addColumn<QString>("errorPart");

    const int byPort = -1;
    QTest::newRow("host:port goes by port") << "mail.example.org:587" << "mail.example.org" << 587 << byPort << "";
    QTest::newRow("a bare name is 443") << " www.example.org " << "www.example.org" << 443 << byPort << "";
    QTest::newRow("https URL with a path") << "https://www.example.org/a/b?c=d#e" << "www.example.org" << 443
                                           << int(StartTlsProtocol::None) << "";
    QTest::newRow("https URL with a port") << "https://127.0.0.1:8443/" << "127.0.0.1" << 8443 << int(StartTlsProtocol::None) << "";
    QTest::newRow("smtp URL with the submission port") << "smtp://mail.example.org:587" << "mail.example.org" << 587
                                                       << int(StartTlsProtocol::Smtp) << "";
    QTest::newRow("smtp URL without a port") << "SMTP://mail.example.org" << "mail.example.org" << 25 << int(StartTlsProtocol::Smtp) << "";
    QTest::newRow("imaps URL") << "imaps://imap.example.org/INBOX" << "imap.example.org" << 993 << int(StartTlsProtocol::None) << "";
    QTest::newRow("xmpp URL") << "xmpp://chat.example.org" << "chat.example.org" << 5222 << int(StartTlsProtocol::Xmpp) << "";
    QTest::newRow("IPv6 URL") << "https://[2001:db8::1]:4443/" << "2001:db8::1" << 4443 << int(StartTlsProtocol::None) << "";
    QTest::newRow("unknown scheme") << "gopher://old.example.org/" << "" << 0 << byPort << "gopher://";
    QTest::newRow("plain http is not TLS") << "http://www.example.org/" << "" << 0 << byPort << "http://";
    QTest::newRow("URL without a host") << "https:///path" << "" << 0 << byPort << "server name";
    QTest::newRow("words") << "not a server" << "" << 0 << byPort << "\"not a server\" is not a server";
    QTest::newRow("port out of range") << "mail.example.org:70000" << "" << 0 << byPort << "is not a server";
}

void TestServerCheck::serverTargets()
{
    QFETCH(QString, text);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(int, startTls);
    QFETCH(QString, errorPart);
    const ServerTarget target = parseServerTarget(text);
    if (host.isEmpty()) {
        QVERIFY(!target.ok());
        QVERIFY2(target.error.contains(errorPart), qPrintable(target.error));
        return;
    }
    QVERIFY2(target.ok(), qPrintable(target.error));
    QCOMPARE(target.endpoint.host, host);
    QCOMPARE(int(target.endpoint.port), port);
    QCOMPARE(target.startTls.has_value() ? int(*target.startTls) : -1, startTls);
}

QTEST_GUILESS_MAIN(TestServerCheck)
#include "tst_servercheck.moc"
