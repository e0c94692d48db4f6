// renew: ACME Renewal Information (certID, parsing, the loopback HTTPS ACME server), the renewal
// decision, detection of certbot, lego, acme.sh and dehydrated from the folders they keep, the
// exact commands built, and `staplescope-cli renew` running a command that renews (streamed
// output, the result inspected with the old certificate beside it), failing, hanging, and
// following the CA's window with --if-due. Real certbot/lego issuance against pebble is in the
// end-to-end tests.

#include "AcmeAriServer.h"
#include "AcmeRenewalInfo.h"
#include "Command.h"
#include "FindingRegistry.h"
#include "Renewal.h"
#include "TestPki.h"
#include "TestResponder.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTest>

using namespace staplescope;
using namespace staplescope::test;
using namespace staplescope::cli;

namespace {

struct CliRun {
    int exitCode = -1;
    QString out;
    QString err;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
    QString all() const { return out + err; }
};

QByteArray readFile(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QStringList codesIn(const QList<Finding>& findings)
{
    QStringList codes;
    for (const Finding& f : findings)
        codes << f.code;
    return codes;
}

const Finding* findCode(const QList<Finding>& findings, const char* code)
{
    for (const Finding& f : findings)
        if (f.code == QLatin1String(code))
            return &f;
    return nullptr;
}

Certificate certOf(const IssuedCert& issued, const QString& path = QStringLiteral("test"))
{
    return Certificate::fromDer(issued.certDer(), SourceLocation{path});
}

// A leaf without OCSP, CRL or CA Issuers URLs: nothing to ask online.
void offline(CertSpec& spec)
{
    spec.ocspUrls.clear();
    spec.crlUrls.clear();
    spec.caIssuerUrls.clear();
}

// STAPLESCOPE_FINDINGS_DUMP: the examples in docs/findings.md are these findings, with the
// temporary folder shown as /srv/tls and the loopback ACME server as a CA's host.
void dumpExample(const Finding& f, const QString& tempDir, const QString& row)
{
    static const QRegularExpression loopback(QStringLiteral("127\\.0\\.0\\.1:\\d+"));
    Finding shown = f;
    for (QString* text : {&shown.subject, &shown.message, &shown.fix})
        text->replace(loopback, QStringLiteral("acme.ca.example.test"));
    test::dumpExample(shown, tempDir, QStringLiteral("/srv/tls"), row);
}

RenewalWindow window(const QDateTime& start, const QDateTime& end, const QString& explanation = {})
{
    RenewalWindow w;
    w.start = start;
    w.end = end;
    w.explanationUrl = explanation;
    return w;
}

} // namespace

class TestRenew : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    // ARI
    void certIdMatchesRfcExample();
    void certIdOfCertificate();
    void retryAfter_data();
    void retryAfter();
    void renewalInfoParses();
    void renewalInfoRejects_data();
    void renewalInfoRejects();
    void directoryRenewalInfo();
    void fetchesWindowFromAcmeServer();
    void fetchFailuresSaySo();
    void untrustedAcmeServerIsRefused();
    void plainHttpAcmeUrlIsRefused();
    void retryAfterIsHonoured();

    // decision
    void decisionInsideWindow();
    void decisionBeforeAndAfterWindow();
    void earlyWindowWarns();
    void fallbackAtTwoThirds();
    void revokedIsDueNow();

    // detection and commands
    void detectsCertbotLineageOutsideEtc();
    void detectsLegoWithAccount();
    void legoWithoutKnownDirectoryNeedsOne();
    void detectsAcmeSh();
    void detectsDehydrated();
    void nothingRecognisedSaysWhy();
    void commandTemplateIsQuoted();

    // running
    void commandRenewsAndResultIsInspected();
    void renewedCertificateIsDeployed();
    void failingClientChangesNothing();
    void hangingClientIsStopped();
    void ifDueFollowsTheCasWindow();
    void revokedStapleMakesItDue();
    void revokedByResponderMakesItDue();
    void usageErrors();

private:
    CliRun renew(const QStringList& arguments);
    // cert.pem + chain.pem + privkey.pem of `leaf` in `name`; returns the cert file.
    QString site(const IssuedCert& leaf, const QString& name);
    QString caFileForAri();

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestFolder> m_folder;
    std::unique_ptr<AcmeAriServer> m_ari;
    QString m_rootFile;
};

