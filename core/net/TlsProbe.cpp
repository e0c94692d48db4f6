#include "TlsProbe.h"

#include "NetText.h"
#include "Socket.h"
#include "FindingRegistry.h"
#include "OpenSslPtr.h"

#include <QHash>
#include <QHostAddress>
#include <QUrl>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>

namespace staplescope {

QString ProbeResult::subject() const
{
    // Concatenation: a host as typed (or a scoped IPv6 address, "fe80::1%2") may hold "%N".
    const QString portText = QLatin1Char(':') + QString::number(port);
    const QString hostPort = host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') + portText : host + portText;
    if (address.isEmpty() || address == host)
        return hostPort;
    return QStringLiteral("%1 [%2]").arg(hostPort, address);
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Every finding of this layer is an error: the server could not be checked.
Finding probeFinding(FindingCode code, const QString& subject, const QString& title, const QString& message,
                     const QString& fix)
{
    return makeFinding(code, Severity::Error, title, subject, message, fix);
}

// What one TLS attempt saw, collected by OpenSSL's callbacks.
struct HandshakeTrace {
    QStringList alerts;
    QByteArray firstRecordHeader; // the first 5 bytes the server sent after the ClientHello
    bool anyRecordReceived = false;
};

void infoCallback(const SSL* ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT))
        return;
    auto* trace = static_cast<HandshakeTrace*>(SSL_get_app_data(ssl));
    if (!trace)
        return;
    const QString text = QStringLiteral("%1: %2 %3")
                             .arg((where & SSL_CB_READ) ? QStringLiteral("received") : QStringLiteral("sent"),
                                  QString::fromLatin1(SSL_alert_type_string_long(ret)),
                                  QString::fromLatin1(SSL_alert_desc_string_long(ret)));
    if (trace->alerts.size() < 10)
        trace->alerts << text;
}

// OpenSSL reports each record header it reads (SSL3_RT_HEADER) before it validates it, which lets
// us quote what a non-TLS server answered ("220 mail…" means SMTP).
void messageCallback(int writing, int, int contentType, const void* buf, size_t len, SSL*, void* arg)
{
    auto* trace = static_cast<HandshakeTrace*>(arg);
    if (writing || contentType != SSL3_RT_HEADER || !trace || trace->anyRecordReceived)
        return;
    trace->anyRecordReceived = true;
    trace->firstRecordHeader = QByteArray(static_cast<const char*>(buf), int(std::min<size_t>(len, 5)));
}

enum class AttemptOutcome { Ok, ConnectFailed, StartTlsFailed, HandshakeFailed, Cancelled };

struct Attempt {
    AttemptOutcome outcome = AttemptOutcome::Ok;
    std::optional<Finding> finding;
    bool retryable = false; // the server actively refused the handshake (alert, closed): worth a retry
};

class Prober {
public:
    Prober(const ProbeOptions& options, const std::atomic<bool>* cancel, Clock::time_point overallDeadline)
        : o(options), m_cancel(cancel), m_overall(overallDeadline)
    {
    }

