// `staplescope-cli refresh` end to end in process: the test PKI, the in-process OCSP responder on
// 127.0.0.1, files in a temporary folder, the clock pinned at the PKI's time. Each case checks what
// is on disk afterwards, the line printed and the exit status.

#include "Command.h"
#include "OcspStaple.h"
#include "RefreshPlan.h"
#include "TestPki.h"
#include "TestResponder.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <sys/stat.h>

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

unsigned modeOf(const QString& path)
{
    struct stat st = {};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 ? unsigned(st.st_mode & 07777) : 0;
}

// The single response of a staple file, or a default (null thisUpdate) when it is not one.
OcspSingleResponse onlyResponse(const QByteArray& der)
{
    const OcspStaple::ParseResult parsed = OcspStaple::fromDer(der, SourceLocation{QStringLiteral("test")});
    if (parsed.staple.isNull() || parsed.staple.responses().size() != 1)
        return {};
    return parsed.staple.responses().first();
}

} // namespace

class TestRefresh : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void installsOverStapleOfPreviousCertificate();
    void dryRunChangesNothing();
    void keepsCurrentStapleThatIsNewer();
    void responderFailureKeepsGoodCurrentStaple();
    void neverReplacesGoodStapleWithWorse_data();
    void neverReplacesGoodStapleWithWorse();
    void staleStapleMovedAsideWhenNoneObtainable();
    void keepStaleLeavesItAndFails();
    void revokedIsNeverInstalled();
    void ifDueSkipsStapleBeforeItsRefreshPoint();
    void ifDueRefreshesStaplePastItsRefreshPoint();
    void certificateWithoutOcspUrlIsSkipped();
    void missingIssuerIsFetchedFromCaIssuers();
    void haproxyCrtFileGetsOcspBesideIt();
    void haproxyCrtFileGivenAloneKeepsItsGoodStaple();
    void stapleNameWritesBesideCertificate();
    void noDestinationIsSkippedWithAHint();
    void smallClockSkewIsAccepted();
    void mustStapleWithoutResponseSaysClientsFail();
    void reloadCommandRunsOnceAfterChanges();
    void reloadCommandNotRunWhenNothingChanges();
    void jsonCarriesThePlanAndTheResult();
    void stapleOptionsAreChecked();
    void concurrentRunsLeaveOneGoodStaple();

private:
    CliRun refresh(const QStringList& arguments);
    // cert.pem + chain.pem in a fresh folder; returns the folder.
    QString siteFolder(const IssuedCert& leaf, const QString& name = QStringLiteral("site"));
    QByteArray stapleAbout(const IssuedCert& cert, double thisUpdateDays, double nextUpdateDays,
                           int status = V_OCSP_CERTSTATUS_GOOD) const;

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestResponder> m_responder;
    std::unique_ptr<TestFolder> m_folder;
    IssuedCert m_leaf, m_previous;
    QString m_rootFile;
};

