// Benchmark (not a test): inspect a generated folder of N bundles (leaf + chain, key, staple each,
// Let's-Encrypt-style folder per name) and print the cost per bundle beside
//   1. the signature verifications alone (the floor: leaf signature + staple signature), and
//   2. the `openssl` command line doing the same work per bundle (verify chain, verify staple,
//      match key, read dates/serial/names), measured on a
//      sample and scaled to N.
// Usage: bench_inspect [N=2000] [openssl-sample=40]

#include "DemoData.h"
#include "Inspection.h"
#include "PkiFactory.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QTextStream>

#include <openssl/ocsp.h>

using namespace staplescope;

namespace {

bool writeFile(const QString& path, const QByteArray& content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

struct GeneratedBundle {
    IssuedCert leaf;
    QByteArray stapleDer;
    QString folder;
};

double perBundleMicros(qint64 nanos, int count) { return double(nanos) / 1000.0 / count; }

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    const int count = argc > 1 ? QByteArray(argv[1]).toInt() : 2000;
    const int opensslSample = argc > 2 ? QByteArray(argv[2]).toInt() : 40;
    QTextStream out(stdout);

    QTemporaryDir dir;
    // STAPLESCOPE_BENCH_KEEP=1 keeps the folder for profiling staplescope-cli on it.
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
    const QByteArray chainPem = ca.certPem();
    const QString rootFile = dir.filePath(QStringLiteral("root.pem"));
    writeFile(rootFile, root.certPem());

    QElapsedTimer timer;
    timer.start();
    QList<GeneratedBundle> bundles;
    for (int i = 0; i < count; ++i) {
        CertSpec spec;
        spec.commonName = QStringLiteral("host%1.bench.example.test").arg(i);
        spec.dnsNames = {spec.commonName};
        spec.notBefore = now.addDays(-10);
        spec.notAfter = now.addDays(80);
        spec.ocspUrls = {QStringLiteral("http://ocsp.bench.example.test")};
        GeneratedBundle b;
        b.leaf = factory.issue(spec, &ca);
        OcspSpec staple;
        staple.thisUpdate = now.addSecs(-3600);
        staple.nextUpdate = now.addDays(6);
        b.stapleDer = factory.ocspResponse(b.leaf, ca, ca, staple);
        b.folder = dir.filePath(QStringLiteral("live/%1").arg(spec.commonName));
        QDir().mkpath(b.folder);
        writeFile(b.folder + QStringLiteral("/fullchain.pem"), b.leaf.certPem() + chainPem);
        writeFile(b.folder + QStringLiteral("/privkey.pem"), PkiFactory::privateKeyPem(b.leaf.key.get(), PkiFactory::KeyFormat::Pkcs8));
        writeFile(b.folder + QStringLiteral("/ocsp.der"), b.stapleDer);
        bundles << b;
    }
    out << QStringLiteral("Generated %1 bundles in %3 (EC P-256, leaf + intermediate + key + staple) in %2 ms\n")
               .arg(count).arg(timer.elapsed()).arg(dir.path());
    out.flush();

    // 1. The floor: only the two signature verifications each bundle needs.
    timer.restart();
    int verified = 0;
    for (const GeneratedBundle& b : bundles) {
        verified += X509_verify(b.leaf.x509(), ca.key.get()) == 1;
        const auto* p = reinterpret_cast<const unsigned char*>(b.stapleDer.constData());
        OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, long(b.stapleDer.size())));
        OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
        X509StackPtr signers(sk_X509_new_null());
        sk_X509_push(signers.get(), ca.x509());
        X509StorePtr store(X509_STORE_new());
        verified += OCSP_basic_verify(basic.get(), signers.get(), store.get(), OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHECKS) == 1;
        sk_X509_pop(signers.get()); // borrowed, not owned
    }
    const qint64 floorNanos = timer.nsecsElapsed();

    // 2. Staplescope: load the whole folder, bundle, analyse (what `staplescope-cli inspect` does).
    timer.restart();
    InspectRequest request;
    request.files.paths = {dir.filePath(QStringLiteral("live"))};
    request.caFiles = {rootFile};
    request.useSystemTrust = false;
    request.analysis.at = now;
    const auto session = InspectionSession::load(request);
    const qint64 loadNanos = timer.nsecsElapsed();
    const InspectionReport report = session->evaluate(request.analysis);
    const qint64 inspectNanos = timer.nsecsElapsed();
    int healthy = 0;
    for (const BundleReport& r : report.bundles)
        healthy += r.worst == Severity::Info;

    // 3. The openssl command line per bundle, on a sample.
    qint64 opensslNanos = 0;
    int sampled = 0;
    const QString chainFile = dir.filePath(QStringLiteral("chain.pem"));
    writeFile(chainFile, chainPem);
    for (int i = 0; i < qMin(opensslSample, count); ++i) {
        const QString folder = bundles[i].folder;
        QProcess verify, ocsp;
        timer.restart();
        verify.start(QStringLiteral("openssl"), {QStringLiteral("verify"), QStringLiteral("-CAfile"), rootFile, QStringLiteral("-untrusted"),
                                                 chainFile, folder + QStringLiteral("/fullchain.pem")});
        verify.waitForFinished(-1);
        ocsp.start(QStringLiteral("openssl"), {QStringLiteral("ocsp"), QStringLiteral("-respin"), folder + QStringLiteral("/ocsp.der"),
                                               QStringLiteral("-issuer"), chainFile, QStringLiteral("-CAfile"), rootFile,
                                               QStringLiteral("-cert"), folder + QStringLiteral("/fullchain.pem"), QStringLiteral("-no_nonce")});
        ocsp.waitForFinished(-1);
        // Key match and the fields the report shows (dates, serial, names, OCSP URL).
        QProcess certKey, privateKey, fields;
        certKey.start(QStringLiteral("openssl"), {QStringLiteral("x509"), QStringLiteral("-noout"), QStringLiteral("-pubkey"),
                                                  QStringLiteral("-in"), folder + QStringLiteral("/fullchain.pem")});
        certKey.waitForFinished(-1);
        privateKey.start(QStringLiteral("openssl"), {QStringLiteral("pkey"), QStringLiteral("-pubout"), QStringLiteral("-in"),
                                                     folder + QStringLiteral("/privkey.pem")});
        privateKey.waitForFinished(-1);
        fields.start(QStringLiteral("openssl"), {QStringLiteral("x509"), QStringLiteral("-noout"), QStringLiteral("-dates"),
                                                 QStringLiteral("-serial"), QStringLiteral("-ext"), QStringLiteral("subjectAltName"),
                                                 QStringLiteral("-ocsp_uri"), QStringLiteral("-in"), folder + QStringLiteral("/fullchain.pem")});
        fields.waitForFinished(-1);
        if (certKey.readAllStandardOutput() != privateKey.readAllStandardOutput())
            out << QStringLiteral("openssl: key mismatch in %1 (unexpected)\n").arg(folder);
        opensslNanos += timer.nsecsElapsed();
        ++sampled;
    }

    const double floorUs = perBundleMicros(floorNanos, count);
    const double inspectUs = perBundleMicros(inspectNanos, count);
    const double opensslUs = sampled ? perBundleMicros(opensslNanos, sampled) : 0;
    out << QStringLiteral("\n%1 bundles, one core, OpenSSL %2\n").arg(count).arg(QString::fromLatin1(OpenSSL_version(OPENSSL_VERSION)));
    out << QStringLiteral("  %1 %2 %3\n").arg(QStringLiteral("work"), -44).arg(QStringLiteral("µs/bundle"), 11).arg(QStringLiteral("bundles/s"), 11);
    auto row = [&](const QString& what, double us) {
        out << QStringLiteral("  %1 %2 %3\n").arg(what, -44).arg(us, 11, 'f', 1).arg(us > 0 ? 1e6 / us : 0, 11, 'f', 0);
    };
    row(QStringLiteral("signature verifications alone (floor)"), floorUs);
    row(QStringLiteral("staplescope inspect (load+bundle+analyse)"), inspectUs);
    row(QStringLiteral("  of which load + bundle"), perBundleMicros(loadNanos, count));
    row(QStringLiteral("  of which analyse"), perBundleMicros(inspectNanos - loadNanos, count));
    row(QStringLiteral("openssl verify, ocsp, x509 ×2, pkey per bundle"), opensslUs);
    out << QStringLiteral("  staplescope / floor: %1×   openssl / staplescope: %2×\n")
               .arg(inspectUs / floorUs, 0, 'f', 2)
               .arg(opensslUs / inspectUs, 0, 'f', 0);
    out << QStringLiteral("  sanity: %1 of %2 signatures verified; %3 of %4 bundles healthy\n")
               .arg(verified).arg(2 * count).arg(healthy).arg(report.bundles.size());
    return verified == 2 * count && healthy == count ? 0 : 1;
}
