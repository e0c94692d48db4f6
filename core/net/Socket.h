#pragma once
// Sockets for the live checks: an owned descriptor, addresses and name resolution, waiting with a
// deadline and a cancel flag, and a socket BIO that cannot raise SIGPIPE.

#include <QList>
#include <QString>

#include <atomic>
#include <chrono>
#include <optional>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>

namespace staplescope {

// A socket descriptor owned like the OpenSSL handles: closed on every path.
class Socket {
public:
    Socket() = default;
    explicit Socket(int fd) : m_fd(fd) {}
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    Socket(Socket&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    Socket& operator=(Socket&& o) noexcept
    {
        reset(std::exchange(o.m_fd, -1));
        return *this;
    }
    ~Socket() { reset(); }
    int get() const { return m_fd; }
    bool isValid() const { return m_fd >= 0; }
    void reset(int fd = -1)
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = fd;
    }

private:
    int m_fd = -1;
};

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    QString text; // numeric form, for findings and reports
};

// "[::1]" → "::1"; anything else unchanged.
QString stripBrackets(const QString& host);
bool isIpLiteral(const QString& host);
// An IP literal (brackets allowed) as an address with port 0; nullopt for a name.
std::optional<Address> literalAddress(const QString& text);
void setPort(Address& a, quint16 port);
// getaddrinfo() blocks, bounded by the system resolver's own timeouts (resolv.conf); it cannot
// be interrupted, which is why probes run on worker threads. IPv4 and IPv6, each address once.
QList<Address> resolve(const QString& host, QString* error);

// OpenSSL's socket BIO writes with write(2): a server that hangs up mid-handshake would raise
// SIGPIPE and kill the whole program. This BIO method is the same, with send(MSG_NOSIGNAL) and
// recv; the descriptor is the BIO's data.
const BIO_METHOD* noSigpipeSocketMethod();

using SteadyTime = std::chrono::steady_clock::time_point;

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT), the deadline passes or `cancel` is set.
enum class SocketWait { Ready, TimedOut, Cancelled, Error };
SocketWait waitForSocket(int fd, short events, SteadyTime deadline, const std::atomic<bool>* cancel);

} // namespace staplescope
