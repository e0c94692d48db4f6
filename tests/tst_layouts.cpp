// Real-world server layouts, as an admin drops them on the window (or runs
// `staplescope-cli inspect FOLDER`): certbot's /etc/letsencrypt with its archive/ and live/
// symlinks, HAProxy's combined .pem + .pem.ocsp, nginx's separate files with an arbitrarily named
// stapling file, Exim's tls_ocsp_file, a PKCS#12 export, two CAs for the same names and a
// short-lived certificate. Each test checks what a person reads first: how many bundles, which
// certificate is current, its chain, key and staple, and the worst findings.

#include "Inspection.h"
#include "TestPki.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <openssl/pem.h>

#include <unistd.h>

using namespace staplescope;
using namespace staplescope::test;

namespace {

void named(CertSpec& s, const QString& name)
{
    s.commonName = name;
    s.dnsNames = {name};
}

// Let's Encrypt since 2025: no OCSP URL, a CRL URL, 90 days.
void letsEncryptStyle(CertSpec& s)
{
    s.ocspUrls.clear();
    s.crlUrls = {QStringLiteral("http://r11.c.lencr.test/42.crl")};
}

QString serialOf(const IssuedCert& cert)
{
    return Certificate::fromDer(cert.certDer(), {}).serialHex();
}
bool isLeaf(const Certificate& c, const IssuedCert& cert)
{
    return c.der() == cert.certDer();
}

const BundleReport* reportFor(const InspectionReport& report, const IssuedCert& leaf)
{
    for (const BundleReport& b : report.bundles)
        if (isLeaf(b.bundle.leaf, leaf))
            return &b;
    return nullptr;
}

QStringList codesOf(const BundleReport& b)
{
    QStringList codes;
    for (const Finding& f : b.findings)
        codes << f.code;
    return codes;
}

const Finding* findingWith(const QList<Finding>& findings, const QString& code)
{
    for (const Finding& f : findings)
        if (f.code == code)
            return &f;
    return nullptr;
}

int currentBundles(const InspectionReport& report)
{
    int n = 0;
    for (const BundleReport& b : report.bundles)
        n += b.bundle.isSuperseded() ? 0 : 1;
    return n;
}

QString describe(const InspectionReport& report)
{
    QStringList lines;
    for (const Finding& f : report.inputFindings)
        lines << QStringLiteral("input %1 %2 [%3]: %4")
                     .arg(severityName(f.severity), f.code, f.subject, f.message);
    for (const BundleReport& b : report.bundles) {
        lines << QStringLiteral("bundle %1 (%2)%3")
                     .arg(b.bundle.leaf.displayName(), b.bundle.leaf.source().path,
                          b.bundle.isSuperseded() ? QStringLiteral(" superseded") : QString());
        for (const Finding& f : b.findings)
            lines << QStringLiteral("  %1 %2 [%3]: %4")
                         .arg(severityName(f.severity), f.code, f.subject, f.message);
    }
    return lines.join(QLatin1Char('\n'));
}

void dumpExample(const Finding& f, const QString& tempDir)
{
    test::dumpExample(f, tempDir, QStringLiteral("/etc"), QString::fromLatin1(QTest::currentTestFunction()));
}

// A certificate signing request for `cert`'s key, as certbot 1.x left in /etc/letsencrypt/csr.
QByteArray csrPem(const IssuedCert& cert, const QString& name)
{
    X509ReqPtr req(X509_REQ_new());
    X509_REQ_set_version(req.get(), 0);
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const QByteArray cn = name.toUtf8();
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.constData()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), cert.key.get());
    X509_REQ_sign(req.get(), cert.key.get(), EVP_sha256());
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return QByteArray(data, int(len));
}

// A relative symbolic link, as certbot makes them (live/NAME/cert.pem → ../../archive/NAME/cert2.pem).
bool symlinkTo(const QString& target, const QString& link)
{
    return ::symlink(QFile::encodeName(target).constData(), QFile::encodeName(link).constData()) == 0;
}

} // namespace

class TestLayouts : public QObject {
    Q_OBJECT

private slots:
    void init();

    void certbot_data();
    void certbot();
    void certbotLiveFolderAlone();
    void haproxyCrtList();
    void haproxyOcspNamedAfterItsPemWins();
    void nginxSslFolder_data();
    void nginxSslFolder();
    void exim_data();
    void exim();
    void pkcs12_data();
    void pkcs12();
    void twoCasForTheSameNames();
    void twoCasWithTheSameNameForTheSameNames();
    void shortLivedCertificate_data();
    void shortLivedCertificate();
    void onlyCaCertificates();

private:
    // Writes the root as a trust anchor outside the inspected folder.
    QString trustRoot() const
    {
        return m_dir->write(QStringLiteral("trust/root.pem"), m_pki->root.certPem());
    }
    InspectionReport inspectFolder(const QString& folder, const QDateTime& at = fixedNow(),
                                   const LoadOptions& load = {}) const
    {
        return inspectPaths({folder}, {trustRoot()}, at, load);
    }
    // certbot's layout for one name, two issuances (archive/NAME/*1.pem, *2.pem) and live/ symlinks
    // to the second.
    void writeCertbotName(const QString& name, const IssuedCert& first, const IssuedCert& second) const;

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestFolder> m_dir;
};

