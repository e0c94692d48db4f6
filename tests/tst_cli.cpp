// staplescope-cli commands run in-process (streams captured), plus the real binary once for the
// exit-status contract monitoring relies on.

#include "Command.h"
#include "DemoData.h"
#include "InspectCommand.h"
#include "TestPki.h"
#include "TestResponder.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace staplescope;
using namespace staplescope::cli;

namespace {

struct CliRun {
    int exitCode = -1;
    QString out;
    QString err;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
};

CliRun runInProcess(const QStringList& arguments, const std::shared_ptr<const Clock>& clock = Clock::system())
{
    CliRun run;
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandStreams streams{out, err, false, false};
    run.exitCode = runCli(QStringList{QStringLiteral("staplescope-cli")} + arguments, streams, clock);
    return run;
}

QStringList codesOf(const QJsonObject& report)
{
    QStringList codes;
    for (const QJsonValue& finding : report.value(QLatin1String("findings")).toArray())
        codes << finding.toObject().value(QLatin1String("code")).toString();
    return codes;
}

bool writeFile(const QString& path, const QByteArray& content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

QString cliBinary() { return qEnvironmentVariable("STAPLESCOPE_CLI"); }

// Runs the real binary; a run that outlives `timeoutMs` is killed and reported as exit -1, so a
// command that blocks or reads forever fails the test instead of hanging it.
CliRun runBinary(const QStringList& arguments, int timeoutMs = 10000)
{
    CliRun run;
    QProcess process;
    process.start(cliBinary(), arguments);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished(5000);
        run.err = QStringLiteral("(killed after %1 ms)").arg(timeoutMs);
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

// What a path is, as lstat sees it, to compare before and after.
struct PathState {
    bool exists = false;
    mode_t mode = 0;
    QString linkTarget;
    QByteArray content;
    bool operator==(const PathState&) const = default;
};

PathState stateOf(const QString& path)
{
    PathState state;
    struct stat info = {};
    if (::lstat(QFile::encodeName(path).constData(), &info) != 0)
        return state;
    state.exists = true;
    state.mode = info.st_mode;
    if (S_ISLNK(info.st_mode)) {
        state.linkTarget = QFileInfo(path).symLinkTarget();
    } else if (S_ISREG(info.st_mode)) {
        QFile file(path);
        if (file.open(QIODevice::ReadOnly))
            state.content = file.readAll();
    }
    return state;
}

QStringList entriesOf(const QString& folder)
{
    return QDir(folder).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System, QDir::Name);
}

mode_t permissionsOf(const QString& path)
{
    struct stat info = {};
    return ::lstat(QFile::encodeName(path).constData(), &info) == 0 ? (info.st_mode & 07777) : mode_t(-1);
}

// Sets the umask for a scope (the test changes it to 000 to see keys stay 0600).
class UmaskScope {
public:
    explicit UmaskScope(mode_t mask) : m_saved(::umask(mask)) {}
    ~UmaskScope() { ::umask(m_saved); }

private:
    mode_t m_saved;
};

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void inspectOnlineAsksTheResponder();
    void incidentExitsCriticalNamingBothSerials();
    void healthyBundleExitsZero();
    void commandHelpNamesProgramAndCommand();
    void explicitRolesReproduceTheIncident();
    void positionalCrlRevokesTheCertBundle();
    void positionalStapleBelongsToTheCertBundle_data();
    void positionalStapleBelongsToTheCertBundle();
    void sameFileGivenBothWaysCountsOnce();
    void certWithItsFolderStillSeesTheRenewal();
    void onlyStapleGivenIsJudgedForTheCert();
    void atMovesTheEvaluationTime();
    void commandsReadTheirClock();
    void brokenInputsGiveInputFindings_data();
    void brokenInputsGiveInputFindings();
    void badUsageExitsThreeWithOneLine_data();
    void badUsageExitsThreeWithOneLine();
    void textReportNeverShowsKeyMaterial();
    void binaryExitStatus();
    void passwordFileIsBounded_data();
    void passwordFileIsBounded();
    void passwordFileFirstLineOpensPkcs12();
    void otherFileOptionsNeverBlock_data();
    void otherFileOptionsNeverBlock();
    void demoRefusesAFolderInTheWay_data();
    void demoRefusesAFolderInTheWay();
    void demoKeysAreOwnerOnlyWhateverTheUmask();
    void nonUtf8PathArgumentOpens();
    void hostileNamesAreEscapedInEveryFormat_data();
    void hostileNamesAreEscapedInEveryFormat();

private:
    QTemporaryDir m_dir;
    DemoResult m_demo;
};

void TestCli::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_demo = writeDemo(m_dir.filePath(QStringLiteral("demo")), QDateTime::currentDateTimeUtc());
    QVERIFY2(m_demo.ok, qPrintable(m_demo.error));
}

