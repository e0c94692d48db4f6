#pragma once
// The head of an HTTP/1.x request as the exporter reads it: request line and header fields, read
// incrementally from what has arrived so far, within a byte and a line bound (RFC 9112). Requests
// carry no body here, so the head is the whole request.

#include <QByteArray>
#include <QList>
#include <QString>

#include <utility>

namespace staplescope {

struct HttpRequestHead {
    QByteArray method;   // "GET"
    QByteArray target;   // origin form, "/probe?target=…", as sent (percent-encoded)
    QByteArray version;  // "HTTP/1.1"
    QList<std::pair<QByteArray, QByteArray>> fields; // names lower-cased, values trimmed

    // The first field with this (lower-case) name; null when absent.
    QByteArray field(const QByteArray& name) const;
    int fieldCount(const QByteArray& name) const;
    // HTTP/1.1 keeps the connection unless it says `close`; HTTP/1.0 only with `keep-alive`.
    bool keepAlive() const;
};

class HttpRequestHeadReader {
public:
    enum class State { NeedMore, Complete, Failed };

    HttpRequestHeadReader(int maxHeadBytes, int maxFieldLines);

    // Looks at `buffer` (everything received and not yet consumed): a complete head is parsed and
    // its bytes are reported in consumed(). Scanning resumes where the previous call stopped, so
    // a client sending one byte at a time costs linear time. Call reset() before the next request.
    State read(const QByteArray& buffer);
    void reset();

    const HttpRequestHead& head() const { return m_head; }
    qsizetype consumed() const { return m_consumed; }
    // When Failed: the status to answer with (400, 414, 431, 505) and a one-line reason.
    int failureStatus() const { return m_failureStatus; }
    QString failureReason() const { return m_failureReason; }

private:
    State fail(int status, const QString& reason);
    State parse(const QByteArray& head);

    int m_maxHeadBytes;
    int m_maxFieldLines;
    qsizetype m_scanned = 0;
    qsizetype m_lineStart = 0;
    int m_lines = 0;
    qsizetype m_consumed = 0;
    HttpRequestHead m_head;
    int m_failureStatus = 0;
    QString m_failureReason;
};

// The reason phrase of the statuses the exporter sends.
QByteArray httpReasonPhrase(int status);

} // namespace staplescope
