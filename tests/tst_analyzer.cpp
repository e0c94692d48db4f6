// The analysis rules, end to end: each row builds a PKI relative to the pinned clock, writes the
// files an admin would have, inspects them as the CLI does and checks the finding that must (or
// must not) come out. The last test fails when a code in core/ is produced by no row.

#include "Bundler.h"
#include "FindingRegistry.h"
#include "Inspection.h"
#include "Loader.h"
#include "OnlineCheck.h"
#include "TestPki.h"
#include "TestResponder.h"

#include <QDir>
#include <QDirIterator>
#include <QProcess>
#include <QStandardPaths>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

#include <functional>

using namespace staplescope;
using namespace staplescope::test;

namespace {

struct Case {
    TestPki pki;
    TestFolder dir;
    InspectRequest req;
    // For bundles that do not come from files (a live server): builds the report itself.
    std::function<InspectionReport(Case&)> custom;
    // Fragments only known once the PKI exists (serials, file paths, times).
    QStringList expect;

    Case()
    {
        req.useSystemTrust = false;
        req.analysis.at = fixedNow();
    }
    QDateTime& at() { return req.analysis.at; }
    InspectionReport run() { return custom ? custom(*this) : inspect(req); }
};

using Setup = std::function<void(Case&)>;

QString serialOf(const IssuedCert& cert) { return Certificate::fromDer(cert.certDer(), {}).serialHex(); }

// The files of one server: what certbot's live/ folder or an Exim setup holds.
struct Site {
    QByteArray cert, chain, key, staple;
    QString stapleName = QStringLiteral("ocsp.der");
};

Site standardSite(const TestPki& p)
{
    return Site{p.leaf.certPem(), p.intermediate.certPem(), p.keyPem(p.leaf), p.goodStaple()};
}

// Writes `site` into site/ and the root into trust/root.pem (never inspected, only trusted).
void writeSite(Case& c, const Site& s)
{
    const QString folder = c.dir.mkdir(QStringLiteral("site"));
    if (!s.cert.isEmpty())
        c.dir.write(QStringLiteral("site/cert.pem"), s.cert);
    if (!s.chain.isEmpty())
        c.dir.write(QStringLiteral("site/chain.pem"), s.chain);
    if (!s.key.isEmpty())
        c.dir.write(QStringLiteral("site/privkey.pem"), s.key);
    if (!s.staple.isEmpty())
        c.dir.write(QStringLiteral("site/") + s.stapleName, s.staple);
    c.req.files.paths = {folder};
    c.req.caFiles = {c.dir.write(QStringLiteral("trust/root.pem"), c.pki.root.certPem())};
}

// A site whose leaf is `leaf` (issued by the standard intermediate), with a good staple for it.
void writeLeafSite(Case& c, const IssuedCert& leaf, bool withStaple = true)
{
    Site s = standardSite(c.pki);
    s.cert = leaf.certPem();
    s.key = c.pki.keyPem(leaf);
    s.staple = withStaple ? c.pki.staple(c.pki.goodStapleSpec(), &leaf) : QByteArray();
    writeSite(c, s);
}

// A leaf under kMaxChainLength + 3 generated CAs, all in its fullchain: deeper than any real PKI.
void writeDeepHierarchySite(Case& c)
{
    QList<IssuedCert> cas{c.pki.root};
    for (int depth = 0; depth < kMaxChainLength + 3; ++depth) {
        CertSpec spec;
        spec.commonName = QStringLiteral("Level %1 CA").arg(depth);
        spec.isCa = true;
        spec.notBefore = daysFrom(fixedNow(), -100);
        spec.notAfter = daysFrom(fixedNow(), 1000);
        cas << c.pki.issue(spec, &cas.last());
    }
    const IssuedCert leaf = c.pki.issueLeaf({}, &cas.last());
    QByteArray chain;
    for (qsizetype i = cas.size() - 1; i >= 1; --i)
        chain += cas[i].certPem();
    writeSite(c, Site{leaf.certPem() + chain, {}, c.pki.keyPem(leaf), {}});
}

// The standard leaf with its notBefore or notAfter made month 13: still decodable ASN.1, not a
// time. Same length, so the DER stays well formed; its signature breaks, which these rows ignore.
QByteArray leafWithUnreadableTime(const TestPki& p, bool notAfter)
{
    const QDateTime field = notAfter ? p.leafSpec().notAfter : p.leafSpec().notBefore;
    const QByteArray time = field.toUTC().toString(QStringLiteral("yyMMddHHmmss")).toLatin1() + 'Z';
    QByteArray der = p.leaf.certDer();
    const qsizetype at = der.indexOf(QByteArray("\x17\x0d", 2) + time);
    if (at < 0)
        return {};
    der.replace(at + 4, 2, "13");
    return PkiFactory::toPem(der, "CERTIFICATE");
}

// The standard leaf with its version field ([0] EXPLICIT INTEGER 2, "v3") set to `version`.
QByteArray leafWithVersion(const TestPki& p, char version)
{
    QByteArray der = p.leaf.certDer();
    const qsizetype at = der.indexOf(QByteArray::fromHex("a003020102"));
    if (at < 0)
        return {};
    der[at + 4] = version;
    return PkiFactory::toPem(der, "CERTIFICATE");
}

// The standard site with a staple signed by the delegated responder, which the staple does not embed.
void writeStapleWithoutItsSigner(Case& c)
{
    OcspSpec spec = c.pki.goodStapleSpec();
    spec.includeSignerCert = false;
    Site s = standardSite(c.pki);
    s.staple = c.pki.staple(spec, nullptr, nullptr, &c.pki.responder);
    writeSite(c, s);
}

// A CA certificate valid from a year ago for five years, tweaked, issued by `issuer`.
IssuedCert issueCa(const Case& c, const QString& name, const IssuedCert* issuer, const std::function<void(CertSpec&)>& tweak = {})
{
    return c.pki.issueCa(name, issuer, -365, 4 * 365, tweak);
}

// root → `intermediate` (as given) → leaf, with the leaf's fullchain.pem; only the root is trusted.
void writeChainThrough(Case& c, const IssuedCert& intermediate, const std::function<void(CertSpec&)>& leafTweak = {})
{
    const IssuedCert leaf = c.pki.issueLeaf(leafTweak, &intermediate);
    writeSite(c, Site{leaf.certPem() + intermediate.certPem(), {}, c.pki.keyPem(leaf), {}});
}

// Let's Encrypt in October 2021: the served chain is leaf → R3 → "ISRG Root X1" cross-signed by
// "DST Root CA X3", and both the cross-sign and DST Root CA X3 have expired. Clients trusting the
// self-signed ISRG Root X1 (OpenSSL 1.1.1+, browsers) build leaf → R3 → ISRG Root X1 and succeed.
void writeExpiredCrossSignedChain(Case& c)
{
    const IssuedCert oldRoot = issueCa(c, "Old Test Root X3", nullptr, [](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -20 * 365);
        s.notAfter = daysFrom(fixedNow(), -30);
    });
    const IssuedCert newRoot = issueCa(c, "New Test Root X1", nullptr, [](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -5 * 365);
        s.notAfter = daysFrom(fixedNow(), 15 * 365);
    });
    const IssuedCert crossSigned = issueCa(c, "New Test Root X1", &oldRoot, [&](CertSpec& s) {
        s.reuseKey = newRoot.key;
        s.notBefore = daysFrom(fixedNow(), -4 * 365);
        s.notAfter = daysFrom(fixedNow(), -30);
    });
    const IssuedCert r3 = issueCa(c, "Test R3", &newRoot);
    const IssuedCert leaf = c.pki.issueLeaf({}, &r3);
    writeSite(c, Site{TestPki::pem({&leaf, &r3, &crossSigned}), {}, c.pki.keyPem(leaf), {}});
    c.req.caFiles = {c.dir.write(QStringLiteral("trust/roots.pem"), TestPki::pem({&newRoot, &oldRoot}))};
}

// The standard site, with only the intermediate trusted (a private CA's issuing CA as the anchor).
void writeSiteTrustingTheIntermediate(Case& c)
{
    writeSite(c, standardSite(c.pki));
    c.req.caFiles = {c.dir.write(QStringLiteral("trust/intermediate.pem"), c.pki.intermediate.certPem())};
}

// The standard chain plus a copy of the trusted root cross-signed by another CA (still valid).
void writeSiteSendingACrossSignedRoot(Case& c)
{
    const IssuedCert other = c.pki.otherCa();
    CertSpec cross;
    cross.commonName = QStringLiteral("Staplescope Test Root");
    cross.isCa = true;
    cross.reuseKey = c.pki.root.key;
    cross.notBefore = daysFrom(fixedNow(), -100);
    cross.notAfter = daysFrom(fixedNow(), 1000);
    const IssuedCert crossSigned = c.pki.issue(cross, &other);
    Site s = standardSite(c.pki);
    s.cert = TestPki::pem({&c.pki.leaf, &c.pki.intermediate, &crossSigned});
    writeSite(c, s);
}

// Findings that mean a client rejects the chain (whatever their severity: a superseded bundle's
// are lowered to info, but its chain is still what it is).
const QSet<QString>& chainVerdictCodes()
{
    static const QSet<QString> codes{"CERT_EXPIRED",           "CERT_NOT_YET_VALID",     "CERT_REVOKED",      "CERT_WRONG_PURPOSE",
                                     "CERT_CRITICAL_EXTENSION", "CHAIN_INCOMPLETE",       "CHAIN_UNTRUSTED",   "CHAIN_BAD_SIGNATURE",
                                     "CHAIN_ISSUER_NOT_CA",     "CHAIN_PATH_LENGTH",      "CHAIN_NAME_CONSTRAINTS", "CHAIN_REJECTED",
                                     "CHAIN_TOO_LONG"};
    return codes;
}

