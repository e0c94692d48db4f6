#include "FilePath.h"

#include <QFile>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace staplescope {

namespace {

// Length of the well-formed UTF-8 sequence at `p` (RFC 3629: no overlong forms, no encoded
// surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
int validSequenceLength(const uchar* p, qsizetype left, char32_t* codePoint)
{
    const uchar b0 = p[0];
    if (b0 < 0x80) {
        *codePoint = b0;
        return 1;
    }
    int length = 0;
    char32_t value = 0;
    char32_t minimum = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        length = 2, value = b0 & 0x1f, minimum = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        length = 3, value = b0 & 0x0f, minimum = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        length = 4, value = b0 & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (left < length)
        return 0;
    for (int i = 1; i < length; ++i) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        value = (value << 6) | (p[i] & 0x3f);
    }
    if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return 0;
    *codePoint = value;
    return length;
}

} // namespace

QString decodeFileName(QByteArrayView bytes)
{
    QString out;
    out.reserve(bytes.size());
    const auto* p = reinterpret_cast<const uchar*>(bytes.data());
    const qsizetype size = bytes.size();
    // One pass over the name: each step consumes one sequence or one stray byte.
    for (qsizetype i = 0; i < size;) {
        char32_t codePoint = 0;
        const int length = validSequenceLength(p + i, size - i, &codePoint);
        if (length == 0) {
            out.append(QChar(char16_t(0xdc00 + p[i]))); // p[i] >= 0x80 here: ASCII is always valid
            ++i;
            continue;
        }
        if (QChar::requiresSurrogates(codePoint)) {
            out.append(QChar(QChar::highSurrogate(codePoint)));
            out.append(QChar(QChar::lowSurrogate(codePoint)));
        } else {
            out.append(QChar(char16_t(codePoint)));
        }
        i += length;
    }
    return out;
}

QByteArray encodeFileName(const QString& path)
{
    QByteArray out;
    out.reserve(path.size());
    const qsizetype size = path.size();
    // One pass; a run of ordinary text is handed to toUtf8 in one piece.
    qsizetype runStart = 0;
    auto flush = [&](qsizetype end) {
        if (end > runStart)
            out += QStringView(path).sliced(runStart, end - runStart).toUtf8();
    };
    for (qsizetype i = 0; i < size; ++i) {
        const char16_t c = path.at(i).unicode();
        const bool escaped = c >= 0xdc80 && c <= 0xdcff && (i == 0 || !QChar::isHighSurrogate(path.at(i - 1).unicode()));
        if (!escaped)
            continue;
        flush(i);
        out.append(char(c - 0xdc00));
        runStart = i + 1;
    }
    flush(size);
    return out;
}

bool openForReading(QFile& file, const QString& path, int* error)
{
    const QByteArray name = encodeFileName(path);
    const int fd = ::open(name.constData(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (error)
            *error = errno;
        return false;
    }
    if (!file.open(fd, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle)) {
        if (error)
            *error = EIO;
        ::close(fd); // QFile did not take it
        return false;
    }
    if (error)
        *error = 0;
    return true;
}

} // namespace staplescope
