// The finding registry (core/model/FindingRegistry): every code core produces is an entry, every
// entry is documented in docs/findings.md, produced severities lie on their ladders, no stage
// decides from a code string, and every remedy kind is worded by every front end that shows one.

#include "CliRemedy.h"
#include "DemoData.h"
#include "FindingRegistry.h"
#include "GuiRemedy.h"
#include "Inspection.h"
#include "ReportFormat.h"
#include "TestClock.h"

#include <QDirIterator>
#include <QFile>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

using namespace staplescope;

namespace {

// The prefixes finding codes have (and the issue's grep uses); a literal with one of them anywhere
// but in the registry is a code spelled outside it.
const QRegularExpression& codeLiteral()
{
    static const QRegularExpression pattern(QStringLiteral(
        "\"((?:INPUT|CERT|KEY|CHAIN|STAPLE|MUST|OCSP|HOSTNAME|NO|TLS|STARTTLS|SERVER|SERVED|CONNECT|DNS|ADDRESSES|ISSUER|CRL|REVOCATION|DEPLOY|RENEWAL|RENEW)_[A-Z0-9_]+)\""));
    return pattern;
}

// Code-shaped literals that are not finding codes.
const QSet<QString>& notCodes()
{
    static const QSet<QString> names{QStringLiteral("NO_COLOR"), QStringLiteral("TLS_AES_256_GCM_SHA384")};
    return names;
}

struct SourceFile {
    QString path;
    QString text;
};

QList<SourceFile> sources(const QStringList& folders)
{
    QList<SourceFile> out;
    for (const QString& folder : folders) {
        QDirIterator it(QStringLiteral(STAPLESCOPE_SOURCE_DIR "/") + folder, {QStringLiteral("*.cpp"), QStringLiteral("*.h")},
                        QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            QFile file(path);
            if (file.open(QIODevice::ReadOnly))
                out << SourceFile{path, QString::fromUtf8(file.readAll())};
        }
    }
    return out;
}

QSet<QString> registryNames()
{
    QSet<QString> names;
    for (const FindingInfo& info : findingRegistry())
        names.insert(info.name);
    return names;
}

// A superseded certificate's findings are lowered to info after they were made (docs/findings.md).
bool severityAllowed(const Finding& f, const FindingInfo& info)
{
    return info.ladder.contains(f.severity) ||
           (f.severity == Severity::Info && f.message.startsWith(QLatin1String("(Superseded certificate.)")));
}

} // namespace

class TestRegistry : public QObject {
    Q_OBJECT

private slots:
    void tableIsInEnumOrderAndComplete();
    void everyCodeInCoreIsRegistered();
    void noStageDecidesFromACodeString();
    void everyCodeIsDocumented();
    void makeFindingSpellsTheCodeAndSetsTheRemedy();
    void demoFindingsAreRegisteredAndOnTheirLadders();
    void everyRemedyKindIsWorded_data();
    void everyRemedyKindIsWorded();
    void textReportAddsTheRemedyLine();
};

void TestRegistry::tableIsInEnumOrderAndComplete()
{
    const QList<FindingInfo>& table = findingRegistry();
    QCOMPARE(table.size(), qsizetype(FindingCode::RenewClientFailed) + 1);
    QSet<QString> names;
    for (qsizetype i = 0; i < table.size(); ++i) {
        const FindingInfo& info = table.at(i);
        QCOMPARE(int(info.code), int(i));
        QVERIFY2(!info.ladder.isEmpty(), qPrintable(info.name));
        QVERIFY2(!names.contains(info.name), qPrintable(info.name));
        names.insert(info.name);
        QCOMPARE(findingCodeFromName(info.name), std::optional<FindingCode>(info.code));
        QCOMPARE(codeName(info.code), info.name);
        QCOMPARE(info.docsAnchor, info.name.toLower());
        // Worst first, no repeats.
        for (qsizetype s = 1; s < info.ladder.size(); ++s)
            QVERIFY2(info.ladder.at(s) < info.ladder.at(s - 1), qPrintable(info.name));
        // A lane effect only a staple's lane shows belongs to a staple finding.
        if (info.laneScope == LaneScope::StapleLaneOnly)
            QCOMPARE(info.category, FindingCategory::Staple);
    }
    QVERIFY(!findingCodeFromName(QStringLiteral("NOT_A_CODE")));
}

