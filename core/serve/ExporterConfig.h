#pragma once
// What `staplescope-cli serve` is configured with (docs/monitoring.md, "The exporter"): the files
// /metrics inspects, the targets /probe may connect to, the thresholds and silenced codes of the
// analysis, and the bounds that keep the exporter small whatever its clients do.
//
// The configuration file is lines of `key = value` (repeatable keys add to a list), `#` comments
// and blank lines; every error names file:line.

#include "Analyzer.h"

#include <QString>
#include <QStringList>

#include <optional>

namespace staplescope {

struct ExporterConfig {
    QString listen;                 // HOST:PORT; empty: the command's default (127.0.0.1:9219)
    bool allowNonLoopback = false;  // listening elsewhere than loopback is asked for explicitly
    QStringList paths;              // inspected on every /metrics scrape, each as `inspect PATH`
    QStringList allowTargets;       // globs over HOST:PORT; none: /probe answers 403 to everything
    QStringList caFiles;
    bool useSystemTrust = true;
    QStringList ignoreCodes;        // silenced (silenceFindings), named in the output

    // Thresholds, as `inspect`'s options set them (AnalysisOptions).
    std::optional<qint64> expiryWarningSeconds;
    std::optional<qint64> expiryCriticalSeconds;
    std::optional<qint64> stapleWarningSeconds;
    std::optional<qint64> stapleCriticalSeconds;
    std::optional<double> stapleRefreshFraction;

    // Bounds.
    int maxConcurrentProbes = 8;    // probes running at once
    int maxQueuedProbes = 64;       // waiting for a slot; beyond that /probe answers 503
    int probeTimeoutMs = 15000;     // per probe, queueing included; Prometheus' scrape timeout lowers it
    int scrapeTimeoutMarginMs = 500; // kept free of a scrape timeout, for the answer to travel back
    int maxConnections = 128;       // open client connections; beyond that: 503 and close
    int readTimeoutMs = 10000;      // a request must arrive completely within this (slow clients)
    int idleTimeoutMs = 60000;      // a kept-alive connection without a request is closed
    int maxHeaderBytes = 16 * 1024; // request line and headers together
    int maxHeaderLines = 64;

    // The analysis options these thresholds make (the evaluation time stays the caller's).
    AnalysisOptions analysisOptions() const;
};

// Reads `key = value` lines into `config` (on top of what it holds: lists are appended to).
// Returns an empty string, or the first problem as "FILE:LINE: what is wrong".
QString readExporterConfig(const QString& path, ExporterConfig& config);
// The same on text already read (`fileName` only names it in messages).
QString parseExporterConfig(const QByteArray& text, const QString& fileName, ExporterConfig& config);

// Checks one --allow-target glob: HOST:PORT where HOST and PORT may use `*` (any run of
// characters) and `?` (one). Empty string when it is usable, else why not.
QString allowTargetProblem(const QString& glob);

// The canonical form a target is matched in: lower-case host, IPv6 in brackets, decimal port.
QString canonicalTarget(const QString& host, quint16 port);

// Whether `target` (canonicalTarget form) matches one of `globs` (case-insensitive).
bool targetAllowed(const QString& target, const QStringList& globs);

// Bounds on what a config may say, so a typo cannot make the exporter unbounded.
inline constexpr int kMaxConcurrentProbesLimit = 256;
inline constexpr int kMaxQueuedProbesLimit = 4096;
inline constexpr int kMaxConnectionsLimit = 4096;
inline constexpr int kMaxConfigLines = 10000;
inline constexpr qint64 kMaxConfigBytes = 1024 * 1024;

} // namespace staplescope
