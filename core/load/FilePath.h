#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

class QFile;

namespace staplescope {

// File names on POSIX are bytes, not text. Qt decodes them as UTF-8, turns a byte that is not
// UTF-8 into U+FFFD and can then never reopen that file. These conversions are lossless instead
// (Python's "surrogateescape"): each byte that is not part of valid UTF-8 becomes the lone
// surrogate U+DC80 + byte (U+DC80..U+DCFF) in the QString, and turns back into that byte.
// Outputs show such characters escaped ("\xNN"); they are never valid text on their own.

// Bytes from the file system (readdir, readlink, argv) to a path string.
QString decodeFileName(QByteArrayView bytes);
// A path string back to the exact bytes to give the file system. Plain strings encode as UTF-8.
QByteArray encodeFileName(const QString& path);

// Opens `path` for reading through its exact bytes (QFile would re-encode the name and miss a
// non-UTF-8 one). On failure returns false and sets `error` to errno.
bool openForReading(QFile& file, const QString& path, int* error = nullptr);

} // namespace staplescope
