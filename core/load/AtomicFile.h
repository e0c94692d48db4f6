#pragma once
// Replaces a file so that readers see either the old or the new content, never a mix, and a full
// disk or a crash leaves the old file intact: temp file in the same folder, fsync, rename, fsync of
// the folder. An existing file's mode and owner are kept (a staple readable by the exim group stays so).
// A path through symbolic links writes the file they lead to; the links stay as they are.

#include <QByteArray>
#include <QString>

#include <optional>

namespace staplescope {

struct WriteResult {
    bool ok = false;
    QString error; // "cannot write /etc/exim4/ocsp.der: No space left on device (old file kept)"
};

// `newFileMode` (octal, e.g. 0644) applies only when the file does not exist yet.
WriteResult writeFileAtomically(const QString& path, const QByteArray& content,
                                std::optional<unsigned> newFileMode = std::nullopt);

} // namespace staplescope