// inspect --online asks each certificate's responder (the loopback TestResponder) and says what it
// answered; without --online nothing is asked.
void TestCli::inspectOnlineAsksTheResponder()
{
    qunsetenv("http_proxy");
    test::TestPki pki;
    test::TestResponder responder(pki);
    QVERIFY(responder.start());
    const auto named = [](const char* name) {
        return [name](CertSpec& s) {
            s.commonName = QString::fromLatin1(name);
            s.dnsNames = {s.commonName};
        };
    };
    const IssuedCert good = responder.issueLeaf(named("good.example.test"));
    const IssuedCert revoked = responder.issueLeaf(named("revoked.example.test"));
    responder.setScenario(revoked, test::ResponderScenario::Revoked);
    test::TestFolder dir;
    dir.write(QStringLiteral("sites/good/fullchain.pem"), test::TestPki::pem({&good, &pki.intermediate}));
    dir.write(QStringLiteral("sites/revoked/fullchain.pem"), test::TestPki::pem({&revoked, &pki.intermediate}));
    const QString root = dir.write(QStringLiteral("trust/root.pem"), pki.root.certPem());
    const QStringList common{QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                             QStringLiteral("--ca-file"), root, QStringLiteral("--at"), pki.now().toString(Qt::ISODate),
                             dir.path(QStringLiteral("sites"))};

    const CliRun offline = runInProcess(common);
    QCOMPARE(responder.requestCount(), 0);
    QVERIFY(!codesOf(offline.json()).contains(QStringLiteral("REVOCATION_CHECKED")));

    const CliRun online = runInProcess(common + QStringList{QStringLiteral("--online"), QStringLiteral("--timeout"), QStringLiteral("5"),
                                                            QStringLiteral("--certid-hash"), QStringLiteral("sha256")});
    QCOMPARE(online.exitCode, 2);
    const QStringList codes = codesOf(online.json());
    QVERIFY2(codes.contains(QStringLiteral("CERT_REVOKED")), qPrintable(online.out));
    QVERIFY2(codes.contains(QStringLiteral("REVOCATION_CHECKED")), qPrintable(online.out));
    QVERIFY2(online.out.contains(QLatin1String("reason: keyCompromise")), qPrintable(online.out));
    QCOMPARE(responder.ocspRequestCount(), 2);
    // The text report words the same answers.
    QStringList textArguments = common + QStringList{QStringLiteral("--online")};
    textArguments.removeAll(QStringLiteral("--json"));
    const CliRun text = runInProcess(textArguments);
    QCOMPARE(text.exitCode, 2);
    QVERIFY2(text.out.contains(QLatin1String("Certificate revoked (OCSP)")), qPrintable(text.out));
    QVERIFY2(text.out.contains(QLatin1String("Not revoked (OCSP)")), qPrintable(text.out));
    QCOMPARE(responder.ocspRequestCount(), 4);

    // The network options belong to --online; bad values are usage errors.
    QCOMPARE(runInProcess(common + QStringList{QStringLiteral("--timeout"), QStringLiteral("5")}).exitCode, 3);
    QCOMPARE(runInProcess(common + QStringList{QStringLiteral("--online"), QStringLiteral("--certid-hash"), QStringLiteral("md5")}).exitCode, 3);
    QCOMPARE(runInProcess(common + QStringList{QStringLiteral("--online"), QStringLiteral("--responder"), QStringLiteral("https://x.test/")}).exitCode, 3);
    QCOMPARE(responder.ocspRequestCount(), 4);
}

void TestCli::incidentExitsCriticalNamingBothSerials()
{
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--ca-file"),
                                     m_demo.trustAnchorFile, m_dir.filePath(QStringLiteral("demo/incident"))});
    QCOMPARE(run.exitCode, 2);
    const QJsonObject report = run.json();
    QCOMPARE(report.value(QLatin1String("schema")).toString(), QStringLiteral("staplescope-report/1"));
    QCOMPARE(codesOf(report).value(0), QStringLiteral("STAPLE_FOR_OTHER_CERT"));

    // Both serials, as the bundles report them, must be in the one finding's message.
    QString currentSerial, previousSerial;
    for (const QJsonValue& bundle : report.value(QLatin1String("bundles")).toArray()) {
        const QJsonObject leaf = bundle.toObject().value(QLatin1String("leaf")).toObject();
        const QString serial = leaf.value(QLatin1String("serial")).toString();
        QVERIFY(!serial.isEmpty());
        if (leaf.value(QLatin1String("source")).toObject().value(QLatin1String("path")).toString().contains(QLatin1String("previous")))
            previousSerial = serial;
        else
            currentSerial = serial;
    }
    QVERIFY(!currentSerial.isEmpty() && !previousSerial.isEmpty());
    const QJsonObject finding = report.value(QLatin1String("findings")).toArray().first().toObject();
    QCOMPARE(finding.value(QLatin1String("severity")).toString(), QStringLiteral("critical"));
    const QString message = finding.value(QLatin1String("message")).toString();
    QVERIFY2(message.contains(currentSerial) && message.contains(previousSerial), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("previous/exim.crt")), qPrintable(message));
    QVERIFY(finding.value(QLatin1String("subject")).toString().contains(QLatin1String("exim.ocsp.der")));
}

void TestCli::healthyBundleExitsZero()
{
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--ca-file"),
                                     m_demo.trustAnchorFile, m_dir.filePath(QStringLiteral("demo/healthy"))});
    QVERIFY2(run.exitCode == 0, qPrintable(run.out));
    QCOMPARE(run.json().value(QLatin1String("bundles")).toArray().size(), 1);
    QCOMPARE(run.json().value(QLatin1String("worstSeverity")).toString(), QStringLiteral("info"));
}

void TestCli::commandHelpNamesProgramAndCommand()
{
    for (const auto& command : allCommands()) {
        const CliRun run = runInProcess({command->name(), QStringLiteral("--help")});
        QCOMPARE(run.exitCode, 0);
        const QString expected = QStringLiteral("Usage: staplescope-cli %1 [options]").arg(command->name());
        QVERIFY2(run.out.startsWith(expected), qPrintable(run.out.left(200)));
    }
}

void TestCli::explicitRolesReproduceTheIncident()
{
    const QString incident = m_dir.filePath(QStringLiteral("demo/incident/"));
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--ca-file"),
                                     m_demo.trustAnchorFile, QStringLiteral("--cert"), incident + QStringLiteral("exim.crt"),
                                     QStringLiteral("--key"), incident + QStringLiteral("exim.key"), QStringLiteral("--staple"),
                                     incident + QStringLiteral("exim.ocsp.der")});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(codesOf(run.json()).contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")), qPrintable(run.out));
}