    void run(ProbeResult& r, Address address)
    {
        setPort(address, o.port);
        Attempt first = attempt(r, address, o.requestStatus);
        if (first.outcome == AttemptOutcome::HandshakeFailed && o.requestStatus && o.retryWithoutStatusRequest
            && first.retryable && !cancelled() && Clock::now() < m_overall) {
            r.transcript << QStringLiteral("-- the handshake with status_request failed; trying once more without it");
            r.retriedWithoutStatusRequest = true;
            const QStringList firstAlerts = r.alerts;
            ProbeResult second = r;
            second.alerts.clear();
            Attempt retry = attempt(second, address, false);
            second.alerts = firstAlerts + second.alerts;
            if (retry.outcome == AttemptOutcome::Ok) {
                r = second;
                r.handshakeSucceededOnlyWithoutStatusRequest = true;
                Finding f = *first.finding;
                f.title = QStringLiteral("Handshakes that ask for a staple fail");
                f.message = QStringLiteral("The TLS handshake fails when the client asks for an OCSP staple (status_request), "
                                           "and succeeds without it. %1 Clients that ask for a staple (most browsers, "
                                           "GnuTLS and OpenSSL mail clients) cannot connect. The usual cause is a staple "
                                           "file the server cannot use with its certificate: a stale OCSP response for a "
                                           "previous certificate, or one that is not DER.")
                                .arg(first.finding->message);
                f.fix = QStringLiteral("Fetch a fresh OCSP response for the certificate the server uses, write it to the "
                                       "server's staple file (nginx ssl_stapling_file, Exim tls_ocsp_file, HAProxy .ocsp), "
                                       "and reload the server.");
                f.remedy = Remedy{RemedyKind::RefreshStaple, {}, {}, {}};
                r.findings << f;
                return;
            }
            r.transcript = second.transcript;
            r.alerts = second.alerts;
            if (retry.finding)
                first.finding->message += QStringLiteral(" A second handshake without status_request failed too: %1")
                                              .arg(retry.finding->message);
        }
        if (first.outcome == AttemptOutcome::Cancelled) {
            r.cancelled = true;
            return;
        }
        if (first.finding && !first.finding->code.isEmpty())
            r.findings << *first.finding;
        else if (first.finding)
            r.cancelled = true;
    }

private:
    bool cancelled() const { return m_cancel && m_cancel->load(); }
    Clock::time_point stepDeadline() const { return std::min(Clock::now() + milliseconds(o.stepTimeoutMs), m_overall); }
    bool overallIsTighter(Clock::time_point deadline) const { return deadline >= m_overall; }

    Attempt fail(AttemptOutcome outcome, FindingCode code, const ProbeResult& r, const QString& title,
                 const QString& message, const QString& fix, bool retryable = false)
    {
        Attempt a;
        a.outcome = outcome;
        a.finding = probeFinding(code, r.subject(), title, message, fix);
        a.retryable = retryable;
        return a;
    }

