#pragma once
// The built-in demo: a freshly generated folder (dates relative to `now`, so it never goes stale)
// holding one healthy bundle and the renewal incident this project exists for.

#include <QDateTime>
#include <QString>
#include <QStringList>

namespace staplescope {

// A folder that is not empty is refused: at most this many of its entries are named.
inline constexpr qsizetype kMaxNamedDemoEntries = 3;

struct DemoResult {
    bool ok = false;
    QString error;     // what went wrong writing the folder, when !ok
    QStringList inTheWay;    // when the folder was not empty: some of what it holds (nothing was changed)
    QStringList paths;       // the sub-folders written: healthy/ and incident/
    QString trustAnchorFile; // root-ca.pem: pass it as a CA file (--ca-file) so the chains are trusted
};

// healthy/  www.example.test: leaf + chain + key + a current SHA-256 staple from a delegated responder.
// incident/ mail.example.test: the certificate renewed two days ago, its previous certificate still
//           beside it, and the previous certificate's staple still in tls_ocsp_file.
// The trust anchor is written as root-ca.pem in `folder`.
//
// `folder` must be new (it is created) or an empty folder, not a symbolic link: the demo never
// replaces a file, never follows a symbolic link at a name it writes (every entry is created
// exclusively), and writes the private keys with mode 0600 whatever the umask. Otherwise nothing
// is changed and `error` says what is in the way.
// `now` is the caller's clock's now (Clock); a null `now` takes the system clock's.
DemoResult writeDemo(const QString& folder, const QDateTime& now);

} // namespace staplescope
