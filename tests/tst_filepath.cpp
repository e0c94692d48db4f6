// FilePath: names that are not UTF-8 survive the trip into a QString and back byte for byte, and
// names that are UTF-8 stay ordinary text.

#include "FilePath.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <unistd.h>

using namespace staplescope;

class TestFilePath : public QObject {
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void openByExactBytes();
};

void TestFilePath::roundTrip_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("decoded");
    const auto esc = [](uchar byte) { return QChar(char16_t(0xdc00 + byte)); };
    QTest::newRow("ASCII") << QByteArray("/etc/ssl/cert.pem") << QStringLiteral("/etc/ssl/cert.pem");
    QTest::newRow("UTF-8 é") << QByteArray("caf\xc3\xa9") << QStringLiteral("caf\u00e9");
    QTest::newRow("UTF-8 outside the BMP") << QByteArray("\xf0\x9f\x94\x92.pem") << QString::fromUtf8("\xf0\x9f\x94\x92.pem");
    QTest::newRow("Latin-1 é") << QByteArray("caf\xe9") << QStringLiteral("caf") + esc(0xe9);
    QTest::newRow("stray continuation bytes") << QByteArray("\x80\xbf") << QString(esc(0x80)) + esc(0xbf);
    QTest::newRow("overlong /") << QByteArray("a\xc0\xaf") << QStringLiteral("a") + esc(0xc0) + esc(0xaf);
    QTest::newRow("encoded surrogate") << QByteArray("\xed\xb2\x80") << QString(esc(0xed)) + esc(0xb2) + esc(0x80);
    QTest::newRow("above U+10FFFF") << QByteArray("\xf4\x90\x80\x80") << QString(esc(0xf4)) + esc(0x90) + esc(0x80) + esc(0x80);
    QTest::newRow("truncated sequence at the end") << QByteArray("x\xe2\x82") << QStringLiteral("x") + esc(0xe2) + esc(0x82);
    QTest::newRow("0xff") << QByteArray("\xff") << QString(esc(0xff));
}

void TestFilePath::roundTrip()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, decoded);
    QCOMPARE(decodeFileName(bytes), decoded);
    QCOMPARE(encodeFileName(decoded), bytes);
}

void TestFilePath::openByExactBytes()
{
    QTemporaryDir dir;
    const QByteArray name = QFile::encodeName(dir.path()) + "/key-\xe9\xff.pem";
    const int fd = ::open(name.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    QVERIFY(fd >= 0);
    QCOMPARE(::write(fd, "data", 4), ssize_t(4));
    ::close(fd);
    const auto cleanup = qScopeGuard([&] { ::unlink(name.constData()); });

    QFile file;
    int error = -1;
    QVERIFY(openForReading(file, decodeFileName(name), &error));
    QCOMPARE(error, 0);
    QCOMPARE(file.readAll(), QByteArray("data"));

    QFile missing;
    QVERIFY(!openForReading(missing, decodeFileName(QFile::encodeName(dir.path()) + "/none-\xe9"), &error));
    QCOMPARE(error, ENOENT);
}

QTEST_GUILESS_MAIN(TestFilePath)
#include "tst_filepath.moc"
