// Report formats: the JSON document (staplescope-report/1, docs/json-schema.md) for machines, and
// text, Markdown and HTML for people. Built from one inspection holding a healthy bundle, the
// renewal incident and some broken input files.

#include "FindingRegistry.h"
#include "ReportFormat.h"
#include "TestPki.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace staplescope;
using namespace staplescope::test;

namespace {

QStringList keysOf(const QJsonObject& o) { return o.keys(); }

bool hasAll(const QJsonObject& o, const QStringList& keys, QString* missing)
{
    for (const QString& k : keys)
        if (!o.contains(k)) {
            *missing = k;
            return false;
        }
    return true;
}

} // namespace

class TestReport : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void connectionFindingsHaveTheirOwnHeading();
    void jsonTopLevel();
    void jsonFindings();
    void jsonBundles();
    void jsonStapleWithoutNextUpdateIsNull();
    void textHasEveryFindingAndNoKeyMaterial();
    void textColourOnlyWhenAsked();
    void markdownAndHtmlHaveEveryFinding();
    void htmlEscapesWhatItQuotes();
    void outsideTextIsEscapedForEachFormat();
    void sourceDisplayKeepsPercentInNames();

private:
    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestFolder> m_dir;
    IssuedCert m_previous, m_renewed;
    InspectionReport m_report;
    QJsonObject m_json;
};

