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

#include <QRegularExpression>
#include <QScopeGuard>

#include <openssl/pkcs7.h>

#include <dirent.h>
#include <fcntl.h>
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

// Replaces the content of the first ASN.1 time of `tag` (0x17 UTCTime, 0x18 GeneralizedTime) in
// `der` with `value` of the same length: the structure still decodes, the time does not parse.
QByteArray withBrokenTime(QByteArray der, char tag, const QByteArray& value)
{
    const QByteArray header = QByteArray(1, tag) + char(value.size());
    const qsizetype at = der.indexOf(header);
    if (at < 0)
        return {};
    der.replace(at + 2, value.size(), value);
    return der;
}

// Writes `data` to a file whose name is raw bytes (which may not be UTF-8): QFile cannot.
bool writeRaw(const QByteArray& path, const QByteArray& data)
{
    const int fd = ::open(path.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    const bool ok = ::write(fd, data.constData(), size_t(data.size())) == data.size();
    return ::close(fd) == 0 && ok;
}

// Whether this process can list a folder whatever its mode (root, CAP_DAC_READ_SEARCH).
bool permissionsAreBypassed(const QByteArray& lockedFolder)
{
    DIR* dir = ::opendir(lockedFolder.constData());
    if (!dir)
        return false;
    ::closedir(dir);
    return true;
}

QString findingsWith(const LoadedInputs& in, const QString& code, const QString& fragment)
{
    QStringList subjects;
    for (const Finding& f : in.findings)
        if (f.code == code && f.message.contains(fragment))
            subjects << f.subject;
    return subjects.join(QLatin1Char('|'));
}

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

    void absentOptionalFields_data();
    void absentOptionalFields();
    void invalidVersionIsNamed();
    void stapleWithoutBasicResponseHasNoResponder();
    void crlWithoutEntriesRevokesNothing();
    void pkcs12WithoutChainCountsItsCertificate();
    void manyBrokenPemBlocksMakeOneFinding();
    void tenThousandCertificatesInOneFile();
    void unreadableSubfolderIsReported();
    void nonUtf8FileNamesAreRead();
    void symlinkLoopDanglingAndUnreachable();
    void walkDepthIsBounded();

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

void TestLoader::absentOptionalFields_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<int>("certificates");
    QTest::addColumn<int>("staples");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("fragment");

    // ContentInfo { contentType signedData } and nothing else: content is OPTIONAL, d.sign is NULL.
    const QByteArray emptySignedData = QByteArray::fromHex("300b06092a864886f70d010702");
    QTest::newRow("PKCS#7 signedData without content, DER")
        << emptySignedData << 0 << 0 << QStringLiteral("INPUT_EMPTY") << QStringLiteral("empty signedData");
    QTest::newRow("PKCS#7 signedData without content, PEM")
        << PkiFactory::toPem(emptySignedData, "PKCS7") << 0 << 0 << QStringLiteral("INPUT_EMPTY") << QStringLiteral("empty signedData");

    // signedData with content but no certificates field (and no crls): the stacks are NULL.
    OpenSslPtr<PKCS7, PKCS7_free> p7(PKCS7_new());
    QVERIFY(PKCS7_set_type(p7.get(), NID_pkcs7_signed) == 1);
    QVERIFY(PKCS7_content_new(p7.get(), NID_pkcs7_data) == 1);
    QVERIFY(p7->d.sign->cert == nullptr && p7->d.sign->crl == nullptr);
    unsigned char* out = nullptr;
    const int length = i2d_PKCS7(p7.get(), &out);
    QVERIFY(length > 0);
    const QByteArray noCerts(reinterpret_cast<const char*>(out), length);
    OPENSSL_free(out);
    QTest::newRow("PKCS#7 signedData without certificates")
        << noCerts << 0 << 0 << QStringLiteral("INPUT_EMPTY") << QStringLiteral("holds no certificates");

    // Times that decode as ASN.1 but are not times (month 13): the object is kept, the problem named.
    const QByteArray badCert = withBrokenTime(m_pki->leaf.certDer(), 0x17, "261399000000Z");
    QVERIFY(!badCert.isEmpty());
    QTest::newRow("certificate whose notBefore does not parse")
        << badCert << 1 << 0 << QStringLiteral("INPUT_MALFORMED") << QStringLiteral("not a valid time");
    const QByteArray badStaple = withBrokenTime(m_pki->goodStaple(), 0x18, "20261399000000Z");
    QVERIFY(!badStaple.isEmpty());
    QTest::newRow("OCSP response whose producedAt does not parse")
        << badStaple << 0 << 1 << QStringLiteral("INPUT_MALFORMED") << QStringLiteral("not a valid time");
    const QByteArray crl = m_pki->factory().crlDer(m_pki->intermediate, daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6), {});
    const QByteArray badCrl = withBrokenTime(crl, 0x17, "261399000000Z");
    QVERIFY(!badCrl.isEmpty());
    QTest::newRow("CRL whose thisUpdate does not parse")
        << badCrl << 0 << 0 << QStringLiteral("INPUT_MALFORMED") << QStringLiteral("not a valid time");
}