void TestRegistry::everyCodeInCoreIsRegistered()
{
    const QSet<QString> registered = registryNames();
    QSet<QString> inRegistrySource;
    int files = 0;
    for (const SourceFile& f : sources({QStringLiteral("core"), QStringLiteral("ui"), QStringLiteral("app")})) {
        ++files;
        const bool isRegistry = f.path.endsWith(QLatin1String("/FindingRegistry.cpp"));
        auto matches = codeLiteral().globalMatch(f.text);
        while (matches.hasNext()) {
            const QString code = matches.next().captured(1);
            if (notCodes().contains(code))
                continue;
            if (isRegistry)
                inRegistrySource.insert(code);
            else
                QFAIL(qPrintable(QStringLiteral("%1 spells the code %2: use FindingCode (FindingRegistry.h)").arg(f.path, code)));
        }
    }
    QVERIFY(files >= 20);
    QCOMPARE(inRegistrySource, registered);
}

void TestRegistry::noStageDecidesFromACodeString()
{
    // Comparisons of a finding's code with a literal, prefix tests on codes, and searches of a
    // message for a server's reply are what the registry replaced.
    static const QRegularExpression decision(QStringLiteral(
        "code\\s*[!=]=\\s*(QLatin1String|QStringLiteral|u?\")|code\\.(startsWith|endsWith|contains)\\(|message\\.contains\\("));
    for (const SourceFile& f : sources({QStringLiteral("core"), QStringLiteral("ui"), QStringLiteral("app")})) {
        const QRegularExpressionMatch m = decision.match(f.text);
        QVERIFY2(!m.hasMatch(), qPrintable(QStringLiteral("%1: %2").arg(f.path, m.captured(0))));
    }
}

void TestRegistry::everyCodeIsDocumented()
{
    QFile docs(QStringLiteral(STAPLESCOPE_SOURCE_DIR "/docs/findings.md"));
    QVERIFY(docs.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(docs.readAll());
    static const QRegularExpression heading(QStringLiteral("^### `([A-Z0-9_]+)`$"), QRegularExpression::MultilineOption);
    QSet<QString> documented;
    auto matches = heading.globalMatch(text);
    while (matches.hasNext())
        documented.insert(matches.next().captured(1));
    const QSet<QString> registered = registryNames();
    for (const FindingInfo& info : findingRegistry()) {
        QVERIFY2(documented.contains(info.name), qPrintable(QStringLiteral("no ### `%1` in docs/findings.md").arg(info.name)));
        // GitHub's anchor of "### `CODE`": the code in lower case.
        QCOMPARE(info.docsAnchor, info.name.toLower());
    }
    for (const QString& code : std::as_const(documented))
        QVERIFY2(registered.contains(code), qPrintable(QStringLiteral("docs/findings.md documents %1, which the registry lacks").arg(code)));
}

void TestRegistry::makeFindingSpellsTheCodeAndSetsTheRemedy()
{
    const Finding usual = makeFinding(FindingCode::ChainUntrusted, Severity::Error, QStringLiteral("t"), QStringLiteral("s"),
                                      QStringLiteral("m"), QStringLiteral("f"), {QStringLiteral("cert:1")});
    QCOMPARE(usual.code, QStringLiteral("CHAIN_UNTRUSTED"));
    QCOMPARE(usual.remedy.kind, RemedyKind::AddTrustAnchor);
    QCOMPARE(usual.objectIds, QStringList{QStringLiteral("cert:1")});
    QCOMPARE(findingCode(usual), std::optional<FindingCode>(FindingCode::ChainUntrusted));
    QCOMPARE(findingInfo(usual)->category, FindingCategory::Chain);

    const Finding precise = makeFinding(FindingCode::StapleForOtherCert, Severity::Critical, {}, {}, {}, {}, {},
                                        Remedy{RemedyKind::RefreshStaple, QStringLiteral("/srv/ocsp.der"), QStringLiteral("01"), {}});
    QCOMPARE(precise.remedy.file, QStringLiteral("/srv/ocsp.der"));
    QCOMPARE(precise.remedy.serial, QStringLiteral("01"));

    QVERIFY(isOnLadder(FindingCode::CertExpired, Severity::Critical));
    QVERIFY(isOnLadder(FindingCode::CertExpired, Severity::Error));
    QVERIFY(!isOnLadder(FindingCode::CertExpired, Severity::Warning));
    QVERIFY(!isOnLadder(FindingCode::ChainExtraCert, Severity::Error));

    // A hand-built finding with an unknown code has no entry: consumers treat it as nothing special.
    Finding unknown;
    unknown.code = QStringLiteral("NOT_A_CODE");
    QVERIFY(!findingInfo(unknown));
}

// The demo folder (a healthy bundle and the renewal incident) through the whole inspection.
void TestRegistry::demoFindingsAreRegisteredAndOnTheirLadders()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const DemoResult demo = writeDemo(dir.filePath(QStringLiteral("demo")), test::fixedNow());
    QVERIFY2(demo.ok, qPrintable(demo.error));
    InspectRequest request;
    request.files.paths = demo.paths;
    request.caFiles = {demo.trustAnchorFile};
    request.useSystemTrust = false;
    request.analysis.at = test::fixedNow();
    const InspectionReport report = inspect(request);
    const QList<Finding> all = report.allFindings();
    QVERIFY(!all.isEmpty());
    for (const Finding& f : all) {
        const FindingInfo* info = findingInfo(f);
        QVERIFY2(info, qPrintable(f.code));
        QVERIFY2(severityAllowed(f, *info), qPrintable(QStringLiteral("%1 %2").arg(f.code, severityName(f.severity))));
    }
}

