#include "Exporter.h"

#include "HttpRequestHead.h"
#include "MonitoringFormat.h"
#include "ServerCheck.h"
#include "TextEscape.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrlQuery>

#include <atomic>
#include <cmath>

namespace staplescope {

struct Exporter::Client {
    quint64 id = 0;
    QTcpSocket* socket = nullptr; // child of the exporter; deleted with deleteLater on close
    QTimer* timer = nullptr;      // child of the socket
    enum class Wait { Request, Idle, Closing } wait = Wait::Request;
    QString peer;
    QByteArray buffer;            // received, not yet consumed (bounded by the read buffer size)
    HttpRequestHeadReader reader;
    bool busy = false;            // a request is being answered; the next one waits in the buffer
    bool closing = false;         // the last answer said Connection: close
    QElapsedTimer requestTimer;
    QByteArray requestLine;       // for the log
    std::shared_ptr<ProbeJob> job;

    Client(int maxHeadBytes, int maxLines) : reader(maxHeadBytes, maxLines) {}
};

struct Exporter::ProbeJob {
    quint64 clientId = 0;
    bool headOnly = false;
    bool close = false;   // the answer ends the connection
    QString target;
    ServerCheckRequest request;
    ServerCheckOptions options;
    AnalysisOptions analysis;
    QStringList ignoreCodes;
    QDeadlineTimer deadline;
    QElapsedTimer elapsed;
    std::atomic<bool> cancel{false};
    bool started = false;  // main thread only
    bool answered = false; // main thread only
    // Written by the worker before it posts the result; read by the main thread after.
    QByteArray body;
    bool success = false;
    bool timedOut = false;
};

namespace {

// A probe that ends within this of its deadline without TLS ran out of time.
constexpr int kTimedOutSlackMs = 150;

QByteArray htmlPage(const ExporterConfig& config)
{
    return QStringLiteral(
               "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Staplescope exporter</title></head>\n"
               "<body><h1>Staplescope exporter</h1>\n<ul>\n"
               "<li><a href=\"/metrics\">/metrics</a>: the %1 configured path(s), inspected on every scrape, "
               "and the exporter's own counters</li>\n"
               "<li>/probe?target=HOST:PORT[&amp;starttls=PROTO][&amp;servername=NAME]: a live check of one "
               "server (%2 allow-target pattern(s); other targets are refused)</li>\n"
               "</ul>\n<p>See docs/monitoring.md for the scrape configuration.</p>\n</body></html>\n")
        .arg(config.paths.size())
        .arg(config.allowTargets.size())
        .toUtf8();
}

// A DNS name or an IP literal, as a target or an SNI name may be: nothing a URL could smuggle.
bool isPlainHostName(const QString& host)
{
    if (host.isEmpty() || host.size() > 253)
        return false;
    if (!QHostAddress(host).isNull())
        return true;
    for (const QChar c : host) {
        const bool ok = (c >= QLatin1Char('a') && c <= QLatin1Char('z')) || (c >= QLatin1Char('A') && c <= QLatin1Char('Z'))
                        || (c >= QLatin1Char('0') && c <= QLatin1Char('9')) || c == QLatin1Char('.') || c == QLatin1Char('-')
                        || c == QLatin1Char('_');
        if (!ok)
            return false;
    }
    return true;
}

QString formatSeconds(double seconds) { return QString::number(seconds, 'f', 3); }

} // namespace

Exporter::Exporter(ExporterConfig config, std::shared_ptr<const Clock> clock, QObject* parent)
    : QObject(parent), m_config(std::move(config)), m_clock(std::move(clock)), m_server(new QTcpServer(this))
{
    m_trust = std::make_shared<TrustStore>(m_config.useSystemTrust);
    for (const QString& caFile : m_config.caFiles)
        m_trustFindings += m_trust->addCaFile(caFile);
    m_probePool.setMaxThreadCount(m_config.maxConcurrentProbes);
    m_metricsPool.setMaxThreadCount(1); // file inspections one after the other: they share disks, not sockets
    // Accepting is ours to bound (maxConnections); the kernel's backlog is the listen queue.
    connect(m_server, &QTcpServer::newConnection, this, &Exporter::acceptConnections);
}

Exporter::~Exporter() { stop(); }

bool Exporter::listen(const QHostAddress& address, quint16 port, QString* error)
{
    if (m_server->listen(address, port))
        return true;
    if (error)
        *error = m_server->errorString();
    return false;
}

QHostAddress Exporter::serverAddress() const { return m_server->serverAddress(); }
quint16 Exporter::serverPort() const { return m_server->serverPort(); }

void Exporter::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_server->close();
    for (const auto& job : m_probeQueue)
        job->cancel = true;
    m_probeQueue.clear();
    for (const auto& [raw, job] : m_runningProbes)
        job->cancel = true;
    m_probePool.waitForDone();
    m_metricsPool.waitForDone();
    m_runningProbes.clear();
    m_counters.probesRunning = 0;
    m_counters.probesQueued = 0;
    for (auto& [id, client] : m_clients) {
        client->socket->disconnect(this);
        client->socket->abort();
        client->socket->deleteLater();
    }
    m_clients.clear();
    m_counters.connections = 0;
}

