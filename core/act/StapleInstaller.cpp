#include "StapleInstaller.h"

#include "AtomicFile.h"
#include "TextEscape.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QThread>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace staplescope {

namespace {

constexpr qsizetype kHaproxyAnswerCap = 4096;
// A staple is a few KiB; anything at a destination larger than this is not what the plan saw.
constexpr qint64 kDestinationReadCap = 64 * 1024 * 1024;

QString systemError(int error) { return QString::fromLocal8Bit(std::strerror(error)); }

// An exclusive flock on the folder itself: nothing is created in the folder (a lock file could
// be taken for a staple or a certificate by a server reading the folder), and the kernel drops
// the lock when the process dies, so a crashed run never blocks the next one.
class FolderLock {
public:
    FolderLock() = default;
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;
    ~FolderLock()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }

    // Empty on success, else why not.
    QString acquire(const QString& folder, int timeoutMs, const std::atomic<bool>* cancel)
    {
        m_fd = ::open(QFile::encodeName(folder).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m_fd < 0)
            return QStringLiteral("cannot open the folder %1 to lock it: %2").arg(folder, systemError(errno));
        QElapsedTimer waited;
        waited.start();
        while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR)
                return QStringLiteral("cannot lock the folder %1: %2").arg(folder, systemError(errno));
            if (cancel && cancel->load())
                return QStringLiteral("cancelled while waiting for the lock on %1").arg(folder);
            if (waited.elapsed() >= timeoutMs)
                return QStringLiteral("another run is installing into %1 and still held its lock after %2 s "
                                      "(try again when it is done)")
                    .arg(folder)
                    .arg(timeoutMs / 1000.0, 0, 'f', timeoutMs % 1000 ? 1 : 0);
            QThread::msleep(20);
        }
        return {};
    }

private:
    int m_fd = -1;
};

// The folder whose entries a step changes: where AtomicFile renames (the file a symbolic link
// leads to) for an install, the link's own folder for a move aside (the link itself is renamed).
QString folderToLock(const BundleRefresh& bundle)
{
    const QFileInfo destination(bundle.destination);
    if (bundle.outcome == RefreshOutcome::Install && destination.isSymLink() && destination.exists())
        return QFileInfo(destination.canonicalFilePath()).absolutePath();
    const QString canonicalFolder = QFileInfo(destination.absolutePath()).canonicalFilePath();
    return canonicalFolder.isEmpty() ? destination.absolutePath() : canonicalFolder;
}

// Empty when every folder on the way to `path` (each prefix, as given, links followed) is owned
// by root and writable by root only: then no other user can swap a component for a link while
// root writes.
QString folderNotRootControlled(const QString& path)
{
    const QStringList parts = QFileInfo(path).absolutePath().split(QLatin1Char('/'), Qt::SkipEmptyParts);
    QString prefix = QStringLiteral("/");
    for (qsizetype i = 0; i <= parts.size(); ++i) {
        struct stat st = {};
        if (::stat(QFile::encodeName(prefix).constData(), &st) != 0)
            return QStringLiteral("cannot check the folder %1: %2").arg(prefix, systemError(errno));
        if (!S_ISDIR(st.st_mode))
            return QStringLiteral("%1 is not a folder").arg(prefix);
        if (st.st_uid != 0)
            return QStringLiteral("the folder %1 is owned by uid %2, not root").arg(prefix).arg(st.st_uid);
        if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0))
            return QStringLiteral("the folder %1 is writable by users other than root (mode %2)")
                .arg(prefix)
                .arg(st.st_mode & 07777, 4, 8, QLatin1Char('0'));
        if (i < parts.size())
            prefix = (prefix == QLatin1String("/") ? prefix : prefix + QLatin1Char('/')) + parts[i];
    }
    return {};
}

QString pathNotRootControlled(const QString& destination)
{
    if (QString why = folderNotRootControlled(destination); !why.isEmpty())
        return why;
    // And where the links lead: the folder of the file written.
    const QFileInfo info(destination);
    const QString resolved = info.exists() ? info.canonicalFilePath() : QString();
    return resolved.isEmpty() ? QString() : folderNotRootControlled(resolved);
}

