#include "RefreshEngine.h"

#include "Analyzer.h"
#include "FindingRegistry.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>

namespace staplescope {

namespace {

// What the analysis says about one staple for one bundle, at the evaluation time.
struct StapleJudgement {
    bool installable = false;  // a staple a strict client accepts for this certificate now
    OcspCertStatus status = OcspCertStatus::Unknown;
    bool answersForLeaf = false;
    StapleWindow window;
    QDateTime revocationTime;
    QString revocationReason;
    QList<Finding> findings;   // the analysis' findings about this staple, worst first
    QList<Finding> problems;   // those that make it not installable
};

// Findings below Error that still disqualify a staple: one that cannot be verified, or that never
// runs out, is not something to install or to keep.
bool disqualifies(const Finding& finding)
{
    if (finding.severity >= Severity::Error)
        return true;
    const std::optional<FindingCode> code = findingCode(finding);
    return code == FindingCode::StapleUnverifiable || code == FindingCode::StapleNoNextUpdate;
}

// Judges `staple` as the bundle's only staple, with the rules that judge staples on disk.
// `fetchedIssuer` completes the path when the inputs lack the issuer.
StapleJudgement judgeStaple(const Bundle& bundle, const AttachedStaple& staple, const Certificate& fetchedIssuer,
                            const AnalysisOptions& options)
{
    Bundle alone = bundle;
    alone.staples = {staple};
    if (alone.issuer().isNull() && !fetchedIssuer.isNull())
        alone.chain = {fetchedIssuer};
    StapleJudgement out;
    for (const Finding& f : Analyzer().analyze(alone, options)) {
        if (!f.objectIds.contains(staple.staple.id()))
            continue;
        out.findings << f;
        if (disqualifies(f))
            out.problems << f;
    }
    const Certificate issuer = alone.issuer();
    // responses() returns a new list: hold it while its elements are read.
    const QList<OcspSingleResponse> responses = staple.staple.responses();
    for (const OcspSingleResponse& single : responses) {
        if (!single.certId.serialMatches(bundle.leaf))
            continue;
        if (!issuer.isNull() && !single.certId.matches(bundle.leaf, issuer))
            continue;
        out.answersForLeaf = true;
        out.status = single.status;
        out.revocationTime = single.revocationTime;
        out.revocationReason = single.revocationReasonName;
        out.window = {bundle.leaf.serialHex(), ocspStatusName(single.status), single.thisUpdate, single.nextUpdate};
        break;
    }
    if (!out.answersForLeaf && !responses.isEmpty()) {
        const OcspSingleResponse& first = responses.first();
        out.window = {first.certId.serialHex(), ocspStatusName(first.status), first.thisUpdate, first.nextUpdate};
    }
    out.installable = staple.staple.isSuccessful() && out.answersForLeaf && out.status == OcspCertStatus::Good &&
                      out.window.nextUpdate.isValid() && out.problems.isEmpty();
    return out;
}

// The staple a server reads for this bundle today: HAProxy's `<crt>.ocsp` first, then the newest
// good one for this certificate, then the first.
std::optional<AttachedStaple> currentStaple(const Bundle& bundle)
{
    if (bundle.staples.isEmpty())
        return std::nullopt;
    const QString haproxyName = bundle.leaf.source().path + QStringLiteral(".ocsp");
    for (const AttachedStaple& s : bundle.staples)
        if (s.staple.source().path == haproxyName)
            return s;
    return bundle.staples.first();
}

// A file that holds exactly one object (the staple) and is a regular file: one we may replace.
bool replaceableStapleFile(const OcspStaple& staple)
{
    const SourceLocation& src = staple.source();
    if (src.served || src.path.isEmpty() || src.count != 1)
        return false;
    return QFileInfo(src.path).isFile();
}

// A HAProxy crt file: certificate and private key in one PEM.
bool isHaproxyCrtFile(const Bundle& bundle)
{
    return !bundle.key.isNull() && bundle.key.source().path == bundle.leaf.source().path;
}

QString bundleName(const Certificate& leaf)
{
    const QStringList names = leaf.dnsNames();
    return names.isEmpty() ? leaf.commonName() : names.first();
}

QByteArray sha256OfFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&file);
    return hash.result();
}

const Finding* worstOf(const QList<Finding>& problems)
{
    const Finding* worst = nullptr;
    for (const Finding& f : problems)
        if (!worst || f.severity > worst->severity)
            worst = &f;
    return worst;
}

// Why no fresh staple can be had: the worst finding's message (it says what the responder did).
QString firstProblem(const QList<Finding>& problems)
{
    const Finding* worst = worstOf(problems);
    if (!worst)
        return QString();
    return worst->message.isEmpty() ? worst->title : worst->message;
}