void TestLayouts::init()
{
    m_pki = std::make_unique<TestPki>();
    m_dir = std::make_unique<TestFolder>();
}

void TestLayouts::writeCertbotName(const QString& name, const IssuedCert& first,
                                   const IssuedCert& second) const
{
    const QString archive = QStringLiteral("letsencrypt/archive/%1/").arg(name);
    int n = 1;
    for (const IssuedCert* c : {&first, &second}) {
        m_dir->write(archive + QStringLiteral("cert%1.pem").arg(n), c->certPem());
        m_dir->write(archive + QStringLiteral("chain%1.pem").arg(n), m_pki->intermediate.certPem());
        m_dir->write(archive + QStringLiteral("fullchain%1.pem").arg(n),
                     TestPki::pem({c, &m_pki->intermediate}));
        m_dir->write(archive + QStringLiteral("privkey%1.pem").arg(n), m_pki->keyPem(*c));
        ++n;
    }
    const QString live = m_dir->mkdir(QStringLiteral("letsencrypt/live/%1").arg(name));
    for (const char* file : {"cert", "chain", "fullchain", "privkey"})
        QVERIFY(symlinkTo(
            QStringLiteral("../../archive/%1/%2").arg(name, QLatin1String(file) + QStringLiteral("2.pem")),
            QStringLiteral("%1/%2.pem").arg(live, QLatin1String(file))));
    m_dir->write(QStringLiteral("letsencrypt/live/%1/README").arg(name),
                 "This directory contains your keys and certificates.\n\n`privkey.pem`  : the private key "
                 "for your certificate.\n");
    m_dir->write(
        QStringLiteral("letsencrypt/renewal/%1.conf").arg(name),
        QStringLiteral(
            "# renew_before_expiry = 30 days\nversion = 2.1.0\narchive_dir = /etc/letsencrypt/archive/%1\n"
            "cert = /etc/letsencrypt/live/%1/cert.pem\n")
            .arg(name)
            .toUtf8());
}

void TestLayouts::certbot_data()
{
    QTest::addColumn<bool>("reuseKey");
    QTest::addColumn<bool>("keysAndCsrs"); // certbot before 2.0 also kept keys/ and csr/
    QTest::newRow("new key at each renewal") << false << false;
    QTest::newRow("--reuse-key") << true << false;
    QTest::newRow("certbot 1.x keys/ and csr/") << false << true;
}

