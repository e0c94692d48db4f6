#include "StartTls.h"

#include "NetText.h"
#include "FindingRegistry.h"

#include <QRegularExpression>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace staplescope {

namespace {

struct ProtocolName {
    StartTlsProtocol protocol;
    const char* name;
};

constexpr ProtocolName kProtocolNames[] = {
    {StartTlsProtocol::None, "none"},         {StartTlsProtocol::Smtp, "smtp"},
    {StartTlsProtocol::Imap, "imap"},         {StartTlsProtocol::Pop3, "pop3"},
    {StartTlsProtocol::Ftp, "ftp"},           {StartTlsProtocol::Ldap, "ldap"},
    {StartTlsProtocol::Xmpp, "xmpp"},         {StartTlsProtocol::XmppServer, "xmpp-server"},
    {StartTlsProtocol::Postgres, "postgres"}, {StartTlsProtocol::Sieve, "sieve"},
};

// Transcript entries are for people reading a details view, not an archive: keep each short.
constexpr qsizetype kMaxTranscriptEntry = 300;
constexpr qsizetype kMaxTranscriptEntries = 200;

// What a server sent, quoted in a finding's message: each line and the whole quote are cut short
// (a hostile server must not fill a report); it is escaped where it is printed.
constexpr qsizetype kMaxQuotedLineBytes = 120;
constexpr qsizetype kMaxQuotedReplyChars = 300;
// The start of an over-long line or a half-sent reply, quoted to show what the server sends.
constexpr qsizetype kMaxQuotedStartBytes = 40;

// Server text in the transcript and in messages is kept short: at most this many bytes a quote.
constexpr qsizetype kMaxServerTextBytes = 200;

// Lines as received, quoted for a message: "250-mx / 250 HELP". An empty line gets said in words,
// since "" alone reads like a bug in the message.
QString quoteLines(const QList<QByteArray>& lines)
{
    QStringList parts;
    for (const QByteArray& l : lines)
        parts << serverText(l, kMaxQuotedLineBytes);
    QString joined = parts.join(QStringLiteral(" / "));
    if (joined.size() > kMaxQuotedReplyChars)
        joined = joined.left(kMaxQuotedReplyChars) + QStringLiteral("…");
    QString quoted = QStringLiteral("\"%1\"").arg(joined);
    if (lines.size() == 1 && lines.constFirst().isEmpty())
        quoted += QStringLiteral(" (an empty line)");
    return quoted;
}

} // namespace

QString startTlsProtocolName(StartTlsProtocol protocol)
{
    for (const auto& entry : kProtocolNames)
        if (entry.protocol == protocol)
            return QString::fromLatin1(entry.name);
    return QStringLiteral("none");
}

std::optional<StartTlsProtocol> startTlsProtocolFromName(const QString& name)
{
    const QString wanted = name.trimmed();
    for (const auto& entry : kProtocolNames)
        if (wanted.compare(QLatin1String(entry.name), Qt::CaseInsensitive) == 0)
            return entry.protocol;
    return std::nullopt;
}

QStringList startTlsProtocolNames()
{
    QStringList names;
    for (const auto& entry : kProtocolNames)
        names << QString::fromLatin1(entry.name);
    return names;
}

StartTlsProtocol defaultStartTlsProtocol(quint16 port)
{
    switch (port) {
    case 25:
    case 587: return StartTlsProtocol::Smtp;
    case 143: return StartTlsProtocol::Imap;
    case 110: return StartTlsProtocol::Pop3;
    case 21: return StartTlsProtocol::Ftp;
    case 389: return StartTlsProtocol::Ldap;
    case 5222: return StartTlsProtocol::Xmpp;
    case 5269: return StartTlsProtocol::XmppServer;
    case 5432: return StartTlsProtocol::Postgres;
    case 4190: return StartTlsProtocol::Sieve;
    default: return StartTlsProtocol::None; // 443, 465, 636, 853, 993, 995, 5061 and anything unknown
    }
}

quint16 defaultStartTlsPort(StartTlsProtocol protocol)
{
    switch (protocol) {
    case StartTlsProtocol::None: return 443;
    case StartTlsProtocol::Smtp: return 25;
    case StartTlsProtocol::Imap: return 143;
    case StartTlsProtocol::Pop3: return 110;
    case StartTlsProtocol::Ftp: return 21;
    case StartTlsProtocol::Ldap: return 389;
    case StartTlsProtocol::Xmpp: return 5222;
    case StartTlsProtocol::XmppServer: return 5269;
    case StartTlsProtocol::Postgres: return 5432;
    case StartTlsProtocol::Sieve: return 4190;
    }
    return 443;
}

PlainChannel::PlainChannel(int fd, Limits limits, SteadyTime overallDeadline, const std::atomic<bool>* cancel,
                           QStringList* transcript)
    : m_fd(fd), m_limits(limits), m_overallDeadline(overallDeadline), m_cancel(cancel), m_transcript(transcript)
{
    beginStep();
}

void PlainChannel::beginStep()
{
    m_stepDeadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_limits.stepTimeoutMs);
}

PlainChannel::Status PlainChannel::timeoutStatus() const
{
    return m_overallDeadline <= m_stepDeadline ? Status::TotalTimedOut : Status::TimedOut;
}

void PlainChannel::note(const QString& line)
{
    if (!m_transcript)
        return;
    if (m_transcript->size() == kMaxTranscriptEntries)
        m_transcript->append(QStringLiteral("… (transcript truncated)"));
    if (m_transcript->size() > kMaxTranscriptEntries)
        return;
    m_transcript->append(line.size() > kMaxTranscriptEntry ? line.left(kMaxTranscriptEntry) + QStringLiteral("…")
                                                           : line);
}

