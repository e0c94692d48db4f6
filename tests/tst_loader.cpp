// Loader: content is sniffed, never trusted from the name. Every row feeds bytes made by the test
// PKI (or deliberately broken ones) and checks what came out, and what was reported.

#include "Loader.h"
#include "ReportFormat.h"
#include "TestPki.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTest>

#include <openssl/core_names.h>

#include <sys/stat.h>
#include <unistd.h>

using namespace staplescope;
using namespace staplescope::test;

namespace {

struct Counts {
    int certificates = 0, staples = 0, keys = 0, crls = 0;
};

QString describe(const LoadedInputs& in)
{
    QStringList lines{QStringLiteral("certs %1 staples %2 keys %3 crls %4")
                          .arg(in.certificates.size()).arg(in.staples.size()).arg(in.keys.size()).arg(in.crls.size())};
    for (const Finding& f : in.findings)
        lines << QStringLiteral("%1 %2 [%3]: %4").arg(severityName(f.severity), f.code, f.subject, f.message);
    return lines.join(QLatin1Char('\n'));
}

const Finding* findCode(const LoadedInputs& in, const QString& code)
{
    for (const Finding& f : in.findings)
        if (f.code == code)
            return &f;
    return nullptr;
}

QByteArray crlf(QByteArray text) { return text.replace("\n", "\r\n"); }

} // namespace

class TestLoader : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void sniff_data();
    void sniff();
    void pemBlocksKeepTheirPositions();
    void trailingBytesAreReportedButTheObjectIsKept();
    void stapleEncodings_data();
    void stapleEncodings();
    void pkcs12Passwords_data();
    void pkcs12Passwords();
    void encryptedKeyWithPassword();
    void keyMaterialNeverAppearsInReports_data();
    void keyMaterialNeverAppearsInReports();
    void folderWithSymlinkLoopIsReadOnce();
    void unrecognisedFilesInAFolderAreQuiet();
    void danglingSymlinkAndFifo();
    void unreadableFile();

private:
    std::unique_ptr<TestPki> m_pki;
    IssuedCert m_rsaLeaf;
};

void TestLoader::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    QVERIFY(m_pki->leaf.cert && m_pki->intermediate.cert && m_pki->root.cert);
    m_rsaLeaf = m_pki->issueLeaf([](CertSpec& s) { s.keyType = KeyType::Rsa2048; });
    QVERIFY(m_rsaLeaf.cert);
}

