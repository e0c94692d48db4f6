// Monitoring outputs and options of staplescope-cli (docs/monitoring.md): --format nagios checked
// against the plugin guidelines' grammar, --format prometheus checked by promtool, thresholds that
// move the engine's severities, --ignore, --quiet, `-` for stdin, and connect --format nagios
// against a live openssl s_server on loopback.

#include "Command.h"
#include "LivePki.h"
#include "MonitoringFormat.h"
#include "TestPki.h"
#include "RealServers.h"
#include "TestClock.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace staplescope;
using namespace staplescope::cli;
using namespace staplescope::test;

namespace {

struct CliRun {
    int exitCode = -1;
    QString out;
    QString err;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
};

CliRun runInProcess(const QStringList& arguments, const QDateTime& now, bool stdinIsTerminal = false)
{
    CliRun run;
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandStreams streams{out, err, false, stdinIsTerminal};
    run.exitCode = runCli(QStringList{QStringLiteral("staplescope-cli")} + arguments, streams, std::make_shared<FixedClock>(now));
    return run;
}

// The real binary, with `input` on its stdin (closed after it); killed after 10 s.
CliRun runBinary(const QStringList& arguments, const QByteArray& input)
{
    CliRun run;
    QProcess process;
    process.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    if (!process.waitForStarted(5000))
        return run;
    process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(10000)) {
        process.kill();
        process.waitForFinished(5000);
        run.err = QStringLiteral("(killed)");
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

QStringList codesOf(const QJsonObject& report, const char* field = "findings")
{
    QStringList codes;
    for (const QJsonValue& finding : report.value(QLatin1String(field)).toArray())
        codes << finding.toObject().value(QLatin1String("code")).toString();
    return codes;
}

QString severityOf(const QJsonObject& report, const QString& code)
{
    for (const QJsonValue& finding : report.value(QLatin1String("findings")).toArray())
        if (finding.toObject().value(QLatin1String("code")).toString() == code)
            return finding.toObject().value(QLatin1String("severity")).toString();
    return {};
}

QString messageOf(const QJsonObject& report, const QString& code)
{
    for (const QJsonValue& finding : report.value(QLatin1String("findings")).toArray())
        if (finding.toObject().value(QLatin1String("code")).toString() == code)
            return finding.toObject().value(QLatin1String("message")).toString();
    return {};
}

// The Monitoring Plugins Development Guidelines: one status line, optional long output, and
// perfdata as 'label'=value[UOM];[warn];[crit];[min];[max] items separated by spaces, after a '|'
// on the status line and after a '|' on a later line (then one or more items per line).
const QString kNumber = QStringLiteral("-?[0-9]+(?:\\.[0-9]+)?");
const QString kRange = QStringLiteral("@?(?:~|%1)?(?::(?:%1)?)?").arg(kNumber);
const QString kPerfItem = QStringLiteral("'(?:[^'=]|'')+'=(?:%1|U)(?:s|ms|us|%|B|KB|MB|TB|c)?;%2;%2;(?:%1)?;(?:%1)?")
                              .arg(kNumber, kRange);

struct PluginOutput {
    QString status;     // OK, WARNING, CRITICAL, UNKNOWN
    QString statusText; // after "STAPLESCOPE STATUS - "
    QStringList longOutput;
    QStringList perfdata;
    QString problem;    // empty when the output follows the grammar
};

PluginOutput parsePluginOutput(const QString& output)
{
    PluginOutput parsed;
    if (!output.endsWith(QLatin1Char('\n'))) {
        parsed.problem = QStringLiteral("output does not end with a newline");
        return parsed;
    }
    const QStringList lines = output.chopped(1).split(QLatin1Char('\n'));
    static const QRegularExpression statusLine(QStringLiteral("^STAPLESCOPE (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+?)(?: \\| (.*))?$"));
    static const QRegularExpression perfList(QStringLiteral("^(?:%1)(?: (?:%1))*$").arg(kPerfItem));
    static const QRegularExpression perfItem(kPerfItem);
    auto takePerf = [&](const QString& text) {
        if (!perfList.match(text).hasMatch()) {
            parsed.problem = QStringLiteral("not perfdata: %1").arg(text);
            return;
        }
        for (auto it = perfItem.globalMatch(text); it.hasNext();)
            parsed.perfdata << it.next().captured(0);
    };
    const QRegularExpressionMatch first = statusLine.match(lines.value(0));
    if (!first.hasMatch()) {
        parsed.problem = QStringLiteral("not a status line: %1").arg(lines.value(0));
        return parsed;
    }
    parsed.status = first.captured(1);
    parsed.statusText = first.captured(2);
    if (first.capturedLength(3) > 0)
        takePerf(first.captured(3));
    bool inPerf = false;
    for (qsizetype i = 1; i < lines.size() && parsed.problem.isEmpty(); ++i) {
        const QString& line = lines.at(i);
        if (inPerf) {
            takePerf(line);
            continue;
        }
        const qsizetype bar = line.indexOf(QLatin1Char('|'));
        if (bar < 0) {
            parsed.longOutput << line;
            continue;
        }
        if (!line.left(bar).trimmed().isEmpty())
            parsed.longOutput << line.left(bar).trimmed();
        takePerf(line.mid(bar + 1).trimmed());
        inPerf = true;
    }
    return parsed;
}

Certificate certificateOf(const IssuedCert& issued) { return Certificate::fromDer(issued.certDer(), {}); }

QString statusForExit(int exitCode)
{
    static const QStringList words = {QStringLiteral("OK"), QStringLiteral("WARNING"), QStringLiteral("CRITICAL"), QStringLiteral("UNKNOWN")};
    return words.value(exitCode);
}

// promtool check metrics on `text`: its exit status and what it said.
std::pair<int, QString> promtoolCheck(const QString& text)
{
    QProcess promtool;
    promtool.start(QStringLiteral("promtool"), {QStringLiteral("check"), QStringLiteral("metrics")});
    if (!promtool.waitForStarted(5000))
        return {-1, QStringLiteral("promtool did not start")};
    promtool.write(text.toUtf8());
    promtool.closeWriteChannel();
    if (!promtool.waitForFinished(20000)) {
        promtool.kill();
        promtool.waitForFinished(5000);
        return {-1, QStringLiteral("promtool did not finish")};
    }
    return {promtool.exitCode(), QString::fromUtf8(promtool.readAllStandardOutput() + promtool.readAllStandardError())};
}

} // namespace

class TestMonitoring : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanup() { m_servers.stopAll(); }