void TestLayouts::certbot()
{
    // Two names, each renewed once (30 days before expiry): archive/ holds both issuances, live/
    // links to the second. Dropping /etc/letsencrypt must show each name's current certificate once.
    QFETCH(bool, reuseKey);
    QFETCH(bool, keysAndCsrs);
    QHash<QString, std::pair<IssuedCert, IssuedCert>> issued;
    int issuance = 0;
    for (const QString& name : {QStringLiteral("example.test"), QStringLiteral("mail.example.test")}) {
        const IssuedCert first = m_pki->issueLeaf([&](CertSpec& s) {
            named(s, name);
            letsEncryptStyle(s);
            s.notBefore = daysFrom(fixedNow(), -70);
            s.notAfter = daysFrom(fixedNow(), 20);
        });
        const IssuedCert second = m_pki->issueLeaf([&](CertSpec& s) {
            named(s, name);
            letsEncryptStyle(s);
            s.notBefore = daysFrom(fixedNow(), -10);
            s.notAfter = daysFrom(fixedNow(), 80);
            if (reuseKey)
                s.reuseKey = first.key;
        });
        writeCertbotName(name, first, second);
        issued.insert(name, {first, second});
        for (const IssuedCert* c : {&first, &second}) {
            if (!keysAndCsrs)
                break;
            const QString n = QStringLiteral("%1").arg(issuance++, 4, 10, QLatin1Char('0'));
            m_dir->write(QStringLiteral("letsencrypt/keys/%1_key-certbot.pem").arg(n), m_pki->keyPem(*c));
            m_dir->write(QStringLiteral("letsencrypt/csr/%1_csr-certbot.pem").arg(n), csrPem(*c, name));
        }
    }
    m_dir->write(QStringLiteral("letsencrypt/live/README"),
                 "This directory contains your keys and certificates.\n");
    m_dir->write(
        QStringLiteral("letsencrypt/accounts/acme-v02.api.letsencrypt.org/directory/0123abcd/meta.json"),
        R"({"creation_dt": "2025-01-01T00:00:00Z", "creation_host": "mail"})");
    m_dir->write(QStringLiteral(
                     "letsencrypt/accounts/acme-v02.api.letsencrypt.org/directory/0123abcd/private_key.json"),
                 R"({"n": "redacted", "e": "AQAB", "kty": "RSA"})");

    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("letsencrypt")));
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 4, qPrintable(text)); // two issuances per name, no copies from live/
    QCOMPARE(currentBundles(report), 2);
    QVERIFY2(report.worst() == Severity::Info, qPrintable(text));
    QCOMPARE(report.exitCode(), 0);

    for (auto it = issued.cbegin(); it != issued.cend(); ++it) {
        const BundleReport* current = reportFor(report, it->second);
        const BundleReport* previous = reportFor(report, it->first);
        QVERIFY2(current && previous, qPrintable(text));
        QVERIFY(!current->bundle.isSuperseded());
        QVERIFY(previous->bundle.isSuperseded());
        // Named by the path server configurations use, not by the archive file it links to.
        QVERIFY2(current->bundle.leaf.source().path.contains(QStringLiteral("/live/%1/").arg(it.key())),
                 qPrintable(current->bundle.leaf.source().path));
        QVERIFY(isLeaf(previous->bundle.supersededBy, it->second));
        QCOMPARE(current->bundle.previousCertificates.size(), 1);
        QVERIFY(isLeaf(current->bundle.previousCertificates.first(), it->first));
        QCOMPARE(current->verdict, QStringLiteral("Healthy"));
        QCOMPARE(previous->verdict, QStringLiteral("Superseded by a newer certificate"));

        // Chain from fullchain, key matched, nothing to staple.
        QCOMPARE(current->bundle.chain.size(), 1);
        QVERIFY(current->bundle.chain.first().der() == m_pki->intermediate.certDer());
        QCOMPARE(current->bundle.chainAsGiven.size(), 1);
        QCOMPARE(current->bundle.keyStatus, KeyStatus::Matches);
        QCOMPARE(previous->bundle.keyStatus, KeyStatus::Matches);
        QVERIFY(current->bundle.staples.isEmpty());

        const Finding* noOcsp = findingWith(current->findings, QStringLiteral("OCSP_URL_MISSING"));
        QVERIFY2(noOcsp, qPrintable(text));
        QCOMPARE(noOcsp->severity, Severity::Info);
        QVERIFY2(noOcsp->message.contains(QStringLiteral("CRL")), qPrintable(noOcsp->message));
        QVERIFY2(noOcsp->message.contains(QStringLiteral("http://r11.c.lencr.test/42.crl")),
                 qPrintable(noOcsp->message));

        const Finding* superseded = findingWith(previous->findings, QStringLiteral("CERT_SUPERSEDED"));
        QVERIFY2(superseded, qPrintable(text));
        QCOMPARE(superseded->severity, Severity::Info);
        // The fix names the old file, which only archive/ holds.
        QVERIFY2(superseded->fix.contains(QStringLiteral("/archive/%1/cert1.pem").arg(it.key())) ||
                     superseded->fix.contains(QStringLiteral("/archive/%1/fullchain1.pem").arg(it.key())),
                 qPrintable(superseded->fix));
        // The previous certificate enters its warning window here (20 days left): only info, as history.
        for (const Finding& f : previous->findings)
            QCOMPARE(f.severity, Severity::Info);
    }
    // The accounts' JSON, READMEs, renewal configs and old CSRs are not problems: nothing louder than info.
    for (const Finding& f : report.inputFindings)
        QVERIFY2(f.severity == Severity::Info, qPrintable(text));
    if (keysAndCsrs) {
        const Finding* csr = findingWith(report.inputFindings, QStringLiteral("INPUT_UNRECOGNIZED"));
        QVERIFY2(csr && csr->message.contains(QStringLiteral("CSR")), qPrintable(text));
        dumpExample(*csr, m_dir->path());
    }
}

void TestLayouts::certbotLiveFolderAlone()
{
    // What nginx/Exim configs point at: live/NAME/ (symlinks only). One bundle, no history.
    const IssuedCert first = m_pki->issueLeaf([](CertSpec& s) {
        letsEncryptStyle(s);
        s.notBefore = daysFrom(fixedNow(), -70);
        s.notAfter = daysFrom(fixedNow(), 20);
    });
    const IssuedCert second = m_pki->issueLeaf([](CertSpec& s) { letsEncryptStyle(s); });
    writeCertbotName(QStringLiteral("www.example.test"), first, second);

    const InspectionReport report =
        inspectFolder(m_dir->path(QStringLiteral("letsencrypt/live/www.example.test")));
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 1, qPrintable(text));
    const BundleReport& b = report.bundles.first();
    QVERIFY(isLeaf(b.bundle.leaf, second));
    QVERIFY(!b.bundle.isSuperseded());
    QVERIFY(b.bundle.previousCertificates.isEmpty());
    QCOMPARE(b.bundle.keyStatus, KeyStatus::Matches);
    QCOMPARE(b.bundle.chain.size(), 1);
    QCOMPARE(codesOf(b), QStringList{QStringLiteral("OCSP_URL_MISSING")});
    // Named by the path the server configuration uses, not by the archive file behind the link.
    QVERIFY2(b.bundle.leaf.source().path.contains(QStringLiteral("/live/www.example.test/")),
             qPrintable(b.bundle.leaf.source().path));
    QCOMPARE(report.exitCode(), 0);
}

