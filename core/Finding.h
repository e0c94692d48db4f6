#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace staplescope {

// Ordered: a larger value is worse.
enum class Severity { Info = 0, Warning = 1, Error = 2, Critical = 3 };

QString severityName(Severity severity);                 // "info", "warning", "error", "critical"
std::optional<Severity> severityFromName(const QString& name);

struct Finding {
    QString code;        // public contract: see docs/findings.md
    Severity severity = Severity::Info;
    QString title;       // one line for lists and verdicts: "Staple belongs to the previous certificate"
    QString subject;     // which file and which certificate or staple
    QString message;     // what is wrong, the likely cause
    QString fix;         // what to do (may be empty for info findings)
    QStringList objectIds; // Certificate::id() / OcspStaple::id() this finding concerns (for highlighting)

    bool operator==(const Finding&) const = default;
};

// Worst severity of a list; Info for an empty list.
Severity worstSeverity(const QList<Finding>& findings);

// Stable sort: worst first, then by code.
void sortFindings(QList<Finding>& findings);

} // namespace staplescope