void TestLoader::sniff_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<int>("certificates");
    QTest::addColumn<int>("staples");
    QTest::addColumn<int>("keys");
    QTest::addColumn<int>("crls");
    QTest::addColumn<QString>("code");     // the one finding expected, or empty for none
    QTest::addColumn<QString>("fragment"); // in its message

    const TestPki& p = *m_pki;
    const QByteArray leafPem = p.leaf.certPem();
    const QByteArray leafDer = p.leaf.certDer();
    const QByteArray crl = p.factory().crlDer(p.intermediate, daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6), {&p.leaf});
    const auto row = [](const char* name, const QByteArray& data, Counts n, const QString& code = {}, const QString& fragment = {}) {
        QTest::newRow(name) << data << n.certificates << n.staples << n.keys << n.crls << code << fragment;
    };

    row("PEM certificate", leafPem, {1});
    row("PEM with CRLF line ends", crlf(leafPem), {1});
    row("PEM with text around the blocks",
        "subject=CN = www.example.test\nissuer=CN = Staplescope Test Intermediate\n" + leafPem +
            "\nSome trailing notes.\n" + p.intermediate.certPem() + "-- end of bundle --\n",
        {2});
    row("PEM with CRLF and text around", crlf("Bag Attributes\n    friendlyName: www\n" + leafPem + "junk\n"), {1});
    row("several kinds of block in one PEM", TestPki::pem({&p.leaf, &p.intermediate}) + p.keyPem(p.leaf) +
                                                 PkiFactory::toPem(p.goodStaple(), "OCSP RESPONSE") +
                                                 PkiFactory::toPem(crl, "X509 CRL"),
        {2, 1, 1, 1});
    row("DER certificate", leafDer, {1});
    row("PKCS#7 DER", PkiFactory::pkcs7Der({&p.leaf, &p.intermediate}), {2});
    row("PKCS#7 PEM", PkiFactory::pkcs7Pem({&p.leaf, &p.intermediate}), {2});
    row("OCSP response DER", p.goodStaple(), {0, 1});
    row("OCSP response PEM", PkiFactory::toPem(p.goodStaple(), "OCSP RESPONSE"), {0, 1});
    row("OCSP response bare base64", p.goodStaple().toBase64() + "\n", {0, 1});
    row("OCSP response base64 in 64-column lines", [&] {
        QByteArray b64 = p.goodStaple().toBase64(), out;
        for (int i = 0; i < b64.size(); i += 64)
            out += b64.mid(i, 64) + "\r\n";
        return out;
    }(), {0, 1});
    row("tryLater response", p.staple([] { OcspSpec s; s.responseStatus = OCSP_RESPONSE_STATUS_TRYLATER; return s; }()), {0, 1});
    row("PKCS#8 key PEM", p.keyPem(p.leaf), {0, 0, 1});
    row("PKCS#8 key DER", PkiFactory::privateKeyDer(p.leaf.key.get()), {0, 0, 1});
    row("PKCS#1 RSA key", PkiFactory::privateKeyPem(m_rsaLeaf.key.get(), PkiFactory::KeyFormat::Pkcs1Rsa), {0, 0, 1});
    row("SEC1 EC key", PkiFactory::privateKeyPem(p.leaf.key.get(), PkiFactory::KeyFormat::Sec1Ec), {0, 0, 1});
    row("SEC1 EC key with EC PARAMETERS block",
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
            PkiFactory::privateKeyPem(p.leaf.key.get(), PkiFactory::KeyFormat::Sec1Ec),
        {0, 0, 1});
    row("encrypted PKCS#8 key without password",
        PkiFactory::privateKeyPem(p.leaf.key.get(), PkiFactory::KeyFormat::EncryptedPkcs8, "pw"), {0, 0, 1});
    row("CRL DER", crl, {0, 0, 0, 1});
    row("CRL PEM", PkiFactory::toPem(crl, "X509 CRL"), {0, 0, 0, 1});

    row("empty", {}, {}, QStringLiteral("INPUT_EMPTY"), QStringLiteral("0 bytes"));
    row("only newlines", "\n\n\r\n", {}, QStringLiteral("INPUT_EMPTY"), QStringLiteral("only whitespace"));
    row("binary garbage", QByteArray::fromHex("deadbeef00112233445566778899aabbccddeeff"), {},
        QStringLiteral("INPUT_UNRECOGNIZED"), QStringLiteral("binary data"));
    row("ASN.1 that is none of ours", QByteArray::fromHex("3006020101020102"), {}, QStringLiteral("INPUT_MALFORMED"),
        QStringLiteral("not a certificate, OCSP response"));
    row("truncated DER", leafDer.left(leafDer.size() / 2), {}, QStringLiteral("INPUT_MALFORMED"),
        QStringLiteral("announces %1 bytes but the file holds only %2").arg(leafDer.size()).arg(leafDer.size() / 2));
    row("DER cut inside its header", QByteArray::fromHex("3082"), {}, QStringLiteral("INPUT_MALFORMED"), QStringLiteral("header is unreadable"));
    row("PEM without END line", leafPem.left(leafPem.size() - 30), {}, QStringLiteral("INPUT_MALFORMED"), QStringLiteral("truncated"));
    row("PEM with bad base64", "-----BEGIN CERTIFICATE-----\nMIIB*not*base64!!\n-----END CERTIFICATE-----\n", {},
        QStringLiteral("INPUT_MALFORMED"), QStringLiteral("invalid base64"));
    row("PEM certificate block holding a CRL", PkiFactory::toPem(crl, "CERTIFICATE"), {}, QStringLiteral("INPUT_MALFORMED"),
        QStringLiteral("does not decode as X.509"));
    row("PEM certificate block cut short", PkiFactory::toPem(leafDer.left(200), "CERTIFICATE"), {},
        QStringLiteral("INPUT_MALFORMED"), QStringLiteral("truncated: 200 of"));
    row("HTML error page", "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n", {},
        QStringLiteral("INPUT_UNRECOGNIZED"), QStringLiteral("HTML page"));
    row("HTTP headers before the OCSP body (curl -i)",
        "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 471\r\n\r\n" + p.goodStaple(), {},
        QStringLiteral("INPUT_UNRECOGNIZED"), QStringLiteral("HTTP response with its headers (\"HTTP/1.1 200 OK\")"));
    row("HTTP headers before an HTML error body",
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1></body></html>\r\n", {},
        QStringLiteral("INPUT_UNRECOGNIZED"), QStringLiteral("HTTP response with its headers (\"HTTP/1.1 502 Bad Gateway\")"));
    row("OCSP request DER", PkiFactory::ocspRequestDer(p.leaf, p.intermediate), {}, QStringLiteral("INPUT_UNRECOGNIZED"),
        QStringLiteral("an OCSP request"));
    row("OCSP request PEM", PkiFactory::toPem(PkiFactory::ocspRequestDer(p.leaf, p.intermediate), "OCSP REQUEST"), {},
        QStringLiteral("INPUT_UNRECOGNIZED"), QStringLiteral("an OCSP request"));
    row("plain text", "server {\n    listen 443 ssl;\n}\n", {}, QStringLiteral("INPUT_UNRECOGNIZED"),
        QStringLiteral("plain text, not PEM (first line: \"server {\")"));
    row("JSON", "{\"error\": \"rate limited\"}\n", {}, QStringLiteral("INPUT_UNRECOGNIZED"), QStringLiteral("JSON"));
    row("unknown PEM label", "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", {}, QStringLiteral("INPUT_UNRECOGNIZED"),
        QStringLiteral("labelled \"FOO\""));
}

