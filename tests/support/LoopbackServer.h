#pragma once
// An in-process server on 127.0.0.1 for the probe's tests and benchmark: it accepts connections on
// a free port and runs a handler for each on its own thread. Handlers script a protocol (a STARTTLS
// dialogue, a hostile server) and may finish with a TLS server handshake that staples.
//
// Everything it does is bounded by timeouts and the stop flag, so a test that fails midway still
// stops it (the destructor joins every thread).

#include "PkiFactory.h"

#include <QByteArray>
#include <QList>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace staplescope::test {

// The connection as a handler sees it.
class Connection {
public:
    Connection(int fd, const std::atomic<bool>* stop) : m_fd(fd), m_stop(stop) {}
    int fd() const { return m_fd; }
    bool stopping() const { return m_stop->load(); }

    bool send(const QByteArray& bytes);
    bool sendLine(const QByteArray& line) { return send(line + "\r\n"); }
    // One line without CR LF; empty optional on close, timeout or stop.
    std::optional<QByteArray> readLine(int timeoutMs = 5000);
    // At least one byte; empty on close, timeout or stop.
    QByteArray readSome(int timeoutMs = 5000);
    // Waits until the client closes (or the server stops), reading and discarding.
    void drainUntilClosed(int timeoutMs = 30000);

private:
    int m_fd;
    const std::atomic<bool>* m_stop;
    QByteArray m_buffer;
};

using Handler = std::function<void(Connection&)>;

class LoopbackServer {
public:
    explicit LoopbackServer(Handler handler);
    ~LoopbackServer();
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;

    // Listens on `address` (a 127.x.y.z loopback address) on `port`, 0 for a free one; returns the
    // port, 0 on failure.
    quint16 start(const QByteArray& address = "127.0.0.1", quint16 port = 0);
    void stop();
    quint16 port() const { return m_port; }
    int connectionsAccepted() const { return m_accepted.load(); }

private:
    void acceptLoop();

    Handler m_handler;
    int m_listenFd = -1;
    quint16 m_port = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_accepted{0};
    std::thread m_acceptThread;
    std::mutex m_mutex;
    std::vector<std::thread> m_workers;
};

// A TLS server endpoint: certificate, chain as sent, optional staple.
struct TlsServerConfig {
    IssuedCert leaf;
    QList<IssuedCert> chain;      // sent after the leaf, in this order
    int chainRepeat = 1;          // send the chain this many times (an "endless" chain)
    QByteArray staple;            // DER OCSP response sent when the client asks; empty: none
    int minVersion = TLS1_2_VERSION;
    int maxVersion = TLS1_3_VERSION;
    // Abort handshakes that ask for a staple (as a server that can't use its staple file does).
    bool failIfStatusRequested = false;
};

// A shared server context for `config` (built once, used by every connection).
std::shared_ptr<SSL_CTX> makeServerContext(const TlsServerConfig& config);
// Runs a server-side handshake on the connection; true when it completed.
bool serveTls(Connection& connection, SSL_CTX* ctx, int timeoutMs = 5000);

// A handler: optional clear-text script, then the TLS handshake, then wait for the client to close.
Handler tlsHandler(std::shared_ptr<SSL_CTX> ctx, std::function<bool(Connection&)> beforeTls = {});

// One HTTP/1.0 GET on a new connection to 127.0.0.1:port: the body (empty on failure). Each read
// waits at most `readTimeoutMs`; the server closes the connection after its answer.
QByteArray httpGetBody(quint16 port, const QByteArray& target, int readTimeoutMs);

} // namespace staplescope::test