// One input set: a CRL given positionally is matched with the --cert bundle (it used to be read
// and never looked at, so a revoked certificate was reported healthy).
void TestCli::positionalCrlRevokesTheCertBundle()
{
    const test::TestPki pki;
    const test::TestFolder dir;
    const QString root = dir.write(QStringLiteral("root.pem"), pki.root.certPem());
    const QString cert = dir.write(QStringLiteral("site/fullchain.pem"), test::TestPki::pem({&pki.leaf, &pki.intermediate}));
    const QString crl = dir.write(QStringLiteral("crl/int.crl"),
                                  pki.factory().crlDer(pki.intermediate, pki.now().addDays(-1), pki.now().addDays(6), {&pki.leaf}));
    QVERIFY(!root.isEmpty() && !cert.isEmpty() && !crl.isEmpty());
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                                     QStringLiteral("--ca-file"), root, QStringLiteral("--at"), pki.now().toString(Qt::ISODate),
                                     QStringLiteral("--cert"), cert, crl});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(codesOf(run.json()).contains(QStringLiteral("CERT_REVOKED")), qPrintable(run.out));
    QCOMPARE(run.json().value(QLatin1String("bundles")).toArray().size(), 1);
}

void TestCli::positionalStapleBelongsToTheCertBundle_data()
{
    // Matched by CertID, with the chain given by role or positionally (a path candidate);
    // "leaf-too": the staple's own folder also holds the --cert file, which must not make a second bundle.
    QTest::addColumn<QString>("layout");
    QTest::newRow("certid") << QStringLiteral("certid");
    QTest::newRow("chain-given-positionally") << QStringLiteral("beside-chain");
    QTest::newRow("folder-with-the-cert-too") << QStringLiteral("leaf-too");
}

void TestCli::positionalStapleBelongsToTheCertBundle()
{
    QFETCH(QString, layout);
    const test::TestPki pki;
    const test::TestFolder dir;
    const QString root = dir.write(QStringLiteral("root.pem"), pki.root.certPem());
    const QString cert = dir.write(QStringLiteral("site/cert.pem"), pki.leaf.certPem());
    const QString chain = dir.write(QStringLiteral("site/chain.pem"), pki.intermediate.certPem());
    const QString staple = dir.write(QStringLiteral("ocsp/site.der"), pki.goodStaple());
    QVERIFY(!root.isEmpty() && !cert.isEmpty() && !chain.isEmpty() && !staple.isEmpty());
    QStringList arguments{QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                          QStringLiteral("--ca-file"), root, QStringLiteral("--at"), pki.now().toString(Qt::ISODate),
                          QStringLiteral("--cert"), cert};
    if (layout == QLatin1String("certid"))
        arguments << QStringLiteral("--chain") << chain << staple;
    else if (layout == QLatin1String("beside-chain"))
        arguments << staple << chain; // the intermediate comes positionally, as a path candidate
    else
        arguments << QStringLiteral("--chain") << chain << staple << dir.path(QStringLiteral("site"));
    const CliRun run = runInProcess(arguments);
    const QStringList codes = codesOf(run.json());
    QVERIFY2(!codes.contains(QStringLiteral("STAPLE_UNMATCHED")), qPrintable(run.out));
    QVERIFY2(!codes.contains(QStringLiteral("STAPLE_MISSING")), qPrintable(run.out));
    QVERIFY2(run.exitCode == 0, qPrintable(run.out));
    const QJsonArray bundles = run.json().value(QLatin1String("bundles")).toArray();
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles.first().toObject().value(QLatin1String("staples")).toArray().size(), 1);
}

// `--cert a.pem --staple s.der a.pem s.der`: one bundle, one staple, each finding once.
void TestCli::sameFileGivenBothWaysCountsOnce()
{
    const test::TestPki pki;
    const test::TestFolder dir;
    const QString root = dir.write(QStringLiteral("root.pem"), pki.root.certPem());
    const QString cert = dir.write(QStringLiteral("fullchain.pem"), test::TestPki::pem({&pki.leaf, &pki.intermediate}));
    const QString staple = dir.write(QStringLiteral("site.ocsp"), pki.goodStaple());
    const QString key = dir.write(QStringLiteral("site.key"), pki.keyPem(pki.leaf));
    QVERIFY(!root.isEmpty() && !cert.isEmpty() && !staple.isEmpty() && !key.isEmpty());
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                                     QStringLiteral("--ca-file"), root, QStringLiteral("--at"), pki.now().toString(Qt::ISODate),
                                     QStringLiteral("--cert"), cert, QStringLiteral("--staple"), staple, QStringLiteral("--key"), key,
                                     cert, staple, key});
    QVERIFY2(run.exitCode == 0, qPrintable(run.out));
    const QJsonArray bundles = run.json().value(QLatin1String("bundles")).toArray();
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles.first().toObject().value(QLatin1String("staples")).toArray().size(), 1);
    QVERIFY2(!codesOf(run.json()).contains(QStringLiteral("STAPLE_UNMATCHED")), qPrintable(run.out));
}