PlainChannel::Status PlainChannel::send(const QByteArray& bytes)
{
    qsizetype done = 0;
    while (done < bytes.size()) {
        // MSG_NOSIGNAL: a server that hung up must give us EPIPE, not kill the process with SIGPIPE.
        const ssize_t n = ::send(m_fd, bytes.constData() + done, size_t(bytes.size() - done), MSG_NOSIGNAL);
        if (n > 0) {
            done += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            switch (waitForSocket(m_fd, POLLOUT, deadline(), m_cancel)) {
            case SocketWait::Ready: continue;
            case SocketWait::TimedOut: return timeoutStatus();
            case SocketWait::Cancelled: return Status::Cancelled;
            case SocketWait::Error: m_errno = errno; return Status::SocketError;
            }
        }
        m_errno = errno;
        return (errno == EPIPE || errno == ECONNRESET) ? Status::Closed : Status::SocketError;
    }
    return Status::Ok;
}

PlainChannel::Status PlainChannel::sendLine(const QByteArray& line)
{
    note(QStringLiteral("C: ") + serverText(line, kMaxTranscriptEntry));
    return send(line + "\r\n");
}

PlainChannel::Status PlainChannel::fill()
{
    if (m_totalReceived >= m_limits.maxTotalBytes)
        return Status::TooMuchData;
    for (;;) {
        // Never ask for more than the cap allows, so memory stays bounded whatever the server sends.
        char chunk[4096];
        const qsizetype room = std::min<qsizetype>(sizeof chunk, m_limits.maxTotalBytes - m_totalReceived);
        const ssize_t n = ::recv(m_fd, chunk, size_t(room), 0);
        if (n > 0) {
            m_buffer.append(chunk, n);
            m_totalReceived += n;
            return Status::Ok;
        }
        if (n == 0)
            return Status::Closed;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            m_errno = errno;
            return errno == ECONNRESET ? Status::Closed : Status::SocketError;
        }
        switch (waitForSocket(m_fd, POLLIN, deadline(), m_cancel)) {
        case SocketWait::Ready: continue;
        case SocketWait::TimedOut: return timeoutStatus();
        case SocketWait::Cancelled: return Status::Cancelled;
        case SocketWait::Error: m_errno = errno; return Status::SocketError;
        }
    }
}

PlainChannel::Status PlainChannel::readLine(QByteArray* line)
{
    for (;;) {
        const qsizetype eol = m_buffer.indexOf('\n');
        if (eol >= 0 && eol <= m_limits.maxLineBytes) {
            *line = m_buffer.left(eol);
            m_buffer.remove(0, eol + 1);
            if (line->endsWith('\r'))
                line->chop(1);
            note(QStringLiteral("S: ") + serverText(*line, kMaxTranscriptEntry));
            return Status::Ok;
        }
        if (m_buffer.size() > m_limits.maxLineBytes)
            return Status::LineTooLong;
        if (const Status s = fill(); s != Status::Ok)
            return s;
    }
}

PlainChannel::Status PlainChannel::readExact(qsizetype count, QByteArray* out)
{
    while (m_buffer.size() < count)
        if (const Status s = fill(); s != Status::Ok)
            return s;
    *out = m_buffer.left(count);
    m_buffer.remove(0, count);
    return Status::Ok;
}

PlainChannel::Status PlainChannel::readUntil(const std::function<bool(const QByteArray&)>& complete,
                                             QByteArray* out)
{
    while (!complete(m_buffer))
        if (const Status s = fill(); s != Status::Ok)
            return s;
    *out = m_buffer;
    m_buffer.clear();
    return Status::Ok;
}

QString PlainChannel::explain(Status status, const QString& waitingFor) const
{
    switch (status) {
    case Status::Ok: return QString();
    case Status::Closed:
        if (!m_buffer.isEmpty())
            return QStringLiteral("the server closed the connection in the middle of %1, after \"%2\"")
                .arg(waitingFor, serverText(m_buffer, kMaxQuotedStartBytes));
        return QStringLiteral("the server closed the connection before sending %1").arg(waitingFor);
    case Status::TimedOut:
        return QStringLiteral("the server didn't finish sending %1 within %2 (the step timeout)")
            .arg(waitingFor, formatSeconds(m_limits.stepTimeoutMs));
    case Status::TotalTimedOut:
        return QStringLiteral("the check's total time limit of %1 ran out while waiting for %2")
            .arg(formatSeconds(m_limits.totalTimeoutMs), waitingFor);
    case Status::LineTooLong:
        return QStringLiteral("the server sent a line over %1 without a line end in %2; it began \"%3\"")
            .arg(formatBytes(m_limits.maxLineBytes), waitingFor, serverText(m_buffer, kMaxQuotedStartBytes));
    case Status::TooMuchData:
        return QStringLiteral("the server sent over %1 without ending %2")
            .arg(formatBytes(m_limits.maxTotalBytes), waitingFor);
    case Status::Cancelled: return QStringLiteral("the check was cancelled");
    case Status::SocketError:
        return QStringLiteral("reading %1 failed: %2").arg(waitingFor, QString::fromLocal8Bit(std::strerror(m_errno)));
    }
    return QString();
}

