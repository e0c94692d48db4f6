#include "Deployer.h"

#include "Analyzer.h"
#include "AtomicFile.h"
#include "FaultPoint.h"
#include "FindingRegistry.h"
#include "Inspection.h"
#include "OpenSslPtr.h"
#include "RefreshEngine.h"
#include "ServerCheck.h"
#include "TextEscape.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QRegularExpression>
#include <QThread>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace staplescope {

namespace {

// Bounds (STYLE.md 16).
constexpr qsizetype kMaxGenerationsListed = 1000;   // generations read from DEST/generations
constexpr qsizetype kMaxLeftoversRemoved = 1000;    // temp folders/links of dead runs removed per run
constexpr qint64 kMaxSourceFileBytes = 1024 * 1024; // a certificate, chain or key file
constexpr int kMaxNameSuffix = 100;                 // "-2" … for two generations in one second

const QString kLockFileName = QStringLiteral(".staplescope-deploy.lock");
const QString kPendingFileName = QStringLiteral(".staplescope-deploy-pending");
const QString kCurrentLink = QStringLiteral("current");
const QString kGenerationsFolder = QStringLiteral("generations");
const QString kTempGenerationPrefix = QStringLiteral(".tmp-");
const QString kTempLinkPrefix = QStringLiteral(".current.tmp-");

QString systemError(int error) { return QString::fromLocal8Bit(std::strerror(error)); }
QByteArray encoded(const QString& path) { return QFile::encodeName(path); }

bool syncPath(const QString& path)
{
    const int fd = ::open(encoded(path).constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// An exclusive flock on DEST/.staplescope-deploy.lock: a deploy, a rollback and a staple refresh
// of one destination never run at the same time. The kernel drops it when the process dies.
class DestinationLock {
public:
    DestinationLock() = default;
    DestinationLock(const DestinationLock&) = delete;
    DestinationLock& operator=(const DestinationLock&) = delete;
    ~DestinationLock()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    QString acquire(const QString& destination, int timeoutMs, const std::atomic<bool>* cancel)
    {
        const QString path = QDir(destination).filePath(kLockFileName);
        m_fd = ::open(encoded(path).constData(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (m_fd < 0)
            return QStringLiteral("cannot open the lock file %1: %2").arg(path, systemError(errno));
        QElapsedTimer waited;
        waited.start();
        while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR)
                return QStringLiteral("cannot lock %1: %2").arg(path, systemError(errno));
            if (cancel && cancel->load())
                return QStringLiteral("cancelled while waiting for the lock on %1").arg(destination);
            if (waited.elapsed() >= timeoutMs)
                return QStringLiteral("another deploy into %1 still held its lock after %2 s (try again when it is done)")
                    .arg(destination)
                    .arg(timeoutMs / 1000.0, 0, 'f', timeoutMs % 1000 ? 1 : 0);
            QThread::msleep(20);
        }
        return {};
    }

private:
    int m_fd = -1;
};

QByteArray readSmallFile(const QString& path, QString* why)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *why = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return {};
    }
    if (file.size() > kMaxSourceFileBytes) {
        *why = QStringLiteral("%1 is larger than %2 KiB: not a certificate or key file").arg(path).arg(kMaxSourceFileBytes / 1024);
        return {};
    }
    return file.readAll();
}

QString certificateName(const Certificate& leaf)
{
    const QStringList names = leaf.dnsNames();
    return names.isEmpty() ? leaf.commonName() : names.first();
}

QString serialDigits(const QString& serialHex)
{
    QString digits = serialHex;
    digits.remove(QLatin1Char(':'));
    digits.remove(QLatin1Char('-'));
    return digits.left(40);
}

QByteArray certificatePem(const Certificate& cert)
{
    QByteArray pem = "-----BEGIN CERTIFICATE-----\n";
    const QByteArray base64 = cert.der().toBase64();
    for (qsizetype i = 0; i < base64.size(); i += 64)
        pem += base64.mid(i, 64) + '\n';
    pem += "-----END CERTIFICATE-----\n";
    return pem;
}

// Zeroes key material before its memory is released.
struct SecretBytes {
    QByteArray bytes;
    SecretBytes() = default;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    ~SecretBytes() { wipe(); }
    void wipe()
    {
        if (!bytes.isEmpty())
            OPENSSL_cleanse(bytes.data(), size_t(bytes.size()));
        bytes.clear();
    }
};

// The private key in `path` that belongs to `leaf`, as unencrypted PKCS#8 PEM. Any PEM key type
// (and DER) is read; several keys in one file: the matching one. Empty and `why` otherwise.
void readMatchingKeyPem(const QString& path, const Certificate& leaf, SecretBytes* out, QString* why)
{
    SecretBytes raw;
    raw.bytes = readSmallFile(path, why);
    if (raw.bytes.isEmpty()) {
        if (why->isEmpty())
            *why = QStringLiteral("%1 is empty").arg(path);
        return;
    }
    const auto noPassword = [](char*, int, int, void*) -> int { return 0; }; // an encrypted key is refused, never prompted for
    std::vector<EvpPkeyPtr> keys;
    {
        BioPtr bio(BIO_new_mem_buf(raw.bytes.constData(), int(raw.bytes.size())));
        for (int i = 0; bio && i < 16; ++i) { // a key file holds one key; 16 bounds a hostile one
            EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr);
            if (!key)
                break;
            keys.push_back(EvpPkeyPtr(key));
        }
        ERR_clear_error();
    }
    if (keys.empty()) {
        const unsigned char* p = reinterpret_cast<const unsigned char*>(raw.bytes.constData());
        if (EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, long(raw.bytes.size())))
            keys.push_back(EvpPkeyPtr(key));
        ERR_clear_error();
    }
    if (keys.empty()) {
        *why = QStringLiteral("%1 holds no private key this tool can use (an encrypted key cannot be deployed: servers "
                              "read keys without a passphrase)")
                   .arg(path);
        return;
    }
    for (const EvpPkeyPtr& key : keys) {
        if (X509_check_private_key(leaf.get0(), key.get()) != 1) {
            ERR_clear_error();
            continue;
        }
        BioPtr pemOut(BIO_new(BIO_s_mem()));
        if (!pemOut || PEM_write_bio_PKCS8PrivateKey(pemOut.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
            ERR_clear_error();
            *why = QStringLiteral("cannot encode the private key from %1").arg(path);
            return;
        }
        char* data = nullptr;
        const long length = BIO_get_mem_data(pemOut.get(), &data);
        out->bytes = QByteArray(data, qsizetype(length));
        OPENSSL_cleanse(data, size_t(length));
        return;
    }
    *why = QStringLiteral("the private key in %1 does not belong to the certificate %2").arg(path, escapeText(leaf.displayName()));
}

// The certificates sent after the leaf: as the source gave them, else the built path without a
// self-signed root (servers need not send the anchor).
QList<Certificate> chainToServe(const Bundle& bundle)
{
    QList<Certificate> chain = bundle.chainAsGiven;
    if (chain.isEmpty())
        for (const Certificate& c : bundle.chain)
            if (!c.isSelfSigned())
                chain << c;
    return chain;
}

// One staple's window for `leaf` (the single response about it, else the first).
StapleWindow windowOf(const OcspStaple& staple, const Certificate& leaf)
{
    const QList<OcspSingleResponse> responses = staple.responses();
    for (const OcspSingleResponse& single : responses)
        if (single.certId.serialMatches(leaf))
            return {leaf.serialHex(), ocspStatusName(single.status), single.thisUpdate, single.nextUpdate};
    if (!responses.isEmpty())
        return {responses.first().certId.serialHex(), ocspStatusName(responses.first().status), responses.first().thisUpdate,
                responses.first().nextUpdate};
    return {};
}

QString stapleServedSerial(const QByteArray& der)
{
    if (der.isEmpty())
        return {};
    const OcspStaple::ParseResult parsed = OcspStaple::fromDer(der, {});
    if (parsed.staple.isNull())
        return QStringLiteral("(unreadable)");
    const QList<OcspSingleResponse> responses = parsed.staple.responses();
    return responses.isEmpty() ? QStringLiteral("(no single response)") : responses.first().certId.serialHex();
}

struct GenerationRead {
    GenerationInfo info;
    Certificate leaf;
    QByteArray stapleDer;
    QStringList files;
};

GenerationRead readGeneration(const QString& folder, const QString& name)
{
    GenerationRead out;
    out.info.name = name;
    out.info.path = QDir(folder).absolutePath();
    const QDir dir(folder);
    for (const QString& file : dir.entryList(QDir::Files | QDir::Hidden, QDir::Name))
        out.files << file;
    QString certFile;
    for (const QString& candidate : {QStringLiteral("cert.pem"), QStringLiteral("fullchain.pem"), QStringLiteral("haproxy.pem")})
        if (out.files.contains(candidate)) {
            certFile = dir.filePath(candidate);
            break;
        }
    if (certFile.isEmpty()) {
        out.info.problem = QStringLiteral("no cert.pem, fullchain.pem or haproxy.pem in %1").arg(out.info.path);
        return out;
    }
    const LoadedInputs loaded = Loader().loadFile(certFile);
    for (const Certificate& cert : loaded.certificates)
        if (!cert.isCa()) {
            out.leaf = cert;
            break;
        }
    if (out.leaf.isNull() && !loaded.certificates.isEmpty())
        out.leaf = loaded.certificates.first();
    if (out.leaf.isNull()) {
        out.info.problem = QStringLiteral("%1 holds no readable certificate").arg(certFile);
        return out;
    }
    out.info.certificateName = certificateName(out.leaf);
    out.info.serial = out.leaf.serialHex();
    out.info.notBefore = out.leaf.notBefore();
    out.info.notAfter = out.leaf.notAfter();
    out.info.mustStaple = out.leaf.mustStaple();
    for (const QString& candidate : {QStringLiteral("ocsp.der"), QStringLiteral("haproxy.pem.ocsp")}) {
        if (!out.files.contains(candidate))
            continue;
        QString why;
        out.stapleDer = readSmallFile(dir.filePath(candidate), &why);
        const OcspStaple::ParseResult parsed = OcspStaple::fromDer(out.stapleDer, {dir.filePath(candidate)});
        if (parsed.staple.isNull())
            out.info.problem = QStringLiteral("its staple %1 cannot be read: %2").arg(dir.filePath(candidate), parsed.error);
        else
            out.info.staple = windowOf(parsed.staple, out.leaf);
        break;
    }
    return out;
}