// What `openssl verify` says about `b`, run as a TLS client verifies: its anchors, the bundle's
// certificates as untrusted, the evaluation time, purpose sslserver, partial chains, security
// level 2. Nullopt when it cannot be run or the bundle is not comparable (CRLs: `openssl verify`
// can only demand them for every level, which clients do not).
std::optional<bool> opensslVerifyAccepts(const Bundle& b, const QStringList& caFiles, const QDateTime& at, const QString& workDir)
{
    const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
    if (openssl.isEmpty() || !b.crls.isEmpty() || b.leaf.isNull())
        return std::nullopt;
    const auto writeAll = [&](const QString& name, const QList<Certificate>& certs) {
        QFile file(QDir(workDir).filePath(name));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return QString();
        for (const Certificate& c : certs)
            file.write(PkiFactory::toPem(c.der(), "CERTIFICATE"));
        return file.fileName();
    };
    QList<Certificate> anchors;
    for (const QString& path : caFiles)
        anchors += Loader().loadPaths({path}).certificates;
    QStringList arguments{QStringLiteral("verify"), QStringLiteral("-no-CApath"), QStringLiteral("-no-CAfile"),
                          QStringLiteral("-no-CAstore"), QStringLiteral("-purpose"), QStringLiteral("sslserver"),
                          QStringLiteral("-partial_chain"), QStringLiteral("-auth_level"), QStringLiteral("2"),
                          QStringLiteral("-verify_depth"), QString::number(kMaxChainLength),
                          QStringLiteral("-attime"), QString::number(at.toSecsSinceEpoch())};
    if (!anchors.isEmpty())
        arguments << QStringLiteral("-CAfile") << writeAll(QStringLiteral("verify-anchors.pem"), anchors);
    const QList<Certificate> untrusted = b.chain + b.chainAsGiven;
    if (!untrusted.isEmpty())
        arguments << QStringLiteral("-untrusted") << writeAll(QStringLiteral("verify-untrusted.pem"), untrusted);
    arguments << writeAll(QStringLiteral("verify-leaf.pem"), {b.leaf});
    QProcess process;
    process.start(openssl, arguments);
    if (!process.waitForFinished(30000) || process.exitStatus() != QProcess::NormalExit)
        return std::nullopt;
    return process.exitCode() == 0;
}

// Codes seen by the rows so far; the coverage test checks it against the sources.
QSet<QString>& producedCodes()
{
    static QSet<QString> codes;
    return codes;
}

QString describe(const InspectionReport& report)
{
    QStringList lines;
    for (const Finding& f : report.allFindings())
        lines << QStringLiteral("%1 %2: %3").arg(severityName(f.severity), f.code, f.message);
    return lines.join(QLatin1Char('\n'));
}

void dumpExample(const Finding& f, const QString& tempDir)
{
    // Online rows ask the loopback responder on a free port; the docs show it as a CA's host.
    static const QRegularExpression loopbackUrl(QStringLiteral("http://127\\.0\\.0\\.1:\\d+"));
    static const QRegularExpression loopbackHost(QStringLiteral("127\\.0\\.0\\.1:\\d+"));
    Finding shown = f;
    for (QString* text : {&shown.subject, &shown.message, &shown.fix}) {
        text->replace(loopbackUrl, QStringLiteral("http://ca.example.test"));
        text->replace(loopbackHost, QStringLiteral("ca.example.test:80"));
    }
    test::dumpExample(shown, tempDir, QStringLiteral("/srv/tls"), QString::fromLatin1(QTest::currentDataTag()));
}

// `inspect --online` against a loopback responder (tests/support/TestResponder): `prepare` sets the
// responder up and issues the leaf (its URLs point at the responder); the site holds that leaf,
// its key, the chain unless `withChain` is false, and a good staple when the leaf names a responder.
using OnlinePrepare = std::function<IssuedCert(Case&, TestResponder&)>;
Setup onlineSite(const OnlinePrepare& prepare, bool withChain = true, bool withStaple = true)
{
    return [=](Case& c) {
        c.custom = [=](Case& c) {
            TestResponder responder(c.pki);
            if (!responder.start())
                return InspectionReport{};
            const IssuedCert leaf = prepare(c, responder);
            Site s = standardSite(c.pki);
            s.cert = leaf.certPem();
            s.key = c.pki.keyPem(leaf);
            const bool hasResponder = !Certificate::fromDer(leaf.certDer(), {}).ocspUrls().isEmpty();
            s.staple = hasResponder && withStaple ? c.pki.staple(c.pki.goodStapleSpec(), &leaf) : QByteArray();
            if (!withChain)
                s.chain.clear();
            writeSite(c, s);
            OnlineOptions options;
            options.fetch.connectTimeoutMs = 2000;
            options.fetch.totalTimeoutMs = 5000;
            options.fetch.proxyFromEnvironment = false;
            OnlineLookup lookup(options);
            return inspectOnline(*InspectionSession::load(c.req), c.req.analysis, lookup);
        };
    };
}

IssuedCert leafWithoutResponder(TestResponder& r)
{
    return r.issueLeaf([](CertSpec& s) { s.ocspUrls.clear(); });
}

// The row's severity column: a Severity, or absent.
constexpr int kAbsent = -1;

} // namespace

Q_DECLARE_METATYPE(Setup)

class TestAnalyzer : public QObject {
    Q_OBJECT

private slots:
    void findings_data();
    void findings();
    void healthy_data();
    void healthy();
    void renewalIncidentNamesBothCertificates();
    void supersededBundleIsOnlyInfo();
    void stapleSeverityFollowsMustStaple();
    void expiredCrossSignIsNotOnTheBundlesPath();
    void everyCodeInTheSourcesIsProduced();
};