struct FileHash {
    enum { Missing, NotRegular, Unreadable, Hashed } state = Missing;
    QByteArray sha256;
    QString error;
};

FileHash hashDestination(const QString& path)
{
    FileHash hash;
    const QByteArray name = QFile::encodeName(path);
    struct stat st = {};
    if (::lstat(name.constData(), &st) != 0) {
        if (errno != ENOENT) {
            hash.state = FileHash::Unreadable;
            hash.error = systemError(errno);
        }
        return hash;
    }
    // O_NONBLOCK: a FIFO put in the file's place must not hang the run.
    const int fd = ::open(name.constData(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        hash.state = errno == ENOENT ? FileHash::NotRegular : FileHash::Unreadable; // a dangling link
        hash.error = systemError(errno);
        return hash;
    }
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kDestinationReadCap) {
        hash.state = FileHash::NotRegular;
        ::close(fd);
        return hash;
    }
    QCryptographicHash sha(QCryptographicHash::Sha256);
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            hash.state = FileHash::Unreadable;
            hash.error = systemError(errno);
            ::close(fd);
            return hash;
        }
        if (n == 0)
            break;
        sha.addData(QByteArrayView(buffer, n));
    }
    ::close(fd);
    hash.state = FileHash::Hashed;
    hash.sha256 = sha.result();
    return hash;
}

QString windowText(const StapleWindow& window)
{
    if (window.isNull())
        return QStringLiteral("none");
    const auto time = [](const QDateTime& t) { return t.isNull() ? QStringLiteral("(none)") : t.toUTC().toString(Qt::ISODate); };
    return QStringLiteral("%1 … %2").arg(time(window.thisUpdate), time(window.nextUpdate));
}