void TestRenew::initTestCase()
{
    for (const char* name : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
        qunsetenv(name);
}

void TestRenew::init()
{
    clearRenewalInfoCache();
    m_pki = std::make_unique<TestPki>();
    m_folder = std::make_unique<TestFolder>();
    QVERIFY(m_folder->isValid());
    m_rootFile = m_folder->write(QStringLiteral("trust/root.pem"), m_pki->root.certPem());
}

void TestRenew::cleanup()
{
    m_ari.reset();
    m_folder.reset();
}

CliRun TestRenew::renew(const QStringList& arguments)
{
    CliRun run;
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandStreams streams{out, err, false, false};
    const auto clock = std::make_shared<FixedClock>(m_pki->now());
    run.exitCode = runCli(QStringList{QStringLiteral("staplescope-cli"), QStringLiteral("renew"), QStringLiteral("--no-system-trust"),
                                      QStringLiteral("--ca-file"), m_rootFile, QStringLiteral("--timeout"), QStringLiteral("3")} +
                              arguments,
                          streams, clock);
    out.flush();
    err.flush();
    return run;
}

QString TestRenew::site(const IssuedCert& leaf, const QString& name)
{
    m_folder->write(name + QStringLiteral("/chain.pem"), m_pki->intermediate.certPem());
    m_folder->write(name + QStringLiteral("/privkey.pem"), m_pki->keyPem(leaf));
    return m_folder->write(name + QStringLiteral("/cert.pem"), leaf.certPem());
}

QString TestRenew::caFileForAri()
{
    return m_folder->write(QStringLiteral("trust/acme-root.pem"), m_ari->caPem());
}

// ---- ARI --------------------------------------------------------------------------------------

// RFC 9773 §4.1's example: AKI 69:88:5B:…:C8:D4, serial 0x0087654321.
void TestRenew::certIdMatchesRfcExample()
{
    const QByteArray aki = QByteArray::fromHex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4");
    const QByteArray serial = QByteArray::fromHex("0087654321");
    QCOMPARE(acmeCertId(aki, serial), QStringLiteral("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"));
    QVERIFY(acmeCertId({}, serial).isEmpty());
}

void TestRenew::certIdOfCertificate()
{
    // The RFC's serial: its high bit is set, so DER prefixes 0x00, and the certID must keep it.
    const IssuedCert issued = m_pki->issueLeaf([](CertSpec& s) { s.serial = QByteArray::fromHex("87654321"); });
    const Certificate cert = certOf(issued);
    QCOMPARE(serialDerContent(cert), QByteArray::fromHex("0087654321"));
    const QString id = acmeCertId(cert);
    QCOMPARE(id.section(QLatin1Char('.'), 1), QStringLiteral("AIdlQyE"));
    QCOMPARE(id.section(QLatin1Char('.'), 0, 0).toLatin1(),
             cert.authorityKeyId().toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
    QVERIFY(!id.contains(QLatin1Char('=')));

    const IssuedCert small = m_pki->issueLeaf([](CertSpec& s) { s.serial = QByteArray::fromHex("0102"); });
    QCOMPARE(acmeCertId(certOf(small)).section(QLatin1Char('.'), 1), QStringLiteral("AQI"));

    const IssuedCert noAki = m_pki->issueLeaf([](CertSpec& s) { s.authorityKeyId = false; });
    QString why;
    QVERIFY(acmeCertId(certOf(noAki), &why).isEmpty());
    QVERIFY2(why.contains(QLatin1String("Authority Key Identifier")), qPrintable(why));
}

void TestRenew::retryAfter_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<qint64>("seconds");
    QTest::newRow("seconds") << QByteArray("21600") << qint64(21600);
    QTest::newRow("under a minute counts as a minute") << QByteArray("5") << qint64(60);
    QTest::newRow("over a day counts as a day") << QByteArray("999999") << qint64(86400);
    QTest::newRow("HTTP date") << QByteArray("Mon, 15 Jun 2026 14:00:00 GMT") << qint64(7200);
    QTest::newRow("absent: six hours") << QByteArray() << qint64(6 * 3600);
    QTest::newRow("unreadable: six hours") << QByteArray("soon") << qint64(6 * 3600);
}

void TestRenew::retryAfter()
{
    QFETCH(QByteArray, header);
    QFETCH(qint64, seconds);
    const QDateTime now = fixedNow(); // 2026-06-15 12:00:00 UTC, a Monday
    QCOMPARE(parseRetryAfter(header, now), now.addSecs(seconds));
}

void TestRenew::renewalInfoParses()
{
    QString error;
    const RenewalWindow w = parseRenewalInfo(
        "{\"suggestedWindow\":{\"start\":\"2026-08-01T12:00:00+02:00\",\"end\":\"2026-08-03T10:00:00.5Z\"},\"explanationURL\":\"https://ca.example.test/why\"}",
        &error);
    QVERIFY2(!w.isNull(), qPrintable(error));
    QCOMPARE(w.start, QDateTime(QDate(2026, 8, 1), QTime(10, 0, 0), Qt::UTC));
    QCOMPARE(w.end, QDateTime(QDate(2026, 8, 3), QTime(10, 0, 0, 500), Qt::UTC));
    QCOMPARE(w.explanationUrl, QStringLiteral("https://ca.example.test/why"));

    // An explanation that is no web URL is not passed on.
    const RenewalWindow js = parseRenewalInfo(
        "{\"suggestedWindow\":{\"start\":\"2026-08-01T12:00:00Z\",\"end\":\"2026-08-02T12:00:00Z\"},\"explanationURL\":\"javascript:alert(1)\"}", &error);
    QVERIFY(!js.isNull());
    QVERIFY(js.explanationUrl.isEmpty());
}

void TestRenew::renewalInfoRejects_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("says");
    QTest::newRow("not JSON") << QByteArray("{\"suggestedWindow\": oops") << QStringLiteral("not a JSON object");
    QTest::newRow("no window") << QByteArray("{\"explanationURL\":\"https://x.test\"}") << QStringLiteral("no suggestedWindow");
    QTest::newRow("time without offset")
        << QByteArray("{\"suggestedWindow\":{\"start\":\"2026-08-01T12:00:00\",\"end\":\"2026-08-02T12:00:00Z\"}}")
        << QStringLiteral("start is not an RFC 3339 time");
    QTest::newRow("end before start")
        << QByteArray("{\"suggestedWindow\":{\"start\":\"2026-08-02T12:00:00Z\",\"end\":\"2026-08-01T12:00:00Z\"}}")
        << QStringLiteral("ends (2026-08-01");
    QTest::newRow("a window of years")
        << QByteArray("{\"suggestedWindow\":{\"start\":\"2026-08-01T12:00:00Z\",\"end\":\"2029-08-01T12:00:00Z\"}}")
        << QStringLiteral("more than a year");
}

void TestRenew::renewalInfoRejects()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, says);
    QString error;
    QVERIFY(parseRenewalInfo(body, &error).isNull());
    QVERIFY2(error.contains(says), qPrintable(error));
}

void TestRenew::directoryRenewalInfo()
{
    QString error;
    const auto url = renewalInfoUrlFromDirectory("{\"newNonce\":\"https://a.test/n\",\"newOrder\":\"https://a.test/o\",\"renewalInfo\":\"https://a.test/ri\"}", &error);
    QVERIFY(url && url->isValid());
    QCOMPARE(url->toString(), QStringLiteral("https://a.test/ri"));
    QVERIFY(!renewalInfoUrlFromDirectory("{\"newNonce\":\"https://a.test/n\",\"newOrder\":\"https://a.test/o\"}", &error));
    const auto notDirectory = renewalInfoUrlFromDirectory("{\"hello\":\"world\"}", &error);
    QVERIFY(notDirectory && !notDirectory->isValid());
    QVERIFY2(error.contains(QLatin1String("no ACME directory")), qPrintable(error));
}

void TestRenew::fetchesWindowFromAcmeServer()
{
    m_ari = std::make_unique<AcmeAriServer>();
    QVERIFY(m_ari->start());
    const Certificate cert = certOf(m_pki->leaf);
    m_ari->setScenario(acmeCertId(cert), AriScenario::MovedEarlier, cert.notBefore(), cert.notAfter(), m_pki->now());
    AriOptions options;
    options.caFiles = {caFileForAri()};
    options.useSystemTrust = false;
    const AriLookup lookup = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY2(lookup.ok(), qPrintable(lookup.error));
    QCOMPARE(lookup.window.start, daysFrom(m_pki->now(), -2));
    QCOMPARE(lookup.window.end, hoursFrom(m_pki->now(), -1));
    QCOMPARE(lookup.window.explanationUrl, QStringLiteral("https://ca.example.test/incidents/42"));
    QCOMPARE(lookup.window.source, m_ari->renewalInfoBase() + QLatin1Char('/') + acmeCertId(cert));
    QCOMPARE(lookup.window.fetchedAt, m_pki->now());
    QCOMPARE(m_ari->requestedCertIds(), QStringList{acmeCertId(cert)});
}