QString readCurrentName(const QString& destination)
{
    const QFileInfo link(QDir(destination).filePath(kCurrentLink));
    if (!link.isSymLink())
        return {};
    const QString target = link.symLinkTarget(); // absolute
    const QFileInfo targetInfo(target);
    if (QFileInfo(targetInfo.absolutePath()) != QFileInfo(QDir(destination).filePath(kGenerationsFolder)))
        return {};
    return targetInfo.fileName();
}

bool isGenerationName(const QString& name) { return !name.isEmpty() && !name.startsWith(QLatin1Char('.')); }

QList<GenerationRead> readGenerations(const QString& destination, QString* why)
{
    QList<GenerationRead> out;
    const QDir generations(QDir(destination).filePath(kGenerationsFolder));
    if (!generations.exists())
        return out;
    QStringList names = generations.entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::NoSymLinks, QDir::Name | QDir::Reversed);
    names.removeIf([](const QString& n) { return !isGenerationName(n); });
    // Newest first: by the time in the name, then (two in one second) by when the folder was made.
    {
        QHash<QString, std::pair<QString, qint64>> keys;
        for (const QString& n : std::as_const(names)) {
            struct stat st = {};
            const qint64 made = ::stat(encoded(generations.filePath(n)).constData(), &st) == 0
                                    ? qint64(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec
                                    : 0;
            keys.insert(n, {n.left(16), made});
        }
        std::stable_sort(names.begin(), names.end(), [&](const QString& a, const QString& b) { return keys.value(a) > keys.value(b); });
    }
    if (names.size() > kMaxGenerationsListed) {
        if (why)
            *why = QStringLiteral("%1 holds %2 generations; only the newest %3 are listed")
                       .arg(generations.path())
                       .arg(names.size())
                       .arg(kMaxGenerationsListed);
        names = names.mid(0, kMaxGenerationsListed);
    }
    const QString current = readCurrentName(destination);
    for (const QString& name : names) {
        GenerationRead read = readGeneration(generations.filePath(name), name);
        read.info.current = name == current;
        out << read;
    }
    return out;
}

// --- reading SRC -------------------------------------------------------------------------------

QString resolved(const QString& path)
{
    const QString canonical = QFileInfo(path).canonicalFilePath();
    return canonical.isEmpty() ? QFileInfo(path).absoluteFilePath() : canonical;
}

std::optional<DeploySource> legoSource(const QString& crt, const QString& given, QString* why)
{
    const QString base = crt.chopped(4);
    DeploySource source;
    source.path = given;
    source.kind = DeploySourceKind::Lego;
    source.name = QFileInfo(base).fileName();
    source.fullchainFile = resolved(crt); // lego's NAME.crt is the full chain (leaf first) unless --no-bundle
    source.certificateFile = source.fullchainFile;
    if (QFileInfo::exists(base + QStringLiteral(".issuer.crt")))
        source.chainFile = resolved(base + QStringLiteral(".issuer.crt"));
    if (!QFileInfo(base + QStringLiteral(".key")).isFile()) {
        *why = QStringLiteral("%1 has no private key beside it (%2 is missing)").arg(crt, base + QStringLiteral(".key"));
        return std::nullopt;
    }
    source.keyFile = resolved(base + QStringLiteral(".key"));
    return source;
}

std::optional<DeploySource> readFolderWithLoader(const QString& path, QString* why)
{
    InspectRequest request;
    request.files.paths = {path};
    request.useSystemTrust = false;
    const std::shared_ptr<InspectionSession> session = InspectionSession::load(request);
    QList<const Bundle*> current;
    for (const Bundle& bundle : session->bundles())
        if (!bundle.isSuperseded() && !bundle.served)
            current << &bundle;
    if (current.isEmpty()) {
        *why = QStringLiteral("%1 holds no server certificate (found %2 certificate(s) and %3 other file(s) there, none a leaf)")
                   .arg(path)
                   .arg(session->certificates().size())
                   .arg(session->files().size());
        return std::nullopt;
    }
    if (current.size() > 1) {
        QStringList names;
        for (const Bundle* b : current)
            names << QStringLiteral("%1 in %2").arg(escapeText(b->leaf.displayName()), b->leaf.source().path);
        *why = QStringLiteral("%1 holds %2 current certificates: %3; give the folder or files of one certificate")
                   .arg(path)
                   .arg(current.size())
                   .arg(names.join(QStringLiteral("; ")));
        return std::nullopt;
    }
    const Bundle& bundle = *current.first();
    if (bundle.key.isNull() || bundle.keyStatus == KeyStatus::NotProvided) {
        *why = QStringLiteral("%1 holds the certificate %2 but no private key for it").arg(path, escapeText(bundle.leaf.displayName()));
        return std::nullopt;
    }
    if (bundle.keyStatus == KeyStatus::Encrypted) {
        *why = QStringLiteral("the private key %1 is encrypted: servers read keys without a passphrase, so it cannot be deployed")
                   .arg(bundle.key.source().path);
        return std::nullopt;
    }
    if (bundle.keyStatus != KeyStatus::Matches) {
        *why = QStringLiteral("the private key %1 does not belong to the certificate %2 in %3")
                   .arg(bundle.key.source().path, escapeText(bundle.leaf.displayName()), bundle.leaf.source().path);
        return std::nullopt;
    }
    DeploySource source;
    source.path = path;
    source.kind = DeploySourceKind::Folder;
    source.name = certificateName(bundle.leaf);
    source.certificateFile = bundle.leaf.source().path;
    source.keyFile = bundle.key.source().path;
    if (!bundle.chainAsGivenSource.isEmpty() && bundle.chainAsGivenSource == source.certificateFile)
        source.fullchainFile = source.certificateFile;
    else if (!bundle.chainAsGivenSource.isEmpty())
        source.chainFile = bundle.chainAsGivenSource;
    return source;
}

} // namespace

// --- public --------------------------------------------------------------------------------------

QStringList deployFaultPoints()
{
    return {QStringLiteral("deploy-locked"),     QStringLiteral("generation-written"), QStringLiteral("generation-synced"),
            QStringLiteral("generation-renamed"), QStringLiteral("gate-passed"),        QStringLiteral("link-created"),
            QStringLiteral("flipped"),           QStringLiteral("before-reload"),      QStringLiteral("after-reload"),
            QStringLiteral("verified"),          QStringLiteral("rolled-back"),        QStringLiteral("pruned")};
}

