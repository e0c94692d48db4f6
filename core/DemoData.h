#pragma once
// The built-in demo: a freshly generated folder (dates relative to `now`, so it never goes stale)
// holding one healthy bundle and the renewal incident this project exists for.

#include <QDateTime>
#include <QString>
#include <QStringList>

namespace staplescope {

struct DemoResult {
    bool ok = false;
    QString error;     // what went wrong writing the folder, when !ok
    QStringList paths;       // the sub-folders written: healthy/ and incident/
    QString trustAnchorFile; // root-ca.pem: pass it as a CA file (--ca-file) so the chains are trusted
};

// healthy/  www.example.test: leaf + chain + key + a current SHA-256 staple from a delegated responder.
// incident/ mail.example.test: the certificate renewed two days ago, its previous certificate still
//           beside it, and the previous certificate's staple still in tls_ocsp_file.
// The trust anchor is written as root-ca.pem in `folder`.
DemoResult writeDemo(const QString& folder, const QDateTime& now);

} // namespace staplescope