    void nagiosFollowsThePluginGrammar_data();
    void nagiosFollowsThePluginGrammar();
    void nagiosUsageErrorIsUnknown();
    void critDaysMakesExpiryCritical();
    void stapleHoursMoveTheStapleSeverity();
    void thresholdsAreCheckedForSense_data();
    void thresholdsAreCheckedForSense();
    void ignoreSilencesAndSaysSo();
    void quietIsSilentOnlyOnSuccess();
    void stdinIsOneInput();
    void stdinRefusesATerminal();
    void prometheusPassesPromtool_data();
    void prometheusPassesPromtool();
    void prometheusKeepsHostileNamesOnOneLine();
    void expositionCollectsSeveralReports();
    void connectNagiosAgainstALiveServer();

private:
    QStringList trust() const { return {QStringLiteral("--no-system-trust"), QStringLiteral("--ca-file"), m_root}; }
    QString at(double days) const { return daysFrom(m_now, days).toString(Qt::ISODate); }

    QTemporaryDir m_dir;
    QDateTime m_now = fixedNow();
    LivePki m_pki;
    QString m_root, m_healthy, m_incident;
    RealServers m_servers;
};

void TestMonitoring::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_pki = makeLivePki(m_now);
    m_root = LivePki::write(m_dir.path(), QStringLiteral("root.pem"), m_pki.root.certPem());
    // healthy/: the current certificate with its chain and its own good staple (88 days left,
    // staple valid for 6 more days, refresh point in about 3).
    QDir(m_dir.path()).mkpath(QStringLiteral("healthy"));
    m_healthy = m_dir.filePath(QStringLiteral("healthy"));
    LivePki::write(m_healthy, QStringLiteral("fullchain.pem"), m_pki.fullchainPem(m_pki.leaf));
    LivePki::write(m_healthy, QStringLiteral("ocsp.der"), m_pki.leafStaple);
    // incident/: renewed, but the staple configured is still the previous certificate's.
    QDir(m_dir.path()).mkpath(QStringLiteral("incident/archive"));
    m_incident = m_dir.filePath(QStringLiteral("incident"));
    LivePki::write(m_incident, QStringLiteral("fullchain.pem"), m_pki.fullchainPem(m_pki.leaf));
    LivePki::write(m_incident, QStringLiteral("archive/cert1.pem"), m_pki.previousLeaf.certPem());
    LivePki::write(m_incident, QStringLiteral("ocsp.der"), m_pki.previousStaple);
}

void TestMonitoring::nagiosFollowsThePluginGrammar_data()
{
    QTest::addColumn<QString>("folder");
    QTest::addColumn<double>("atDays");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("headline"); // a fragment of the status line
    QTest::addRow("healthy") << QStringLiteral("healthy") << 0.0 << 0 << QStringLiteral("Healthy");
    // Four days on, the staple is past its refresh point (halfway through its validity).
    QTest::addRow("warning: staple refresh due") << QStringLiteral("healthy") << 4.0 << 1 << QStringLiteral("Staple refresh is overdue");
    QTest::addRow("critical: staple for the previous certificate")
        << QStringLiteral("incident") << 0.0 << 2 << QStringLiteral("Staple belongs to the previous certificate");
}