bool syncFolder(const QString& folder)
{
    const int fd = ::open(QFile::encodeName(folder).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

bool alreadyDone(const BundleRefresh& bundle)
{
    const FileHash now = hashDestination(bundle.destination);
    if (bundle.outcome == RefreshOutcome::Install)
        return now.state == FileHash::Hashed && now.sha256 == QCryptographicHash::hash(bundle.newStapleDer, QCryptographicHash::Sha256);
    if (bundle.outcome != RefreshOutcome::MoveStaleAside || now.state != FileHash::Missing)
        return false;
    const FileHash aside = hashDestination(bundle.destination + QStringLiteral(".stale"));
    return aside.state == FileHash::Hashed && aside.sha256 == bundle.destinationSha256;
}

StepResult executeStep(const BundleRefresh& bundle, const InstallOptions& options, const std::atomic<bool>* cancel)
{
    StepResult step;
    step.bundleId = bundle.bundleId;
    step.destination = bundle.destination;
    step.outcome = bundle.outcome;
    const QString& destination = bundle.destination;
    if (destination.isEmpty() || !QFileInfo(destination).isAbsolute()) {
        step.message = QStringLiteral("no absolute destination path in the plan: nothing written");
        return step;
    }
    if (bundle.outcome == RefreshOutcome::Install && bundle.newStapleDer.isEmpty()) {
        step.message = QStringLiteral("the plan has no response to write to %1: nothing written").arg(destination);
        return step;
    }
    const QString folder = QFileInfo(destination).absolutePath();
    struct stat folderStat = {};
    if (::stat(QFile::encodeName(folder).constData(), &folderStat) != 0) {
        step.message = QStringLiteral("cannot use the folder %1: %2: nothing written").arg(folder, systemError(errno));
        return step;
    }
    if (!S_ISDIR(folderStat.st_mode)) {
        step.message = QStringLiteral("%1 is not a folder: nothing written").arg(folder);
        return step;
    }

    const QString lockedFolder = folderToLock(bundle);
    FolderLock lock;
    if (QString why = lock.acquire(lockedFolder, options.lockTimeoutMs, cancel); !why.isEmpty()) {
        step.message = why + QStringLiteral(": nothing written");
        return step;
    }
    faultPoint("locked");

    if (options.onlyRootControlledPaths) {
        if (QString why = pathNotRootControlled(destination); !why.isEmpty()) {
            step.message = QStringLiteral("refused to write %1 as root for another user: %2: nothing written").arg(destination, why);
            return step;
        }
    }
    // Our own temp files from a run that was killed before its rename (never anything else).
    const QString writtenName = bundle.outcome == RefreshOutcome::Install
                                    ? QFileInfo(QFileInfo(destination).isSymLink() && QFileInfo(destination).exists()
                                                    ? QFileInfo(destination).canonicalFilePath()
                                                    : destination)
                                          .fileName()
                                    : QFileInfo(destination).fileName();
    const QStringList leftovers = removeLeftoverTempFiles(lockedFolder, writtenName);

    const QString cleaned = leftovers.isEmpty() ? QString()
                                                : QStringLiteral(" (removed %1 temporary file(s) a killed run left)").arg(leftovers.size());
    // The same plan run again after a crash between its change and its end: the change is there,
    // so the step counts as done and the servers are still told.
    if (alreadyDone(bundle)) {
        step.done = true;
        step.message = (bundle.outcome == RefreshOutcome::Install
                            ? QStringLiteral("%1 already holds the new staple (an earlier run of this plan wrote it)")
                            : QStringLiteral("%1 was already moved aside to %1.stale (by an earlier run of this plan)"))
                           .arg(destination)
                       + cleaned;
        return step;
    }
    if (QString change = destinationChangeSincePlan(bundle); !change.isEmpty()) {
        step.message = change + QStringLiteral(": nothing written");
        return step;
    }
    faultPoint("checked");

    if (bundle.outcome == RefreshOutcome::Install) {
        const WriteResult written = writeFileAtomically(destination, bundle.newStapleDer, 0644);
        if (!written.ok) {
            step.message = written.error;
            return step;
        }
        step.done = true;
        step.message = QStringLiteral("wrote the new staple to %1 (%2 bytes%3)%4")
                           .arg(destination)
                           .arg(bundle.newStapleDer.size())
                           .arg(bundle.fetched.isNull() ? QString() : QStringLiteral(", valid %1").arg(windowText(bundle.fetched)), cleaned);
        return step;
    }

    // MoveStaleAside: rename() replaces an older .stale atomically; the server then finds no file.
    const QString aside = destination + QStringLiteral(".stale");
    if (::rename(QFile::encodeName(destination).constData(), QFile::encodeName(aside).constData()) != 0) {
        step.message = QStringLiteral("cannot move %1 aside to %2: %3: nothing changed").arg(destination, aside, systemError(errno));
        return step;
    }
    faultPoint("stale-renamed");
    syncFolder(folder);
    step.done = true;
    step.message = QStringLiteral("moved the stale staple %1 aside to %2%3").arg(destination, aside, cleaned);
    return step;
}

} // namespace

QStringList installFaultPoints()
{
    return {QStringLiteral("locked"),       QStringLiteral("checked"),     QStringLiteral("temp-written"),
            QStringLiteral("temp-synced"),  QStringLiteral("renamed"),     QStringLiteral("folder-synced"),
            QStringLiteral("stale-renamed"), QStringLiteral("before-reload"), QStringLiteral("after-reload"),
            QStringLiteral("haproxy-sent")};
}

bool InstallResult::ok() const
{
    for (const StepResult& step : steps)
        if (!step.done)
            return false;
    if (reload && (!reload->ran || reload->exitStatus != 0))
        return false;
    for (const HaproxyUpdate& update : haproxy)
        if (!update.ok)
            return false;
    return true;
}

QString destinationChangeSincePlan(const BundleRefresh& bundle)
{
    const QString& path = bundle.destination;
    const FileHash now = hashDestination(path);
    switch (now.state) {
    case FileHash::Missing:
        return bundle.destinationSha256.isEmpty() ? QString()
                                                  : QStringLiteral("%1 changed since the plan was made: it no longer exists").arg(path);
    case FileHash::Unreadable:
        return QStringLiteral("cannot read %1 to check it against the plan: %2").arg(path, now.error);
    case FileHash::NotRegular:
        return QStringLiteral("%1 is not a regular file (a folder, device, FIFO, socket or a link to nothing)").arg(path);
    case FileHash::Hashed:
        break;
    }
    if (bundle.destinationSha256.isEmpty())
        return QStringLiteral("%1 changed since the plan was made: the plan expected no file there, now there is one").arg(path);
    if (now.sha256 != bundle.destinationSha256)
        return QStringLiteral("%1 changed since the plan was made: it no longer holds what the plan saw").arg(path);
    return {};
}

InstallResult executeRefreshPlan(const RefreshPlan& plan, const InstallOptions& options, const std::atomic<bool>* cancel)
{
    InstallResult result;
    QList<const BundleRefresh*> installed;
    bool changed = false;
    for (const BundleRefresh& bundle : plan.bundles) {
        if (!bundle.changesFiles())
            continue;
        if (cancel && cancel->load()) {
            StepResult step;
            step.bundleId = bundle.bundleId;
            step.destination = bundle.destination;
            step.outcome = bundle.outcome;
            step.message = QStringLiteral("cancelled before %1: nothing written").arg(bundle.destination);
            result.steps << step;
            continue;
        }
        result.steps << executeStep(bundle, options, cancel);
        if (result.steps.constLast().done) {
            changed = true;
            if (bundle.outcome == RefreshOutcome::Install)
                installed << &bundle;
        }
    }
    if (!changed)
        return result;

    if (!plan.reloadCommand.isEmpty()) {
        faultPoint("before-reload");
        result.reload = runShellCommand(plan.reloadCommand, options.reloadTimeoutMs);
        faultPoint("after-reload");
    }
    if (!plan.haproxySocket.isEmpty()) {
        for (const BundleRefresh* bundle : installed) {
            HaproxyUpdate update = sendHaproxyOcspResponse(plan.haproxySocket, bundle->newStapleDer, options.haproxyTimeoutMs);
            update.bundleId = bundle->bundleId;
            result.haproxy << update;
            faultPoint("haproxy-sent");
        }
    }
    return result;
}

CommandRun runShellCommand(const QString& command, int timeoutMs)
{
    ProcessSpec process;
    process.program = QStringLiteral("/bin/sh");
    process.arguments = {QStringLiteral("-c"), command};
    process.display = command;
    process.timeoutMs = timeoutMs;
    process.startTimeoutMs = std::max(timeoutMs, 1000);
    process.kept = KeptOutput::Start;
    return runProcess(process);
}

HaproxyUpdate sendHaproxyCommand(const QString& socketPath, const QByteArray& payload, int timeoutMs,
                                  const QString& expectedAnswerStart)
{
    HaproxyUpdate update;
    const auto failWith = [&](const QString& why) {
        update.answer = escapeText(why);
        return update;
    };
    if (payload.isEmpty())
        return failWith(QStringLiteral("nothing to send"));
    const QByteArray path = QFile::encodeName(socketPath);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    if (path.isEmpty() || size_t(path.size()) >= sizeof address.sun_path)
        return failWith(QStringLiteral("%1 is not usable as a socket path (empty or longer than %2 bytes)")
                            .arg(socketPath)
                            .arg(sizeof address.sun_path - 1));
    std::memcpy(address.sun_path, path.constData(), size_t(path.size()));

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return failWith(QStringLiteral("cannot create a socket: %1").arg(systemError(errno)));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};

    QElapsedTimer clock;
    clock.start();
    const auto waitFor = [&](short events) {
        for (;;) {
            const qint64 left = timeoutMs - clock.elapsed();
            if (left <= 0)
                return false;
            pollfd p = {fd, events, 0};
            const int n = ::poll(&p, 1, int(left));
            if (n > 0)
                return true;
            if (n < 0 && errno != EINTR)
                return false;
        }
    };

    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            const int error = errno;
            if (error == ENOENT)
                return failWith(QStringLiteral("no socket at %1 (is HAProxy running with `stats socket %1 level admin`?)").arg(socketPath));
            if (error == ECONNREFUSED)
                return failWith(QStringLiteral("nothing listens on %1 (HAProxy stopped?)").arg(socketPath));
            return failWith(QStringLiteral("cannot connect to %1: %2").arg(socketPath, systemError(error)));
        }
        int error = 0;
        socklen_t length = sizeof error;
        if (!waitFor(POLLOUT) || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
            return failWith(QStringLiteral("cannot connect to %1: %2").arg(socketPath, error ? systemError(error) : QStringLiteral("timed out")));
    }

    const QByteArray& line = payload;
    qsizetype sent = 0;
    while (sent < line.size()) {
        const ssize_t n = ::send(fd, line.constData() + sent, size_t(line.size() - sent), MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!waitFor(POLLOUT))
                return failWith(QStringLiteral("sending to %1 timed out after %2 ms").arg(socketPath).arg(timeoutMs));
            continue;
        }
        return failWith(QStringLiteral("sending to %1 failed: %2").arg(socketPath, systemError(errno)));
    }

    // HAProxy answers and closes the connection (non-interactive mode).
    QByteArray answer;
    bool timedOut = false;
    while (answer.size() < kHaproxyAnswerCap) {
        char buffer[1024];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0) {
            answer.append(buffer, std::min<qsizetype>(n, kHaproxyAnswerCap - answer.size()));
            continue;
        }
        if (n == 0)
            break;
        if (errno == EAGAIN || errno == EINTR) {
            if (!waitFor(POLLIN)) {
                timedOut = true;
                break;
            }
            continue;
        }
        break;
    }
    const QString text = QString::fromUtf8(answer).trimmed();
    update.ok = text.startsWith(expectedAnswerStart);
    if (update.ok)
        update.answer = escapeText(text);
    else if (text.isEmpty())
        update.answer = timedOut ? QStringLiteral("HAProxy did not answer within %1 ms").arg(timeoutMs)
                                 : QStringLiteral("HAProxy closed the connection without an answer");
    else
        update.answer = QStringLiteral("HAProxy answered \"%1\"").arg(escapeText(text));
    return update;
}