    Attempt connectTo(ProbeResult& r, const Address& address, Socket& sock)
    {
        sock.reset(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!sock.isValid())
            return fail(AttemptOutcome::ConnectFailed, FindingCode::ConnectFailed, r, QStringLiteral("Cannot create a socket"),
                        QStringLiteral("Creating a socket for %1 failed: %2.").arg(address.text, QString::fromLocal8Bit(std::strerror(errno))),
                        QString());
        const int one = 1;
        ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const auto deadline = std::min(Clock::now() + milliseconds(o.connectTimeoutMs), m_overall);
        int err = 0;
        if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                switch (waitForSocket(sock.get(), POLLOUT, deadline, m_cancel)) {
                case SocketWait::Cancelled: return Attempt{AttemptOutcome::Cancelled, std::nullopt, false};
                case SocketWait::TimedOut:
                    return fail(AttemptOutcome::ConnectFailed, FindingCode::ConnectFailed, r,
                                QStringLiteral("Connection timed out"),
                                QStringLiteral("Connecting to %1 port %2 timed out after %3: nothing answered (a firewall "
                                               "dropping packets, or the host is down).")
                                    .arg(address.text, QString::number(o.port),
                                         formatSeconds(overallIsTighter(deadline) ? o.totalTimeoutMs : o.connectTimeoutMs)),
                                QStringLiteral("Check that the server runs and that the firewall lets port %1 through "
                                               "from here; raise --connect-timeout for a slow network.")
                                    .arg(o.port));
                case SocketWait::Error:
                case SocketWait::Ready: break;
                }
                socklen_t len = sizeof err;
                if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                    err = errno;
            }
        }
        if (err != 0) {
            QString what;
            switch (err) {
            case ECONNREFUSED: what = QStringLiteral("the connection was refused: nothing listens on that port"); break;
            case ENETUNREACH: what = QStringLiteral("the network is unreachable from here (no route)"); break;
            case EHOSTUNREACH: what = QStringLiteral("the host is unreachable"); break;
            case ETIMEDOUT: what = QStringLiteral("the connection timed out"); break;
            default: what = QString::fromLocal8Bit(std::strerror(err)); break;
            }
            return fail(AttemptOutcome::ConnectFailed, FindingCode::ConnectFailed, r,
                        err == ECONNREFUSED ? QStringLiteral("Connection refused") : QStringLiteral("Cannot connect"),
                        QStringLiteral("Connecting to %1 port %2 failed: %3.").arg(address.text, QString::number(o.port), what),
                        err == ECONNREFUSED
                            ? QStringLiteral("Start the server, or check the port and that it listens on this address "
                                             "(IPv4 and IPv6 are configured separately).")
                            : QStringLiteral("Check the address, routing and firewall."));
        }
        r.connected = true;
        r.transcript << QStringLiteral("-- connected to %1 port %2").arg(address.text, QString::number(o.port));
        return {};
    }

    Attempt attempt(ProbeResult& r, const Address& address, bool requestStatus)
    {
        Socket sock;
        if (Attempt a = connectTo(r, address, sock); a.outcome != AttemptOutcome::Ok)
            return a;

        if (r.protocol != StartTlsProtocol::None) {
            PlainChannel::Limits limits;
            limits.maxLineBytes = o.maxLineBytes;
            limits.maxTotalBytes = o.maxPlainTextBytes;
            limits.stepTimeoutMs = o.stepTimeoutMs;
            limits.totalTimeoutMs = o.totalTimeoutMs;
            PlainChannel channel(sock.get(), limits, m_overall, m_cancel, &r.transcript);
            StartTlsRequest request;
            request.protocol = r.protocol;
            request.clientName = o.clientName;
            request.xmppDomain = r.serverName.isEmpty() ? stripBrackets(o.host) : r.serverName;
            request.subject = r.subject();
            if (std::optional<Finding> problem = negotiateStartTls(channel, request)) {
                if (problem->code.isEmpty())
                    return Attempt{AttemptOutcome::Cancelled, std::nullopt, false};
                if (problem->title.isEmpty())
                    problem->title = findingCode(*problem) == FindingCode::StartTlsNotOffered ? QStringLiteral("STARTTLS not offered")
                                                                                    : QStringLiteral("STARTTLS failed");
                return Attempt{AttemptOutcome::StartTlsFailed, problem, false};
            }
        }
        return handshake(r, sock, requestStatus);
    }

    // OpenSSL 3.0 makes SSL_CTX_new expensive (it fetches every algorithm and cipher), and a
    // context is safe to share between threads once set up: one per setting for the process.
    std::shared_ptr<SSL_CTX> sharedContext() const
    {
        static std::mutex mutex;
        static QHash<QString, std::shared_ptr<SSL_CTX>> contexts;
        const QString key = QStringLiteral("%1/%2").arg(int(o.tlsVersion)).arg(o.maxChainBytes);
        std::lock_guard lock(mutex);
        if (auto it = contexts.constFind(key); it != contexts.constEnd())
            return *it;
        SslCtxPtr made = makeContext();
        if (!made)
            return {};
        std::shared_ptr<SSL_CTX> ctx(made.release(), SSL_CTX_free);
        contexts.insert(key, ctx);
        return ctx;
    }

    SslCtxPtr makeContext() const
    {
        SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
        if (!ctx)
            return ctx;
        // The probe verifies nothing: it records what the server sent and the analysis judges it.
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
        // Level 0, so a server with a weak key or an old protocol still shows its certificate.
        SSL_CTX_set_security_level(ctx.get(), 0);
        SSL_CTX_set_options(ctx.get(), SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
        switch (o.tlsVersion) {
        case ProbeOptions::TlsVersion::Tls12:
            SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
            SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
            break;
        case ProbeOptions::TlsVersion::Tls13:
            SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
            SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
            break;
        case ProbeOptions::TlsVersion::Any:
            SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
            SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
            break;
        }
        // Bounds the Certificate message: an endless chain ends in "excessive message size".
        SSL_CTX_set_max_cert_list(ctx.get(), long(o.maxChainBytes));
        return ctx;
    }

    QString describeFailure(int sslError, int savedErrno, const OpenSslErrors& openSsl, const HandshakeTrace& trace,
                            bool* retryable) const
    {
        const QString& openSslText = openSsl.text;
        const auto sslReason = [&](std::initializer_list<int> reasons) {
            for (int reason : reasons)
                if (openSsl.hasReason(ERR_LIB_SSL, reason))
                    return true;
            return false;
        };
        *retryable = false;
        QString text;
        bool receivedAlert = false;
        for (const QString& a : trace.alerts)
            receivedAlert |= a.startsWith(QLatin1String("received"));
        if (receivedAlert) {
            *retryable = true;
            QStringList received;
            for (const QString& a : trace.alerts)
                if (a.startsWith(QLatin1String("received")))
                    received << a.mid(10);
            text = QStringLiteral("the server aborted the handshake with the alert \"%1\"").arg(received.join(QStringLiteral(", ")));
        } else if (sslReason({SSL_R_EXCESSIVE_MESSAGE_SIZE})) {
            text = QStringLiteral("the server sent a certificate message over the limit of %1 (an endless or absurd chain)")
                       .arg(formatBytes(o.maxChainBytes));
        } else if (sslReason({SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_UNKNOWN_PROTOCOL,
                              SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST
#ifdef SSL_R_RECORD_LAYER_FAILURE // OpenSSL 3.2+ says this for a non-TLS answer
                              , SSL_R_RECORD_LAYER_FAILURE
#endif
                   })) {
            text = QStringLiteral("the server does not speak TLS here: it answered the ClientHello with \"%1\"")
                       .arg(serverText(trace.firstRecordHeader));
        } else if (sslError == SSL_ERROR_SYSCALL || sslError == SSL_ERROR_ZERO_RETURN
                   || (sslError == SSL_ERROR_SSL && sslReason({SSL_R_UNEXPECTED_EOF_WHILE_READING}))) {
            *retryable = true;
            text = savedErrno == ECONNRESET ? QStringLiteral("the server reset the connection during the handshake")
                   : trace.anyRecordReceived ? QStringLiteral("the server closed the connection during the handshake")
                                             : QStringLiteral("the server closed the connection without answering the ClientHello");
        } else if (sslReason({SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_PROTOCOLS_AVAILABLE})) {
            text = QStringLiteral("no common TLS version (%1)").arg(openSslText);
        } else {
            text = QStringLiteral("%1").arg(openSslText.isEmpty() ? QStringLiteral("OpenSSL error %1").arg(sslError) : openSslText);
        }
        if (!openSslText.isEmpty() && !text.contains(openSslText))
            text += QStringLiteral(" (OpenSSL: %1)").arg(openSslText);
        return text;
    }

    QString versionWords() const
    {
        switch (o.tlsVersion) {
        case ProbeOptions::TlsVersion::Tls12: return QStringLiteral("TLS 1.2 only");
        case ProbeOptions::TlsVersion::Tls13: return QStringLiteral("TLS 1.3 only");
        case ProbeOptions::TlsVersion::Any: break;
        }
        return QStringLiteral("TLS 1.0–1.3");
    }

    Attempt handshake(ProbeResult& r, Socket& sock, bool requestStatus)
    {
        const std::shared_ptr<SSL_CTX> ctx = sharedContext();
        SslPtr ssl(ctx ? SSL_new(ctx.get()) : nullptr);
        if (!ssl) {
            const QString why = takeOpenSslErrors();
            return fail(AttemptOutcome::HandshakeFailed, FindingCode::TlsHandshakeFailed, r,
                        QStringLiteral("TLS could not start"),
                        QStringLiteral("OpenSSL could not set up a TLS client: %1").arg(why), QString());
        }
        HandshakeTrace trace;
        SSL_set_app_data(ssl.get(), &trace);
        SSL_set_info_callback(ssl.get(), infoCallback);
        SSL_set_msg_callback(ssl.get(), messageCallback);
        SSL_set_msg_callback_arg(ssl.get(), &trace);
        BIO* bio = BIO_new(noSigpipeSocketMethod());
        if (!bio) {
            const QString why = takeOpenSslErrors();
            return fail(AttemptOutcome::HandshakeFailed, FindingCode::TlsHandshakeFailed, r,
                        QStringLiteral("TLS could not start"),
                        QStringLiteral("OpenSSL could not set up a socket BIO: %1").arg(why), QString());
        }
        BIO_set_data(bio, reinterpret_cast<void*>(intptr_t(sock.get())));
        SSL_set_bio(ssl.get(), bio, bio); // the SSL owns the BIO from here
        if (!r.serverName.isEmpty())
            SSL_set_tlsext_host_name(ssl.get(), r.serverName.toUtf8().constData());
        if (requestStatus)
            SSL_set_tlsext_status_type(ssl.get(), TLSEXT_STATUSTYPE_ocsp);
        r.stapleRequested = requestStatus;
        r.transcript << QStringLiteral("C: TLS ClientHello (%1, SNI %2, %3)")
                            .arg(versionWords(), r.serverName.isEmpty() ? QStringLiteral("none") : r.serverName,
                                 requestStatus ? QStringLiteral("status_request") : QStringLiteral("no status_request"));

        clearOpenSslErrors();
        const auto deadline = stepDeadline();
        for (;;) {
            const int rc = SSL_connect(ssl.get());
            if (rc == 1)
                break;
            const int savedErrno = errno;
            const int err = SSL_get_error(ssl.get(), rc);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                switch (waitForSocket(sock.get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, m_cancel)) {
                case SocketWait::Ready: continue;
                case SocketWait::Cancelled: return Attempt{AttemptOutcome::Cancelled, std::nullopt, false};
                case SocketWait::TimedOut: {
                    r.alerts = trace.alerts;
                    const QString limit = overallIsTighter(deadline)
                        ? QStringLiteral("the check's total time limit of %1").arg(formatSeconds(o.totalTimeoutMs))
                        : QStringLiteral("%1 (the step timeout)").arg(formatSeconds(o.stepTimeoutMs));
                    return fail(AttemptOutcome::HandshakeFailed, FindingCode::TlsHandshakeFailed, r,
                                QStringLiteral("TLS handshake timed out"),
                                trace.anyRecordReceived
                                    ? QStringLiteral("The server started the TLS handshake but didn't finish it within %1.").arg(limit)
                                    : QStringLiteral("The server sent nothing in reply to the TLS ClientHello within %1%2.")
                                          .arg(limit, r.protocol == StartTlsProtocol::None
                                                          ? QStringLiteral(" — it may expect a plain-text protocol first "
                                                                           "(choose the protocol)")
                                                          : QString()),
                                QStringLiteral("Check that this port runs TLS%1, or raise the timeout for a slow server.")
                                    .arg(r.protocol == StartTlsProtocol::None ? QStringLiteral(" from the first byte")
                                                                              : QString()));
                }
                case SocketWait::Error: break;
                }
            }
            const OpenSslErrors openSslErrors = takeOpenSslErrorDetails();
            r.alerts = trace.alerts;
            bool retryable = false;
            const QString why = describeFailure(err, savedErrno, openSslErrors, trace, &retryable);
            r.transcript << QStringLiteral("-- TLS handshake failed: %1").arg(why);
            return fail(AttemptOutcome::HandshakeFailed, FindingCode::TlsHandshakeFailed, r,
                        QStringLiteral("TLS handshake failed"),
                        QStringLiteral("The TLS handshake%1 failed: %2.")
                            .arg(r.protocol == StartTlsProtocol::None
                                     ? QString()
                                     : QStringLiteral(" after %1 STARTTLS").arg(startTlsProtocolName(r.protocol)),
                                 why),
                        QStringLiteral("Check the server's TLS configuration and its log for this connection "
                                       "(certificate and key files, staple file, protocol versions)."),
                        retryable);
        }

        r.tlsEstablished = true;
        r.alerts = trace.alerts;
        r.tlsVersion = QString::fromLatin1(SSL_get_version(ssl.get()));
        if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get()))
            r.cipher = QString::fromLatin1(SSL_CIPHER_get_name(cipher));
        r.chainDer.clear();
        // On the client side the peer chain includes the leaf, in the order the server sent it.
        if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get())) {
            const int n = sk_X509_num(chain);
            for (int i = 0; i < n && i < o.maxChainCertificates; ++i) {
                unsigned char* der = nullptr;
                const int len = i2d_X509(sk_X509_value(chain, i), &der);
                if (len > 0)
                    r.chainDer << QByteArray(reinterpret_cast<const char*>(der), len);
                OPENSSL_free(der);
            }
            if (n > o.maxChainCertificates)
                r.transcript << QStringLiteral("-- the server sent %1 certificates; only the first %2 are kept")
                                    .arg(n)
                                    .arg(o.maxChainCertificates);
        }
        const unsigned char* staple = nullptr;
        const long stapleLength = SSL_get_tlsext_status_ocsp_resp(ssl.get(), &staple);
        r.stapleDer = (stapleLength > 0 && staple) ? QByteArray(reinterpret_cast<const char*>(staple), int(stapleLength))
                                                   : QByteArray();
        r.transcript << QStringLiteral("S: TLS established: %1, %2, %3 certificate(s), %4")
                            .arg(r.tlsVersion, r.cipher, QString::number(r.chainDer.size()),
                                 r.stapleDer.isEmpty() ? QStringLiteral("no staple")
                                                       : QStringLiteral("staple of %1 bytes").arg(r.stapleDer.size()));
        // A polite close_notify, without waiting for the server's.
        SSL_set_quiet_shutdown(ssl.get(), 0);
        SSL_shutdown(ssl.get());
        clearOpenSslErrors();
        return {};
    }

    const ProbeOptions& o;
    const std::atomic<bool>* m_cancel;
    Clock::time_point m_overall;
};

} // namespace