// `--cert exim.crt incident/`: the folder holds previous/exim.crt and the staple for it. The
// --cert certificate supersedes it, so the staple is the stale one, as when the folder alone is given.
void TestCli::certWithItsFolderStillSeesTheRenewal()
{
    const QString incident = m_dir.filePath(QStringLiteral("demo/incident/"));
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                                     QStringLiteral("--ca-file"), m_demo.trustAnchorFile, QStringLiteral("--cert"),
                                     incident + QStringLiteral("exim.crt"), incident});
    QCOMPARE(run.exitCode, 2);
    const QStringList codes = codesOf(run.json());
    QVERIFY2(codes.value(0) == QStringLiteral("STAPLE_FOR_OTHER_CERT"), qPrintable(run.out));
    QCOMPARE(run.json().value(QLatin1String("bundles")).toArray().size(), 2); // current and previous, each once
    // The same findings as for the folder alone.
    const CliRun folder = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                                        QStringLiteral("--ca-file"), m_demo.trustAnchorFile, incident});
    QCOMPARE(codes, codesOf(folder.json()));
}

// `--cert exim.crt exim.ocsp.der` where the staple names the previous certificate (not given):
// the only staple given is the --cert certificate's, judged wrong for it, as with --staple.
void TestCli::onlyStapleGivenIsJudgedForTheCert()
{
    const QString incident = m_dir.filePath(QStringLiteral("demo/incident/"));
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--no-system-trust"),
                                     QStringLiteral("--ca-file"), m_demo.trustAnchorFile, QStringLiteral("--cert"),
                                     incident + QStringLiteral("exim.crt"), incident + QStringLiteral("exim.ocsp.der")});
    QCOMPARE(run.exitCode, 2);
    const QStringList codes = codesOf(run.json());
    QVERIFY2(codes.contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")), qPrintable(run.out));
    QVERIFY2(!codes.contains(QStringLiteral("STAPLE_UNMATCHED")), qPrintable(run.out));
    const QJsonArray staples =
        run.json().value(QLatin1String("bundles")).toArray().first().toObject().value(QLatin1String("staples")).toArray();
    QCOMPARE(staples.size(), 1);
    QCOMPARE(staples.first().toObject().value(QLatin1String("attachedBy")).toString(), QStringLiteral("only-bundle"));
}

void TestCli::atMovesTheEvaluationTime()
{
    const QString healthy = m_dir.filePath(QStringLiteral("demo/healthy"));
    // The healthy staple's nextUpdate is a few days away; in two weeks it has expired.
    const CliRun later = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--at"),
                                       QStringLiteral("+14d"), QStringLiteral("--ca-file"), m_demo.trustAnchorFile, healthy});
    QCOMPARE(later.exitCode, 2);
    QVERIFY2(codesOf(later.json()).contains(QStringLiteral("STAPLE_EXPIRED")), qPrintable(later.out));
    const QDateTime evaluatedAt =
        QDateTime::fromString(later.json().value(QLatin1String("evaluatedAt")).toString(), Qt::ISODate);
    QVERIFY(qAbs(evaluatedAt.secsTo(QDateTime::currentDateTimeUtc().addDays(14))) < 120);
}

void TestCli::commandsReadTheirClock()
{
    // A pinned clock dates the demo, is the default evaluation time, and is what --at counts from.
    using test::daysFrom;
    using test::fixedNow;
    const auto clock = std::make_shared<FixedClock>(fixedNow());
    const QString folder = m_dir.filePath(QStringLiteral("pinned-demo"));
    const CliRun demo = runInProcess({QStringLiteral("demo"), folder}, clock);
    QCOMPARE(demo.exitCode, 0);
    const QString healthy = QDir(folder).filePath(QStringLiteral("healthy"));
    const QString anchor = QDir(folder).filePath(QStringLiteral("root-ca.pem"));
    const auto evaluatedAt = [](const CliRun& run) {
        return QDateTime::fromString(run.json().value(QLatin1String("evaluatedAt")).toString(), Qt::ISODate);
    };

    const CliRun now = runInProcess(
        {QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--ca-file"), anchor, healthy}, clock);
    QVERIFY2(now.exitCode == 0, qPrintable(now.out));
    QCOMPARE(evaluatedAt(now), fixedNow());

    const CliRun later = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--at"),
                                       QStringLiteral("+14d"), QStringLiteral("--ca-file"), anchor, healthy},
                                      clock);
    QCOMPARE(later.exitCode, 2);
    QVERIFY2(codesOf(later.json()).contains(QStringLiteral("STAPLE_EXPIRED")), qPrintable(later.out));
    QCOMPARE(evaluatedAt(later), daysFrom(fixedNow(), 14));
}

void TestCli::brokenInputsGiveInputFindings_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expectedCode");
    QTest::newRow("empty") << QByteArray() << QStringLiteral("INPUT_EMPTY");
    QTest::newRow("garbage") << QByteArray("\x01\x02\x03garbage\xff\xfe", 12) << QStringLiteral("INPUT_UNRECOGNIZED");
    QTest::newRow("html-error-page")
        << QByteArray("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
        << QStringLiteral("INPUT_UNRECOGNIZED");
    QTest::newRow("truncated-der") << QByteArray::fromHex("308203a0308202") << QStringLiteral("INPUT_MALFORMED");
}

void TestCli::brokenInputsGiveInputFindings()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, expectedCode);
    const QString path = m_dir.filePath(QStringLiteral("broken-%1.pem").arg(QString::fromLatin1(QTest::currentDataTag())));
    QVERIFY(writeFile(path, content));
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), path});
    QVERIFY2(codesOf(run.json()).contains(expectedCode), qPrintable(run.out));
    QVERIFY(run.exitCode == 1 || run.exitCode == 2);
    QVERIFY(run.err.isEmpty());
}

