// Benchmark (not a test): the exporter answering /probe for N loopback TLS endpoints, beside
// Prometheus' blackbox_exporter doing the same probes (TCP + TLS handshake, certificate checked
// against the test root), at several client concurrencies.
//
//   bench_serve [N=200] [concurrency=1,8,32] [rounds=2]
//
// Endpoints: N in-process TLS servers (tests/support/LoopbackServer), each on its own port of
// 127.0.0.1, serving leaf + intermediate and a stapled OCSP response: N distinct targets as a
// fleet has them, without N processes (200 `openssl s_server` processes would measure process
// scheduling more than either exporter). Both exporters run as processes of their own:
// `staplescope-cli serve` (the one built with this tree; STAPLESCOPE_CLI overrides) with
// --max-concurrent-probes 32, and /usr/bin/prometheus-blackbox-exporter (Debian package
// prometheus-blackbox-exporter; skipped when absent) with a tcp module with tls: true. The client
// sends each /probe on a new connection, as many at a time as the concurrency, and counts an answer
// as ok when it says probe_success 1. Prometheus scrapes each target in its own goroutine at an
// offset spread over the scrape interval: 200 targets every 15 s are about 13 probes a second with
// a few in flight; the higher concurrencies are the burst after a restart.
//
// Requirements: openssl for the PKI (libssl), prometheus-blackbox-exporter for the comparison.
// Nothing is asserted; docs/performance.md records the output.

#include "LivePki.h"
#include "LoopbackServer.h"
#include "RealServers.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

using namespace staplescope;
using namespace staplescope::test;

namespace {


// CPU seconds (user + system) a process has used, from /proc/PID/stat.
double cpuSeconds(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray text = stat.readAll();
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) are utime and stime; after ") " the list starts at field 3.
    return (fields.value(11).toDouble() + fields.value(12).toDouble()) / double(sysconf(_SC_CLK_TCK));
}

// Peak resident memory of a process in MiB (VmHWM).
double peakMiB(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toDouble() / 1024.0;
    return 0;
}

struct Figures {
    double seconds = 0;
    int ok = 0;
    double p50Ms = 0, p95Ms = 0, maxMs = 0;
    double cpu = 0;
};

Figures run(quint16 port, const QList<QByteArray>& targets, int concurrency, const QByteArray& okLine, qint64 pid)
{
    std::atomic<qsizetype> next{0};
    std::atomic<int> ok{0};
    std::mutex mutex;
    QList<double> latencies;
    const double cpuBefore = cpuSeconds(pid);
    QElapsedTimer timer;
    timer.start();
    std::vector<std::thread> clients;
    for (int c = 0; c < concurrency; ++c)
        clients.emplace_back([&] {
            for (qsizetype i = next++; i < targets.size(); i = next++) {
                QElapsedTimer one;
                one.start();
                const QByteArray body = httpGetBody(port, targets[i], 30000);
                const double ms = one.nsecsElapsed() / 1e6;
                ok += body.contains("\n" + okLine) || body.startsWith(okLine) ? 1 : 0;
                const std::lock_guard lock(mutex);
                latencies << ms;
            }
        });
    for (std::thread& t : clients)
        t.join();
    Figures f;
    f.seconds = timer.nsecsElapsed() / 1e9;
    f.ok = ok;
    f.cpu = cpuSeconds(pid) - cpuBefore;
    std::sort(latencies.begin(), latencies.end());
    if (!latencies.isEmpty()) {
        f.p50Ms = latencies[latencies.size() / 2];
        f.p95Ms = latencies[std::min<qsizetype>(latencies.size() - 1, latencies.size() * 95 / 100)];
        f.maxMs = latencies.last();
    }
    return f;
}