void TestMonitoring::nagiosFollowsThePluginGrammar()
{
    QFETCH(QString, folder);
    QFETCH(double, atDays);
    QFETCH(int, exitCode);
    QFETCH(QString, headline);
    const QString path = m_dir.filePath(folder);
    const CliRun run = runInProcess(QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("nagios"),
                                                QStringLiteral("--at"), at(atDays), path} + trust(), m_now);
    QCOMPARE(run.exitCode, exitCode);
    const PluginOutput parsed = parsePluginOutput(run.out);
    QVERIFY2(parsed.problem.isEmpty(), qPrintable(parsed.problem + QStringLiteral("\n") + run.out));
    QCOMPARE(parsed.status, statusForExit(exitCode));
    QVERIFY2(parsed.statusText.startsWith(path + QStringLiteral(": ")), qPrintable(run.out));
    QVERIFY2(parsed.statusText.contains(headline), qPrintable(run.out));
    // Days left for the leaf (88 days at `at`), warn at the engine's 30 days; hours left for the staple.
    const QString daysLeft = QString::number(88.0 - atDays, 'f', 2);
    QVERIFY2(parsed.perfdata.contains(QStringLiteral("'%1 days_left'=%2;30.00:;0.00:;;").arg(m_pki.hostName, daysLeft)),
             qPrintable(run.out));
    QVERIFY2(std::any_of(parsed.perfdata.cbegin(), parsed.perfdata.cend(),
                         [](const QString& p) { return p.contains(QLatin1String("Staplescope Live Test CA days_left")); }),
             qPrintable(run.out));
    if (folder == QLatin1String("healthy")) {
        const QString hoursLeft = QString::number(6 * 24 - atDays * 24, 'f', 2);
        QVERIFY2(std::any_of(parsed.perfdata.cbegin(), parsed.perfdata.cend(),
                             [&](const QString& p) {
                                 return p.startsWith(QStringLiteral("'%1 staple_hours_left'=%2;").arg(m_pki.hostName, hoursLeft));
                             }),
                 qPrintable(run.out));
        QCOMPARE(parsed.longOutput.isEmpty(), exitCode == 0);
    } else {
        // The staple names the previous certificate: its hours are labelled with that serial.
        QVERIFY2(std::any_of(parsed.perfdata.cbegin(), parsed.perfdata.cend(),
                             [&](const QString& p) {
                                 return p.contains(QStringLiteral("staple_hours_left serial %1").arg(certificateOf(m_pki.previousLeaf).serialHex()));
                             }),
                 qPrintable(run.out));
        QVERIFY2(parsed.longOutput.value(0).startsWith(QLatin1String("[CRITICAL] STAPLE_FOR_OTHER_CERT")), qPrintable(run.out));
    }
}

void TestMonitoring::nagiosUsageErrorIsUnknown()
{
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("nagios"),
                                     QStringLiteral("--crit-days"), QStringLiteral("lots"), m_healthy},
                                    m_now);
    QCOMPARE(run.exitCode, int(ExitUsage));
    const PluginOutput parsed = parsePluginOutput(run.out);
    QVERIFY2(parsed.problem.isEmpty(), qPrintable(parsed.problem + run.out));
    QCOMPARE(parsed.status, QStringLiteral("UNKNOWN"));
    QVERIFY2(parsed.statusText.contains(QLatin1String("--crit-days 'lots'")), qPrintable(run.out));
    QVERIFY2(run.err.contains(QLatin1String("--crit-days 'lots'")), qPrintable(run.err));
}