void TestRenew::fetchFailuresSaySo()
{
    m_ari = std::make_unique<AcmeAriServer>();
    QVERIFY(m_ari->start());
    AriOptions options;
    options.caFiles = {caFileForAri()};
    options.useSystemTrust = false;
    options.reuseUntilRetryAfter = false;
    const Certificate cert = certOf(m_pki->leaf);
    const QString id = acmeCertId(cert);

    m_ari->setScenario(id, AriScenario::NotFound, cert.notBefore(), cert.notAfter(), m_pki->now());
    AriLookup lookup = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY(!lookup.notOffered);
    QVERIFY2(lookup.error.contains(QLatin1String("answered 404")), qPrintable(lookup.error));

    m_ari->setScenario(id, AriScenario::Garbage, cert.notBefore(), cert.notAfter(), m_pki->now());
    lookup = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY2(lookup.error.contains(QLatin1String("not a JSON object")), qPrintable(lookup.error));

    // Bounded: an answer over 64 KiB is not read to its end.
    AriAnswer huge;
    huge.body = "{\"suggestedWindow\": \"" + QByteArray(100 * 1024, 'x') + "\"}";
    m_ari->setAnswer(id, huge);
    lookup = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY2(lookup.error.contains(QLatin1String("64 KiB")), qPrintable(lookup.error));

    m_ari->setOfferRenewalInfo(false);
    lookup = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY(lookup.notOffered);
    QVERIFY2(lookup.error.contains(QLatin1String("offers no renewalInfo")), qPrintable(lookup.error));

    // Nobody listening.
    const quint16 port = m_ari->port();
    m_ari->stop();
    lookup = fetchRenewalInfo(cert, QUrl(QStringLiteral("https://127.0.0.1:%1/dir").arg(port)), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY2(lookup.error.contains(QLatin1String("could not be fetched")), qPrintable(lookup.error));
}

void TestRenew::untrustedAcmeServerIsRefused()
{
    m_ari = std::make_unique<AcmeAriServer>();
    QVERIFY(m_ari->start());
    const Certificate cert = certOf(m_pki->leaf);
    m_ari->setScenario(acmeCertId(cert), AriScenario::Normal, cert.notBefore(), cert.notAfter(), m_pki->now());
    AriOptions options;
    options.useSystemTrust = false;
    options.caFiles = {m_rootFile}; // some other CA
    const AriLookup lookup = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY2(lookup.error.contains(QLatin1String("was not accepted")), qPrintable(lookup.error));
    QCOMPARE(m_ari->directoryRequests(), 0);

    options.caFiles = {m_folder->write(QStringLiteral("not-a-cert.pem"), "hello")};
    const AriLookup bad = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY2(bad.error.contains(QLatin1String("holds no PEM or DER certificate")), qPrintable(bad.error));
}

void TestRenew::plainHttpAcmeUrlIsRefused()
{
    AriOptions options;
    const AriLookup lookup = fetchRenewalInfo(certOf(m_pki->leaf), QUrl(QStringLiteral("http://127.0.0.1:9/dir")), options, m_pki->now());
    QVERIFY(!lookup.ok());
    QVERIFY2(lookup.error.contains(QLatin1String("not an https:// URL")), qPrintable(lookup.error));

    // And the fetcher still refuses https for what responders serve, even when HTTPS is allowed.
    FetchOptions fetchOptions;
    fetchOptions.allowHttps = true;
    HttpFetcher fetcher(fetchOptions);
    FetchRequest request;
    request.kind = FetchKind::OcspResponse;
    request.url = QUrl(QStringLiteral("https://127.0.0.1:9/ocsp"));
    const FetchResult result = fetcher.fetchAll({request}).value(0);
    QCOMPARE(result.failure, FetchFailure::InvalidUrl);
}

void TestRenew::retryAfterIsHonoured()
{
    m_ari = std::make_unique<AcmeAriServer>();
    QVERIFY(m_ari->start());
    const Certificate cert = certOf(m_pki->leaf);
    m_ari->setScenario(acmeCertId(cert), AriScenario::RetryAfter, cert.notBefore(), cert.notAfter(), m_pki->now());
    AriOptions options;
    options.caFiles = {caFileForAri()};
    options.useSystemTrust = false;
    const AriLookup first = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now());
    QVERIFY2(first.ok(), qPrintable(first.error));
    QCOMPARE(first.window.retryAfter, m_pki->now().addSecs(3600));
    QCOMPARE(m_ari->renewalInfoRequests(), 1);

    // Before Retry-After: the CA is not asked again.
    const AriLookup again = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now().addSecs(1800));
    QVERIFY(again.ok());
    QVERIFY(again.fromCache);
    QCOMPARE(again.window.start, first.window.start);
    QCOMPARE(m_ari->renewalInfoRequests(), 1);

    // After it: asked again.
    const AriLookup later = fetchRenewalInfo(cert, QUrl(m_ari->directoryUrl()), options, m_pki->now().addSecs(3601));
    QVERIFY(later.ok());
    QVERIFY(!later.fromCache);
    QCOMPARE(m_ari->renewalInfoRequests(), 2);
}

// ---- decision ---------------------------------------------------------------------------------

void TestRenew::decisionInsideWindow()
{
    const Certificate leaf = certOf(m_pki->leaf); // now − 10 d … now + 80 d
    RenewalInputs inputs;
    inputs.window = window(daysFrom(m_pki->now(), 40), daysFrom(m_pki->now(), 42));
    const QDateTime moment = renewalMomentInWindow(inputs.window, acmeCertId(leaf));
    QVERIFY(moment >= inputs.window.start && moment <= inputs.window.end);
    // The same certificate and window give the same moment (an hourly timer does not redraw it).
    QCOMPARE(renewalMomentInWindow(inputs.window, acmeCertId(leaf)), moment);

    const RenewalDecision before = decideRenewal(leaf, inputs, moment.addSecs(-1));
    QVERIFY(!before.due);
    QVERIFY(!findCode(before.findings, "RENEWAL_DUE"));
    const RenewalDecision at = decideRenewal(leaf, inputs, moment);
    QVERIFY(at.due);
    QCOMPARE(at.dueAt, moment);
    const Finding* due = findCode(at.findings, "RENEWAL_DUE");
    QVERIFY(due);
    QCOMPARE(due->severity, Severity::Info);
    QVERIFY2(at.reason.contains(QLatin1String("the CA suggests renewing between")), qPrintable(at.reason));

    // Other certificates get other moments: the CA's load is spread.
    QSet<QDateTime> moments;
    for (int i = 0; i < 8; ++i)
        moments.insert(renewalMomentInWindow(inputs.window, QStringLiteral("cert-%1").arg(i)));
    QVERIFY(moments.size() > 1);
}

void TestRenew::decisionBeforeAndAfterWindow()
{
    const Certificate leaf = certOf(m_pki->leaf);
    RenewalInputs inputs;
    inputs.window = window(daysFrom(m_pki->now(), 40), daysFrom(m_pki->now(), 42));
    inputs.window.retryAfter = hoursFrom(m_pki->now(), 6);
    const RenewalDecision early = decideRenewal(leaf, inputs, daysFrom(m_pki->now(), 39));
    QVERIFY(!early.due);
    QVERIFY2(early.reason.contains(QLatin1String("not due yet")), qPrintable(early.reason));
    QVERIFY2(early.reason.contains(QLatin1String("asked again after")), qPrintable(early.reason));

    // Past the window by more than its length: overdue, a warning.
    const RenewalDecision late = decideRenewal(leaf, inputs, daysFrom(m_pki->now(), 47));
    QVERIFY(late.due);
    const Finding* due = findCode(late.findings, "RENEWAL_DUE");
    QVERIFY(due);
    QCOMPARE(due->severity, Severity::Warning);
    QCOMPARE(due->title, QStringLiteral("Renewal overdue"));
}

void TestRenew::earlyWindowWarns()
{
    const Certificate leaf = certOf(m_pki->leaf);
    RenewalInputs inputs;
    inputs.window = window(daysFrom(m_pki->now(), -1), daysFrom(m_pki->now(), 1), QStringLiteral("https://ca.example.test/incidents/42"));
    const RenewalDecision d = decideRenewal(leaf, inputs, m_pki->now().addDays(2));
    const Finding* early = findCode(d.findings, "RENEWAL_WINDOW_EARLY");
    QVERIFY(early);
    QCOMPARE(early->severity, Severity::Warning);
    QVERIFY2(early->message.contains(QLatin1String("https://ca.example.test/incidents/42")), qPrintable(early->message));
    QVERIFY(d.due);

    // A window at the usual point is not early.
    inputs.window = window(daysFrom(m_pki->now(), 50), daysFrom(m_pki->now(), 52));
    QVERIFY(!findCode(decideRenewal(leaf, inputs, m_pki->now()).findings, "RENEWAL_WINDOW_EARLY"));
    // Starting exactly at half the lifetime is not early either; a second before is.
    const QDateTime half = leaf.notBefore().addSecs(leaf.lifetimeSeconds() / 2);
    QVERIFY(renewalWindowFindings(leaf, window(half, half.addDays(1))).isEmpty());
    QCOMPARE(renewalWindowFindings(leaf, window(half.addSecs(-1), half.addDays(1))).size(), 1);
}