void TestLoader::absentOptionalFields()
{
    QFETCH(QByteArray, data);
    QFETCH(int, certificates);
    QFETCH(int, staples);
    QFETCH(QString, code);
    QFETCH(QString, fragment);
    const LoadedInputs in = Loader().loadData(data, QStringLiteral("crafted"));
    const QString what = describe(in);
    QVERIFY2(in.certificates.size() == certificates, qPrintable(what));
    QVERIFY2(in.staples.size() == staples, qPrintable(what));
    QVERIFY2(in.findings.size() == 1, qPrintable(what));
    QCOMPARE(in.findings.first().code, code);
    QVERIFY2(in.findings.first().message.contains(fragment), qPrintable(what));
}

// A version other than v1..v3: OpenSSL 3.0 reads it (kept, and named); a parser that refuses it
// gets the same words from the encoding (statedCertificateVersion), not "does not decode".
void TestLoader::invalidVersionIsNamed()
{
    QByteArray der = m_pki->leaf.certDer();
    QCOMPARE(statedCertificateVersion(der), std::optional<long>(2));
    const qsizetype at = der.indexOf(QByteArray::fromHex("a003020102"));
    QVERIFY(at > 0);
    der[at + 4] = 5;
    QCOMPARE(statedCertificateVersion(der), std::optional<long>(5));
    QCOMPARE(statedCertificateVersion(der.left(at + 3)), std::nullopt);
    QCOMPARE(statedCertificateVersion(QByteArray("\x30\x03\x02\x01\x05", 5)), std::nullopt);
    QCOMPARE(statedCertificateVersion(QByteArray()), std::nullopt);
    QVERIFY(invalidVersionText(2, true).isEmpty());
    QVERIFY(invalidVersionText(0, false).isEmpty());
    QVERIFY(invalidVersionText(5, false).contains(QLatin1String("OpenSSL refuses to read it")));

    const LoadedInputs in = Loader().loadData(der, QStringLiteral("v6.der"));
    const QString what = describe(in);
    // Whichever way this OpenSSL goes, the finding names the version.
    QVERIFY2(in.certificates.size() <= 1, qPrintable(what));
    QVERIFY2(in.findings.size() == 1, qPrintable(what));
    QCOMPARE(in.findings.first().code, QStringLiteral("INPUT_MALFORMED"));
    QVERIFY2(in.findings.first().message.contains(QLatin1String("version field is 5 (\"v6\")")), qPrintable(what));
}

void TestLoader::stapleWithoutBasicResponseHasNoResponder()
{
    OcspSpec spec;
    spec.responseStatus = OCSP_RESPONSE_STATUS_TRYLATER;
    const LoadedInputs in = Loader().loadData(m_pki->staple(spec), QStringLiteral("trylater.der"));
    QCOMPARE(in.staples.size(), 1);
    const Certificate issuer = Certificate::fromDer(m_pki->intermediate.certDer(), {});
    // No basic response, so no responder ID: nobody is its responder (this used to dereference NULL).
    QVERIFY(!in.staples.first().isResponder(issuer));
    QVERIFY(!in.staples.first().verifySignature(issuer));
}

void TestLoader::crlWithoutEntriesRevokesNothing()
{
    const QByteArray der = m_pki->factory().crlDer(m_pki->intermediate, daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6), {});
    const LoadedInputs in = Loader().loadData(der, QStringLiteral("empty.crl"));
    QCOMPARE(in.crls.size(), 1);
    QVERIFY(X509_CRL_get_REVOKED(in.crls.first().get0()) == nullptr); // the case: the field is absent
    QCOMPARE(in.crls.first().revokedCount(), 0);
}