void TestReport::initTestCase()
{
    m_pki = std::make_unique<TestPki>();
    m_dir = std::make_unique<TestFolder>();
    const TestPki& p = *m_pki;
    // healthy/: the standard site with a SHA-256 staple from the delegated responder.
    OcspSpec sha256 = p.goodStapleSpec();
    sha256.certIdHash = EVP_sha256();
    m_dir->write(QStringLiteral("healthy/fullchain.pem"), TestPki::pem({&p.leaf, &p.intermediate}));
    m_dir->write(QStringLiteral("healthy/privkey.pem"), p.keyPem(p.leaf));
    m_dir->write(QStringLiteral("healthy/ocsp.der"), p.staple(sha256, nullptr, nullptr, &p.responder));
    // incident/: renewed two days ago, previous certificate and its staple still there.
    m_previous = p.issueLeaf([](CertSpec& s) {
        s.commonName = QStringLiteral("mail.example.test");
        s.dnsNames = {s.commonName};
        s.notBefore = daysFrom(fixedNow(), -62);
        s.notAfter = daysFrom(fixedNow(), 28);
    });
    m_renewed = p.issueLeaf([](CertSpec& s) {
        s.commonName = QStringLiteral("mail.example.test");
        s.dnsNames = {s.commonName};
        s.notBefore = daysFrom(fixedNow(), -2);
        s.notAfter = daysFrom(fixedNow(), 88);
    });
    m_dir->write(QStringLiteral("incident/cert.pem"), TestPki::pem({&m_renewed, &p.intermediate}));
    m_dir->write(QStringLiteral("incident/cert-previous.pem"), m_previous.certPem());
    m_dir->write(QStringLiteral("incident/privkey.pem"), p.keyPem(m_renewed));
    m_dir->write(QStringLiteral("incident/ocsp.der"), p.staple(p.goodStapleSpec(), &m_previous));
    // broken/: what failed downloads leave behind.
    m_dir->write(QStringLiteral("broken/empty.pem"), {});
    m_dir->write(QStringLiteral("broken/ocsp-error.der"), "<html><body>502 Bad Gateway</body></html>");
    m_dir->write(QStringLiteral("broken/notes.pem"), "note <script>alert(1)</script> & \"x\"\n");

    const QString root = m_dir->write(QStringLiteral("trust/root.pem"), p.root.certPem());
    m_report = inspectPaths({m_dir->path(QStringLiteral("healthy")), m_dir->path(QStringLiteral("incident")),
                             m_dir->path(QStringLiteral("broken"))},
                            {root});
    QCOMPARE(m_report.bundles.size(), 3);
    QVERIFY(m_report.inputFindings.size() >= 2);

    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(reportToJsonBytes(m_report), &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    QVERIFY(doc.isObject());
    m_json = doc.object();
}

void TestReport::jsonTopLevel()
{
    QString missing;
    QVERIFY2(hasAll(m_json, {"schema", "evaluatedAt", "worstSeverity", "exitCode", "findings", "bundles", "inputFindings", "files", "silenced"},
                    &missing),
             qPrintable(missing));
    QCOMPARE(m_json.value("schema").toString(), QStringLiteral("staplescope-report/1"));
    QCOMPARE(m_json.value("evaluatedAt").toString(), QStringLiteral("2026-06-15T12:00:00Z"));
    QCOMPARE(m_json.value("worstSeverity").toString(), QStringLiteral("critical"));
    QCOMPARE(m_json.value("exitCode").toInt(), 2);
    QVERIFY(m_json.value("findings").isArray());
    QVERIFY(m_json.value("bundles").isArray());
    QCOMPARE(m_json.value("files").toArray().size(), m_report.files.size());
    QCOMPARE(m_json.value("inputFindings").toArray().size(), m_report.inputFindings.size());
}

void TestReport::jsonFindings()
{
    const QJsonArray findings = m_json.value("findings").toArray();
    const QList<Finding> all = m_report.allFindings();
    QCOMPARE(findings.size(), all.size());
    QStringList codes;
    int previousRank = 4;
    int withRemedy = 0;
    for (int i = 0; i < findings.size(); ++i) {
        const QJsonObject f = findings[i].toObject();
        QString missing;
        QVERIFY2(hasAll(f, {"code", "severity", "title", "subject", "message", "fix", "objects"}, &missing), qPrintable(missing));
        QCOMPARE(f.value("code").toString(), all[i].code);
        QCOMPARE(f.value("message").toString(), all[i].message);
        const auto severity = severityFromName(f.value("severity").toString());
        QVERIFY2(severity, qPrintable(f.value("severity").toString()));
        QVERIFY2(int(*severity) <= previousRank, "findings are worst first");
        previousRank = int(*severity);
        QVERIFY2(!f.value("title").toString().isEmpty(), qPrintable(f.value("code").toString()));
        QVERIFY(!f.value("subject").toString().isEmpty());
        QVERIFY(f.value("objects").isArray());
        // The remedy as data, exactly when the finding has one.
        if (all[i].remedy.kind == RemedyKind::None) {
            QVERIFY(!f.contains("remedy"));
        } else {
            ++withRemedy;
            const QJsonObject remedy = f.value("remedy").toObject();
            QCOMPARE(remedy.value("kind").toString(), remedyKindName(all[i].remedy.kind));
            QCOMPARE(remedy.value("file").toString(), all[i].remedy.file);
            QCOMPARE(remedy.value("serial").toString(), all[i].remedy.serial);
            QCOMPARE(remedy.value("url").toString(), all[i].remedy.url);
        }
        codes << f.value("code").toString();
    }
    // Bundle findings and input findings are both in the top-level list.
    for (const char* code : {"STAPLE_FOR_OTHER_CERT", "CERT_SUPERSEDED", "INPUT_EMPTY", "INPUT_UNRECOGNIZED"})
        QVERIFY2(codes.contains(QLatin1String(code)), code);
    QVERIFY(withRemedy > 0);
}

void TestReport::jsonBundles()
{
    const QJsonArray bundles = m_json.value("bundles").toArray();
    QCOMPARE(bundles.size(), 3);
    const QJsonObject* incident = nullptr;
    const QJsonObject* healthy = nullptr;
    QList<QJsonObject> objects;
    for (const QJsonValue& v : bundles)
        objects << v.toObject();
    for (const QJsonObject& b : objects) {
        QString missing;
        QVERIFY2(hasAll(b, {"id", "origin", "served", "verdict", "worstSeverity", "superseded", "leaf", "chain", "staples", "key",
                            "previousCertificates", "findings"},
                        &missing),
                 qPrintable(missing));
        const QJsonObject leaf = b.value("leaf").toObject();
        QVERIFY2(hasAll(leaf, {"id", "source", "subject", "issuer", "serial", "notBefore", "notAfter", "dnsNames", "isCa", "mustStaple",
                               "key", "subjectKeyId", "authorityKeyId", "ocspUrls", "crlUrls", "sha256"},
                        &missing),
                 qPrintable(missing));
        if (leaf.value("serial").toString() == Certificate::fromDer(m_renewed.certDer(), {}).serialHex())
            incident = &b;
        if (leaf.value("serial").toString() == Certificate::fromDer(m_pki->leaf.certDer(), {}).serialHex())
            healthy = &b;
    }
    QVERIFY(incident && healthy);

    const QJsonObject hLeaf = healthy->value("leaf").toObject();
    QCOMPARE(hLeaf.value("notBefore").toString(), daysFrom(fixedNow(), -10).toString(Qt::ISODate));
    QCOMPARE(hLeaf.value("notAfter").toString(), daysFrom(fixedNow(), 80).toString(Qt::ISODate));
    QCOMPARE(hLeaf.value("ocspUrls").toArray().first().toString(), kOcspUrl);
    QVERIFY(hLeaf.value("source").toObject().value("path").toString().endsWith(QLatin1String("healthy/fullchain.pem")));
    QCOMPARE(hLeaf.value("source").toObject().value("index").toInt(), 0);
    QCOMPARE(healthy->value("verdict").toString(), QStringLiteral("Healthy"));
    QCOMPARE(healthy->value("worstSeverity").toString(), QStringLiteral("info"));
    QCOMPARE(healthy->value("chain").toArray().size(), 1);
    QCOMPARE(healthy->value("chain").toArray().first().toObject().value("isCa").toBool(), true);
    QCOMPARE(healthy->value("trustAnchor").toObject().value("selfSigned").toBool(), true);
    const QJsonObject key = healthy->value("key").toObject();
    QCOMPARE(key.value("status").toString(), QStringLiteral("matches"));
    QCOMPARE(key.value("format").toString(), QStringLiteral("PKCS#8"));
    QCOMPARE(key.value("type").toString(), QStringLiteral("EC P-256"));
    QCOMPARE(keysOf(key).size(), 4); // status, source, format, type: nothing else about a key

    const QJsonArray staples = healthy->value("staples").toArray();
    QCOMPARE(staples.size(), 1);
    const QJsonObject staple = staples.first().toObject();
    QString missing;
    QVERIFY2(hasAll(staple, {"id", "source", "attachedBy", "encoding", "responseStatus", "producedAt", "responderId", "responses"}, &missing),
             qPrintable(missing));
    QCOMPARE(staple.value("attachedBy").toString(), QStringLiteral("certid"));
    QCOMPARE(staple.value("encoding").toString(), QStringLiteral("der"));
    QCOMPARE(staple.value("responseStatus").toString(), QStringLiteral("successful"));
    QVERIFY(staple.value("responderId").toString().startsWith(QLatin1String("byKey: ")));
    const QJsonObject single = staple.value("responses").toArray().first().toObject();
    QCOMPARE(single.value("hashAlgorithm").toString(), QStringLiteral("SHA-256"));
    QCOMPARE(single.value("status").toString(), QStringLiteral("good"));
    QCOMPARE(single.value("serial").toString(), hLeaf.value("serial").toString());
    QCOMPARE(single.value("thisUpdate").toString(), daysFrom(fixedNow(), -1).toString(Qt::ISODate));
    QCOMPARE(single.value("nextUpdate").toString(), daysFrom(fixedNow(), 6).toString(Qt::ISODate));
    QCOMPARE(single.value("issuerKeyHash").toString().count(QLatin1Char(':')), 31); // 32 bytes of SHA-256

    QCOMPARE(incident->value("worstSeverity").toString(), QStringLiteral("critical"));
    QCOMPARE(incident->value("staples").toArray().first().toObject().value("attachedBy").toString(),
             QStringLiteral("previous-certificate"));
    QCOMPARE(incident->value("previousCertificates").toArray().size(), 1);
    QCOMPARE(incident->value("previousCertificates").toArray().first().toObject().value("serial").toString(),
             Certificate::fromDer(m_previous.certDer(), {}).serialHex());
    QStringList incidentCodes;
    for (const QJsonValue& f : incident->value("findings").toArray())
        incidentCodes << f.toObject().value("code").toString();
    QVERIFY(incidentCodes.contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")));
    // The bundles are listed current first, superseded last.
    QCOMPARE(objects.last().value("superseded").toBool(), true);
}

void TestReport::jsonStapleWithoutNextUpdateIsNull()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.nextUpdate.reset();
    TestFolder dir;
    dir.write(QStringLiteral("cert.pem"), TestPki::pem({&m_pki->leaf, &m_pki->intermediate}));
    dir.write(QStringLiteral("ocsp.der"), m_pki->staple(spec));
    const QJsonObject json = reportToJson(inspectPaths({dir.path()}, {}));
    const QJsonObject single = json.value("bundles").toArray().first().toObject().value("staples").toArray().first().toObject()
                                   .value("responses").toArray().first().toObject();
    QVERIFY(single.contains("nextUpdate"));
    QVERIFY(single.value("nextUpdate").isNull());
}

void TestReport::textHasEveryFindingAndNoKeyMaterial()
{
    const QString text = reportToText(m_report, false);
    for (const Finding& f : m_report.allFindings()) {
        QVERIFY2(text.contains(f.code), qPrintable(f.code));
        QVERIFY2(text.contains(f.message), qPrintable(f.code));
    }
    QVERIFY(!text.contains(QStringLiteral("PRIVATE KEY")));
    for (const IssuedCert* owner : {&m_pki->leaf, &m_renewed})
        for (const QByteArray& line : m_pki->keyPem(*owner).split('\n'))
            if (line.size() > 40 && !line.startsWith("-----"))
                QVERIFY2(!text.contains(QString::fromLatin1(line)), "key material in the text report");
    QVERIFY(text.contains(QStringLiteral("Staplescope report, evaluated at 2026-06-15 12:00:00 UTC")));
    QVERIFY(text.contains(QStringLiteral("(matches)")));
    QVERIFY2(text.contains(QStringLiteral("3 bundle(s):")), qPrintable(text.right(200)));
}

void TestReport::textColourOnlyWhenAsked()
{
    QVERIFY(!reportToText(m_report, false).contains(QLatin1Char('\033')));
    const QString coloured = reportToText(m_report, true);
    QVERIFY(coloured.contains(QStringLiteral("\033[1;41;97mCRITICAL\033[0m")));
}

void TestReport::markdownAndHtmlHaveEveryFinding()
{
    const QString md = reportToMarkdown(m_report);
    const QString html = reportToHtml(m_report);
    QVERIFY(md.startsWith(QLatin1String("# Staplescope report")));
    QVERIFY(html.startsWith(QLatin1String("<!DOCTYPE html>")));
    for (const Finding& f : m_report.allFindings()) {
        QVERIFY2(md.contains(QStringLiteral("`%1`").arg(f.code)), qPrintable(f.code));
        // Markdown puts a backslash before markup characters (tst_textescape has the details).
        QVERIFY2(QString(md).remove(QLatin1Char('\\')).contains(QString(f.message).remove(QLatin1Char('\\'))), qPrintable(f.message));
        QVERIFY2(html.contains(QStringLiteral("<code>%1</code>").arg(f.code)), qPrintable(f.code));
        QVERIFY2(html.contains(f.message.toHtmlEscaped()), qPrintable(f.message));
        QVERIFY2(html.contains(f.subject.toHtmlEscaped()), qPrintable(f.subject));
    }
    // As many finding rows as findings: none lost, none doubled.
    QCOMPARE(html.count(QStringLiteral("<tr><td class=")), m_report.allFindings().size());

    // Given a front end's wording, the Fix column ends with each finding's remedy.
    const RemedyWording wording = [](const Remedy& r) { return QStringLiteral("do %1 now").arg(remedyKindName(r.kind)); };
    const QString mdWithRemedy = reportToMarkdown(m_report, wording);
    const QString htmlWithRemedy = reportToHtml(m_report, wording);
    int remedies = 0;
    for (const BundleReport& b : m_report.bundles)
        for (const Finding& f : b.findings) {
            if (f.remedy.kind == RemedyKind::None)
                continue;
            ++remedies;
            const QString line = QStringLiteral("Remedy: do %1 now").arg(remedyKindName(f.remedy.kind));
            QVERIFY2(QString(mdWithRemedy).remove(QLatin1Char('\\')).contains(line), qPrintable(line));
            QVERIFY2(htmlWithRemedy.contains(line), qPrintable(line));
        }
    QVERIFY(remedies > 0);
    QVERIFY(!md.contains(QLatin1String("Remedy:")));
}

void TestReport::htmlEscapesWhatItQuotes()
{
    // The loader quotes the first line of a text file it does not recognise; in HTML that quote
    // must stay text.
    bool quoted = false;
    for (const Finding& f : m_report.inputFindings)
        quoted |= f.message.contains(QStringLiteral("<script>alert(1)</script>"));
    QVERIFY2(quoted, "the loader no longer quotes the file: this test needs another way in");
    const QString html = reportToHtml(m_report);
    QVERIFY(!html.contains(QStringLiteral("<script>")));
    QVERIFY(html.contains(QStringLiteral("note &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;")));
}

void TestReport::connectionFindingsHaveTheirOwnHeading()
{
    InspectionReport report;
    report.at = fixedNow();
    report.inputFindings << Finding{QStringLiteral("CONNECT_FAILED"), Severity::Error, QStringLiteral("Connection refused"),
                                    QStringLiteral("mail.example.test:587"), QStringLiteral("refused"), {}, {}};
    report.inputFindings << Finding{QStringLiteral("INPUT_EMPTY"), Severity::Warning, QStringLiteral("File is empty"),
                                    QStringLiteral("/etc/exim4/ocsp.der"), QStringLiteral("empty"), {}, {}};
    for (const QString& text : {reportToText(report, false), reportToMarkdown(report), reportToHtml(report)}) {
        const qsizetype connections = text.indexOf(QLatin1String("Connections"));
        const qsizetype inputs = text.indexOf(QLatin1String("Inputs"));
        QVERIFY2(connections >= 0 && inputs > connections, qPrintable(text));
        // Each finding under its own heading.
        const qsizetype connect = text.indexOf(QLatin1String("CONNECT_FAILED"));
        const qsizetype empty = text.indexOf(QLatin1String("INPUT_EMPTY"));
        QVERIFY(connect > connections && connect < inputs);
        QVERIFY(empty > inputs);
    }
}

// Findings carry raw text (a file-name byte that is not UTF-8 kept as a lone surrogate, a server's
// control bytes); each format escapes it where it prints it, and JSON stays valid UTF-8.
void TestReport::outsideTextIsEscapedForEachFormat()
{
    const QString name = QStringLiteral("/srv/bad") + QChar(char16_t(0xDCFF)) + QStringLiteral("%1.pem");
    InspectionReport report;
    report.at = fixedNow();
    report.inputFindings << Finding{QStringLiteral("INPUT_UNRECOGNIZED"), Severity::Warning, QStringLiteral("Not a certificate"),
                                    name, QStringLiteral("first line: \"\x1b[2J\r\nFAKE | *x* <b>\""), {}, {}};

    const QByteArray json = reportToJsonBytes(report);
    QCOMPARE(QString::fromUtf8(json).toUtf8(), json); // valid UTF-8: nothing was replaced
    QJsonParseError error;
    const QJsonObject parsed = QJsonDocument::fromJson(json, &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    const QJsonObject finding = parsed.value(QLatin1String("inputFindings")).toArray().first().toObject();
    QCOMPARE(finding.value(QLatin1String("subject")).toString(), QStringLiteral("/srv/bad\\xff%1.pem"));
    QCOMPARE(finding.value(QLatin1String("message")).toString(), QStringLiteral("first line: \"\x1b[2J\r\nFAKE | *x* <b>\""));

    const QString text = reportToText(report, false);
    QVERIFY2(text.contains(QStringLiteral("/srv/bad\\xff%1.pem")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("first line: \"\\x1b[2J\\x0d\\x0aFAKE | *x* <b>\"")), qPrintable(text));
    QVERIFY(!text.contains(QChar(0x1b)) && !text.contains(QLatin1Char('\r')));

    const QString md = reportToMarkdown(report);
    QVERIFY2(md.contains(QStringLiteral("first line: \"\\\\x1b\\[2J\\\\x0d\\\\x0aFAKE \\| \\*x\\* \\<b\\>\"")), qPrintable(md));
    QVERIFY2(md.contains(QStringLiteral("/srv/bad\\\\xff%1.pem")), qPrintable(md));

    const QString html = reportToHtml(report);
    QVERIFY2(html.contains(QStringLiteral("first line: &quot;\\x1b[2J\\x0d\\x0aFAKE | *x* &lt;b&gt;&quot;")), qPrintable(html));
    QVERIFY2(html.contains(QStringLiteral("/srv/bad\\xff%1.pem")), qPrintable(html));

    const QString copied = findingToText(report.inputFindings.first());
    QVERIFY2(copied.contains(QStringLiteral("\\x1b[2J\\x0d\\x0aFAKE")) && !copied.contains(QChar(0x1b)), qPrintable(copied));
}

void TestReport::sourceDisplayKeepsPercentInNames()
{
    SourceLocation s{QStringLiteral("/etc/ssl/%1 %2 #%3.pem"), 1, 3, false};
    QCOMPARE(s.display(), QStringLiteral("/etc/ssl/%1 %2 #%3.pem (#2 of 3)"));
}

QTEST_GUILESS_MAIN(TestReport)
#include "tst_report.moc"