QList<ProbeResult> probe(const ProbeOptions& options, const std::atomic<bool>* cancel)
{
    const auto overall = Clock::now() + milliseconds(options.totalTimeoutMs);
    ProbeResult base;
    base.host = stripBrackets(options.host);
    base.port = options.port;
    base.protocol = options.startTls.value_or(defaultStartTlsProtocol(options.port));
    base.serverName = !options.serverName.isEmpty() ? options.serverName
                      : isIpLiteral(base.host)      ? QString()
                                                    : base.host;

    QList<Address> addresses;
    if (!options.pinnedAddresses.isEmpty() || isIpLiteral(base.host)) {
        const QStringList literals = options.pinnedAddresses.isEmpty() ? QStringList{base.host} : options.pinnedAddresses;
        for (const QString& literal : literals) {
            if (auto a = literalAddress(literal)) {
                if (std::none_of(addresses.begin(), addresses.end(), [&](const Address& o) { return o.text == a->text; }))
                    addresses << *a;
                continue;
            }
            ProbeResult r = base;
            r.findings << probeFinding(FindingCode::ConnectFailed, r.subject(), QStringLiteral("Not an IP address"),
                                       QStringLiteral("\"%1\" is not an IPv4 or IPv6 address.").arg(literal),
                                       QStringLiteral("Give an IP address such as 192.0.2.1 or 2001:db8::1."));
            return {r};
        }
    } else {
        QString error;
        addresses = resolve(base.host, &error);
        if (addresses.isEmpty()) {
            ProbeResult r = base;
            r.findings << probeFinding(FindingCode::ConnectFailed, r.subject(), QStringLiteral("Host name does not resolve"),
                                       QStringLiteral("Looking up \"%1\" in DNS failed: %2.").arg(base.host, error),
                                       QStringLiteral("Check the spelling and the DNS records (A and AAAA) of the name, "
                                                      "or pin the IP address to check."));
            return {r};
        }
    }

    QList<ProbeResult> results;
    for (const Address& address : std::as_const(addresses)) {
        ProbeResult r = base;
        r.address = address.text;
        if ((cancel && cancel->load()) || Clock::now() >= overall) {
            if (cancel && cancel->load()) {
                r.cancelled = true;
            } else {
                r.findings << probeFinding(FindingCode::ConnectFailed, r.subject(), QStringLiteral("Not checked: time limit"),
                                           QStringLiteral("The check's total time limit of %1 ran out before this address "
                                                          "was tried.")
                                               .arg(formatSeconds(options.totalTimeoutMs)),
                                           QStringLiteral("Raise the timeout, or check one address at a time."));
            }
            results << r;
            continue;
        }
        Prober(options, cancel, overall).run(r, address);
        results << r;
    }
    return results;
}

QList<QList<ProbeResult>> probeMany(const QList<ProbeOptions>& endpoints, int maxConcurrent,
                                    const std::atomic<bool>* cancel)
{
    // A vector, not a QList: workers write distinct elements concurrently, which must never detach.
    std::vector<QList<ProbeResult>> results(size_t(endpoints.size()));
    const int threads = std::clamp<int>(maxConcurrent, 1, std::max<int>(1, int(endpoints.size())));
    std::atomic<qsizetype> next{0};
    auto worker = [&] {
        for (qsizetype i = next++; i < endpoints.size(); i = next++)
            results[size_t(i)] = probe(endpoints[i], cancel);
    };
    std::vector<std::thread> pool;
    pool.reserve(size_t(threads - 1));
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool)
        t.join();
    return QList<QList<ProbeResult>>(results.begin(), results.end());
}

} // namespace staplescope
