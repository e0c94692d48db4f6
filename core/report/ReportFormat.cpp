#include "ReportFormat.h"

#include <algorithm>

#include "FindingRegistry.h"
#include "TextEscape.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>

namespace staplescope {

namespace {

// Findings that are not about one bundle come from reading files or from connecting to servers;
// reports list them under separate headings.
bool isConnectionFinding(const Finding& f)
{
    const FindingInfo* info = findingInfo(f);
    return info && info->category == FindingCategory::Connection;
}

bool isInputFinding(const Finding& f)
{
    const FindingInfo* info = findingInfo(f);
    return info && info->category == FindingCategory::Input;
}

QList<Finding> connectionFindings(const InspectionReport& report)
{
    QList<Finding> out;
    for (const Finding& f : report.inputFindings)
        if (isConnectionFinding(f))
            out << f;
    return out;
}

QList<Finding> fileFindings(const InspectionReport& report)
{
    QList<Finding> out;
    for (const Finding& f : report.inputFindings)
        if (!isConnectionFinding(f))
            out << f;
    return out;
}

// "STAPLE_MISSING ×2, CHAIN_EXTRA_CERT" (codes are registry spellings, not outside text).
QString silencedSummary(const QList<Finding>& silenced)
{
    QStringList codes;
    QHash<QString, int> counts;
    for (const Finding& f : silenced) {
        if (!counts.contains(f.code))
            codes << f.code;
        ++counts[f.code];
    }
    QStringList parts;
    for (const QString& code : codes)
        parts << (counts.value(code) > 1 ? QStringLiteral("%1 ×%2").arg(code).arg(counts.value(code)) : code);
    return parts.join(QStringLiteral(", "));
}

QString iso(const QDateTime& t) { return t.isValid() ? t.toUTC().toString(Qt::ISODate) : QString(); }
QJsonValue isoOrNull(const QDateTime& t) { return t.isValid() ? QJsonValue(iso(t)) : QJsonValue(QJsonValue::Null); }

QJsonObject findingJson(const Finding& f)
{
    QJsonObject o;
    o[QStringLiteral("code")] = f.code;
    o[QStringLiteral("severity")] = severityName(f.severity);
    o[QStringLiteral("title")] = f.title;
    o[QStringLiteral("subject")] = f.subject;
    o[QStringLiteral("message")] = f.message;
    o[QStringLiteral("fix")] = f.fix;
    o[QStringLiteral("objects")] = QJsonArray::fromStringList(f.objectIds);
    // The remedy as data, so scripts act on kinds rather than on the fix's wording.
    if (f.remedy.kind != RemedyKind::None) {
        QJsonObject remedy;
        remedy[QStringLiteral("kind")] = remedyKindName(f.remedy.kind);
        if (!f.remedy.file.isEmpty())
            remedy[QStringLiteral("file")] = f.remedy.file;
        if (!f.remedy.serial.isEmpty())
            remedy[QStringLiteral("serial")] = f.remedy.serial;
        if (!f.remedy.url.isEmpty())
            remedy[QStringLiteral("url")] = f.remedy.url;
        o[QStringLiteral("remedy")] = remedy;
    }
    return o;
}

QJsonObject sourceJson(const SourceLocation& s)
{
    QJsonObject o;
    o[QStringLiteral("path")] = s.path;
    o[QStringLiteral("index")] = s.index;
    o[QStringLiteral("served")] = s.served;
    return o;
}

QJsonObject certificateJson(const Certificate& c)
{
    QJsonObject o;
    o[QStringLiteral("id")] = c.id();
    o[QStringLiteral("source")] = sourceJson(c.source());
    o[QStringLiteral("subject")] = c.subject();
    o[QStringLiteral("issuer")] = c.issuer();
    o[QStringLiteral("serial")] = c.serialHex();
    o[QStringLiteral("notBefore")] = iso(c.notBefore());
    o[QStringLiteral("notAfter")] = iso(c.notAfter());
    o[QStringLiteral("dnsNames")] = QJsonArray::fromStringList(c.dnsNames());
    o[QStringLiteral("ipAddresses")] = QJsonArray::fromStringList(c.ipAddresses());
    o[QStringLiteral("isCa")] = c.isCa();
    o[QStringLiteral("selfSigned")] = c.isSelfSigned();
    o[QStringLiteral("mustStaple")] = c.mustStaple();
    o[QStringLiteral("key")] = c.keyDescription();
    o[QStringLiteral("signatureAlgorithm")] = c.signatureAlgorithm();
    o[QStringLiteral("subjectKeyId")] = hexColon(c.subjectKeyId());
    o[QStringLiteral("authorityKeyId")] = hexColon(c.authorityKeyId());
    o[QStringLiteral("ocspUrls")] = QJsonArray::fromStringList(c.ocspUrls());
    o[QStringLiteral("caIssuerUrls")] = QJsonArray::fromStringList(c.caIssuerUrls());
    o[QStringLiteral("crlUrls")] = QJsonArray::fromStringList(c.crlUrls());
    o[QStringLiteral("sha256")] = hexColon(c.sha256());
    return o;
}

QString attachmentName(StapleAttachment a)
{
    switch (a) {
    case StapleAttachment::CertIdMatch: return QStringLiteral("certid");
    case StapleAttachment::Explicit: return QStringLiteral("explicit");
    case StapleAttachment::PreviousCertificate: return QStringLiteral("previous-certificate");
    case StapleAttachment::BesideFiles: return QStringLiteral("beside-files");
    case StapleAttachment::OnlyBundle: return QStringLiteral("only-bundle");
    }
    return {};
}

QString encodingName(OcspStaple::Encoding e)
{
    switch (e) {
    case OcspStaple::Encoding::Der: return QStringLiteral("der");
    case OcspStaple::Encoding::Pem: return QStringLiteral("pem");
    case OcspStaple::Encoding::Base64: return QStringLiteral("base64");
    }
    return {};
}

QJsonObject stapleJson(const AttachedStaple& attached)
{
    const OcspStaple& s = attached.staple;
    QJsonObject o;
    o[QStringLiteral("id")] = s.id();
    o[QStringLiteral("source")] = sourceJson(s.source());
    o[QStringLiteral("attachedBy")] = attachmentName(attached.attachment);
    o[QStringLiteral("encoding")] = encodingName(s.encoding());
    o[QStringLiteral("responseStatus")] = s.responseStatusName();
    if (s.isSuccessful()) {
        o[QStringLiteral("producedAt")] = iso(s.producedAt());
        o[QStringLiteral("responderId")] = s.responderId();
        QJsonArray responses;
        for (const OcspSingleResponse& r : s.responses()) {
            QJsonObject j;
            j[QStringLiteral("serial")] = r.certId.serialHex();
            j[QStringLiteral("hashAlgorithm")] = r.certId.hashAlgorithm;
            j[QStringLiteral("issuerNameHash")] = hexColon(r.certId.issuerNameHash);
            j[QStringLiteral("issuerKeyHash")] = hexColon(r.certId.issuerKeyHash);
            j[QStringLiteral("status")] = ocspStatusName(r.status);
            j[QStringLiteral("thisUpdate")] = iso(r.thisUpdate);
            j[QStringLiteral("nextUpdate")] = isoOrNull(r.nextUpdate);
            if (r.status == OcspCertStatus::Revoked) {
                j[QStringLiteral("revocationTime")] = iso(r.revocationTime);
                j[QStringLiteral("revocationReason")] = r.revocationReasonName;
            }
            responses << j;
        }
        o[QStringLiteral("responses")] = responses;
    }
    return o;
}

QString keyStatusName(KeyStatus k)
{
    switch (k) {
    case KeyStatus::NotProvided: return QStringLiteral("not-provided");
    case KeyStatus::Matches: return QStringLiteral("matches");
    case KeyStatus::Mismatch: return QStringLiteral("mismatch");
    case KeyStatus::Encrypted: return QStringLiteral("encrypted");
    }
    return {};
}

const char* ansiFor(Severity s)
{
    switch (s) {
    case Severity::Info: return "\033[36m";
    case Severity::Warning: return "\033[33m";
    case Severity::Error: return "\033[31m";
    case Severity::Critical: return "\033[1;41;97m";
    }
    return "";
}

// Every string of the document through escapeJsonString, in one place rather than at each of the
// fields that may hold outside text. Linear in the size of the document.
QJsonValue jsonSafe(const QJsonValue& v);

// Whether any string needs jsonSafe: almost never, and the check, unlike the rewrite, copies
// nothing (a report of 10,000 bundles is a DOM of hundreds of MiB).
bool holdsSurrogate(const QJsonValue& v)
{
    if (v.isString()) {
        const QString text = v.toString();
        return std::any_of(text.cbegin(), text.cend(), [](QChar c) { return c.isSurrogate(); });
    }
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        return std::any_of(o.begin(), o.end(), [](const auto& item) { return holdsSurrogate(QJsonValue(item)); });
    }
    if (v.isArray()) {
        const QJsonArray a = v.toArray();
        return std::any_of(a.begin(), a.end(), [](const auto& item) { return holdsSurrogate(QJsonValue(item)); });
    }
    return false;
}

QJsonObject jsonSafe(const QJsonObject& o)
{
    QJsonObject out;
    for (auto it = o.begin(); it != o.end(); ++it)
        out.insert(it.key(), jsonSafe(QJsonValue(it.value())));
    return out;
}

QJsonValue jsonSafe(const QJsonValue& v)
{
    if (v.isString())
        return escapeJsonString(v.toString());
    if (v.isObject())
        return jsonSafe(v.toObject());
    if (v.isArray()) {
        QJsonArray out;
        for (const QJsonValue& item : v.toArray())
            out << jsonSafe(item);
        return out;
    }
    return v;
}

} // namespace