// Starts a process and waits until `port` accepts connections.
bool startAndWait(QProcess& process, const QString& program, const QStringList& args, quint16 port)
{
    // Both exporters log per request; writing that to a terminal would cost more than the probes.
    process.setStandardOutputFile(QProcess::nullDevice());
    process.setStandardErrorFile(QProcess::nullDevice());
    process.start(program, args);
    if (!process.waitForStarted(5000))
        return false;
    for (int i = 0; i < 100 && process.state() == QProcess::Running; ++i) {
        if (portAccepts(port))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const int n = args.value(1, QStringLiteral("200")).toInt();
    QList<int> concurrencies;
    for (const QString& c : args.value(2, QStringLiteral("1,8,32")).split(QLatin1Char(',')))
        concurrencies << c.toInt();
    const int rounds = args.value(3, QStringLiteral("2")).toInt();
    const QString cli = qEnvironmentVariableIsSet("STAPLESCOPE_CLI") ? qEnvironmentVariable("STAPLESCOPE_CLI")
                                                                      : QStringLiteral(STAPLESCOPE_CLI_PATH);
    const QString blackbox = findServer(QStringLiteral("prometheus-blackbox-exporter"));

    QTemporaryDir dir;
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc().addSecs(-5));
    const QString rootFile = LivePki::write(dir.path(), QStringLiteral("root.pem"), pki.root.certPem());
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.staple = pki.leafStaple;
    const auto ctx = makeServerContext(config);
    std::vector<std::unique_ptr<LoopbackServer>> servers;
    QList<quint16> ports;
    for (int i = 0; i < n; ++i) {
        servers.push_back(std::make_unique<LoopbackServer>(tlsHandler(ctx)));
        ports << servers.back()->start();
    }

    // staplescope-cli serve
    const quint16 servePort = freePort();
    QProcess serve;
    if (!startAndWait(serve, cli,
                      {QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:%1").arg(servePort),
                       QStringLiteral("--allow-target"), QStringLiteral("127.0.0.1:*"), QStringLiteral("--ca-file"), rootFile,
                       QStringLiteral("--no-system-trust"), QStringLiteral("--max-concurrent-probes"), QStringLiteral("32"),
                       QStringLiteral("--probe-timeout"), QStringLiteral("30")},
                      servePort)) {
        std::fprintf(stderr, "cannot start %s serve\n", qPrintable(cli));
        return 1;
    }
    QList<QByteArray> serveTargets, blackboxTargets;
    for (quint16 port : ports) {
        serveTargets << "/probe?target=127.0.0.1%3A" + QByteArray::number(port) + "&servername=" + pki.hostName.toUtf8();
        blackboxTargets << "/probe?module=tls_connect&target=127.0.0.1%3A" + QByteArray::number(port);
    }

    // blackbox_exporter with a TLS-connect module that verifies against the same root.
    QProcess blackboxProcess;
    quint16 blackboxPort = 0;
    if (!blackbox.isEmpty()) {
        const QString yaml = QStringLiteral("modules:\n  tls_connect:\n    prober: tcp\n    timeout: 30s\n    tcp:\n"
                                            "      tls: true\n      tls_config:\n        ca_file: %1\n        server_name: %2\n")
                                 .arg(rootFile, pki.hostName);
        const QString blackboxConf = LivePki::write(dir.path(), QStringLiteral("blackbox.yml"), yaml.toUtf8());
        blackboxPort = freePort();
        if (!startAndWait(blackboxProcess, blackbox,
                          {QStringLiteral("--config.file=") + blackboxConf,
                           QStringLiteral("--web.listen-address=127.0.0.1:%1").arg(blackboxPort), QStringLiteral("--log.level=error")},
                          blackboxPort)) {
            std::fprintf(stderr, "cannot start %s; comparing without it\n", qPrintable(blackbox));
            blackboxPort = 0;
        }
    }

    std::printf("bench_serve: %d loopback TLS endpoints (one port each), %d rounds, %u hardware threads\n", n, rounds,
                std::thread::hardware_concurrency());
    std::printf("%-34s %6s %9s %10s %8s %8s %8s %9s %7s\n", "exporter", "conc.", "seconds", "probes/s", "p50 ms", "p95 ms",
                "max ms", "cpu s", "ok");
    const auto print = [&](const char* name, int concurrency, const Figures& f) {
        std::printf("%-34s %6d %9.3f %10.1f %8.1f %8.1f %8.1f %9.2f %4d/%d\n", name, concurrency, f.seconds, n / f.seconds,
                    f.p50Ms, f.p95Ms, f.maxMs, f.cpu, f.ok, n);
        std::fflush(stdout);
    };
    // Warm-up: first-use costs (OpenSSL's algorithm fetches, Go's runtime) out of the figures.
    run(servePort, serveTargets.mid(0, 8), 4, "staplescope_probe_success 1", serve.processId());
    if (blackboxPort)
        run(blackboxPort, blackboxTargets.mid(0, 8), 4, "probe_success 1", blackboxProcess.processId());
    for (int concurrency : concurrencies)
        for (int round = 0; round < rounds; ++round) {
            print("staplescope-cli serve /probe", concurrency,
                  run(servePort, serveTargets, concurrency, "staplescope_probe_success 1", serve.processId()));
            if (blackboxPort)
                print("blackbox_exporter tcp+tls /probe", concurrency,
                      run(blackboxPort, blackboxTargets, concurrency, "probe_success 1", blackboxProcess.processId()));
        }
    std::printf("peak RSS: staplescope-cli serve %.1f MiB", peakMiB(serve.processId()));
    if (blackboxPort)
        std::printf(", blackbox_exporter %.1f MiB", peakMiB(blackboxProcess.processId()));
    std::printf("\n");

    serve.terminate();
    serve.waitForFinished(10000);
    if (blackboxPort) {
        blackboxProcess.terminate();
        blackboxProcess.waitForFinished(10000);
    }
    for (auto& s : servers)
        s->stop();
    return 0;
}