void TestAnalyzer::findings_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<QString>("code");
    QTest::addColumn<int>("severity"); // kAbsent: the code must not appear
    QTest::addColumn<QStringList>("contains");

    const auto row = [](const char* name, Setup setup, const char* code, int severity, QStringList contains = {}) {
        QTest::newRow(name) << setup << QString::fromLatin1(code) << severity << contains;
    };
    constexpr int info = int(Severity::Info), warning = int(Severity::Warning), error = int(Severity::Error),
                  critical = int(Severity::Critical);

    // ---- Inputs ------------------------------------------------------------------------------
    row("missing file is unreadable", [](Case& c) { c.req.files.paths = {c.dir.path(QStringLiteral("nope.pem"))}; },
        "INPUT_UNREADABLE", error, {"No such file"});
    row("empty file", [](Case& c) { c.req.files.paths = {c.dir.write(QStringLiteral("cert.pem"), {})}; },
        "INPUT_EMPTY", warning, {"empty (0 bytes)"});
    row("whitespace-only file", [](Case& c) { c.req.files.paths = {c.dir.write(QStringLiteral("ocsp.der"), " \n\r\n\t")}; },
        "INPUT_EMPTY", warning, {"only whitespace"});
    row("HTML error page saved as the staple", [](Case& c) {
        c.req.files.paths = {c.dir.write(QStringLiteral("ocsp.der"),
                                   "<!DOCTYPE html>\n<html><body><h1>503 Service Unavailable</h1></body></html>\n")};
    }, "INPUT_UNRECOGNIZED", warning, {"HTML page"});
    row("truncated DER certificate", [](Case& c) {
        c.req.files.paths = {c.dir.write(QStringLiteral("cert.der"), c.pki.leaf.certDer().chopped(40))};
    }, "INPUT_MALFORMED", error, {"Truncated DER"});
    row("certificate version v6", [](Case& c) {
        Site s = standardSite(c.pki);
        s.cert = leafWithVersion(c.pki, 5);
        writeSite(c, s);
    }, "INPUT_MALFORMED", error, {"version field is 5 (\"v6\")", "only v1, v2 and v3"});
    row("PKCS#12 without a password", [](Case& c) {
        c.req.files.paths = {c.dir.write(QStringLiteral("site.p12"),
                                   PkiFactory::pkcs12(c.pki.leaf, {&c.pki.intermediate}, "s3cret"))};
    }, "INPUT_PASSWORD_REQUIRED", error, {"no password was given"});
    row("staple beside no certificate", [](Case& c) {
        const IssuedCert a = c.pki.issueLeaf([](CertSpec& s) { s.commonName = "a.example.test"; s.dnsNames = {"a.example.test"}; });
        const IssuedCert b = c.pki.issueLeaf([](CertSpec& s) { s.commonName = "b.example.test"; s.dnsNames = {"b.example.test"}; });
        c.dir.write(QStringLiteral("a/cert.pem"), a.certPem());
        c.dir.write(QStringLiteral("b/cert.pem"), b.certPem());
        c.dir.write(QStringLiteral("stray/ocsp.der"), c.pki.goodStaple()); // about the standard leaf, not loaded
        c.req.files.paths = {c.dir.path()};
        c.expect << serialOf(c.pki.leaf);
    }, "STAPLE_UNMATCHED", warning, {"not among the inputs"});

    // ---- Certificate times -------------------------------------------------------------------
    row("leaf expired 2 days 3 hours ago", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([&](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -92);
            s.notAfter = hoursFrom(fixedNow(), -51);
        }), false);
    }, "CERT_EXPIRED", critical, {"expired 2 days 3 hours ago"});
    row("leaf one second after notAfter", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.at() = daysFrom(fixedNow(), 80).addSecs(1);
    }, "CERT_EXPIRED", critical, {"expired 1 second ago"});
    row("leaf at notAfter exactly is still valid", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.at() = daysFrom(fixedNow(), 80);
    }, "CERT_EXPIRED", kAbsent);
    row("leaf last second before expiry", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.at() = daysFrom(fixedNow(), 80).addSecs(-1);
    }, "CERT_EXPIRING_SOON", warning, {"expires in 1 second"});
    row("intermediate expired", [](Case& c) {
        CertSpec spec;
        spec.commonName = "Expired Intermediate";
        spec.isCa = true;
        spec.notBefore = daysFrom(fixedNow(), -800);
        spec.notAfter = daysFrom(fixedNow(), -3);
        const IssuedCert inter = c.pki.issue(spec, &c.pki.root);
        const IssuedCert leaf = c.pki.issueLeaf({}, &inter);
        writeSite(c, Site{leaf.certPem(), inter.certPem(), {}, {}});
    }, "CERT_EXPIRED", error, {"intermediate certificate expired 3 days ago"});
    // A notBefore/notAfter that is not a time: INPUT_MALFORMED names the field; no date is claimed.
    for (const bool notAfter : {false, true}) {
        const auto site = [notAfter](Case& c) {
            Site s = standardSite(c.pki);
            s.cert = leafWithUnreadableTime(c.pki, notAfter);
            writeSite(c, s);
        };
        const char* const name = notAfter ? "leaf notAfter month 13" : "leaf notBefore month 13";
        QTest::newRow(name) << Setup(site) << QStringLiteral("INPUT_MALFORMED") << error
                            << QStringList{notAfter ? QStringLiteral("notAfter is not a valid time") : QStringLiteral("notBefore is not a valid time")};
        for (const char* code : {"CERT_EXPIRED", "CERT_NOT_YET_VALID", "CERT_EXPIRING_SOON"})
            QTest::newRow(qPrintable(QStringLiteral("%1: no %2").arg(QLatin1String(name), QLatin1String(code))))
                << Setup(site) << QString::fromLatin1(code) << kAbsent << QStringList{};
    }
    row("leaf not yet valid", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.notBefore = hoursFrom(fixedNow(), 5); }), false);
    }, "CERT_NOT_YET_VALID", error, {"becomes valid only in 5 hours"});
    row("leaf one second before notBefore", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.at() = daysFrom(fixedNow(), -10).addSecs(-1);
    }, "CERT_NOT_YET_VALID", error, {"in 1 second"});
    row("leaf at notBefore exactly is valid", [](Case& c) {
        writeLeafSite(c, c.pki.leaf, false);
        c.at() = daysFrom(fixedNow(), -10);
    }, "CERT_NOT_YET_VALID", kAbsent);
    row("90-day leaf with 10 days left", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -80);
            s.notAfter = daysFrom(fixedNow(), 10);
        }));
    }, "CERT_EXPIRING_SOON", warning, {"expires in 10 days", "warning window of 30 days"});
    row("90-day leaf at the start of the 30-day window", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.at() = daysFrom(fixedNow(), 50);
    }, "CERT_EXPIRING_SOON", warning, {"expires in 30 days"});
    row("90-day leaf one second before the window", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.at() = daysFrom(fixedNow(), 50).addSecs(-1);
    }, "CERT_EXPIRING_SOON", kAbsent);
    row("6-day leaf warns for its last third (2 days)", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -4);
            s.notAfter = daysFrom(fixedNow(), 2);
        }));
    }, "CERT_EXPIRING_SOON", warning, {"warning window of 2 days (a third of its 6 days lifetime"});
    row("6-day leaf with 2 days and 1 second left", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -4).addSecs(1);
            s.notAfter = daysFrom(fixedNow(), 2).addSecs(1);
        }));
    }, "CERT_EXPIRING_SOON", kAbsent);
    row("configured 7-day threshold, 5 days left", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.req.analysis.expiryWarningSeconds = 7 * 86400;
        c.at() = daysFrom(fixedNow(), 75);
    }, "CERT_EXPIRING_SOON", warning, {"warning window of 7 days (as configured)"});
    row("configured 7-day threshold, 10 days left", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.req.analysis.expiryWarningSeconds = 7 * 86400;
        c.at() = daysFrom(fixedNow(), 70);
    }, "CERT_EXPIRING_SOON", kAbsent);
    // --crit-days: the same finding steps to critical within the critical threshold.
    row("critical threshold of 7 days, at its start", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.req.analysis.expiryCriticalSeconds = 7 * 86400;
        c.at() = daysFrom(fixedNow(), 73);
    }, "CERT_EXPIRING_SOON", critical, {"expires in 7 days", "within the critical threshold of 7 days (as configured)"});
    row("critical threshold of 7 days, one second before it", [](Case& c) {
        writeLeafSite(c, c.pki.leaf);
        c.req.analysis.expiryCriticalSeconds = 7 * 86400;
        c.at() = daysFrom(fixedNow(), 73).addSecs(-1);
    }, "CERT_EXPIRING_SOON", warning, {"warning window of 30 days"});
    row("critical threshold beyond the default warning window", [](Case& c) {
        writeLeafSite(c, c.pki.leaf); // 80 days left, default window 30 days
        c.req.analysis.expiryCriticalSeconds = 85 * 86400;
    }, "CERT_EXPIRING_SOON", critical, {"critical threshold of 85 days (as configured)"});
    row("intermediate expiring in 20 days", [](Case& c) {
        CertSpec spec;
        spec.commonName = "Retiring Intermediate";
        spec.isCa = true;
        spec.notBefore = daysFrom(fixedNow(), -5 * 365);
        spec.notAfter = daysFrom(fixedNow(), 20);
        const IssuedCert inter = c.pki.issue(spec, &c.pki.root);
        const IssuedCert leaf = c.pki.issueLeaf({}, &inter);
        writeSite(c, Site{leaf.certPem(), inter.certPem(), c.pki.keyPem(leaf), c.pki.staple(c.pki.goodStapleSpec(), &leaf, &inter)});
    }, "CERT_EXPIRING_SOON", warning, {"intermediate certificate expires in 20 days"});
    row("older certificate for the same names is superseded", [](Case& c) {
        const IssuedCert old = c.pki.issueLeaf([](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -70);
            s.notAfter = daysFrom(fixedNow(), 20);
        });
        writeLeafSite(c, c.pki.leaf);
        c.dir.write(QStringLiteral("site/cert-previous.pem"), old.certPem());
        c.expect << QStringLiteral("cert.pem") << formatTime(daysFrom(fixedNow(), -10));
    }, "CERT_SUPERSEDED", info, {"newer certificate for the same names"});

    // ---- Keys and revocation -----------------------------------------------------------------
    row("key of another certificate beside the only certificate", [](Case& c) {
        const IssuedCert other = c.pki.issueLeaf({});
        Site s = standardSite(c.pki);
        s.key = c.pki.keyPem(other);
        writeSite(c, s);
    }, "KEY_MISMATCH", critical, {"does not belong to www.example.test"});
    row("encrypted key without a passphrase", [](Case& c) {
        Site s = standardSite(c.pki);
        s.key = PkiFactory::privateKeyPem(c.pki.leaf.key.get(), PkiFactory::KeyFormat::EncryptedPkcs8, "pass");
        writeSite(c, s);
    }, "KEY_ENCRYPTED", info, {"encrypted"});
    row("CRL beside the certificate lists it", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.dir.write(QStringLiteral("site/int.crl"),
                    c.pki.factory().crlDer(c.pki.intermediate, daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6),
                                           {&c.pki.leaf}));
        c.expect << formatTime(daysFrom(fixedNow(), -1));
    }, "CERT_REVOKED", critical, {"revoked since", "1 day ago"});

    // ---- Chain -------------------------------------------------------------------------------
    row("fullchain.pem with the intermediate first", [](Case& c) {
        writeSite(c, Site{c.pki.intermediate.certPem() + c.pki.leaf.certPem(), {}, c.pki.keyPem(c.pki.leaf), c.pki.goodStaple()});
    }, "CHAIN_ORDER", error, {"is #2"});
    row("two intermediates in the wrong order", [](Case& c) {
        CertSpec upper;
        upper.commonName = "Upper Intermediate";
        upper.isCa = true;
        upper.notBefore = daysFrom(fixedNow(), -400);
        upper.notAfter = daysFrom(fixedNow(), 1000);
        const IssuedCert u = c.pki.issue(upper, &c.pki.root);
        CertSpec lower = upper;
        lower.commonName = "Lower Intermediate";
        const IssuedCert l = c.pki.issue(lower, &u);
        const IssuedCert leaf = c.pki.issueLeaf({}, &l);
        writeSite(c, Site{leaf.certPem() + u.certPem() + l.certPem(), {}, c.pki.keyPem(leaf), {}});
    }, "CHAIN_ORDER", warning, {"sent as Upper Intermediate → Lower Intermediate", "path is Lower Intermediate → Upper Intermediate"});
    row("leaf without its intermediate", [](Case& c) {
        Site s = standardSite(c.pki);
        s.chain.clear();
        writeSite(c, s);
    }, "CHAIN_INCOMPLETE", error, {"Staplescope Test Intermediate", kCaIssuerUrl.toLatin1().constData()});
    row("generated hierarchy deeper than any real chain", writeDeepHierarchySite, "CHAIN_TOO_LONG", error, {"more than 12 certificates", "Level 3 CA"});
    row("deep hierarchy is not blamed on a missing issuer", writeDeepHierarchySite, "CHAIN_INCOMPLETE", kAbsent);
    row("chain holds a same-name intermediate with another key", [](Case& c) {
        CertSpec twin;
        twin.commonName = "Staplescope Test Intermediate";
        twin.isCa = true;
        twin.subjectKeyId = false; // nothing to tell it apart by key id: only the signature can
        twin.notBefore = daysFrom(fixedNow(), -100);
        twin.notAfter = daysFrom(fixedNow(), 1000);
        Site s = standardSite(c.pki);
        s.chain = c.pki.issue(twin, &c.pki.root).certPem();
        writeSite(c, s);
    }, "CHAIN_BAD_SIGNATURE", error, {"does not verify"});
    row("chain sends an unrelated CA", [](Case& c) {
        const IssuedCert other = c.pki.otherCa();
        Site s = standardSite(c.pki);
        s.cert = c.pki.leaf.certPem() + c.pki.intermediate.certPem() + other.certPem();
        writeSite(c, s);
    }, "CHAIN_EXTRA_CERT", warning, {"Other Test CA", "not on this certificate's path"});
    row("chain sends the intermediate twice", [](Case& c) {
        Site s = standardSite(c.pki);
        s.cert = c.pki.leaf.certPem() + c.pki.intermediate.certPem() + c.pki.intermediate.certPem();
        writeSite(c, s);
    }, "CHAIN_EXTRA_CERT", warning, {"more than once"});
    row("chain sends the trusted root", [](Case& c) {
        Site s = standardSite(c.pki);
        s.cert = TestPki::pem({&c.pki.leaf, &c.pki.intermediate, &c.pki.root});
        writeSite(c, s);
    }, "CHAIN_EXTRA_CERT", info, {"sends the root"});
    row("chain ends at a root nobody trusts", [](Case& c) {
        Site s = standardSite(c.pki);
        s.cert = TestPki::pem({&c.pki.leaf, &c.pki.intermediate, &c.pki.root});
        writeSite(c, s);
        c.req.caFiles.clear();
    }, "CHAIN_UNTRUSTED", error, {"Staplescope Test Root", "no system store"});
    row("self-signed leaf", [](Case& c) {
        CertSpec spec = c.pki.leafSpec();
        spec.ocspUrls.clear();
        const IssuedCert self = c.pki.issue(spec, nullptr);
        writeSite(c, Site{self.certPem(), {}, c.pki.keyPem(self), {}});
    }, "CHAIN_UNTRUSTED", error, {"self-signed"});

    // ---- Chain verdicts a strict client gives (OpenSSL's verifier) ---------------------------
    row("expired cross-signed root sent beside a valid path", writeExpiredCrossSignedChain,
        "CHAIN_EXTRA_CERT", warning, {"cross-signed by \"CN=Old Test Root X3", "OpenSSL 1.0.2", "only adds bytes"});
    row("expired cross-signed root is not an expired chain", writeExpiredCrossSignedChain, "CERT_EXPIRED", kAbsent);
    row("expired cross-signed root is not an incomplete chain", writeExpiredCrossSignedChain, "CHAIN_INCOMPLETE", kAbsent);
    row("intermediate trusted as the anchor is a complete chain", writeSiteTrustingTheIntermediate, "CHAIN_INCOMPLETE", kAbsent);
    row("intermediate trusted as the anchor is trusted", writeSiteTrustingTheIntermediate, "CHAIN_UNTRUSTED", kAbsent);
    row("cross-signed copy of the trusted root sent", writeSiteSendingACrossSignedRoot, "CHAIN_INCOMPLETE", kAbsent);
    row("cross-signed copy of the trusted root is not unrelated", writeSiteSendingACrossSignedRoot, "CHAIN_EXTRA_CERT", kAbsent);
    row("intermediate with CA:FALSE", [](Case& c) {
        writeChainThrough(c, issueCa(c, "Not A CA", &c.pki.root, [](CertSpec& s) { s.isCa = false; s.keyCertSign = true; s.serverAuth = false; }));
    }, "CHAIN_ISSUER_NOT_CA", error, {"Not A CA", "basicConstraints CA:FALSE"});
    row("intermediate without keyCertSign", [](Case& c) {
        writeChainThrough(c, issueCa(c, "No CertSign CA", &c.pki.root, [](CertSpec& s) { s.keyCertSign = false; }));
    }, "CHAIN_ISSUER_NOT_CA", error, {"No CertSign CA", "does not include keyCertSign"});
    row("intermediate without keyCertSign is not a missing issuer", [](Case& c) {
        writeChainThrough(c, issueCa(c, "No CertSign CA", &c.pki.root, [](CertSpec& s) { s.keyCertSign = false; }));
    }, "CHAIN_INCOMPLETE", kAbsent);
    row("intermediate without basicConstraints", [](Case& c) {
        writeChainThrough(c, issueCa(c, "No Constraints CA", &c.pki.root, [](CertSpec& s) { s.basicConstraints = false; }));
    }, "CHAIN_ISSUER_NOT_CA", error, {"No Constraints CA", "no basicConstraints", "Clients reject"});
    row("path longer than the root's pathLenConstraint", [](Case& c) {
        const IssuedCert upper = issueCa(c, "Upper CA", &c.pki.root, [](CertSpec& s) { s.pathLength = 0; });
        const IssuedCert lower = issueCa(c, "Lower CA", &upper);
        const IssuedCert leaf = c.pki.issueLeaf({}, &lower);
        writeSite(c, Site{TestPki::pem({&leaf, &lower, &upper}), {}, c.pki.keyPem(leaf), {}});
    }, "CHAIN_PATH_LENGTH", error, {"Upper CA", "at most 0 intermediate CA certificates", "the path has 1"});
    row("name outside the intermediate's name constraints", [](Case& c) {
        writeChainThrough(c, issueCa(c, "Constrained CA", &c.pki.root, [](CertSpec& s) { s.permittedDnsNames = {"internal.test"}; }));
    }, "CHAIN_NAME_CONSTRAINTS", error, {"www.example.test", "Constrained CA", "permitted subtree violation"});
    row("name inside the intermediate's name constraints", [](Case& c) {
        writeChainThrough(c, issueCa(c, "Constrained CA", &c.pki.root, [](CertSpec& s) { s.permittedDnsNames = {"example.test"}; }));
    }, "CHAIN_NAME_CONSTRAINTS", kAbsent);
    row("client-only certificate served", [](Case& c) {
        const IssuedCert leaf = c.pki.issueLeaf([](CertSpec& s) { s.serverAuth = false; s.clientAuth = true; });
        writeLeafSite(c, leaf, false);
    }, "CERT_WRONG_PURPOSE", error, {"clientAuth but not serverAuth"});
    row("server certificate whose key usage forbids TLS", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.digitalSignature = false; }), false);
    }, "CERT_WRONG_PURPOSE", error, {"key usage allows neither digitalSignature"});
    row("unknown critical extension", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.criticalExtensionOid = "1.3.6.1.4.1.55555.7"; }), false);
    }, "CERT_CRITICAL_EXTENSION", error, {"1.3.6.1.4.1.55555.7"});
    row("trust anchor expired", [](Case& c) {
        const IssuedCert oldRoot = issueCa(c, "Expired Test Root", nullptr, [](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -20 * 365);
            s.notAfter = daysFrom(fixedNow(), -2);
        });
        writeChainThrough(c, issueCa(c, "Test Issuing CA", &oldRoot));
        c.req.caFiles = {c.dir.write(QStringLiteral("trust/old-root.pem"), oldRoot.certPem())};
    }, "CERT_EXPIRED", error, {"trusted root certificate expired 2 days ago", "current root"});
    row("CRL from the root revokes the intermediate", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.dir.write(QStringLiteral("site/root.crl"),
                    c.pki.factory().crlDer(c.pki.root, daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6), {&c.pki.intermediate}));
    }, "CERT_REVOKED", critical, {"root.crl", "intermediate certificate Staplescope Test Intermediate"});
    row("expired CRL from the issuer", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.dir.write(QStringLiteral("site/int.crl"),
                    c.pki.factory().crlDer(c.pki.intermediate, daysFrom(fixedNow(), -10), daysFrom(fixedNow(), -3)));
    }, "CHAIN_CRL_UNUSABLE", warning, {"int.crl", "CRL has expired"});
    row("1024-bit RSA server key", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.keyType = KeyType::Rsa1024; }), false);
    }, "CHAIN_REJECTED", error, {"EE certificate key too weak", "security level 2", "RSA 1024"});

    // ---- Staple matching ---------------------------------------------------------------------
    row("staple for another serial of the same CA", [](Case& c) {
        const IssuedCert other = c.pki.issueLeaf([](CertSpec& s) { s.commonName = "other.example.test"; s.dnsNames = {"other.example.test"}; });
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), &other);
        writeSite(c, s);
        c.expect << serialOf(other) << serialOf(c.pki.leaf);
    }, "STAPLE_FOR_OTHER_CERT", critical, {"same CA"});
    row("negative serial, staple for the positive one", [](Case& c) {
        // Serials are signed INTEGERs: the same magnitude bytes with another sign are another certificate.
        const IssuedCert positive = c.pki.issueLeaf([](CertSpec& s) {
            s.commonName = "other.example.test";
            s.dnsNames = {"other.example.test"};
            s.serial = QByteArray::fromHex("1111");
        });
        const IssuedCert negative = c.pki.issueLeaf([](CertSpec& s) {
            s.serial = QByteArray::fromHex("1111");
            s.negativeSerial = true;
        });
        Site s = standardSite(c.pki);
        s.cert = negative.certPem();
        s.key = c.pki.keyPem(negative);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), &positive);
        writeSite(c, s);
    }, "STAPLE_FOR_OTHER_CERT", critical, {"staple is for serial 11:11", "certificate is serial -11:11"});
    row("negative serial with its own staple", [](Case& c) {
        const IssuedCert negative = c.pki.issueLeaf([](CertSpec& s) {
            s.serial = QByteArray::fromHex("1111");
            s.negativeSerial = true;
        });
        writeLeafSite(c, negative);
    }, "STAPLE_FOR_OTHER_CERT", kAbsent);
    row("SHA-256 staple of the previous certificate", [](Case& c) {
        const IssuedCert previous = c.pki.issueLeaf([](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -60);
            s.notAfter = daysFrom(fixedNow(), 30);
        });
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.certIdHash = EVP_sha256();
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec, &previous);
        writeSite(c, s);
        c.expect << serialOf(previous) << serialOf(c.pki.leaf) << c.dir.write(QStringLiteral("site/cert-previous.pem"), previous.certPem());
    }, "STAPLE_FOR_OTHER_CERT", critical, {"the previous certificate", "before the renewal"});
    row("CertID hash algorithm OpenSSL does not know is named by OID", [](Case& c) {
        // No API makes a CertID with an unknown algorithm, so swap the SHA-1 OID (1.3.14.3.2.26)
        // for 1.2.3.4.5.6, which has the same DER length. The signature no longer verifies, which
        // does not matter here: the CertID cannot be matched, and must say with what.
        Site s = standardSite(c.pki);
        const QByteArray sha1Oid = QByteArray::fromHex("06052b0e03021a");
        s.staple = c.pki.goodStaple();
        QCOMPARE(s.staple.count(sha1Oid), 1);
        s.staple.replace(sha1Oid, QByteArray::fromHex("06052a03040506"));
        writeSite(c, s);
    }, "STAPLE_ISSUER_MISMATCH", critical, {"hashes the issuer with 1.2.3.4.5.6", "the serial is this certificate's"});
    row("staple from another CA", [](Case& c) {
        const IssuedCert other = c.pki.otherCa();
        const IssuedCert foreign = c.pki.issueLeaf({}, &other);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), &foreign, &other);
        writeSite(c, s);
    }, "STAPLE_ISSUER_MISMATCH", critical, {"names a different issuer"});
    row("staple from a re-keyed CA with the same name", [](Case& c) {
        CertSpec twin;
        twin.commonName = "Staplescope Test Intermediate";
        twin.isCa = true;
        twin.notBefore = daysFrom(fixedNow(), -100);
        twin.notAfter = daysFrom(fixedNow(), 1000);
        const IssuedCert rekeyed = c.pki.issue(twin, &c.pki.root);
        const IssuedCert sibling = c.pki.issueLeaf({}, &rekeyed);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), &sibling, &rekeyed);
        writeSite(c, s);
    }, "STAPLE_ISSUER_MISMATCH", critical, {"same name but a different key"});
    row("staple about the intermediate", [](Case& c) {
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), &c.pki.intermediate, &c.pki.root);
        writeSite(c, s);
    }, "STAPLE_FOR_INTERMEDIATE", critical, {"about the intermediate Staplescope Test Intermediate"});
    row("two staple files for one certificate", [](Case& c) {
        Site s = standardSite(c.pki);
        writeSite(c, s);
        OcspSpec older = c.pki.goodStapleSpec();
        older.thisUpdate = daysFrom(fixedNow(), -3);
        c.dir.write(QStringLiteral("site/ocsp-old.der"), c.pki.staple(older));
    }, "STAPLE_MULTIPLE_RESPONSES", warning, {"2 staples belong to this certificate", "ocsp-old.der"});
    row("one staple with two single responses", [](Case& c) {
        const IssuedCert other = c.pki.issueLeaf([](CertSpec& s) { s.commonName = "other.example.test"; s.dnsNames = {"other.example.test"}; });
        Site s = standardSite(c.pki);
        s.staple = c.pki.factory().ocspResponse(c.pki.leaf, c.pki.intermediate, c.pki.intermediate, c.pki.goodStapleSpec(),
                                                {{&other, &c.pki.intermediate}});
        writeSite(c, s);
    }, "STAPLE_MULTIPLE_RESPONSES", info, {"holds 2 single responses"});

    // ---- Staple validity ---------------------------------------------------------------------
    row("tryLater saved as the staple", [](Case& c) {
        OcspSpec spec;
        spec.responseStatus = OCSP_RESPONSE_STATUS_TRYLATER;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_RESPONSE_UNSUCCESSFUL", error, {"\"tryLater\""});
    row("unauthorized saved as the staple", [](Case& c) {
        OcspSpec spec;
        spec.responseStatus = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_RESPONSE_UNSUCCESSFUL", error, {"\"unauthorized\""});
    // RFC 6960 defines statuses 0–3, 5 and 6: 4 (unused) and 7 are not an OCSP answer at all.
    for (const int status : {4, 7}) {
        row(status == 4 ? "response status 4 (unused) is malformed" : "response status 7 is malformed", [status](Case& c) {
            OcspSpec spec;
            spec.responseStatus = status;
            Site s = standardSite(c.pki);
            s.staple = c.pki.staple(spec);
            writeSite(c, s);
        }, "INPUT_MALFORMED", error, {QStringLiteral("response status is %1").arg(status), "RFC 6960"});
        row(status == 4 ? "response status 4 is no error response" : "response status 7 is no error response", [status](Case& c) {
            OcspSpec spec;
            spec.responseStatus = status;
            Site s = standardSite(c.pki);
            s.staple = c.pki.staple(spec);
            writeSite(c, s);
        }, "STAPLE_RESPONSE_UNSUCCESSFUL", kAbsent);
    }
    row("staple with a corrupted signature", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.corruptSignature = true;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_SIGNATURE_INVALID", critical, {"does not verify"});
    row("delegated signer without OCSPSigning", [](Case& c) {
        CertSpec spec;
        spec.commonName = "Not A Responder";
        spec.serverAuth = false;
        spec.notBefore = daysFrom(fixedNow(), -30);
        spec.notAfter = daysFrom(fixedNow(), 60);
        const IssuedCert signer = c.pki.issue(spec, &c.pki.intermediate);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), nullptr, nullptr, &signer);
        writeSite(c, s);
    }, "STAPLE_RESPONDER_UNAUTHORIZED", critical, {"without the id-kp-OCSPSigning"});
    row("responder certified by another CA", [](Case& c) {
        const IssuedCert other = c.pki.otherCa();
        CertSpec spec;
        spec.commonName = "Foreign Responder";
        spec.serverAuth = false;
        spec.ocspSigning = true;
        spec.notBefore = daysFrom(fixedNow(), -30);
        spec.notAfter = daysFrom(fixedNow(), 60);
        const IssuedCert signer = c.pki.issue(spec, &other);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), nullptr, nullptr, &signer);
        writeSite(c, s);
    }, "STAPLE_RESPONDER_UNAUTHORIZED", critical, {"not issued by the certificate's CA", "root CA not trusted"});
    row("delegated responder expired", [](Case& c) {
        CertSpec spec;
        spec.commonName = "Old Responder";
        spec.serverAuth = false;
        spec.ocspSigning = true;
        spec.notBefore = daysFrom(fixedNow(), -60);
        spec.notAfter = daysFrom(fixedNow(), -1);
        const IssuedCert signer = c.pki.issue(spec, &c.pki.intermediate);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), nullptr, nullptr, &signer);
        writeSite(c, s);
    }, "STAPLE_RESPONDER_EXPIRED", error, {"expired 1 day ago"});
    row("staple but no issuer to check it with", [](Case& c) {
        Site s = standardSite(c.pki);
        s.chain.clear();
        writeSite(c, s);
    }, "STAPLE_UNVERIFIABLE", warning, {"not among the inputs"});
    row("delegated staple without its signer certificate", writeStapleWithoutItsSigner, "STAPLE_SIGNER_NOT_FOUND", error, {"byKey:", "signer certificate not found"});
    row("delegated staple without its signer certificate is not merely unverifiable", writeStapleWithoutItsSigner, "STAPLE_UNVERIFIABLE", kAbsent);
    row("responder by name that nobody has", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.includeSignerCert = false;
        spec.responderId = OcspResponderIdKind::ByName;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec, nullptr, nullptr, &c.pki.responder);
        writeSite(c, s);
    }, "STAPLE_SIGNER_NOT_FOUND", error, {"byName: CN=Staplescope Test OCSP Responder", "has that name"});
    row("responder by name whose certificate holds another key", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.includeSignerCert = false;
        spec.responderId = OcspResponderIdKind::ByName;
        CertSpec rekeyed;
        rekeyed.commonName = QStringLiteral("Staplescope Test OCSP Responder");
        rekeyed.serverAuth = false;
        rekeyed.ocspSigning = true;
        rekeyed.ocspNoCheck = true;
        rekeyed.notBefore = daysFrom(fixedNow(), -30);
        rekeyed.notAfter = daysFrom(fixedNow(), 60);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec, nullptr, nullptr, &c.pki.responder);
        writeSite(c, s);
        c.dir.write(QStringLiteral("site/responder.pem"), c.pki.issue(rekeyed, &c.pki.intermediate).certPem());
    }, "STAPLE_SIGNATURE_INVALID", critical, {"names its signer by subject", "does not hold the key that signed it"});
    row("responder with the CA's name as issuer but another CA's signature", [](Case& c) {
        // A twin of the intermediate: the same subject name, another key.
        CertSpec twinSpec;
        twinSpec.commonName = QStringLiteral("Staplescope Test Intermediate");
        twinSpec.isCa = true;
        twinSpec.notBefore = daysFrom(fixedNow(), -100);
        twinSpec.notAfter = daysFrom(fixedNow(), 1000);
        const IssuedCert twin = c.pki.issue(twinSpec, &c.pki.root);
        CertSpec spec;
        spec.commonName = "Twin Responder";
        spec.serverAuth = false;
        spec.ocspSigning = true;
        spec.authorityKeyId = false; // only the name and the signature can tell
        spec.notBefore = daysFrom(fixedNow(), -30);
        spec.notAfter = daysFrom(fixedNow(), 60);
        const IssuedCert signer = c.pki.issue(spec, &twin);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), nullptr, nullptr, &signer);
        writeSite(c, s);
    }, "STAPLE_RESPONDER_UNAUTHORIZED", critical, {"not validly signed by that CA", "does not verify with the CA's key"});
    row("staple expired an hour ago", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.thisUpdate = daysFrom(fixedNow(), -7);
        spec.nextUpdate = hoursFrom(fixedNow(), -1);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_EXPIRED", error, {"expired 1 hour ago"});
    row("staple one second after nextUpdate", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.at() = daysFrom(fixedNow(), 6).addSecs(1);
    }, "STAPLE_EXPIRED", error, {"expired 1 second ago"});
    row("staple at nextUpdate exactly is not expired", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.at() = daysFrom(fixedNow(), 6);
    }, "STAPLE_EXPIRED", kAbsent);
    row("staple from the future", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.thisUpdate = hoursFrom(fixedNow(), 2);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_NOT_YET_VALID", error, {"in 2 hours"});
    // OpenSSL's OCSP_check_validity tolerates a thisUpdate up to 5 minutes ahead (clock skew).
    const auto skewed = [](qint64 aheadSecs) {
        return [aheadSecs](Case& c) {
            OcspSpec spec = c.pki.goodStapleSpec();
            spec.thisUpdate = fixedNow().addSecs(aheadSecs);
            Site s = standardSite(c.pki);
            s.staple = c.pki.staple(spec);
            writeSite(c, s);
        };
    };
    row("staple 4:59 ahead is clock skew, not an error", skewed(299), "STAPLE_NOT_YET_VALID", kAbsent);
    row("staple 4:59 ahead is noted", skewed(299), "STAPLE_CLOCK_SKEW", info, {"in 4 minutes 59 seconds", "5 minutes"});
    row("staple 5:00 ahead is still clock skew", skewed(300), "STAPLE_NOT_YET_VALID", kAbsent);
    row("staple 5:01 ahead is from the future", skewed(301), "STAPLE_NOT_YET_VALID", error, {"in 5 minutes 1 second"});
    row("staple 5:01 ahead is not mere skew", skewed(301), "STAPLE_CLOCK_SKEW", kAbsent);
    row("staple with thisUpdate exactly now", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.thisUpdate = fixedNow();
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_NOT_YET_VALID", kAbsent);
    row("staple without nextUpdate", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.nextUpdate.reset();
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_NO_NEXT_UPDATE", warning, {"no nextUpdate"});
    row("staple past its halfway point", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.thisUpdate = daysFrom(fixedNow(), -4);
        spec.nextUpdate = daysFrom(fixedNow(), 3);
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }, "STAPLE_REFRESH_DUE", warning, {"refresh point 12 hours ago", "expires in 3 days"});
    row("staple exactly at its refresh point", [](Case& c) {
        writeSite(c, standardSite(c.pki)); // −1 day … +6 days: halfway is +2.5 days
        c.at() = hoursFrom(fixedNow(), 60);
    }, "STAPLE_REFRESH_DUE", warning, {"expires in 3 days 12 hours"});
    row("staple one second before its refresh point", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.at() = hoursFrom(fixedNow(), 60).addSecs(-1);
    }, "STAPLE_REFRESH_DUE", kAbsent);
    // --staple-warn-hours warns before the refresh point when it reaches further; --staple-crit-hours
    // makes the finding critical.
    row("staple within a configured warning threshold before its refresh point", [](Case& c) {
        writeSite(c, standardSite(c.pki)); // nextUpdate +6 days; refresh point +2.5 days
        c.req.analysis.stapleWarningSeconds = 100 * 3600;
        c.at() = hoursFrom(fixedNow(), 44);
    }, "STAPLE_REFRESH_DUE", warning, {"warning threshold of 4 days 4 hours before its nextUpdate (as configured)"});
    row("staple one second before a configured warning threshold", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.req.analysis.stapleWarningSeconds = 100 * 3600;
        c.at() = hoursFrom(fixedNow(), 44).addSecs(-1);
    }, "STAPLE_REFRESH_DUE", kAbsent);
    row("staple within a configured critical threshold", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.req.analysis.stapleCriticalSeconds = 24 * 3600;
        c.at() = hoursFrom(fixedNow(), 120);
    }, "STAPLE_REFRESH_DUE", critical, {"critical threshold of 1 day before its nextUpdate (as configured)", "expires in 1 day"});
    row("staple one second before a configured critical threshold", [](Case& c) {
        writeSite(c, standardSite(c.pki));
        c.req.analysis.stapleCriticalSeconds = 24 * 3600;
        c.at() = hoursFrom(fixedNow(), 120).addSecs(-1);
    }, "STAPLE_REFRESH_DUE", warning, {"refresh point"});
    row("staple valid after the certificate expires", [](Case& c) {
        const IssuedCert shortLived = c.pki.issueLeaf([](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -4);
            s.notAfter = daysFrom(fixedNow(), 2);
        });
        writeLeafSite(c, shortLived);
        c.expect << formatTime(daysFrom(fixedNow(), 6)) << formatTime(daysFrom(fixedNow(), 2));
    }, "STAPLE_OUTLIVES_CERT", info, {"after the certificate itself expires"});
    row("staple stored as PEM", [](Case& c) {
        Site s = standardSite(c.pki);
        s.staple = PkiFactory::toPem(s.staple, "OCSP RESPONSE");
        s.stapleName = QStringLiteral("ocsp.pem");
        writeSite(c, s);
    }, "STAPLE_TEXT_ENCODED", warning, {"as PEM text"});
    row("staple stored as bare base64", [](Case& c) {
        Site s = standardSite(c.pki);
        s.staple = s.staple.toBase64() + '\n';
        s.stapleName = QStringLiteral("ocsp.b64");
        writeSite(c, s);
    }, "STAPLE_TEXT_ENCODED", warning, {"as base64 text"});

    // ---- Status ------------------------------------------------------------------------------
    row("staple says revoked (keyCompromise)", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.certStatus = V_OCSP_CERTSTATUS_REVOKED;
        spec.revocationTime = daysFrom(fixedNow(), -3);
        spec.revocationReason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
        c.expect << formatTime(daysFrom(fixedNow(), -3));
    }, "STAPLE_REVOKED", critical, {"3 days ago", "reason: keyCompromise"});
    row("staple says unknown", [](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.certStatus = V_OCSP_CERTSTATUS_UNKNOWN;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
        c.expect << serialOf(c.pki.leaf);
    }, "STAPLE_STATUS_UNKNOWN", error, {"\"unknown\""});

    // ---- Presence ----------------------------------------------------------------------------
    row("OCSP URL but no staple", [](Case& c) {
        Site s = standardSite(c.pki);
        s.staple.clear();
        writeSite(c, s);
    }, "STAPLE_MISSING", warning, {kOcspUrl.toLatin1().constData()});
    row("must-staple without a staple", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.mustStaple = true; }), false);
    }, "MUST_STAPLE_MISSING", critical, {"status_request"});
    row("must-staple with only an expired staple", [](Case& c) {
        const IssuedCert leaf = c.pki.issueLeaf([](CertSpec& s) { s.mustStaple = true; });
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.thisUpdate = daysFrom(fixedNow(), -8);
        spec.nextUpdate = daysFrom(fixedNow(), -1);
        writeSite(c, Site{leaf.certPem(), c.pki.intermediate.certPem(), c.pki.keyPem(leaf), c.pki.staple(spec, &leaf)});
    }, "MUST_STAPLE_MISSING", critical, {"none of its staples"});
    row("must-staple without an OCSP URL", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) {
            s.mustStaple = true;
            s.ocspUrls.clear();
        }), false);
    }, "MUST_STAPLE_NO_OCSP_URL", error, {"names no OCSP responder"});
    row("CRL-only certificate (Let's Encrypt style)", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.ocspUrls.clear(); }), false);
    }, "OCSP_URL_MISSING", info, {kCrlUrl.toLatin1().constData(), "Let's Encrypt"});
    row("certificate with neither OCSP nor CRL URL", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) {
            s.ocspUrls.clear();
            s.crlUrls.clear();
        }), false);
    }, "OCSP_URL_MISSING", info, {"lists no CRL URL either"});
    row("staple for a certificate without OCSP URL", [](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.ocspUrls.clear(); }), true);
    }, "STAPLE_BUT_NO_OCSP_URL", warning, {"names no OCSP responder", kCrlUrl.toLatin1().constData()});

    // ---- Online checks (inspect --online, against the loopback responder) ----------------------
    row("online: responder says good", onlineSite([](Case&, TestResponder& r) { return r.issueLeaf(); }),
        "REVOCATION_CHECKED", info, {"says good", "thisUpdate 2026-06-15 11:00:00 UTC, nextUpdate 2026-06-22 12:00:00 UTC"});
    row("online: responder says good, nothing failed", onlineSite([](Case&, TestResponder& r) { return r.issueLeaf(); }),
        "OCSP_FETCH_FAILED", kAbsent);
    row("online: responder says revoked", onlineSite([](Case&, TestResponder& r) {
        const IssuedCert leaf = r.issueLeaf();
        r.setScenario(leaf, ResponderScenario::Revoked);
        return leaf;
    }), "CERT_REVOKED", critical, {"says this certificate was revoked at 2026-06-14 12:00:00 UTC (1 day ago), reason: keyCompromise"});
    row("online: responder sends an error page", onlineSite([](Case&, TestResponder& r) {
        r.setPathScenario(QStringLiteral("/ocsp"), ResponderScenario::HtmlErrorPage);
        return r.issueLeaf();
    }, true, false), "OCSP_FETCH_FAILED", error, {"Asking the OCSP responder", "answered HTTP 503 Service Unavailable"});
    row("online: responder down, the staple on disk still good", onlineSite([](Case&, TestResponder& r) {
        r.setPathScenario(QStringLiteral("/ocsp"), ResponderScenario::Http500);
        return r.issueLeaf();
    }), "OCSP_FETCH_FAILED", warning, {"answered HTTP 500 Internal Server Error"});
    row("online: responder answers tryLater", onlineSite([](Case&, TestResponder& r) {
        const IssuedCert leaf = r.issueLeaf();
        r.setScenario(leaf, ResponderScenario::TryLater);
        return leaf;
    }, true, false), "OCSP_FETCH_FAILED", error, {"answered \"tryLater\""});
    row("online: responder signs with a stranger's key", onlineSite([](Case&, TestResponder& r) {
        const IssuedCert leaf = r.issueLeaf();
        r.setScenario(leaf, ResponderScenario::WrongSigner);
        return leaf;
    }, true, false), "OCSP_FETCH_FAILED", error, {"neither the issuer nor a responder the issuer authorised"});
    row("online: issuer fetched from its CA Issuers URL", onlineSite([](Case&, TestResponder& r) { return r.issueLeaf(); }, false),
        "ISSUER_FETCHED", info, {"fetched from http://", "/issuer.der", "verifies the certificate's signature"});
    row("online: CA Issuers URL serves another CA", onlineSite([](Case& c, TestResponder& r) {
        const QString url = r.serveCertificate(QStringLiteral("/other.der"), c.pki.otherCa());
        return r.issueLeaf([&](CertSpec& s) { s.caIssuerUrls = {url}; });
    }, false), "ISSUER_FETCH_FAILED", warning, {"serves CN=Other Test CA", "which did not sign this certificate"});
    row("online: CRL does not list the certificate", onlineSite([](Case&, TestResponder& r) { return leafWithoutResponder(r); }),
        "REVOCATION_CHECKED", info, {"does not list this certificate", "thisUpdate 2026-06-14 12:00:00 UTC, nextUpdate 2026-06-21 12:00:00 UTC"});
    row("online: CRL lists the certificate", onlineSite([](Case&, TestResponder& r) {
        const IssuedCert leaf = leafWithoutResponder(r);
        r.setScenario(leaf, ResponderScenario::Revoked);
        return leaf;
    }), "CERT_REVOKED", critical, {"/int.crl lists this certificate as revoked since 2026-06-14 12:00:00 UTC"});
    row("online: CRL server fails", onlineSite([](Case&, TestResponder& r) {
        r.setPathScenario(QStringLiteral("/int.crl"), ResponderScenario::Http500);
        return leafWithoutResponder(r);
    }), "CRL_FETCH_FAILED", warning, {"could not be fetched", "answered HTTP 500 Internal Server Error"});
    row("online: CRL signed with another key", onlineSite([](Case& c, TestResponder& r) {
        const IssuedCert rekeyed = c.pki.rekeyedIntermediate();
        const QString url = r.serveCrl(QStringLiteral("/int.crl"), daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6), {}, &rekeyed);
        return r.issueLeaf([&](CertSpec& s) { s.ocspUrls.clear(); s.crlUrls = {url}; });
    }), "CRL_INVALID", error, {"signature does not verify with that issuer's key"});
    row("online: CRL past its nextUpdate", onlineSite([](Case&, TestResponder& r) {
        const QString url = r.serveCrl(QStringLiteral("/int.crl"), daysFrom(fixedNow(), -9), daysFrom(fixedNow(), -2));
        return r.issueLeaf([&](CertSpec& s) { s.ocspUrls.clear(); s.crlUrls = {url}; });
    }), "CRL_EXPIRED", warning, {"passed its nextUpdate 2 days ago"});

    // ---- Served bundles (what a live handshake gives) -----------------------------------------
    const auto served = [](const QString& hostName, bool withStaple) {
        return [=](Case& c) {
            c.custom = [=](Case& c) {
                const Loader loader;
                RoleInputs roles;
                roles.cert = loader.loadData(TestPki::pem({&c.pki.leaf, &c.pki.intermediate}), QStringLiteral("server"));
                if (withStaple)
                    roles.staple = loader.loadData(c.pki.goodStaple(), QStringLiteral("server staple"));
                roles.origin = QStringLiteral("www.example.test:443 [192.0.2.1]");
                roles.served = true;
                auto trust = std::make_shared<TrustStore>(false);
                trust->addCertificate(Certificate::fromDer(c.pki.root.certDer(), {}));
                QList<Bundle> bundles = Bundler(trust.get()).bundleExplicit(roles);
                for (Bundle& b : bundles)
                    b.expectedHostName = hostName;
                return InspectionSession::fromBundles(bundles, {}, trust)->evaluate(c.req.analysis);
            };
        };
    };
    row("server sends no staple", served(QStringLiteral("www.example.test"), false), "STAPLE_NOT_SERVED", warning, {"sent no OCSP staple"});
    row("server certificate for another name", served(QStringLiteral("mail.example.test"), true), "HOSTNAME_MISMATCH", error,
        {"does not cover \"mail.example.test\"", "www.example.test, example.test"});
    row("server certificate covers the name", served(QStringLiteral("example.test"), true), "HOSTNAME_MISMATCH", kAbsent);
}

