#include "Finding.h"

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

} // namespace staplescope