void TestCli::badUsageExitsThreeWithOneLine_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::newRow("no-command") << QStringList{};
    QTest::newRow("unknown-command") << QStringList{QStringLiteral("frobnicate")};
    QTest::newRow("unknown-option") << QStringList{QStringLiteral("inspect"), QStringLiteral("--frob"), QStringLiteral("x")};
    QTest::newRow("no-paths") << QStringList{QStringLiteral("inspect")};
    QTest::newRow("bad-at") << QStringList{QStringLiteral("inspect"), QStringLiteral("--at"), QStringLiteral("tomorrowish"), QStringLiteral("x")};
    QTest::newRow("staple-without-cert") << QStringList{QStringLiteral("inspect"), QStringLiteral("--staple"), QStringLiteral("x")};
    QTest::newRow("bad-format") << QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("xml"), QStringLiteral("x")};
    // What was typed is quoted escaped: still one line, and nothing for the terminal to act on.
    QTest::newRow("format-with-newline-and-escape")
        << QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("x\n\x1b[2Jy"), QStringLiteral("x")};
    QTest::newRow("unknown-command-with-escape") << QStringList{QStringLiteral("\x1b]0;pwned\x07")};
}

void TestCli::badUsageExitsThreeWithOneLine()
{
    QFETCH(QStringList, arguments);
    const CliRun run = runInProcess(arguments);
    QCOMPARE(run.exitCode, 3);
    QVERIFY(run.out.isEmpty());
    QCOMPARE(run.err.count(QLatin1Char('\n')), 1);
    QVERIFY(run.err.startsWith(QLatin1String("staplescope-cli")));
    QVERIFY2(!run.err.contains(QChar(0x1b)), qPrintable(run.err));
}

void TestCli::textReportNeverShowsKeyMaterial()
{
    QFile keyFile(m_dir.filePath(QStringLiteral("demo/healthy/privkey.pem")));
    QVERIFY(keyFile.open(QIODevice::ReadOnly));
    const QList<QByteArray> keyLines = keyFile.readAll().split('\n');
    QVERIFY(keyLines.size() > 3);
    for (const QString& format : {QStringLiteral("text"), QStringLiteral("json"), QStringLiteral("markdown"), QStringLiteral("html")}) {
        const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--format"), format,
                                         m_dir.filePath(QStringLiteral("demo/healthy"))});
        QVERIFY(run.out.contains(QLatin1String("privkey.pem")));
        for (const QByteArray& line : keyLines.mid(1, 3))
            QVERIFY2(!run.out.contains(QString::fromLatin1(line)), qPrintable(format));
    }
}

void TestCli::binaryExitStatus()
{
    const QString binary = qEnvironmentVariable("STAPLESCOPE_CLI");
    if (binary.isEmpty() || !QFileInfo::exists(binary))
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    QProcess process;
    process.start(binary, {QStringLiteral("inspect"), QStringLiteral("--ca-file"), m_demo.trustAnchorFile,
                           m_dir.filePath(QStringLiteral("demo"))});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 2);
    QVERIFY(process.readAllStandardOutput().contains("STAPLE_FOR_OTHER_CERT"));

    process.start(binary, {QStringLiteral("inspect"), QStringLiteral("--bogus")});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 3);
    QCOMPARE(process.readAllStandardError().count('\n'), 1);
}

void TestCli::passwordFileIsBounded_data()
{
    QTest::addColumn<QString>("path"); // relative to the test folder unless absolute
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("/dev/zero") << QStringLiteral("/dev/zero") << QStringLiteral("is a device, not a regular file");
    QTest::newRow("fifo") << QStringLiteral("password.fifo") << QStringLiteral("is a FIFO (named pipe), not a regular file");
    QTest::newRow("folder") << QStringLiteral("demo") << QStringLiteral("is a folder, not a regular file");
    QTest::newRow("5 KiB") << QStringLiteral("password-5k.txt")
                           << QStringLiteral("larger than %1 bytes").arg(kMaxPasswordBytes);
    QTest::newRow("symlink to /dev/zero") << QStringLiteral("password-zero.link")
                                          << QStringLiteral("is a device, not a regular file");
}

void TestCli::passwordFileIsBounded()
{
    QFETCH(QString, path);
    QFETCH(QString, messagePart);
    if (cliBinary().isEmpty() || !QFileInfo::exists(cliBinary()))
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    // A FIFO nobody writes to: opening it for reading would block for ever.
    const QString fifo = m_dir.filePath(QStringLiteral("password.fifo"));
    if (!QFileInfo::exists(fifo))
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
    // One line of 5 KiB: over the bound, though it is a plain password file otherwise.
    QVERIFY(writeFile(m_dir.filePath(QStringLiteral("password-5k.txt")), QByteArray(5 * 1024 - 1, 'p') + '\n'));
    QFile::link(QStringLiteral("/dev/zero"), m_dir.filePath(QStringLiteral("password-zero.link")));

    const QString file = path.startsWith(QLatin1Char('/')) ? path : m_dir.filePath(path);
    QElapsedTimer timer;
    timer.start();
    const CliRun run = runBinary({QStringLiteral("inspect"), QStringLiteral("--password-file"), file,
                                  m_dir.filePath(QStringLiteral("demo/healthy"))});
    QVERIFY2(timer.elapsed() < 5000, qPrintable(run.err));
    QCOMPARE(run.exitCode, 3);
    QVERIFY(run.out.isEmpty());
    QCOMPARE(run.err.count(QLatin1Char('\n')), 1);
    QVERIFY2(run.err.contains(messagePart), qPrintable(run.err));
    QVERIFY2(run.err.contains(file), qPrintable(run.err));
}

