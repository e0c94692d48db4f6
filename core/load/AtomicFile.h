#pragma once
// Replaces a file so that readers see either the old or the new content, never a mix, and a full
// disk or a crash leaves the old file intact: temp file in the same folder, fsync, rename, fsync of
// the folder. An existing file's mode and owner are kept (a staple readable by the exim group stays so).
// A path through symbolic links writes the file they lead to; the links stay as they are.

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <optional>

namespace staplescope {

struct WriteResult {
    bool ok = false;
    QString error; // "cannot write /etc/exim4/ocsp.der: No space left on device (old file kept)"
};

// `newFileMode` (octal, e.g. 0644) applies only when the file does not exist yet.
//
// Fault points (FaultPoint.h), in order: "temp-written", "temp-synced", "renamed", "folder-synced".
WriteResult writeFileAtomically(const QString& path, const QByteArray& content,
                                std::optional<unsigned> newFileMode = std::nullopt);

// The temp file writeFileAtomically makes for `fileName` is `<tempFilePrefix>XXXXXX` (mkstemp's six
// letters or digits) in the same folder: ".ocsp.der.staplescope-" for "ocsp.der".
QString tempFilePrefix(const QString& fileName);

// Removes what a killed writeFileAtomically left behind for `fileName` in `folder`: only regular
// files named exactly like its temp files, owned by this user (or, for root, by the owner of
// `fileName`, which root's temp takes), that no live writer holds (a writer keeps its temp locked
// until the rename). Returns the paths removed.
QStringList removeLeftoverTempFiles(const QString& folder, const QString& fileName);

} // namespace staplescope