namespace {

// A reply with a three-digit code, as SMTP and FTP send them ("250-first", ..., "250 last").
struct CodedReply {
    int code = -1; // -1: not a reply (the first line has no code); `lines` holds what came
    bool valid = true; // false: a line broke the grammar; it is the last of `lines`
    QList<QByteArray> lines; // whole lines as received
    QList<QByteArray> texts; // each line without its "250-" prefix

    QString quoted() const { return quoteLines(lines); }
};

enum class CodedGrammar { Smtp, Ftp };

// RFC 5321 4.2: Reply-code [ ("-" / SP) textstring ], the code %x32-35 %x30-35 %x30-39 and the text
// printable ASCII or TAB. FTP (RFC 959 4.2) codes start with 1-5 and say nothing of the text.
// Bytes above 0x7f are let through for both: SMTPUTF8 servers send UTF-8 text.
bool isCodedLine(const QByteArray& line, CodedGrammar grammar)
{
    if (line.size() < 3)
        return false;
    const auto digit = [&](qsizetype i, char low, char high) { return line[i] >= low && line[i] <= high; };
    const bool smtp = grammar == CodedGrammar::Smtp;
    if (!digit(0, smtp ? '2' : '1', '5') || !digit(1, '0', smtp ? '5' : '9') || !digit(2, '0', '9'))
        return false;
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-')
        return false;
    if (!smtp)
        return true;
    return std::none_of(line.begin() + 3, line.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\t') || u == 0x7f;
    });
}

// The protocol dialogues share their failure vocabulary; each returns nullopt when TLS may start.
class Dialogue {
public:
    Dialogue(PlainChannel& channel, const StartTlsRequest& request) : m_channel(channel), m_request(request) {}

    std::optional<Finding> run()
    {
        switch (m_request.protocol) {
        case StartTlsProtocol::None: return std::nullopt;
        case StartTlsProtocol::Smtp: return smtp();
        case StartTlsProtocol::Imap: return imap();
        case StartTlsProtocol::Pop3: return pop3();
        case StartTlsProtocol::Ftp: return ftp();
        case StartTlsProtocol::Ldap: return ldap();
        case StartTlsProtocol::Xmpp:
        case StartTlsProtocol::XmppServer: return xmpp();
        case StartTlsProtocol::Postgres: return postgres();
        case StartTlsProtocol::Sieve: return sieve();
        }
        return std::nullopt;
    }

private:
    QString protocolLabel() const
    {
        switch (m_request.protocol) {
        case StartTlsProtocol::Smtp: return QStringLiteral("SMTP");
        case StartTlsProtocol::Imap: return QStringLiteral("IMAP");
        case StartTlsProtocol::Pop3: return QStringLiteral("POP3");
        case StartTlsProtocol::Ftp: return QStringLiteral("FTP");
        case StartTlsProtocol::Ldap: return QStringLiteral("LDAP");
        case StartTlsProtocol::Xmpp: return QStringLiteral("XMPP");
        case StartTlsProtocol::XmppServer: return QStringLiteral("XMPP (server-to-server)");
        case StartTlsProtocol::Postgres: return QStringLiteral("PostgreSQL");
        case StartTlsProtocol::Sieve: return QStringLiteral("ManageSieve");
        case StartTlsProtocol::None: break;
        }
        return QString();
    }

    // The title is the probe's (TlsProbe names the step).
    Finding make(FindingCode code, const QString& message, const QString& fix, RemedyKind remedy = RemedyKind::None) const
    {
        return makeFinding(code, Severity::Error, QString(), m_request.subject, message, fix, {}, Remedy{remedy, {}, {}, {}});
    }

    // `remedy` CheckServerTlsFiles: the server itself said it cannot set up TLS (SMTP 454), so its
    // TLS files are the suspects (ServerCheck then compares them with the files on disk).
    Finding failed(const QString& message, const QString& fix = QString(), RemedyKind remedy = RemedyKind::None) const
    {
        return make(FindingCode::StartTlsFailed, QStringLiteral("%1 STARTTLS failed: %2").arg(protocolLabel(), message),
                    fix.isEmpty() ? QStringLiteral("Check that this port speaks %1 with STARTTLS, and the "
                                                   "server's TLS configuration and logs.")
                                        .arg(protocolLabel())
                                  : fix,
                    remedy);
    }

    Finding notOffered(const QString& message, const QString& fix) const
    {
        return make(FindingCode::StartTlsNotOffered, message, fix);
    }

    Finding channelProblem(PlainChannel::Status status, const QString& waitingFor) const
    {
        if (status == PlainChannel::Status::Cancelled)
            return Finding{}; // empty code: cancelled, not a problem of the server
        QString fix;
        if (status == PlainChannel::Status::LineTooLong || status == PlainChannel::Status::TooMuchData)
            fix = QStringLiteral("Check that this port runs %1; the server sent far more than a %1 server "
                                 "would before TLS.")
                      .arg(protocolLabel());
        else if (status == PlainChannel::Status::TimedOut || status == PlainChannel::Status::TotalTimedOut)
            fix = QStringLiteral("Check that this port runs %1 (an implicit-TLS port waits silently for the "
                                 "client; choose protocol \"none\" for it), or raise the timeouts for a slow "
                                 "server.")
                      .arg(protocolLabel());
        return failed(m_channel.explain(status, waitingFor), fix);
    }