void TestLoader::sniff()
{
    QFETCH(QByteArray, data);
    QFETCH(int, certificates);
    QFETCH(int, staples);
    QFETCH(int, keys);
    QFETCH(int, crls);
    QFETCH(QString, code);
    QFETCH(QString, fragment);

    // The name says nothing: every row is loaded as "ocsp.der" so only content can decide.
    const LoadedInputs in = Loader().loadData(data, QStringLiteral("ocsp.der"));
    const QString what = describe(in);
    QVERIFY2(in.certificates.size() == certificates, qPrintable(what));
    QVERIFY2(in.staples.size() == staples, qPrintable(what));
    QVERIFY2(in.keys.size() == keys, qPrintable(what));
    QVERIFY2(in.crls.size() == crls, qPrintable(what));
    QCOMPARE(in.files, QStringList{QStringLiteral("ocsp.der")});
    if (code.isEmpty()) {
        QVERIFY2(in.findings.isEmpty(), qPrintable(what));
        return;
    }
    QVERIFY2(in.findings.size() == 1, qPrintable(what));
    QCOMPARE(in.findings.first().code, code);
    QVERIFY2(in.findings.first().message.contains(fragment), qPrintable(what));
    QVERIFY(!in.findings.first().fix.isEmpty());
}

void TestLoader::pemBlocksKeepTheirPositions()
{
    const TestPki& p = *m_pki;
    const QByteArray data = crlf(TestPki::pem({&p.leaf, &p.intermediate}) + p.keyPem(p.leaf));
    const LoadedInputs in = Loader().loadData(data, QStringLiteral("site.pem"));
    QCOMPARE(in.certificates.size(), 2);
    QCOMPARE(in.certificates[0].source().display(), QStringLiteral("site.pem (#1 of 3)"));
    QCOMPARE(in.certificates[1].source().display(), QStringLiteral("site.pem (#2 of 3)"));
    QCOMPARE(in.certificates[0].der(), p.leaf.certDer());
    QCOMPARE(in.certificates[1].der(), p.intermediate.certDer());
    QCOMPARE(in.keys.size(), 1);
    QVERIFY(in.keys[0].matches(in.certificates[0]));
    QVERIFY(!in.keys[0].matches(in.certificates[1]));
    QCOMPARE(in.keys[0].format(), QStringLiteral("PKCS#8"));
}