QJsonObject reportToJson(const InspectionReport& report)
{
    QJsonObject root;
    root[QStringLiteral("schema")] = QStringLiteral("staplescope-report/1");
    root[QStringLiteral("evaluatedAt")] = iso(report.at);
    root[QStringLiteral("worstSeverity")] = severityName(report.worst());
    root[QStringLiteral("exitCode")] = report.exitCode();
    QJsonArray findings;
    for (const Finding& f : report.allFindings())
        findings << findingJson(f);
    root[QStringLiteral("findings")] = findings;
    QJsonArray bundles;
    for (const BundleReport& r : report.bundles) {
        const Bundle& b = r.bundle;
        QJsonObject o;
        o[QStringLiteral("id")] = b.id;
        o[QStringLiteral("origin")] = b.origin;
        o[QStringLiteral("served")] = b.served;
        o[QStringLiteral("verdict")] = r.verdict;
        o[QStringLiteral("worstSeverity")] = severityName(r.worst);
        o[QStringLiteral("superseded")] = b.isSuperseded();
        o[QStringLiteral("leaf")] = certificateJson(b.leaf);
        QJsonArray chain;
        for (const Certificate& c : b.chain)
            chain << certificateJson(c);
        o[QStringLiteral("chain")] = chain;
        if (!b.anchor.isNull())
            o[QStringLiteral("trustAnchor")] = certificateJson(b.anchor);
        QJsonArray staples;
        for (const AttachedStaple& s : b.staples)
            staples << stapleJson(s);
        o[QStringLiteral("staples")] = staples;
        QJsonObject key;
        key[QStringLiteral("status")] = keyStatusName(b.keyStatus);
        if (!b.key.isNull()) {
            key[QStringLiteral("source")] = sourceJson(b.key.source());
            key[QStringLiteral("format")] = b.key.format();
            key[QStringLiteral("type")] = b.key.keyDescription();
        }
        o[QStringLiteral("key")] = key;
        QJsonArray previous;
        for (const Certificate& c : b.previousCertificates)
            previous << certificateJson(c);
        o[QStringLiteral("previousCertificates")] = previous;
        QJsonArray bundleFindings;
        for (const Finding& f : r.findings)
            bundleFindings << findingJson(f);
        o[QStringLiteral("findings")] = bundleFindings;
        bundles << o;
    }
    root[QStringLiteral("bundles")] = bundles;
    QJsonArray input;
    for (const Finding& f : report.inputFindings)
        input << findingJson(f);
    root[QStringLiteral("inputFindings")] = input;
    root[QStringLiteral("files")] = QJsonArray::fromStringList(report.files);
    QJsonArray silenced;
    for (const Finding& f : report.silenced)
        silenced << findingJson(f);
    root[QStringLiteral("silenced")] = silenced;
    return holdsSurrogate(root) ? jsonSafe(root) : root;
}