    // A reply that breaks the protocol's grammar: named as such with what was received, so it is
    // never mistaken for a refusal (a well-formed "no") or for a server without STARTTLS.
    // `what`: "the server answered EHLO with", "the server's greeting was".
    Finding notAReply(const QString& what, const QList<QByteArray>& received, const QString& expected = QString()) const
    {
        return failed(QStringLiteral("%1 %2, which is not %3")
                          .arg(what, quoteLines(received), expected.isEmpty() ? replyNoun() : expected),
                      QStringLiteral("Check that this port runs %1: something else answered (another protocol, a "
                                     "TLS-only port, or a proxy or filter in between). The server's log may say more.")
                          .arg(protocolLabel()));
    }

    QString replyNoun() const
    {
        switch (m_request.protocol) {
        case StartTlsProtocol::Smtp: return QStringLiteral("an SMTP reply");
        case StartTlsProtocol::Imap: return QStringLiteral("an IMAP response");
        case StartTlsProtocol::Pop3: return QStringLiteral("a POP3 reply (+OK or -ERR)");
        case StartTlsProtocol::Ftp: return QStringLiteral("an FTP reply");
        case StartTlsProtocol::Ldap: return QStringLiteral("an LDAP message");
        case StartTlsProtocol::Xmpp:
        case StartTlsProtocol::XmppServer: return QStringLiteral("XMPP");
        case StartTlsProtocol::Postgres: return QStringLiteral("an answer to SSLRequest ('S' or 'N')");
        case StartTlsProtocol::Sieve: return QStringLiteral("a ManageSieve response");
        case StartTlsProtocol::None: break;
        }
        return QString();
    }

    // Reads an SMTP/FTP reply. FTP allows continuation lines without the code, so a multi-line reply
    // ends at the line starting with the first line's code and a space (or just the code). SMTP
    // doesn't: there every line carries the code, and the first line that breaks the grammar ends
    // the reply as not valid (rather than waiting for a timeout or a cap).
    PlainChannel::Status readCoded(CodedReply* reply, CodedGrammar grammar)
    {
        *reply = CodedReply{};
        QByteArray line;
        if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
            return s;
        reply->lines << line;
        if (!isCodedLine(line, grammar)) {
            reply->valid = false;
            reply->texts << line;
            return PlainChannel::Status::Ok; // code stays -1; the caller reports "not a reply"
        }
        reply->code = line.left(3).toInt();
        reply->texts << line.mid(4);
        if (line.size() < 4 || line[3] != '-')
            return PlainChannel::Status::Ok;
        const QByteArray codePrefix = line.left(3);
        // Bounded by the channel: every line counts against its byte cap and the step deadline.
        for (;;) {
            if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
                return s;
            reply->lines << line;
            const bool coded = line.startsWith(codePrefix) && isCodedLine(line, grammar);
            if (grammar == CodedGrammar::Smtp && !coded) {
                reply->valid = false;
                return PlainChannel::Status::Ok;
            }
            reply->texts << (coded ? line.mid(4) : line);
            if (coded && (line.size() == 3 || line[3] == ' '))
                return PlainChannel::Status::Ok;
        }
    }