void TestRefresh::initTestCase()
{
    // Loopback requests must not go through a proxy someone set for this machine.
    for (const char* name : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
        qunsetenv(name);
}

void TestRefresh::init()
{
    m_pki = std::make_unique<TestPki>();
    m_responder = std::make_unique<TestResponder>(*m_pki);
    QVERIFY(m_responder->start());
    m_leaf = m_responder->issueLeaf();
    // The certificate it replaced: same names, same CA, issued 60 days earlier.
    m_previous = m_responder->issueLeaf([&](CertSpec& spec) {
        spec.notBefore = daysFrom(m_pki->now(), -70);
        spec.notAfter = daysFrom(m_pki->now(), 20);
    });
    m_folder = std::make_unique<TestFolder>();
    QVERIFY(m_folder->isValid());
    m_rootFile = m_folder->write(QStringLiteral("trust/root.pem"), m_pki->root.certPem());
}

void TestRefresh::cleanup()
{
    m_responder.reset();
    m_folder.reset();
}

CliRun TestRefresh::refresh(const QStringList& arguments)
{
    CliRun run;
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandStreams streams{out, err, false, false};
    const auto clock = std::make_shared<FixedClock>(m_pki->now());
    run.exitCode = runCli(QStringList{QStringLiteral("staplescope-cli"), QStringLiteral("refresh"), QStringLiteral("--no-system-trust"),
                                      QStringLiteral("--ca-file"), m_rootFile, QStringLiteral("--timeout"), QStringLiteral("3")} +
                              arguments,
                          streams, clock);
    out.flush();
    err.flush();
    return run;
}

QString TestRefresh::siteFolder(const IssuedCert& leaf, const QString& name)
{
    m_folder->write(name + QStringLiteral("/cert.pem"), leaf.certPem());
    m_folder->write(name + QStringLiteral("/chain.pem"), m_pki->intermediate.certPem());
    return m_folder->path(name);
}

QByteArray TestRefresh::stapleAbout(const IssuedCert& cert, double thisUpdateDays, double nextUpdateDays, int status) const
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.thisUpdate = daysFrom(m_pki->now(), thisUpdateDays);
    spec.nextUpdate = daysFrom(m_pki->now(), nextUpdateDays);
    spec.certStatus = status;
    if (status == V_OCSP_CERTSTATUS_REVOKED)
        spec.revocationTime = daysFrom(m_pki->now(), -1);
    return m_pki->staple(spec, &cert);
}

// The incident: the certificate was renewed, the staple file still holds the old one's response.
void TestRefresh::installsOverStapleOfPreviousCertificate()
{
    const QString site = siteFolder(m_leaf);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
    QVERIFY(::chmod(QFile::encodeName(staple).constData(), 0640) == 0);

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral(": installed — ") + staple), qPrintable(run.out));
    const OcspSingleResponse now = onlyResponse(readFile(staple));
    QCOMPARE(now.certId.serialHex(), Certificate::fromDer(m_leaf.certDer(), {}).serialHex());
    QCOMPARE(now.status, OcspCertStatus::Good);
    QCOMPARE(now.thisUpdate, hoursFrom(m_pki->now(), -1));
    QCOMPARE(modeOf(staple), 0640u);
    QCOMPARE(m_responder->ocspRequestCount(), 1);

    // Judged again from disk, the bundle's staple is healthy now.
    const InspectionReport after = inspectPaths({site}, {m_rootFile});
    for (const QString& code : codesOf(after))
        QVERIFY2(!code.startsWith(QLatin1String("STAPLE_")) || code == QLatin1String("STAPLE_OUTLIVES_CERT"), qPrintable(code));
}

void TestRefresh::dryRunChangesNothing()
{
    const QString site = siteFolder(m_leaf);
    const QByteArray stale = stapleAbout(m_previous, -1, 6);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stale);

    const CliRun run = refresh({QStringLiteral("--dry-run"), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("would install")), qPrintable(run.out));
    QCOMPARE(readFile(staple), stale);
    QVERIFY(!QFileInfo::exists(staple + QStringLiteral(".stale")));
}

void TestRefresh::keepsCurrentStapleThatIsNewer()
{
    const QString site = siteFolder(m_leaf);
    // The responder signs thisUpdate now − 1 h; this one is from now − 30 min.
    const QByteArray newer = stapleAbout(m_leaf, -0.5 / 24, 6);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), newer);

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": kept current")), qPrintable(run.out));
    QCOMPARE(readFile(staple), newer);
}

void TestRefresh::responderFailureKeepsGoodCurrentStaple()
{
    const QString site = siteFolder(m_leaf);
    const QByteArray older = stapleAbout(m_leaf, -2, 5);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), older);
    m_responder->setDefaultScenario(ResponderScenario::Http500);

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 1, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": kept current")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("warning OCSP_FETCH_FAILED")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("500")), qPrintable(run.out));
    QCOMPARE(readFile(staple), older);
}