QByteArray reportToJsonBytes(const InspectionReport& report)
{
    return escapeJsonDocumentControls(QJsonDocument(reportToJson(report)).toJson(QJsonDocument::Indented));
}

namespace {

// The fix, followed by the front end's remedy line when there is one (Markdown and HTML cells).
QString fixWithRemedy(const Finding& f, const RemedyWording& remedy)
{
    if (!remedy || f.remedy.kind == RemedyKind::None)
        return f.fix;
    const QString wording = remedy(f.remedy);
    if (wording.isEmpty())
        return f.fix;
    return f.fix.isEmpty() ? QStringLiteral("Remedy: ") + wording : f.fix + QStringLiteral(" Remedy: ") + wording;
}

} // namespace

QString findingToText(const Finding& f, const RemedyWording& remedy)
{
    // Pasted into a terminal or a chat, so escaped like the text report.
    QString text = QStringLiteral("[%1] %2 — %3\n  %4\n  %5")
                       .arg(severityName(f.severity).toUpper(), escapeText(f.code), escapeText(f.title), escapeText(f.subject),
                            escapeText(f.message));
    if (!f.fix.isEmpty())
        text += QStringLiteral("\n  Fix: ") + escapeText(f.fix);
    if (remedy && f.remedy.kind != RemedyKind::None)
        text += QStringLiteral("\n  Remedy: ") + escapeText(remedy(f.remedy));
    return text;
}

