#pragma once
// The Prometheus exporter behind `staplescope-cli serve` (docs/monitoring.md): a small HTTP/1.1
// server on QTcpServer, running in the caller's thread and event loop.
//
//   GET /probe?target=HOST:PORT[&starttls=PROTO][&servername=NAME]
//       the live check of `staplescope-cli connect HOST:PORT` (runServerChecks), answered in the
//       Prometheus text format with staplescope_probe_success and _duration_seconds; only for
//       targets an allow-target glob matches (else 403).
//   GET /metrics   the configured paths, each inspected as `inspect PATH` on every scrape, and the
//                  exporter's own counters.
//   GET /          a page naming the endpoints.
//
// Probes and file inspections run on thread pools; the event loop only reads requests and writes
// answers. Every resource has a bound from ExporterConfig: probes running and queued, connections,
// head size, the time a request may take to arrive, the time a probe may take.

#include "ExporterConfig.h"

#include "Clock.h"
#include "TrustStore.h"

#include <QHostAddress>
#include <QObject>
#include <QThreadPool>

#include <deque>
#include <functional>
#include <map>
#include <memory>

class QTcpServer;

namespace staplescope {

struct HttpRequestHead;

// What the exporter counted since it started (its /metrics series).
struct ExporterCounters {
    qint64 probesSucceeded = 0;
    qint64 probesFailed = 0;     // answered; the check found no usable TLS endpoint
    qint64 probesTimedOut = 0;
    qint64 rejectedTargets = 0;  // 403: no allow-target glob matched
    qint64 rejectedBusy = 0;     // 503: probe queue, /metrics queue or connection limit full
    qint64 badRequests = 0;      // 400, 404, 405, 408, 414, 431, 505
    int probesRunning = 0;
    int probesQueued = 0;
    int connections = 0;
};

class Exporter : public QObject {
public:
    explicit Exporter(ExporterConfig config, std::shared_ptr<const Clock> clock = Clock::system(),
                      QObject* parent = nullptr);
    ~Exporter() override;
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    // Starts listening (port 0: a free one). False, with `error` set, when it cannot.
    bool listen(const QHostAddress& address, quint16 port, QString* error);
    QHostAddress serverAddress() const;
    quint16 serverPort() const;

    // Stops accepting, cancels queued and running probes, waits for the workers (each stops within
    // about 100 ms of its cancel flag) and closes every connection. Called by the destructor.
    void stop();

    // One line per answered request: peer, request line, status, bytes, seconds. Never key material;
    // the request target is escaped.
    void setRequestLog(std::function<void(const QString&)> log) { m_log = std::move(log); }

    const ExporterCounters& counters() const { return m_counters; }
    // What reading the configured CA files found (an unreadable file, one without certificates):
    // the probes use the anchors that could be read; `serve` prints these when it starts.
    const QList<Finding>& trustFindings() const { return m_trustFindings; }
    const ExporterConfig& config() const { return m_config; }

private:
    struct Client;
    struct ProbeJob;

    void acceptConnections();
    void readFrom(quint64 clientId);
    void onTimer(quint64 clientId);
    void closeClient(quint64 clientId);
    void dispatch(Client& client, const HttpRequestHead& head);
    void handleProbe(Client& client, const HttpRequestHead& head, const QByteArray& query, bool headOnly,
                     bool close);
    void handleMetrics(Client& client, bool headOnly, bool close);
    void startQueuedProbes();
    void onProbeFinished(const std::shared_ptr<ProbeJob>& job);
    void onProbeDeadline(const std::shared_ptr<ProbeJob>& job);
    void answerProbe(const std::shared_ptr<ProbeJob>& job, const QByteArray& body, bool success, bool timedOut);
    struct Response {
        int status = 200;
        QByteArray contentType = "text/plain; charset=utf-8";
        QByteArray body;
        QList<std::pair<QByteArray, QByteArray>> extraFields;
        bool headOnly = false;
        bool close = false;
    };
    void respond(Client& client, Response response);
    void respondError(Client& client, int status, const QString& reason, bool close = false);
    QString selfMetricsText(double scrapeSeconds) const;

    ExporterConfig m_config;
    std::shared_ptr<const Clock> m_clock;
    // Built once and shared by every probe (read only while probing; X509_STORE locks itself).
    std::shared_ptr<TrustStore> m_trust;
    QList<Finding> m_trustFindings;
    QTcpServer* m_server = nullptr;
    QThreadPool m_probePool;
    QThreadPool m_metricsPool;
    std::map<quint64, std::unique_ptr<Client>> m_clients;
    quint64 m_nextClientId = 1;
    std::deque<std::shared_ptr<ProbeJob>> m_probeQueue;
    std::map<ProbeJob*, std::shared_ptr<ProbeJob>> m_runningProbes;
    int m_metricsPending = 0;
    bool m_stopping = false;
    ExporterCounters m_counters;
    std::function<void(const QString&)> m_log;
};

// The Content-Type of every Prometheus answer (text exposition format 0.0.4).
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// /metrics answers at most this many scrapes waiting for the file inspection at once.
inline constexpr int kMaxPendingMetricsScrapes = 4;

// A probe that outlives its deadline (a DNS lookup cannot be interrupted) is answered as timed out
// this long after the deadline; its worker keeps its slot until it returns.
inline constexpr int kProbeDeadlineGraceMs = 1000;

} // namespace staplescope