void TestRenew::fallbackAtTwoThirds()
{
    const Certificate leaf = certOf(m_pki->leaf); // 90 days: two thirds at now + 50 d
    const QDateTime twoThirds = daysFrom(m_pki->now(), 50);
    QCOMPARE(renewalFallbackMoment(leaf), twoThirds);
    RenewalInputs inputs;
    inputs.windowProblem = QStringLiteral("the ACME directory could not be fetched: refused");
    const RenewalDecision before = decideRenewal(leaf, inputs, twoThirds.addSecs(-1));
    QVERIFY(!before.due);
    const Finding* failed = findCode(before.findings, "RENEWAL_INFO_FAILED");
    QVERIFY(failed);
    QCOMPARE(failed->severity, Severity::Warning);
    QVERIFY2(failed->message.contains(QLatin1String("could not be fetched: refused")), qPrintable(failed->message));

    const RenewalDecision at = decideRenewal(leaf, inputs, twoThirds);
    QVERIFY(at.due);
    QCOMPARE(findCode(at.findings, "RENEWAL_DUE")->severity, Severity::Info);
    // More than a sixth of the lifetime later: overdue.
    QCOMPARE(findCode(decideRenewal(leaf, inputs, daysFrom(twoThirds, 16)).findings, "RENEWAL_DUE")->severity, Severity::Warning);

    // A CA without ARI: said as info.
    inputs.windowProblemIsInfo = true;
    QCOMPARE(findCode(decideRenewal(leaf, inputs, m_pki->now()).findings, "RENEWAL_INFO_FAILED")->severity, Severity::Info);
}

void TestRenew::revokedIsDueNow()
{
    const Certificate leaf = certOf(m_pki->leaf);
    RenewalInputs inputs;
    inputs.window = window(daysFrom(m_pki->now(), 40), daysFrom(m_pki->now(), 42));
    inputs.revokedBy = QStringLiteral("the OCSP responder says revoked");
    const RenewalDecision d = decideRenewal(leaf, inputs, m_pki->now());
    QVERIFY(d.due);
    QCOMPARE(d.dueAt, m_pki->now());
    const Finding* due = findCode(d.findings, "RENEWAL_DUE");
    QVERIFY(due);
    QCOMPARE(due->severity, Severity::Warning);
    QVERIFY2(d.reason.contains(QLatin1String("revoked")), qPrintable(d.reason));
}

// ---- detection and commands -------------------------------------------------------------------

// A lineage as certbot 2.1 leaves it under --config-dir D/le (outside /etc/letsencrypt): live/
// symlinks into archive/, and renewal/NAME.conf recording the server and the directories.
void TestRenew::detectsCertbotLineageOutsideEtc()
{
    const QString d = m_folder->path();
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    m_folder->write(QStringLiteral("le/archive/mail.example.test/cert1.pem"), leaf.certPem());
    m_folder->write(QStringLiteral("le/archive/mail.example.test/chain1.pem"), m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("le/archive/mail.example.test/fullchain1.pem"), leaf.certPem() + m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("le/archive/mail.example.test/privkey1.pem"), m_pki->keyPem(leaf));
    m_folder->mkdir(QStringLiteral("le/live/mail.example.test"));
    for (const char* f : {"cert", "chain", "fullchain", "privkey"})
        QVERIFY(QFile::link(QStringLiteral("../../archive/mail.example.test/") + QLatin1String(f) + QStringLiteral("1.pem"),
                            m_folder->path(QStringLiteral("le/live/mail.example.test/%1.pem").arg(QLatin1String(f)))));
    const QString live = d + QStringLiteral("/le/live/mail.example.test");
    m_folder->write(QStringLiteral("le/renewal/mail.example.test.conf"), QStringLiteral(
        "# renew_before_expiry = 30 days\n"
        "version = 2.1.0\n"
        "archive_dir = %1/le/archive/mail.example.test\n"
        "cert = %2/cert.pem\n"
        "privkey = %2/privkey.pem\n"
        "chain = %2/chain.pem\n"
        "fullchain = %2/fullchain.pem\n\n"
        "# Options used in the renewal process\n"
        "[renewalparams]\n"
        "account = 333c813aaa13e6bc74ec2ee19630c61f\n"
        "http01_port = 5002\n"
        "http01_address = 127.0.0.1\n"
        "key_type = ecdsa\n"
        "pref_challs = http-01,\n"
        "config_dir = %1/le\n"
        "work_dir = %1/work\n"
        "logs_dir = %1/logs\n"
        "server = https://127.0.0.1:14000/dir\n"
        "authenticator = standalone\n").arg(d, live).toUtf8());

    for (const QString& given : {live, live + QStringLiteral("/fullchain.pem"), d + QStringLiteral("/le/archive/mail.example.test/cert1.pem")}) {
        QString why;
        const auto m = detectAcmeClient(given, &why);
        QVERIFY2(m, qPrintable(given + QStringLiteral(": ") + why));
        QCOMPARE(m->client, AcmeClient::Certbot);
        QCOMPARE(m->name, QStringLiteral("mail.example.test"));
        QCOMPARE(m->acmeDirectory, QStringLiteral("https://127.0.0.1:14000/dir"));
        QCOMPARE(m->certificateFile, live + QStringLiteral("/cert.pem"));
        QCOMPARE(m->certbotConfigDir, d + QStringLiteral("/le"));
        QCOMPARE(m->certbotWorkDir, d + QStringLiteral("/work"));
        QCOMPARE(m->certbotLogsDir, d + QStringLiteral("/logs"));
        QCOMPARE(m->settings.value(QStringLiteral("http01_port")), QStringLiteral("5002"));
        QCOMPARE(m->settings.value(QStringLiteral("authenticator")), QStringLiteral("standalone"));
        QVERIFY(m->detectedBy.contains(QLatin1String("renewal/mail.example.test.conf")));

        RenewOptions options;
        const ClientCommand c = renewCommandFor(*m, options);
        QCOMPARE(c.program, QStringLiteral("certbot"));
        QCOMPARE(c.arguments, (QStringList{"renew", "-n", "--no-random-sleep-on-renew", "--cert-name", "mail.example.test",
                                           "--config-dir", d + "/le", "--work-dir", d + "/work", "--logs-dir", d + "/logs"}));
        options.force = true;
        QVERIFY(renewCommandFor(*m, options).arguments.contains(QStringLiteral("--force-renewal")));
    }

    // A lineage whose renewal config is gone is named as such, not silently taken for something else.
    QVERIFY(QFile::remove(d + QStringLiteral("/le/renewal/mail.example.test.conf")));
    QString why;
    QVERIFY(!detectAcmeClient(live, &why));
    QVERIFY2(why.contains(QLatin1String("renewal/mail.example.test.conf does not exist")), qPrintable(why));
}