QString reportToText(const InspectionReport& report, bool colour, const RemedyWording& remedy)
{
    const QString reset = colour ? QStringLiteral("\033[0m") : QString();
    const QString bold = colour ? QStringLiteral("\033[1m") : QString();
    auto badge = [&](Severity s) {
        const QString name = severityName(s).toUpper();
        return colour ? QString::fromLatin1(ansiFor(s)) + name + reset : name;
    };
    auto writeFinding = [&](QString& out, const Finding& f) {
        out += QStringLiteral("  %1 %2%3%4: %5\n").arg(badge(f.severity), bold, escapeText(f.code), reset, escapeText(f.title));
        out += QStringLiteral("      %1\n").arg(escapeText(f.subject));
        out += QStringLiteral("      %1\n").arg(escapeText(f.message));
        if (!f.fix.isEmpty())
            out += QStringLiteral("      Fix: %1\n").arg(escapeText(f.fix));
        if (remedy && f.remedy.kind != RemedyKind::None)
            out += QStringLiteral("      Remedy: %1\n").arg(escapeText(remedy(f.remedy)));
    };
    QString out;
    out += QStringLiteral("Staplescope report, evaluated at %1\n").arg(formatTime(report.at));
    for (const BundleReport& r : report.bundles) {
        const Bundle& b = r.bundle;
        out += QStringLiteral("\n%1%2%3  [%4] %5\n").arg(bold, escapeText(b.leaf.displayName()), reset, badge(r.worst), escapeText(r.verdict));
        out += QStringLiteral("  certificate  %1 (%2 → %3)\n")
                   .arg(escapeText(b.leaf.source().display()), formatTime(b.leaf.notBefore()), formatTime(b.leaf.notAfter()));
        for (const Certificate& c : b.chain)
            out += QStringLiteral("  issuer       %1 (%2, until %3)\n")
                       .arg(escapeText(c.commonName()), escapeText(c.source().display()), formatTime(c.notAfter()));
        if (!b.anchor.isNull())
            out += QStringLiteral("  trust anchor %1 (trust store)\n").arg(escapeText(b.anchor.commonName()));
        for (const AttachedStaple& s : b.staples) {
            const auto responses = s.staple.responses();
            if (responses.isEmpty())
                out += QStringLiteral("  staple       %1 (%2)\n").arg(escapeText(s.staple.source().display()), escapeText(s.staple.responseStatusName()));
            else
                out += QStringLiteral("  staple       %1 (serial %2, %3, %4 → %5)\n")
                           .arg(escapeText(s.staple.source().display()), responses.first().certId.serialHex(), ocspStatusName(responses.first().status),
                                formatTime(responses.first().thisUpdate), formatTime(responses.first().nextUpdate));
        }
        if (!b.key.isNull())
            out += QStringLiteral("  key          %1 (%2)\n").arg(escapeText(b.key.source().display()), keyStatusName(b.keyStatus));
        for (const Finding& f : r.findings)
            writeFinding(out, f);
    }
    if (const QList<Finding> connections = connectionFindings(report); !connections.isEmpty()) {
        out += QStringLiteral("\n%1Connections%2\n").arg(bold, reset);
        for (const Finding& f : connections)
            writeFinding(out, f);
    }
    if (const QList<Finding> inputs = fileFindings(report); !inputs.isEmpty()) {
        out += QStringLiteral("\n%1Inputs%2\n").arg(bold, reset);
        // A folder walk over /etc meets hundreds of ordinary files; on a terminal those are one
        // line, not a page each (JSON, Markdown and HTML still list every one).
        constexpr int maxSkippedListed = 5;
        QList<Finding> skipped;
        for (const Finding& f : inputs) {
            if (f.severity == Severity::Info && isInputFinding(f))
                skipped << f;
            else
                writeFinding(out, f);
        }
        if (skipped.size() <= maxSkippedListed) {
            for (const Finding& f : skipped)
                writeFinding(out, f);
        } else {
            out += QStringLiteral("  %1 other files found while walking folders hold no certificate, key, staple or CRL "
                                  "and were skipped (--json lists them).\n")
                       .arg(skipped.size());
        }
    }
    const QList<Finding> all = report.allFindings();
    int counts[4] = {0, 0, 0, 0};
    for (const Finding& f : all)
        ++counts[int(f.severity)];
    if (!report.silenced.isEmpty())
        out += QStringLiteral("\nSilenced by --ignore (not shown, not counted): %1\n").arg(escapeText(silencedSummary(report.silenced)));
    out += QStringLiteral("\n%1 bundle(s): %2 critical, %3 error, %4 warning, %5 info\n")
               .arg(QString::number(report.bundles.size()), QString::number(counts[3]), QString::number(counts[2]),
                    QString::number(counts[1]), QString::number(counts[0]));
    return out;
}

