#include "Finding.h"

#include <QHash>

#include <algorithm>

namespace staplescope {

QString severityName(Severity severity)
{
    switch (severity) {
    case Severity::Info: return QStringLiteral("info");
    case Severity::Warning: return QStringLiteral("warning");
    case Severity::Error: return QStringLiteral("error");
    case Severity::Critical: return QStringLiteral("critical");
    }
    return QStringLiteral("info");
}

std::optional<Severity> severityFromName(const QString& name)
{
    for (Severity s : {Severity::Info, Severity::Warning, Severity::Error, Severity::Critical})
        if (severityName(s).compare(name, Qt::CaseInsensitive) == 0)
            return s;
    return std::nullopt;
}

Severity worstSeverity(const QList<Finding>& findings)
{
    Severity worst = Severity::Info;
    for (const Finding& f : findings)
        worst = std::max(worst, f.severity);
    return worst;
}

void sortFindings(QList<Finding>& findings)
{
    std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
        if (a.severity != b.severity)
            return a.severity > b.severity;
        return a.code < b.code;
    });
}

QString findingKind(const Finding& finding)
{
    return finding.code + QChar(0) + severityName(finding.severity) + QChar(0) + finding.title;
}

QList<Finding> collapseRepeatedFindings(const QList<Finding>& findings, const QString& place)
{
    return collapseRepeatedFindings(findings, place, {});
}

QList<Finding> collapseRepeatedFindings(const QList<Finding>& findings, const QString& place,
                                        const QHash<QString, qsizetype>& notKept)
{
    const auto kindOf = findingKind;
    QHash<QString, qsizetype> counts = notKept;
    for (const Finding& f : findings)
        ++counts[kindOf(f)];
    bool anyCollapsed = false;
    for (qsizetype n : std::as_const(counts))
        anyCollapsed = anyCollapsed || n > kRepeatsBeforeCollapse;
    if (!anyCollapsed)
        return findings;

    QList<Finding> out;
    QHash<QString, qsizetype> summaryAt; // kind -> index of its summary in `out`
    QHash<QString, int> shown;
    for (const Finding& f : findings) {
        const QString kind = kindOf(f);
        const qsizetype total = counts.value(kind);
        if (total <= kRepeatsBeforeCollapse) {
            out << f;
            continue;
        }
        int& detailed = shown[kind];
        if (!summaryAt.contains(kind)) {
            // The first of the kind, made general: its code, severity, title, fix and remedy stand for all.
            Finding summary = f;
            summary.subject = place;
            summary.message = QStringLiteral("%1 times in %2. The first %3:").arg(QString::number(total), place,
                                                                                 QString::number(kLocationsShownWhenCollapsed));
            summary.objectIds.clear();
            summaryAt.insert(kind, out.size());
            out << summary;
        }
        if (detailed >= kLocationsShownWhenCollapsed)
            continue;
        ++detailed;
        Finding& summary = out[summaryAt.value(kind)];
        // Concatenation, not arg(): the details are outside text and must not be scanned for %N.
        summary.message += QStringLiteral(" (") + QString::number(detailed) + QStringLiteral(") ") + f.subject +
                           QStringLiteral(": ") + f.message;
        for (const QString& id : f.objectIds)
            if (!summary.objectIds.contains(id))
                summary.objectIds << id;
    }
    return out;
}

} // namespace staplescope