void TestCli::passwordFileFirstLineOpensPkcs12()
{
    const test::TestPki pki;
    const QString p12 = m_dir.filePath(QStringLiteral("bundle.p12"));
    QVERIFY(writeFile(p12, PkiFactory::pkcs12(pki.leaf, {&pki.intermediate}, "s3cret pass")));
    // The first line is the password (without its CR LF); the rest of the file is not.
    const QString passwordFile = m_dir.filePath(QStringLiteral("password.txt"));
    QVERIFY(writeFile(passwordFile, "s3cret pass\r\nnot the password\n"));

    const CliRun opened = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--password-file"),
                                        passwordFile, p12});
    QVERIFY2(opened.err.isEmpty(), qPrintable(opened.err));
    QVERIFY2(!codesOf(opened.json()).contains(QStringLiteral("INPUT_PASSWORD_REQUIRED")), qPrintable(opened.out));
    QCOMPARE(opened.json().value(QLatin1String("bundles")).toArray().size(), 1);

    QVERIFY(writeFile(passwordFile, "wrong\n"));
    const CliRun wrong = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--password-file"),
                                       passwordFile, p12});
    QVERIFY2(codesOf(wrong.json()).contains(QStringLiteral("INPUT_PASSWORD_REQUIRED")), qPrintable(wrong.out));
}

// Not a change of this branch but its check: the other options that name files go through the
// loader, which refuses what is not a regular file (before opening it) and files over 16 MiB.
void TestCli::otherFileOptionsNeverBlock_data()
{
    QTest::addColumn<QString>("option");
    QTest::addColumn<QString>("path");
    for (const QString& option : {QStringLiteral("--ca-file"), QStringLiteral("--cert"), QStringLiteral("--staple")}) {
        QTest::addRow("%s /dev/zero", qPrintable(option)) << option << QStringLiteral("/dev/zero");
        QTest::addRow("%s fifo", qPrintable(option)) << option << QStringLiteral("password.fifo");
    }
}

void TestCli::otherFileOptionsNeverBlock()
{
    QFETCH(QString, option);
    QFETCH(QString, path);
    if (cliBinary().isEmpty() || !QFileInfo::exists(cliBinary()))
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString fifo = m_dir.filePath(QStringLiteral("password.fifo"));
    if (!QFileInfo::exists(fifo))
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
    const QString file = path.startsWith(QLatin1Char('/')) ? path : m_dir.filePath(path);
    QStringList arguments{QStringLiteral("inspect"), QStringLiteral("--json"), option, file};
    if (option == QLatin1String("--staple"))
        arguments << QStringLiteral("--cert") << m_dir.filePath(QStringLiteral("demo/healthy/fullchain.pem"));
    else if (option == QLatin1String("--ca-file"))
        arguments << m_dir.filePath(QStringLiteral("demo/healthy"));
    QElapsedTimer timer;
    timer.start();
    const CliRun run = runBinary(arguments);
    QVERIFY2(timer.elapsed() < 5000, qPrintable(run.err));
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(codesOf(run.json()).contains(QStringLiteral("INPUT_UNREADABLE")), qPrintable(run.out));
}

void TestCli::demoRefusesAFolderInTheWay_data()
{
    QTest::addColumn<QString>("entry");
    QTest::addColumn<QString>("kind"); // file, key, symlink, dangling, folder
    QTest::newRow("a user's key where the demo writes its own") << QStringLiteral("healthy/privkey.pem") << QStringLiteral("key");
    QTest::newRow("an unrelated file") << QStringLiteral("notes.txt") << QStringLiteral("file");
    QTest::newRow("a symlink at the trust anchor's name") << QStringLiteral("root-ca.pem") << QStringLiteral("symlink");
    QTest::newRow("a dangling symlink") << QStringLiteral("root-ca.pem") << QStringLiteral("dangling");
    QTest::newRow("an empty sub-folder") << QStringLiteral("incident") << QStringLiteral("folder");
}

void TestCli::demoRefusesAFolderInTheWay()
{
    QFETCH(QString, entry);
    QFETCH(QString, kind);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString folder = dir.filePath(QStringLiteral("demo"));
    const QString path = QDir(folder).filePath(entry);
    QVERIFY(QDir().mkpath(QFileInfo(path).absolutePath()));
    // The symlink points outside the folder: following it would overwrite the user's file.
    const QString outside = dir.filePath(QStringLiteral("outside.pem"));
    QVERIFY(writeFile(outside, "the user's own file\n"));
    QVERIFY(QFile::setPermissions(outside, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));
    if (kind == QLatin1String("key") || kind == QLatin1String("file")) {
        QVERIFY(writeFile(path, "the user's own content\n"));
        QCOMPARE(::chmod(QFile::encodeName(path).constData(), 0644), 0);
    } else if (kind == QLatin1String("symlink")) {
        QVERIFY(QFile::link(outside, path));
    } else if (kind == QLatin1String("dangling")) {
        QVERIFY(QFile::link(dir.filePath(QStringLiteral("missing.pem")), path));
    } else {
        QVERIFY(QDir().mkpath(path));
    }
    const PathState entryBefore = stateOf(path);
    const PathState outsideBefore = stateOf(outside);
    const QStringList folderBefore = entriesOf(folder);
    const QStringList topBefore = entriesOf(dir.path());

    const CliRun run = runInProcess({QStringLiteral("demo"), folder});
    QCOMPARE(run.exitCode, 3);
    QVERIFY(run.out.isEmpty());
    QVERIFY2(run.err.contains(QLatin1String("not empty")), qPrintable(run.err));
    // What is in the way is named: the top-level entry that holds it.
    QVERIFY2(run.err.contains(entry.section(QLatin1Char('/'), 0, 0)), qPrintable(run.err));
    QVERIFY2(run.err.contains(QLatin1String("nothing was changed")), qPrintable(run.err));

    QVERIFY(stateOf(path) == entryBefore);
    QVERIFY(stateOf(outside) == outsideBefore);
    QCOMPARE(entriesOf(folder), folderBefore);
    QCOMPARE(entriesOf(dir.path()), topBefore);
    QVERIFY(!QFileInfo::exists(dir.filePath(QStringLiteral("missing.pem"))));
    if (QFileInfo(path).isDir())
        QVERIFY(entriesOf(path).isEmpty());

    // The folder itself a symlink to an empty folder, or a file: refused as well.
    const QString empty = dir.filePath(QStringLiteral("empty"));
    QVERIFY(QDir().mkpath(empty));
    const QString link = dir.filePath(QStringLiteral("link-to-empty"));
    QVERIFY(QFile::link(empty, link));
    const CliRun viaLink = runInProcess({QStringLiteral("demo"), link});
    QCOMPARE(viaLink.exitCode, 3);
    QVERIFY2(viaLink.err.contains(QLatin1String("symbolic link")), qPrintable(viaLink.err));
    QVERIFY(entriesOf(empty).isEmpty());
    const CliRun onFile = runInProcess({QStringLiteral("demo"), outside});
    QCOMPARE(onFile.exitCode, 3);
    QVERIFY(stateOf(outside) == outsideBefore);
}

