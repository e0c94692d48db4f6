#include "DemoData.h"

#include "Clock.h"
#include "FilePath.h"

#include "PkiFactory.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace staplescope {

namespace {

constexpr qint64 hour = 3600;
constexpr qint64 day = 24 * hour;

// Whole minutes: the demo's times read cleanly in every view.
QDateTime roundedNow(const QDateTime& now)
{
    const qint64 secs = now.toUTC().toSecsSinceEpoch();
    return QDateTime::fromSecsSinceEpoch(secs - secs % 60, Qt::UTC);
}

QString systemError(int error) { return QString::fromLocal8Bit(std::strerror(error)); }

// Names found in a folder are data: kept raw and lossless (FilePath.h) for the message, which its
// printer escapes (TextEscape.h), and cut short so a hostile name cannot fill the terminal.
QString printableName(const char* name)
{
    constexpr qsizetype kMaxNameChars = 80;
    const QString text = decodeFileName(QByteArray(name));
    return text.size() > kMaxNameChars ? text.left(kMaxNameChars) + QStringLiteral("…") : text;
}

// An owned file descriptor; the demo works on descriptors so no path is looked up twice.
class Fd {
public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    ~Fd()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    Fd& operator=(Fd&& other) noexcept
    {
        if (this != &other) {
            if (m_fd >= 0)
                ::close(m_fd);
            m_fd = std::exchange(other.m_fd, -1);
        }
        return *this;
    }
    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }
    int release() { return std::exchange(m_fd, -1); }

private:
    int m_fd;
};

// Opens the demo folder, creating it when missing. Refused, with nothing changed: a symbolic link,
// something that is not a folder, a folder that is not empty (up to kMaxNamedDemoEntries of what is
// in it are named in `inTheWay`).
Fd openEmptyFolder(const QString& path, QString* error, QStringList* inTheWay)
{
    const QByteArray name = QFile::encodeName(path);
    struct stat info = {};
    if (::lstat(name.constData(), &info) != 0) {
        if (errno != ENOENT) {
            *error = QStringLiteral("cannot use the folder %1: %2").arg(path, systemError(errno));
            return Fd();
        }
        const QString parent = QFileInfo(path).absolutePath();
        if (!QDir().mkpath(parent)) {
            *error = QStringLiteral("cannot create the folder %1").arg(parent);
            return Fd();
        }
        // EEXIST: it appeared meanwhile; the checks on the opened folder below decide about it.
        if (::mkdir(name.constData(), 0755) != 0 && errno != EEXIST) {
            *error = QStringLiteral("cannot create the folder %1: %2").arg(path, systemError(errno));
            return Fd();
        }
    } else if (S_ISLNK(info.st_mode)) {
        *error = QStringLiteral("%1 is a symbolic link; give a new or empty folder itself, nothing was written").arg(path);
        return Fd();
    } else if (!S_ISDIR(info.st_mode)) {
        *error = QStringLiteral("%1 exists and is not a folder; give a new or empty folder, nothing was written").arg(path);
        return Fd();
    }
    // O_NOFOLLOW: a symbolic link planted after the check is refused (ELOOP), not entered.
    Fd folder(::open(name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!folder.valid()) {
        *error = errno == ELOOP ? QStringLiteral("%1 is a symbolic link; give a new or empty folder itself, nothing was written").arg(path)
                                : QStringLiteral("cannot open the folder %1: %2").arg(path, systemError(errno));
        return Fd();
    }
    // Reads at most kMaxNamedDemoEntries + 1 entries besides . and ..: enough to name what is in
    // the way and to know there is more, whatever the folder holds.
    const int listing = ::dup(folder.get());
    DIR* dir = listing >= 0 ? ::fdopendir(listing) : nullptr;
    if (!dir) {
        if (listing >= 0)
            ::close(listing);
        *error = QStringLiteral("cannot list the folder %1: %2").arg(path, systemError(errno));
        return Fd();
    }
    bool more = false;
    while (const dirent* entry = ::readdir(dir)) {
        if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0)
            continue;
        if (inTheWay->size() == kMaxNamedDemoEntries) {
            more = true;
            break;
        }
        *inTheWay << printableName(entry->d_name);
    }
    ::closedir(dir);
    if (!inTheWay->isEmpty()) {
        *error = QStringLiteral("the folder %1 is not empty: it holds %2%3. The demo is written only into a new "
                                "or empty folder, so nothing was changed")
                     .arg(path, QLatin1Char('"') + inTheWay->join(QStringLiteral("\", \"")) + QLatin1Char('"'),
                          more ? QStringLiteral(" and more") : QString());
        return Fd();
    }
    return folder;
}