void TestLoader::pkcs12WithoutChainCountsItsCertificate()
{
    // PKCS12_parse leaves the CA stack NULL when there is nothing but the certificate.
    const LoadedInputs in = Loader().loadData(PkiFactory::pkcs12(m_pki->leaf, {}, QByteArray()), QStringLiteral("alone.p12"));
    QVERIFY2(in.findings.isEmpty(), qPrintable(describe(in)));
    QCOMPARE(in.certificates.size(), 1);
    QCOMPARE(in.certificates.first().source().count, 1);
    QCOMPARE(in.keys.size(), 1);
}

void TestLoader::manyBrokenPemBlocksMakeOneFinding()
{
    // 16 MiB of tiny blocks whose END does not match their BEGIN: half a million of them.
    const QByteArray block("-----BEGIN A-----\n-----END B-----\n");
    const qsizetype blocks = (16 * 1024 * 1024) / block.size();
    const QByteArray data = block.repeated(blocks);
    QElapsedTimer timer;
    timer.start();
    const LoadedInputs in = Loader().loadData(data, QStringLiteral("hostile.pem"));
    qInfo("%lld tiny broken PEM blocks (%lld bytes) loaded in %lld ms, %lld findings", qint64(blocks),
          qint64(data.size()), qint64(timer.elapsed()), qint64(in.findings.size()));
    const QString what = describe(in);
    QVERIFY2(in.findings.size() <= 3, qPrintable(what.left(2000)));
    QVERIFY(in.certificates.isEmpty());
    qsizetype totalSize = 0;
    for (const Finding& f : in.findings)
        totalSize += f.message.size() + f.subject.size() + f.fix.size();
    QVERIFY2(totalSize < 4000, qPrintable(what.left(2000)));
    const Finding* damaged = findCode(in, QStringLiteral("INPUT_MALFORMED"));
    QVERIFY2(damaged, qPrintable(what));
    const auto count = QRegularExpression(QStringLiteral("^(\\d+) times in hostile\\.pem")).match(damaged->message);
    QVERIFY2(count.hasMatch(), qPrintable(damaged->message));
    QVERIFY2(count.captured(1).toLongLong() >= 100000, qPrintable(damaged->message));
    QVERIFY(damaged->message.contains(QStringLiteral("ends with \"-----END B-----\"")));
}

void TestLoader::tenThousandCertificatesInOneFile()
{
    // A big CA bundle is not hostile: whatever bounds the PEM scan must leave it alone.
    const QByteArray data = m_pki->intermediate.certPem().repeated(10000);
    QElapsedTimer timer;
    timer.start();
    const LoadedInputs in = Loader().loadData(data, QStringLiteral("bundle.pem"));
    qInfo("10000 certificates (%lld bytes) loaded in %lld ms", qint64(data.size()), qint64(timer.elapsed()));
    QVERIFY2(in.findings.isEmpty(), qPrintable(describe(in).left(2000)));
    QCOMPARE(in.certificates.size(), 10000);
    QCOMPARE(in.certificates.last().source().display(), QStringLiteral("bundle.pem (#10000 of 10000)"));
}

void TestLoader::unreadableSubfolderIsReported()
{
    TestFolder dir;
    const TestPki& p = *m_pki;
    dir.write(QStringLiteral("site/cert.pem"), p.leaf.certPem());
    dir.write(QStringLiteral("site/ca/chain.pem"), TestPki::pem({&p.intermediate, &p.root}));
    const QString locked = dir.path(QStringLiteral("site/ca"));
    QVERIFY(::chmod(QFile::encodeName(locked).constData(), 0) == 0);
    const auto restore = qScopeGuard([&] { ::chmod(QFile::encodeName(locked).constData(), 0755); });
    if (permissionsAreBypassed(QFile::encodeName(locked)))
        QSKIP("this process reads folders whatever their mode (root): an unreadable folder cannot be made");

    const LoadedInputs in = Loader().loadPaths({dir.path(QStringLiteral("site"))});
    QCOMPARE(in.certificates.size(), 1);
    QCOMPARE(findingsWith(in, QStringLiteral("INPUT_UNREADABLE"), QStringLiteral("cannot be listed: permission denied")), locked);
}