void Exporter::acceptConnections()
{
    while (QTcpSocket* socket = m_server->nextPendingConnection()) {
        if (m_stopping || int(m_clients.size()) >= m_config.maxConnections) {
            // Over the limit: one line and close, without reading the request.
            ++m_counters.rejectedBusy;
            const QByteArray body = QByteArrayLiteral("too many connections to this exporter (max-connections)\n");
            socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                          "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body);
            if (m_log)
                m_log(QStringLiteral("%1:%2 (connection) 503 max-connections %3 reached")
                          .arg(socket->peerAddress().toString())
                          .arg(socket->peerPort())
                          .arg(m_config.maxConnections));
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            socket->disconnectFromHost();
            // A client that never reads is dropped after the read timeout.
            QTimer::singleShot(m_config.readTimeoutMs, socket, [socket] { socket->abort(); });
            continue;
        }
        auto client = std::make_unique<Client>(m_config.maxHeaderBytes, m_config.maxHeaderLines);
        const quint64 id = m_nextClientId++;
        client->id = id;
        client->socket = socket;
        socket->setParent(this);
        // Qt stops reading from the kernel when this is full: a client cannot make us buffer more
        // than one request head while its previous request is being answered.
        socket->setReadBufferSize(m_config.maxHeaderBytes + 1);
        client->peer = QStringLiteral("%1:%2").arg(socket->peerAddress().toString()).arg(socket->peerPort());
        client->timer = new QTimer(socket);
        client->timer->setSingleShot(true);
        client->timer->start(m_config.readTimeoutMs);
        connect(client->timer, &QTimer::timeout, this, [this, id] { onTimer(id); });
        connect(socket, &QTcpSocket::readyRead, this, [this, id] { readFrom(id); });
        connect(socket, &QTcpSocket::disconnected, this, [this, id] { closeClient(id); });
        connect(socket, &QTcpSocket::errorOccurred, this, [this, id](QAbstractSocket::SocketError error) {
            if (error != QAbstractSocket::RemoteHostClosedError)
                closeClient(id);
        });
        m_clients.emplace(id, std::move(client));
        m_counters.connections = int(m_clients.size());
        // Bytes may have arrived with the connection.
        QMetaObject::invokeMethod(this, [this, id] { readFrom(id); }, Qt::QueuedConnection);
    }
}

void Exporter::closeClient(quint64 clientId)
{
    const auto it = m_clients.find(clientId);
    if (it == m_clients.end())
        return;
    Client& client = *it->second;
    if (client.job)
        client.job->cancel = true; // nobody waits for it any more
    client.socket->disconnect(this);
    client.timer->stop();
    client.socket->abort();
    client.socket->deleteLater();
    m_clients.erase(it);
    m_counters.connections = int(m_clients.size());
}

