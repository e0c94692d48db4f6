#pragma once

#include <QString>

namespace staplescope {

// Where an object came from: a file (and which block in it), or a live server.
struct SourceLocation {
    QString path;       // file path, or "host:port [address]" for a served object
    int index = 0;      // 0-based position of the object within that source
    int count = 1;      // how many objects of any kind that source held
    bool served = false; // true when received from a live server rather than read from disk

    // "fullchain.pem", "fullchain.pem (#2 of 3)", "mail.example.org:587 [192.0.2.1] (#1 of 2)"
    QString display() const
    {
        if (count <= 1)
            return path;
        // One multi-argument arg(): a path holding "%1" must not be scanned again.
        return QStringLiteral("%1 (#%2 of %3)").arg(path, QString::number(index + 1), QString::number(count));
    }
};

} // namespace staplescope
