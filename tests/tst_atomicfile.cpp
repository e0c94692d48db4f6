// writeFileAtomically: the old file survives every failure, mode and owner are kept, no temp
// files are left behind.

#include "AtomicFile.h"

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace staplescope;

namespace {

QByteArray readAll(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

struct stat statOf(const QString& path)
{
    struct stat st = {};
    ::stat(QFile::encodeName(path).constData(), &st);
    return st;
}

QStringList leftovers(const QString& folder)
{
    return QDir(folder).entryList({QStringLiteral(".*staplescope-*")}, QDir::Files | QDir::Hidden);
}

} // namespace

class TestAtomicFile : public QObject {
    Q_OBJECT

private slots:
    void createsNewFileWithRequestedMode();
    void replacesContentAndKeepsMode();
    void keepsOwnerWhenRoot();
    void missingFolderFailsWithReason();
    void directoryTargetFailsAndIsUntouched();
    void fullDiskKeepsOldFile();
};

void TestAtomicFile::createsNewFileWithRequestedMode()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ocsp.der"));
    const WriteResult result = writeFileAtomically(path, "staple", 0640);
    QVERIFY2(result.ok, qPrintable(result.error));
    QCOMPARE(readAll(path), QByteArray("staple"));
    QCOMPARE(statOf(path).st_mode & 07777, mode_t(0640));
    QVERIFY(leftovers(dir.path()).isEmpty());
}

void TestAtomicFile::replacesContentAndKeepsMode()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("exim.ocsp"));
    QVERIFY(writeFileAtomically(path, "old", 0600).ok);
    QCOMPARE(::chmod(QFile::encodeName(path).constData(), 0604), 0);
    const ino_t oldInode = statOf(path).st_ino;

    const WriteResult result = writeFileAtomically(path, "new content", 0644);
    QVERIFY2(result.ok, qPrintable(result.error));
    QCOMPARE(readAll(path), QByteArray("new content"));
    QCOMPARE(statOf(path).st_mode & 07777, mode_t(0604)); // the existing mode wins over the default
    QVERIFY(statOf(path).st_ino != oldInode);               // replaced by rename, not rewritten in place
    QVERIFY(leftovers(dir.path()).isEmpty());
}

void TestAtomicFile::keepsOwnerWhenRoot()
{
    if (::geteuid() != 0)
        QSKIP("only root can hand a file to another owner");
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("site.pem.ocsp"));
    QVERIFY(writeFileAtomically(path, "old").ok);
    QCOMPARE(::chown(QFile::encodeName(path).constData(), 12345, 23456), 0);
    QVERIFY(writeFileAtomically(path, "new").ok);
    QCOMPARE(statOf(path).st_uid, uid_t(12345));
    QCOMPARE(statOf(path).st_gid, gid_t(23456));
}

void TestAtomicFile::missingFolderFailsWithReason()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("no/such/folder/ocsp.der"));
    const WriteResult result = writeFileAtomically(path, "x");
    QVERIFY(!result.ok);
    QVERIFY2(result.error.contains(path) && result.error.contains(QLatin1String("No such file or directory")),
             qPrintable(result.error));
}

void TestAtomicFile::directoryTargetFailsAndIsUntouched()
{
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("target")));
    const WriteResult result = writeFileAtomically(dir.filePath(QStringLiteral("target")), "x");
    QVERIFY(!result.ok);
    QVERIFY(result.error.contains(QLatin1String("not a regular file")));
    QVERIFY(QFileInfo(dir.filePath(QStringLiteral("target"))).isDir());
}

// A real full disk: a tiny tmpfs when we may mount one (root in CI containers), else skipped.
void TestAtomicFile::fullDiskKeepsOldFile()
{
    if (::geteuid() != 0)
        QSKIP("mounting a small tmpfs needs root");
    QTemporaryDir dir;
    const QString mountPoint = dir.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(mountPoint));
    if (QProcess::execute(QStringLiteral("mount"), {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                                                    QStringLiteral("size=64k"), QStringLiteral("tmpfs"), mountPoint}) != 0)
        QSKIP("cannot mount tmpfs here (no CAP_SYS_ADMIN)");
    const QString path = mountPoint + QStringLiteral("/ocsp.der");
    QVERIFY(writeFileAtomically(path, QByteArray(1000, 'o')).ok);
    const WriteResult result = writeFileAtomically(path, QByteArray(256 * 1024, 'n'));
    const QByteArray after = readAll(path);
    const QStringList left = leftovers(mountPoint);
    QProcess::execute(QStringLiteral("umount"), {mountPoint});
    QVERIFY(!result.ok);
    QVERIFY2(result.error.contains(QLatin1String("No space left on device")), qPrintable(result.error));
    QVERIFY(result.error.contains(QLatin1String("old file is unchanged")));
    QCOMPARE(after, QByteArray(1000, 'o'));
    QVERIFY(left.isEmpty());
}

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "tst_atomicfile.moc"
