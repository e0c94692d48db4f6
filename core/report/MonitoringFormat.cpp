#include "MonitoringFormat.h"

#include "FindingRegistry.h"
#include "TextEscape.h"

#include <QRegularExpression>
#include <QSet>

#include <cmath>

namespace staplescope {

namespace {

// Outside text (a certificate's names, file names) ends up in label values and plugin output. Both
// are read by line-based parsers; a value is one visible line of at most this many characters.
constexpr int kMaxValueLength = 200;
// Nagios keeps a bounded plugin output (4 KiB in Nagios 3, 64 KiB in Nagios 4): the long output
// lists at most this many findings, perfdata at most this many items, then says how many more.
constexpr int kMaxNagiosFindings = 50;
constexpr int kMaxNagiosPerfdata = 200;

constexpr qint64 kSecondsPerDay = 24 * 3600;
constexpr qint64 kSecondsPerHour = 3600;

// escapeText (one visible line, no controls, no bidi overrides), then cut at kMaxValueLength
// without splitting a surrogate pair.
QString boundedLine(const QString& text)
{
    QString line = escapeText(text);
    if (line.size() <= kMaxValueLength)
        return line;
    qsizetype cut = kMaxValueLength - 1;
    if (line.at(cut - 1).isHighSurrogate())
        --cut;
    return line.left(cut) + QChar(0x2026); // …
}

// --- Nagios ---------------------------------------------------------------------------------------

// '|' starts perfdata wherever it stands in plugin output: text never holds one.
QString nagiosText(const QString& text)
{
    QString line = boundedLine(text);
    line.replace(QLatin1Char('|'), QChar(0x00A6)); // ¦
    return line;
}

// A perfdata label: quoted with single quotes; a single quote inside is written twice (the
// guidelines' escape); '=' ends a label and has no escape, so it becomes '_'.
QString nagiosLabel(const QString& text)
{
    QString label = nagiosText(text);
    label.replace(QLatin1Char('='), QLatin1Char('_'));
    label.replace(QLatin1Char('\''), QStringLiteral("''"));
    return QLatin1Char('\'') + label + QLatin1Char('\'');
}

QString nagiosNumber(double value)
{
    return QString::number(value, 'f', 2);
}

// "N:" is the guidelines' range that alerts when the value falls below N (days or hours left).
QString lowerBoundRange(double threshold)
{
    return nagiosNumber(threshold) + QLatin1Char(':');
}

QString statusWord(int exitCode)
{
    switch (exitCode) {
    case 0: return QStringLiteral("OK");
    case 1: return QStringLiteral("WARNING");
    case 2: return QStringLiteral("CRITICAL");
    default: return QStringLiteral("UNKNOWN");
    }
}

struct PerfItem {
    QString label;
    QString value; // a number, or "U" when it cannot be known
    QString warn;
    QString crit;
};

// Counts findings per code, in first-seen order.
QList<QPair<QString, int>> countByCode(const QList<Finding>& findings)
{
    QList<QPair<QString, int>> counts;
    for (const Finding& f : findings) {
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& p) { return p.first == f.code; });
        if (it == counts.end())
            counts.append({f.code, 1});
        else
            ++it->second;
    }
    return counts;
}

// --- Prometheus -----------------------------------------------------------------------------------

// Label values in the text exposition format escape exactly these three.
QString promLabelValue(const QString& text)
{
    QString out;
    const QString line = boundedLine(text);
    out.reserve(line.size());
    for (QChar c : line) {
        if (c == QLatin1Char('\\'))
            out += QStringLiteral("\\\\");
        else if (c == QLatin1Char('"'))
            out += QStringLiteral("\\\"");
        else if (c == QLatin1Char('\n'))
            out += QStringLiteral("\\n");
        else
            out += c;
    }
    return out;
}

// HELP text escapes backslash and newline.
QString promHelp(const QString& text)
{
    QString out = boundedLine(text);
    out.replace(QLatin1Char('\\'), QStringLiteral("\\\\"));
    out.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    return out;
}

