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
    void writesThroughSymbolicLinks();
    void danglingLinkCreatesItsTarget();
    void linkLoopFailsAndWritesNothing();
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

// certbot's layout: live/site/cert.pem → ../../archive/site/cert2.pem. Writing the live path must
// replace the archived file and leave the link a link (renaming over it would cut it loose).
void TestAtomicFile::writesThroughSymbolicLinks()
{
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("archive/site")) && QDir(dir.path()).mkpath(QStringLiteral("live/site")));
    const QString archived = dir.filePath(QStringLiteral("archive/site/cert2.pem"));
    const QString live = dir.filePath(QStringLiteral("live/site/cert.pem"));
    QVERIFY(writeFileAtomically(archived, "old", 0640).ok);
    QVERIFY(QFile::link(QStringLiteral("../../archive/site/cert2.pem"), live));
    // A second hop, absolute this time.
    const QString alias = dir.filePath(QStringLiteral("alias.pem"));
    QVERIFY(QFile::link(live, alias));

    const WriteResult result = writeFileAtomically(alias, "new");
    QVERIFY2(result.ok, qPrintable(result.error));
    QVERIFY(QFileInfo(alias).isSymLink());
    QVERIFY(QFileInfo(live).isSymLink());
    QCOMPARE(readAll(archived), QByteArray("new"));
    QCOMPARE(readAll(live), QByteArray("new"));
    struct stat st = {};
    QCOMPARE(::stat(QFile::encodeName(archived).constData(), &st), 0);
    QCOMPARE(st.st_mode & 07777, mode_t(0640)); // the target's mode, kept
    QCOMPARE(QDir(dir.filePath(QStringLiteral("archive/site"))).entryList(QDir::Files | QDir::Hidden).size(), 1); // no temp left
}

void TestAtomicFile::danglingLinkCreatesItsTarget()
{
    QTemporaryDir dir;
    const QString link = dir.filePath(QStringLiteral("ocsp.der"));
    QVERIFY(QFile::link(QStringLiteral("staples/ocsp-current.der"), link));
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("staples")));
    const WriteResult result = writeFileAtomically(link, "staple");
    QVERIFY2(result.ok, qPrintable(result.error));
    QVERIFY(QFileInfo(link).isSymLink());
    QCOMPARE(readAll(dir.filePath(QStringLiteral("staples/ocsp-current.der"))), QByteArray("staple"));
}

void TestAtomicFile::linkLoopFailsAndWritesNothing()
{
    QTemporaryDir dir;
    const QString a = dir.filePath(QStringLiteral("a")), b = dir.filePath(QStringLiteral("b"));
    QVERIFY(QFile::link(b, a) && QFile::link(a, b));
    const WriteResult result = writeFileAtomically(a, "x");
    QVERIFY(!result.ok);
    QVERIFY2(result.error.contains(QLatin1String("symbolic links")), qPrintable(result.error));
    QVERIFY(QFileInfo(a).isSymLink() && QFileInfo(b).isSymLink());
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::System).size(), 2);
}

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "tst_atomicfile.moc"