QString reportToMarkdown(const InspectionReport& report, const RemedyWording& remedy)
{
    QString md;
    md += QStringLiteral("# Staplescope report\n\nEvaluated at %1. Worst severity: **%2**.\n")
              .arg(formatTime(report.at), severityName(report.worst()));
    for (const BundleReport& r : report.bundles) {
        const Bundle& b = r.bundle;
        md += QStringLiteral("\n## %1 — %2 (%3)\n\n").arg(escapeMarkdown(b.leaf.displayName()), escapeMarkdown(r.verdict), severityName(r.worst));
        md += QStringLiteral("- Certificate: %1, %2 → %3\n")
                  .arg(markdownCode(b.leaf.source().display()), formatTime(b.leaf.notBefore()), formatTime(b.leaf.notAfter()));
        for (const Certificate& c : b.chain)
            md += QStringLiteral("- Issuer: %1 (%2)\n").arg(escapeMarkdown(c.commonName()), markdownCode(c.source().display()));
        for (const AttachedStaple& s : b.staples)
            md += QStringLiteral("- Staple: %1\n").arg(markdownCode(s.staple.source().display()));
        if (!b.key.isNull())
            md += QStringLiteral("- Key: %1 (%2)\n").arg(markdownCode(b.key.source().display()), keyStatusName(b.keyStatus));
        if (!r.findings.isEmpty()) {
            md += QStringLiteral("\n| Severity | Code | Finding | Fix |\n|---|---|---|---|\n");
            for (const Finding& f : r.findings)
                md += QStringLiteral("| %1 | %2 | **%3** — %4 | %5 |\n")
                          .arg(severityName(f.severity), markdownCode(f.code), escapeMarkdown(f.title), escapeMarkdown(f.message),
                               escapeMarkdown(fixWithRemedy(f, remedy)));
        }
    }
    for (const auto& [heading, findings] : {std::pair{QStringLiteral("Connections"), connectionFindings(report)},
                                            std::pair{QStringLiteral("Inputs"), fileFindings(report)}}) {
        if (findings.isEmpty())
            continue;
        md += QStringLiteral("\n## %1\n\n").arg(heading);
        for (const Finding& f : findings)
            md += QStringLiteral("- **%1** %2 %3: %4\n")
                      .arg(severityName(f.severity), markdownCode(f.code), escapeMarkdown(f.subject), escapeMarkdown(f.message));
    }
    if (!report.silenced.isEmpty())
        md += QStringLiteral("\nSilenced by `--ignore` (not shown, not counted): %1\n").arg(escapeMarkdown(silencedSummary(report.silenced)));
    return md;
}

