#include "HttpRequestHead.h"

namespace staplescope {

namespace {

// RFC 9110 token characters (method and field names).
bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

bool isToken(QByteArrayView text)
{
    if (text.isEmpty())
        return false;
    for (const char c : text)
        if (!isTokenChar(c))
            return false;
    return true;
}

// Visible ASCII only: no controls, spaces or bytes above 0x7E in a request target.
bool isVisibleAscii(QByteArrayView text)
{
    for (const char c : text)
        if (uchar(c) <= 0x20 || uchar(c) >= 0x7F)
            return false;
    return true;
}

constexpr qsizetype kMaxRequestLineBytes = 8 * 1024;

} // namespace

QByteArray HttpRequestHead::field(const QByteArray& name) const
{
    for (const auto& [n, v] : fields)
        if (n == name)
            return v.isNull() ? QByteArray("") : v;
    return {};
}

int HttpRequestHead::fieldCount(const QByteArray& name) const
{
    int count = 0;
    for (const auto& field : fields)
        count += field.first == name ? 1 : 0;
    return count;
}

bool HttpRequestHead::keepAlive() const
{
    const QList<QByteArray> tokens = field("connection").toLower().split(',');
    const auto has = [&](const QByteArray& token) {
        for (const QByteArray& t : tokens)
            if (t.trimmed() == token)
                return true;
        return false;
    };
    if (version == "HTTP/1.1")
        return !has("close");
    return has("keep-alive");
}

HttpRequestHeadReader::HttpRequestHeadReader(int maxHeadBytes, int maxFieldLines)
    : m_maxHeadBytes(maxHeadBytes), m_maxFieldLines(maxFieldLines)
{
}

void HttpRequestHeadReader::reset()
{
    m_scanned = 0;
    m_lineStart = 0;
    m_lines = 0;
    m_consumed = 0;
    m_head = {};
    m_failureStatus = 0;
    m_failureReason.clear();
}

HttpRequestHeadReader::State HttpRequestHeadReader::fail(int status, const QString& reason)
{
    m_failureStatus = status;
    m_failureReason = reason;
    return State::Failed;
}

HttpRequestHeadReader::State HttpRequestHeadReader::read(const QByteArray& buffer)
{
    // RFC 9112 §2.2: a server should ignore empty lines before the request line.
    if (m_lines == 0 && m_lineStart == m_scanned) {
        qsizetype skip = m_scanned;
        while (skip < buffer.size() && (buffer[skip] == '\r' || buffer[skip] == '\n') && skip < 16)
            ++skip;
        m_scanned = m_lineStart = skip;
    }
    const qsizetype limit = std::min<qsizetype>(buffer.size(), m_maxHeadBytes);
    for (; m_scanned < limit; ++m_scanned) {
        if (buffer[m_scanned] != '\n')
            continue;
        QByteArrayView line(buffer.constData() + m_lineStart, m_scanned - m_lineStart);
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.isEmpty() && m_lines > 0) {
            m_consumed = m_scanned + 1;
            return parse(buffer.left(m_scanned + 1));
        }
        if (++m_lines > m_maxFieldLines + 1)
            return fail(431, QStringLiteral("more than %1 header lines").arg(m_maxFieldLines));
        m_lineStart = m_scanned + 1;
    }
    if (m_lines == 0 && m_scanned - m_lineStart > kMaxRequestLineBytes)
        return fail(414, QStringLiteral("the request line is longer than %1 bytes").arg(kMaxRequestLineBytes));
    if (buffer.size() >= m_maxHeadBytes)
        return fail(431, QStringLiteral("the request head is longer than %1 bytes").arg(m_maxHeadBytes));
    return State::NeedMore;
}

HttpRequestHeadReader::State HttpRequestHeadReader::parse(const QByteArray& headBytes)
{
    QList<QByteArray> lines = headBytes.split('\n');
    // Leading empty lines were skipped; the last two entries are the empty line and what follows it.
    while (!lines.isEmpty() && lines.first().trimmed().isEmpty())
        lines.removeFirst();
    for (QByteArray& line : lines)
        if (line.endsWith('\r'))
            line.chop(1);
    while (!lines.isEmpty() && lines.last().isEmpty())
        lines.removeLast();
    if (lines.isEmpty())
        return fail(400, QStringLiteral("no request line"));

    const QList<QByteArray> parts = lines.first().split(' ');
    if (parts.size() != 3)
        return fail(400, QStringLiteral("the request line is not METHOD TARGET HTTP/1.x"));
    m_head.method = parts[0];
    m_head.target = parts[1];
    m_head.version = parts[2];
    if (!isToken(m_head.method))
        return fail(400, QStringLiteral("the method is not a token"));
    if (!m_head.version.startsWith("HTTP/"))
        return fail(400, QStringLiteral("the request line does not end in HTTP/1.x"));
    if (m_head.version != "HTTP/1.1" && m_head.version != "HTTP/1.0")
        return fail(505, QStringLiteral("only HTTP/1.0 and HTTP/1.1 are spoken here"));
    if (!m_head.target.startsWith('/') || !isVisibleAscii(m_head.target))
        return fail(400, QStringLiteral("the request target is not a path (origin form, /probe?target=…)"));

    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray& line = lines[i];
        // Obsolete line folding (a continuation line) is rejected, as RFC 9112 §5.2 allows.
        if (line.startsWith(' ') || line.startsWith('\t'))
            return fail(400, QStringLiteral("folded header lines are not accepted"));
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0 || !isToken(QByteArrayView(line).first(colon)))
            return fail(400, QStringLiteral("header line %1 is not NAME: VALUE").arg(i + 1));
        for (const char c : line)
            if (c == '\0' || c == '\r')
                return fail(400, QStringLiteral("header line %1 contains a control character").arg(i + 1));
        m_head.fields.append({line.left(colon).toLower(), line.mid(colon + 1).trimmed()});
    }
    return State::Complete;
}

QByteArray httpReasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

} // namespace staplescope