void TestLoader::trailingBytesAreReportedButTheObjectIsKept()
{
    const QByteArray der = m_pki->leaf.certDer();
    const LoadedInputs in = Loader().loadData(der + QByteArray("\n\n\0junk", 7), QStringLiteral("cert.der"));
    QCOMPARE(in.certificates.size(), 1);
    QCOMPARE(in.certificates[0].der(), der);
    const Finding* f = findCode(in, QStringLiteral("INPUT_MALFORMED"));
    QVERIFY2(f, qPrintable(describe(in)));
    QVERIFY2(f->message.contains(QStringLiteral("7 unexpected bytes")) &&
                 f->message.contains(QStringLiteral("ends at byte %1").arg(der.size())),
             qPrintable(f->message));
}

void TestLoader::stapleEncodings_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<int>("encoding");
    QTest::addColumn<QString>("hash");
    const TestPki& p = *m_pki;
    OcspSpec sha256 = p.goodStapleSpec();
    sha256.certIdHash = EVP_sha256();
    QTest::newRow("DER, SHA-1 CertID") << p.goodStaple() << int(OcspStaple::Encoding::Der) << QStringLiteral("SHA-1");
    QTest::newRow("DER, SHA-256 CertID") << p.staple(sha256) << int(OcspStaple::Encoding::Der) << QStringLiteral("SHA-256");
    QTest::newRow("PEM") << PkiFactory::toPem(p.goodStaple(), "OCSP RESPONSE") << int(OcspStaple::Encoding::Pem) << QStringLiteral("SHA-1");
    QTest::newRow("base64") << p.staple(sha256).toBase64() << int(OcspStaple::Encoding::Base64) << QStringLiteral("SHA-256");
}

void TestLoader::stapleEncodings()
{
    QFETCH(QByteArray, data);
    QFETCH(int, encoding);
    QFETCH(QString, hash);
    const LoadedInputs in = Loader().loadData(data, QStringLiteral("staple"));
    QCOMPARE(in.staples.size(), 1);
    const OcspStaple& s = in.staples.first();
    QCOMPARE(int(s.encoding()), encoding);
    QVERIFY(s.isSuccessful());
    // responses() returns a new list each call: keep it, a reference into a temporary dangles.
    const QList<OcspSingleResponse> responses = s.responses();
    QCOMPARE(responses.size(), 1);
    const OcspCertId& id = responses.first().certId;
    QCOMPARE(id.hashAlgorithm, hash);
    const Certificate leaf = Certificate::fromDer(m_pki->leaf.certDer(), {});
    const Certificate issuer = Certificate::fromDer(m_pki->intermediate.certDer(), {});
    QVERIFY(id.matches(leaf, issuer));
    QVERIFY(!id.matches(issuer, leaf));
    QCOMPARE(responses.first().thisUpdate, daysFrom(fixedNow(), -1));
    QCOMPARE(responses.first().nextUpdate, daysFrom(fixedNow(), 6));
}

void TestLoader::pkcs12Passwords_data()
{
    QTest::addColumn<QByteArray>("password");       // the file's
    QTest::addColumn<QStringList>("answers");       // what the callback answers, in turn; "<none>": nullopt
    QTest::addColumn<int>("asked");
    QTest::addColumn<bool>("opens");
    QTest::addColumn<QString>("fragment");

    QTest::newRow("right password") << QByteArray("s3cret") << QStringList{"s3cret"} << 1 << true << QString();
    QTest::newRow("no password available") << QByteArray("s3cret") << QStringList{"<none>"} << 1 << false
                                           << QStringLiteral("no password was given");
    QTest::newRow("wrong password") << QByteArray("s3cret") << QStringList{"guess"} << 1 << false
                                    << QStringLiteral("password given does not open");
    QTest::newRow("empty password opens without asking") << QByteArray("") << QStringList{"unused"} << 0 << true << QString();
}