void TestLoader::nonUtf8FileNamesAreRead()
{
    TestFolder dir;
    const TestPki& p = *m_pki;
    const QByteArray root = QFile::encodeName(dir.path(QStringLiteral("site")));
    QVERIFY(::mkdir(root.constData(), 0755) == 0);
    // Latin-1 names as old tools write them, a stray byte, and an overlong "/" that is not UTF-8 either.
    QVERIFY(writeRaw(root + "/cert-caf\xe9.pem", p.leaf.certPem()));
    QVERIFY(::mkdir((root + "/ca-\xff\xfe").constData(), 0755) == 0);
    QVERIFY(writeRaw(root + "/ca-\xff\xfe/chain\xc0\xaf.pem", TestPki::pem({&p.intermediate, &p.root})));
    QVERIFY(writeRaw(root + "/ok-\xc3\xa9.pem", p.goodStaple())); // valid UTF-8 "é": stays as it is
    // QTemporaryDir removes through QString names and cannot remove these: do it by their bytes.
    const auto cleanup = qScopeGuard([&] {
        ::unlink((root + "/ca-\xff\xfe/chain\xc0\xaf.pem").constData());
        ::rmdir((root + "/ca-\xff\xfe").constData());
        ::unlink((root + "/cert-caf\xe9.pem").constData());
    });

    const QString site = dir.path(QStringLiteral("site"));
    const LoadedInputs in = Loader().loadPaths({site});
    QVERIFY2(in.findings.isEmpty(), qPrintable(describe(in)));
    QCOMPARE(in.certificates.size(), 3);
    QCOMPARE(in.staples.size(), 1);
    // Each byte that is not UTF-8 is kept as U+DC80 + byte, so the name is shown and reopened exactly.
    const QString esc = QString(QChar(0xdc00 + 0xff)) + QChar(0xdc00 + 0xfe);
    QCOMPARE(in.files,
             (QStringList{site + QStringLiteral("/cert-caf") + QChar(0xdce9) + QStringLiteral(".pem"),
                          site + QStringLiteral("/ok-\u00e9.pem"),
                          site + QStringLiteral("/ca-") + esc + QStringLiteral("/chain") + QChar(0xdcc0) + QChar(0xdcaf) +
                              QStringLiteral(".pem")}));

    // The chain is complete: the CA in the oddly named folder was read.
    const InspectionReport report = inspectPaths({site}, {});
    const QStringList codes = codesOf(report);
    QVERIFY2(!codes.contains(QStringLiteral("CHAIN_INCOMPLETE")), qPrintable(codes.join(QLatin1Char(' '))));
    for (const QString& code : codes)
        QVERIFY2(!code.startsWith(QLatin1String("INPUT_")), qPrintable(codes.join(QLatin1Char(' '))));

    // A broken ".pem" is as loud with a non-UTF-8 name as with any other.
    QVERIFY(writeRaw(root + "/broken-\xff.pem", "not a certificate\n"));
    const auto cleanupBroken = qScopeGuard([&] { ::unlink((root + "/broken-\xff.pem").constData()); });
    const LoadedInputs withBroken = Loader().loadPaths({site});
    QCOMPARE(withBroken.findings.size(), 1);
    QCOMPARE(withBroken.findings.first().code, QStringLiteral("INPUT_UNRECOGNIZED"));
    QCOMPARE(withBroken.findings.first().severity, Severity::Warning);
    QCOMPARE(withBroken.findings.first().subject, site + QStringLiteral("/broken-") + QChar(0xdcff) + QStringLiteral(".pem"));

    // Named directly (as the window's file list hands them back), the escaped names open too.
    const LoadedInputs again = Loader().loadPaths(in.files);
    QVERIFY2(again.findings.isEmpty(), qPrintable(describe(again)));
    QCOMPARE(again.certificates.size(), 3);
}

