#include "Socket.h"

#include <QUrl>
#include <QHostAddress>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>

namespace staplescope {

namespace {

// OpenSSL's socket BIO writes with write(2): a server that hangs up mid-handshake would raise
// SIGPIPE and kill the whole program. This BIO is the same, with send(MSG_NOSIGNAL) and recv.
int noSigpipeWrite(BIO* bio, const char* data, int length)
{
    const int fd = int(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
    BIO_clear_retry_flags(bio);
    const ssize_t n = ::send(fd, data, size_t(length), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(bio);
    return int(n);
}

int noSigpipeRead(BIO* bio, char* data, int length)
{
    const int fd = int(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
    BIO_clear_retry_flags(bio);
    const ssize_t n = ::recv(fd, data, size_t(length), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(bio);
    return int(n);
}

long noSigpipeCtrl(BIO*, int cmd, long, void*)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

} // namespace

QString stripBrackets(const QString& host)
{
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        return host.mid(1, host.size() - 2);
    return host;
}

bool isIpLiteral(const QString& host)
{
    QHostAddress address;
    return address.setAddress(stripBrackets(host));
}

std::optional<Address> literalAddress(const QString& text)
{
    const QByteArray bytes = stripBrackets(text).toLatin1();
    Address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (::inet_pton(AF_INET, bytes.constData(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        a.length = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, bytes.constData(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        a.length = sizeof(sockaddr_in6);
    } else {
        return std::nullopt;
    }
    a.text = QString::fromLatin1(bytes);
    return a;
}

void setPort(Address& a, quint16 port)
{
    if (a.storage.ss_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(port);
}

QList<Address> resolve(const QString& host, QString* error)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    // No AI_ADDRCONFIG: on a loopback-only machine it hides ::1 and 127.0.0.1 for "localhost".
    addrinfo* list = nullptr;
    const QByteArray name = QUrl::toAce(host);
    const int rc = ::getaddrinfo(name.isEmpty() ? host.toUtf8().constData() : name.constData(), nullptr, &hints, &list);
    if (rc != 0) {
        *error = rc == EAI_SYSTEM ? QString::fromLocal8Bit(std::strerror(errno)) : QString::fromLocal8Bit(::gai_strerror(rc));
        return {};
    }
    QList<Address> out;
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        Address a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.length = socklen_t(ai->ai_addrlen);
        char text[INET6_ADDRSTRLEN] = {};
        const void* raw = ai->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
        ::inet_ntop(ai->ai_family, raw, text, sizeof text);
        a.text = QString::fromLatin1(text);
        if (std::none_of(out.begin(), out.end(), [&](const Address& o) { return o.text == a.text; }))
            out << a;
    }
    ::freeaddrinfo(list);
    if (out.isEmpty())
        *error = QStringLiteral("no IPv4 or IPv6 address");
    return out;
}

const BIO_METHOD* noSigpipeSocketMethod()
{
    // Built once, never freed: OpenSSL keeps using it for every BIO made from it.
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                     "staplescope socket");
        BIO_meth_set_write(m, noSigpipeWrite);
        BIO_meth_set_read(m, noSigpipeRead);
        BIO_meth_set_ctrl(m, noSigpipeCtrl);
        BIO_meth_set_create(m, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return m;
    }();
    return method;
}

SocketWait waitForSocket(int fd, short events, SteadyTime deadline, const std::atomic<bool>* cancel)
{
    using namespace std::chrono;
    for (;;) {
        if (cancel && cancel->load())
            return SocketWait::Cancelled;
        const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        if (left <= 0)
            return SocketWait::TimedOut;
        // Short slices so a cancel request is noticed within 100 ms.
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, int(std::min<long long>(left, 100)));
        if (r > 0)
            return SocketWait::Ready; // POLLERR/POLLHUP too: the next read or write reports what happened
        if (r < 0 && errno != EINTR)
            return SocketWait::Error;
    }
}

} // namespace staplescope