void Exporter::onTimer(quint64 clientId)
{
    const auto it = m_clients.find(clientId);
    if (it == m_clients.end())
        return;
    Client& client = *it->second;
    if (client.wait == Client::Wait::Request && !client.busy) {
        ++m_counters.badRequests;
        respondError(client, 408, QStringLiteral("the request did not arrive within %1 s (read-timeout)")
                                      .arg(m_config.readTimeoutMs / 1000.0),
                     true);
        return;
    }
    // Idle between requests, or a closing connection whose client does not read the answer.
    closeClient(clientId);
}

void Exporter::readFrom(quint64 clientId)
{
    const auto it = m_clients.find(clientId);
    if (it == m_clients.end())
        return;
    Client& client = *it->second;
    if (client.busy || client.closing)
        return; // answered first; what arrives waits in the socket's bounded buffer
    const qsizetype room = m_config.maxHeaderBytes + 1 - client.buffer.size();
    if (room > 0)
        client.buffer += client.socket->read(room);
    if (client.buffer.isEmpty())
        return;
    if (client.wait == Client::Wait::Idle) {
        // The first byte of the next request: from now on it must arrive within the read timeout.
        client.wait = Client::Wait::Request;
        client.timer->start(m_config.readTimeoutMs);
    }
    if (!client.requestTimer.isValid())
        client.requestTimer.start();
    switch (client.reader.read(client.buffer)) {
    case HttpRequestHeadReader::State::NeedMore:
        return;
    case HttpRequestHeadReader::State::Failed: {
        ++m_counters.badRequests;
        // The log shows at most the first 200 bytes of what could not be read as a request.
        const qsizetype lineEnd = client.buffer.indexOf('\n');
        client.requestLine = client.buffer.left(lineEnd < 0 || lineEnd > 200 ? 200 : lineEnd).trimmed();
        respondError(client, client.reader.failureStatus(), client.reader.failureReason(), true);
        return;
    }
    case HttpRequestHeadReader::State::Complete:
        break;
    }
    const HttpRequestHead head = client.reader.head();
    client.buffer.remove(0, client.reader.consumed());
    client.reader.reset();
    client.timer->stop();
    client.busy = true;
    client.requestLine = head.method + ' ' + head.target.left(300);
    dispatch(client, head);
}

void Exporter::dispatch(Client& client, const HttpRequestHead& head)
{
    // Requests carry no body here: one that announces a body would leave bytes we cannot frame.
    const QByteArray length = head.field("content-length");
    if ((!length.isNull() && length != "0") || !head.field("transfer-encoding").isNull()) {
        ++m_counters.badRequests;
        respondError(client, 400, QStringLiteral("requests to this exporter carry no body"), true);
        return;
    }
    const bool headOnly = head.method == "HEAD";
    if (head.method != "GET" && !headOnly) {
        ++m_counters.badRequests;
        Response response;
        response.status = 405;
        response.body = QStringLiteral("method %1 is not allowed here: GET or HEAD\n").arg(escapeText(QString::fromLatin1(head.method))).toUtf8();
        response.extraFields = {{"Allow", "GET, HEAD"}};
        response.close = !head.keepAlive();
        respond(client, response);
        return;
    }
    const qsizetype question = head.target.indexOf('?');
    const QByteArray path = question < 0 ? head.target : head.target.left(question);
    const QByteArray query = question < 0 ? QByteArray() : head.target.mid(question + 1);
    const bool close = !head.keepAlive();

    if (path == "/") {
        Response response;
        response.contentType = "text/html; charset=utf-8";
        response.body = htmlPage(m_config);
        response.headOnly = headOnly;
        response.close = close;
        respond(client, response);
    } else if (path == "/metrics") {
        handleMetrics(client, headOnly, close);
    } else if (path == "/probe") {
        handleProbe(client, head, query, headOnly, close);
    } else {
        ++m_counters.badRequests;
        respondError(client, 404, QStringLiteral("no such page: try /metrics or /probe?target=HOST:PORT"), close);
    }
}