void TestCli::demoKeysAreOwnerOnlyWhateverTheUmask()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString fresh = dir.filePath(QStringLiteral("new/demo"));
    const QString empty = dir.filePath(QStringLiteral("empty"));
    QVERIFY(QDir().mkpath(empty));
    for (const QString& folder : {fresh, empty}) {
        CliRun run;
        {
            const UmaskScope wideOpen(0);
            run = runInProcess({QStringLiteral("demo"), folder});
        }
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        for (const QString& key : {QStringLiteral("healthy/privkey.pem"), QStringLiteral("incident/exim.key")})
            QCOMPARE(permissionsOf(QDir(folder).filePath(key)), mode_t(0600));
        QCOMPARE(permissionsOf(QDir(folder).filePath(QStringLiteral("root-ca.pem"))), mode_t(0644));
        // The demo it wrote is the demo: the incident is found.
        const CliRun inspect = runInProcess({QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--ca-file"),
                                             QDir(folder).filePath(QStringLiteral("root-ca.pem")),
                                             QDir(folder).filePath(QStringLiteral("incident"))});
        QVERIFY2(codesOf(inspect.json()).contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")), qPrintable(inspect.out));
        // A second run into the same, now full, folder is refused.
        const CliRun again = runInProcess({QStringLiteral("demo"), folder});
        QCOMPARE(again.exitCode, 3);
    }
}