void TestLoader::pkcs12Passwords()
{
    QFETCH(QByteArray, password);
    QFETCH(QStringList, answers);
    QFETCH(int, asked);
    QFETCH(bool, opens);
    QFETCH(QString, fragment);

    const QByteArray p12 = PkiFactory::pkcs12(m_pki->leaf, {&m_pki->intermediate}, password);
    QVERIFY(!p12.isEmpty());
    int calls = 0;
    QString askedFor;
    LoadOptions options;
    options.passwordProvider = [&](const QString& path) -> std::optional<QString> {
        askedFor = path;
        const QString answer = answers.value(calls++);
        if (answer == QLatin1String("<none>"))
            return std::nullopt;
        return answer;
    };
    const LoadedInputs in = Loader(options).loadData(p12, QStringLiteral("site.pfx"));
    QCOMPARE(calls, asked);
    if (asked)
        QCOMPARE(askedFor, QStringLiteral("site.pfx"));
    if (opens) {
        QVERIFY2(in.findings.isEmpty(), qPrintable(describe(in)));
        QCOMPARE(in.certificates.size(), 2);
        QCOMPARE(in.certificates.first().der(), m_pki->leaf.certDer());
        QCOMPARE(in.keys.size(), 1);
        QVERIFY(in.keys.first().matches(in.certificates.first()));
    } else {
        QCOMPARE(in.certificates.size(), 0);
        const Finding* f = findCode(in, QStringLiteral("INPUT_PASSWORD_REQUIRED"));
        QVERIFY2(f && f->message.contains(fragment), qPrintable(describe(in)));
    }
}

void TestLoader::encryptedKeyWithPassword()
{
    const QByteArray pem = PkiFactory::privateKeyPem(m_pki->leaf.key.get(), PkiFactory::KeyFormat::EncryptedPkcs8, "pw");
    const Certificate leaf = Certificate::fromDer(m_pki->leaf.certDer(), {});

    LoadOptions right;
    right.passwordProvider = [](const QString&) { return std::optional<QString>(QStringLiteral("pw")); };
    LoadedInputs in = Loader(right).loadData(pem, QStringLiteral("key.pem"));
    QCOMPARE(in.keys.size(), 1);
    QVERIFY(!in.keys.first().isEncrypted());
    QVERIFY(in.keys.first().matches(leaf));

    LoadOptions wrong;
    wrong.passwordProvider = [](const QString&) { return std::optional<QString>(QStringLiteral("nope")); };
    in = Loader(wrong).loadData(pem, QStringLiteral("key.pem"));
    QCOMPARE(in.keys.size(), 1);
    QVERIFY(in.keys.first().isEncrypted());
    QVERIFY(!in.keys.first().matches(leaf));
    QVERIFY(findCode(in, QStringLiteral("INPUT_PASSWORD_REQUIRED")));

    in = Loader().loadData(pem, QStringLiteral("key.pem"));
    QCOMPARE(in.keys.size(), 1);
    QVERIFY(in.keys.first().isEncrypted());
    QCOMPARE(in.keys.first().format(), QStringLiteral("encrypted PKCS#8"));
    QVERIFY(in.findings.isEmpty());
}

void TestLoader::keyMaterialNeverAppearsInReports_data()
{
    QTest::addColumn<QByteArray>("keyFile");
    QTest::addColumn<bool>("matching");
    const TestPki& p = *m_pki;
    QTest::newRow("PKCS#8, matching") << p.keyPem(p.leaf) << true;
    QTest::newRow("SEC1, matching") << PkiFactory::privateKeyPem(p.leaf.key.get(), PkiFactory::KeyFormat::Sec1Ec) << true;
    QTest::newRow("PKCS#8 DER, matching") << PkiFactory::privateKeyDer(p.leaf.key.get()) << true;
    QTest::newRow("PKCS#8, mismatched") << p.keyPem(p.responder) << false;
    QTest::newRow("in the certificate file") << p.leaf.certPem() + p.keyPem(p.leaf) << true;
}