// Metric and label names come from this program, never from outside; still, a name that breaks the
// grammar would make the whole exposition unreadable, so anything else becomes '_'.
QString promName(const QString& name, bool allowColon)
{
    QString out = name.isEmpty() ? QStringLiteral("_") : name;
    for (qsizetype i = 0; i < out.size(); ++i) {
        const QChar c = out.at(i);
        const bool letter = (c >= QLatin1Char('a') && c <= QLatin1Char('z')) || (c >= QLatin1Char('A') && c <= QLatin1Char('Z'))
                            || c == QLatin1Char('_') || (allowColon && c == QLatin1Char(':'));
        const bool digit = c >= QLatin1Char('0') && c <= QLatin1Char('9');
        if (!letter && !(digit && i > 0))
            out[i] = QLatin1Char('_');
    }
    return out;
}

QString promValue(double value)
{
    if (std::isnan(value))
        return QStringLiteral("NaN");
    if (std::isinf(value))
        return value > 0 ? QStringLiteral("+Inf") : QStringLiteral("-Inf");
    if (value == std::floor(value) && std::fabs(value) < 9.0e15)
        return QString::number(qint64(value));
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

QString promType(const QString& type)
{
    static const QStringList known = {QStringLiteral("counter"), QStringLiteral("gauge"), QStringLiteral("histogram"),
                                      QStringLiteral("summary"), QStringLiteral("untyped")};
    return known.contains(type) ? type : QStringLiteral("untyped");
}

// Where a bundle's objects came from: the leaf's file (and its place in it) for files, so bundles
// of one folder stay apart; host:port [address] for a served bundle.
QString bundleLocation(const Bundle& b)
{
    return b.served ? b.origin : b.leaf.source().display();
}

} // namespace

// -------------------------------------------------------------------------------------------------

QString nagiosUnknown(const QString& why)
{
    return QStringLiteral("STAPLESCOPE UNKNOWN - %1\n").arg(nagiosText(why));
}