void Exporter::handleProbe(Client& client, const HttpRequestHead& head, const QByteArray& query, bool headOnly, bool close)
{
    const auto bad = [&](const QString& reason) {
        ++m_counters.badRequests;
        respondError(client, 400, reason, close);
    };
    const QUrlQuery items(QString::fromLatin1(query));
    QString target, starttls, serverName;
    for (const auto& [rawKey, rawValue] : items.queryItems(QUrl::FullyEncoded)) {
        const QString key = QUrl::fromPercentEncoding(rawKey.toLatin1());
        const QString value = QUrl::fromPercentEncoding(QString(rawValue).replace(QLatin1Char('+'), QLatin1Char(' ')).toLatin1());
        QString* slot = key == QLatin1String("target")       ? &target
                        : key == QLatin1String("starttls")   ? &starttls
                        : key == QLatin1String("servername") ? &serverName
                                                             : nullptr;
        if (!slot)
            return bad(QStringLiteral("unknown parameter '%1' (target, starttls, servername)").arg(escapeText(key)));
        if (!slot->isNull())
            return bad(QStringLiteral("parameter '%1' given twice").arg(key));
        *slot = value.isNull() ? QStringLiteral("") : value;
    }
    if (target.isEmpty())
        return bad(QStringLiteral("no target: /probe?target=HOST:PORT"));
    const auto hostPort = parseHostPort(target);
    if (!hostPort || !isPlainHostName(hostPort->host) || hostPort->port == 0)
        return bad(QStringLiteral("target '%1' is not HOST:PORT (IPv6: [2001:db8::1]:443)").arg(escapeText(target)));
    std::optional<StartTlsProtocol> protocol;
    if (!starttls.isNull()) {
        protocol = startTlsProtocolFromName(starttls);
        if (!protocol)
            return bad(QStringLiteral("unknown starttls '%1' (%2)")
                           .arg(escapeText(starttls), startTlsProtocolNames().join(QStringLiteral(", "))));
    }
    if (!serverName.isNull() && !isPlainHostName(serverName))
        return bad(QStringLiteral("servername '%1' is not a host name").arg(escapeText(serverName)));

    const QString canonical = canonicalTarget(hostPort->host, hostPort->port);
    if (!targetAllowed(canonical, m_config.allowTargets)) {
        ++m_counters.rejectedTargets;
        respondError(client, 403,
                     m_config.allowTargets.isEmpty()
                         ? QStringLiteral("target %1 is not allowed: no --allow-target pattern is configured").arg(canonical)
                         : QStringLiteral("target %1 matches no --allow-target pattern").arg(canonical),
                     close);
        return;
    }
    // Entries whose client left or whose deadline answered them hold no place in the queue.
    std::erase_if(m_probeQueue, [](const std::shared_ptr<ProbeJob>& queued) { return queued->cancel || queued->answered; });
    m_counters.probesQueued = int(m_probeQueue.size());
    if (int(m_probeQueue.size()) >= m_config.maxQueuedProbes && m_counters.probesRunning >= m_config.maxConcurrentProbes) {
        ++m_counters.rejectedBusy;
        Response response;
        response.status = 503;
        response.body = QStringLiteral("busy: %1 probes running and %2 waiting (max-concurrent-probes, max-queued-probes)\n")
                            .arg(m_counters.probesRunning)
                            .arg(m_probeQueue.size())
                            .toUtf8();
        response.extraFields = {{"Retry-After", "1"}};
        response.close = close;
        respond(client, response);
        return;
    }

    // The budget: ours, lowered by Prometheus' scrape timeout (minus a margin for the answer).
    int budgetMs = m_config.probeTimeoutMs;
    const QByteArray scrapeTimeout = head.field("x-prometheus-scrape-timeout-seconds");
    if (!scrapeTimeout.isNull()) {
        bool ok = false;
        const double seconds = scrapeTimeout.toDouble(&ok);
        if (ok && std::isfinite(seconds) && seconds > 0) {
            const double fromHeader = std::max(seconds * 1000.0 - m_config.scrapeTimeoutMarginMs, seconds * 500.0);
            budgetMs = int(std::min<double>(budgetMs, std::max(1.0, fromHeader)));
        }
    }

    auto job = std::make_shared<ProbeJob>();
    job->clientId = client.id;
    job->headOnly = headOnly;
    job->target = canonical;
    job->request.probe.host = QHostAddress(hostPort->host).isNull() ? hostPort->host.toLower() : QHostAddress(hostPort->host).toString();
    job->request.probe.port = hostPort->port;
    job->request.probe.startTls = protocol;
    job->request.probe.serverName = serverName;
    job->options.maxConcurrent = 1;
    job->options.trust = m_trust;
    job->options.clock = m_clock;
    job->analysis = m_config.analysisOptions();
    job->ignoreCodes = m_config.ignoreCodes;
    job->deadline = QDeadlineTimer(budgetMs);
    job->elapsed.start();
    job->close = close;
    client.job = job;
    m_probeQueue.push_back(job);
    m_counters.probesQueued = int(m_probeQueue.size());
    QTimer::singleShot(budgetMs, this, [this, job] { onProbeDeadline(job); });
    startQueuedProbes();
}