void TestMonitoring::critDaysMakesExpiryCritical()
{
    // 88 days left. --warn-days 89 makes it a warning; --crit-days 89 critical; --crit-days 80 not.
    const QStringList base = QStringList{QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--at"), at(0), m_healthy} + trust();
    const CliRun warned = runInProcess(base + QStringList{QStringLiteral("--warn-days"), QStringLiteral("89")}, m_now);
    QCOMPARE(warned.exitCode, 1);
    QCOMPARE(severityOf(warned.json(), QStringLiteral("CERT_EXPIRING_SOON")), QStringLiteral("warning"));
    QVERIFY2(messageOf(warned.json(), QStringLiteral("CERT_EXPIRING_SOON")).contains(QLatin1String("(as configured)")), qPrintable(warned.out));

    const CliRun critical = runInProcess(base + QStringList{QStringLiteral("--warn-days"), QStringLiteral("89"), QStringLiteral("--crit-days"),
                                                            QStringLiteral("89")},
                                         m_now);
    QCOMPARE(critical.exitCode, 2);
    QCOMPARE(severityOf(critical.json(), QStringLiteral("CERT_EXPIRING_SOON")), QStringLiteral("critical"));
    const QString message = messageOf(critical.json(), QStringLiteral("CERT_EXPIRING_SOON"));
    QVERIFY2(message.contains(QLatin1String("critical threshold of 89 days (as configured)")), qPrintable(message));

    const CliRun stillWarning = runInProcess(base + QStringList{QStringLiteral("--warn-days"), QStringLiteral("89"),
                                                                QStringLiteral("--crit-days"), QStringLiteral("80")},
                                             m_now);
    QCOMPARE(stillWarning.exitCode, 1);
    QCOMPARE(severityOf(stillWarning.json(), QStringLiteral("CERT_EXPIRING_SOON")), QStringLiteral("warning"));

    // Nagios prints the thresholds the analysis used.
    const CliRun nagios = runInProcess(base.mid(0, 1) + QStringList{QStringLiteral("--format"), QStringLiteral("nagios")} + base.mid(2) +
                                           QStringList{QStringLiteral("--warn-days"), QStringLiteral("89"), QStringLiteral("--crit-days"),
                                                       QStringLiteral("89")},
                                       m_now);
    QCOMPARE(nagios.exitCode, 2);
    const PluginOutput parsed = parsePluginOutput(nagios.out);
    QVERIFY2(parsed.problem.isEmpty(), qPrintable(parsed.problem));
    QCOMPARE(parsed.status, QStringLiteral("CRITICAL"));
    QVERIFY2(parsed.perfdata.contains(QStringLiteral("'%1 days_left'=88.00;89.00:;89.00:;;").arg(m_pki.hostName)), qPrintable(nagios.out));
}

void TestMonitoring::stapleHoursMoveTheStapleSeverity()
{
    // The staple has 144 hours left and its refresh point is about 71 hours away.
    const QStringList base = QStringList{QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--at"), at(0), m_healthy} + trust();
    const CliRun healthy = runInProcess(base + QStringList{QStringLiteral("--staple-warn-hours"), QStringLiteral("140")}, m_now);
    QCOMPARE(healthy.exitCode, 0);

    const CliRun warned = runInProcess(base + QStringList{QStringLiteral("--staple-warn-hours"), QStringLiteral("150")}, m_now);
    QCOMPARE(warned.exitCode, 1);
    QCOMPARE(severityOf(warned.json(), QStringLiteral("STAPLE_REFRESH_DUE")), QStringLiteral("warning"));
    QVERIFY2(messageOf(warned.json(), QStringLiteral("STAPLE_REFRESH_DUE")).contains(QLatin1String("warning threshold of")),
             qPrintable(warned.out));

    const CliRun critical = runInProcess(base + QStringList{QStringLiteral("--staple-warn-hours"), QStringLiteral("150"),
                                                            QStringLiteral("--staple-crit-hours"), QStringLiteral("145")},
                                         m_now);
    QCOMPARE(critical.exitCode, 2);
    QCOMPARE(severityOf(critical.json(), QStringLiteral("STAPLE_REFRESH_DUE")), QStringLiteral("critical"));
    QVERIFY2(messageOf(critical.json(), QStringLiteral("STAPLE_REFRESH_DUE")).contains(QLatin1String("critical threshold of")),
             qPrintable(critical.out));
}

void TestMonitoring::thresholdsAreCheckedForSense_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("message");
    QTest::addRow("crit beyond warn") << QStringList{QStringLiteral("--warn-days"), QStringLiteral("10"), QStringLiteral("--crit-days"), QStringLiteral("20")}
                                      << QStringLiteral("--crit-days 20 is more than --warn-days 10");
    QTest::addRow("staple crit beyond warn")
        << QStringList{QStringLiteral("--staple-warn-hours"), QStringLiteral("10"), QStringLiteral("--staple-crit-hours"), QStringLiteral("11")}
        << QStringLiteral("--staple-crit-hours 11 is more than --staple-warn-hours 10");
    QTest::addRow("negative") << QStringList{QStringLiteral("--crit-days"), QStringLiteral("-1")} << QStringLiteral("--crit-days '-1' is not a number of days");
    QTest::addRow("not a number") << QStringList{QStringLiteral("--staple-warn-hours"), QStringLiteral("nan")}
                                  << QStringLiteral("--staple-warn-hours 'nan' is not a number of hours");
    QTest::addRow("unknown code") << QStringList{QStringLiteral("--ignore"), QStringLiteral("STAPLE_MISING")}
                                  << QStringLiteral("--ignore 'STAPLE_MISING' is not a finding code");
    QTest::addRow("code misspelled") << QStringList{QStringLiteral("--ignore"), QStringLiteral("CHAIN_ORDER,staple-missing")}
                                     << QStringLiteral("finding codes are spelled STAPLE_MISSING");
    QTest::addRow("unknown format") << QStringList{QStringLiteral("--format"), QStringLiteral("icinga")}
                                    << QStringLiteral("unknown format 'icinga'");
}

void TestMonitoring::thresholdsAreCheckedForSense()
{
    QFETCH(QStringList, options);
    QFETCH(QString, message);
    for (const QString& command : {QStringLiteral("inspect"), QStringLiteral("connect")}) {
        const QString target = command == QLatin1String("inspect") ? m_healthy : QStringLiteral("127.0.0.1:9");
        const CliRun run = runInProcess(QStringList{command, target} + options, m_now);
        QCOMPARE(run.exitCode, int(ExitUsage));
        QVERIFY2(run.err.contains(message), qPrintable(command + QStringLiteral(": ") + run.err));
        QVERIFY2(run.out.isEmpty(), qPrintable(run.out));
    }
}

void TestMonitoring::ignoreSilencesAndSaysSo()
{
    // Four days on the staple is due for refresh (warning); ignoring the code makes the run OK,
    // and every format says what was left out.
    const QStringList base = {QStringLiteral("inspect"), QStringLiteral("--at"), at(4), m_healthy,
                              QStringLiteral("--ignore"), QStringLiteral("STAPLE_REFRESH_DUE,CHAIN_EXTRA_CERT"),
                              QStringLiteral("--no-system-trust"), QStringLiteral("--ca-file"), m_root};
    const CliRun json = runInProcess(base + QStringList{QStringLiteral("--json")}, m_now);
    QCOMPARE(json.exitCode, 0);
    QVERIFY2(!codesOf(json.json()).contains(QStringLiteral("STAPLE_REFRESH_DUE")), qPrintable(json.out));
    QCOMPARE(codesOf(json.json(), "silenced"), QStringList{QStringLiteral("STAPLE_REFRESH_DUE")});
    QCOMPARE(json.json().value(QLatin1String("worstSeverity")).toString(), QStringLiteral("info"));

    const CliRun text = runInProcess(base, m_now);
    QCOMPARE(text.exitCode, 0);
    QVERIFY2(text.out.contains(QLatin1String("Silenced by --ignore (not shown, not counted): STAPLE_REFRESH_DUE")), qPrintable(text.out));
    const CliRun markdown = runInProcess(base + QStringList{QStringLiteral("--format"), QStringLiteral("markdown")}, m_now);
    QVERIFY2(markdown.out.contains(QLatin1String("Silenced by `--ignore`")) && markdown.out.contains(QLatin1String("STAPLE\\_REFRESH\\_DUE")),
             qPrintable(markdown.out));
    const CliRun html = runInProcess(base + QStringList{QStringLiteral("--format"), QStringLiteral("html")}, m_now);
    QVERIFY2(html.out.contains(QLatin1String("Silenced by <code>--ignore</code> (not shown, not counted): STAPLE_REFRESH_DUE")),
             qPrintable(html.out));

    const CliRun nagios = runInProcess(base + QStringList{QStringLiteral("--format"), QStringLiteral("nagios")}, m_now);
    QCOMPARE(nagios.exitCode, 0);
    const PluginOutput parsed = parsePluginOutput(nagios.out);
    QVERIFY2(parsed.problem.isEmpty(), qPrintable(parsed.problem));
    QCOMPARE(parsed.status, QStringLiteral("OK"));
    QVERIFY2(parsed.statusText.contains(QLatin1String("[1 silenced]")), qPrintable(nagios.out));
    QVERIFY2(parsed.longOutput.contains(QStringLiteral("Silenced by --ignore: STAPLE_REFRESH_DUE (1)")), qPrintable(nagios.out));

    const CliRun prometheus = runInProcess(base + QStringList{QStringLiteral("--format"), QStringLiteral("prometheus")}, m_now);
    QVERIFY2(prometheus.out.contains(QLatin1String("\nstaplescope_silenced_findings{code=\"STAPLE_REFRESH_DUE\"} 1\n")), qPrintable(prometheus.out));
    QVERIFY2(!prometheus.out.contains(QLatin1String("code=\"STAPLE_REFRESH_DUE\",severity")), qPrintable(prometheus.out));

    // Without --ignore, the same run warns.
    const CliRun unsilenced = runInProcess(base.mid(0, 4) + trust(), m_now);
    QCOMPARE(unsilenced.exitCode, 1);
}

void TestMonitoring::quietIsSilentOnlyOnSuccess()
{
    for (const QString& format : {QStringLiteral("text"), QStringLiteral("nagios"), QStringLiteral("json")}) {
        const QStringList base = QStringList{QStringLiteral("inspect"), QStringLiteral("--quiet"), QStringLiteral("--format"), format, m_healthy} + trust();
        const CliRun ok = runInProcess(base + QStringList{QStringLiteral("--at"), at(0)}, m_now);
        QCOMPARE(ok.exitCode, 0);
        QVERIFY2(ok.out.isEmpty(), qPrintable(ok.out));
        QVERIFY2(ok.err.isEmpty(), qPrintable(ok.err));
        const CliRun warning = runInProcess(base + QStringList{QStringLiteral("--at"), at(4)}, m_now);
        QCOMPARE(warning.exitCode, 1);
        QVERIFY2(warning.out.contains(QLatin1String("STAPLE_REFRESH_DUE")), qPrintable(warning.out));
    }
}

void TestMonitoring::stdinIsOneInput()
{
    const QFileInfo binary(qEnvironmentVariable("STAPLESCOPE_CLI"));
    if (!binary.isExecutable())
        QSKIP("STAPLESCOPE_CLI is not set (ctest sets it)");
    // The certificate with its chain, then its staple: one input, as `cat fullchain.pem | …`.
    const CliRun run = runBinary(QStringList{QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--at"), at(0),
                                             QStringLiteral("-"), QStringLiteral("--staple"), m_healthy + QStringLiteral("/ocsp.der"),
                                             QStringLiteral("--cert"), QStringLiteral("-")} +
                                     trust(),
                                 m_pki.fullchainPem(m_pki.leaf));
    // `-` twice is refused: stdin holds one input.
    QCOMPARE(run.exitCode, int(ExitUsage));
    QVERIFY2(run.err.contains(QLatin1String("'-' (stdin) can be given once")), qPrintable(run.err));

    const CliRun piped = runBinary(QStringList{QStringLiteral("inspect"), QStringLiteral("--json"), QStringLiteral("--at"), at(0),
                                               QStringLiteral("--cert"), QStringLiteral("-"), QStringLiteral("--staple"),
                                               m_healthy + QStringLiteral("/ocsp.der")} +
                                       trust(),
                                   m_pki.fullchainPem(m_pki.leaf));
    QVERIFY2(piped.exitCode == 0, qPrintable(piped.err + piped.out));
    const QJsonObject report = piped.json();
    QVERIFY2(report.value(QLatin1String("files")).toArray().contains(QStringLiteral("(stdin)")), qPrintable(piped.out));
    const QJsonObject bundle = report.value(QLatin1String("bundles")).toArray().first().toObject();
    QCOMPARE(bundle.value(QLatin1String("leaf")).toObject().value(QLatin1String("source")).toObject().value(QLatin1String("path")).toString(),
             QStringLiteral("(stdin)"));
    QCOMPARE(bundle.value(QLatin1String("staples")).toArray().size(), 1);

    const CliRun positional = runBinary(QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("nagios"),
                                                    QStringLiteral("--at"), at(0), QStringLiteral("-")} +
                                            trust(),
                                        m_pki.fullchainPem(m_pki.leaf));
    QVERIFY2(positional.out.startsWith(QLatin1String("STAPLESCOPE ")) && positional.out.contains(QLatin1String(" - (stdin): ")),
             qPrintable(positional.out));

    const CliRun empty = runBinary({QStringLiteral("inspect"), QStringLiteral("-")}, {});
    QCOMPARE(empty.exitCode, int(ExitUsage));
    QVERIFY2(empty.err.contains(QLatin1String("stdin is empty")), qPrintable(empty.err));
}

