#pragma once

#include "Certificate.h"
#include "OcspStaple.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>

namespace staplescope {

// Parsed certificates and OCSP responses by DER. The same bytes are met many times: a chain file
// repeated in every bundle folder, the CA copy in every staple, every backend of a server sending
// the same chain, the served certificate again in the files it is compared with. Each is parsed
// once and every copy gets its own source. One cache serves a Loader (and its copies) and the
// server check that loads with it. Thread-safe. It grows with the distinct inputs only.
class ParseCache {
public:
    // A null Certificate when the bytes don't parse (not cached: the caller reports it).
    Certificate certificate(const QByteArray& der, const SourceLocation& where);
    // Failures are cached too: the same unreadable staple from every backend gives the same error.
    OcspStaple::ParseResult staple(const QByteArray& der, const SourceLocation& where);

private:
    QMutex m_mutex;
    QHash<QByteArray, Certificate> m_certificates;
    QHash<QByteArray, OcspStaple::ParseResult> m_staples;
};

} // namespace staplescope