void TestAnalyzer::findings()
{
    QFETCH(Setup, setup);
    QFETCH(QString, code);
    QFETCH(int, severity);
    QFETCH(QStringList, contains);

    Case c;
    QVERIFY(c.dir.isValid());
    setup(c);
    const InspectionReport report = c.run();
    const QList<Finding> all = report.allFindings();

    // Every finding is a registry entry with a severity on its ladder (a superseded certificate's
    // findings are lowered to info after they are made).
    for (const Finding& f : all) {
        const FindingInfo* info = findingInfo(f);
        QVERIFY2(info, qPrintable(f.code));
        QVERIFY2(info->ladder.contains(f.severity) ||
                     (f.severity == Severity::Info && f.message.startsWith(QLatin1String("(Superseded certificate.)"))),
                 qPrintable(QStringLiteral("%1 %2 is not on its ladder").arg(f.code, severityName(f.severity))));
    }

    // Whatever the row is about, the chain verdict must be the one `openssl verify` gives on the
    // same files (the issue-9 target: never less right than the verifier clients run).
    if (!c.custom && !c.req.useSystemTrust) {
        for (const BundleReport& br : report.bundles) {
            // RFC 5280 counts notAfter itself as valid, OpenSSL 3.0 (X509_cmp_time) as expired: the
            // one second on which we follow the RFC (docs/findings.md, CERT_EXPIRED).
            bool notComparable = br.bundle.leaf.notAfter() == c.at();
            bool weReject = false;
            for (const Finding& f : br.findings) {
                notComparable |= f.code == QLatin1String("INPUT_MALFORMED");
                weReject |= chainVerdictCodes().contains(f.code);
            }
            const std::optional<bool> opensslAccepts =
                notComparable ? std::nullopt : opensslVerifyAccepts(br.bundle, c.req.caFiles, c.at(), c.dir.path());
            if (opensslAccepts)
                QVERIFY2(*opensslAccepts != weReject,
                         qPrintable(QStringLiteral("openssl verify %1 %2, we %3:\n%4")
                                        .arg(*opensslAccepts ? QStringLiteral("accepts") : QStringLiteral("rejects"),
                                             br.bundle.leaf.displayName(), weReject ? QStringLiteral("reject") : QStringLiteral("accept"),
                                             describe(report))));
        }
    }

    QList<Finding> matching;
    for (const Finding& f : all)
        if (f.code == code)
            matching << f;
    if (severity == kAbsent) {
        QVERIFY2(matching.isEmpty(), qPrintable(QStringLiteral("unexpected %1 in:\n%2").arg(code, describe(report))));
        return;
    }
    QVERIFY2(!matching.isEmpty(), qPrintable(QStringLiteral("no %1 in:\n%2").arg(code, describe(report))));
    // Among the findings with this code, one has the row's severity and every expected fragment.
    const QStringList fragments = contains + c.expect;
    bool found = false;
    for (const Finding& f : std::as_const(matching)) {
        if (int(f.severity) != severity)
            continue;
        const QString text = f.message + QLatin1Char(' ') + f.fix + QLatin1Char(' ') + f.subject;
        bool all = true;
        for (const QString& fragment : fragments)
            all &= text.contains(fragment);
        if (all) {
            QVERIFY2(!f.title.isEmpty(), qPrintable(f.code));
            QVERIFY(!f.subject.isEmpty());
            found = true;
            dumpExample(f, c.dir.path());
        }
    }
    QVERIFY2(found, qPrintable(QStringLiteral("no %1 with severity %2 containing [%3] in:\n%4")
                                   .arg(code, severityName(Severity(severity)), fragments.join(QStringLiteral("] [")), describe(report))));
    producedCodes().insert(code);
}