void TestMonitoring::stdinRefusesATerminal()
{
    // Refused before reading anything: nobody types a certificate.
    const CliRun run = runInProcess({QStringLiteral("inspect"), QStringLiteral("-")}, m_now, true);
    QCOMPARE(run.exitCode, int(ExitUsage));
    QVERIFY2(run.err.contains(QLatin1String("stdin is a terminal")), qPrintable(run.err));
}

void TestMonitoring::prometheusPassesPromtool_data()
{
    QTest::addColumn<QString>("folder");
    QTest::addColumn<double>("atDays");
    QTest::addRow("healthy") << QStringLiteral("healthy") << 0.0;
    QTest::addRow("warning") << QStringLiteral("healthy") << 4.0;
    QTest::addRow("incident") << QStringLiteral("incident") << 0.0;
}

void TestMonitoring::prometheusPassesPromtool()
{
    QFETCH(QString, folder);
    QFETCH(double, atDays);
    if (QStandardPaths::findExecutable(QStringLiteral("promtool")).isEmpty())
        QSKIP("promtool is not installed (Debian package prometheus; scripts/dev installs it)");
    const QString path = m_dir.filePath(folder);
    const CliRun run = runInProcess(QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("prometheus"),
                                                QStringLiteral("--at"), at(atDays), path} + trust(),
                                    m_now);
    QCOMPARE(run.exitCode, folder == QLatin1String("incident") ? 2 : (atDays > 0 ? 1 : 0));
    const auto [status, said] = promtoolCheck(run.out);
    QVERIFY2(status == 0, qPrintable(said + QStringLiteral("\n") + run.out));
    QVERIFY2(said.trimmed().isEmpty(), qPrintable(said)); // no lint complaints either

    // Each family once, with HELP and TYPE; the staple's nextUpdate as Unix seconds.
    QCOMPARE(run.out.count(QLatin1String("# TYPE staplescope_staple_next_update gauge\n")), 1);
    const IssuedCert& stapled = folder == QLatin1String("incident") ? m_pki.previousLeaf : m_pki.leaf;
    const QString location = m_dir.filePath(folder) + QStringLiteral("/fullchain.pem (#1 of 2)");
    const QString nextUpdate = QStringLiteral("staplescope_staple_next_update{bundle=\"%1\",location=\"%2\",serial=\"%3\"} %4\n")
                                   .arg(certificateOf(m_pki.leaf).displayName(), location, certificateOf(stapled).serialHex())
                                   .arg(daysFrom(m_now, 6).toSecsSinceEpoch());
    QVERIFY2(run.out.contains(nextUpdate), qPrintable(nextUpdate + QStringLiteral("\n----\n") + run.out));
    const QString notAfter = QStringLiteral("staplescope_cert_not_after{bundle=\"%1\",location=\"%2\",role=\"leaf\",serial=\"%3\"} %4\n")
                                 .arg(certificateOf(m_pki.leaf).displayName(), location, certificateOf(m_pki.leaf).serialHex())
                                 .arg(daysFrom(m_now, 88).toSecsSinceEpoch());
    QVERIFY2(run.out.contains(notAfter), qPrintable(notAfter + QStringLiteral("\n----\n") + run.out));
    const QString worst = folder == QLatin1String("incident") ? QStringLiteral("critical") : (atDays > 0 ? QStringLiteral("warning") : QStringLiteral("ok"));
    QVERIFY2(run.out.contains(QStringLiteral("staplescope_bundle_status{bundle=\"%1\",location=\"%2\",severity=\"%3\"} 1\n")
                                  .arg(certificateOf(m_pki.leaf).displayName(), location, worst)),
             qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("\nstaplescope_check_success 1\n")), qPrintable(run.out));
    if (folder == QLatin1String("incident"))
        QVERIFY2(run.out.contains(QLatin1String(",code=\"STAPLE_FOR_OTHER_CERT\",") ) ||
                     run.out.contains(QLatin1String("code=\"STAPLE_FOR_OTHER_CERT\"")),
                 qPrintable(run.out));
}