void TestLayouts::haproxyCrtList()
{
    // /etc/haproxy/certs: one combined PEM per site (leaf, chain, key), its staple as site.pem.ocsp,
    // and a crt-list naming them. b's staple was fetched for its previous certificate and never
    // refreshed after the renewal; c has no staple at all.
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert bOld = m_pki->issueLeaf([](CertSpec& s) {
        named(s, QStringLiteral("b.example.test"));
        s.notBefore = daysFrom(fixedNow(), -80);
        s.notAfter = daysFrom(fixedNow(), 10);
    });
    const IssuedCert b = m_pki->issueLeaf([](CertSpec& s) {
        named(s, QStringLiteral("b.example.test"));
        s.notBefore = daysFrom(fixedNow(), -2);
        s.notAfter = daysFrom(fixedNow(), 88);
    });
    const IssuedCert c = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("c.example.test")); });
    for (const auto& [file, cert] : {std::pair{"a", &a}, std::pair{"b", &b}, std::pair{"c", &c}})
        m_dir->write(QStringLiteral("haproxy/certs/%1.pem").arg(QLatin1String(file)),
                     TestPki::pem({cert, &m_pki->intermediate}) + m_pki->keyPem(*cert));
    m_dir->write(QStringLiteral("haproxy/certs/a.pem.ocsp"), m_pki->staple(m_pki->goodStapleSpec(), &a));
    OcspSpec stale = m_pki->goodStapleSpec();
    stale.thisUpdate = daysFrom(fixedNow(), -3);
    stale.nextUpdate = daysFrom(fixedNow(), 4);
    const QString staleFile =
        m_dir->write(QStringLiteral("haproxy/certs/b.pem.ocsp"), m_pki->staple(stale, &bOld));
    m_dir->write(QStringLiteral("haproxy/crt-list.txt"),
                 "/etc/haproxy/certs/a.pem [ocsp-update on] a.example.test\n"
                 "/etc/haproxy/certs/b.pem [ocsp-update on] b.example.test\n"
                 "/etc/haproxy/certs/c.pem c.example.test\n");
    m_dir->write(QStringLiteral("haproxy/haproxy.cfg"),
                 "frontend https\n  bind :443 ssl crt-list /etc/haproxy/crt-list.txt\n");

    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("haproxy")));
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 3, qPrintable(text));
    QCOMPARE(currentBundles(report), 3);

    const BundleReport* ra = reportFor(report, a);
    const BundleReport* rb = reportFor(report, b);
    const BundleReport* rc = reportFor(report, c);
    QVERIFY(ra && rb && rc);
    for (const BundleReport* r : {ra, rb, rc}) {
        QCOMPARE(r->bundle.keyStatus, KeyStatus::Matches);
        QCOMPARE(r->bundle.chain.size(), 1);
        QVERIFY(r->bundle.chainAsGivenSource.endsWith(QStringLiteral(".pem")));
    }
    // a: healthy, its staple attached by CertID.
    QCOMPARE(ra->worst, Severity::Info);
    QCOMPARE(ra->bundle.staples.size(), 1);
    QCOMPARE(ra->bundle.staples.first().attachment, StapleAttachment::CertIdMatch);

    // b: the stale staple sits on b (by its name), diagnosed with both serials and the file to rewrite.
    QCOMPARE(rb->bundle.staples.size(), 1);
    QCOMPARE(rb->worst, Severity::Critical);
    QCOMPARE(rb->findings.first().code, QStringLiteral("STAPLE_FOR_OTHER_CERT"));
    const Finding& other = rb->findings.first();
    QVERIFY2(other.message.contains(serialOf(bOld)) && other.message.contains(serialOf(b)),
             qPrintable(other.message));
    QVERIFY2(other.subject.startsWith(staleFile), qPrintable(other.subject));
    QVERIFY2(other.fix.contains(staleFile), qPrintable(other.fix));

    // c: has a responder and no staple.
    QCOMPARE(rc->bundle.staples.size(), 0);
    QCOMPARE(rc->worst, Severity::Warning);
    QCOMPARE(rc->findings.first().code, QStringLiteral("STAPLE_MISSING"));

    QVERIFY2(!codesOf(report).contains(QStringLiteral("STAPLE_UNMATCHED")), qPrintable(text));
    QVERIFY2(!codesOf(report).contains(QStringLiteral("STAPLE_MULTIPLE_RESPONSES")), qPrintable(text));
    QCOMPARE(report.exitCode(), 2);
    // Worst first.
    QVERIFY(isLeaf(report.bundles.first().bundle.leaf, b));
}