// What is wrong with the current staple, in a few words: its findings are in the report.
QString problemTitle(const QList<Finding>& problems)
{
    const Finding* worst = worstOf(problems);
    return worst ? worst->title.toLower() : QStringLiteral("not one a strict client accepts");
}

QString eximHint(const QString& destination)
{
    return QStringLiteral(" For Exim: with tls_ocsp_file = ${if exists{%1}{%1}} a missing file means no staple and "
                          "handshakes succeed; with the plain path every STARTTLS handshake fails while the file is "
                          "missing (docs/refresh.md).")
        .arg(destination);
}

bool looksLikeEximFile(const QString& path)
{
    return path.contains(QLatin1String("exim"), Qt::CaseInsensitive);
}

// Re-made at another severity of the same code's ladder (a fetch failure is only a warning while
// the current staple is still good).
Finding atSeverity(const Finding& f, Severity severity)
{
    const std::optional<FindingCode> code = findingCode(f);
    if (!code || !isOnLadder(*code, severity))
        return f;
    return makeFinding(*code, severity, f.title, f.subject, f.message, f.fix, f.objectIds, f.remedy);
}

} // namespace

namespace {

QString chosenDestination(const Bundle& bundle, const RefreshOptions& options)
{
    if (!options.staplePath.isEmpty())
        return options.staplePath;
    if (const std::optional<AttachedStaple> current = currentStaple(bundle); current && replaceableStapleFile(current->staple))
        return current->staple.source().path;
    if (bundle.served || bundle.leaf.source().served || bundle.leaf.source().path.isEmpty())
        return QString();
    if (isHaproxyCrtFile(bundle))
        return bundle.leaf.source().path + QStringLiteral(".ocsp");
    if (!options.stapleName.isEmpty())
        return QFileInfo(bundle.leaf.source().path).absoluteDir().filePath(options.stapleName);
    return QString();
}

} // namespace

// Absolute: a plan is also executed later, from another working folder (apply through pkexec).
QString stapleDestination(const Bundle& bundle, const RefreshOptions& options)
{
    const QString path = chosenDestination(bundle, options);
    return path.isEmpty() ? path : QFileInfo(path).absoluteFilePath();
}

bool refreshPossible(const Bundle& bundle, const RefreshOptions& options)
{
    if (bundle.served || bundle.isSuperseded())
        return false;
    return !options.online.ocsp.responder.isEmpty() || !bundle.leaf.ocspUrls().isEmpty();
}