void TestMonitoring::prometheusKeepsHostileNamesOnOneLine()
{
    if (QStandardPaths::findExecutable(QStringLiteral("promtool")).isEmpty())
        QSKIP("promtool is not installed (Debian package prometheus; scripts/dev installs it)");
    // A certificate whose name holds a quote, a backslash, a newline and a Nagios '|', in a file
    // whose name holds a quote too and is longer than a label value may be.
    CertSpec spec;
    spec.commonName = QStringLiteral("evil\"name\\with\nnewline|pipe");
    spec.dnsNames = {QStringLiteral("evil.example.test")};
    spec.notBefore = daysFrom(m_now, -1);
    spec.notAfter = daysFrom(m_now, 60);
    const IssuedCert evil = PkiFactory().issue(spec, &m_pki.ca);
    QDir(m_dir.path()).mkpath(QStringLiteral("hostile"));
    const QString folder = m_dir.filePath(QStringLiteral("hostile"));
    QVERIFY(!LivePki::write(folder, QStringLiteral("we\"ird") + QString(200, QLatin1Char('x')) + QStringLiteral(".pem"),
                            m_pki.fullchainPem(evil)).isEmpty());

    const CliRun prometheus = runInProcess(QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("prometheus"),
                                                       QStringLiteral("--at"), at(0), folder} + trust(),
                                           m_now);
    const auto [status, said] = promtoolCheck(prometheus.out);
    QVERIFY2(status == 0, qPrintable(said + prometheus.out));
    for (const QString& line : prometheus.out.split(QLatin1Char('\n'))) {
        QVERIFY2(line.size() < 2000, qPrintable(line));
        QVERIFY2(line.isEmpty() || line.startsWith(QLatin1String("# ")) || line.startsWith(QLatin1String("staplescope_")), qPrintable(line));
    }
    // The location is cut (with an ellipsis) before the value gets long.
    QVERIFY2(prometheus.out.contains(QLatin1String("location=\"") + folder + QLatin1String("/we\\\"irdxxx")), qPrintable(prometheus.out));
    QVERIFY2(!prometheus.out.contains(QLatin1String("xxx.pem")) && prometheus.out.contains(QStringLiteral("xxx…\"")), qPrintable(prometheus.out));
    QVERIFY2(prometheus.out.contains(QLatin1String("bundle=\"evil\\\"name\\\\\\\\with\\\\x0anewline|pipe (serial ")), qPrintable(prometheus.out));

    const CliRun nagios = runInProcess(QStringList{QStringLiteral("inspect"), QStringLiteral("--format"), QStringLiteral("nagios"),
                                                   QStringLiteral("--at"), at(0), folder} + trust(),
                                       m_now);
    const PluginOutput parsed = parsePluginOutput(nagios.out);
    QVERIFY2(parsed.problem.isEmpty(), qPrintable(parsed.problem + nagios.out));
    QVERIFY2(std::any_of(parsed.perfdata.cbegin(), parsed.perfdata.cend(),
                         [](const QString& p) { return p.startsWith(QStringLiteral("'evil\"name\\\\with\\x0anewline¦pipe days_left'=")); }),
             qPrintable(nagios.out));
}

