#pragma once
// Outputs for monitoring systems (docs/monitoring.md): the Nagios/Icinga plugin format and the
// Prometheus text exposition format. Both present an InspectionReport as the analysis made it; the
// thresholds they print are the ones the analysis used (AnalysisOptions), never their own.

#include "Analyzer.h"
#include "Inspection.h"

#include <QList>
#include <QMap>
#include <QSet>
#include <QString>

namespace staplescope {

// The Nagios plugin convention (Monitoring Plugins Development Guidelines):
//   STAPLESCOPE CRITICAL - mail.example.org:587: Staple belongs to the previous certificate | 'days_left'=…;…
//   long output (one line per finding, worst first; silenced codes named)
//   | more perfdata
// Perfdata: one `'LABEL'=VALUE[UOM];WARN;CRIT;MIN;MAX` per certificate (days left, warn/crit from
// the options' expiry thresholds) and per staple (hours left until nextUpdate, warn/crit from the
// staple thresholds). `target` names what was checked (host:port, or the paths) on the status line.
// The status word follows report.exitCode(): OK, WARNING, CRITICAL; UNKNOWN is for runs that could
// not check at all (the caller's usage errors).
QString reportToNagios(const InspectionReport& report, const AnalysisOptions& options, const QString& target);
// The UNKNOWN status line for a run that could not check at all (a usage error): Nagios shows
// stdout, so the reason goes there as one line; the caller exits with 3.
QString nagiosUnknown(const QString& why);

// Prometheus text exposition format 0.0.4, metric names in the style of ssl_exporter:
//   staplescope_cert_not_after{bundle,location,serial,role}            gauge, Unix seconds
//   staplescope_cert_not_before{bundle,location,serial,role}           gauge, Unix seconds
//   staplescope_staple_this_update{bundle,location,serial}             gauge, Unix seconds
//   staplescope_staple_next_update{bundle,location,serial}             gauge, Unix seconds
//   staplescope_staple_refresh_point{bundle,location,serial}           gauge, Unix seconds
//   staplescope_staple_status{bundle,location,serial,status}           gauge 1/0 for good/revoked/unknown
//   staplescope_bundle_status{bundle,location,severity}                gauge 1 on the bundle's worst severity (ok when none)
//   staplescope_findings{bundle,location,severity}                     gauge, count per severity (every severity present)
//   staplescope_finding{bundle,location,code,severity}                 gauge 1 per finding code present
//   staplescope_silenced_findings{code}                                gauge, count silenced by --ignore
//   staplescope_check_success                                          gauge 1 when the inputs/server could be checked
// `bundle` is the leaf's display name, `location` its origin (file/folder, or host:port).
// An exposition collects several reports (serve's /metrics reads several configured paths) and the
// exporter's own series, and prints each family's HELP and TYPE once.
class PrometheusExposition {
public:
    // `extraLabels` go on every series of this report (serve adds target="…" for a probe, path="…").
    void addReport(const InspectionReport& report, const AnalysisOptions& options,
                   const QMap<QString, QString>& extraLabels = {});
    // A series of the caller's own (the exporter's scrape durations and counters).
    void addSample(const QString& family, const QString& type, const QString& help,
                   const QMap<QString, QString>& labels, double value);
    QString text() const;

private:
    struct Family {
        QString type;
        QString help;
        QStringList lines;
        QSet<QString> series; // name{labels} of every line: a series is printed once
    };
    QList<QString> m_order;
    QMap<QString, Family> m_families;
};

// One report alone (inspect/connect --format prometheus, node_exporter's textfile collector).
QString reportToPrometheus(const InspectionReport& report, const AnalysisOptions& options);

} // namespace staplescope