void TestRegistry::everyRemedyKindIsWorded_data()
{
    QTest::addColumn<int>("kind");
    for (RemedyKind kind : allRemedyKinds())
        QTest::newRow(qPrintable(remedyKindName(kind))) << int(kind);
}

void TestRegistry::everyRemedyKindIsWorded()
{
    QFETCH(int, kind);
    static QSet<QString> names;
    const QString name = remedyKindName(RemedyKind(kind));
    QVERIFY(!name.isEmpty());
    QVERIFY2(!names.contains(name), qPrintable(name));
    names.insert(name);
    // With no data and with all of it: each front end says something, and keeps outside text as is.
    const QString file = QStringLiteral("/srv/%1/ocsp.der");
    for (const Remedy& r : {Remedy{RemedyKind(kind), {}, {}, {}},
                            Remedy{RemedyKind(kind), file, QStringLiteral("01:02"), QStringLiteral("http://ocsp.example.test")}}) {
        const QString cli = cli::cliRemedyText(r);
        const QString gui = ui::guiRemedyText(r);
        QVERIFY2(!cli.trimmed().isEmpty(), qPrintable(name));
        QVERIFY2(!gui.trimmed().isEmpty(), qPrintable(name));
        for (const QString& text : {cli, gui})
            QVERIFY2(!text.contains(QLatin1String("/srv/")) || text.contains(file), qPrintable(text));
    }
    // The GUI names its own dialogs, never a CLI option.
    static const QRegularExpression option(QStringLiteral("(^|\\s)--[a-z]"));
    const QString gui = ui::guiRemedyText(Remedy{RemedyKind(kind), {}, {}, {}});
    QVERIFY2(!option.match(gui).hasMatch(), qPrintable(gui));
}

void TestRegistry::textReportAddsTheRemedyLine()
{
    InspectionReport report;
    report.at = test::fixedNow();
    report.inputFindings << makeFinding(FindingCode::InputUnrecognized, Severity::Error, QStringLiteral("No certificates in the CA file"),
                                        QStringLiteral("/srv/ca.pem"), QStringLiteral("The CA file given as a trust anchor holds no certificates."),
                                        QStringLiteral("Give a PEM or DER file with the CA certificates to trust."), {},
                                        Remedy{RemedyKind::AddTrustAnchor, QStringLiteral("/srv/ca\x1b.pem"), {}, {}});
    const QString plain = reportToText(report, false);
    QVERIFY2(!plain.contains(QLatin1String("Remedy:")), qPrintable(plain));
    const QString cli = reportToText(report, false, cli::cliRemedyText);
    QVERIFY2(cli.contains(QLatin1String("      Fix: Give a PEM or DER file with the CA certificates to trust.\n"
                                        "      Remedy: give the private CA's root with --ca-file /srv/ca\\x1b.pem\n")),
             qPrintable(cli));
    const QString copied = findingToText(report.inputFindings.first(), ui::guiRemedyText);
    QVERIFY2(copied.contains(QStringLiteral("\n  Remedy: Add the private CA's root in File ▸ Settings…, Extra trust anchors: /srv/ca\\x1b.pem")),
             qPrintable(copied));
}

QTEST_GUILESS_MAIN(TestRegistry)
#include "tst_registry.moc"