    std::optional<Finding> smtp()
    {
        CodedReply reply;
        if (auto s = readCoded(&reply, CodedGrammar::Smtp); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its greeting"));
        if (!reply.valid)
            return notAReply(QStringLiteral("the server's greeting was"), reply.lines);
        if (reply.code != 220)
            return failed(QStringLiteral("the server refused the session: %1").arg(reply.quoted()));

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("EHLO " + m_request.clientName.toLatin1()); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("EHLO"));
        if (auto s = readCoded(&reply, CodedGrammar::Smtp); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to EHLO"));
        if (!reply.valid)
            return notAReply(QStringLiteral("the server answered EHLO with"), reply.lines);
        if (reply.code != 250)
            return notOffered(QStringLiteral("The SMTP server rejected EHLO with %1, so it offers no extensions, "
                                             "STARTTLS included.")
                                  .arg(reply.quoted()),
                              QStringLiteral("Enable ESMTP and STARTTLS on the server."));
        QStringList offered;
        for (qsizetype i = 1; i < reply.texts.size(); ++i) // the first line is the server's name
            offered << QString::fromLatin1(reply.texts[i]).trimmed();
        const bool hasStartTls = std::any_of(offered.begin(), offered.end(), [](const QString& c) {
            return c.section(QLatin1Char(' '), 0, 0).compare(QLatin1String("STARTTLS"), Qt::CaseInsensitive) == 0;
        });
        if (!hasStartTls)
            return notOffered(
                QStringLiteral("The SMTP server doesn't offer STARTTLS. Its EHLO reply offered: %1.")
                    .arg(offered.isEmpty() ? QStringLiteral("no extensions") : offered.join(QStringLiteral(", "))),
                QStringLiteral("Enable STARTTLS on the server (Postfix: smtpd_tls_security_level = may; Exim: "
                               "tls_advertise_hosts = * with tls_certificate and tls_privatekey), and check "
                               "that no middlebox strips it from EHLO."));

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("STARTTLS"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("STARTTLS"));
        if (auto s = readCoded(&reply, CodedGrammar::Smtp); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to STARTTLS"));
        if (!reply.valid)
            return notAReply(QStringLiteral("the server answered STARTTLS with"), reply.lines);
        if (reply.code != 220)
            return failed(QStringLiteral("the server answered STARTTLS with %1").arg(reply.quoted()),
                          reply.code == 454
                              ? QStringLiteral("454 means the server couldn't set up TLS: check its TLS files "
                                               "and its log. Exim with GnuTLS answers 454 to everyone when its "
                                               "tls_ocsp_file doesn't match its certificate.")
                              : QString(),
                          reply.code == 454 ? RemedyKind::CheckServerTlsFiles : RemedyKind::None);
        return std::nullopt;
    }

    static QStringList words(const QByteArray& text) { return QString::fromLatin1(text).split(QLatin1Char(' '), Qt::SkipEmptyParts); }

    static bool containsWord(const QStringList& list, const QString& word)
    {
        return std::any_of(list.begin(), list.end(),
                           [&](const QString& w) { return w.compare(word, Qt::CaseInsensitive) == 0; });
    }

    // True when `line` starts with `word` as a whole word (case-insensitive): "OK", "OK text".
    static bool startsWithWord(const QByteArray& line, const QByteArray& word)
    {
        return line.size() >= word.size() && line.left(word.size()).compare(word, Qt::CaseInsensitive) == 0
            && (line.size() == word.size() || line[word.size()] == ' ');
    }

    // Reads IMAP lines until the tagged completion; returns it and collects untagged CAPABILITY words.
    // A line that is neither untagged ("* "), a continuation request ("+") nor our tag with OK, NO
    // or BAD breaks RFC 3501's grammar: it ends the read in `*bad`.
    PlainChannel::Status readImapTagged(const QByteArray& tag, QByteArray* completion, QStringList* capabilities,
                                        std::optional<QByteArray>* bad)
    {
        // Bounded by the channel: every line counts against its byte cap and the step deadline.
        for (;;) {
            QByteArray line;
            if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
                return s;
            if (line.startsWith(tag + ' ')) {
                *completion = line.mid(tag.size() + 1);
                if (!startsWithWord(*completion, "OK") && !startsWithWord(*completion, "NO")
                    && !startsWithWord(*completion, "BAD"))
                    *bad = line;
                return PlainChannel::Status::Ok;
            }
            if (line.toUpper().startsWith("* CAPABILITY "))
                *capabilities << words(line.mid(13));
            else if (!line.startsWith("* ") && !line.startsWith('+')) {
                *bad = line;
                return PlainChannel::Status::Ok;
            }
        }
    }

    std::optional<Finding> imap()
    {
        QByteArray line;
        if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its greeting"));
        // RFC 3501 7.1: the greeting is an untagged OK, PREAUTH or BYE.
        if (line.startsWith("* ") && startsWithWord(line.mid(2), "BYE"))
            return failed(QStringLiteral("the server refused the session: \"%1\"").arg(serverText(line, kMaxServerTextBytes)));
        if (!line.startsWith("* ") || (!startsWithWord(line.mid(2), "OK") && !startsWithWord(line.mid(2), "PREAUTH")))
            return notAReply(QStringLiteral("the server's greeting was"), {line},
                             QStringLiteral("an IMAP greeting (* OK, * PREAUTH or * BYE)"));

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("a1 CAPABILITY"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("CAPABILITY"));
        QByteArray completion;
        QStringList capabilities;
        std::optional<QByteArray> bad;
        if (auto s = readImapTagged("a1", &completion, &capabilities, &bad); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to CAPABILITY"));
        if (bad)
            return notAReply(QStringLiteral("the server answered CAPABILITY with"), {*bad});
        if (startsWithWord(completion, "OK") && !containsWord(capabilities, QStringLiteral("STARTTLS")))
            return notOffered(QStringLiteral("The IMAP server doesn't offer STARTTLS. Its capabilities: %1.")
                                  .arg(capabilities.join(QLatin1Char(' '))),
                              QStringLiteral("Enable STARTTLS on the server (Dovecot: ssl = yes with "
                                             "ssl_cert and ssl_key), or use implicit TLS on port 993."));

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("a2 STARTTLS"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("STARTTLS"));
        if (auto s = readImapTagged("a2", &completion, &capabilities, &bad); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to STARTTLS"));
        if (bad)
            return notAReply(QStringLiteral("the server answered STARTTLS with"), {*bad});
        if (!startsWithWord(completion, "OK"))
            return failed(QStringLiteral("the server answered STARTTLS with \"a2 %1\"").arg(serverText(completion, kMaxServerTextBytes)));
        return std::nullopt;
    }

    // RFC 1939 3: a POP3 reply starts with the status indicator "+OK" or "-ERR" as a word.
    enum class Pop3Status { Ok, Err, Invalid };
    static Pop3Status pop3Status(const QByteArray& line)
    {
        if (line == "+OK" || line.startsWith("+OK "))
            return Pop3Status::Ok;
        if (line == "-ERR" || line.startsWith("-ERR "))
            return Pop3Status::Err;
        return Pop3Status::Invalid;
    }

    std::optional<Finding> pop3()
    {
        QByteArray line;
        if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its greeting"));
        switch (pop3Status(line)) {
        case Pop3Status::Ok: break;
        case Pop3Status::Err:
            return failed(QStringLiteral("the server refused the session: \"%1\"").arg(serverText(line, kMaxServerTextBytes)));
        case Pop3Status::Invalid: return notAReply(QStringLiteral("the server's greeting was"), {line});
        }

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("CAPA"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("CAPA"));
        if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to CAPA"));
        const Pop3Status capa = pop3Status(line);
        if (capa == Pop3Status::Invalid)
            return notAReply(QStringLiteral("the server answered CAPA with"), {line});
        if (capa == Pop3Status::Ok) {
            QStringList capabilities;
            // Bounded by the channel: every line counts against its byte cap and the step deadline.
            for (;;) {
                if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
                    return channelProblem(s, QStringLiteral("its capability list"));
                if (line == ".")
                    break;
                capabilities << QString::fromLatin1(line).trimmed();
            }
            const bool hasStls = std::any_of(capabilities.begin(), capabilities.end(), [](const QString& c) {
                return c.section(QLatin1Char(' '), 0, 0).compare(QLatin1String("STLS"), Qt::CaseInsensitive) == 0;
            });
            if (!hasStls)
                return notOffered(QStringLiteral("The POP3 server doesn't offer STLS. Its capabilities: %1.")
                                      .arg(capabilities.join(QStringLiteral(", "))),
                                  QStringLiteral("Enable STLS on the server, or use implicit TLS on port 995."));
        }
        // A server without CAPA (RFC 1939 only, -ERR to CAPA) may still know STLS: just try it.

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("STLS"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("STLS"));
        if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to STLS"));
        switch (pop3Status(line)) {
        case Pop3Status::Ok: return std::nullopt;
        case Pop3Status::Err:
            return failed(QStringLiteral("the server answered STLS with \"%1\"").arg(serverText(line, kMaxServerTextBytes)));
        case Pop3Status::Invalid: return notAReply(QStringLiteral("the server answered STLS with"), {line});
        }
        return std::nullopt;
    }

    std::optional<Finding> ftp()
    {
        CodedReply reply;
        if (auto s = readCoded(&reply, CodedGrammar::Ftp); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its greeting"));
        if (!reply.valid)
            return notAReply(QStringLiteral("the server's greeting was"), reply.lines);
        if (reply.code != 220)
            return failed(QStringLiteral("the server isn't ready: %1").arg(reply.quoted()));

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("AUTH TLS"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("AUTH TLS"));
        if (auto s = readCoded(&reply, CodedGrammar::Ftp); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to AUTH TLS"));
        if (!reply.valid)
            return notAReply(QStringLiteral("the server answered AUTH TLS with"), reply.lines);
        if (reply.code == 500 || reply.code == 502 || reply.code == 504)
            return notOffered(QStringLiteral("The FTP server doesn't support AUTH TLS: it answered %1.").arg(reply.quoted()),
                              QStringLiteral("Enable explicit FTPS on the server (vsftpd: ssl_enable=YES; "
                                             "ProFTPD: TLSEngine on)."));
        if (reply.code != 234)
            return failed(QStringLiteral("the server answered AUTH TLS with %1").arg(reply.quoted()));
        return std::nullopt;
    }

    // LDAP StartTLS is an ExtendedRequest (RFC 4511 4.14) in BER; small enough to write by hand.
    static QByteArray ldapStartTlsRequest()
    {
        const QByteArray oid = "1.3.6.1.4.1.1466.20037";
        QByteArray requestName = QByteArray(1, char(0x80)) + char(oid.size()) + oid; // [0] LDAPOID
        QByteArray op = QByteArray(1, char(0x77)) + char(requestName.size()) + requestName; // [APPLICATION 23]
        QByteArray body = QByteArray("\x02\x01\x01", 3) + op; // messageID 1
        return QByteArray(1, char(0x30)) + char(body.size()) + body;
    }

    static QString ldapResultName(int code)
    {
        switch (code) {
        case 0: return QStringLiteral("success");
        case 1: return QStringLiteral("operationsError");
        case 2: return QStringLiteral("protocolError");
        case 51: return QStringLiteral("busy");
        case 52: return QStringLiteral("unavailable");
        case 53: return QStringLiteral("unwillingToPerform");
        case 80: return QStringLiteral("other");
        default: return QStringLiteral("result %1").arg(code);
        }
    }

    // One BER element at `pos` of `data`: tag, and the content's range. False when malformed.
    static bool berElement(const QByteArray& data, qsizetype& pos, int* tag, QByteArray* content)
    {
        if (pos + 2 > data.size())
            return false;
        *tag = static_cast<unsigned char>(data[pos]);
        qsizetype len = static_cast<unsigned char>(data[pos + 1]);
        pos += 2;
        if (len & 0x80) {
            const int n = len & 0x7f;
            if (n == 0 || n > 3 || pos + n > data.size())
                return false;
            len = 0;
            for (int i = 0; i < n; ++i)
                len = (len << 8) | static_cast<unsigned char>(data[pos++]);
        }
        if (pos + len > data.size())
            return false;
        *content = data.mid(pos, len);
        pos += len;
        return true;
    }

    std::optional<Finding> ldap()
    {
        m_channel.note(QStringLiteral("C: LDAP ExtendedRequest StartTLS (1.3.6.1.4.1.1466.20037), messageID 1"));
        if (auto s = m_channel.send(ldapStartTlsRequest()); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("the StartTLS request"));

        // The LDAPMessage envelope: SEQUENCE with a definite length, short or long form.
        QByteArray head;
        if (auto s = m_channel.readExact(2, &head); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its StartTLS response"));
        if (static_cast<unsigned char>(head[0]) != 0x30)
            return notAReply(QStringLiteral("the server answered the StartTLS request with"), {head + m_channel.peek(kMaxQuotedStartBytes)});
        qsizetype length = static_cast<unsigned char>(head[1]);
        if (length & 0x80) {
            const int n = length & 0x7f;
            QByteArray lengthBytes;
            if (n == 0 || n > 3)
                return notAReply(QStringLiteral("the server answered the StartTLS request with"), {head + m_channel.peek(kMaxQuotedStartBytes)},
                                 QStringLiteral("an LDAP message (its BER length takes 1 to 3 bytes)"));
            if (auto s = m_channel.readExact(n, &lengthBytes); s != PlainChannel::Status::Ok)
                return channelProblem(s, QStringLiteral("its StartTLS response"));
            length = 0;
            for (char c : lengthBytes)
                length = (length << 8) | static_cast<unsigned char>(c);
        }
        // readExact is bounded by the channel's total cap, so a huge length can't make us allocate.
        QByteArray body;
        if (auto s = m_channel.readExact(length, &body); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its StartTLS response"));

        qsizetype pos = 0;
        int tag = 0;
        QByteArray messageId, op;
        if (!berElement(body, pos, &tag, &messageId) || tag != 0x02 || !berElement(body, pos, &tag, &op)
            || tag != 0x78)
            return notAReply(QStringLiteral("the server answered the StartTLS request with an LDAP message holding"),
                             {body.left(kMaxQuotedStartBytes)}, QStringLiteral("an LDAP ExtendedResponse"));
        const bool noticeOfDisconnection = messageId == QByteArray(1, '\0');
        qsizetype opPos = 0;
        QByteArray resultCode, matchedDn, diagnostic;
        if (!berElement(op, opPos, &tag, &resultCode) || tag != 0x0a || resultCode.isEmpty()
            || !berElement(op, opPos, &tag, &matchedDn) || !berElement(op, opPos, &tag, &diagnostic))
            return notAReply(QStringLiteral("the server answered the StartTLS request with an ExtendedResponse holding"),
                             {op.left(kMaxQuotedStartBytes)}, QStringLiteral("a well-formed LDAPResult"));
        int code = 0;
        for (char c : resultCode)
            code = (code << 8) | static_cast<unsigned char>(c);
        m_channel.note(QStringLiteral("S: LDAP ExtendedResponse, resultCode %1 (%2)%3")
                           .arg(code)
                           .arg(ldapResultName(code),
                                diagnostic.isEmpty() ? QString() : QStringLiteral(": ") + serverText(diagnostic, kMaxServerTextBytes)));
        const QString detail = QStringLiteral("%1 (%2)%3").arg(code).arg(
            ldapResultName(code), diagnostic.isEmpty() ? QString() : QStringLiteral(", \"%1\"").arg(serverText(diagnostic, kMaxServerTextBytes)));
        if (noticeOfDisconnection)
            return failed(QStringLiteral("the server disconnected us: %1").arg(detail));
        if (code == 2) // RFC 4511: protocolError is the answer to an unsupported extended operation
            return notOffered(QStringLiteral("The LDAP server doesn't support StartTLS: it answered %1.").arg(detail),
                              QStringLiteral("Configure a certificate on the LDAP server (OpenLDAP: "
                                             "olcTLSCertificateFile and olcTLSCertificateKeyFile), or use LDAPS "
                                             "on port 636."));
        if (code != 0)
            return failed(QStringLiteral("the server answered StartTLS with resultCode %1").arg(detail));
        return std::nullopt;
    }

    static QByteArray xmlEscape(const QString& text)
    {
        return text.toHtmlEscaped().replace(QLatin1Char('\''), QStringLiteral("&apos;")).toUtf8();
    }

    std::optional<Finding> xmpp()
    {
        const bool server = m_request.protocol == StartTlsProtocol::XmppServer;
        const QByteArray header = "<?xml version='1.0'?><stream:stream to='" + xmlEscape(m_request.xmppDomain)
            + "' xmlns='" + (server ? "jabber:server" : "jabber:client")
            + "' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
        m_channel.note(QStringLiteral("C: ") + QString::fromUtf8(header));
        if (auto s = m_channel.send(header); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("the stream header"));

        // Not an XML parser: the features element is small and servers write it the same way, so
        // scanning for its end (or for a stream error) is enough to decide. What doesn't start with
        // '<' is not XML at all, and waiting for more of it would only end in a timeout.
        static const QRegularExpression emptyFeatures(QStringLiteral("<stream:features[^>]*/>"));
        const auto notXml = [](const QByteArray& b) {
            const QByteArray start = b.trimmed();
            return !start.isEmpty() && !start.startsWith('<');
        };
        const auto featuresDone = [&notXml](const QByteArray& b) {
            return notXml(b) || b.contains("</stream:features>") || b.contains("</stream:error>")
                || b.contains("</stream:stream>") || emptyFeatures.match(QString::fromUtf8(b)).hasMatch();
        };
        QByteArray received;
        if (auto s = m_channel.readUntil(featuresDone, &received); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its stream features"));
        m_channel.note(QStringLiteral("S: ") + serverText(received, 1000));
        if (notXml(received))
            return notAReply(QStringLiteral("the server answered the stream header with"),
                             {received.left(kMaxQuotedLineBytes)}, QStringLiteral("XMPP (XML)"));
        if (received.contains("<stream:error"))
            return failed(QStringLiteral("the server sent a stream error: \"%1\"")
                              .arg(serverText(received.mid(received.indexOf("<stream:error")), kMaxServerTextBytes)));
        if (!received.contains("<starttls"))
            return notOffered(QStringLiteral("The XMPP server doesn't offer STARTTLS in its stream features for "
                                             "the domain \"%1\".")
                                  .arg(m_request.xmppDomain),
                              QStringLiteral("Check that the server hosts this XMPP domain (the probe sends it "
                                             "as to=; set the server name to the XMPP domain if it differs from "
                                             "the host) and that TLS is configured for it."));

        const QByteArray starttls = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
        m_channel.beginStep();
        m_channel.note(QStringLiteral("C: ") + QString::fromUtf8(starttls));
        if (auto s = m_channel.send(starttls); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("<starttls/>"));
        const auto answered = [&notXml](const QByteArray& b) {
            if (notXml(b))
                return true;
            for (const char* element : {"<proceed", "<failure", "<stream:error"}) {
                const qsizetype at = b.indexOf(element);
                if (at >= 0 && b.indexOf('>', at) >= 0)
                    return true;
            }
            return b.contains("</stream:stream>");
        };
        if (auto s = m_channel.readUntil(answered, &received); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its answer to <starttls/>"));
        m_channel.note(QStringLiteral("S: ") + serverText(received, 1000));
        if (received.contains("<proceed"))
            return std::nullopt;
        // RFC 6120 5.4.2.2: <failure/> (or a stream error) is the server's well-formed "no".
        if (received.contains("<failure") || received.contains("<stream:error") || received.contains("</stream:stream>"))
            return failed(QStringLiteral("the server answered <starttls/> with \"%1\"").arg(serverText(received, kMaxServerTextBytes)));
        return notAReply(QStringLiteral("the server answered <starttls/> with"), {received.left(kMaxQuotedLineBytes)},
                         QStringLiteral("<proceed/> or <failure/>"));
    }

    std::optional<Finding> postgres()
    {
        // SSLRequest: length 8, then the magic code 80877103 (1234 << 16 | 5679), both big-endian.
        static const QByteArray sslRequest("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
        m_channel.note(QStringLiteral("C: PostgreSQL SSLRequest"));
        if (auto s = m_channel.send(sslRequest); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("the SSLRequest"));
        QByteArray answer;
        if (auto s = m_channel.readExact(1, &answer); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its answer to SSLRequest"));
        m_channel.note(QStringLiteral("S: '%1'").arg(serverText(answer, kMaxServerTextBytes)));
        if (answer == "S")
            return std::nullopt;
        if (answer == "N")
            return notOffered(QStringLiteral("The PostgreSQL server declined SSL ('N' to SSLRequest)."),
                              QStringLiteral("Set ssl = on with ssl_cert_file and ssl_key_file in "
                                             "postgresql.conf."));
        return failed(QStringLiteral("the server answered SSLRequest with '%1' instead of 'S' or 'N'")
                          .arg(serverText(answer, kMaxServerTextBytes)));
    }

    // ManageSieve (RFC 5804) responses end with a line starting OK, NO or BYE; the lines before it
    // are capabilities, quoted strings or literals ({n} and the next line). Anything else breaks
    // the grammar and ends the read in `*bad`.
    PlainChannel::Status readSieveResponse(QStringList* capabilities, QByteArray* status,
                                           std::optional<QByteArray>* bad)
    {
        bool literalFollows = false;
        // Bounded by the channel: every line counts against its byte cap and the step deadline.
        for (;;) {
            QByteArray line;
            if (auto s = m_channel.readLine(&line); s != PlainChannel::Status::Ok)
                return s;
            if (literalFollows) {
                literalFollows = false;
                continue;
            }
            if (startsWithWord(line, "OK") || startsWithWord(line, "NO") || startsWithWord(line, "BYE")) {
                *status = line;
                return PlainChannel::Status::Ok;
            }
            if (line.startsWith('"'))
                *capabilities << QString::fromLatin1(line.mid(1, line.indexOf('"', 1) - 1));
            else if (line.startsWith('{') && line.endsWith('}'))
                literalFollows = true;
            else {
                *bad = line;
                return PlainChannel::Status::Ok;
            }
        }
    }

    std::optional<Finding> sieve()
    {
        QStringList capabilities;
        QByteArray status;
        std::optional<QByteArray> bad;
        if (auto s = readSieveResponse(&capabilities, &status, &bad); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its capability greeting"));
        if (bad)
            return notAReply(QStringLiteral("the server's greeting held"), {*bad});
        if (!status.toUpper().startsWith("OK"))
            return failed(QStringLiteral("the server's greeting ended with \"%1\"").arg(serverText(status, kMaxServerTextBytes)));
        if (!containsWord(capabilities, QStringLiteral("STARTTLS")))
            return notOffered(QStringLiteral("The ManageSieve server doesn't offer STARTTLS. Its capabilities: %1.")
                                  .arg(capabilities.join(QStringLiteral(", "))),
                              QStringLiteral("Configure TLS for the ManageSieve service (Dovecot: ssl = yes)."));

        m_channel.beginStep();
        if (auto s = m_channel.sendLine("STARTTLS"); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("STARTTLS"));
        QStringList ignored;
        if (auto s = readSieveResponse(&ignored, &status, &bad); s != PlainChannel::Status::Ok)
            return channelProblem(s, QStringLiteral("its reply to STARTTLS"));
        if (bad)
            return notAReply(QStringLiteral("the server answered STARTTLS with"), {*bad});
        if (!status.toUpper().startsWith("OK"))
            return failed(QStringLiteral("the server answered STARTTLS with \"%1\"").arg(serverText(status, kMaxServerTextBytes)));
        return std::nullopt;
    }

    PlainChannel& m_channel;
    const StartTlsRequest& m_request;
};

} // namespace

std::optional<Finding> negotiateStartTls(PlainChannel& channel, const StartTlsRequest& request)
{
    std::optional<Finding> result = Dialogue(channel, request).run();
    if (!result && channel.pendingBytes() > 0)
        // Bytes after the go-ahead would be read as TLS; a server that sends them is broken or
        // something in between injected them. OpenSSL never sees them: they stay in our buffer.
        channel.note(QStringLiteral("(%1 unexpected bytes after the go-ahead were discarded)").arg(channel.pendingBytes()));
    return result;
}

} // namespace staplescope