// lego's --path folder: certificates/DOMAIN.{crt,key,issuer.crt,json} and accounts/<host_port>/<email>/.
void TestRenew::detectsLegoWithAccount()
{
    const IssuedCert leaf = m_pki->issueLeaf([](CertSpec& s) {
        offline(s);
        s.commonName = QStringLiteral("lego.example.test");
        s.dnsNames = {QStringLiteral("www.lego.example.test"), QStringLiteral("lego.example.test")};
    });
    const QString crt = m_folder->write(QStringLiteral("lego/certificates/lego.example.test.crt"), leaf.certPem() + m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("lego/certificates/lego.example.test.issuer.crt"), m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("lego/certificates/lego.example.test.key"), m_pki->keyPem(leaf));
    m_folder->write(QStringLiteral("lego/certificates/lego.example.test.json"),
                    "{\"domain\": \"lego.example.test\", \"certUrl\": \"https://127.0.0.1:14000/certZ/1\", \"certStableUrl\": \"https://127.0.0.1:14000/certZ/1\"}");
    m_folder->write(QStringLiteral("lego/accounts/127.0.0.1_14000/admin@example.test/account.json"),
                    "{\"email\": \"admin@example.test\", \"registration\": {\"body\": {\"status\": \"valid\"}, \"uri\": \"https://127.0.0.1:14000/my-account/1\"}}");
    m_folder->write(QStringLiteral("lego/accounts/127.0.0.1_14000/admin@example.test/keys/admin@example.test.key"), "key");

    QString why;
    const auto m = detectAcmeClient(crt, &why);
    QVERIFY2(m, qPrintable(why));
    QCOMPARE(m->client, AcmeClient::Lego);
    QCOMPARE(m->name, QStringLiteral("lego.example.test"));
    QCOMPARE(m->legoPath, m_folder->path(QStringLiteral("lego")));
    QCOMPARE(m->legoEmail, QStringLiteral("admin@example.test"));
    QCOMPARE(m->legoServerHost, QStringLiteral("127.0.0.1:14000"));
    QCOMPARE(m->domains, (QStringList{"lego.example.test", "www.lego.example.test"}));
    QCOMPARE(m->legoKeyType, QStringLiteral("ec256"));
    // The folder itself, with its one certificate, is recognised too.
    QVERIFY(detectAcmeClient(m_folder->path(QStringLiteral("lego")), &why));

    RenewOptions options;
    options.acmeDirectory = QStringLiteral("https://127.0.0.1:14000/dir");
    options.clientArguments = {QStringLiteral("--http"), QStringLiteral("--http.port"), QStringLiteral("127.0.0.1:5002")};
    options.force = true;
    const ClientCommand c = renewCommandFor(*m, options);
    QCOMPARE(c.program, QStringLiteral("lego"));
    QCOMPARE(c.arguments, (QStringList{"--path", m_folder->path("lego"), "--server", "https://127.0.0.1:14000/dir", "--email",
                                       "admin@example.test", "--domains", "lego.example.test", "--domains", "www.lego.example.test",
                                       "--key-type", "ec256", "--http", "--http.port", "127.0.0.1:5002", "renew", "--no-random-sleep",
                                       "--days=-1"}));
    // Without a challenge named, lego gets --http (it records none and needs one).
    options.clientArguments.clear();
    options.force = false;
    const QStringList plain = renewCommandFor(*m, options).arguments;
    QCOMPARE(plain.mid(plain.indexOf(QStringLiteral("--key-type")) + 2),
             (QStringList{"--http", "renew", "--no-random-sleep"}));
}

void TestRenew::legoWithoutKnownDirectoryNeedsOne()
{
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    const QString crt = m_folder->write(QStringLiteral("lego/certificates/www.example.test.crt"), leaf.certPem());
    m_folder->write(QStringLiteral("lego/certificates/www.example.test.key"), m_pki->keyPem(leaf));
    m_folder->write(QStringLiteral("lego/accounts/ca.internal.test_9000/me@example.test/account.json"), "{}");
    RenewOptions options;
    const RenewPlan plan = planRenew({crt}, options, m_pki->now());
    QCOMPARE(plan.entries.size(), 1);
    QVERIFY2(plan.entries.first().problem.contains(QLatin1String("names the ACME server ca.internal.test:9000 but not its directory URL")),
             qPrintable(plan.entries.first().problem));
    QCOMPARE(plan.exitCode(), 2);

    // Let's Encrypt's host is known.
    QVERIFY(QDir(m_folder->path(QStringLiteral("lego/accounts"))).rename(QStringLiteral("ca.internal.test_9000"),
                                                                       QStringLiteral("acme-v02.api.letsencrypt.org")));
    QString why;
    const auto m = detectAcmeClient(crt, &why);
    QVERIFY2(m, qPrintable(why));
    QCOMPARE(m->acmeDirectory, QStringLiteral("https://acme-v02.api.letsencrypt.org/directory"));
}

// acme.sh keeps NAME_ecc/NAME.conf (ECC) under its config home.
void TestRenew::detectsAcmeSh()
{
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    m_folder->write(QStringLiteral("acme/account.conf"), "ACCOUNT_EMAIL='admin@example.test'\n");
    const QString cer = m_folder->write(QStringLiteral("acme/www.example.test_ecc/www.example.test.cer"), leaf.certPem());
    m_folder->write(QStringLiteral("acme/www.example.test_ecc/www.example.test.key"), m_pki->keyPem(leaf));
    m_folder->write(QStringLiteral("acme/www.example.test_ecc/ca.cer"), m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("acme/www.example.test_ecc/fullchain.cer"), leaf.certPem() + m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("acme/www.example.test_ecc/www.example.test.conf"),
                    "Le_Domain='www.example.test'\nLe_Alt='example.test'\nLe_Webroot='/var/www/html'\n"
                    "Le_API='https://acme-staging-v02.api.letsencrypt.org/directory'\nLe_Keylength='ec-256'\n");
    QString why;
    const auto m = detectAcmeClient(cer, &why);
    QVERIFY2(m, qPrintable(why));
    QCOMPARE(m->client, AcmeClient::AcmeSh);
    QCOMPARE(m->name, QStringLiteral("www.example.test"));
    QCOMPARE(m->acmeDirectory, QStringLiteral("https://acme-staging-v02.api.letsencrypt.org/directory"));
    QCOMPARE(m->domains, (QStringList{"www.example.test", "example.test"}));
    QVERIFY(m->acmeShEcc);
    QCOMPARE(m->acmeShConfigHome, m_folder->path(QStringLiteral("acme")));
    QCOMPARE(m->fullchainFile, m_folder->path(QStringLiteral("acme/www.example.test_ecc/fullchain.cer")));
    RenewOptions options;
    options.force = true;
    const ClientCommand c = renewCommandFor(*m, options);
    QVERIFY(c.program.endsWith(QLatin1String("acme.sh")));
    QCOMPARE(c.arguments, (QStringList{"--renew", "-d", "www.example.test", "--ecc", "--force", "--config-home", m_folder->path("acme")}));
}