void TestAnalyzer::healthy_data()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<int>("staples"); // how many staples the bundle must hold
    QTest::addColumn<QStringList>("allowedInfo");

    QTest::newRow("CA-signed staple, SHA-1 CertID") << Setup([](Case& c) { writeSite(c, standardSite(c.pki)); }) << 1 << QStringList();
    QTest::newRow("CA-signed staple, SHA-256 CertID") << Setup([](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.certIdHash = EVP_sha256();
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec);
        writeSite(c, s);
    }) << 1 << QStringList();
    QTest::newRow("delegated responder, SHA-1 CertID") << Setup([](Case& c) {
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(c.pki.goodStapleSpec(), nullptr, nullptr, &c.pki.responder);
        writeSite(c, s);
    }) << 1 << QStringList();
    QTest::newRow("delegated responder, SHA-256 CertID, by name") << Setup([](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.certIdHash = EVP_sha256();
        spec.responderId = OcspResponderIdKind::ByName;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec, nullptr, nullptr, &c.pki.responder);
        writeSite(c, s);
    }) << 1 << QStringList();
    QTest::newRow("delegated responder given beside, not embedded") << Setup([](Case& c) {
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.includeSignerCert = false;
        Site s = standardSite(c.pki);
        s.staple = c.pki.staple(spec, nullptr, nullptr, &c.pki.responder);
        writeSite(c, s);
        c.dir.write(QStringLiteral("site/responder.pem"), c.pki.responder.certPem());
    }) << 1 << QStringList();
    QTest::newRow("fullchain.pem and HAProxy-style .ocsp") << Setup([](Case& c) {
        Site s = standardSite(c.pki);
        s.cert = TestPki::pem({&c.pki.leaf, &c.pki.intermediate});
        s.stapleName = QStringLiteral("cert.pem.ocsp");
        writeSite(c, s);
    }) << 1 << QStringList();
    QTest::newRow("must-staple with a good staple") << Setup([](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.mustStaple = true; }));
    }) << 1 << QStringList();
    QTest::newRow("Let's Encrypt style: no OCSP URL, CRL URL") << Setup([](Case& c) {
        writeLeafSite(c, c.pki.issueLeaf([](CertSpec& s) { s.ocspUrls.clear(); }), false);
    }) << 0 << QStringList{QStringLiteral("OCSP_URL_MISSING")};
    QTest::newRow("Ed25519 CA, leaf and staple") << Setup([](Case& c) {
        CertSpec spec;
        spec.commonName = "Edwards Intermediate";
        spec.isCa = true;
        spec.keyType = KeyType::Ed25519;
        spec.notBefore = daysFrom(fixedNow(), -100);
        spec.notAfter = daysFrom(fixedNow(), 1000);
        const IssuedCert inter = c.pki.issue(spec, &c.pki.root);
        const IssuedCert leaf = c.pki.issueLeaf([](CertSpec& s) { s.keyType = KeyType::Ed25519; }, &inter);
        OcspSpec staple = c.pki.goodStapleSpec();
        staple.certIdHash = EVP_sha256();
        writeSite(c, Site{leaf.certPem(), inter.certPem(), c.pki.keyPem(leaf), c.pki.staple(staple, &leaf, &inter)});
    }) << 1 << QStringList();
    QTest::newRow("RSA intermediate signs the staple") << Setup([](Case& c) {
        CertSpec spec;
        spec.commonName = "RSA Intermediate";
        spec.isCa = true;
        spec.keyType = KeyType::Rsa2048;
        spec.notBefore = daysFrom(fixedNow(), -100);
        spec.notAfter = daysFrom(fixedNow(), 1000);
        const IssuedCert inter = c.pki.issue(spec, &c.pki.root);
        const IssuedCert leaf = c.pki.issueLeaf({}, &inter);
        writeSite(c, Site{leaf.certPem(), inter.certPem(), c.pki.keyPem(leaf), c.pki.staple(c.pki.goodStapleSpec(), &leaf, &inter)});
    }) << 1 << QStringList();
    QTest::newRow("staple whose second single response is ours") << Setup([](Case& c) {
        const IssuedCert other = c.pki.issueLeaf([](CertSpec& s) { s.commonName = "other.example.test"; s.dnsNames = {"other.example.test"}; });
        Site s = standardSite(c.pki);
        s.staple = c.pki.factory().ocspResponse(other, c.pki.intermediate, c.pki.intermediate, c.pki.goodStapleSpec(),
                                                {{&c.pki.leaf, &c.pki.intermediate}});
        writeSite(c, s);
    }) << 1 << QStringList{QStringLiteral("STAPLE_MULTIPLE_RESPONSES")};
    QTest::newRow("renewed with the same key, previous certificate kept") << Setup([](Case& c) {
        const IssuedCert old = c.pki.issueLeaf([&](CertSpec& s) {
            s.notBefore = daysFrom(fixedNow(), -70);
            s.notAfter = daysFrom(fixedNow(), 20);
            s.reuseKey = c.pki.leaf.key;
        });
        writeSite(c, standardSite(c.pki));
        // Sorted after cert.pem, so it is bundled last.
        c.dir.write(QStringLiteral("site/zz-previous.pem"), old.certPem());
    }) << 1 << QStringList{QStringLiteral("CERT_SUPERSEDED"), QStringLiteral("STAPLE_MISSING"), QStringLiteral("CERT_EXPIRING_SOON")};
}