void TestLoader::keyMaterialNeverAppearsInReports()
{
    QFETCH(QByteArray, keyFile);
    QFETCH(bool, matching);
    const TestPki& p = *m_pki;
    const IssuedCert& keyOwner = matching ? p.leaf : p.responder;

    TestFolder dir;
    dir.write(QStringLiteral("site/cert.pem"), TestPki::pem({&p.leaf, &p.intermediate}));
    dir.write(QStringLiteral("site/privkey.pem"), keyFile);
    const InspectionReport report = inspectPaths({dir.path(QStringLiteral("site"))}, {}, fixedNow());
    QCOMPARE(report.bundles.size(), 1);
    QCOMPARE(report.bundles.first().bundle.keyStatus, matching ? KeyStatus::Matches : KeyStatus::Mismatch);

    // What must never leak: the private scalar (hex, any case, with or without colons) and the
    // encodings of the key file (PEM body lines, DER in base64 and hex).
    BIGNUM* raw = nullptr;
    QVERIFY(EVP_PKEY_get_bn_param(keyOwner.key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) == 1);
    BignumPtr priv(raw);
    QByteArray scalar(BN_num_bytes(priv.get()), Qt::Uninitialized);
    BN_bn2bin(priv.get(), reinterpret_cast<unsigned char*>(scalar.data()));
    const QByteArray der = PkiFactory::privateKeyDer(keyOwner.key.get());
    QStringList secrets{QString::fromLatin1(scalar.toHex()), QString::fromLatin1(scalar.toHex().toUpper()),
                        hexColon(scalar), QString::fromLatin1(der.toBase64()).left(64).mid(40),
                        QString::fromLatin1(der.toHex()).mid(80, 40)};
    for (const QByteArray& line : p.keyPem(keyOwner).split('\n'))
        if (line.size() > 40 && !line.startsWith("-----"))
            secrets << QString::fromLatin1(line);
    QVERIFY(secrets.size() >= 6);

    const QStringList outputs{reportToText(report, false), reportToText(report, true),
                              QString::fromUtf8(reportToJsonBytes(report)), reportToMarkdown(report), reportToHtml(report)};
    for (const QString& out : outputs) {
        QVERIFY(out.size() > 200);
        for (const QString& secret : std::as_const(secrets))
            QVERIFY2(!out.contains(secret, Qt::CaseInsensitive), qPrintable(QStringLiteral("key material in output: %1").arg(secret)));
    }
    // It does say whether the key matches.
    QVERIFY(outputs[0].contains(matching ? QStringLiteral("(matches)") : QStringLiteral("(mismatch)")));
}

void TestLoader::folderWithSymlinkLoopIsReadOnce()
{
    TestFolder dir;
    const TestPki& p = *m_pki;
    dir.write(QStringLiteral("etc/exim4/cert.pem"), p.leaf.certPem());
    dir.write(QStringLiteral("etc/exim4/sub/deeper/chain.pem"), p.intermediate.certPem());
    dir.write(QStringLiteral("etc/exim4/sub/ocsp.der"), p.goodStaple());
    QVERIFY(QFile::link(dir.path(QStringLiteral("etc")), dir.path(QStringLiteral("etc/exim4/sub/deeper/loop"))));
    QVERIFY(QFile::link(dir.path(QStringLiteral("etc/exim4/cert.pem")), dir.path(QStringLiteral("etc/exim4/sub/alias.pem"))));

    QElapsedTimer timer;
    timer.start();
    const QStringList files = Loader::expandPaths({dir.path(QStringLiteral("etc"))});
    QVERIFY(timer.elapsed() < 5000);
    QCOMPARE(files.size(), 3);
    QStringList canonical;
    for (const QString& f : files)
        canonical << QFileInfo(f).canonicalFilePath();
    canonical.removeDuplicates();
    QCOMPARE(canonical.size(), 3);

    const LoadedInputs in = Loader().loadPaths({dir.path(QStringLiteral("etc"))});
    QCOMPARE(in.certificates.size(), 2);
    QCOMPARE(in.staples.size(), 1);
    QCOMPARE(in.files.size(), 3);
    QVERIFY2(in.findings.isEmpty(), qPrintable(describe(in)));

    // The same folder named twice, and through the link: still each file once.
    const LoadedInputs twice = Loader().loadPaths({dir.path(QStringLiteral("etc")), dir.path(QStringLiteral("etc/exim4/sub/deeper/loop"))});
    QCOMPARE(twice.certificates.size(), 2);
}