void TestLayouts::haproxyOcspNamedAfterItsPemWins()
{
    // HAProxy sends c.pem.ocsp with c.pem, whatever it holds. Here an admin copied a's staple to
    // c.pem.ocsp: c serves a's staple (wrong), and a is not "stapled twice".
    const IssuedCert a = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("a.example.test")); });
    const IssuedCert c = m_pki->issueLeaf([](CertSpec& s) { named(s, QStringLiteral("c.example.test")); });
    for (const auto& [file, cert] : {std::pair{"a", &a}, std::pair{"c", &c}})
        m_dir->write(QStringLiteral("certs/%1.pem").arg(QLatin1String(file)),
                     TestPki::pem({cert, &m_pki->intermediate}) + m_pki->keyPem(*cert));
    const QByteArray aStaple = m_pki->staple(m_pki->goodStapleSpec(), &a);
    m_dir->write(QStringLiteral("certs/a.pem.ocsp"), aStaple);
    const QString copied = m_dir->write(QStringLiteral("certs/c.pem.ocsp"), aStaple);

    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("certs")));
    const QString text = describe(report);
    const BundleReport* ra = reportFor(report, a);
    const BundleReport* rc = reportFor(report, c);
    QVERIFY2(ra && rc, qPrintable(text));
    QVERIFY2(ra->bundle.staples.size() == 1, qPrintable(text));
    QVERIFY2(ra->worst == Severity::Info, qPrintable(text));
    QVERIFY2(rc->bundle.staples.size() == 1, qPrintable(text));
    QCOMPARE(rc->bundle.staples.first().staple.source().path, copied);
    const Finding* other = findingWith(rc->findings, QStringLiteral("STAPLE_FOR_OTHER_CERT"));
    QVERIFY2(other, qPrintable(text));
    QVERIFY2(other->message.contains(serialOf(a)) && other->message.contains(serialOf(c)),
             qPrintable(other->message));
    QVERIFY2(other->message.contains(QStringLiteral("a.pem")),
             qPrintable(other->message)); // whose staple it is
    QVERIFY2(other->fix.contains(copied), qPrintable(other->fix));
}

void TestLayouts::nginxSslFolder_data()
{
    QTest::addColumn<bool>("stale");
    QTest::newRow("fresh ocsp.resp") << false;
    QTest::newRow("ocsp.resp of the previous certificate") << true;
}

void TestLayouts::nginxSslFolder()
{
    // /etc/nginx/ssl: ssl_certificate example.test.crt, ssl_certificate_key example.test.key,
    // ssl_trusted_certificate chain.pem, ssl_stapling_file ocsp.resp, plus dhparam.pem and the CSR.
    QFETCH(bool, stale);
    const IssuedCert previous = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -85);
        s.notAfter = daysFrom(fixedNow(), 5);
    });
    m_dir->write(QStringLiteral("nginx/ssl/example.test.crt"), m_pki->leaf.certPem());
    m_dir->write(QStringLiteral("nginx/ssl/example.test.key"),
                 PkiFactory::privateKeyPem(m_pki->leaf.key.get(), PkiFactory::KeyFormat::Sec1Ec));
    m_dir->write(QStringLiteral("nginx/ssl/chain.pem"), m_pki->intermediate.certPem());
    const QString resp =
        m_dir->write(QStringLiteral("nginx/ssl/ocsp.resp"),
                     stale ? m_pki->staple(m_pki->goodStapleSpec(), &previous) : m_pki->goodStaple());
    m_dir->write(QStringLiteral("nginx/ssl/dhparam.pem"),
                 "-----BEGIN DH PARAMETERS-----\nMAYCAQACAQI=\n-----END DH PARAMETERS-----\n");

    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("nginx/ssl")));
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 1, qPrintable(text));
    const BundleReport& b = report.bundles.first();
    QVERIFY(isLeaf(b.bundle.leaf, m_pki->leaf));
    QCOMPARE(b.bundle.chain.size(), 1);
    QVERIFY(b.bundle.chainAsGiven.isEmpty()); // separate files give no order to check
    QCOMPARE(b.bundle.keyStatus, KeyStatus::Matches);
    QCOMPARE(b.bundle.staples.size(), 1);
    QCOMPARE(b.bundle.staples.first().staple.source().path, resp);
    QVERIFY2(report.inputFindings.isEmpty(), qPrintable(text)); // dhparam.pem is a normal companion
    if (!stale) {
        QCOMPARE(b.bundle.staples.first().attachment, StapleAttachment::CertIdMatch);
        QVERIFY2(b.worst == Severity::Info, qPrintable(text));
        QCOMPARE(report.exitCode(), 0);
        return;
    }
    QCOMPARE(b.bundle.staples.first().attachment, StapleAttachment::BesideFiles);
    QCOMPARE(b.findings.first().code, QStringLiteral("STAPLE_FOR_OTHER_CERT"));
    QVERIFY2(b.findings.first().message.contains(serialOf(previous)), qPrintable(b.findings.first().message));
    QVERIFY2(b.findings.first().fix.contains(resp), qPrintable(b.findings.first().fix));
    QCOMPARE(report.exitCode(), 2);
}

void TestLayouts::exim_data()
{
    QTest::addColumn<bool>("pem");
    QTest::newRow("tls_ocsp_file as DER") << false;
    QTest::newRow("tls_ocsp_file as PEM") << true;
}