std::optional<DeploySource> readDeploySource(const QString& path, QString* why)
{
    QString ignored;
    if (!why)
        why = &ignored;
    why->clear();
    if (path.isEmpty()) {
        *why = QStringLiteral("no source given (--from, or RENEWED_LINEAGE from certbot)");
        return std::nullopt;
    }
    const QFileInfo info(path);
    if (!info.exists()) {
        *why = QStringLiteral("%1 does not exist").arg(path);
        return std::nullopt;
    }
    if (info.isFile()) {
        if (path.endsWith(QLatin1String(".crt")) && !path.endsWith(QLatin1String(".issuer.crt")) &&
            QFileInfo::exists(path.chopped(4) + QStringLiteral(".key"))) {
            std::optional<DeploySource> source = legoSource(info.absoluteFilePath(), path, why);
            const bool lego = info.absoluteDir().dirName() == QLatin1String("certificates") ||
                              QFileInfo::exists(path.chopped(4) + QStringLiteral(".issuer.crt"));
            if (source && !lego)
                source->kind = DeploySourceKind::Folder; // NAME.crt + NAME.key of any tool
            return source;
        }
        // Any other file: it must hold the certificate and its key (a HAProxy crt file).
        return readFolderWithLoader(info.absoluteFilePath(), why);
    }
    if (!info.isDir()) {
        *why = QStringLiteral("%1 is neither a file nor a folder").arg(path);
        return std::nullopt;
    }
    const QDir dir(info.absoluteFilePath());
    const auto has = [&](const QString& name) { return QFileInfo(dir.filePath(name)).isFile(); };

    // certbot: live/NAME/{cert,chain,fullchain,privkey}.pem, symlinks into archive/NAME.
    if (has(QStringLiteral("cert.pem")) && has(QStringLiteral("privkey.pem"))) {
        DeploySource source;
        source.path = path;
        const bool lineage = dir.absolutePath().section(QLatin1Char('/'), -2, -2) == QLatin1String("live") ||
                             QFileInfo(dir.filePath(QStringLiteral("cert.pem"))).isSymLink();
        source.kind = lineage ? DeploySourceKind::CertbotLineage : DeploySourceKind::Folder;
        source.name = dir.dirName();
        source.certificateFile = resolved(dir.filePath(QStringLiteral("cert.pem")));
        source.keyFile = resolved(dir.filePath(QStringLiteral("privkey.pem")));
        if (has(QStringLiteral("fullchain.pem")))
            source.fullchainFile = resolved(dir.filePath(QStringLiteral("fullchain.pem")));
        if (has(QStringLiteral("chain.pem")))
            source.chainFile = resolved(dir.filePath(QStringLiteral("chain.pem")));
        return source;
    }
    // lego: --path/certificates/NAME.{crt,key,issuer.crt}; given the certificates folder or its parent.
    QDir legoDir = dir;
    if (QFileInfo(dir.filePath(QStringLiteral("certificates"))).isDir())
        legoDir = QDir(dir.filePath(QStringLiteral("certificates")));
    {
        QStringList crts = legoDir.entryList({QStringLiteral("*.crt")}, QDir::Files);
        // lego's marks: its certificates folder, or NAME.issuer.crt / NAME.json beside NAME.crt
        // (a plain site.crt + site.key is any folder, read below).
        const bool legoFolder = legoDir.dirName() == QLatin1String("certificates");
        crts.removeIf([&](const QString& n) {
            const QString base = legoDir.filePath(n.chopped(4));
            const bool marked = legoFolder || QFileInfo::exists(base + QStringLiteral(".issuer.crt")) ||
                                QFileInfo::exists(base + QStringLiteral(".json"));
            return n.endsWith(QLatin1String(".issuer.crt")) || !marked || !QFileInfo::exists(base + QStringLiteral(".key"));
        });
        if (crts.size() == 1)
            return legoSource(legoDir.filePath(crts.first()), path, why);
        if (crts.size() > 1) {
            *why = QStringLiteral("%1 holds %2 lego certificates (%3): give --from the .crt of one")
                       .arg(legoDir.path())
                       .arg(crts.size())
                       .arg(crts.join(QStringLiteral(", ")));
            return std::nullopt;
        }
    }
    // acme.sh: ~/.acme.sh/NAME/{NAME.cer, NAME.key, ca.cer, fullchain.cer}.
    if (has(QStringLiteral("fullchain.cer")) || has(QStringLiteral("ca.cer"))) {
        QStringList cers = dir.entryList({QStringLiteral("*.cer")}, QDir::Files);
        cers.removeIf([&](const QString& n) {
            return n == QLatin1String("ca.cer") || n == QLatin1String("fullchain.cer") ||
                   !QFileInfo::exists(dir.filePath(n.chopped(4) + QStringLiteral(".key")));
        });
        if (cers.size() == 1) {
            DeploySource source;
            source.path = path;
            source.kind = DeploySourceKind::AcmeSh;
            source.name = cers.first().chopped(4);
            source.certificateFile = resolved(dir.filePath(cers.first()));
            source.keyFile = resolved(dir.filePath(source.name + QStringLiteral(".key")));
            if (has(QStringLiteral("fullchain.cer")))
                source.fullchainFile = resolved(dir.filePath(QStringLiteral("fullchain.cer")));
            if (has(QStringLiteral("ca.cer")))
                source.chainFile = resolved(dir.filePath(QStringLiteral("ca.cer")));
            return source;
        }
        if (cers.size() > 1) {
            *why = QStringLiteral("%1 holds %2 acme.sh certificates (%3): give the folder of one")
                       .arg(dir.path())
                       .arg(cers.size())
                       .arg(cers.join(QStringLiteral(", ")));
            return std::nullopt;
        }
    }
    return readFolderWithLoader(dir.absolutePath(), why);
}

QStringList destinationsServing(const Certificate& leaf, const QStringList& candidates)
{
    QStringList names = leaf.dnsNames();
    if (names.isEmpty() && !leaf.commonName().isEmpty())
        names << leaf.commonName();
    QStringList out;
    for (const QString& destination : candidates) {
        if (destination.isEmpty() || out.contains(destination))
            continue;
        for (const GenerationInfo& generation : listGenerations(destination))
            if (generation.current && names.contains(generation.certificateName, Qt::CaseInsensitive))
                out << destination;
    }
    return out;
}

QList<GenerationInfo> listGenerations(const QString& destination, QString* why)
{
    QList<GenerationInfo> out;
    for (const GenerationRead& read : readGenerations(QFileInfo(destination).absoluteFilePath(), why))
        out << read.info;
    return out;
}

QString deployDestinationOf(const QString& path)
{
    if (path.isEmpty())
        return {};
    QString candidate = QFileInfo(path).absoluteFilePath();
    // DEST, DEST/current, DEST/current/FILE, DEST/generations/NAME, DEST/generations/NAME/FILE.
    for (int up = 0; up < 4 && !candidate.isEmpty(); ++up) {
        const QDir dir(candidate);
        if (QFileInfo(dir.filePath(kCurrentLink)).isSymLink() && QFileInfo(dir.filePath(kGenerationsFolder)).isDir())
            return QDir::cleanPath(candidate);
        const QString parent = QFileInfo(candidate).absolutePath();
        if (parent == candidate)
            break;
        candidate = parent;
    }
    return {};
}

namespace {

struct LoadedSource {
    std::shared_ptr<InspectionSession> session;
    const Bundle* bundle = nullptr;
    QString why;
};

LoadedSource loadSource(const DeploySource& source, const DeployOptions& options)
{
    InspectRequest request;
    request.caFiles = options.caFiles;
    request.useSystemTrust = options.useSystemTrust;
    // A folder whose chain is in no file of its own (separate CA files beside the certificate):
    // read it whole, as `inspect` would. Otherwise exactly the files named.
    if (source.kind == DeploySourceKind::Folder && source.fullchainFile.isEmpty() && source.chainFile.isEmpty() &&
        QFileInfo(source.path).isDir()) {
        request.files.paths = {QFileInfo(source.path).absoluteFilePath()};
    } else {
        request.files.certFiles = {source.fullchainFile.isEmpty() ? source.certificateFile : source.fullchainFile};
        if (source.fullchainFile.isEmpty() && !source.chainFile.isEmpty())
            request.files.chainFiles = {source.chainFile};
        request.files.keyFiles = {source.keyFile};
    }
    LoadedSource out;
    out.session = InspectionSession::load(request);
    QList<const Bundle*> current;
    for (const Bundle& bundle : out.session->bundles())
        if (!bundle.isSuperseded() && !bundle.served)
            current << &bundle;
    if (current.size() != 1) {
        out.why = current.isEmpty() ? QStringLiteral("%1 holds no server certificate").arg(source.path)
                                    : QStringLiteral("%1 holds %2 current certificates").arg(source.path).arg(current.size());
        return out;
    }
    out.bundle = current.first();
    if (out.bundle->keyStatus != KeyStatus::Matches) {
        out.why = out.bundle->keyStatus == KeyStatus::Mismatch
                      ? QStringLiteral("the private key %1 does not belong to the certificate %2")
                            .arg(source.keyFile, escapeText(out.bundle->leaf.displayName()))
                      : QStringLiteral("no usable private key for the certificate %1 (given: %2)")
                            .arg(escapeText(out.bundle->leaf.displayName()), source.keyFile.isEmpty() ? QStringLiteral("none") : source.keyFile);
        out.bundle = nullptr;
    }
    return out;
}

Finding refusedFinding(Severity severity, const QString& subject, const QString& message, const QString& fix,
                       const QStringList& objectIds = {})
{
    return makeFinding(FindingCode::DeployRefused, severity, QStringLiteral("Deploy refused"), subject, message, fix, objectIds);
}

// When the generation DEST/current names stops being good: its certificate's end, and its
// staple's nextUpdate when it has one.
QString currentRunsOut(const GenerationInfo& current)
{
    if (current.name.isEmpty())
        return QStringLiteral("Nothing is deployed there yet, so nothing is served from it.");
    QString text = QStringLiteral("DEST/current keeps naming %1 (serial %2), whose certificate runs out on %3")
                       .arg(current.name, current.serial, formatTime(current.notAfter));
    if (!current.staple.isNull() && current.staple.nextUpdate.isValid())
        text += QStringLiteral(" and whose staple runs out on %1").arg(formatTime(current.staple.nextUpdate));
    else if (current.staple.isNull())
        text += QStringLiteral(" (it has no staple)");
    return text + QLatin1Char('.');
}

// The refresh engine's reason up to its first sentence end ("no fresh staple: the responder
// answered tryLater"), without the advice that follows, which is about a staple file.
QString firstSentence(QString text)
{
    const qsizetype end = text.indexOf(QLatin1String(". "));
    if (end > 0)
        text.truncate(end);
    while (text.endsWith(QLatin1Char('.')))
        text.chop(1);
    return text;
}

bool problemFree(const GenerationInfo& generation) { return generation.problem.isEmpty(); }

bool stapleStillGood(const StapleWindow& staple, const Certificate& leaf, const QDateTime& at, QDateTime* refreshPoint,
                     double fraction = 0.5)
{
    if (staple.isNull() || staple.status != QLatin1String("good") || staple.serial != leaf.serialHex())
        return false;
    if (!staple.nextUpdate.isValid() || staple.nextUpdate <= at || staple.thisUpdate > at)
        return false;
    AnalysisOptions analysis;
    analysis.stapleRefreshFraction = fraction;
    *refreshPoint = analysis.stapleRefreshPoint(staple.thisUpdate, staple.nextUpdate);
    return true;
}

QString pendingMarker(const QString& destination)
{
    QFile file(QDir(destination).filePath(kPendingFileName));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.read(256)).trimmed();
}

} // namespace