void TestRefresh::neverReplacesGoodStapleWithWorse_data()
{
    QTest::addColumn<int>("scenario");
    for (ResponderScenario s : {ResponderScenario::Unknown, ResponderScenario::TryLater, ResponderScenario::InternalError,
                                ResponderScenario::Unauthorized, ResponderScenario::OtherSerial, ResponderScenario::Expired,
                                ResponderScenario::FromTheFuture, ResponderScenario::NoNextUpdate, ResponderScenario::BadSignature,
                                ResponderScenario::WrongSigner, ResponderScenario::Garbage, ResponderScenario::HtmlErrorPage,
                                ResponderScenario::WrongContentType, ResponderScenario::Oversized, ResponderScenario::RedirectLoop,
                                ResponderScenario::ClosedMidBody})
        QTest::newRow(qPrintable(responderScenarioName(s))) << int(s);
}

// Whatever the responder gets wrong, a good current staple stays, and the run says so (exit 1).
void TestRefresh::neverReplacesGoodStapleWithWorse()
{
    QFETCH(int, scenario);
    const QString site = siteFolder(m_leaf);
    const QByteArray older = stapleAbout(m_leaf, -2, 5);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), older);
    m_responder->setDefaultScenario(ResponderScenario(scenario));

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 1, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": kept current")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("no fresh staple: ")), qPrintable(run.out));
    QCOMPARE(readFile(staple), older);
}

void TestRefresh::staleStapleMovedAsideWhenNoneObtainable()
{
    const QString site = siteFolder(m_leaf);
    const QByteArray stale = stapleAbout(m_previous, -1, 6);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stale);
    m_responder->setDefaultScenario(ResponderScenario::TryLater);

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 2, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": stale removed")), qPrintable(run.out));
    QVERIFY(!QFileInfo::exists(staple));
    QCOMPARE(readFile(staple + QStringLiteral(".stale")), stale);
}

void TestRefresh::keepStaleLeavesItAndFails()
{
    const QString site = siteFolder(m_leaf);
    const QByteArray stale = stapleAbout(m_previous, -1, 6);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stale);
    m_responder->setDefaultScenario(ResponderScenario::Http500);

    const CliRun run = refresh({QStringLiteral("--keep-stale"), site});
    QVERIFY2(run.exitCode == 2, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": failed")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("--keep-stale")), qPrintable(run.out));
    QCOMPARE(readFile(staple), stale);
    QVERIFY(!QFileInfo::exists(staple + QStringLiteral(".stale")));
}

void TestRefresh::revokedIsNeverInstalled()
{
    const QString site = siteFolder(m_leaf);
    const QByteArray older = stapleAbout(m_leaf, -2, 5);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), older);
    m_responder->setScenario(m_leaf, ResponderScenario::Revoked);

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 2, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("critical CERT_REVOKED")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("keyCompromise")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("must be replaced")), qPrintable(run.out));
    QCOMPARE(readFile(staple), older);
}

void TestRefresh::ifDueSkipsStapleBeforeItsRefreshPoint()
{
    const QString site = siteFolder(m_leaf);
    // Window now − 1 h … now + 6 d: the refresh point lies about 3 days ahead.
    const QByteArray fresh = stapleAbout(m_leaf, -1.0 / 24, 6);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), fresh);

    const CliRun run = refresh({QStringLiteral("--if-due"), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": not due")), qPrintable(run.out));
    QCOMPARE(m_responder->ocspRequestCount(), 0);
    QCOMPARE(readFile(staple), fresh);
}

void TestRefresh::ifDueRefreshesStaplePastItsRefreshPoint()
{
    const QString site = siteFolder(m_leaf);
    // Window now − 5 d … now + 2 d: past half of it.
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_leaf, -5, 2));

    const CliRun run = refresh({QStringLiteral("--if-due"), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": installed")), qPrintable(run.out));
    QCOMPARE(onlyResponse(readFile(staple)).thisUpdate, hoursFrom(m_pki->now(), -1));
}