void TestLayouts::exim()
{
    // /etc/exim4: exim.crt (fullchain), exim.key, tls_ocsp_file exim.ocsp, next to Exim's own config.
    QFETCH(bool, pem);
    m_dir->write(QStringLiteral("exim4/exim.crt"), TestPki::pem({&m_pki->leaf, &m_pki->intermediate}));
    m_dir->write(QStringLiteral("exim4/exim.key"),
                 PkiFactory::privateKeyPem(m_pki->leaf.key.get(), PkiFactory::KeyFormat::Pkcs8));
    const QByteArray der = m_pki->goodStaple();
    const QString ocsp =
        m_dir->write(QStringLiteral("exim4/exim.ocsp"), pem ? PkiFactory::toPem(der, "OCSP RESPONSE") : der);
    m_dir->write(QStringLiteral("exim4/update-exim4.conf.conf"), "dc_eximconfig_configtype='internet'\n");
    m_dir->write(QStringLiteral("exim4/conf.d/main/03_exim4-config_tlsoptions"),
                 "MAIN_TLS_CERTIFICATE = CONFDIR/exim.crt\nMAIN_TLS_PRIVATEKEY = CONFDIR/exim.key\n"
                 "tls_ocsp_file = CONFDIR/exim.ocsp\n");
    m_dir->write(QStringLiteral("exim4/passwd.client"), "# password file for SMTP AUTH as a client\n");

    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("exim4")));
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 1, qPrintable(text));
    const BundleReport& b = report.bundles.first();
    QVERIFY(isLeaf(b.bundle.leaf, m_pki->leaf));
    QCOMPARE(b.bundle.chainAsGiven.size(), 1);
    QVERIFY(b.bundle.chainAsGivenSource.endsWith(QStringLiteral("exim.crt")));
    QCOMPARE(b.bundle.keyStatus, KeyStatus::Matches);
    QCOMPARE(b.bundle.staples.size(), 1);
    QCOMPARE(b.bundle.staples.first().attachment, StapleAttachment::CertIdMatch);
    for (const Finding& f : report.inputFindings)
        QVERIFY2(f.severity == Severity::Info, qPrintable(text)); // Exim's config files are not problems
    if (!pem) {
        QVERIFY2(b.worst == Severity::Info, qPrintable(text));
        QCOMPARE(report.exitCode(), 0);
        return;
    }
    QCOMPARE(b.worst, Severity::Warning);
    QCOMPARE(b.findings.first().code, QStringLiteral("STAPLE_TEXT_ENCODED"));
    QVERIFY2(b.findings.first().subject.startsWith(ocsp), qPrintable(b.findings.first().subject));
    QVERIFY2(b.findings.first().fix.contains(ocsp), qPrintable(b.findings.first().fix));
    QCOMPARE(report.exitCode(), 1);
}

void TestLayouts::pkcs12_data()
{
    QTest::addColumn<QString>("answer"); // what the password dialog answers; null: cancelled
    QTest::addColumn<bool>("opens");
    QTest::newRow("password given") << QStringLiteral("s3cret ünïcode") << true;
    QTest::newRow("no password") << QString() << false;
    QTest::newRow("wrong password") << QStringLiteral("guess") << false;
}

void TestLayouts::pkcs12()
{
    // A Windows/IIS export: leaf, chain and key in site.pfx, the staple beside it.
    QFETCH(QString, answer);
    QFETCH(bool, opens);
    const QString pfx =
        m_dir->write(QStringLiteral("iis/site.pfx"),
                     PkiFactory::pkcs12(m_pki->leaf, {&m_pki->intermediate}, "s3cret ünïcode"));
    m_dir->write(QStringLiteral("iis/site.ocsp.der"), m_pki->goodStaple());

    QStringList asked;
    LoadOptions load;
    load.passwordProvider = [&](const QString& path) -> std::optional<QString> {
        asked << path;
        if (answer.isNull())
            return std::nullopt;
        return answer;
    };
    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("iis")), fixedNow(), load);
    const QString text = describe(report);
    QCOMPARE(asked, QStringList{pfx}); // asked once, for the right file
    if (opens) {
        QVERIFY2(report.bundles.size() == 1, qPrintable(text));
        const BundleReport& b = report.bundles.first();
        QVERIFY(isLeaf(b.bundle.leaf, m_pki->leaf));
        QCOMPARE(b.bundle.chain.size(), 1);
        QCOMPARE(b.bundle.keyStatus, KeyStatus::Matches);
        QCOMPARE(b.bundle.staples.size(), 1);
        QVERIFY2(report.worst() == Severity::Info, qPrintable(text));
        return;
    }
    QVERIFY2(report.bundles.isEmpty(), qPrintable(text));
    const Finding* password = findingWith(report.inputFindings, QStringLiteral("INPUT_PASSWORD_REQUIRED"));
    QVERIFY2(password, qPrintable(text));
    QCOMPARE(password->severity, Severity::Error);
    QVERIFY2(password->subject.startsWith(pfx), qPrintable(password->subject));
    QVERIFY2(password->message.contains(answer.isNull() ? QStringLiteral("no password was given")
                                                        : QStringLiteral("does not open")),
             qPrintable(password->message));
    QVERIFY(!password->message.contains(QStringLiteral("s3cret")));
    QCOMPARE(report.exitCode(), 2);
}

