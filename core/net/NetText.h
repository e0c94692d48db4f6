#pragma once
// Text about what a server did, shared by the STARTTLS dialogues and the TLS probe.

#include <QByteArray>
#include <QString>

#include <limits>

namespace staplescope {

// "16 KiB", "1 MiB", "300 bytes": exact, as limits are set.
QString formatBytes(qsizetype bytes);
// "5 s", "0.5 s".
QString formatSeconds(int milliseconds);

// Server bytes for a message or transcript, kept raw: the report and the CLI escape them where
// they are printed (TextEscape.h); escaping here as well would show a server's own backslash
// doubled. ASCII stays as it is; every other byte becomes the lone surrogate U+DC80–U+DCFF
// ("surrogateescape"), which escapeText shows as \xNN. More than `max` bytes are cut, saying how
// many there were.
QString serverText(const QByteArray& bytes, qsizetype max = std::numeric_limits<qsizetype>::max());

} // namespace staplescope