void TestRenew::detectsDehydrated()
{
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    m_folder->write(QStringLiteral("dehydrated/config"), "CA=\"letsencrypt-test\"\nCHALLENGETYPE=\"http-01\"\n");
    m_folder->mkdir(QStringLiteral("dehydrated/accounts"));
    m_folder->write(QStringLiteral("dehydrated/certs/www.example.test/cert-1780000000.pem"), leaf.certPem());
    m_folder->write(QStringLiteral("dehydrated/certs/www.example.test/privkey-1780000000.pem"), m_pki->keyPem(leaf));
    const QString folder = m_folder->path(QStringLiteral("dehydrated/certs/www.example.test"));
    QVERIFY(QFile::link(QStringLiteral("cert-1780000000.pem"), folder + QStringLiteral("/cert.pem")));
    QVERIFY(QFile::link(QStringLiteral("privkey-1780000000.pem"), folder + QStringLiteral("/privkey.pem")));
    QString why;
    const auto m = detectAcmeClient(folder + QStringLiteral("/cert.pem"), &why);
    QVERIFY2(m, qPrintable(why));
    QCOMPARE(m->client, AcmeClient::Dehydrated);
    QCOMPARE(m->name, QStringLiteral("www.example.test"));
    QCOMPARE(m->acmeDirectory, QStringLiteral("https://acme-staging-v02.api.letsencrypt.org/directory"));
    QCOMPARE(m->configFile, m_folder->path(QStringLiteral("dehydrated/config")));
    const ClientCommand c = renewCommandFor(*m, RenewOptions{});
    QCOMPARE(c.program, QStringLiteral("dehydrated"));
    QCOMPARE(c.arguments, (QStringList{"-c", "--config", m_folder->path("dehydrated/config"), "-d", "www.example.test", "-d", "example.test"}));
}

void TestRenew::nothingRecognisedSaysWhy()
{
    const QString cert = site(m_pki->issueLeaf(offline), QStringLiteral("plain"));
    QString why;
    QVERIFY(!detectAcmeClient(cert, &why));
    QVERIFY2(why.contains(QLatin1String("no ACME client was recognised")), qPrintable(why));
    // A folder that merely is called live/ is no certbot lineage.
    const QString live = site(m_pki->issueLeaf(offline), QStringLiteral("srv/live/www"));
    QVERIFY(!detectAcmeClient(live, &why));
    QVERIFY2(why.contains(QLatin1String("no ACME client was recognised")), qPrintable(why));
    const CliRun run = renew({cert});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QLatin1String("cannot renew")) && run.out.contains(QLatin1String("give --command TEMPLATE")), qPrintable(run.all()));
}

void TestRenew::commandTemplateIsQuoted()
{
    ManagedCertificate m;
    m.client = AcmeClient::Command;
    m.name = QStringLiteral("www.example.test");
    m.certificateFile = QStringLiteral("/srv/it's here/cert.pem");
    m.keyFile = QStringLiteral("/srv/it's here/key.pem");
    RenewOptions options;
    options.commandTemplate = QStringLiteral("my-renew --name {name} --cert {cert} --key {key} --in {dir} {unknown}");
    const ClientCommand c = renewCommandFor(m, options);
    QCOMPARE(c.program, QStringLiteral("/bin/sh"));
    QCOMPARE(c.arguments.value(1), QStringLiteral("my-renew --name www.example.test --cert '/srv/it'\\''s here/cert.pem' "
                                                  "--key '/srv/it'\\''s here/key.pem' --in '/srv/it'\\''s here' {unknown}"));
    QCOMPARE(c.display(), c.arguments.value(1));
}

// ---- running ----------------------------------------------------------------------------------

// The script stands in for an ACME client: it says what it does and writes the new certificate.
void TestRenew::commandRenewsAndResultIsInspected()
{
    const IssuedCert old = m_pki->issueLeaf([&](CertSpec& s) {
        offline(s);
        s.notBefore = daysFrom(m_pki->now(), -70);
        s.notAfter = daysFrom(m_pki->now(), 20);
    });
    const IssuedCert fresh = m_pki->issueLeaf([&](CertSpec& s) {
        offline(s);
        s.notBefore = hoursFrom(m_pki->now(), -1);
        s.notAfter = daysFrom(m_pki->now(), 89);
        s.reuseKey = old.key;
    });
    const QString cert = site(old, QStringLiteral("site"));
    const QString freshFile = m_folder->write(QStringLiteral("incoming/new.pem"), fresh.certPem());
    const QString script = m_folder->write(QStringLiteral("bin/renew.sh"), QStringLiteral(
        "#!/bin/sh\n"
        "echo \"renewing $1\"\n"
        "echo 'asking the CA' >&2\n"
        "cp '%1' \"$2\"\n"
        "echo done\n").arg(freshFile).toUtf8());
    QVERIFY(QFile::setPermissions(script, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));

    const CliRun run = renew({QStringLiteral("--command"), script + QStringLiteral(" {name} {cert}"), cert});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    // Streamed as it came, prefixed with the certificate's name, stdout and stderr together.
    QVERIFY2(run.out.contains(QLatin1String("    www.example.test | renewing www.example.test\n")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("    www.example.test | asking the CA\n")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("renewed: serial %1").arg(certOf(fresh).serialHex())), qPrintable(run.out));
    QCOMPARE(readFile(cert), fresh.certPem());

    // The same certificate given twice (its file and its folder) runs once.
    RenewOptions once;
    once.client = AcmeClient::Command;
    once.commandTemplate = QStringLiteral("true");
    const RenewPlan twice = planRenew({cert, m_folder->path(QStringLiteral("site"))}, once, m_pki->now());
    QCOMPARE(twice.entries.size(), 2);
    QVERIFY(twice.entries[0].willRun);
    QVERIFY(!twice.entries[1].willRun);
    QVERIFY2(twice.entries[1].decision.reason.contains(QLatin1String("the same certificate as")), qPrintable(twice.entries[1].decision.reason));

    // In process: the result is inspected, the old certificate beside it on the timeline.
    QFile::remove(cert);
    m_folder->write(QStringLiteral("site/cert.pem"), old.certPem());
    RenewOptions options;
    options.client = AcmeClient::Command;
    options.commandTemplate = script + QStringLiteral(" {name} {cert}");
    options.caFiles = {m_rootFile};
    options.useSystemTrust = false;
    const RenewPlan plan = planRenew({cert}, options, m_pki->now());
    QVERIFY2(plan.entries.first().problem.isEmpty(), qPrintable(plan.entries.first().problem));
    QVERIFY(plan.entries.first().willRun);
    QStringList lines;
    const RenewResult result = executeRenew(plan, options, [&](const QString&, const QString& line) { lines << line; });
    QCOMPARE(lines, (QStringList{"renewing www.example.test", "asking the CA", "done"}));
    const RenewEntryResult& r = result.entries.first();
    QVERIFY(r.ran);
    QVERIFY(r.renewed);
    QCOMPARE(r.client.exitStatus, 0);
    QVERIFY(r.client.output.contains(QLatin1String("asking the CA")));
    QCOMPARE(r.after.bundle.leaf, certOf(fresh));
    bool previousShown = false;
    for (const TimelineLane& lane : r.after.timeline.lanes)
        previousShown = previousShown || (lane.kind == LaneKind::PreviousCertificate && lane.objectId == certOf(old).id());
    QVERIFY(previousShown);
    QCOMPARE(result.exitCode(), 0);
    QVERIFY(result.toJson().value(QStringLiteral("entries")).toArray().first().toObject().value(QStringLiteral("renewed")).toBool());
}