void Exporter::startQueuedProbes()
{
    while (!m_stopping && m_counters.probesRunning < m_config.maxConcurrentProbes && !m_probeQueue.empty()) {
        std::shared_ptr<ProbeJob> job = m_probeQueue.front();
        m_probeQueue.pop_front();
        m_counters.probesQueued = int(m_probeQueue.size());
        if (job->cancel || job->answered)
            continue; // its client left, or its deadline answered it while it waited
        const qint64 remaining = job->deadline.remainingTime();
        if (remaining <= 0) {
            onProbeDeadline(job);
            continue;
        }
        // The probe's own limits fit in what is left: it returns by the deadline on its own.
        ProbeOptions& probe = job->request.probe;
        probe.totalTimeoutMs = int(remaining);
        probe.connectTimeoutMs = std::min<int>(probe.connectTimeoutMs, int(remaining));
        probe.stepTimeoutMs = std::min<int>(probe.stepTimeoutMs, int(remaining));
        job->started = true;
        ++m_counters.probesRunning;
        m_runningProbes.emplace(job.get(), job);
        m_probePool.start([this, job] {
            // The live check exactly as `connect HOST:PORT` runs it, then evaluated at the
            // clock's now with the configured thresholds.
            AnalysisOptions analysis = job->analysis;
            analysis.at = job->options.clock->now().toUTC();
            job->options.at = analysis.at;
            const ServerCheckResult result = runServerChecks({job->request}, job->options, &job->cancel);
            InspectionReport report = result.session->evaluate(analysis);
            silenceFindings(report, job->ignoreCodes);
            bool success = !result.cancelled && !result.endpoints.isEmpty() && !result.endpoints.first().addresses.isEmpty();
            bool established = false;
            if (success)
                for (const ProbeResult& address : result.endpoints.first().addresses) {
                    success &= address.tlsEstablished;
                    established |= address.tlsEstablished;
                }
            job->timedOut = !established && job->deadline.remainingTime() <= kTimedOutSlackMs;
            job->success = success;
            PrometheusExposition exposition;
            exposition.addReport(report, analysis, {{QStringLiteral("target"), job->target}});
            exposition.addSample(QStringLiteral("staplescope_probe_success"), QStringLiteral("gauge"),
                                 QStringLiteral("Whether the live check reached TLS on every address of the target."), {},
                                 success ? 1 : 0);
            exposition.addSample(QStringLiteral("staplescope_probe_duration_seconds"), QStringLiteral("gauge"),
                                 QStringLiteral("Seconds the live check took, queueing included."), {},
                                 job->elapsed.nsecsElapsed() / 1e9);
            job->body = exposition.text().toUtf8();
            QMetaObject::invokeMethod(this, [this, job] { onProbeFinished(job); }, Qt::QueuedConnection);
        });
    }
}