void TestAnalyzer::healthy()
{
    QFETCH(Setup, setup);
    QFETCH(int, staples);
    QFETCH(QStringList, allowedInfo);

    Case c;
    setup(c);
    const InspectionReport report = c.run();
    QVERIFY2(report.worst() == Severity::Info, qPrintable(describe(report)));
    QCOMPARE(report.exitCode(), 0);
    for (const Finding& f : report.allFindings())
        QVERIFY2(allowedInfo.contains(f.code), qPrintable(QStringLiteral("unexpected finding:\n%1").arg(describe(report))));
    QVERIFY(!report.bundles.isEmpty());
    const BundleReport& current = report.bundles.first();
    QVERIFY(!current.bundle.isSuperseded());
    QCOMPARE(current.bundle.staples.size(), staples);
    QCOMPARE(current.bundle.keyStatus, KeyStatus::Matches);
    QCOMPARE(current.verdict, QStringLiteral("Healthy"));
}

// The incident this project exists for: renewed two days ago, the old staple still configured.
void TestAnalyzer::renewalIncidentNamesBothCertificates()
{
    Case c;
    const IssuedCert previous = c.pki.issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -62);
        s.notAfter = daysFrom(fixedNow(), 28);
    });
    const QDateTime renewedAt = hoursFrom(fixedNow(), -51);
    const IssuedCert current = c.pki.issueLeaf([&](CertSpec& s) {
        s.notBefore = renewedAt;
        s.notAfter = daysFrom(renewedAt, 90);
    });
    writeSite(c, Site{current.certPem(), c.pki.intermediate.certPem(), c.pki.keyPem(current),
                      c.pki.staple(c.pki.goodStapleSpec(), &previous)});
    const QString previousFile = c.dir.write(QStringLiteral("site/archive/cert1.pem"), previous.certPem());

    const InspectionReport report = c.run();
    QCOMPARE(report.exitCode(), 2);
    QList<Finding> other;
    for (const Finding& f : report.allFindings())
        if (f.code == QLatin1String("STAPLE_FOR_OTHER_CERT"))
            other << f;
    QCOMPARE(other.size(), 1); // one finding, not one per bundle
    const Finding& f = other.first();
    QCOMPARE(f.severity, Severity::Critical);
    QCOMPARE(f.title, QStringLiteral("Staple belongs to the previous certificate"));
    QVERIFY2(f.message.contains(QStringLiteral("serial %1 (the previous certificate, %2").arg(serialOf(previous), previousFile)), qPrintable(f.message));
    QVERIFY2(f.message.contains(QStringLiteral("the certificate is serial %1, issued %2 (2 days 3 hours ago)")
                                    .arg(serialOf(current), formatTime(renewedAt))), qPrintable(f.message));
    QVERIFY2(f.fix.contains(serialOf(current)) && f.fix.contains(QStringLiteral("ocsp.der")), qPrintable(f.fix));
    // The staple is diagnosed against the current certificate's bundle, which is listed first.
    QCOMPARE(report.bundles.first().bundle.leaf.serialHex(), serialOf(current));
    QVERIFY(f.objectIds.contains(report.bundles.first().bundle.leaf.id()));
    dumpExample(f, c.dir.path());
    producedCodes().insert(f.code);
}