DeployPlan planDeploy(const DeployOptions& options, const QDateTime& at, const std::atomic<bool>* cancel,
                      const std::function<void(const QString& step)>& progress)
{
    const auto say = [&](const QString& step) {
        if (progress)
            progress(step);
    };
    DeployPlan plan;
    plan.madeAt = (at.isValid() ? at : QDateTime::currentDateTimeUtc()).toUTC();
    plan.destination = options.to.isEmpty() ? QString() : QFileInfo(options.to).absoluteFilePath();
    plan.layout = options.layout;
    plan.keep = std::max(1, options.keep);
    plan.reloadCommand = options.reloadCommand;
    plan.haproxySocket = options.haproxySocket;
    plan.verify = options.verify;
    plan.verifyStartTls = options.verifyStartTls;
    plan.staplesOnly = options.staplesOnly;
    plan.source.path = options.from;

    const auto refuse = [&](Severity severity, const QString& reason, const QString& fix) {
        plan.action = DeployAction::Refused;
        plan.reason = reason;
        QString message = reason;
        while (message.endsWith(QLatin1Char('.')))
            message.chop(1);
        plan.findings.prepend(refusedFinding(severity, plan.destination.isEmpty() ? options.from : plan.destination,
                                             message + QStringLiteral(". Nothing was changed."), fix));
        plan.severity = std::max(plan.severity, severity);
        return plan;
    };

    if (plan.destination.isEmpty())
        return refuse(Severity::Error, QStringLiteral("no destination given (--to DEST)"), QStringLiteral("Give --to DEST."));
    if (QFileInfo::exists(plan.destination) && !QFileInfo(plan.destination).isDir())
        return refuse(Severity::Error, QStringLiteral("the destination %1 exists and is not a folder").arg(plan.destination),
                      QStringLiteral("Give --to a folder (it is created when missing)."));

    say(QStringLiteral("reading the source"));
    QString why;
    const std::optional<DeploySource> source = readDeploySource(options.from, &why);
    if (!source)
        return refuse(Severity::Error, QStringLiteral("the source cannot be deployed: %1").arg(why),
                      QStringLiteral("Give --from a certbot lineage (live/NAME), lego or acme.sh output, or a folder holding "
                                     "exactly one current certificate with its private key."));
    plan.source = *source;
    const QString sourceFolder = QFileInfo(source->certificateFile).absolutePath();
    const QString destinationCanonical = QFileInfo(plan.destination).canonicalFilePath();
    if (!options.staplesOnly && !destinationCanonical.isEmpty() &&
        QFileInfo(sourceFolder).canonicalFilePath().startsWith(destinationCanonical + QLatin1Char('/')))
        return refuse(Severity::Error, QStringLiteral("the source %1 lies inside the destination %2").arg(options.from, plan.destination),
                      QStringLiteral("Deploy from the ACME client's folder, not from a generation."));

    const LoadedSource loaded = loadSource(*source, options);
    if (!loaded.bundle)
        return refuse(Severity::Error, QStringLiteral("the source cannot be deployed: %1").arg(loaded.why),
                      QStringLiteral("Give --from the files of one certificate with its matching private key."));
    const Bundle& bundle = *loaded.bundle;
    const Certificate& leaf = bundle.leaf;
    plan.certificateName = certificateName(leaf);
    plan.serial = leaf.serialHex();
    plan.notBefore = leaf.notBefore();
    plan.notAfter = leaf.notAfter();
    plan.mustStaple = leaf.mustStaple();
    plan.hasOcspUrl = !leaf.ocspUrls().isEmpty() || !options.online.ocsp.responder.isEmpty();

    // What DEST holds now.
    QString listProblem;
    const QList<GenerationRead> generations = readGenerations(plan.destination, &listProblem);
    const GenerationRead* current = nullptr;
    for (const GenerationRead& g : generations)
        if (g.info.current)
            current = &g;
    if (current)
        plan.current = current->info;
    const bool sameCertificate = current && !current->leaf.isNull() && current->leaf == leaf;
    if (current && pendingMarker(plan.destination) == current->info.name)
        plan.unfinishedGeneration = current->info.name;
    QDateTime refreshPoint;
    const bool currentStapleGood = sameCertificate && stapleStillGood(current->info.staple, leaf, plan.madeAt, &refreshPoint);
    bool currentHasLayout = sameCertificate;
    if (currentHasLayout)
        for (const QString& file : generationFileNames(plan.layout, !current->stapleDer.isEmpty()))
            currentHasLayout = currentHasLayout && current->files.contains(file);

    if (options.staplesOnly && current && !sameCertificate)
        return refuse(Severity::Error,
                      QStringLiteral("a staple refresh of %1 found another certificate there than in the source").arg(plan.destination),
                      QStringLiteral("Deploy the certificate with `deploy --from SRC --to DEST`."));

    // Idempotent: the same certificate with a staple that is still good and not yet due.
    if (sameCertificate && currentHasLayout && problemFree(current->info)) {
        // A staple refresh of a certificate without a responder has nothing to fetch, forced or not.
        if (!plan.hasOcspUrl && current->stapleDer.isEmpty() && (!options.force || options.staplesOnly)) {
            plan.action = DeployAction::UpToDate;
            plan.reason = QStringLiteral("%1 already serves this certificate; it names no OCSP responder, so it needs no staple")
                              .arg(current->info.name);
            return plan;
        }
        if (!options.force && currentStapleGood && plan.madeAt < refreshPoint) {
            plan.action = DeployAction::UpToDate;
            plan.reason = QStringLiteral("%1 already serves this certificate with a good staple (until %2; refreshed from %3)")
                              .arg(current->info.name, formatTime(current->info.staple.nextUpdate), formatTime(refreshPoint));
            return plan;
        }
    }

    // A fresh staple through the refresh engine, for this certificate only: its own staples (a
    // source folder may hold one) are never carried into the new generation.
    // Named by when it is made (not the evaluation time, which --at may set): names sort by age.
    plan.generationName = QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")) + QLatin1Char('-') + serialDigits(plan.serial);
    Bundle withoutStaples = bundle;
    withoutStaples.staples.clear();
    withoutStaples.onlineResponses.clear();
    if (plan.hasOcspUrl) {
        say(QStringLiteral("fetching a fresh staple"));
        RefreshOptions refresh;
        refresh.staplePath = QDir(plan.destination).filePath(kGenerationsFolder + QLatin1Char('/') + plan.generationName + QStringLiteral("/ocsp.der"));
        refresh.online = options.online;
        const std::shared_ptr<InspectionSession> fetchSession =
            InspectionSession::fromBundles({withoutStaples}, {}, loaded.session->sharedTrust());
        const RefreshPlan fetched = planRefresh(*fetchSession, refresh, plan.madeAt, cancel);
        if (!fetched.bundles.isEmpty()) {
            const BundleRefresh& line = fetched.bundles.first();
            const QString whyNoStaple = firstSentence(line.reason);
            // Only a warning while what is served stays good (or needs no staple).
            const auto lowerFetchFailures = [&plan] {
                for (Finding& f : plan.findings)
                    if (findingCode(f) == FindingCode::OcspFetchFailed && f.severity > Severity::Warning)
                        f = makeFinding(FindingCode::OcspFetchFailed, Severity::Warning, f.title, f.subject, f.message, f.fix,
                                        f.objectIds, f.remedy);
            };
            plan.responder = line.responder;
            if (line.outcome == RefreshOutcome::Install && !line.newStapleDer.isEmpty()) {
                plan.stapleDer = line.newStapleDer;
                plan.staple = line.fetched;
            } else {
                plan.findings << line.findings;
                const bool revoked = std::any_of(line.findings.begin(), line.findings.end(),
                                                 [](const Finding& f) { return findingCode(f) == FindingCode::CertRevoked; });
                if (revoked) {
                    plan.severity = Severity::Critical;
                    return refuse(Severity::Critical,
                                  QStringLiteral("the responder says the certificate %1 is revoked: %2. %3")
                                      .arg(escapeText(leaf.displayName()), whyNoStaple, currentRunsOut(plan.current)),
                                  QStringLiteral("Replace the certificate (and its key, if it was compromised), then deploy the new one."));
                }
                if (sameCertificate && currentStapleGood) {
                    // Never replace a good staple of this very certificate with none.
                    lowerFetchFailures();
                    plan.action = DeployAction::UpToDate;
                    plan.reason = QStringLiteral("%1; %2 keeps its good staple, valid until %3")
                                      .arg(whyNoStaple, current->info.name, formatTime(current->info.staple.nextUpdate));
                    plan.severity = Severity::Warning;
                    plan.generationName.clear();
                    return plan;
                }
                if (plan.mustStaple)
                    return refuse(Severity::Critical,
                                  QStringLiteral("the certificate %1 demands a staple (must-staple) and no good one could be had: %2. %3")
                                      .arg(escapeText(leaf.displayName()), whyNoStaple, currentRunsOut(plan.current)),
                                  QStringLiteral("Retry the deploy when the responder %1 answers, before the current generation runs out.")
                                      .arg(line.responder.isEmpty() ? QStringLiteral("(none)") : line.responder));
                if (options.staplesOnly) {
                    // A staple refresh that got no staple has nothing better than what is there.
                    lowerFetchFailures();
                    plan.action = DeployAction::UpToDate;
                    plan.reason = QStringLiteral("%1; %2 stays as it is").arg(whyNoStaple, current ? current->info.name : QString());
                    plan.severity = Severity::Warning;
                    plan.generationName.clear();
                    return plan;
                }
                // Deployed without a staple, never with an old one.
                lowerFetchFailures();
                plan.severity = std::max(plan.severity, Severity::Warning);
                plan.reason = QStringLiteral("%1: the new generation is deployed without one (never with another certificate's)").arg(whyNoStaple);
            }
        }
        if (options.staplesOnly && sameCertificate && currentStapleGood && !plan.staple.isNull() &&
            plan.staple.thisUpdate <= current->info.staple.thisUpdate) {
            plan.action = DeployAction::UpToDate;
            plan.reason = QStringLiteral("%1's staple is good and at least as recent as the responder's (thisUpdate %2)")
                              .arg(current->info.name, formatTime(current->info.staple.thisUpdate));
            plan.stapleDer.clear();
            plan.generationName.clear();
            return plan;
        }
    }

    // The gate, in memory: the would-be generation as the engine judges it.
    say(QStringLiteral("judging the new generation"));
    Bundle wouldBe = withoutStaples;
    if (!plan.stapleDer.isEmpty()) {
        SourceLocation stapleSource;
        stapleSource.path = QStringLiteral("the fresh staple for %1").arg(plan.generationName);
        const OcspStaple::ParseResult parsed = OcspStaple::fromDer(plan.stapleDer, stapleSource);
        if (!parsed.staple.isNull())
            wouldBe.staples = {AttachedStaple{parsed.staple, StapleAttachment::Explicit}};
    }
    AnalysisOptions analysis;
    analysis.at = plan.madeAt;
    analysis.trust = &loaded.session->trust();
    QList<Finding> gateProblems;
    for (const Finding& f : Analyzer().analyze(wouldBe, analysis)) {
        if (f.severity >= Severity::Error)
            gateProblems << f;
        else if (f.severity == Severity::Warning)
            plan.findings << f;
    }
    plan.findings << loaded.session->inputFindings();
    if (!gateProblems.isEmpty()) {
        plan.findings << gateProblems;
        QStringList titles;
        for (const Finding& f : gateProblems)
            titles << QStringLiteral("%1 (%2)").arg(f.title, f.code);
        const bool noStaple = plan.mustStaple && plan.stapleDer.isEmpty();
        plan.generationName.clear();
        return refuse(noStaple ? Severity::Critical : Severity::Error,
                      QStringLiteral("the new generation would fail the gate: %1. %2")
                          .arg(titles.join(QStringLiteral(", ")), currentRunsOut(plan.current)),
                      QStringLiteral("Fix what the gate's findings name, then deploy again."));
    }
    for (const Finding& f : plan.findings)
        plan.severity = std::max(plan.severity, f.severity);

    plan.action = DeployAction::Deploy;
    if (plan.reason.isEmpty()) {
        if (!plan.hasOcspUrl)
            plan.reason = QStringLiteral("the certificate names no OCSP responder (as Let's Encrypt's since 2025): deployed without a staple");
        else if (sameCertificate)
            plan.reason = options.staplesOnly ? QStringLiteral("a fresh staple for the current certificate: a new generation with it")
                                              : QStringLiteral("the same certificate with a fresh staple (forced or due)");
        else
            plan.reason = current ? QStringLiteral("a new certificate with its own fresh staple replaces %1").arg(current->info.name)
                                  : QStringLiteral("the first generation: the certificate with its own fresh staple");
    }
    // Beyond `keep` (the new one counts), oldest first; never the current one.
    QStringList older;
    for (const GenerationRead& g : generations)
        older << g.info.name; // newest first
    for (qsizetype i = older.size() - 1; i >= 0 && older.size() + 1 - plan.generationsToRemove.size() > plan.keep; --i) {
        if (older[i] == plan.current.name)
            continue;
        plan.generationsToRemove << older[i];
    }
    Q_UNUSED(listProblem);
    return plan;
}

