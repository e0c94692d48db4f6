#include "LoopbackServer.h"

#include <chrono>
#include <cerrno>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace staplescope::test {

namespace {

using Clock = std::chrono::steady_clock;

// Waits for `events` in slices, so a stopping server notices within 50 ms.
bool waitFor(int fd, short events, Clock::time_point deadline, const std::atomic<bool>* stop)
{
    for (;;) {
        if (stop->load())
            return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, int(std::min<long long>(left, 50)));
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
    }
}

} // namespace

bool Connection::send(const QByteArray& bytes)
{
    qsizetype done = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (done < bytes.size()) {
        const ssize_t n = ::send(m_fd, bytes.constData() + done, size_t(bytes.size() - done), MSG_NOSIGNAL);
        if (n > 0) {
            done += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!waitFor(m_fd, POLLOUT, deadline, m_stop))
                return false;
            continue;
        }
        return false;
    }
    return true;
}

QByteArray Connection::readSome(int timeoutMs)
{
    if (!m_buffer.isEmpty())
        return std::exchange(m_buffer, QByteArray());
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        char chunk[4096];
        const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
        if (n > 0)
            return QByteArray(chunk, int(n));
        if (n == 0)
            return {};
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return {};
        if (!waitFor(m_fd, POLLIN, deadline, m_stop))
            return {};
    }
}

std::optional<QByteArray> Connection::readLine(int timeoutMs)
{
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        const qsizetype eol = m_buffer.indexOf('\n');
        if (eol >= 0) {
            QByteArray line = m_buffer.left(eol);
            m_buffer.remove(0, eol + 1);
            if (line.endsWith('\r'))
                line.chop(1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return std::nullopt;
        const QByteArray more = readSome(int(left));
        if (more.isEmpty())
            return std::nullopt;
        m_buffer += more;
    }
}

void Connection::drainUntilClosed(int timeoutMs)
{
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    m_buffer.clear();
    while (Clock::now() < deadline && !stopping()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{m_fd, POLLIN, 0};
        const int r = ::poll(&p, 1, int(std::min<long long>(left, 50)));
        if (r <= 0)
            continue;
        char chunk[4096];
        const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return;
    }
}

LoopbackServer::LoopbackServer(Handler handler) : m_handler(std::move(handler)) {}

LoopbackServer::~LoopbackServer() { stop(); }

quint16 LoopbackServer::start(const QByteArray& address, quint16 port)
{
    // The server side writes with OpenSSL's socket BIO; a client that hangs up must not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
    m_listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_listenFd < 0)
        return 0;
    // No SO_REUSEADDR so that a port still bound elsewhere is refused rather than shared.
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address.constData(), &addr.sin_addr) != 1)
        return 0;
    addr.sin_port = htons(port);
    socklen_t len = sizeof addr;
    if (::bind(m_listenFd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_listenFd, 512) != 0
        || ::getsockname(m_listenFd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(m_listenFd);
        m_listenFd = -1;
        return 0;
    }
    m_port = ntohs(addr.sin_port);
    m_stop = false;
    m_acceptThread = std::thread([this] { acceptLoop(); });
    return m_port;
}

void LoopbackServer::acceptLoop()
{
    while (!m_stop.load()) {
        pollfd p{m_listenFd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0)
            continue;
        const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ++m_accepted;
        std::lock_guard lock(m_mutex);
        m_workers.emplace_back([this, fd] {
            Connection connection(fd, &m_stop);
            m_handler(connection);
            ::close(fd);
        });
    }
}

void LoopbackServer::stop()
{
    if (m_listenFd < 0)
        return;
    m_stop = true;
    if (m_acceptThread.joinable())
        m_acceptThread.join();
    std::vector<std::thread> workers;
    {
        std::lock_guard lock(m_mutex);
        workers.swap(m_workers);
    }
    for (std::thread& t : workers)
        t.join();
    ::close(m_listenFd);
    m_listenFd = -1;
}