// A path typed on the command line whose name is not valid UTF-8 (an ISO-8859-1 "café.pem") still
// opens, and is shown with the byte escaped. QProcess cannot pass raw bytes, so the shell builds it.
void TestCli::nonUtf8PathArgumentOpens()
{
    if (cliBinary().isEmpty() || !QFileInfo::exists(cliBinary()))
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const test::TestPki pki;
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QByteArray name = QFile::encodeName(dir.path()) + "/caf\xe9.pem";
    QFile file;
    const int fd = ::open(name.constData(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    QVERIFY(fd >= 0);
    QVERIFY(file.open(fd, QIODevice::WriteOnly, QFileDevice::AutoCloseHandle));
    QVERIFY(file.write(test::TestPki::pem({&pki.leaf, &pki.intermediate})) > 0);
    file.close();

    QProcess process;
    process.setProcessEnvironment(QProcessEnvironment::systemEnvironment());
    process.start(QStringLiteral("/bin/sh"),
                  {QStringLiteral("-c"), QStringLiteral("exec \"$0\" inspect --json \"$1/$(printf 'caf\\351.pem')\""), cliBinary(),
                   dir.path()});
    QVERIFY(process.waitForFinished(10000));
    const QJsonObject report = QJsonDocument::fromJson(process.readAllStandardOutput()).object();
    const QJsonArray bundles = report.value(QLatin1String("bundles")).toArray();
    QVERIFY2(bundles.size() == 1, qPrintable(QString::fromUtf8(QJsonDocument(report).toJson())));
    QVERIFY(!codesOf(report).contains(QStringLiteral("INPUT_UNREADABLE")));
    const QString shown = report.value(QLatin1String("files")).toArray().first().toString();
    QVERIFY2(shown.endsWith(QStringLiteral("caf\\xe9.pem")), qPrintable(shown));
    ::unlink(name.constData());
}

void TestCli::hostileNamesAreEscapedInEveryFormat_data()
{
    QTest::addColumn<QString>("format");
    for (const char* format : {"text", "markdown", "html", "json"})
        QTest::newRow(format) << QString::fromLatin1(format);
}

// A certificate whose CN retitles and clears the terminal, forges a report line, reverses the
// text, carries markup and "%1 %2"; in a file whose name holds "%1" and a newline, with the leaf
// second so that the CHAIN_ORDER message quotes the name. Through the real binary, as a terminal
// or a browser gets it.
void TestCli::hostileNamesAreEscapedInEveryFormat()
{
    QFETCH(QString, format);
    const QString binary = qEnvironmentVariable("STAPLESCOPE_CLI");
    if (binary.isEmpty() || !QFileInfo::exists(binary))
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");

    const QChar rlo(0x202E), csi(0x9B);
    const QString cn = QStringLiteral("\x1b]0;pwned\x07\x1b[2J\r\nFAKE <b>b</b> *x* |y| [l](u) ") + rlo + csi +
                       QStringLiteral("\\ %1 %2");
    QVERIFY(cn.size() <= 64); // ub-common-name
    test::TestPki pki;
    const IssuedCert leaf = pki.issueLeaf([&](CertSpec& s) { s.commonName = cn; });
    test::TestFolder dir;
    const QString root = dir.write(QStringLiteral("root.pem"), pki.root.certPem());
    const QString path = dir.write(QStringLiteral("evil %1\nname.pem"), test::TestPki::pem({&pki.intermediate, &leaf}));
    QVERIFY(!root.isEmpty() && !path.isEmpty());

    QProcess process;
    process.start(binary, {QStringLiteral("inspect"), QStringLiteral("--format"), format, QStringLiteral("--no-system-trust"),
                           QStringLiteral("--ca-file"), root, QStringLiteral("--at"), test::fixedNow().toString(Qt::ISODate), path});
    QVERIFY(process.waitForFinished(60000));
    const QString out = QString::fromUtf8(process.readAllStandardOutput());
    QVERIFY2(process.readAllStandardError().isEmpty(), qPrintable(format));
    QVERIFY2(out.contains(QLatin1String("CHAIN_ORDER")), qPrintable(out));

    // No control character but our own line ends, nothing that reorders or breaks lines (JSON
    // writes them as its own escapes, "\u001b", "\u202e").
    const bool json = format == QLatin1String("json");
    for (const QChar c : out) {
        const char16_t v = c.unicode();
        const bool control = (v < 0x20 && v != u'\n') || (v >= 0x7F && v <= 0x9F);
        const bool bidiOrSeparator = v == 0x2028 || v == 0x2029 || (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069);
        QVERIFY2(!control && !bidiOrSeparator && !c.isSurrogate() && c != QChar::ReplacementCharacter,
                 qPrintable(QStringLiteral("%1: U+%2").arg(format, QString::number(v, 16))));
    }

    const QString dirPath = dir.path();
    if (json) {
        QVERIFY2(out.contains(QLatin1String("\\u001b]0;pwned\\u0007\\u001b[2J\\r\\nFAKE <b>b</b>")), qPrintable(out));
        QVERIFY2(out.contains(QLatin1String("\\u202e\\u009b\\\\ %1 %2")), qPrintable(out));
        QJsonParseError error;
        const QJsonObject report = QJsonDocument::fromJson(out.toUtf8(), &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        const QJsonObject bundle = report.value(QLatin1String("bundles")).toArray().first().toObject();
        const QJsonObject source = bundle.value(QLatin1String("leaf")).toObject().value(QLatin1String("source")).toObject();
        QCOMPARE(source.value(QLatin1String("path")).toString(), path); // JSON keeps the name exactly
        bool quoted = false;
        for (const QJsonValue& f : report.value(QLatin1String("findings")).toArray())
            if (f.toObject().value(QLatin1String("code")).toString() == QLatin1String("CHAIN_ORDER"))
                quoted = f.toObject().value(QLatin1String("message")).toString().contains(
                    QStringLiteral("In ") + path + QStringLiteral(" the server certificate is #2,"));
        QVERIFY2(quoted, qPrintable(out));
        return;
    }

    // Every line is one of ours: the forged "FAKE" line never starts one.
    QStringList ourStarts;
    if (format == QLatin1String("text"))
        ourStarts = {QStringLiteral("Staplescope report"), QStringLiteral("  "), QStringLiteral("\\x1b]0;pwned"),
                     QStringLiteral("Inputs"), QStringLiteral("Connections")};
    else if (format == QLatin1String("markdown"))
        ourStarts = {QStringLiteral("# "), QStringLiteral("## "), QStringLiteral("- "), QStringLiteral("| "),
                     QStringLiteral("|---"), QStringLiteral("Evaluated at")};
    else
        ourStarts = {QStringLiteral("<")};
    for (const QString& line : out.split(QLatin1Char('\n'))) {
        if (line.isEmpty())
            continue;
        const bool ours = std::any_of(ourStarts.begin(), ourStarts.end(), [&](const QString& s) { return line.startsWith(s); }) ||
                          (format == QLatin1String("text") && line.at(0).isDigit()); // "1 bundle by worst finding: …"
        QVERIFY2(ours, qPrintable(format + QStringLiteral(": ") + line));
    }

    // The escaped forms, and the file name with its "%1" and its position.
    const QString shownName = dirPath + QStringLiteral("/evil %1\\x0aname.pem");
    QVERIFY2(out.contains(shownName + QStringLiteral(" (#2 of 2)")), qPrintable(out));
    if (format == QLatin1String("text")) {
        QVERIFY2(out.contains(QStringLiteral("\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0aFAKE <b>b</b> *x* |y| [l](u) "
                                             "\\u202e\\x9b\\\\ %1 %2 (serial")),
                 qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("In ") + shownName + QStringLiteral(" the server certificate is #2,")), qPrintable(out));
    } else if (format == QLatin1String("markdown")) {
        QVERIFY2(out.contains(QStringLiteral("\\\\x1b\\]0;pwned\\\\x07\\\\x1b\\[2J\\\\x0d\\\\x0aFAKE \\<b\\>b\\</b\\> "
                                             "\\*x\\* \\|y\\| \\[l\\](u) \\\\u202e\\\\x9b\\\\\\\\ %1 %2 (serial")),
                 qPrintable(out));
        // In the findings table the name is inline text: its backslash escaped for Markdown.
        QVERIFY2(out.contains(QStringLiteral("/evil %1\\\\x0aname.pem the server certificate is #2,")),
                 qPrintable(out));
    } else {
        QVERIFY2(out.contains(QStringLiteral("\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0aFAKE &lt;b&gt;b&lt;/b&gt; *x* |y| [l](u) "
                                             "\\u202e\\x9b\\\\ %1 %2 (serial")),
                 qPrintable(out));
        QVERIFY(!out.contains(QLatin1String("<b>b</b>")));
        QVERIFY2(out.contains(QStringLiteral("In ") + shownName + QStringLiteral(" the server certificate is #2,")), qPrintable(out));
    }
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