// Writes the demo's files as new entries of the folder just found empty. Every entry is created
// with O_EXCL relative to its parent's descriptor: an entry that appeared meanwhile (a file, a
// planted symbolic link) is an error, never replaced or followed. That is also why this does not
// use writeFileAtomically(): it replaces files and keeps their mode, and there is no old content
// here to protect. On a failure the entries written so far are removed, so a failed demo leaves
// no half-written folder behind.
class DemoWriter {
public:
    enum class Access { Public, OwnerOnly };

    DemoWriter(QString path, Fd folder) : m_path(std::move(path)) { m_dirs.emplace(QString(), std::move(folder)); }
    ~DemoWriter()
    {
        if (!m_error.isEmpty())
            removeCreated();
    }
    DemoWriter(const DemoWriter&) = delete;
    DemoWriter& operator=(const DemoWriter&) = delete;

    const QString& error() const { return m_error; }

    // `relativePath` is "healthy" or "incident/previous": its parent was made before.
    bool makeFolder(const QString& relativePath)
    {
        if (!m_error.isEmpty())
            return false;
        const auto [parent, name] = split(relativePath);
        const int parentFd = m_dirs.at(parent).get();
        if (::mkdirat(parentFd, name.constData(), 0755) != 0)
            return fail(relativePath, errno);
        m_created.push_back({parent, name, true});
        Fd dir(::openat(parentFd, name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir.valid())
            return fail(relativePath, errno);
        m_dirs.emplace(relativePath, std::move(dir));
        return true;
    }

    bool write(const QString& relativePath, const QByteArray& content, Access access = Access::Public)
    {
        if (!m_error.isEmpty())
            return false;
        const auto [parent, name] = split(relativePath);
        // O_CREAT|O_EXCL never follows a symbolic link at the name (it fails with EEXIST);
        // O_NOFOLLOW says so once more.
        const mode_t mode = access == Access::OwnerOnly ? 0600 : 0644;
        Fd file(::openat(m_dirs.at(parent).get(), name.constData(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode));
        if (!file.valid())
            return fail(relativePath, errno);
        m_created.push_back({parent, name, false});
        // The umask can only take bits away, but a key's mode is exactly owner read-write,
        // whatever the umask; public files keep what the umask allows.
        if (access == Access::OwnerOnly && ::fchmod(file.get(), 0600) != 0)
            return fail(relativePath, errno);
        const char* data = content.constData();
        qsizetype left = content.size();
        while (left > 0) { // each pass writes at least one byte or fails
            const ssize_t written = ::write(file.get(), data, size_t(left));
            if (written < 0 && errno == EINTR)
                continue;
            if (written <= 0)
                return fail(relativePath, written < 0 ? errno : EIO);
            data += written;
            left -= written;
        }
        if (::close(file.release()) != 0)
            return fail(relativePath, errno);
        return true;
    }

private:
    struct Created {
        QString parent;
        QByteArray name;
        bool folder;
    };

    static std::pair<QString, QByteArray> split(const QString& relativePath)
    {
        const qsizetype slash = relativePath.lastIndexOf(QLatin1Char('/'));
        return {slash < 0 ? QString() : relativePath.left(slash), QFile::encodeName(relativePath.mid(slash + 1))};
    }

    bool fail(const QString& relativePath, int error)
    {
        m_error = QStringLiteral("cannot write %1: %2%3")
                      .arg(QDir(m_path).filePath(relativePath), systemError(error),
                           error == EEXIST ? QStringLiteral(" (it appeared while the demo was being written; it was "
                                                            "left as it is)")
                                           : QString());
        return false;
    }

    void removeCreated()
    {
        for (auto it = m_created.rbegin(); it != m_created.rend(); ++it) {
            const auto dir = m_dirs.find(it->parent);
            if (dir != m_dirs.end())
                ::unlinkat(dir->second.get(), it->name.constData(), it->folder ? AT_REMOVEDIR : 0);
        }
    }

    QString m_path;
    QString m_error;
    std::map<QString, Fd> m_dirs; // "" is the demo folder itself
    std::vector<Created> m_created;
};

} // namespace

DemoResult writeDemo(const QString& folderPath, const QDateTime& nowInput)
{
    DemoResult result;
    // Checked before anything is generated: a folder in the way costs no key generation.
    Fd folder = openEmptyFolder(folderPath, &result.error, &result.inTheWay);
    if (!folder.valid())
        return result;
    const QDateTime now = roundedNow(nowInput.isValid() ? nowInput : Clock::system()->now());
    const PkiFactory factory;

    CertSpec rootSpec;
    rootSpec.commonName = QStringLiteral("Staplescope Demo Root CA");
    rootSpec.organization = QStringLiteral("Staplescope Demo");
    rootSpec.isCa = true;
    rootSpec.notBefore = now.addSecs(-3 * 365 * day);
    rootSpec.notAfter = now.addSecs(12 * 365 * day);
    const IssuedCert root = factory.issue(rootSpec);

    CertSpec caSpec;
    caSpec.commonName = QStringLiteral("Staplescope Demo Issuing CA 1");
    caSpec.organization = rootSpec.organization;
    caSpec.isCa = true;
    caSpec.pathLength = 0;
    caSpec.notBefore = now.addSecs(-400 * day);
    caSpec.notAfter = now.addSecs(4 * 365 * day);
    caSpec.crlUrls = {QStringLiteral("http://crl.demo.example.test/root.crl")};
    const IssuedCert issuingCa = factory.issue(caSpec, &root);

    CertSpec responderSpec;
    responderSpec.commonName = QStringLiteral("Staplescope Demo OCSP Responder");
    responderSpec.organization = rootSpec.organization;
    responderSpec.notBefore = now.addSecs(-10 * day);
    responderSpec.notAfter = now.addSecs(50 * day);
    responderSpec.serverAuth = false;
    responderSpec.ocspSigning = true;
    responderSpec.ocspNoCheck = true;
    const IssuedCert responder = factory.issue(responderSpec, &issuingCa);

    const QStringList ocspUrl = {QStringLiteral("http://ocsp.demo.example.test")};
    const QStringList caIssuerUrl = {QStringLiteral("http://ca.demo.example.test/issuing-ca-1.der")};
    const QStringList crlUrl = {QStringLiteral("http://crl.demo.example.test/issuing-ca-1.crl")};

    // Healthy: a 90-day certificate a month in, a staple fetched yesterday from a delegated responder.
    CertSpec wwwSpec;
    wwwSpec.commonName = QStringLiteral("www.example.test");
    wwwSpec.dnsNames = {QStringLiteral("www.example.test"), QStringLiteral("example.test")};
    wwwSpec.notBefore = now.addSecs(-30 * day);
    wwwSpec.notAfter = now.addSecs(60 * day);
    wwwSpec.ocspUrls = ocspUrl;
    wwwSpec.caIssuerUrls = caIssuerUrl;
    wwwSpec.crlUrls = crlUrl;
    const IssuedCert www = factory.issue(wwwSpec, &issuingCa);

    OcspSpec wwwStaple;
    wwwStaple.thisUpdate = now.addSecs(-20 * hour);
    wwwStaple.producedAt = wwwStaple.thisUpdate;
    wwwStaple.nextUpdate = now.addSecs(6 * day + 4 * hour);
    wwwStaple.certIdHash = EVP_sha256();

    // The incident: mail.example.test was renewed two days ago; the cron job that refreshes
    // tls_ocsp_file still asks about the previous certificate, so Exim staples that one's response.
    CertSpec previousSpec;
    previousSpec.commonName = QStringLiteral("mail.example.test");
    previousSpec.dnsNames = {QStringLiteral("mail.example.test"), QStringLiteral("smtp.example.test")};
    previousSpec.notBefore = now.addSecs(-62 * day - 7 * hour);
    previousSpec.notAfter = previousSpec.notBefore.addSecs(90 * day);
    previousSpec.ocspUrls = ocspUrl;
    previousSpec.caIssuerUrls = caIssuerUrl;
    previousSpec.crlUrls = crlUrl;
    const IssuedCert previous = factory.issue(previousSpec, &issuingCa);

    CertSpec renewedSpec = previousSpec;
    renewedSpec.notBefore = now.addSecs(-2 * day - 3 * hour);
    renewedSpec.notAfter = renewedSpec.notBefore.addSecs(90 * day);
    const IssuedCert renewed = factory.issue(renewedSpec, &issuingCa);

    OcspSpec staleStaple;
    staleStaple.thisUpdate = now.addSecs(-9 * hour);
    staleStaple.producedAt = staleStaple.thisUpdate;
    staleStaple.nextUpdate = now.addSecs(7 * day - 9 * hour);

    if (!root.cert || !issuingCa.cert || !responder.cert || !www.cert || !previous.cert || !renewed.cert) {
        result.error = QStringLiteral("could not generate the demo certificates (OpenSSL failed)");
        return result;
    }

    DemoWriter writer(folderPath, std::move(folder));
    const QByteArray chainPem = issuingCa.certPem();
    writer.write(QStringLiteral("root-ca.pem"), root.certPem());
    // nginx-style layout.
    writer.makeFolder(QStringLiteral("healthy"));
    writer.write(QStringLiteral("healthy/fullchain.pem"), www.certPem() + chainPem);
    writer.write(QStringLiteral("healthy/privkey.pem"),
                 PkiFactory::privateKeyPem(www.key.get(), PkiFactory::KeyFormat::Pkcs8), DemoWriter::Access::OwnerOnly);
    writer.write(QStringLiteral("healthy/ocsp.der"), factory.ocspResponse(www, issuingCa, responder, wwwStaple));
    // Exim-style layout: tls_certificate, tls_privatekey, tls_ocsp_file, and the certificate the
    // renewal replaced, kept by the renewal script.
    writer.makeFolder(QStringLiteral("incident"));
    writer.write(QStringLiteral("incident/exim.crt"), renewed.certPem() + chainPem);
    writer.write(QStringLiteral("incident/exim.key"),
                 PkiFactory::privateKeyPem(renewed.key.get(), PkiFactory::KeyFormat::Pkcs8), DemoWriter::Access::OwnerOnly);
    writer.write(QStringLiteral("incident/exim.ocsp.der"),
                 factory.ocspResponse(previous, issuingCa, issuingCa, staleStaple));
    writer.makeFolder(QStringLiteral("incident/previous"));
    writer.write(QStringLiteral("incident/previous/exim.crt"), previous.certPem() + chainPem);
    if (!writer.error().isEmpty()) {
        result.error = writer.error();
        return result;
    }

    result.ok = true;
    const QDir dir(folderPath);
    result.paths = {dir.filePath(QStringLiteral("healthy")), dir.filePath(QStringLiteral("incident"))};
    result.trustAnchorFile = dir.filePath(QStringLiteral("root-ca.pem"));
    return result;
}

} // namespace staplescope