RefreshPlan planRefresh(const InspectionSession& session, const RefreshOptions& options, const QDateTime& at,
                        const std::atomic<bool>* cancel, const std::function<void(int done, int total)>& progress)
{
    RefreshPlan plan;
    plan.madeAt = at.toUTC();
    plan.reloadCommand = options.reloadCommand;
    plan.haproxySocket = options.haproxySocket;
    plan.inputFindings = session.inputFindings();

    AnalysisOptions analysis;
    analysis.at = plan.madeAt;
    analysis.trust = &session.trust();

    struct Pending {
        qsizetype planIndex = -1;
        const Bundle* bundle = nullptr;
        std::optional<AttachedStaple> current;
        StapleJudgement currentJudgement;
        Certificate issuer;
        QList<Finding> issuerFindings;
    };
    QList<Pending> pending;

    for (const Bundle& bundle : session.bundles()) {
        // Previous certificates are history; served bundles are not files we could write.
        if (bundle.isSuperseded() || bundle.served)
            continue;
        if (!options.bundleIds.isEmpty() && !options.bundleIds.contains(bundle.id))
            continue;
        BundleRefresh line;
        line.bundleId = bundle.id;
        line.name = bundleName(bundle.leaf);
        line.serial = bundle.leaf.serialHex();
        line.certificatePath = bundle.leaf.source().path;
        line.mustStaple = bundle.leaf.mustStaple();
        line.destination = stapleDestination(bundle, options);
        line.exim = looksLikeEximFile(line.destination);
        if (!line.destination.isEmpty() && QFileInfo::exists(line.destination))
            line.destinationSha256 = sha256OfFile(line.destination);

        Pending p;
        p.bundle = &bundle;
        p.current = currentStaple(bundle);
        if (p.current) {
            p.currentJudgement = judgeStaple(bundle, *p.current, Certificate(), analysis);
            line.current = p.currentJudgement.window;
        }
        const bool currentGood = p.current && p.currentJudgement.installable;

        if (!refreshPossible(bundle, options)) {
            line.outcome = RefreshOutcome::Skipped;
            line.reason = QStringLiteral("the certificate names no OCSP responder: its CA does not run OCSP (Let's Encrypt "
                                         "stopped in 2025), so there is no staple to fetch; clients check its CRL instead");
            if (line.mustStaple) {
                line.severity = Severity::Error;
                line.reason += QStringLiteral(". It demands a staple (must-staple) that can never be had: have it issued without must-staple");
            }
            plan.bundles << line;
            continue;
        }
        if (line.destination.isEmpty()) {
            line.outcome = RefreshOutcome::Skipped;
            line.reason = QStringLiteral("no staple file is known for it: give --staple-path FILE, or --staple-name NAME to write one beside the certificate");
            if (p.current && !replaceableStapleFile(p.current->staple))
                line.reason = QStringLiteral("its staple %1 shares its file with other objects, so it is not replaced in place: "
                                             "give --staple-path FILE")
                                  .arg(p.current->staple.source().display());
            line.severity = line.mustStaple && !currentGood ? Severity::Critical : Severity::Info;
            plan.bundles << line;
            continue;
        }
        if (options.ifDue && currentGood) {
            const QDateTime refreshPoint = analysis.stapleRefreshPoint(line.current.thisUpdate, line.current.nextUpdate);
            if (refreshPoint.isValid() && plan.madeAt < refreshPoint) {
                line.outcome = RefreshOutcome::NotDue;
                line.reason = QStringLiteral("the staple is good until %1; it is refreshed from %2 (half its window)")
                                  .arg(formatTime(line.current.nextUpdate), formatTime(refreshPoint));
                plan.bundles << line;
                continue;
            }
        }
        p.planIndex = plan.bundles.size();
        plan.bundles << line;
        pending << p;
    }

    auto cancelled = [cancel] { return cancel && cancel->load(); };
    OnlineLookup lookup(options.online);

    // Issuers the inputs lack: fetched from the certificates' CA Issuers URLs.
    QList<Certificate> needIssuer;
    QList<qsizetype> needIssuerIndex;
    for (qsizetype i = 0; i < pending.size(); ++i) {
        if (pending[i].bundle->issuer().isNull()) {
            needIssuer << pending[i].bundle->leaf;
            needIssuerIndex << i;
        }
    }
    if (!needIssuer.isEmpty() && !cancelled()) {
        const QList<IssuerLookup> issuers = lookup.fetchIssuers(needIssuer, cancel);
        for (qsizetype k = 0; k < issuers.size() && k < needIssuerIndex.size(); ++k) {
            Pending& p = pending[needIssuerIndex[k]];
            p.issuer = issuers[k].issuer;
            p.issuerFindings = issuers[k].findings;
        }
    }

    QList<std::pair<Certificate, Certificate>> asks;
    QList<qsizetype> askIndex;
    for (qsizetype i = 0; i < pending.size(); ++i) {
        Pending& p = pending[i];
        BundleRefresh& line = plan.bundles[p.planIndex];
        line.findings << p.issuerFindings;
        const Certificate issuer = p.bundle->issuer().isNull() ? p.issuer : p.bundle->issuer();
        // With a fetched issuer the current staple can be verified now.
        if (p.current && !p.issuer.isNull()) {
            p.currentJudgement = judgeStaple(*p.bundle, *p.current, p.issuer, analysis);
            line.current = p.currentJudgement.window;
        }
        if (issuer.isNull()) {
            line.outcome = RefreshOutcome::Failed;
            line.reason = QStringLiteral("its issuer is not among the files and could not be fetched, so no OCSP request can be "
                                         "made: give the chain (fullchain.pem or --chain)");
            line.severity = p.current && p.currentJudgement.installable ? Severity::Warning : Severity::Error;
            continue;
        }
        asks << std::pair{p.bundle->leaf, issuer};
        askIndex << i;
    }

    QList<OcspLookup> answers;
    if (!asks.isEmpty() && !cancelled())
        answers = lookup.fetchOcsp(asks, cancel, progress);

    for (qsizetype k = 0; k < askIndex.size(); ++k) {
        Pending& p = pending[askIndex[k]];
        BundleRefresh& line = plan.bundles[p.planIndex];
        const Bundle& bundle = *p.bundle;
        const bool currentGood = p.current && p.currentJudgement.installable;
        const QString destination = line.destination;

        if (k >= answers.size() || cancelled()) {
            line.outcome = RefreshOutcome::Failed;
            line.reason = QStringLiteral("cancelled before the responder answered; nothing was changed");
            line.severity = currentGood ? Severity::Warning : Severity::Error;
            continue;
        }
        const OcspLookup& answer = answers[k];
        line.responder = answer.responder.toString();

        StapleJudgement fetched;
        QString whyNot; // why no fresh staple is installable
        if (answer.response.isNull()) {
            whyNot = answer.findings.isEmpty() ? QStringLiteral("the responder gave no OCSP response") : firstProblem(answer.findings);
        } else {
            SourceLocation source;
            source.path = QStringLiteral("OCSP response from %1").arg(line.responder);
            const AttachedStaple fresh{answer.response.withSource(source), StapleAttachment::Explicit};
            fetched = judgeStaple(bundle, fresh, p.issuer, analysis);
            line.fetched = fetched.window;
            if (!answer.response.isSuccessful()) {
                whyNot = QStringLiteral("the responder answered %1").arg(answer.response.responseStatusName());
            } else if (fetched.answersForLeaf && fetched.status == OcspCertStatus::Revoked) {
                // Never installed: the certificate itself is the problem.
                QString when = formatTime(fetched.revocationTime);
                if (!fetched.revocationReason.isEmpty())
                    when += QStringLiteral(" (reason: %1)").arg(fetched.revocationReason);
                line.findings << makeFinding(FindingCode::CertRevoked, Severity::Critical, QStringLiteral("Certificate revoked"),
                                             bundle.leaf.displayName(),
                                             QStringLiteral("The responder %1 says the certificate was revoked on %2. The response is not "
                                                            "installed: clients that see it refuse the certificate.")
                                                 .arg(line.responder, when),
                                             QStringLiteral("Replace the certificate now (and its key, if it was compromised)."),
                                             {bundle.leaf.id()});
                line.outcome = RefreshOutcome::Failed;
                line.reason = QStringLiteral("the responder says the certificate was revoked on %1: the certificate must be "
                                             "replaced; nothing was installed")
                                  .arg(when);
                line.severity = Severity::Critical;
                continue;
            } else if (!fetched.installable) {
                whyNot = fetched.status == OcspCertStatus::Unknown && fetched.answersForLeaf
                             ? QStringLiteral("the responder answered \"unknown\" for this certificate")
                             : firstProblem(fetched.problems);
                if (whyNot.isEmpty())
                    whyNot = QStringLiteral("the response is not one a strict client accepts for this certificate");
                line.findings << fetched.problems;
            }
        }

        if (whyNot.isEmpty()) {
            // A fresh, installable response. Never replace a good staple with an older one.
            if (currentGood && p.currentJudgement.window.thisUpdate >= fetched.window.thisUpdate) {
                line.outcome = RefreshOutcome::KeepCurrent;
                line.reason = QStringLiteral("the current staple is good and at least as recent as the responder's (thisUpdate %1)")
                                  .arg(formatTime(p.currentJudgement.window.thisUpdate));
                continue;
            }
            line.outcome = RefreshOutcome::Install;
            line.newStapleDer = answer.response.der();
            line.reason = p.current ? (currentGood ? QStringLiteral("a newer good response replaces the current one")
                                                   : QStringLiteral("a good response replaces a staple clients reject: %1")
                                                         .arg(problemTitle(p.currentJudgement.problems)))
                                    : QStringLiteral("a good response is written where there was none");
            continue;
        }

        // No installable response.
        while (whyNot.endsWith(QLatin1Char('.')))
            whyNot.chop(1);
        line.findings << answer.findings;
        if (currentGood) {
            for (Finding& f : line.findings)
                if (findingCode(f) == FindingCode::OcspFetchFailed)
                    f = atSeverity(f, Severity::Warning);
            line.outcome = RefreshOutcome::KeepCurrent;
            line.reason = QStringLiteral("no fresh staple: %1. The current staple is kept; it is good until %2")
                              .arg(whyNot, formatTime(line.current.nextUpdate));
            line.severity = Severity::Warning;
            continue;
        }
        const QString mustStapleNote =
            line.mustStaple ? QStringLiteral(" The certificate demands a staple (must-staple): clients fail either way until a "
                                             "response can be fetched.")
                            : QString();
        if (p.current && QFileInfo::exists(destination) && !options.keepStale) {
            line.outcome = RefreshOutcome::MoveStaleAside;
            line.reason = QStringLiteral("no fresh staple: %1. The current staple is one clients reject (%2), so it is moved to %3 "
                                         "and the server sends none rather than a wrong one.%4%5")
                              .arg(whyNot, problemTitle(p.currentJudgement.problems), destination + QStringLiteral(".stale"),
                                   line.exim ? eximHint(destination) : QString(), mustStapleNote);
            line.severity = line.mustStaple ? Severity::Critical : Severity::Error;
            continue;
        }
        line.outcome = RefreshOutcome::Failed;
        if (!p.current)
            line.reason = QStringLiteral("no fresh staple: %1. There is no staple yet.%2").arg(whyNot, mustStapleNote);
        else
            line.reason = QStringLiteral("no fresh staple: %1. The current staple is one clients reject (%2); it stays because of "
                                         "--keep-stale.%3")
                              .arg(whyNot, problemTitle(p.currentJudgement.problems), mustStapleNote);
        line.severity = line.mustStaple ? Severity::Critical : Severity::Error;
    }
    return plan;
}

} // namespace staplescope