// Let's Encrypt since 2025: no OCSP URL. A normal state, not a failure.
void TestRefresh::certificateWithoutOcspUrlIsSkipped()
{
    const IssuedCert noOcsp = m_responder->issueLeaf([](CertSpec& spec) { spec.ocspUrls.clear(); });
    const QString site = siteFolder(noOcsp);

    const CliRun run = refresh({QStringLiteral("--staple-name"), QStringLiteral("ocsp.der"), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": skipped")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("no OCSP responder")), qPrintable(run.out));
    QCOMPARE(m_responder->requestCount(), 0);
    QVERIFY(!QFileInfo::exists(site + QStringLiteral("/ocsp.der")));
}

void TestRefresh::missingIssuerIsFetchedFromCaIssuers()
{
    m_folder->write(QStringLiteral("bare/cert.pem"), m_leaf.certPem());
    const QString site = m_folder->path(QStringLiteral("bare"));

    const CliRun run = refresh({QStringLiteral("--staple-name"), QStringLiteral("ocsp.der"), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": installed")), qPrintable(run.out));
    QCOMPARE(onlyResponse(readFile(site + QStringLiteral("/ocsp.der"))).status, OcspCertStatus::Good);
    bool issuerAsked = false;
    for (const ResponderRequest& r : m_responder->requests())
        issuerAsked = issuerAsked || r.path.startsWith("/issuer");
    QVERIFY(issuerAsked);
}

void TestRefresh::haproxyCrtFileGetsOcspBesideIt()
{
    const QString crt = m_folder->write(QStringLiteral("haproxy/site.pem"),
                                        m_leaf.certPem() + m_pki->keyPem(m_leaf) + m_pki->intermediate.certPem());

    const CliRun run = refresh({m_folder->path(QStringLiteral("haproxy"))});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QString ocsp = crt + QStringLiteral(".ocsp");
    QVERIFY2(run.out.contains(QStringLiteral(": installed — ") + ocsp), qPrintable(run.out));
    QCOMPARE(onlyResponse(readFile(ocsp)).status, OcspCertStatus::Good);
    QCOMPARE(modeOf(ocsp), 0644u);
    QVERIFY2(!run.out.contains(QLatin1String("PRIVATE KEY")), qPrintable(run.out));
}

// Given only site.pem, HAProxy's site.pem.ocsp is its current staple: a good, newer one is kept.
void TestRefresh::haproxyCrtFileGivenAloneKeepsItsGoodStaple()
{
    const QString crt = m_folder->write(QStringLiteral("haproxy/site.pem"),
                                        m_leaf.certPem() + m_pki->keyPem(m_leaf) + m_pki->intermediate.certPem());
    const QByteArray newer = stapleAbout(m_leaf, -0.5 / 24, 6);
    const QString ocsp = m_folder->write(QStringLiteral("haproxy/site.pem.ocsp"), newer);

    const CliRun run = refresh({crt});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral(": kept current — ") + ocsp), qPrintable(run.out));
    QCOMPARE(readFile(ocsp), newer);
}

void TestRefresh::stapleNameWritesBesideCertificate()
{
    const QString a = siteFolder(m_leaf, QStringLiteral("a"));
    const IssuedCert other = m_responder->issueLeaf([](CertSpec& spec) {
        spec.commonName = QStringLiteral("mail.example.test");
        spec.dnsNames = {spec.commonName};
    });
    const QString b = siteFolder(other, QStringLiteral("b"));

    const CliRun run = refresh({QStringLiteral("--staple-name"), QStringLiteral("ocsp.der"), a, b});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QCOMPARE(onlyResponse(readFile(a + QStringLiteral("/ocsp.der"))).certId.serialHex(),
             Certificate::fromDer(m_leaf.certDer(), {}).serialHex());
    QCOMPARE(onlyResponse(readFile(b + QStringLiteral("/ocsp.der"))).certId.serialHex(),
             Certificate::fromDer(other.certDer(), {}).serialHex());
    QCOMPARE(m_responder->ocspRequestCount(), 2);
}