void TestLoader::symlinkLoopDanglingAndUnreachable()
{
    TestFolder dir;
    dir.mkdir(QStringLiteral("live"));
    const QString a = dir.path(QStringLiteral("live/a.pem")), b = dir.path(QStringLiteral("live/b.pem"));
    QVERIFY(QFile::link(b, a) && QFile::link(a, b)); // a -> b -> a
    QVERIFY(QFile::link(dir.path(QStringLiteral("archive/gone.pem")), dir.path(QStringLiteral("live/dangling.pem"))));
    // A target that exists in no form stat can reach: a name longer than any file system allows.
    const QString tooLong = dir.path(QString(300, QLatin1Char('x')) + QStringLiteral("/cert.pem"));
    QVERIFY(QFile::link(tooLong, dir.path(QStringLiteral("live/unreachable.pem"))));

    QList<Finding> findings;
    QVERIFY(Loader::expandPaths({dir.path(QStringLiteral("live"))}, &findings).isEmpty());
    QStringList seen;
    for (const Finding& f : findings) {
        QCOMPARE(f.code, QStringLiteral("INPUT_UNREADABLE"));
        const QString name = QFileInfo(f.subject).fileName();
        if (name == QLatin1String("a.pem") || name == QLatin1String("b.pem"))
            QVERIFY2(f.message.startsWith(QStringLiteral("Symbolic link loop")) && !f.message.contains(QStringLiteral("Dangling")),
                     qPrintable(f.message));
        else if (name == QLatin1String("dangling.pem"))
            QVERIFY2(f.message.contains(QStringLiteral("Dangling symbolic link")) && f.message.contains(QStringLiteral("archive/gone.pem")),
                     qPrintable(f.message));
        else if (name == QLatin1String("unreachable.pem"))
            QVERIFY2(f.message.contains(QStringLiteral("cannot be reached: File name too long")), qPrintable(f.message));
        else
            QFAIL(qPrintable(f.subject));
        seen << name;
    }
    seen.sort();
    QCOMPARE(seen, (QStringList{"a.pem", "b.pem", "dangling.pem", "unreachable.pem"}));

    // Named directly: the loop is called a loop, an error.
    const LoadedInputs named = Loader().loadPaths({a});
    QCOMPARE(named.findings.size(), 1);
    QCOMPARE(named.findings.first().severity, Severity::Error);
    QVERIFY2(named.findings.first().message.startsWith(QStringLiteral("Symbolic link loop")), qPrintable(named.findings.first().message));

    // A target behind a folder this user may not enter (not testable where permissions are bypassed).
    dir.write(QStringLiteral("private/cert.pem"), m_pki->leaf.certPem());
    QVERIFY(QFile::link(dir.path(QStringLiteral("private/cert.pem")), dir.path(QStringLiteral("denied.pem"))));
    const QByteArray privateDir = QFile::encodeName(dir.path(QStringLiteral("private")));
    QVERIFY(::chmod(privateDir.constData(), 0) == 0);
    const auto restore = qScopeGuard([&] { ::chmod(privateDir.constData(), 0755); });
    if (permissionsAreBypassed(privateDir))
        QSKIP("this process reads folders whatever their mode (root): the permission case cannot be made");
    const LoadedInputs denied = Loader().loadPaths({dir.path(QStringLiteral("denied.pem"))});
    QCOMPARE(denied.findings.size(), 1);
    QVERIFY2(denied.findings.first().message.contains(QStringLiteral("cannot be reached: Permission denied")),
             qPrintable(denied.findings.first().message));
}

void TestLoader::walkDepthIsBounded()
{
    TestFolder dir;
    QString deep = QStringLiteral("top");
    for (int i = 0; i < 40; ++i)
        deep += QStringLiteral("/d");
    dir.write(QStringLiteral("top/shallow.pem"), m_pki->leaf.certPem());
    dir.write(deep + QStringLiteral("/deep.pem"), m_pki->intermediate.certPem());
    QList<Finding> findings;
    const QStringList files = Loader::expandPaths({dir.path(QStringLiteral("top"))}, &findings);
    QCOMPARE(files, QStringList{dir.path(QStringLiteral("top/shallow.pem"))});
    QCOMPARE(findings.size(), 1);
    QCOMPARE(findings.first().code, QStringLiteral("INPUT_UNREADABLE"));
    QVERIFY2(findings.first().message.contains(QStringLiteral("levels deep")), qPrintable(findings.first().message));
}

QTEST_GUILESS_MAIN(TestLoader)
#include "tst_loader.moc"