namespace {

struct StapleHolder {
    QByteArray der;
    bool failIfRequested = false;
};

int stapleCallback(SSL* ssl, void* arg)
{
    const auto* holder = static_cast<const StapleHolder*>(arg);
    if (holder->failIfRequested)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    if (holder->der.isEmpty())
        return SSL_TLSEXT_ERR_NOACK;
    // OpenSSL takes ownership of the buffer and frees it with OPENSSL_free.
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(holder->der.constData(), size_t(holder->der.size())));
    if (!copy)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, long(holder->der.size()));
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

std::shared_ptr<SSL_CTX> makeServerContext(const TlsServerConfig& config)
{
    SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
    if (!raw)
        return {};
    // The staple holder lives as long as the context: freed by the context's deleter.
    auto* holder = new StapleHolder{config.staple, config.failIfStatusRequested};
    std::shared_ptr<SSL_CTX> ctx(raw, [holder](SSL_CTX* c) {
        SSL_CTX_free(c);
        delete holder;
    });
    SSL_CTX_set_min_proto_version(raw, config.minVersion);
    SSL_CTX_set_max_proto_version(raw, config.maxVersion);
    SSL_CTX_set_security_level(raw, 0);
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(raw, SSL_OP_NO_TICKET);
    if (SSL_CTX_use_certificate(raw, config.leaf.x509()) != 1 || SSL_CTX_use_PrivateKey(raw, config.leaf.key.get()) != 1)
        return {};
    for (int r = 0; r < config.chainRepeat; ++r)
        for (const IssuedCert& c : config.chain)
            SSL_CTX_add1_chain_cert(raw, c.x509());
    // Without this, OpenSSL would build its own chain from the store instead of sending ours.
    SSL_CTX_set_mode(raw, SSL_MODE_NO_AUTO_CHAIN);
    // The server caps what it sends at max_cert_list too; let a huge test chain through.
    SSL_CTX_set_max_cert_list(raw, 64L * 1024 * 1024);
    SSL_CTX_set_tlsext_status_cb(raw, stapleCallback);
    SSL_CTX_set_tlsext_status_arg(raw, holder);
    ERR_clear_error();
    return ctx;
}

bool serveTls(Connection& connection, SSL_CTX* ctx, int timeoutMs)
{
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx), SSL_free);
    if (!ssl)
        return false;
    SSL_set_fd(ssl.get(), connection.fd());
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    static const std::atomic<bool> never{false};
    for (;;) {
        const int rc = SSL_accept(ssl.get());
        if (rc == 1)
            break;
        const int err = SSL_get_error(ssl.get(), rc);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            return false;
        }
        if (connection.stopping()
            || !waitFor(connection.fd(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, &never)) {
            ERR_clear_error();
            return false;
        }
    }
    // Read until the client's close_notify or EOF, so the client sees a clean end.
    while (!connection.stopping() && Clock::now() < deadline) {
        char buf[1024];
        const int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n > 0)
            continue;
        const int err = SSL_get_error(ssl.get(), n);
        if (err == SSL_ERROR_WANT_READ) {
            if (!waitFor(connection.fd(), POLLIN, deadline, &never))
                break;
            continue;
        }
        break;
    }
    SSL_shutdown(ssl.get());
    ERR_clear_error();
    return true;
}

Handler tlsHandler(std::shared_ptr<SSL_CTX> ctx, std::function<bool(Connection&)> beforeTls)
{
    return [ctx, beforeTls](Connection& c) {
        if (beforeTls && !beforeTls(c))
            return;
        serveTls(c, ctx.get());
    };
}

QByteArray httpGetBody(quint16 port, const QByteArray& target, int readTimeoutMs)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        if (fd >= 0)
            ::close(fd);
        return {};
    }
    const QByteArray request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    ::send(fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL);
    QByteArray data;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, readTimeoutMs) <= 0)
            break;
        char chunk[16384];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            break;
        data.append(chunk, n);
    }
    ::close(fd);
    return data.mid(data.indexOf("\r\n\r\n") + 4);
}

} // namespace staplescope::test