void TestRefresh::noDestinationIsSkippedWithAHint()
{
    const QString site = siteFolder(m_leaf);
    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": skipped")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("--staple-name")), qPrintable(run.out));
    QCOMPARE(m_responder->requestCount(), 0);
}

// A responder whose clock runs a few minutes ahead is normal; ten minutes is not.
void TestRefresh::smallClockSkewIsAccepted()
{
    const QString site = siteFolder(m_leaf);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
    // Good answers start one hour before the responder's now.
    m_responder->setNow(m_pki->now().addSecs(3600 + 3 * 60));
    CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String(": installed")), qPrintable(run.out));

    const QByteArray installed = readFile(staple);
    m_responder->setNow(m_pki->now().addSecs(3600 + 20 * 60));
    m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
    run = refresh({QStringLiteral("--keep-stale"), site});
    QVERIFY2(run.exitCode == 2, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("STAPLE_NOT_YET_VALID")), qPrintable(run.out));
    QVERIFY(readFile(staple) != installed);
}

void TestRefresh::mustStapleWithoutResponseSaysClientsFail()
{
    const IssuedCert mustStaple = m_responder->issueLeaf([](CertSpec& spec) { spec.mustStaple = true; });
    const QString site = siteFolder(mustStaple);
    m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
    m_responder->setDefaultScenario(ResponderScenario::Http500);

    const CliRun run = refresh({site});
    QVERIFY2(run.exitCode == 2, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("must-staple")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("clients fail either way")), qPrintable(run.out));
}

void TestRefresh::reloadCommandRunsOnceAfterChanges()
{
    const QString a = siteFolder(m_leaf, QStringLiteral("a"));
    const IssuedCert other = m_responder->issueLeaf([](CertSpec& spec) {
        spec.commonName = QStringLiteral("mail.example.test");
        spec.dnsNames = {spec.commonName};
    });
    const QString b = siteFolder(other, QStringLiteral("b"));
    const QString log = m_folder->path(QStringLiteral("reloads.log"));

    const CliRun run = refresh({QStringLiteral("--staple-name"), QStringLiteral("ocsp.der"), QStringLiteral("--reload-command"),
                                QStringLiteral("echo reloaded >> '%1'; echo done").arg(log), a, b});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QCOMPARE(readFile(log), QByteArray("reloaded\n"));
    QVERIFY2(run.out.contains(QLatin1String("reload command exited 0")), qPrintable(run.out));
}

void TestRefresh::reloadCommandNotRunWhenNothingChanges()
{
    const QString site = siteFolder(m_leaf);
    m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_leaf, -1.0 / 24, 6));
    const QString log = m_folder->path(QStringLiteral("reloads.log"));

    const CliRun run = refresh({QStringLiteral("--if-due"), QStringLiteral("--reload-command"),
                                QStringLiteral("echo reloaded >> '%1'").arg(log), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY(!QFileInfo::exists(log));
    QVERIFY2(run.out.contains(QLatin1String("not run: nothing changes")), qPrintable(run.out));

    // A failing reload after a change makes the run fail.
    m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
    const CliRun failing = refresh({QStringLiteral("--reload-command"), QStringLiteral("echo 'no such unit' >&2; exit 5"), site});
    QVERIFY2(failing.exitCode == 2, qPrintable(failing.all()));
    QVERIFY2(failing.out.contains(QLatin1String("reload command exited 5")), qPrintable(failing.out));
    QVERIFY2(failing.out.contains(QLatin1String("no such unit")), qPrintable(failing.out));
}

void TestRefresh::jsonCarriesThePlanAndTheResult()
{
    const QString site = siteFolder(m_leaf);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));

    const CliRun run = refresh({QStringLiteral("--json"), site});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QJsonObject json = run.json();
    QVERIFY2(!json.isEmpty(), qPrintable(run.out));
    const QJsonArray bundles = json.value(QLatin1String("bundles")).toArray();
    QCOMPARE(bundles.size(), 1);
    const QJsonObject line = bundles.first().toObject();
    QCOMPARE(line.value(QLatin1String("outcome")).toString(), QStringLiteral("install"));
    QCOMPARE(line.value(QLatin1String("destination")).toString(), staple);
    QCOMPARE(json.value(QLatin1String("result")).toObject().value(QLatin1String("ok")).toBool(), true);
    QCOMPARE(json.value(QLatin1String("exitCode")).toInt(), 0);
    // The same JSON is a plan `apply` can read.
    QString error;
    const std::optional<RefreshPlan> plan = RefreshPlan::fromJson(json, &error);
    QVERIFY2(plan, qPrintable(error));
    QCOMPARE(plan->bundles.size(), 1);
    QCOMPARE(plan->bundles.first().newStapleDer, readFile(staple));
}