// What serve's /metrics does: several reports, told apart by an extra label, and series of the
// exporter's own, each family printed once with its HELP and TYPE.
void TestMonitoring::expositionCollectsSeveralReports()
{
    if (QStandardPaths::findExecutable(QStringLiteral("promtool")).isEmpty())
        QSKIP("promtool is not installed (Debian package prometheus; scripts/dev installs it)");
    AnalysisOptions options;
    options.at = m_now;
    const InspectionReport healthy = inspectPaths({m_healthy}, {m_root}, m_now);
    const InspectionReport incident = inspectPaths({m_incident}, {m_root}, m_now);
    PrometheusExposition exposition;
    exposition.addReport(healthy, options, {{QStringLiteral("path"), m_healthy}});
    exposition.addReport(incident, options, {{QStringLiteral("path"), m_incident}});
    exposition.addSample(QStringLiteral("staplescope_scrape_duration_seconds"), QStringLiteral("gauge"),
                         QStringLiteral("How long the scrape took."), {}, 0.25);
    // The same series twice is printed once (Prometheus rejects a repeated series).
    exposition.addSample(QStringLiteral("staplescope_scrape_duration_seconds"), QStringLiteral("gauge"),
                         QStringLiteral("How long the scrape took."), {}, 0.5);
    exposition.addSample(QStringLiteral("staplescope_bad name"), QStringLiteral("nonsense"), QStringLiteral("help\nwith newline"),
                         {{QStringLiteral("bad-label"), QStringLiteral("v")}}, std::nan(""));
    const QString text = exposition.text();
    const auto [status, said] = promtoolCheck(text);
    QVERIFY2(status == 0, qPrintable(said + text));
    QCOMPARE(text.count(QLatin1String("# TYPE staplescope_check_success gauge\n")), 1);
    QVERIFY2(text.contains(QStringLiteral("staplescope_check_success{path=\"%1\"} 1\n").arg(m_healthy)), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("staplescope_check_success{path=\"%1\"} 1\n").arg(m_incident)), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("\nstaplescope_scrape_duration_seconds 0.25\n")), qPrintable(text));
    QVERIFY2(!text.contains(QLatin1String("staplescope_scrape_duration_seconds 0.5")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("# TYPE staplescope_bad_name untyped\nstaplescope_bad_name{bad_label=\"v\"} NaN\n")), qPrintable(text));
    // The incident's staple for the previous certificate, under its path.
    QVERIFY2(text.contains(QStringLiteral("code=\"STAPLE_FOR_OTHER_CERT\",location=\"%1/fullchain.pem (#1 of 2)\",path=\"%1\",severity=\"critical\"} 1")
                               .arg(m_incident)),
             qPrintable(text));
}