namespace {

struct FileToWrite {
    QString name;
    QByteArray bytes;
    bool secret = false; // holds the private key: 0600, or the previous key's group and mode
};

// Creates `path` (never an existing file, never through a link), with `mode` (and `group`, when
// given) set before the first byte, and syncs it.
QString writeNewFile(const QString& path, const QByteArray& bytes, mode_t mode, std::optional<gid_t> group)
{
    const int fd = ::open(encoded(path).constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return QStringLiteral("cannot create %1: %2").arg(path, systemError(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    mode_t finalMode = mode;
    if (group && ::fchown(fd, uid_t(-1), *group) != 0)
        finalMode &= 0700; // the group could not be given: nobody else may read the key
    if (::fchmod(fd, finalMode) != 0)
        return QStringLiteral("cannot set the mode of %1: %2").arg(path, systemError(errno));
    qsizetype written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.constData() + written, size_t(bytes.size() - written));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return QStringLiteral("cannot write %1: %2").arg(path, systemError(errno));
        written += n;
    }
    if (::fsync(fd) != 0)
        return QStringLiteral("cannot sync %1: %2").arg(path, systemError(errno));
    return {};
}

// Removes what runs killed under this destination's lock left: temp generation folders and temp
// links. Only called while holding the lock, so no live run owns them.
QStringList removeLeftovers(const QString& destination)
{
    QStringList removed;
    const QDir generations(QDir(destination).filePath(kGenerationsFolder));
    for (const QString& name : generations.entryList({kTempGenerationPrefix + QLatin1Char('*')},
                                                     QDir::Dirs | QDir::Hidden | QDir::NoSymLinks | QDir::NoDotAndDotDot)) {
        if (removed.size() >= kMaxLeftoversRemoved)
            break;
        if (QDir(generations.filePath(name)).removeRecursively())
            removed << generations.filePath(name);
    }
    const QDir dest(destination);
    for (const QString& name : dest.entryList({kTempLinkPrefix + QLatin1Char('*')}, QDir::System | QDir::Hidden | QDir::Files)) {
        if (removed.size() >= kMaxLeftoversRemoved)
            break;
        if (::unlink(encoded(dest.filePath(name)).constData()) == 0)
            removed << dest.filePath(name);
    }
    if (!removed.isEmpty()) {
        syncPath(generations.path());
        syncPath(destination);
    }
    return removed;
}

// Points DEST/current at generations/NAME: a new link beside it, renamed over it (rename is
// atomic: a reader sees the old or the new link, never none).
QString flipCurrent(const QString& destination, const QString& name, bool forward)
{
    const QString link = QDir(destination).filePath(kTempLinkPrefix + QString::number(::getpid()));
    ::unlink(encoded(link).constData());
    const QByteArray target = encoded(kGenerationsFolder + QLatin1Char('/') + name);
    if (::symlink(target.constData(), encoded(link).constData()) != 0)
        return QStringLiteral("cannot create the link %1: %2").arg(link, systemError(errno));
    if (forward)
        faultPoint("link-created");
    if (::rename(encoded(link).constData(), encoded(QDir(destination).filePath(kCurrentLink)).constData()) != 0) {
        const int error = errno;
        ::unlink(encoded(link).constData());
        return QStringLiteral("cannot make %1 current: %2").arg(name, systemError(error));
    }
    syncPath(destination);
    return {};
}

QByteArray pemOf(const QList<Certificate>& certs)
{
    QByteArray out;
    for (const Certificate& c : certs)
        out += certificatePem(c);
    return out;
}

// The gate on disk: each file set of the generation, read and judged by the engine as servers
// would read it. Returns the problems (error or critical findings); empty: it passes.
QList<Finding> gateFromDisk(const QString& folder, const DeployPlan& plan, const DeployOptions& options)
{
    QList<RoleFiles> sets;
    const QDir dir(folder);
    if (plan.layout != DeployLayout::Haproxy) {
        RoleFiles files;
        files.certFiles = {dir.filePath(QStringLiteral("fullchain.pem"))};
        files.keyFiles = {dir.filePath(QStringLiteral("privkey.pem"))};
        if (QFileInfo::exists(dir.filePath(QStringLiteral("ocsp.der"))))
            files.stapleFiles = {dir.filePath(QStringLiteral("ocsp.der"))};
        sets << files;
    }
    if (plan.layout == DeployLayout::Haproxy || plan.layout == DeployLayout::All) {
        RoleFiles files;
        files.certFiles = {dir.filePath(QStringLiteral("haproxy.pem"))};
        files.keyFiles = {dir.filePath(QStringLiteral("haproxy.pem"))};
        if (QFileInfo::exists(dir.filePath(QStringLiteral("haproxy.pem.ocsp"))))
            files.stapleFiles = {dir.filePath(QStringLiteral("haproxy.pem.ocsp"))};
        sets << files;
    }
    QList<Finding> problems;
    for (const RoleFiles& files : sets) {
        InspectRequest request;
        request.files = files;
        request.caFiles = options.caFiles;
        request.useSystemTrust = options.useSystemTrust;
        const std::shared_ptr<InspectionSession> session = InspectionSession::load(request);
        AnalysisOptions analysis;
        analysis.at = plan.madeAt;
        const InspectionReport report = session->evaluate(analysis);
        for (const Finding& f : report.inputFindings)
            if (f.severity >= Severity::Error)
                problems << f;
        const BundleReport* found = nullptr;
        for (const BundleReport& b : report.bundles)
            if (!b.bundle.isSuperseded() && b.bundle.leaf.serialHex() == plan.serial)
                found = &b;
        if (!found || found->bundle.keyStatus != KeyStatus::Matches) {
            problems << refusedFinding(Severity::Error, files.certFiles.first(),
                                       found ? QStringLiteral("%1 as written has no matching private key").arg(files.certFiles.first())
                                             : QStringLiteral("%1 as written does not hold the certificate %2").arg(files.certFiles.first(), plan.serial),
                                       QStringLiteral("Check the disk and the source files, then deploy again."));
            continue;
        }
        if (!plan.stapleDer.isEmpty() && found->bundle.staples.isEmpty())
            problems << refusedFinding(Severity::Error, folder, QStringLiteral("the staple written to %1 does not attach to its certificate").arg(folder),
                                       QStringLiteral("Deploy again."));
        for (const Finding& f : found->findings)
            if (f.severity >= Severity::Error)
                problems << f;
    }
    return problems;
}

VerifyResult verifyServed(const QString& target, const QString& startTls, const GenerationRead& expected, const DeployOptions& options)
{
    VerifyResult verify;
    verify.target = target;
    const std::optional<HostPort> hostPort = parseHostPort(target);
    if (!hostPort) {
        verify.summary = QStringLiteral("%1 is not HOST:PORT").arg(escapeText(target));
        return verify;
    }
    ServerCheckRequest request;
    request.probe.host = hostPort->host;
    request.probe.port = hostPort->port;
    request.probe.connectTimeoutMs = std::min(options.verifyTimeoutMs, 5000);
    request.probe.stepTimeoutMs = std::min(options.verifyTimeoutMs, 5000);
    request.probe.totalTimeoutMs = options.verifyTimeoutMs;
    if (!startTls.isEmpty()) {
        const std::optional<StartTlsProtocol> protocol = startTlsProtocolFromName(startTls);
        if (!protocol) {
            verify.summary = QStringLiteral("unknown STARTTLS protocol '%1'").arg(escapeText(startTls));
            return verify;
        }
        request.probe.startTls = *protocol;
    }
    ServerCheckOptions checkOptions;
    checkOptions.caFiles = options.caFiles;
    checkOptions.useSystemTrust = options.useSystemTrust;
    const ServerCheckResult checked = runServerChecks({request}, checkOptions);
    if (checked.session)
        for (const Finding& f : checked.session->inputFindings())
            if (f.severity >= Severity::Warning)
                verify.findings << f;
    const QString wantSerial = expected.leaf.isNull() ? QString() : expected.leaf.serialHex();
    const bool wantStaple = !expected.stapleDer.isEmpty();
    QStringList parts;
    bool all = true;
    bool any = false;
    for (const ServerCheckEndpoint& endpoint : checked.endpoints) {
        for (const ProbeResult& address : endpoint.addresses) {
            if (address.chainDer.isEmpty()) {
                all = false;
                parts << QStringLiteral("%1: no certificate served").arg(escapeText(address.subject()));
                continue;
            }
            any = true;
            const Certificate served = Certificate::fromDer(address.chainDer.first(), {});
            const QString servedSerial = served.isNull() ? QStringLiteral("(unreadable)") : served.serialHex();
            const QString stapleSerial = stapleServedSerial(address.stapleDer);
            if (verify.servedSerial.isEmpty()) {
                verify.servedSerial = servedSerial;
                verify.servedStapleSerial = stapleSerial;
            }
            const bool certOk = servedSerial == wantSerial;
            // With a staple in the generation, exactly its certificate's; without, none (or one
            // for this same certificate that the server still holds): never another's.
            const bool stapleOk = wantStaple ? stapleSerial == wantSerial : (stapleSerial.isEmpty() || stapleSerial == wantSerial);
            all = all && certOk && stapleOk;
            parts << QStringLiteral("%1 served serial %2%3 with %4")
                         .arg(escapeText(address.subject()), servedSerial, certOk ? QString() : QStringLiteral(" (expected %1)").arg(wantSerial),
                              stapleSerial.isEmpty() ? QStringLiteral("no staple")
                                                     : QStringLiteral("a staple for serial %1%2")
                                                           .arg(stapleSerial, stapleOk ? QString() : QStringLiteral(" (wrong)")));
            if (wantStaple && stapleSerial.isEmpty())
                parts.last() += QStringLiteral(" (expected its staple)");
        }
    }
    verify.ok = any && all;
    verify.summary = parts.isEmpty() ? QStringLiteral("%1: nothing served").arg(escapeText(target)) : parts.join(QStringLiteral("; "));
    return verify;
}

QString commandRunText(const CommandRun& run)
{
    if (run.timedOut)
        return QStringLiteral("the reload command timed out");
    if (!run.ran)
        return QStringLiteral("the reload command did not start");
    QString text = QStringLiteral("the reload command exited %1").arg(run.exitStatus);
    if (!run.output.trimmed().isEmpty())
        text += QStringLiteral(" (%1)").arg(run.output.trimmed().left(300));
    return text;
}

bool commandOk(const std::optional<CommandRun>& run) { return !run || (run->ran && !run->timedOut && run->exitStatus == 0); }

// HAProxy 2.6's runtime API, as tried against HAProxy 2.6.12: `set ssl cert <crt> <<` + PEM + an
// empty line answers "Transaction created for certificate <crt>!"; `set ssl cert <crt>.ocsp <<` +
// base64 DER answers "Transaction updated …" (HAProxy needs the issuer in the PEM to use it);
// `commit ssl cert <crt>` answers "Committing <crt>.\nSuccess!" (or "…\nFailed!": then `abort ssl
// cert <crt>` drops the transaction); `set ssl ocsp-response <base64>` answers "OCSP Response
// updated!". <crt> is the path as HAProxy's configuration names it.
QList<HaproxyUpdate> tellHaproxy(const QString& socket, const QString& crtPath, const QString& generationFolder, int timeoutMs)
{
    QList<HaproxyUpdate> out;
    const auto step = [&](const QString& label, HaproxyUpdate update) {
        update.bundleId = label;
        out << update;
        return update.ok;
    };
    SecretBytes pem;
    QString why;
    pem.bytes = readSmallFile(QDir(generationFolder).filePath(QStringLiteral("haproxy.pem")), &why);
    if (pem.bytes.isEmpty()) {
        HaproxyUpdate failed;
        failed.answer = QStringLiteral("the generation has no haproxy.pem to send (deploy with --layout haproxy or all)");
        step(QStringLiteral("set ssl cert"), failed);
        return out;
    }
    const QByteArray crt = crtPath.toUtf8();
    SecretBytes payload;
    payload.bytes = "set ssl cert " + crt + " <<\n" + pem.bytes + (pem.bytes.endsWith('\n') ? "" : "\n") + "\n";
    if (!step(QStringLiteral("set ssl cert"), sendHaproxyCommand(socket, payload.bytes, timeoutMs, QStringLiteral("Transaction created"))))
        return out;
    payload.wipe();
    const QByteArray staple = [&] {
        QString ignored;
        const QString file = QDir(generationFolder).filePath(QStringLiteral("haproxy.pem.ocsp"));
        return QFileInfo::exists(file) ? readSmallFile(file, &ignored) : QByteArray();
    }();
    if (!staple.isEmpty())
        step(QStringLiteral("set ssl cert .ocsp"),
             sendHaproxyCommand(socket, "set ssl cert " + crt + ".ocsp <<\n" + staple.toBase64() + "\n\n", timeoutMs,
                                QStringLiteral("Transaction updated")));
    HaproxyUpdate commit = sendHaproxyCommand(socket, "commit ssl cert " + crt + "\n", timeoutMs, QStringLiteral("Committing"));
    if (commit.ok && !commit.answer.contains(QLatin1String("Success!"))) {
        commit.ok = false;
        sendHaproxyCommand(socket, "abort ssl cert " + crt + "\n", timeoutMs, QStringLiteral("Transaction aborted"));
    }
    if (!step(QStringLiteral("commit ssl cert"), commit))
        return out;
    if (!staple.isEmpty())
        step(QStringLiteral("set ssl ocsp-response"), sendHaproxyOcspResponse(socket, staple, timeoutMs));
    return out;
}

struct ServerTelling {
    std::optional<CommandRun> reload;
    QList<HaproxyUpdate> haproxy;
    std::optional<VerifyResult> verify;
    bool ok() const
    {
        if (!commandOk(reload))
            return false;
        for (const HaproxyUpdate& u : haproxy)
            if (!u.ok)
                return false;
        return !verify || verify->ok;
    }
    QString text() const
    {
        QStringList parts;
        if (reload)
            parts << commandRunText(*reload);
        for (const HaproxyUpdate& u : haproxy)
            if (!u.ok)
                parts << QStringLiteral("HAProxy %1 failed: %2").arg(u.bundleId, u.answer);
        if (verify)
            parts << QStringLiteral("verify %1: %2").arg(escapeText(verify->target), verify->summary);
        return parts.isEmpty() ? QStringLiteral("nothing to check") : parts.join(QStringLiteral("; "));
    }
};

// How often a verify that still sees the old generation asks again (tellServers).
constexpr int kVerifySettleIntervalMs = 250;

ServerTelling tellServers(const QString& destination, const QString& generation, const DeployOptions& options, bool withFaultPoints)
{
    ServerTelling out;
    const QString folder = QDir(destination).filePath(kGenerationsFolder + QLatin1Char('/') + generation);
    if (!options.reloadCommand.isEmpty()) {
        if (withFaultPoints)
            faultPoint("before-reload");
        out.reload = runShellCommand(options.reloadCommand, options.reloadTimeoutMs);
        if (withFaultPoints)
            faultPoint("after-reload");
    }
    if (!options.haproxySocket.isEmpty()) {
        const QString crt = options.haproxyCertPath.isEmpty() ? QDir(destination).filePath(kCurrentLink + QStringLiteral("/haproxy.pem"))
                                                              : options.haproxyCertPath;
        out.haproxy = tellHaproxy(options.haproxySocket, crt, folder, options.haproxyTimeoutMs);
    }
    if (!options.verify.isEmpty()) {
        const GenerationRead expected = readGeneration(folder, generation);
        out.verify = verifyServed(options.verify, options.verifyStartTls, expected, options);
        // A reload may take effect after its command has returned: `nginx -s reload` only signals
        // the master, which starts new workers a moment later, and until then the old ones serve
        // the old generation. While the server answers with another certificate or staple and the
        // reload itself went well, ask again for a while (verifyTimeoutMs) before judging. Nothing
        // served at all is judged at once.
        QElapsedTimer settling;
        settling.start();
        while (!out.verify->ok && !out.verify->servedSerial.isEmpty() && commandOk(out.reload)
               && settling.elapsed() < options.verifyTimeoutMs) {
            QThread::msleep(kVerifySettleIntervalMs);
            out.verify = verifyServed(options.verify, options.verifyStartTls, expected, options);
        }
        if (withFaultPoints)
            faultPoint("verified");
    }
    return out;
}

// After DEST/current names `generation`: tell the servers, verify, and when that fails flip back
// to `previous` and tell them again.
void finishFlip(DeployResult& result, const QString& destination, const QString& generation, const QString& previous,
                const DeployOptions& options)
{
    const ServerTelling told = tellServers(destination, generation, options, true);
    result.reload = told.reload;
    result.haproxy = told.haproxy;
    result.verify = told.verify;
    if (told.verify)
        result.findings << told.verify->findings;
    if (told.ok())
        return;
    if (previous.isEmpty()) {
        result.message = QStringLiteral("%1 is current, but %2; there is no previous generation to roll back to").arg(generation, told.text());
        return;
    }
    if (const QString why = flipCurrent(destination, previous, false); !why.isEmpty()) {
        result.message = QStringLiteral("%1 is current, but %2; rolling back failed: %3").arg(generation, told.text(), why);
        return;
    }
    faultPoint("rolled-back");
    result.rolledBack = true;
    result.currentGeneration = previous;
    const ServerTelling again = tellServers(destination, previous, options, false);
    result.reloadAfterRollback = again.reload;
    result.haproxy << again.haproxy;
    result.verifyAfterRollback = again.verify;
    result.findings << makeFinding(
        FindingCode::DeployRolledBack, Severity::Critical, QStringLiteral("Deploy rolled back"), destination,
        QStringLiteral("%1 was made current and the servers were told, but %2. DEST/current was flipped back to %3 and the servers "
                       "told again: %4.")
            .arg(generation, told.text(), previous, again.ok() ? again.text() + QStringLiteral(" (the previous generation is served again)")
                                                               : again.text()),
        QStringLiteral("Check the server's TLS files against its configuration and its log, then deploy again."));
    result.message = QStringLiteral("rolled back to %1: %2").arg(previous, told.text());
}

void prune(DeployResult& result, const QString& destination, int keep)
{
    QStringList names; // newest first
    for (const GenerationRead& g : readGenerations(destination, nullptr))
        names << g.info.name;
    const QString current = readCurrentName(destination);
    qsizetype count = names.size();
    for (qsizetype i = names.size() - 1; i >= 0 && count > keep; --i) {
        if (names[i] == current || names[i] == result.generation)
            continue;
        if (QDir(QDir(destination).filePath(kGenerationsFolder + QLatin1Char('/') + names[i])).removeRecursively()) {
            result.removedGenerations << names[i];
            --count;
        }
    }
    if (!result.removedGenerations.isEmpty())
        syncPath(QDir(destination).filePath(kGenerationsFolder));
}

void writePending(const QString& destination, const QString& generation)
{
    writeFileAtomically(QDir(destination).filePath(kPendingFileName), generation.toUtf8() + '\n', 0644);
}

void clearPending(const QString& destination)
{
    if (::unlink(encoded(QDir(destination).filePath(kPendingFileName)).constData()) == 0)
        syncPath(destination);
}

std::optional<gid_t> previousKeyGroup(const QString& destination, const QString& current, mode_t* mode)
{
    *mode = 0600;
    if (current.isEmpty())
        return std::nullopt;
    const QDir folder(QDir(destination).filePath(kGenerationsFolder + QLatin1Char('/') + current));
    for (const QString& name : {QStringLiteral("privkey.pem"), QStringLiteral("haproxy.pem")}) {
        struct stat st = {};
        if (::lstat(encoded(folder.filePath(name)).constData(), &st) == 0 && S_ISREG(st.st_mode)) {
            *mode = st.st_mode & 0770; // never readable by others
            if (!(*mode & 0600))
                *mode |= 0600;
            return st.st_gid;
        }
    }
    return std::nullopt;
}

} // namespace

bool DeployResult::ok() const
{
    if (action == DeployAction::Refused)
        return false;
    if (rolledBack)
        return false;
    if (action == DeployAction::Deploy && !flipped)
        return false;
    if (!commandOk(reload))
        return false;
    for (const HaproxyUpdate& u : haproxy)
        if (!u.ok)
            return false;
    if (verify && !verify->ok)
        return false;
    for (const Finding& f : findings)
        if (f.severity >= Severity::Error)
            return false;
    return true;
}

int DeployResult::exitCode() const
{
    if (!ok())
        return 2;
    for (const Finding& f : findings)
        if (f.severity >= Severity::Warning)
            return 1;
    return 0;
}

DeployResult executeDeploy(const DeployPlan& plan, const DeployOptions& options, const std::atomic<bool>* cancel,
                           const std::function<void(const QString& step)>& progress)
{
    const auto say = [&](const QString& step) {
        if (progress)
            progress(step);
    };
    DeployResult result;
    result.action = plan.action;
    result.previousGeneration = plan.current.name;
    result.currentGeneration = plan.current.name;
    if (plan.action == DeployAction::Refused) {
        result.message = QStringLiteral("refused: %1; nothing was changed").arg(plan.reason);
        return result;
    }
    if (!plan.needsExecution()) {
        result.message = QStringLiteral("up to date: %1").arg(plan.reason);
        return result;
    }
    const QString destination = plan.destination;
    const QString generationsPath = QDir(destination).filePath(kGenerationsFolder);
    if (!QDir().mkpath(generationsPath)) {
        result.findings << refusedFinding(Severity::Error, destination, QStringLiteral("cannot create %1").arg(generationsPath),
                                          QStringLiteral("Check the destination's permissions."));
        result.message = QStringLiteral("cannot create %1: nothing was changed").arg(generationsPath);
        return result;
    }
    say(QStringLiteral("locking %1").arg(destination));
    DestinationLock lock;
    if (const QString why = lock.acquire(destination, options.lockTimeoutMs, cancel); !why.isEmpty()) {
        result.message = why + QStringLiteral(": nothing was changed");
        result.findings << refusedFinding(Severity::Error, destination, why, QStringLiteral("Run the deploy again when the other one is done."));
        return result;
    }
    faultPoint("deploy-locked");
    const QStringList leftovers = removeLeftovers(destination);

    // Another run may have deployed since this plan was made.
    const QString currentNow = readCurrentName(destination);
    if (currentNow != plan.current.name) {
        result.currentGeneration = currentNow;
        result.planOutdated = true;
        result.message = QStringLiteral("DEST/current changed since the plan was made (it names %1 now, the plan saw %2): nothing was changed")
                             .arg(currentNow.isEmpty() ? QStringLiteral("nothing") : currentNow,
                                  plan.current.name.isEmpty() ? QStringLiteral("nothing") : plan.current.name);
        return result;
    }

    if (plan.action == DeployAction::UpToDate) {
        // A killed run flipped to the current generation but did not finish telling the servers.
        QString previous;
        bool seen = false;
        for (const GenerationRead& g : readGenerations(destination, nullptr)) {
            if (seen && g.info.problem.isEmpty()) {
                previous = g.info.name;
                break;
            }
            seen = seen || g.info.name == plan.unfinishedGeneration;
        }
        result.generation = plan.unfinishedGeneration;
        result.flipped = true;
        result.previousGeneration = previous;
        result.message = QStringLiteral("finished what a killed run left: %1 was current, the servers are told now").arg(plan.unfinishedGeneration);
        finishFlip(result, destination, plan.unfinishedGeneration, previous, options);
        clearPending(destination);
        faultPoint("pruned");
        return result;
    }

    // The generation's files, from the source again (the key never lives in the plan).
    say(QStringLiteral("writing the generation"));
    const auto failed = [&](const QString& why, const QString& tempFolder = {}) {
        if (!tempFolder.isEmpty())
            QDir(tempFolder).removeRecursively();
        result.message = why + QStringLiteral(": DEST/current was not changed");
        result.findings << refusedFinding(Severity::Error, destination, why, QStringLiteral("Fix the cause, then deploy again."));
        return result;
    };
    std::optional<DeploySource> source = readDeploySource(plan.source.path, nullptr);
    if (!source)
        source = plan.source;
    const LoadedSource loaded = loadSource(*source, options);
    if (!loaded.bundle)
        return failed(QStringLiteral("the source changed since the plan was made: %1").arg(loaded.why));
    if (loaded.bundle->leaf.serialHex() != plan.serial)
        return failed(QStringLiteral("the source changed since the plan was made: it holds serial %1 now, the plan was made for %2")
                          .arg(loaded.bundle->leaf.serialHex(), plan.serial));
    const Certificate& leaf = loaded.bundle->leaf;
    SecretBytes key;
    QString keyWhy;
    readMatchingKeyPem(source->keyFile, leaf, &key, &keyWhy);
    if (key.bytes.isEmpty())
        return failed(keyWhy);
    const QByteArray leafPem = certificatePem(leaf);
    const QByteArray chainPem = pemOf(chainToServe(*loaded.bundle));
    const bool withStaple = !plan.stapleDer.isEmpty();
    QList<FileToWrite> files;
    if (plan.layout != DeployLayout::Haproxy) {
        files << FileToWrite{QStringLiteral("cert.pem"), leafPem, false} << FileToWrite{QStringLiteral("chain.pem"), chainPem, false}
              << FileToWrite{QStringLiteral("fullchain.pem"), leafPem + chainPem, false}
              << FileToWrite{QStringLiteral("privkey.pem"), key.bytes, true};
        if (withStaple)
            files << FileToWrite{QStringLiteral("ocsp.der"), plan.stapleDer, false};
    }
    if (plan.layout == DeployLayout::Haproxy || plan.layout == DeployLayout::All) {
        files << FileToWrite{QStringLiteral("haproxy.pem"), leafPem + chainPem + key.bytes, true};
        if (withStaple)
            files << FileToWrite{QStringLiteral("haproxy.pem.ocsp"), plan.stapleDer, false};
    }
    mode_t keyMode = 0600;
    const std::optional<gid_t> keyGroup = previousKeyGroup(destination, plan.current.name, &keyMode);

    QString name = plan.generationName;
    for (int suffix = 2; QFileInfo::exists(QDir(generationsPath).filePath(name)) && suffix < kMaxNameSuffix; ++suffix)
        name = plan.generationName + QLatin1Char('-') + QString::number(suffix);
    const QString finalFolder = QDir(generationsPath).filePath(name);
    if (QFileInfo::exists(finalFolder))
        return failed(QStringLiteral("%1 already exists").arg(finalFolder));
    const QString tempFolder = QDir(generationsPath).filePath(kTempGenerationPrefix + name + QLatin1Char('-') + QString::number(::getpid()));
    if (::mkdir(encoded(tempFolder).constData(), 0755) != 0)
        return failed(QStringLiteral("cannot create %1: %2").arg(tempFolder, systemError(errno)));
    for (FileToWrite& file : files) {
        const QString why = writeNewFile(QDir(tempFolder).filePath(file.name), file.bytes, file.secret ? keyMode : 0644,
                                         file.secret ? keyGroup : std::nullopt);
        if (file.secret)
            OPENSSL_cleanse(file.bytes.data(), size_t(file.bytes.size()));
        if (!why.isEmpty())
            return failed(why, tempFolder);
    }
    key.wipe();
    // The generation's own absolute path, read once per connection through DEST/current by a
    // server that opens its files separately (Exim's connect ACL, docs/deploy.md), so all of them
    // come from one generation even when `current` flips between the opens.
    if (const QString why = writeNewFile(QDir(tempFolder).filePath(generationPathFileName()), finalFolder.toUtf8(), 0644, std::nullopt);
        !why.isEmpty())
        return failed(why, tempFolder);
    faultPoint("generation-written");
    if (!syncPath(tempFolder))
        return failed(QStringLiteral("cannot sync %1: %2").arg(tempFolder, systemError(errno)), tempFolder);
    faultPoint("generation-synced");
    if (::rename(encoded(tempFolder).constData(), encoded(finalFolder).constData()) != 0)
        return failed(QStringLiteral("cannot rename %1 to %2: %3").arg(tempFolder, finalFolder, systemError(errno)), tempFolder);
    syncPath(generationsPath);
    faultPoint("generation-renamed");
    result.generation = name;

    say(QStringLiteral("checking the generation on disk"));
    const QList<Finding> problems = gateFromDisk(finalFolder, plan, options);
    if (!problems.isEmpty()) {
        QDir(finalFolder).removeRecursively();
        syncPath(generationsPath);
        QStringList titles;
        for (const Finding& f : problems)
            titles << QStringLiteral("%1 (%2)").arg(f.title, f.code);
        result.findings << problems;
        result.findings.prepend(refusedFinding(plan.mustStaple && !withStaple ? Severity::Critical : Severity::Error, finalFolder,
                                               QStringLiteral("The generation %1, read back from disk, fails the gate: %2. It was removed; "
                                                              "DEST/current still names %3.")
                                                   .arg(name, titles.join(QStringLiteral(", ")),
                                                        plan.current.name.isEmpty() ? QStringLiteral("nothing") : plan.current.name),
                                               QStringLiteral("Fix what the gate's findings name, then deploy again.")));
        result.generation.clear();
        result.message = QStringLiteral("the new generation failed the gate on disk and was removed: DEST/current was not changed");
        return result;
    }
    faultPoint("gate-passed");

    say(QStringLiteral("making %1 current").arg(name));
    writePending(destination, name);
    if (const QString why = flipCurrent(destination, name, true); !why.isEmpty()) {
        clearPending(destination);
        return failed(why);
    }
    faultPoint("flipped");
    result.flipped = true;
    result.currentGeneration = name;
    result.message = QStringLiteral("%1 is current").arg(name);
    if (!leftovers.isEmpty())
        result.message += QStringLiteral(" (removed %1 temporary item(s) a killed run left)").arg(leftovers.size());

    say(QStringLiteral("telling the servers"));
    finishFlip(result, destination, name, plan.current.name, options);
    clearPending(destination);
    prune(result, destination, std::max(1, options.keep));
    faultPoint("pruned");
    return result;
}

DeployResult rollbackDeploy(const DeployOptions& options, const QString& generation)
{
    DeployResult result;
    result.action = DeployAction::Deploy;
    const QString destination = QFileInfo(options.to).absoluteFilePath();
    const QString currentBefore = readCurrentName(destination);
    result.previousGeneration = currentBefore;
    result.currentGeneration = currentBefore;
    const auto fail = [&](const QString& why) {
        result.message = why;
        result.findings << refusedFinding(Severity::Error, destination, QStringLiteral("Rollback not done: %1.").arg(why),
                                          QStringLiteral("Name an existing, complete generation (deploy --list)."));
        return result;
    };
    if (!QFileInfo(QDir(destination).filePath(kGenerationsFolder)).isDir())
        return fail(QStringLiteral("%1 is not a deploy destination (no generations folder)").arg(destination));
    DestinationLock lock;
    if (const QString why = lock.acquire(destination, options.lockTimeoutMs, nullptr); !why.isEmpty())
        return fail(why);
    removeLeftovers(destination);
    const QList<GenerationRead> generations = readGenerations(destination, nullptr);
    const QString current = readCurrentName(destination);
    result.previousGeneration = current;
    QString target = generation;
    if (target.isEmpty()) {
        bool seen = current.isEmpty();
        for (const GenerationRead& g : generations) {
            if (seen && g.info.name != current && g.info.problem.isEmpty()) {
                target = g.info.name;
                break;
            }
            seen = seen || g.info.name == current;
        }
        if (target.isEmpty())
            return fail(QStringLiteral("there is no complete generation older than the current one (%1) in %2")
                            .arg(current.isEmpty() ? QStringLiteral("none") : current, destination));
    }
    const GenerationRead* chosen = nullptr;
    for (const GenerationRead& g : generations)
        if (g.info.name == target)
            chosen = &g;
    if (!chosen)
        return fail(QStringLiteral("%1 holds no generation named %2").arg(destination, escapeText(target)));
    if (!chosen->info.problem.isEmpty())
        return fail(QStringLiteral("the generation %1 cannot be used: %2").arg(target, chosen->info.problem));
    if (target == current) {
        result.action = DeployAction::UpToDate;
        result.message = QStringLiteral("%1 is already current: nothing changed").arg(target);
        return result;
    }
    writePending(destination, target);
    if (const QString why = flipCurrent(destination, target, false); !why.isEmpty()) {
        clearPending(destination);
        return fail(why);
    }
    result.flipped = true;
    result.generation = target;
    result.currentGeneration = target;
    result.message = QStringLiteral("rolled back: %1 is current again (was %2)").arg(target, current.isEmpty() ? QStringLiteral("nothing") : current);
    const ServerTelling told = tellServers(destination, target, options, false);
    result.reload = told.reload;
    result.haproxy = told.haproxy;
    result.verify = told.verify;
    if (told.verify)
        result.findings << told.verify->findings;
    if (!told.ok())
        result.message += QStringLiteral(", but %1").arg(told.text());
    clearPending(destination);
    return result;
}

namespace {

QJsonValue commandRunJson(const std::optional<CommandRun>& run)
{
    if (!run)
        return QJsonValue::Null;
    return QJsonObject{{QStringLiteral("command"), run->command},
                       {QStringLiteral("ran"), run->ran},
                       {QStringLiteral("exitStatus"), run->exitStatus},
                       {QStringLiteral("timedOut"), run->timedOut},
                       {QStringLiteral("output"), run->output}};
}

QJsonValue verifyJson(const std::optional<VerifyResult>& verify)
{
    if (!verify)
        return QJsonValue::Null;
    return QJsonObject{{QStringLiteral("target"), verify->target},
                       {QStringLiteral("ok"), verify->ok},
                       {QStringLiteral("servedSerial"), verify->servedSerial},
                       {QStringLiteral("servedStapleSerial"), verify->servedStapleSerial},
                       {QStringLiteral("summary"), verify->summary},
                       {QStringLiteral("findings"), findingsToJson(verify->findings)}};
}

} // namespace

QJsonObject deployResultToJson(const DeployResult& result)
{
    QJsonArray haproxy;
    for (const HaproxyUpdate& u : result.haproxy)
        haproxy.append(QJsonObject{{QStringLiteral("step"), u.bundleId}, {QStringLiteral("ok"), u.ok}, {QStringLiteral("answer"), u.answer}});
    return {{QStringLiteral("action"), deployActionKey(result.action)},
            {QStringLiteral("ok"), result.ok()},
            {QStringLiteral("exitCode"), result.exitCode()},
            {QStringLiteral("flipped"), result.flipped},
            {QStringLiteral("rolledBack"), result.rolledBack},
            {QStringLiteral("planOutdated"), result.planOutdated},
            {QStringLiteral("generation"), result.generation},
            {QStringLiteral("previousGeneration"), result.previousGeneration},
            {QStringLiteral("currentGeneration"), result.currentGeneration},
            {QStringLiteral("reload"), commandRunJson(result.reload)},
            {QStringLiteral("reloadAfterRollback"), commandRunJson(result.reloadAfterRollback)},
            {QStringLiteral("haproxy"), haproxy},
            {QStringLiteral("verify"), verifyJson(result.verify)},
            {QStringLiteral("verifyAfterRollback"), verifyJson(result.verifyAfterRollback)},
            {QStringLiteral("removedGenerations"), QJsonArray::fromStringList(result.removedGenerations)},
            {QStringLiteral("findings"), findingsToJson(result.findings)},
            {QStringLiteral("message"), result.message}};
}

} // namespace staplescope