void TestRefresh::stapleOptionsAreChecked()
{
    const QString a = siteFolder(m_leaf, QStringLiteral("a"));
    const IssuedCert other = m_responder->issueLeaf([](CertSpec& spec) {
        spec.commonName = QStringLiteral("mail.example.test");
        spec.dnsNames = {spec.commonName};
    });
    const QString b = siteFolder(other, QStringLiteral("b"));
    CliRun run = refresh({QStringLiteral("--staple-path"), m_folder->path(QStringLiteral("x.der")), a, b});
    QCOMPARE(run.exitCode, 3);
    QVERIFY2(run.err.contains(QLatin1String("--staple-path names one file")), qPrintable(run.err));
    run = refresh({QStringLiteral("--staple-name"), QStringLiteral("../x.der"), a});
    QCOMPARE(run.exitCode, 3);
    run = refresh({QStringLiteral("--certid-hash"), QStringLiteral("md5"), a});
    QCOMPARE(run.exitCode, 3);
    run = refresh({QStringLiteral("--responder"), QStringLiteral("ftp://x"), a});
    QCOMPARE(run.exitCode, 3);
    QCOMPARE(m_responder->requestCount(), 0);
}

// Two refresh processes on the same files at once (two timers, a deploy hook): both end well, the
// file is one whole good response, and no temporary file is left.
void TestRefresh::concurrentRunsLeaveOneGoodStaple()
{
    const QString cli = qEnvironmentVariable("STAPLESCOPE_CLI");
    if (cli.isEmpty() || !QFileInfo(cli).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString site = siteFolder(m_leaf);
    const QString staple = m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
    m_responder->setLatencyMs(50);
    const QStringList arguments{QStringLiteral("refresh"), QStringLiteral("--no-system-trust"), QStringLiteral("--ca-file"), m_rootFile,
                                QStringLiteral("--at"), m_pki->now().toString(Qt::ISODate), site};
    for (int round = 0; round < 3; ++round) {
        m_folder->write(QStringLiteral("site/staple.der"), stapleAbout(m_previous, -1, 6));
        QProcess first, second;
        first.start(cli, arguments);
        second.start(cli, arguments);
        QVERIFY(first.waitForFinished(30000));
        QVERIFY(second.waitForFinished(30000));
        QVERIFY2(first.exitStatus() == QProcess::NormalExit && first.exitCode() == 0, first.readAll().constData());
        QVERIFY2(second.exitStatus() == QProcess::NormalExit && second.exitCode() == 0, second.readAll().constData());
        const OcspSingleResponse now = onlyResponse(readFile(staple));
        QCOMPARE(now.certId.serialHex(), Certificate::fromDer(m_leaf.certDer(), {}).serialHex());
        QCOMPARE(now.status, OcspCertStatus::Good);
        QCOMPARE(QDir(site).entryList(QDir::Files | QDir::Hidden).size(), 3); // cert.pem, chain.pem, staple.der
    }
}

QTEST_GUILESS_MAIN(TestRefresh)
#include "tst_refresh.moc"
