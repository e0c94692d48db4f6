#include "NetText.h"

#include <algorithm>

namespace staplescope {

QString formatBytes(qsizetype bytes)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
        return QStringLiteral("%1 MiB").arg(bytes / (1024 * 1024));
    if (bytes >= 1024 && bytes % 1024 == 0)
        return QStringLiteral("%1 KiB").arg(bytes / 1024);
    return QStringLiteral("%1 bytes").arg(bytes);
}

QString formatSeconds(int milliseconds)
{
    return milliseconds % 1000 == 0 ? QStringLiteral("%1 s").arg(milliseconds / 1000)
                                    : QStringLiteral("%1 s").arg(milliseconds / 1000.0);
}

QString serverText(const QByteArray& bytes, qsizetype max)
{
    QString out;
    const qsizetype n = std::min(bytes.size(), max);
    out.reserve(n);
    for (qsizetype i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        out += QChar(char16_t(c < 0x80 ? c : 0xDC00 + c));
    }
    if (bytes.size() > max)
        out += QStringLiteral("… (%1 bytes)").arg(bytes.size());
    return out;
}

} // namespace staplescope