void TestAnalyzer::supersededBundleIsOnlyInfo()
{
    Case c;
    const IssuedCert old = c.pki.issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -100);
        s.notAfter = daysFrom(fixedNow(), -10); // expired: critical if it were current
    });
    writeSite(c, standardSite(c.pki));
    c.dir.write(QStringLiteral("site/old.pem"), old.certPem());
    const InspectionReport report = c.run();
    QCOMPARE(report.bundles.size(), 2);
    const BundleReport& superseded = report.bundles.last();
    QVERIFY(superseded.bundle.isSuperseded());
    QCOMPARE(superseded.worst, Severity::Info);
    QStringList codes;
    for (const Finding& f : superseded.findings)
        codes << f.code;
    QVERIFY2(codes.contains(QStringLiteral("CERT_EXPIRED")) && codes.contains(QStringLiteral("CERT_SUPERSEDED")), qPrintable(codes.join(' ')));
    QCOMPARE(report.exitCode(), 0);
}

void TestAnalyzer::stapleSeverityFollowsMustStaple()
{
    for (bool mustStaple : {false, true}) {
        Case c;
        const IssuedCert leaf = c.pki.issueLeaf([&](CertSpec& s) { s.mustStaple = mustStaple; });
        OcspSpec spec = c.pki.goodStapleSpec();
        spec.thisUpdate = daysFrom(fixedNow(), -8);
        spec.nextUpdate = daysFrom(fixedNow(), -1);
        writeSite(c, Site{leaf.certPem(), c.pki.intermediate.certPem(), c.pki.keyPem(leaf), c.pki.staple(spec, &leaf)});
        const InspectionReport report = c.run();
        bool seen = false;
        for (const Finding& f : report.allFindings())
            if (f.code == QLatin1String("STAPLE_EXPIRED")) {
                QCOMPARE(f.severity, mustStaple ? Severity::Critical : Severity::Error);
                seen = true;
            }
        QVERIFY(seen);
    }
}