HaproxyUpdate sendHaproxyOcspResponse(const QString& socketPath, const QByteArray& der, int timeoutMs)
{
    if (der.isEmpty()) {
        HaproxyUpdate update;
        update.answer = QStringLiteral("no OCSP response to send");
        return update;
    }
    HaproxyUpdate update =
        sendHaproxyCommand(socketPath, "set ssl ocsp-response " + der.toBase64() + '\n', timeoutMs, QStringLiteral("OCSP Response updated!"));
    // Exactly this answer: anything after it is not the success HAProxy reports.
    if (update.ok && update.answer != QLatin1String("OCSP Response updated!")) {
        update.ok = false;
        update.answer = QStringLiteral("HAProxy answered \"%1\"").arg(update.answer);
    }
    return update;
}

QJsonObject installResultToJson(const InstallResult& result)
{
    QJsonArray steps;
    for (const StepResult& step : result.steps)
        steps.append(QJsonObject{{QStringLiteral("bundleId"), step.bundleId},
                                 {QStringLiteral("destination"), step.destination},
                                 {QStringLiteral("outcome"), refreshOutcomeKey(step.outcome)},
                                 {QStringLiteral("done"), step.done},
                                 {QStringLiteral("message"), step.message}});
    QJsonValue reload = QJsonValue::Null;
    if (result.reload)
        reload = QJsonObject{{QStringLiteral("command"), result.reload->command},
                             {QStringLiteral("ran"), result.reload->ran},
                             {QStringLiteral("exitStatus"), result.reload->exitStatus},
                             {QStringLiteral("timedOut"), result.reload->timedOut},
                             {QStringLiteral("output"), result.reload->output}};
    QJsonArray haproxy;
    for (const HaproxyUpdate& update : result.haproxy)
        haproxy.append(QJsonObject{{QStringLiteral("bundleId"), update.bundleId},
                                   {QStringLiteral("ok"), update.ok},
                                   {QStringLiteral("answer"), update.answer}});
    return {{QStringLiteral("ok"), result.ok()},
            {QStringLiteral("steps"), steps},
            {QStringLiteral("reload"), reload},
            {QStringLiteral("haproxy"), haproxy}};
}

} // namespace staplescope