void TestLayouts::twoCasForTheSameNames()
{
    // A migration between CAs: the same names from our CA and from another one. Neither supersedes
    // the other: both may be in use (one per server, or during the switch).
    const IssuedCert otherRoot = m_pki->otherCa(QStringLiteral("Other Test CA"));
    const IssuedCert ours = m_pki->issueLeaf([](CertSpec& s) { s.notBefore = daysFrom(fixedNow(), -20); });
    const IssuedCert theirs =
        m_pki->issueLeaf([](CertSpec& s) { s.notBefore = daysFrom(fixedNow(), -1); }, &otherRoot);
    m_dir->write(QStringLiteral("ssl/ours/fullchain.pem"), TestPki::pem({&ours, &m_pki->intermediate}));
    m_dir->write(QStringLiteral("ssl/ours/privkey.pem"), m_pki->keyPem(ours));
    m_dir->write(QStringLiteral("ssl/ours/ocsp.der"), m_pki->staple(m_pki->goodStapleSpec(), &ours));
    m_dir->write(QStringLiteral("ssl/theirs/fullchain.pem"), TestPki::pem({&theirs}));
    m_dir->write(QStringLiteral("ssl/theirs/privkey.pem"), m_pki->keyPem(theirs));
    m_dir->write(QStringLiteral("ssl/theirs/ocsp.der"),
                 m_pki->staple(m_pki->goodStapleSpec(), &theirs, &otherRoot));
    const QString otherAnchor = m_dir->write(QStringLiteral("trust/other.pem"), otherRoot.certPem());

    const InspectionReport report =
        inspectPaths({m_dir->path(QStringLiteral("ssl"))}, {trustRoot(), otherAnchor});
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 2, qPrintable(text));
    QCOMPARE(currentBundles(report), 2);
    for (const BundleReport& b : report.bundles) {
        QVERIFY(b.bundle.previousCertificates.isEmpty());
        QCOMPARE(b.bundle.keyStatus, KeyStatus::Matches);
        QCOMPARE(b.bundle.staples.size(), 1);
        QCOMPARE(b.bundle.staples.first().attachment, StapleAttachment::CertIdMatch);
    }
    QVERIFY2(!codesOf(report).contains(QStringLiteral("CERT_SUPERSEDED")), qPrintable(text));
    QVERIFY2(report.worst() == Severity::Info, qPrintable(text));
}

void TestLayouts::twoCasWithTheSameNameForTheSameNames()
{
    // Two unrelated private CAs that happen to share a name ("Staplescope Test Intermediate": every
    // appliance's "Internal CA" looks alike). The name alone must not make one leaf supersede the
    // other, nor a staple of one count as "the previous certificate's" for the other.
    CertSpec lookalikeSpec;
    lookalikeSpec.commonName = QStringLiteral("Staplescope Test Intermediate"); // same subject DN, other key
    lookalikeSpec.isCa = true;
    lookalikeSpec.notBefore = daysFrom(fixedNow(), -365);
    lookalikeSpec.notAfter = daysFrom(fixedNow(), 5 * 365);
    const IssuedCert lookalike = m_pki->issue(lookalikeSpec, nullptr);
    QCOMPARE(Certificate::fromDer(lookalike.certDer(), {}).subjectNameDer(),
             Certificate::fromDer(m_pki->intermediate.certDer(), {}).subjectNameDer());
    const IssuedCert ours = m_pki->issueLeaf([](CertSpec& s) { s.notBefore = daysFrom(fixedNow(), -20); });
    const IssuedCert theirs =
        m_pki->issueLeaf([](CertSpec& s) { s.notBefore = daysFrom(fixedNow(), -1); }, &lookalike);
    m_dir->write(QStringLiteral("ssl/ours/fullchain.pem"), TestPki::pem({&ours, &m_pki->intermediate}));
    m_dir->write(QStringLiteral("ssl/ours/privkey.pem"), m_pki->keyPem(ours));
    m_dir->write(QStringLiteral("ssl/ours/ocsp.der"), m_pki->staple(m_pki->goodStapleSpec(), &ours));
    m_dir->write(QStringLiteral("ssl/theirs/fullchain.pem"), TestPki::pem({&theirs}));
    m_dir->write(QStringLiteral("ssl/theirs/privkey.pem"), m_pki->keyPem(theirs));
    m_dir->write(QStringLiteral("ssl/theirs/ocsp.der"),
                 m_pki->staple(m_pki->goodStapleSpec(), &theirs, &lookalike));
    const QString otherAnchor = m_dir->write(QStringLiteral("trust/other.pem"), lookalike.certPem());

    const InspectionReport report =
        inspectPaths({m_dir->path(QStringLiteral("ssl"))}, {trustRoot(), otherAnchor});
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 2, qPrintable(text));
    QVERIFY2(currentBundles(report) == 2, qPrintable(text));
    QVERIFY2(!codesOf(report).contains(QStringLiteral("CERT_SUPERSEDED")), qPrintable(text));
    const BundleReport* ro = reportFor(report, ours);
    const BundleReport* rt = reportFor(report, theirs);
    QVERIFY(ro && rt);
    QVERIFY(ro->bundle.chain.first().der() == m_pki->intermediate.certDer());
    QVERIFY(isLeaf(rt->bundle.anchor, lookalike));
    for (const BundleReport* r : {ro, rt}) {
        QCOMPARE(r->bundle.keyStatus, KeyStatus::Matches);
        QVERIFY2(r->bundle.staples.size() == 1, qPrintable(text));
        QCOMPARE(r->bundle.staples.first().attachment, StapleAttachment::CertIdMatch);
    }
    QVERIFY2(report.worst() == Severity::Info, qPrintable(text));
}