void TestMonitoring::connectNagiosAgainstALiveServer()
{
    const QString openssl = findServer(QStringLiteral("openssl"));
    if (openssl.isEmpty())
        QSKIP("openssl is not installed");
    // s_server sends the staple file as it is; the check judges it at the real time, so this PKI
    // is made around the real now.
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const LivePki pki = makeLivePki(now);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto file = [&](const char* name, const QByteArray& bytes) { return LivePki::write(dir.path(), QLatin1String(name), bytes); };
    const QString root = file("root.pem", pki.root.certPem());
    const quint16 port = freePort();
    QVERIFY(port != 0);
    QVERIFY(m_servers.launch(QStringLiteral("s_server"), openssl,
                             {QStringLiteral("s_server"), QStringLiteral("-quiet"), QStringLiteral("-accept"),
                              QStringLiteral("127.0.0.1:%1").arg(port), QStringLiteral("-cert"), file("leaf.pem", pki.leaf.certPem()),
                              QStringLiteral("-key"), file("leaf-key.pem", LivePki::keyPem(pki.leaf)), QStringLiteral("-cert_chain"),
                              file("ca.pem", pki.ca.certPem()), QStringLiteral("-status_file"), file("leaf.ocsp.der", pki.leafStaple)},
                             dir.path(), port));
    const QString target = QStringLiteral("127.0.0.1:%1").arg(port);
    const QStringList base = {QStringLiteral("connect"), target, QStringLiteral("--servername"), pki.hostName, QStringLiteral("--format"),
                              QStringLiteral("nagios"), QStringLiteral("--no-system-trust"), QStringLiteral("--ca-file"), root};
    const CliRun ok = runInProcess(base, now);
    QVERIFY2(ok.exitCode == 0, qPrintable(ok.out + ok.err));
    const PluginOutput parsed = parsePluginOutput(ok.out);
    QVERIFY2(parsed.problem.isEmpty(), qPrintable(parsed.problem + ok.out));
    QCOMPARE(parsed.status, QStringLiteral("OK"));
    QVERIFY2(parsed.statusText.startsWith(target + QStringLiteral(": ")), qPrintable(ok.out));
    QVERIFY2(std::any_of(parsed.perfdata.cbegin(), parsed.perfdata.cend(),
                         [&](const QString& p) { return p.startsWith(QStringLiteral("'%1 staple_hours_left'=144.00;").arg(pki.hostName)); }),
             qPrintable(ok.out));

    // The same server judged with a staple threshold beyond the staple's 144 hours: critical.
    const CliRun critical = runInProcess(base + QStringList{QStringLiteral("--staple-crit-hours"), QStringLiteral("150"),
                                                            QStringLiteral("--staple-warn-hours"), QStringLiteral("160")},
                                         now);
    QCOMPARE(critical.exitCode, 2);
    const PluginOutput criticalParsed = parsePluginOutput(critical.out);
    QVERIFY2(criticalParsed.problem.isEmpty(), qPrintable(criticalParsed.problem + critical.out));
    QCOMPARE(criticalParsed.status, QStringLiteral("CRITICAL"));
    QVERIFY2(criticalParsed.statusText.contains(QLatin1String("Staple refresh is overdue")), qPrintable(critical.out));
    QVERIFY2(std::any_of(criticalParsed.perfdata.cbegin(), criticalParsed.perfdata.cend(),
                         [&](const QString& p) { return p.contains(QLatin1String(";160.00:;150.00:;;")); }),
             qPrintable(critical.out));
    m_servers.stopAll();
}

QTEST_GUILESS_MAIN(TestMonitoring)
#include "tst_monitoring.moc"
