#include "ParseCache.h"

#include <QMutexLocker>

namespace staplescope {

Certificate ParseCache::certificate(const QByteArray& der, const SourceLocation& where)
{
    {
        const QMutexLocker lock(&m_mutex);
        if (const auto it = m_certificates.constFind(der); it != m_certificates.constEnd())
            return it->withSource(where);
    }
    // Parsed outside the lock: two threads may parse the same bytes once each, never wait on each other.
    const Certificate cert = Certificate::fromDer(der, where);
    if (!cert.isNull()) {
        const QMutexLocker lock(&m_mutex);
        m_certificates.insert(der, cert);
    }
    return cert;
}

OcspStaple::ParseResult ParseCache::staple(const QByteArray& der, const SourceLocation& where)
{
    {
        const QMutexLocker lock(&m_mutex);
        if (const auto it = m_staples.constFind(der); it != m_staples.constEnd()) {
            OcspStaple::ParseResult copy = *it;
            if (!copy.staple.isNull())
                copy.staple = copy.staple.withSource(where);
            return copy;
        }
    }
    const OcspStaple::ParseResult parsed = OcspStaple::fromDer(der, where);
    const QMutexLocker lock(&m_mutex);
    m_staples.insert(der, parsed);
    return parsed;
}

} // namespace staplescope