QString reportToNagios(const InspectionReport& report, const AnalysisOptions& options, const QString& target)
{
    const int exitCode = report.exitCode();
    QList<QPair<const BundleReport*, Finding>> problems;
    for (const BundleReport& r : report.bundles)
        for (const Finding& f : r.findings)
            problems.append({&r, f});
    for (const Finding& f : report.inputFindings)
        problems.append({nullptr, f});
    std::stable_sort(problems.begin(), problems.end(),
                     [](const auto& a, const auto& b) { return int(a.second.severity) > int(b.second.severity); });

    // The status line: what was checked and the worst problem's headline.
    QString headline;
    const int alerting = int(std::count_if(problems.cbegin(), problems.cend(),
                                           [](const auto& p) { return p.second.severity >= Severity::Warning; }));
    if (exitCode == 0) {
        if (report.bundles.isEmpty())
            headline = QStringLiteral("no certificate found");
        else if (report.bundles.size() == 1)
            headline = QStringLiteral("Healthy");
        else
            headline = QStringLiteral("%1 bundles, all healthy").arg(report.bundles.size());
    } else {
        const auto& [bundle, worst] = problems.first();
        headline = worst.title;
        if (bundle && report.bundles.size() > 1)
            headline = bundle->bundle.leaf.commonName() + QStringLiteral(": ") + headline;
        if (alerting > 1)
            headline += QStringLiteral(" (and %1 more)").arg(alerting - 1);
    }
    if (!report.silenced.isEmpty())
        headline += QStringLiteral(" [%1 silenced]").arg(report.silenced.size());
    QString status = QStringLiteral("STAPLESCOPE %1 - %2: %3").arg(statusWord(exitCode), nagiosText(target), nagiosText(headline));

    // Perfdata: days left per certificate (leaf and chain, each certificate once), hours left per
    // staple until its nextUpdate.
    QList<PerfItem> perf;
    QSet<QString> labelsUsed;
    QSet<QString> certificatesDone;
    auto uniqueLabel = [&labelsUsed](const QString& base) {
        QString label = base;
        for (int n = 2; labelsUsed.contains(label); ++n)
            label = base + QStringLiteral(" #%1").arg(n);
        labelsUsed.insert(label);
        return label;
    };
    auto addCertificate = [&](const Certificate& c) {
        if (c.isNull() || certificatesDone.contains(c.id()))
            return;
        certificatesDone.insert(c.id());
        const double daysLeft = double(report.at.secsTo(c.notAfter())) / kSecondsPerDay;
        const qint64 lifetime = c.notBefore().secsTo(c.notAfter());
        const double warnDays = double(options.expiryWarningFor(lifetime)) / kSecondsPerDay;
        const double critDays = double(options.expiryCriticalSeconds.value_or(0)) / kSecondsPerDay;
        perf.append({uniqueLabel(c.commonName() + QStringLiteral(" days_left")), nagiosNumber(daysLeft), lowerBoundRange(warnDays),
                     lowerBoundRange(critDays)});
    };
    // A superseded certificate is history (no server should send it): its days left would only
    // draw a threshold line the check never alerts on.
    for (const BundleReport& r : report.bundles) {
        if (r.bundle.isSuperseded())
            continue;
        addCertificate(r.bundle.leaf);
        for (const Certificate& c : r.bundle.chain)
            addCertificate(c);
    }
    for (const BundleReport& r : report.bundles) {
        for (const AttachedStaple& s : r.bundle.staples) {
            for (const OcspSingleResponse& response : s.staple.responses()) {
                QString base = r.bundle.leaf.commonName() + QStringLiteral(" staple_hours_left");
                if (response.certId.serialHex() != r.bundle.leaf.serialHex())
                    base += QStringLiteral(" serial ") + response.certId.serialHex();
                PerfItem item{uniqueLabel(base), QStringLiteral("U"), {}, {}};
                if (response.nextUpdate.isValid()) {
                    item.value = nagiosNumber(double(report.at.secsTo(response.nextUpdate)) / kSecondsPerHour);
                    const QDateTime refresh = options.stapleRefreshPoint(response.thisUpdate, response.nextUpdate);
                    qint64 warnSeconds = refresh.isValid() ? refresh.secsTo(response.nextUpdate) : 0;
                    if (options.stapleWarningSeconds)
                        warnSeconds = std::max(warnSeconds, *options.stapleWarningSeconds);
                    item.warn = lowerBoundRange(double(warnSeconds) / kSecondsPerHour);
                    item.crit = lowerBoundRange(double(options.stapleCriticalSeconds.value_or(0)) / kSecondsPerHour);
                }
                perf.append(item);
            }
        }
    }

    QStringList perfTexts;
    for (const PerfItem& p : perf) {
        if (perfTexts.size() == kMaxNagiosPerfdata)
            break;
        perfTexts << QStringLiteral("%1=%2;%3;%4;;").arg(nagiosLabel(p.label), p.value, p.warn, p.crit);
    }

    // Long output: one line per finding, worst first; what was silenced; what was left out.
    // Info findings are not problems: counted, not listed (the other formats list them).
    QStringList longLines;
    int listed = 0;
    for (const auto& [bundle, f] : problems) {
        if (f.severity < Severity::Warning)
            break; // sorted worst first
        if (listed++ == kMaxNagiosFindings) {
            longLines << QStringLiteral("… and %1 more findings (--format json lists them all)").arg(alerting - kMaxNagiosFindings);
            break;
        }
        const QString where = bundle ? bundle->bundle.leaf.commonName() : f.subject;
        longLines << QStringLiteral("[%1] %2 %3: %4 — %5")
                         .arg(severityName(f.severity).toUpper(), nagiosText(f.code), nagiosText(where), nagiosText(f.title),
                              nagiosText(f.message));
    }
    if (const int info = int(problems.size()) - alerting; info > 0)
        longLines << QStringLiteral("%1 info finding(s) (--format text lists them)").arg(info);
    if (!report.silenced.isEmpty()) {
        QStringList parts;
        for (const auto& [code, count] : countByCode(report.silenced))
            parts << QStringLiteral("%1 (%2)").arg(nagiosText(code)).arg(count);
        longLines << QStringLiteral("Silenced by --ignore: ") + parts.join(QStringLiteral(", "));
    }
    if (perf.size() > kMaxNagiosPerfdata)
        longLines << QStringLiteral("Performance data for %1 more objects left out.").arg(perf.size() - kMaxNagiosPerfdata);

    // STATUS | first perfdata, long output lines, then "| the rest of the perfdata" (the guidelines'
    // layout for multi-line output).
    QString out = status;
    if (!perfTexts.isEmpty())
        out += QStringLiteral(" | ") + perfTexts.first();
    out += QLatin1Char('\n');
    for (const QString& line : longLines)
        out += line + QLatin1Char('\n');
    if (perfTexts.size() > 1) {
        out.chop(1);
        out += (longLines.isEmpty() ? QStringLiteral("\n| ") : QStringLiteral(" | "));
        out += perfTexts.mid(1).join(QLatin1Char('\n')) + QLatin1Char('\n');
    }
    return out;
}