void TestLoader::unrecognisedFilesInAFolderAreQuiet()
{
    TestFolder dir;
    dir.write(QStringLiteral("conf/README"), "Certificates for mail.example.test live here.\n");
    dir.write(QStringLiteral("conf/broken.pem"), "Certificates for mail.example.test live here.\n");
    const LoadedInputs in = Loader().loadPaths({dir.path(QStringLiteral("conf"))});
    QCOMPARE(in.findings.size(), 2);
    for (const Finding& f : in.findings) {
        QCOMPARE(f.code, QStringLiteral("INPUT_UNRECOGNIZED"));
        // A README met while walking a folder is normal; a .pem that is not PEM is not.
        QCOMPARE(f.severity, f.subject.endsWith(QLatin1String(".pem")) ? Severity::Warning : Severity::Info);
    }
    // Named explicitly, the README is loud too.
    const LoadedInputs named = Loader().loadPaths({dir.path(QStringLiteral("conf/README"))});
    QCOMPARE(named.findings.size(), 1);
    QCOMPARE(named.findings.first().severity, Severity::Warning);
}

void TestLoader::danglingSymlinkAndFifo()
{
    TestFolder dir;
    dir.mkdir(QStringLiteral("live"));
    QVERIFY(QFile::link(dir.path(QStringLiteral("archive/cert3.pem")), dir.path(QStringLiteral("live/cert.pem"))));
    QList<Finding> findings;
    QVERIFY(Loader::expandPaths({dir.path(QStringLiteral("live"))}, &findings).isEmpty());
    QCOMPARE(findings.size(), 1);
    QCOMPARE(findings.first().code, QStringLiteral("INPUT_UNREADABLE"));
    QVERIFY(findings.first().message.contains(QStringLiteral("Dangling symbolic link")));

    // Named directly, a dangling link is an error.
    const LoadedInputs named = Loader().loadPaths({dir.path(QStringLiteral("live/cert.pem"))});
    QCOMPARE(named.findings.size(), 1);
    QCOMPARE(named.findings.first().severity, Severity::Error);
    QVERIFY(named.findings.first().message.contains(QStringLiteral("archive/cert3.pem")));

    const QByteArray fifo = QFile::encodeName(dir.path(QStringLiteral("fifo")));
    QVERIFY(mkfifo(fifo.constData(), 0600) == 0);
    const LoadedInputs in = Loader().loadPaths({QString::fromLocal8Bit(fifo)}); // must not block reading it
    QCOMPARE(in.findings.size(), 1);
    QCOMPARE(in.findings.first().code, QStringLiteral("INPUT_UNREADABLE"));
}

void TestLoader::unreadableFile()
{
    TestFolder dir;
    const QString path = dir.write(QStringLiteral("privkey.pem"), m_pki->keyPem(m_pki->leaf));
    QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
    QFile probe(path);
    if (probe.open(QIODevice::ReadOnly))
        QSKIP("running as root: a mode-000 file is still readable");
    const LoadedInputs in = Loader().loadPaths({path});
    QCOMPARE(in.keys.size(), 0);
    QCOMPARE(in.findings.size(), 1);
    QCOMPARE(in.findings.first().code, QStringLiteral("INPUT_UNREADABLE"));
    QVERIFY(in.findings.first().message.contains(QStringLiteral("Permission denied")));
}

QTEST_GUILESS_MAIN(TestLoader)
#include "tst_loader.moc"