void TestLayouts::shortLivedCertificate_data()
{
    QTest::addColumn<double>("hoursLeft");
    QTest::addColumn<int>("severity"); // of CERT_EXPIRING_SOON; -1 absent
    QTest::addColumn<QString>("fragment");
    // 6 days: the warning window is a third of it, 2 days.
    QTest::newRow("3 days left") << 72.0 << -1 << QString();
    QTest::newRow("48 hours left: window opens")
        << 48.0 << int(Severity::Warning) << QStringLiteral("expires in 2 days");
    QTest::newRow("30 hours left") << 30.0 << int(Severity::Warning)
                                   << QStringLiteral("expires in 1 day 6 hours");
    QTest::newRow("5 hours left") << 5.0 << int(Severity::Warning) << QStringLiteral("expires in 5 hours");
    QTest::newRow("expired 90 minutes ago") << -1.5 << -1 << QStringLiteral("expired 1 hour 30 minutes ago");
}

void TestLayouts::shortLivedCertificate()
{
    // Let's Encrypt's 6-day certificates: no OCSP, renewed every few days; hours matter.
    QFETCH(double, hoursLeft);
    QFETCH(int, severity);
    QFETCH(QString, fragment);
    const IssuedCert shortLived = m_pki->issueLeaf([](CertSpec& s) {
        named(s, QStringLiteral("short.example.test"));
        letsEncryptStyle(s);
        s.notBefore = daysFrom(fixedNow(), -6);
        s.notAfter = fixedNow();
    });
    m_dir->write(QStringLiteral("short/fullchain.pem"), TestPki::pem({&shortLived, &m_pki->intermediate}));
    m_dir->write(QStringLiteral("short/privkey.pem"), m_pki->keyPem(shortLived));

    const InspectionReport report =
        inspectFolder(m_dir->path(QStringLiteral("short")), hoursFrom(fixedNow(), -hoursLeft));
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 1, qPrintable(text));
    const BundleReport& b = report.bundles.first();
    QVERIFY(codesOf(b).contains(QStringLiteral("OCSP_URL_MISSING")));
    QVERIFY(!codesOf(b).contains(QStringLiteral("STAPLE_MISSING")));
    const Finding* soon = findingWith(b.findings, QStringLiteral("CERT_EXPIRING_SOON"));
    if (hoursLeft < 0) {
        const Finding* expired = findingWith(b.findings, QStringLiteral("CERT_EXPIRED"));
        QVERIFY2(expired, qPrintable(text));
        QVERIFY2(expired->message.contains(fragment), qPrintable(expired->message));
        QVERIFY(!soon);
        return;
    }
    if (severity < 0) {
        QVERIFY2(!soon, qPrintable(text));
        QCOMPARE(b.worst, Severity::Info);
        return;
    }
    QVERIFY2(soon, qPrintable(text));
    QCOMPARE(int(soon->severity), severity);
    QVERIFY2(soon->message.contains(fragment), qPrintable(soon->message));
    QVERIFY2(soon->message.contains(QStringLiteral("warning window of 2 days")), qPrintable(soon->message));
    QVERIFY2(soon->message.contains(QStringLiteral("6 days lifetime")), qPrintable(soon->message));
    // The timeline's marker is where the window opens.
    QCOMPARE(b.timeline.lanes.first().marker, daysFrom(fixedNow(), -2));
}

void TestLayouts::onlyCaCertificates()
{
    // Someone drops the CA folder (or /etc/ssl/certs): nothing to diagnose, and the report says why.
    m_dir->write(QStringLiteral("ssl/ca/chain.pem"), m_pki->intermediate.certPem());
    m_dir->write(QStringLiteral("ssl/ca/root.pem"), m_pki->root.certPem());
    const InspectionReport report = inspectFolder(m_dir->path(QStringLiteral("ssl/ca")));
    const QString text = describe(report);
    QVERIFY2(report.bundles.isEmpty(), qPrintable(text));
    QCOMPARE(codesOf(report), QStringList{QStringLiteral("NO_SERVER_CERTIFICATE")});
    const Finding& f = report.inputFindings.first();
    QCOMPARE(f.severity, Severity::Info);
    QVERIFY2(f.message.contains(QStringLiteral("2 certificate")), qPrintable(f.message));
    QCOMPARE(report.exitCode(), 0);
    dumpExample(f, m_dir->path());
}

QTEST_GUILESS_MAIN(TestLayouts)
#include "tst_layouts.moc"
