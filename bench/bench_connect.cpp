// Live connections: checks N loopback TLS endpoints that staple, with bounded concurrency, and
// prints endpoints per second beside a loop of `openssl s_client -status` doing the same.
//
//   bench_connect [N=200] [concurrency=64] [openssl-sample=40] [latency-ms=0,20,50]
//
// The endpoints are in-process TLS servers (tests/support/LoopbackServer) on four ports, each
// connection on its own thread, serving leaf + intermediate and a staple. "latency" makes each
// server wait before its handshake, as a distant server would: that is where checking endpoints
// in parallel instead of in turn pays. Not a test: nothing is asserted.

#include "LivePki.h"
#include "LoopbackServer.h"
#include "ServerCheck.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <cstdio>
#include <thread>

using namespace staplescope;
using namespace staplescope::test;

namespace {

struct Figures {
    double seconds = 0;
    int ok = 0;
};

Figures runStaplescope(const QList<ServerCheckRequest>& requests, const ServerCheckOptions& options)
{
    QElapsedTimer timer;
    timer.start();
    const ServerCheckResult result = runServerChecks(requests, options);
    const qint64 checked = timer.nsecsElapsed();
    const InspectionReport report = result.session->evaluate(AnalysisOptions{});
    if (qEnvironmentVariableIsSet("BENCH_VERBOSE"))
        std::fprintf(stderr, "  runServerChecks %.3f s, evaluate %.3f s\n", checked / 1e9, (timer.nsecsElapsed() - checked) / 1e9);
    Figures f;
    f.seconds = timer.nsecsElapsed() / 1e9;
    for (const BundleReport& b : report.bundles)
        f.ok += b.worst <= Severity::Info && !b.bundle.staples.isEmpty() ? 1 : 0;
    if (f.ok != requests.size())
        std::fprintf(stderr, "warning: %d of %lld endpoints healthy; first finding: %s\n", f.ok,
                     static_cast<long long>(requests.size()),
                     qPrintable(report.allFindings().value(0).code + QLatin1Char(' ') + report.allFindings().value(0).message));
    return f;
}

Figures runProbeOnly(const QList<ServerCheckRequest>& requests, int concurrency)
{
    QList<ProbeOptions> probes;
    for (const ServerCheckRequest& r : requests)
        probes << r.probe;
    QElapsedTimer timer;
    timer.start();
    const auto results = probeMany(probes, concurrency);
    Figures f;
    f.seconds = timer.nsecsElapsed() / 1e9;
    for (const auto& perHost : results)
        f.ok += !perHost.isEmpty() && !perHost.first().stapleDer.isEmpty() ? 1 : 0;
    return f;
}

Figures runOpenSslLoop(const QString& openssl, const QList<ServerCheckRequest>& requests, int sample,
                       const QString& caFile)
{
    QElapsedTimer timer;
    timer.start();
    Figures f;
    for (int i = 0; i < sample && i < requests.size(); ++i) {
        const ProbeOptions& o = requests[i].probe;
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(openssl, {"s_client", "-connect", QStringLiteral("127.0.0.1:%1").arg(o.port), "-servername", o.serverName,
                          "-status", "-CAfile", caFile, "-verify_return_error"});
        p.closeWriteChannel(); // EOF on stdin: s_client closes the connection after the handshake
        if (!p.waitForFinished(10000))
            p.kill();
        const QByteArray out = p.readAll();
        f.ok += out.contains("OCSP Response Status: successful") && out.contains("Verify return code: 0 (ok)") ? 1 : 0;
    }
    f.seconds = timer.nsecsElapsed() / 1e9;
    return f;
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const int n = args.value(1, QStringLiteral("200")).toInt();
    const int concurrency = args.value(2, QStringLiteral("64")).toInt();
    const int sample = args.value(3, QStringLiteral("40")).toInt();
    QList<int> latencies;
    for (const QString& l : args.value(4, QStringLiteral("0,20,50")).split(QLatin1Char(',')))
        latencies << l.toInt();

    QTemporaryDir dir;
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc().addSecs(-5));
    const QString caFile = LivePki::write(dir.path(), QStringLiteral("root.pem"), pki.root.certPem());
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.staple = pki.leafStaple;
    const auto ctx = makeServerContext(config);
    const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));

    std::printf("bench_connect: %d endpoints, concurrency %d, openssl sample %d, %u hardware threads\n", n, concurrency,
                sample, std::thread::hardware_concurrency());
    std::printf("%-10s %-34s %10s %12s %10s\n", "latency", "work", "seconds", "endpoints/s", "ok");
    for (int latencyMs : latencies) {
        std::vector<std::unique_ptr<LoopbackServer>> servers;
        QList<quint16> ports;
        for (int s = 0; s < 4; ++s) {
            servers.push_back(std::make_unique<LoopbackServer>([ctx, latencyMs](Connection& c) {
                if (latencyMs > 0)
                    std::this_thread::sleep_for(std::chrono::milliseconds(latencyMs));
                serveTls(c, ctx.get());
            }));
            ports << servers.back()->start();
        }
        QList<ServerCheckRequest> requests;
        for (int i = 0; i < n; ++i) {
            ServerCheckRequest r;
            r.probe.host = QStringLiteral("127.0.0.1");
            r.probe.port = ports[i % ports.size()];
            r.probe.serverName = pki.hostName;
            requests << r;
        }
        ServerCheckOptions options;
        options.caFiles = {caFile};
        options.useSystemTrust = false;
        options.maxConcurrent = concurrency;

        const QString label = QStringLiteral("%1 ms").arg(latencyMs);
        const auto print = [&](const char* work, const Figures& f, int count) {
            std::printf("%-10s %-34s %10.3f %12.1f %6d/%d\n", qPrintable(label), work, f.seconds, count / f.seconds, f.ok,
                        count);
        };
        runProbeOnly(requests.mid(0, 8), 4); // warm-up: first-use costs of OpenSSL
        print("staplescope connect (check+analyse)", runStaplescope(requests, options), n);
        print("  of which probes only", runProbeOnly(requests, concurrency), n);
        ServerCheckOptions serial = options;
        serial.maxConcurrent = 1;
        print("staplescope, one at a time", runStaplescope(requests.mid(0, std::min(n, 100)), serial), std::min(n, 100));
        if (!openssl.isEmpty() && sample > 0)
            print("openssl s_client -status loop", runOpenSslLoop(openssl, requests, sample, caFile), std::min(sample, n));
        for (auto& s : servers)
            s->stop();
        std::fflush(stdout);
    }
    return 0;
}