// --deploy-to: what the client wrote becomes a new generation of DEST, made current.
void TestRenew::renewedCertificateIsDeployed()
{
    const IssuedCert old = m_pki->issueLeaf([&](CertSpec& s) {
        offline(s);
        s.notBefore = daysFrom(m_pki->now(), -70);
        s.notAfter = daysFrom(m_pki->now(), 20);
    });
    const IssuedCert fresh = m_pki->issueLeaf([&](CertSpec& s) {
        offline(s);
        s.notBefore = hoursFrom(m_pki->now(), -1);
        s.notAfter = daysFrom(m_pki->now(), 89);
        s.reuseKey = old.key;
    });
    const QString cert = site(old, QStringLiteral("site"));
    const QString freshFile = m_folder->write(QStringLiteral("incoming/new.pem"), fresh.certPem());
    const QString dest = m_folder->path(QStringLiteral("dest"));
    const CliRun run = renew({QStringLiteral("--command"), QStringLiteral("cp '%1' {cert}").arg(freshFile), QStringLiteral("--deploy-to"), dest,
                              QStringLiteral("--layout"), QStringLiteral("nginx"), QStringLiteral("--json"), cert});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QJsonObject entry = run.json().value(QStringLiteral("result")).toObject().value(QStringLiteral("entries")).toArray().first().toObject();
    QVERIFY(entry.value(QStringLiteral("renewed")).toBool());
    QCOMPARE(entry.value(QStringLiteral("deploys")).toArray().size(), 1);
    // DEST/current serves the renewed certificate (no OCSP URL: no staple, and none carried over).
    QCOMPARE(readFile(dest + QStringLiteral("/current/cert.pem")), fresh.certPem());
    QVERIFY(!QFileInfo::exists(dest + QStringLiteral("/current/ocsp.der")));
}

void TestRenew::failingClientChangesNothing()
{
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    const QString cert = site(leaf, QStringLiteral("site"));
    const QByteArray before = readFile(cert);
    const QString script = m_folder->write(QStringLiteral("bin/fail.sh"),
                                           "#!/bin/sh\necho 'Requesting a certificate'\n"
                                           "echo 'Error: urn:ietf:params:acme:error:connection: 127.0.0.1: Fetching http://www.example.test/.well-known/acme-challenge/x: Connection refused' >&2\n"
                                           // certbot's footer: separators and advice after the error
                                           "for i in 1 2 3 4 5 6 7; do echo '- - - - - - - - - - - -'; echo \"Advice line $i\"; done\n"
                                           "exit 1\n");
    QVERIFY(QFile::setPermissions(script, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
    const CliRun run = renew({QStringLiteral("--json"), QStringLiteral("--command"), script, cert});
    QCOMPARE(run.exitCode, 2);
    QCOMPARE(readFile(cert), before);
    const QJsonObject entry = run.json().value(QStringLiteral("result")).toObject().value(QStringLiteral("entries")).toArray().first().toObject();
    QVERIFY(!entry.value(QStringLiteral("renewed")).toBool());
    QCOMPARE(entry.value(QStringLiteral("client")).toObject().value(QStringLiteral("exitStatus")).toInt(), 1);
    const QJsonObject finding = entry.value(QStringLiteral("findings")).toArray().first().toObject();
    QCOMPARE(finding.value(QStringLiteral("code")).toString(), QStringLiteral("RENEW_CLIENT_FAILED"));
    QCOMPARE(finding.value(QStringLiteral("severity")).toString(), QStringLiteral("error"));
    const QString message = finding.value(QStringLiteral("message")).toString();
    QVERIFY2(message.contains(QLatin1String("exited with status 1")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("Connection refused")), qPrintable(message));
    // The error line is quoted, not the footer after it.
    QVERIFY2(!message.contains(QLatin1String("- - -")) && !message.contains(QLatin1String("Advice line")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("changed nothing on disk")), qPrintable(message));
    // With --json the client's own lines go to stderr, so stdout stays one JSON document.
    QVERIFY2(run.err.contains(QLatin1String("| Requesting a certificate")), qPrintable(run.err));

    // In process, the same finding (the example in docs/findings.md).
    RenewOptions options;
    options.client = AcmeClient::Command;
    options.commandTemplate = script;
    options.caFiles = {m_rootFile};
    options.useSystemTrust = false;
    const RenewResult result = executeRenew(planRenew({cert}, options, m_pki->now()), options);
    const Finding* failed = findCode(result.entries.first().findings, "RENEW_CLIENT_FAILED");
    QVERIFY(failed);
    QCOMPARE(failed->remedy.kind, RemedyKind::CheckAcmeClient);
    dumpExample(*failed, m_folder->path(), QStringLiteral("client exits 1"));

    // Text output quotes it too; a client that cannot start says so.
    const CliRun missing = renew({QStringLiteral("--client"), QStringLiteral("command"), QStringLiteral("--command"),
                                  m_folder->path(QStringLiteral("bin/no-such-client")), cert});
    QCOMPARE(missing.exitCode, 2);
    QVERIFY2(missing.out.contains(QLatin1String("RENEW_CLIENT_FAILED")), qPrintable(missing.all()));
    QCOMPARE(readFile(cert), before);
}

void TestRenew::hangingClientIsStopped()
{
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    const QString cert = site(leaf, QStringLiteral("site"));
    const QString marker = m_folder->path(QStringLiteral("child-survived"));
    // The client starts a child that would write a file later: the whole group must be stopped.
    const QString script = m_folder->write(QStringLiteral("bin/hang.sh"), QStringLiteral(
        "#!/bin/sh\necho 'waiting for the CA'\n(sleep 3; touch '%1') &\nsleep 60\n").arg(marker).toUtf8());
    QVERIFY(QFile::setPermissions(script, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
    const CliRun run = renew({QStringLiteral("--client-timeout"), QStringLiteral("1"), QStringLiteral("--command"), script, cert});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QLatin1String("was stopped after 1 s")), qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("waiting for the CA")), qPrintable(run.all()));
    QTest::qWait(3500);
    QVERIFY2(!QFileInfo::exists(marker), "the client's child outlived the timeout");
}

void TestRenew::ifDueFollowsTheCasWindow()
{
    m_ari = std::make_unique<AcmeAriServer>();
    QVERIFY(m_ari->start());
    const QString acmeCa = caFileForAri();
    const IssuedCert leaf = m_pki->issueLeaf(offline);
    const Certificate cert = certOf(leaf);
    const QString certFile = site(leaf, QStringLiteral("site"));
    const QString marker = m_folder->path(QStringLiteral("client-ran"));
    const QString command = QStringLiteral("touch '%1'").arg(marker);
    const QStringList common{QStringLiteral("--if-due"), QStringLiteral("--acme-directory"), m_ari->directoryUrl(), QStringLiteral("--acme-ca-file"),
                             acmeCa, QStringLiteral("--command"), command};

    // The usual window, weeks ahead: not due, nothing runs.
    m_ari->setScenario(acmeCertId(cert), AriScenario::Normal, cert.notBefore(), cert.notAfter(), m_pki->now());
    const CliRun notDue = renew(common + QStringList{QStringLiteral("--json"), certFile});
    QVERIFY2(notDue.exitCode == 0, qPrintable(notDue.all()));
    QVERIFY(!QFileInfo::exists(marker));
    const QJsonObject plan = notDue.json().value(QStringLiteral("entries")).toArray().first().toObject();
    QVERIFY(!plan.value(QStringLiteral("willRun")).toBool());
    const QJsonObject w = plan.value(QStringLiteral("decision")).toObject().value(QStringLiteral("window")).toObject();
    QCOMPARE(w.value(QStringLiteral("start")).toString(), daysFrom(cert.notBefore(), 60).toString(Qt::ISODate));
    QCOMPARE(m_ari->renewalInfoRequests(), 1);

    // The CA moves the window to now (mass revocation): due, the client runs, and the warning says why.
    clearRenewalInfoCache();
    m_ari->setScenario(acmeCertId(cert), AriScenario::MovedEarlier, cert.notBefore(), cert.notAfter(), m_pki->now());
    const CliRun due = renew(common + QStringList{certFile});
    QVERIFY(QFileInfo::exists(marker));
    QVERIFY2(due.out.contains(QLatin1String("RENEWAL_WINDOW_EARLY")), qPrintable(due.all()));
    QVERIFY2(due.out.contains(QLatin1String("https://ca.example.test/incidents/42")), qPrintable(due.all()));
    // The command ran but did not change the certificate: said, and the early window is a warning.
    QVERIFY2(due.out.contains(QLatin1String("without changing the certificate")), qPrintable(due.all()));
    QCOMPARE(due.exitCode, 1);

    // ARI unusable (404): the fallback decides (not due), with RENEWAL_INFO_FAILED as a warning.
    QFile::remove(marker);
    clearRenewalInfoCache();
    m_ari->setScenario(acmeCertId(cert), AriScenario::NotFound, cert.notBefore(), cert.notAfter(), m_pki->now());
    const CliRun fallback = renew(common + QStringList{certFile});
    QCOMPARE(fallback.exitCode, 1);
    QVERIFY(!QFileInfo::exists(marker));
    QVERIFY2(fallback.out.contains(QLatin1String("RENEWAL_INFO_FAILED")), qPrintable(fallback.all()));
    QVERIFY2(fallback.out.contains(QLatin1String("renewal is due at two thirds of the lifetime (")), qPrintable(fallback.all()));

    // In process: the plan's bundle carries the window, drawn as its own lane.
    clearRenewalInfoCache();
    m_ari->setScenario(acmeCertId(cert), AriScenario::MovedEarlier, cert.notBefore(), cert.notAfter(), m_pki->now());
    RenewOptions options;
    options.ifDue = true;
    options.client = AcmeClient::Command;
    options.commandTemplate = command;
    options.acmeDirectory = m_ari->directoryUrl();
    options.acmeCaFiles = {acmeCa};
    options.acmeUseSystemTrust = false;
    options.caFiles = {m_rootFile};
    options.useSystemTrust = false;
    const RenewPlan inProcess = planRenew({certFile}, options, m_pki->now());
    const RenewPlanEntry& e = inProcess.entries.first();
    QVERIFY(e.decision.due);
    QCOMPARE(e.before.bundle.renewalWindow.start, daysFrom(m_pki->now(), -2));
    QVERIFY(codesIn(e.before.findings).contains(QStringLiteral("RENEWAL_WINDOW_EARLY")));
    QVERIFY(findCode(e.decision.findings, "RENEWAL_DUE"));
    dumpExample(*findCode(e.decision.findings, "RENEWAL_DUE"), m_folder->path(), QStringLiteral("inside the CA's window"));
    dumpExample(*findCode(e.decision.findings, "RENEWAL_WINDOW_EARLY"), m_folder->path(), QStringLiteral("window moved earlier"));

    // And when the CA has nothing for it: the fallback, said why.
    clearRenewalInfoCache();
    m_ari->setScenario(acmeCertId(cert), AriScenario::NotFound, cert.notBefore(), cert.notAfter(), m_pki->now());
    const RenewPlan notFound = planRenew({certFile}, options, m_pki->now());
    const Finding* failed = findCode(notFound.entries.first().decision.findings, "RENEWAL_INFO_FAILED");
    QVERIFY(failed);
    QCOMPARE(failed->severity, Severity::Warning);
    QVERIFY(!notFound.entries.first().decision.due);
    dumpExample(*failed, m_folder->path(), QStringLiteral("renewalInfo answers 404"));
    bool lane = false;
    for (const TimelineLane& l : e.before.timeline.lanes)
        lane = lane || (l.kind == LaneKind::RenewalWindow && l.detail.contains(QLatin1String("https://ca.example.test/incidents/42")));
    QVERIFY(lane);
}

// A staple on disk that says revoked: --if-due renews now, whatever the lifetime says.
void TestRenew::revokedStapleMakesItDue()
{
    const IssuedCert leaf = m_pki->issueLeaf([](CertSpec& s) {
        s.crlUrls.clear();
        s.caIssuerUrls.clear();
    });
    const QString cert = site(leaf, QStringLiteral("site"));
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.certStatus = V_OCSP_CERTSTATUS_REVOKED;
    spec.revocationTime = daysFrom(m_pki->now(), -1);
    m_folder->write(QStringLiteral("site/ocsp.der"), m_pki->staple(spec, &leaf));
    const QString marker = m_folder->path(QStringLiteral("client-ran"));
    const CliRun run = renew({QStringLiteral("--if-due"), QStringLiteral("--command"), QStringLiteral("touch '%1'").arg(marker),
                              m_folder->path(QStringLiteral("site"))});
    QVERIFY2(QFileInfo::exists(marker), qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("decision: due — the certificate is revoked")), qPrintable(run.out));
}