void Exporter::onProbeFinished(const std::shared_ptr<ProbeJob>& job)
{
    if (m_stopping)
        return;
    m_runningProbes.erase(job.get());
    --m_counters.probesRunning;
    if (!job->answered)
        answerProbe(job, job->body, job->success, job->timedOut);
    startQueuedProbes();
}

void Exporter::onProbeDeadline(const std::shared_ptr<ProbeJob>& job)
{
    if (m_stopping || job->answered)
        return;
    if (job->started && job->deadline.remainingTime() > -kProbeDeadlineGraceMs) {
        // Running: its own limits end it at the deadline; wait a little for its findings.
        QTimer::singleShot(kProbeDeadlineGraceMs, this, [this, job] { onProbeDeadline(job); });
        return;
    }
    job->cancel = true;
    PrometheusExposition exposition;
    exposition.addSample(QStringLiteral("staplescope_probe_success"), QStringLiteral("gauge"),
                         QStringLiteral("Whether the live check reached TLS on every address of the target."), {}, 0);
    exposition.addSample(QStringLiteral("staplescope_probe_duration_seconds"), QStringLiteral("gauge"),
                         QStringLiteral("Seconds the live check took, queueing included."), {}, job->elapsed.nsecsElapsed() / 1e9);
    answerProbe(job, exposition.text().toUtf8(), false, true);
}

void Exporter::answerProbe(const std::shared_ptr<ProbeJob>& job, const QByteArray& body, bool success, bool timedOut)
{
    job->answered = true;
    if (success)
        ++m_counters.probesSucceeded;
    else if (timedOut)
        ++m_counters.probesTimedOut;
    else
        ++m_counters.probesFailed;
    const auto it = m_clients.find(job->clientId);
    if (it == m_clients.end() || it->second->job != job)
        return;
    Client& client = *it->second;
    client.job.reset();
    Response response;
    response.contentType = kPrometheusContentType;
    response.body = body;
    response.headOnly = job->headOnly;
    response.close = job->close;
    respond(client, response);
}

void Exporter::handleMetrics(Client& client, bool headOnly, bool close)
{
    if (m_metricsPending >= kMaxPendingMetricsScrapes) {
        ++m_counters.rejectedBusy;
        respondError(client, 503, QStringLiteral("busy: %1 /metrics scrapes are waiting already").arg(m_metricsPending), close);
        return;
    }
    ++m_metricsPending;
    const quint64 clientId = client.id;
    const ExporterConfig config = m_config;
    const std::shared_ptr<const Clock> clock = m_clock;
    // The counters as they are now; the scrape's own duration is added when it is known.
    const ExporterCounters counters = m_counters;
    m_metricsPool.start([this, clientId, config, clock, counters, headOnly, close] {
        QElapsedTimer timer;
        timer.start();
        PrometheusExposition exposition;
        AnalysisOptions analysis = config.analysisOptions();
        analysis.at = clock->now().toUTC();
        for (const QString& path : config.paths) {
            InspectRequest request;
            request.files.paths = {path};
            request.caFiles = config.caFiles;
            request.useSystemTrust = config.useSystemTrust;
            request.analysis = analysis;
            InspectionReport report = inspect(request);
            silenceFindings(report, config.ignoreCodes);
            exposition.addReport(report, analysis, {{QStringLiteral("path"), path}});
        }
        const auto counter = [&](const char* name, const char* help, const QMap<QString, QString>& labels, double value) {
            exposition.addSample(QLatin1String(name), QStringLiteral("counter"), QLatin1String(help), labels, value);
        };
        const auto gauge = [&](const char* name, const char* help, double value) {
            exposition.addSample(QLatin1String(name), QStringLiteral("gauge"), QLatin1String(help), {}, value);
        };
        const char* probesHelp = "Probes answered since the exporter started, by result.";
        counter("staplescope_exporter_probes_total", probesHelp, {{QStringLiteral("result"), QStringLiteral("success")}},
                double(counters.probesSucceeded));
        counter("staplescope_exporter_probes_total", probesHelp, {{QStringLiteral("result"), QStringLiteral("failure")}},
                double(counters.probesFailed));
        counter("staplescope_exporter_probes_total", probesHelp, {{QStringLiteral("result"), QStringLiteral("timeout")}},
                double(counters.probesTimedOut));
        gauge("staplescope_exporter_probes_in_flight", "Probes running now.", counters.probesRunning);
        gauge("staplescope_exporter_probes_queued", "Probes waiting for a free slot now.", counters.probesQueued);
        gauge("staplescope_exporter_connections", "Open client connections.", counters.connections);
        counter("staplescope_exporter_rejected_targets_total",
                "Probe requests refused with 403: the target matched no allow-target pattern.", {},
                double(counters.rejectedTargets));
        counter("staplescope_exporter_busy_rejections_total",
                "Requests refused with 503: probe queue, /metrics queue or connection limit full.", {},
                double(counters.rejectedBusy));
        counter("staplescope_exporter_bad_requests_total",
                "Requests answered 400, 404, 405, 408, 414, 431 or 505.", {}, double(counters.badRequests));
        gauge("staplescope_scrape_duration_seconds", "Seconds this /metrics scrape took to inspect the configured paths.",
              timer.nsecsElapsed() / 1e9);
        QByteArray body = exposition.text().toUtf8();
        QMetaObject::invokeMethod(
            this,
            [this, clientId, body = std::move(body), headOnly, close] {
                if (m_stopping)
                    return;
                --m_metricsPending;
                const auto it = m_clients.find(clientId);
                if (it == m_clients.end())
                    return;
                Response response;
                response.contentType = kPrometheusContentType;
                response.body = body;
                response.headOnly = headOnly;
                response.close = close;
                respond(*it->second, response);
            },
            Qt::QueuedConnection);
    });
}

