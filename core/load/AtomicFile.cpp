#include "AtomicFile.h"

#include "FaultPoint.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace staplescope {

namespace {

QString systemError(int error) { return QString::fromLocal8Bit(std::strerror(error)); }

// Closes the descriptor and removes the temp file unless released: every failure path cleans up.
class TempFileGuard {
public:
    TempFileGuard(int fd, QByteArray path) : m_fd(fd), m_path(std::move(path)) {}
    ~TempFileGuard()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        if (!m_released)
            ::unlink(m_path.constData());
    }
    TempFileGuard(const TempFileGuard&) = delete;
    TempFileGuard& operator=(const TempFileGuard&) = delete;

    int fd() const { return m_fd; }
    bool close()
    {
        const int result = ::close(m_fd);
        m_fd = -1;
        return result == 0;
    }
    void release() { m_released = true; }

private:
    int m_fd;
    QByteArray m_path;
    bool m_released = false;
};

bool writeAll(int fd, const QByteArray& content)
{
    const char* data = content.constData();
    qsizetype left = content.size();
    while (left > 0) {
        const ssize_t written = ::write(fd, data, size_t(left));
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += written;
        left -= written;
    }
    return true;
}

// The file `path` names, following symbolic links (certbot's live/NAME/cert.pem is a link to
// ../../archive/NAME/certN.pem): the write replaces that file and the links stay links, as `cp`
// and editors do; renaming over the link itself would cut it from the file it pointed to. A
// dangling link names the file to create. Nullopt, with the reason, for a loop.
std::optional<QByteArray> followLinks(const QByteArray& absolutePath, QString* error)
{
    QByteArray current = absolutePath;
    for (int hops = 0; hops < 40; ++hops) { // Linux's own limit (ELOOP after 40)
        struct stat st = {};
        if (::lstat(current.constData(), &st) != 0 || !S_ISLNK(st.st_mode))
            return current;
        QByteArray target(PATH_MAX, '\0');
        const ssize_t length = ::readlink(current.constData(), target.data(), size_t(target.size()));
        if (length < 0 || length >= target.size()) {
            *error = QStringLiteral("cannot read the symbolic link %1").arg(QFile::decodeName(current));
            return std::nullopt;
        }
        target.truncate(length);
        current = target.startsWith('/') ? target : current.left(current.lastIndexOf('/') + 1) + target;
    }
    *error = QStringLiteral("too many levels of symbolic links (a loop)");
    return std::nullopt;
}

} // namespace