// No staple on disk: with --if-due the certificate's OCSP responder is asked, and it says revoked.
void TestRenew::revokedByResponderMakesItDue()
{
    TestResponder responder(*m_pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    const QString cert = site(leaf, QStringLiteral("site"));
    const QString marker = m_folder->path(QStringLiteral("client-ran"));
    const QStringList arguments{QStringLiteral("--if-due"), QStringLiteral("--command"), QStringLiteral("touch '%1'").arg(marker), cert};

    // Good: a third of the lifetime is far off, nothing runs.
    CliRun run = renew(arguments);
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY(!QFileInfo::exists(marker));
    QCOMPARE(responder.ocspRequestCount(), 1);

    responder.setScenario(leaf, ResponderScenario::Revoked);
    run = renew(arguments);
    QVERIFY2(QFileInfo::exists(marker), qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("decision: due — the certificate is revoked")), qPrintable(run.out));
    QCOMPARE(responder.ocspRequestCount(), 2);
}

void TestRenew::usageErrors()
{
    const QString cert = site(m_pki->issueLeaf(offline), QStringLiteral("site"));
    const struct {
        QStringList arguments;
        const char* says;
    } cases[] = {
        {{}, "nothing to renew"},
        {{QStringLiteral("--client"), QStringLiteral("certbox"), cert}, "--client 'certbox'"},
        {{QStringLiteral("--client"), QStringLiteral("command"), cert}, "needs --command"},
        {{QStringLiteral("--if-due"), QStringLiteral("--force"), cert}, "exclude each other"},
        {{QStringLiteral("--acme-directory"), QStringLiteral("http://ca.example.test/dir"), cert}, "not an https:// URL"},
        {{QStringLiteral("--client-timeout"), QStringLiteral("0"), cert}, "--client-timeout '0'"},
        {{QStringLiteral("--verify"), QStringLiteral("127.0.0.1:443"), cert}, "go with --deploy-to"},
    };
    for (const auto& c : cases) {
        const CliRun run = renew(c.arguments);
        QCOMPARE(run.exitCode, 3);
        QVERIFY2(run.err.contains(QLatin1String(c.says)), qPrintable(run.err));
    }
}

QTEST_GUILESS_MAIN(TestRenew)
#include "tst_renew.moc"