void Exporter::respondError(Client& client, int status, const QString& reason, bool close)
{
    Response response;
    response.status = status;
    response.body = (reason + QLatin1Char('\n')).toUtf8();
    response.close = close;
    respond(client, response);
}

void Exporter::respond(Client& client, Response response)
{
    QByteArray bytes = "HTTP/1.1 " + QByteArray::number(response.status) + ' ' + httpReasonPhrase(response.status) + "\r\n";
    bytes += "Content-Type: " + response.contentType + "\r\n";
    bytes += "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n";
    bytes += "Cache-Control: no-store\r\n";
    for (const auto& [name, value] : response.extraFields)
        bytes += name + ": " + value + "\r\n";
    bytes += response.close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
    if (!response.headOnly)
        bytes += response.body;
    client.socket->write(bytes);

    if (m_log) {
        const double seconds = client.requestTimer.isValid() ? client.requestTimer.nsecsElapsed() / 1e9 : 0.0;
        // Concatenated, not through arg(): the request's own `%3A` must stay text.
        m_log(client.peer + QStringLiteral(" \"") + escapeText(QString::fromLatin1(client.requestLine))
              + QStringLiteral("\" %1 %2 bytes %3 s").arg(response.status).arg(response.body.size()).arg(formatSeconds(seconds)));
    }
    client.requestTimer.invalidate();
    client.requestLine.clear();
    client.busy = false;
    if (response.close) {
        client.closing = true;
        client.wait = Client::Wait::Closing;
        client.timer->start(m_config.readTimeoutMs); // the answer must be read within this too
        client.socket->disconnectFromHost();
        return;
    }
    client.wait = client.buffer.isEmpty() ? Client::Wait::Idle : Client::Wait::Request;
    client.timer->start(client.wait == Client::Wait::Idle ? m_config.idleTimeoutMs : m_config.readTimeoutMs);
    // A pipelined request may be waiting already; read it from the event loop, not recursively.
    const quint64 id = client.id;
    QMetaObject::invokeMethod(this, [this, id] { readFrom(id); }, Qt::QueuedConnection);
}

} // namespace staplescope