QString reportToHtml(const InspectionReport& report, const RemedyWording& remedy)
{
    QString html;
    html += QStringLiteral("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Staplescope report</title>"
                           "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
                           ".critical{background:#b00020;color:#fff}.error{color:#b00020}.warning{color:#9a6700}.info{color:#0b6e99}"
                           "td,th{border-bottom:1px solid #ddd;padding:.3em;vertical-align:top;text-align:left}"
                           "code{background:#f3f3f3}</style></head><body>\n");
    html += QStringLiteral("<h1>Staplescope report</h1><p>Evaluated at %1. Worst severity: <b>%2</b>.</p>\n")
                .arg(formatTime(report.at), severityName(report.worst()));
    auto table = [&remedy](const QList<Finding>& findings) {
        QString t = QStringLiteral("<table><tr><th>Severity</th><th>Code</th><th>Finding</th><th>Fix</th></tr>\n");
        for (const Finding& f : findings)
            t += QStringLiteral("<tr><td class=\"%1\">%1</td><td><code>%2</code></td><td><b>%3</b><br>%4<br><small>%5</small></td><td>%6</td></tr>\n")
                     .arg(severityName(f.severity), escapeHtml(f.code), escapeHtml(f.title), escapeHtml(f.message), escapeHtml(f.subject), escapeHtml(fixWithRemedy(f, remedy)));
        return t + QStringLiteral("</table>\n");
    };
    for (const BundleReport& r : report.bundles) {
        html += QStringLiteral("<h2>%1 — %2</h2>\n<p>Certificate <code>%3</code>, %4 → %5</p>\n")
                    .arg(escapeHtml(r.bundle.leaf.displayName()), escapeHtml(r.verdict), escapeHtml(r.bundle.leaf.source().display()),
                         formatTime(r.bundle.leaf.notBefore()), formatTime(r.bundle.leaf.notAfter()));
        html += QStringLiteral("<ul>\n");
        for (const Certificate& c : r.bundle.chain)
            html += QStringLiteral("<li>Issuer %1 (<code>%2</code>)</li>\n").arg(escapeHtml(c.commonName()), escapeHtml(c.source().display()));
        for (const AttachedStaple& s : r.bundle.staples)
            html += QStringLiteral("<li>Staple <code>%1</code></li>\n").arg(escapeHtml(s.staple.source().display()));
        if (!r.bundle.key.isNull())
            html += QStringLiteral("<li>Key <code>%1</code> (%2)</li>\n").arg(escapeHtml(r.bundle.key.source().display()), keyStatusName(r.bundle.keyStatus));
        html += QStringLiteral("</ul>\n");
        if (!r.findings.isEmpty())
            html += table(r.findings);
    }
    if (const QList<Finding> connections = connectionFindings(report); !connections.isEmpty())
        html += QStringLiteral("<h2>Connections</h2>\n") + table(connections);
    if (const QList<Finding> inputs = fileFindings(report); !inputs.isEmpty())
        html += QStringLiteral("<h2>Inputs</h2>\n") + table(inputs);
    if (!report.silenced.isEmpty())
        html += QStringLiteral("<p>Silenced by <code>--ignore</code> (not shown, not counted): %1</p>\n")
                    .arg(escapeHtml(silencedSummary(report.silenced)));
    html += QStringLiteral("</body></html>\n");
    return html;
}

} // namespace staplescope