// The path shown (details, timeline, reports) is the one clients build: trusted first, so the
// expired cross-signed copy sent in fullchain.pem is not on it and the anchor is the trusted root.
void TestAnalyzer::expiredCrossSignIsNotOnTheBundlesPath()
{
    Case c;
    writeExpiredCrossSignedChain(c);
    const InspectionReport report = c.run();
    QCOMPARE(report.bundles.size(), 1);
    const Bundle& b = report.bundles.first().bundle;
    QCOMPARE(b.chain.size(), 1);
    QCOMPARE(b.chain.first().commonName(), QStringLiteral("Test R3"));
    QCOMPARE(b.anchor.commonName(), QStringLiteral("New Test Root X1"));
    QVERIFY(b.anchor.isSelfSigned());
    QCOMPARE(b.chainAsGiven.size(), 2); // the cross-signed copy is still what the server sends
    QCOMPARE(report.exitCode(), 1);     // the warning about it, nothing worse
}

void TestAnalyzer::everyCodeInTheSourcesIsProduced()
{
    if (producedCodes().isEmpty())
        QSKIP("run the whole test class: the rows fill the set this test checks");
    // The public contract (issue 2): each of these must exist in the engine and be produced.
    const QStringList contract{
        "INPUT_UNREADABLE", "INPUT_EMPTY", "INPUT_UNRECOGNIZED", "INPUT_MALFORMED",
        "CERT_EXPIRED", "CERT_NOT_YET_VALID", "CERT_EXPIRING_SOON", "CERT_SUPERSEDED", "KEY_MISMATCH",
        "CHAIN_ORDER", "CHAIN_INCOMPLETE", "CHAIN_BAD_SIGNATURE", "CHAIN_EXTRA_CERT", "CHAIN_UNTRUSTED",
        "STAPLE_FOR_OTHER_CERT", "STAPLE_ISSUER_MISMATCH", "STAPLE_FOR_INTERMEDIATE", "STAPLE_MULTIPLE_RESPONSES",
        "STAPLE_RESPONSE_UNSUCCESSFUL", "STAPLE_SIGNATURE_INVALID", "STAPLE_RESPONDER_UNAUTHORIZED",
        "STAPLE_RESPONDER_EXPIRED", "STAPLE_UNVERIFIABLE", "STAPLE_EXPIRED", "STAPLE_NOT_YET_VALID",
        "STAPLE_NO_NEXT_UPDATE", "STAPLE_REFRESH_DUE", "STAPLE_OUTLIVES_CERT", "STAPLE_TEXT_ENCODED",
        "STAPLE_REVOKED", "STAPLE_STATUS_UNKNOWN", "STAPLE_MISSING", "MUST_STAPLE_MISSING",
        "MUST_STAPLE_NO_OCSP_URL", "OCSP_URL_MISSING", "STAPLE_BUT_NO_OCSP_URL"};

    QSet<QString> inSources;
    static const QRegularExpression codePattern(
        QStringLiteral("\"((?:INPUT|CERT|KEY|CHAIN|STAPLE|MUST|OCSP|HOSTNAME|ISSUER|CRL|REVOCATION)_[A-Z0-9_]+)\""));
    QDirIterator it(QStringLiteral(STAPLESCOPE_SOURCE_DIR "/core"), {QStringLiteral("*.cpp")}, QDir::Files, QDirIterator::Subdirectories);
    int files = 0;
    while (it.hasNext()) {
        const QString path = it.next();
        if (path.endsWith(QLatin1String("PkiFactory.cpp")) || path.endsWith(QLatin1String("DemoData.cpp")))
            continue;
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        ++files;
        auto matches = codePattern.globalMatch(QString::fromUtf8(file.readAll()));
        while (matches.hasNext())
            inSources.insert(matches.next().captured(1));
    }
    QVERIFY(files >= 5);
    for (const QString& code : contract)
        QVERIFY2(inSources.contains(code), qPrintable(QStringLiteral("contract code %1 is gone from core/").arg(code)));
    QStringList missing;
    for (const QString& code : std::as_const(inSources))
        if (!producedCodes().contains(code))
            missing << code;
    missing.sort();
    QVERIFY2(missing.isEmpty(), qPrintable(QStringLiteral("codes no test produces: %1").arg(missing.join(QStringLiteral(", ")))));
}

QTEST_GUILESS_MAIN(TestAnalyzer)
#include "tst_analyzer.moc"