WriteResult writeFileAtomically(const QString& path, const QByteArray& content, std::optional<unsigned> newFileMode)
{
    WriteResult result;
    QString linkError;
    const std::optional<QByteArray> resolved = followLinks(QFile::encodeName(QFileInfo(path).absoluteFilePath()), &linkError);
    if (!resolved) {
        result.error = QStringLiteral("cannot write %1: %2").arg(path, linkError);
        return result;
    }
    const QFileInfo info(QFile::decodeName(*resolved));
    const QByteArray target = *resolved;
    const QByteArray folder = QFile::encodeName(info.absolutePath());
    auto fail = [&](const QString& what, int error) {
        result.error = QStringLiteral("cannot write %1: %2: %3%4")
                           .arg(path, what, systemError(error),
                                info.exists() ? QStringLiteral(" (the old file is unchanged)") : QString());
        return result;
    };

    struct stat existing = {};
    const bool exists = ::stat(target.constData(), &existing) == 0;
    if (exists && !S_ISREG(existing.st_mode)) {
        result.error = QStringLiteral("cannot write %1: it is not a regular file").arg(path);
        return result;
    }

    QByteArray tempPath = folder + "/" + QFile::encodeName(tempFilePrefix(info.fileName())) + "XXXXXX";
    const int fd = ::mkostemp(tempPath.data(), O_CLOEXEC);
    if (fd < 0)
        return fail(QStringLiteral("cannot create a temporary file in %1").arg(info.absolutePath()), errno);
    TempFileGuard temp(fd, tempPath);
    // Held until the rename: removeLeftoverTempFiles() takes a temp it can lock for one whose
    // writer died (the kernel drops the lock with the process).
    ::flock(fd, LOCK_EX | LOCK_NB);

    const mode_t mode = exists ? (existing.st_mode & 07777) : mode_t(newFileMode.value_or(0644));
    if (::fchmod(fd, mode) != 0)
        return fail(QStringLiteral("cannot set the file mode"), errno);
    // Keep owner and group; only root may give a file away, so an unprivileged user keeps its own
    // files and a failure to chown someone else's file is an error rather than a silent change.
    if (exists && (existing.st_uid != ::geteuid() || existing.st_gid != ::getegid())) {
        if (::fchown(fd, existing.st_uid, existing.st_gid) != 0)
            return fail(QStringLiteral("cannot keep the owner %1:%2").arg(existing.st_uid).arg(existing.st_gid),
                        errno);
    }
    if (!writeAll(fd, content))
        return fail(QStringLiteral("write failed"), errno);
    faultPoint("temp-written");
    if (::fsync(fd) != 0)
        return fail(QStringLiteral("fsync failed"), errno);
    faultPoint("temp-synced");
    if (::rename(tempPath.constData(), target.constData()) != 0)
        return fail(QStringLiteral("rename failed"), errno);
    temp.release();
    faultPoint("renamed");
    // After the rename: the data is on disk (fsync above), so a late close error changes nothing.
    temp.close();

    // The rename itself must survive a crash: sync the folder entry.
    const int folderFd = ::open(folder.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folderFd >= 0) {
        ::fsync(folderFd);
        ::close(folderFd);
    }
    faultPoint("folder-synced");
    result.ok = true;
    return result;
}

QString tempFilePrefix(const QString& fileName)
{
    return QLatin1Char('.') + fileName + QLatin1String(".staplescope-");
}

QStringList removeLeftoverTempFiles(const QString& folder, const QString& fileName)
{
    QStringList removed;
    const QString prefix = tempFilePrefix(fileName);
    // Root gives its temp the existing file's owner before writing (to keep it), so a temp of
    // root's may also belong to the file's owner.
    struct stat destination = {};
    const bool destinationExists = ::stat(QFile::encodeName(folder + QLatin1Char('/') + fileName).constData(), &destination) == 0;
    const auto ours = [&](const struct stat& st) {
        return S_ISREG(st.st_mode)
               && (st.st_uid == ::geteuid() || (::geteuid() == 0 && destinationExists && st.st_uid == destination.st_uid));
    };
    const QByteArray folderBytes = QFile::encodeName(folder);
    const int folderFd = ::open(folderBytes.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folderFd < 0)
        return removed;
    // No name filter: a file name may hold glob characters.
    QDirIterator entries(folder, QDir::Files | QDir::Hidden | QDir::System);
    while (entries.hasNext()) {
        entries.next();
        const QString name = entries.fileName();
        // Exactly mkstemp's six characters after our prefix, nothing else.
        const QString suffix = name.mid(prefix.size());
        if (!name.startsWith(prefix) || suffix.size() != 6
            || !std::all_of(suffix.begin(), suffix.end(), [](QChar c) { return c.isLetterOrNumber() && c.unicode() < 128; }))
            continue;
        const QByteArray nameBytes = QFile::encodeName(name);
        // Opened relative to the folder without following links, and checked on the open file:
        // only a regular file this user owns, which no live writer holds locked.
        const int fd = ::openat(folderFd, nameBytes.constData(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st = {};
        if (::fstat(fd, &st) == 0 && ours(st) && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            struct stat now = {};
            // Still the same file under that name (not replaced between open and unlink).
            if (::fstatat(folderFd, nameBytes.constData(), &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st.st_ino
                && now.st_dev == st.st_dev && ::unlinkat(folderFd, nameBytes.constData(), 0) == 0)
                removed << entries.filePath();
        }
        ::close(fd);
    }
    ::close(folderFd);
    return removed;
}

} // namespace staplescope
