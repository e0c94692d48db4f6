#pragma once

#include "Certificate.h"
#include "Finding.h"
#include "OcspStaple.h"
#include "PrivateKey.h"
#include "Crl.h"
#include "RoleFiles.h"

#include <QHash>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace staplescope {

class ParseCache;
struct RoleInputs;

// Everything found in a set of inputs, by kind, plus INPUT_* findings for what could not be read.
struct LoadedInputs {
    QList<Certificate> certificates;
    QList<OcspStaple> staples;
    QList<PrivateKey> keys;
    QList<Crl> crls;
    QList<Finding> findings;
    QStringList files; // every file read, in order
    bool cancelled = false;

    void append(const LoadedInputs& other);
};

struct LoadOptions {
    // Asked for a PKCS#12 (or encrypted key) password: the GUI shows a dialog, the CLI uses
    // --password or a prompt, tests script it. Returning nullopt means "none available".
    std::function<std::optional<QString>(const QString& path)> passwordProvider;
    qint64 maxFileSize = 16 * 1024 * 1024; // larger files are reported, not read
    // Called from the loading thread after each file of loadPaths (files done, files in all), so a
    // window can show real progress for big folders.
    std::function<void(qsizetype done, qsizetype total)> progress;
    // When set to true, loadPaths stops after the current file and marks the result cancelled.
    const std::atomic<bool>* cancel = nullptr;
    // Inputs already read by the caller (the CLI's `-` reads stdin once, bounded by maxFileSize):
    // a path given to loadPaths that is a key here is parsed from these bytes under that name
    // ("(stdin)") and never opened.
    QHash<QString, QByteArray> givenData;
};

// Reads files and folders. Content is sniffed, never trusted from the file name.
class Loader {
public:
    explicit Loader(LoadOptions options = {});

    // Files, or folders read recursively (symlinks followed once, never in a loop).
    LoadedInputs loadPaths(const QStringList& paths) const;
    LoadedInputs loadFile(const QString& path) const;
    // Sniffs and parses bytes that came from `origin` (a file path or any label).
    LoadedInputs loadData(const QByteArray& data, const QString& origin) const;
    // The files given with roles (files.certFiles, chainFiles, stapleFiles, keyFiles), each role
    // on its own; files.paths are not read here (loadPaths). Include RoleInputs.h to use it.
    RoleInputs loadRoles(const RoleFiles& files) const;

    // Lists the regular files below `paths` the way loadPaths would read them.
    static QStringList expandPaths(const QStringList& paths, QList<Finding>* findings = nullptr);

    // What this Loader (and its copies) parsed, by DER; also for bytes that come from elsewhere
    // (a server's chain) that should share it.
    std::shared_ptr<ParseCache> parseCache() const { return m_cache; }

private:
    LoadOptions m_options;
    std::shared_ptr<ParseCache> m_cache;
};

} // namespace staplescope
