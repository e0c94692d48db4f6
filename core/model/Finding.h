#pragma once

#include <QHash>
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

// Bounds on repeated findings, so that hostile input cannot multiply its own size in the report.
// A kind (same code, severity and title) seen more than kRepeatsBeforeCollapse times in one place
// becomes a single finding that gives the count and the first kLocationsShownWhenCollapsed details.
inline constexpr int kRepeatsBeforeCollapse = 5;
inline constexpr int kLocationsShownWhenCollapsed = 3;

// Collapses kinds that repeat more than kRepeatsBeforeCollapse times within `findings` (all about
// one `place`: a file, a bundle). The summary stands where the kind first appeared; the order of
// everything else is kept. Linear in the number of findings.
QList<Finding> collapseRepeatedFindings(const QList<Finding>& findings, const QString& place);

// What collapseRepeatedFindings groups by: code, severity and title.
QString findingKind(const Finding& finding);

// The same, for a producer that stores only the first few findings of a kind (so that hostile input
// cannot make it hold millions): `notKept` counts, by findingKind(), those it saw but did not store,
// and the summary gives the true total.
QList<Finding> collapseRepeatedFindings(const QList<Finding>& findings, const QString& place,
                                        const QHash<QString, qsizetype>& notKept);

} // namespace staplescope