// -------------------------------------------------------------------------------------------------

void PrometheusExposition::addSample(const QString& family, const QString& type, const QString& help,
                                     const QMap<QString, QString>& labels, double value)
{
    const QString name = promName(family, true);
    auto it = m_families.find(name);
    if (it == m_families.end()) {
        m_order.append(name);
        it = m_families.insert(name, Family{promType(type), promHelp(help), {}, {}});
    }
    QString line = name;
    if (!labels.isEmpty()) {
        QStringList pairs;
        for (auto l = labels.cbegin(); l != labels.cend(); ++l)
            pairs << QStringLiteral("%1=\"%2\"").arg(promName(l.key(), false), promLabelValue(l.value()));
        line += QLatin1Char('{') + pairs.join(QLatin1Char(',')) + QLatin1Char('}');
    }
    // A series appears once: Prometheus rejects an exposition that repeats one. The first wins
    // (two staples for one certificate in one bundle: the first attached, as the analysis lists).
    if (it->series.contains(line))
        return;
    it->series.insert(line);
    it->lines << line + QLatin1Char(' ') + promValue(value);
}

void PrometheusExposition::addReport(const InspectionReport& report, const AnalysisOptions& options,
                                     const QMap<QString, QString>& extraLabels)
{
    Q_UNUSED(options); // the report's findings already carry the thresholds the analysis used
    auto withExtra = [&extraLabels](QMap<QString, QString> labels) {
        for (auto it = extraLabels.cbegin(); it != extraLabels.cend(); ++it)
            if (!labels.contains(it.key()))
                labels.insert(it.key(), it.value());
        return labels;
    };
    static const QList<Severity> severities = {Severity::Info, Severity::Warning, Severity::Error, Severity::Critical};

    auto addCertificate = [&](const Certificate& c, const QMap<QString, QString>& bundleLabels, const QString& role) {
        if (c.isNull())
            return;
        QMap<QString, QString> labels = bundleLabels;
        labels.insert(QStringLiteral("serial"), c.serialHex());
        labels.insert(QStringLiteral("role"), role);
        addSample(QStringLiteral("staplescope_cert_not_after"), QStringLiteral("gauge"),
                  QStringLiteral("The certificate's notAfter, in Unix seconds."), withExtra(labels), double(c.notAfter().toSecsSinceEpoch()));
        addSample(QStringLiteral("staplescope_cert_not_before"), QStringLiteral("gauge"),
                  QStringLiteral("The certificate's notBefore, in Unix seconds."), withExtra(labels), double(c.notBefore().toSecsSinceEpoch()));
    };

    for (const BundleReport& r : report.bundles) {
        const Bundle& b = r.bundle;
        const QMap<QString, QString> bundleLabels = {{QStringLiteral("bundle"), b.leaf.displayName()},
                                                     {QStringLiteral("location"), bundleLocation(b)}};
        addCertificate(b.leaf, bundleLabels, QStringLiteral("leaf"));
        for (const Certificate& c : b.chain)
            addCertificate(c, bundleLabels, QStringLiteral("chain"));
        addCertificate(b.anchor, bundleLabels, QStringLiteral("anchor"));

        for (const AttachedStaple& s : b.staples) {
            for (const OcspSingleResponse& response : s.staple.responses()) {
                QMap<QString, QString> labels = bundleLabels;
                labels.insert(QStringLiteral("serial"), response.certId.serialHex());
                addSample(QStringLiteral("staplescope_staple_this_update"), QStringLiteral("gauge"),
                          QStringLiteral("The staple's thisUpdate, in Unix seconds."), withExtra(labels),
                          double(response.thisUpdate.toSecsSinceEpoch()));
                if (response.nextUpdate.isValid()) {
                    addSample(QStringLiteral("staplescope_staple_next_update"), QStringLiteral("gauge"),
                              QStringLiteral("The staple's nextUpdate, in Unix seconds (absent when the responder gave none)."),
                              withExtra(labels), double(response.nextUpdate.toSecsSinceEpoch()));
                    const QDateTime refresh = options.stapleRefreshPoint(response.thisUpdate, response.nextUpdate);
                    addSample(QStringLiteral("staplescope_staple_refresh_point"), QStringLiteral("gauge"),
                              QStringLiteral("When the staple should be refreshed, in Unix seconds."), withExtra(labels),
                              double(refresh.toSecsSinceEpoch()));
                }
                for (OcspCertStatus status : {OcspCertStatus::Good, OcspCertStatus::Revoked, OcspCertStatus::Unknown}) {
                    QMap<QString, QString> statusLabels = labels;
                    statusLabels.insert(QStringLiteral("status"), ocspStatusName(status));
                    addSample(QStringLiteral("staplescope_staple_status"), QStringLiteral("gauge"),
                              QStringLiteral("The certificate status the staple gives: 1 on the status it says."),
                              withExtra(statusLabels), response.status == status ? 1 : 0);
                }
            }
        }

        for (Severity s : severities) {
            QMap<QString, QString> labels = bundleLabels;
            labels.insert(QStringLiteral("severity"), s == Severity::Info ? QStringLiteral("ok") : severityName(s));
            const bool isWorst = r.worst == s;
            addSample(QStringLiteral("staplescope_bundle_status"), QStringLiteral("gauge"),
                      QStringLiteral("1 on the bundle's worst finding severity (ok when it has none worse than info)."),
                      withExtra(labels), isWorst ? 1 : 0);
        }
    }

    // Findings per bundle (and those about no bundle: inputs and connections, with empty labels).
    auto addFindings = [&](const QList<Finding>& findings, const QMap<QString, QString>& placeLabels) {
        for (Severity s : severities) {
            QMap<QString, QString> labels = placeLabels;
            labels.insert(QStringLiteral("severity"), severityName(s));
            const auto count = std::count_if(findings.cbegin(), findings.cend(), [s](const Finding& f) { return f.severity == s; });
            addSample(QStringLiteral("staplescope_findings"), QStringLiteral("gauge"),
                      QStringLiteral("How many findings of each severity."), withExtra(labels), double(count));
        }
        for (const Finding& f : findings) {
            QMap<QString, QString> labels = placeLabels;
            labels.insert(QStringLiteral("code"), f.code);
            labels.insert(QStringLiteral("severity"), severityName(f.severity));
            addSample(QStringLiteral("staplescope_finding"), QStringLiteral("gauge"),
                      QStringLiteral("1 for each finding code present (docs/findings.md)."), withExtra(labels), 1);
        }
    };
    for (const BundleReport& r : report.bundles)
        addFindings(r.findings, {{QStringLiteral("bundle"), r.bundle.leaf.displayName()},
                                 {QStringLiteral("location"), bundleLocation(r.bundle)}});
    addFindings(report.inputFindings, {{QStringLiteral("bundle"), QString()}, {QStringLiteral("location"), QString()}});

    for (const auto& [code, count] : countByCode(report.silenced))
        addSample(QStringLiteral("staplescope_silenced_findings"), QStringLiteral("gauge"),
                  QStringLiteral("Findings left out by --ignore, per code."), withExtra({{QStringLiteral("code"), code}}), count);

    // Checked: at least one certificate was evaluated and no server refused or failed the check.
    const bool connectionFailed = std::any_of(report.inputFindings.cbegin(), report.inputFindings.cend(), [](const Finding& f) {
        const FindingInfo* info = findingInfo(f);
        return info && info->category == FindingCategory::Connection && f.severity >= Severity::Error;
    });
    addSample(QStringLiteral("staplescope_check_success"), QStringLiteral("gauge"),
              QStringLiteral("1 when the inputs or the server could be checked."), withExtra({}),
              !report.bundles.isEmpty() && !connectionFailed ? 1 : 0);
}

QString PrometheusExposition::text() const
{
    QString out;
    for (const QString& name : m_order) {
        const Family& family = m_families.value(name);
        out += QStringLiteral("# HELP %1 %2\n# TYPE %1 %3\n").arg(name, family.help, family.type);
        for (const QString& line : family.lines)
            out += line + QLatin1Char('\n');
    }
    return out;
}

QString reportToPrometheus(const InspectionReport& report, const AnalysisOptions& options)
{
    PrometheusExposition exposition;
    exposition.addReport(report, options);
    return exposition.text();
}

} // namespace staplescope
