// Benchmark (not a test): fetch and judge a fresh OCSP response for N bundles against the loopback
// test responder, as `staplescope-cli refresh --dry-run` does (every response fetched, verified and
// judged, the plan printed, nothing written), beside a shell loop of
//   openssl ocsp -issuer ca.pem -cert fullchain.pem -url URL -CAfile root.pem -respout ocsp.der
// per bundle (fetch and verify; it judges less). The responder waits `latency` before each answer,
// as a distant responder would: that is where asking in parallel instead of in turn pays. The
// openssl loop runs on a sample and is scaled to N (at 20 ms, 1,000 runs of it take minutes).
//
//   bench_refresh [N=1000] [openssl-sample=100] [latency-ms=0,20] [concurrency=16]
//
// The CLI is the one built with this tree (STAPLESCOPE_CLI overrides). Nothing is asserted.

#include "PkiFactory.h"
#include "TestResponder.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <cstdio>
#include <thread>

using namespace staplescope;
using namespace staplescope::test;

namespace {

bool writeFile(const QString& path, const QByteArray& content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

struct Figures {
    double seconds = 0;
    int runs = 0; // bundles (or processes) measured
    int ok = 0;   // of which got a good, verified response
};

// `refresh --dry-run --json` on the whole folder; ok = bundles planned for install.
Figures runStaplescope(const QString& cli, const QStringList& arguments, int count)
{
    QProcess process;
    QElapsedTimer timer;
    timer.start();
    process.start(cli, arguments);
    if (!process.waitForFinished(30 * 60 * 1000))
        process.kill();
    Figures f;
    f.seconds = timer.nsecsElapsed() / 1e9;
    f.runs = count;
    const QByteArray out = process.readAllStandardOutput();
    const QJsonObject plan = QJsonDocument::fromJson(out).object();
    QJsonArray bundles = plan.value(QStringLiteral("bundles")).toArray();
    if (bundles.isEmpty()) // the plan may be nested in the result
        bundles = plan.value(QStringLiteral("plan")).toObject().value(QStringLiteral("bundles")).toArray();
    for (const QJsonValue& b : bundles)
        f.ok += b.toObject().value(QStringLiteral("outcome")).toString() == QLatin1String("install") ? 1 : 0;
    if (f.ok != count)
        std::fprintf(stderr, "warning: %d of %d bundles planned for install (exit %d)\n%s\n", f.ok, count,
                     process.exitCode(), process.readAllStandardError().left(2000).constData());
    return f;
}

// Responses go to `outDir`, not beside the certificates, where the next refresh run would find them.
// `inspect` on the same folder: loading and judging without fetching, the part of refresh that
// does not depend on the responder.
double runInspect(const QString& cli, const QStringList& arguments)
{
    QProcess process;
    QElapsedTimer timer;
    timer.start();
    process.start(cli, arguments);
    if (!process.waitForFinished(30 * 60 * 1000))
        process.kill();
    return timer.nsecsElapsed() / 1e9;
}

Figures runOpenSslLoop(const QString& openssl, const QStringList& folders, int sample, const QString& issuer,
                       const QString& root, const QString& url, const QString& outDir)
{
    Figures f;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < sample && i < folders.size(); ++i) {
        const QString fullchain = folders[i] + QStringLiteral("/fullchain.pem");
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(openssl, {"ocsp", "-issuer", issuer, "-cert", fullchain, "-url", url, "-CAfile", root,
                          "-respout", outDir + QStringLiteral("/%1.der").arg(i)});
        if (!p.waitForFinished(30000))
            p.kill();
        const QByteArray out = p.readAll();
        f.ok += out.contains("Response verify OK") && out.contains(": good") ? 1 : 0;
        ++f.runs;
    }
    f.seconds = timer.nsecsElapsed() / 1e9;
    return f;
}

QString cliPath()
{
    const QString fromEnv = qEnvironmentVariable("STAPLESCOPE_CLI");
    return fromEnv.isEmpty() ? QStringLiteral(STAPLESCOPE_CLI_PATH) : fromEnv;
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const int count = args.value(1, QStringLiteral("1000")).toInt();
    const int sample = args.value(2, QStringLiteral("100")).toInt();
    QList<int> latencies;
    for (const QString& l : args.value(3, QStringLiteral("0,20")).split(QLatin1Char(',')))
        latencies << l.toInt();
    const int concurrency = args.value(4, QStringLiteral("16")).toInt();
    const QString cli = cliPath();
    const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));

    QTemporaryDir dir;
    dir.setAutoRemove(qEnvironmentVariableIsEmpty("STAPLESCOPE_BENCH_KEEP"));
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const PkiFactory factory;
    CertSpec rootSpec;
    rootSpec.commonName = QStringLiteral("Bench Root");
    rootSpec.isCa = true;
    rootSpec.notBefore = now.addDays(-365);
    rootSpec.notAfter = now.addDays(3650);
    const IssuedCert root = factory.issue(rootSpec);
    CertSpec caSpec = rootSpec;
    caSpec.commonName = QStringLiteral("Bench Issuing CA");
    caSpec.pathLength = 0;
    const IssuedCert ca = factory.issue(caSpec, &root);
    const QString rootFile = dir.filePath(QStringLiteral("root.pem"));
    const QString issuerFile = dir.filePath(QStringLiteral("ca.pem"));
    writeFile(rootFile, root.certPem());
    writeFile(issuerFile, ca.certPem());

    ResponderCa responderCa;
    responderCa.issuer = ca;
    TestResponder responder(responderCa, now);
    if (!responder.start()) {
        std::fprintf(stderr, "cannot start the loopback responder\n");
        return 1;
    }

    // One Let's-Encrypt-style folder per name, the certificate's AIA OCSP URL pointing at the
    // responder; no staple yet (--staple-name says where it would go).
    const QString bundlesDir = dir.filePath(QStringLiteral("bundles"));
    QDir().mkpath(bundlesDir);
    QStringList folders;
    for (int i = 0; i < count; ++i) {
        CertSpec spec;
        spec.commonName = QStringLiteral("host%1.bench.example.test").arg(i);
        spec.dnsNames = {spec.commonName};
        spec.notBefore = now.addDays(-10);
        spec.notAfter = now.addDays(80);
        spec.ocspUrls = {responder.ocspUrl()};
        const IssuedCert leaf = factory.issue(spec, &ca);
        responder.addCertificate(leaf);
        const QString folder = bundlesDir + QStringLiteral("/host%1").arg(i, 4, 10, QLatin1Char('0'));
        QDir().mkpath(folder);
        writeFile(folder + QStringLiteral("/fullchain.pem"), leaf.certPem() + ca.certPem());
        folders << folder;
    }

    const QString opensslOut = dir.filePath(QStringLiteral("openssl-responses"));
    QDir().mkpath(opensslOut);
    const QStringList refreshArguments{"refresh", "--dry-run", "--json", "--staple-name", "ocsp.der",
                                       "--ca-file", rootFile, "--no-system-trust", "--concurrency",
                                       QString::number(concurrency), bundlesDir};
    std::printf("bench_refresh: %d bundles, concurrency %d, openssl sample %d, %u hardware threads\n", count,
                concurrency, sample, std::thread::hardware_concurrency());
    std::printf("  %s %s\n", qPrintable(cli), qPrintable(refreshArguments.join(QLatin1Char(' '))));
    std::printf("%-8s %-40s %10s %12s %12s %10s\n", "latency", "work", "seconds", "ms/bundle", "bundles/s",
                "ok");
    const double inspectSeconds =
        runInspect(cli, {"inspect", "--json", "--ca-file", rootFile, "--no-system-trust", bundlesDir});
    std::printf("%-8s %-40s %10.2f %12.2f %12.1f\n", "-", "staplescope-cli inspect (no fetching)", inspectSeconds,
                1000.0 * inspectSeconds / count, count / inspectSeconds);
    for (int latencyMs : latencies) {
        responder.setLatencyMs(latencyMs);
        const QString label = QStringLiteral("%1 ms").arg(latencyMs);
        const auto print = [&](const char* work, const Figures& f, double secondsForN) {
            std::printf("%-8s %-40s %10.2f %12.2f %12.1f %6d/%d\n", qPrintable(label), work, secondsForN,
                        1000.0 * f.seconds / f.runs, f.runs / f.seconds, f.ok, f.runs);
        };
        const int connectionsBefore = responder.connectionCount();
        const int requestsBefore = responder.ocspRequestCount();
        const Figures ours = runStaplescope(cli, refreshArguments, count);
        print("staplescope-cli refresh --dry-run", ours, ours.seconds);
        std::printf("%-8s   responder: %d OCSP requests on %d connections\n", qPrintable(label),
                    responder.ocspRequestCount() - requestsBefore, responder.connectionCount() - connectionsBefore);
        if (!openssl.isEmpty() && sample > 0) {
            const Figures loop =
                runOpenSslLoop(openssl, folders, sample, issuerFile, rootFile, responder.ocspUrl(), opensslOut);
            const double scaled = loop.seconds / loop.runs * count;
            print("openssl ocsp loop (sample, scaled to N)", loop, scaled);
            std::printf("%-8s   staplescope is %.1fx the openssl loop\n", qPrintable(label),
                        scaled / ours.seconds);
        }
        std::fflush(stdout);
    }
    responder.stop();
    return 0;
}
