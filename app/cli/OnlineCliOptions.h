#pragma once
// The options every command that asks the network shares (inspect --online, refresh):
// --timeout S, --concurrency N, --responder URL, --certid-hash sha1|sha256, --ocsp-method
// get|post, --nonce. Read into OnlineOptions for core/net's OnlineLookup.

#include "OnlineLookup.h"

#include <QCommandLineOption>
#include <QCommandLineParser>

namespace staplescope::cli {

class OnlineCliOptions {
public:
    OnlineCliOptions();
    void addOptions(QCommandLineParser& parser) const;
    // After parsing: an empty string, or what is wrong (for a usage error).
    QString read(const QCommandLineParser& parser);

    OnlineOptions options;

private:
    QCommandLineOption m_timeout, m_concurrency, m_responder, m_certIdHash, m_ocspMethod, m_nonce;
};

} // namespace staplescope::cli
