#pragma once
// The plain-text part of "inspect a live server": protocols that start in clear text and switch to
// TLS on request (STARTTLS and its relatives), and the bounded socket reader they run on.
//
// Everything here blocks the calling thread (a worker, never the GUI thread) and is bounded:
// each step has a deadline, the whole check has a deadline, a line and the whole clear-text
// exchange have byte caps, and a cancel flag is polled at least every 100 ms.

#include "Finding.h"
#include "Socket.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>

namespace staplescope {

enum class StartTlsProtocol { None, Smtp, Imap, Pop3, Ftp, Ldap, Xmpp, XmppServer, Postgres, Sieve };

// "none", "smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "xmpp-server", "postgres", "sieve".
QString startTlsProtocolName(StartTlsProtocol protocol);
// Case-insensitive inverse of startTlsProtocolName(); nullopt for an unknown name.
std::optional<StartTlsProtocol> startTlsProtocolFromName(const QString& name);
QStringList startTlsProtocolNames();
// The usual protocol on a well-known port; None (implicit TLS) for 443, 465, 993, ... and unknown ports.
StartTlsProtocol defaultStartTlsProtocol(quint16 port);
// The protocol's well-known STARTTLS port (25 for smtp, 143 for imap, …), the inverse of
// defaultStartTlsProtocol; 443 for None.
quint16 defaultStartTlsPort(StartTlsProtocol protocol);

// Reads and writes on a connected non-blocking socket for the clear-text dialogue.
// A hostile server can neither hold us past the deadlines nor make us buffer more than the caps.
class PlainChannel {
public:
    struct Limits {
        qsizetype maxLineBytes = 16 * 1024;
        qsizetype maxTotalBytes = 64 * 1024; // everything received before TLS starts
        int stepTimeoutMs = 5000;
        int totalTimeoutMs = 20000; // only for messages; the deadline itself comes from the caller
    };
    enum class Status { Ok, Closed, TimedOut, TotalTimedOut, LineTooLong, TooMuchData, Cancelled, SocketError };

    PlainChannel(int fd, Limits limits, SteadyTime overallDeadline, const std::atomic<bool>* cancel,
                 QStringList* transcript);

    // Starts a new step (one request and its reply): the step deadline restarts from now.
    void beginStep();

    Status send(const QByteArray& bytes);
    // Sends one line with CR LF and records it in the transcript.
    Status sendLine(const QByteArray& line);
    // One line without its CR LF, recorded in the transcript.
    Status readLine(QByteArray* line);
    Status readExact(qsizetype count, QByteArray* out);
    // Reads until `complete(received)` is true (for XML, which has no line structure); returns
    // everything received in this call.
    Status readUntil(const std::function<bool(const QByteArray&)>& complete, QByteArray* out);

    // Human explanation of a failed status, e.g. "the server sent over 64 KiB without ending its greeting".
    QString explain(Status status, const QString& waitingFor) const;

    void note(const QString& transcriptLine);
    qsizetype totalReceived() const { return m_totalReceived; }
    // Bytes the server sent after its last expected reply (before TLS); they are discarded.
    qsizetype pendingBytes() const { return m_buffer.size(); }
    // Up to `max` of the bytes received but not read yet, to quote what a server sent.
    QByteArray peek(qsizetype max) const { return m_buffer.left(max); }

private:
    Status fill();
    SteadyTime deadline() const { return std::min(m_stepDeadline, m_overallDeadline); }
    Status timeoutStatus() const;

    int m_fd;
    Limits m_limits;
    SteadyTime m_overallDeadline;
    SteadyTime m_stepDeadline;
    const std::atomic<bool>* m_cancel;
    QStringList* m_transcript;
    QByteArray m_buffer;
    qsizetype m_totalReceived = 0;
    int m_errno = 0;
};

struct StartTlsRequest {
    StartTlsProtocol protocol = StartTlsProtocol::None;
    QString xmppDomain;  // to= of the XMPP stream header
    QString clientName;  // EHLO argument for SMTP
    QString subject;     // "host:port [address]", for findings
};

// Runs the protocol's clear-text dialogue up to the point where the next bytes are the TLS
// ClientHello. nullopt: ready for TLS. Otherwise the finding: STARTTLS_NOT_OFFERED when the server
// doesn't offer TLS, STARTTLS_FAILED for everything else (a refusal, a stall, a closed connection,
// an oversized reply), or a Finding with an empty code when the check was cancelled.
std::optional<Finding> negotiateStartTls(PlainChannel& channel, const StartTlsRequest& request);

} // namespace staplescope
