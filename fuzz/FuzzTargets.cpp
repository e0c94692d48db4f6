#include "FuzzTargets.h"

#include "FuzzPki.h"

#include "Analyzer.h"
#include "Inspection.h"
#include "ReportFormat.h"
#include "ServerCheck.h"
#include "StartTls.h"

#include <QFile>
#include <QTemporaryDir>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace staplescope::fuzz {

namespace {

// Every report format: each escapes hostile text its own way.
void render(const InspectionReport& report)
{
    (void)reportToText(report, false);
    (void)reportToText(report, true);
    (void)reportToMarkdown(report);
    (void)reportToHtml(report);
    (void)reportToJsonBytes(report);
    for (const Finding& f : report.allFindings())
        (void)findingToText(f);
}

struct ParsedPki {
    Certificate root, leaf, responder;
};

const ParsedPki& parsedPki()
{
    static const ParsedPki parsed = [] {
        const FuzzPki& pki = fuzzPki();
        return ParsedPki{Certificate::fromDer(pki.root.certDer(), {QStringLiteral("root.pem")}),
                         Certificate::fromDer(pki.leaf.certDer(), {QStringLiteral("cert.pem")}),
                         Certificate::fromDer(pki.responder.certDer(), {QStringLiteral("responder.pem")})};
    }();
    return parsed;
}

// Owns the two ends of a socket pair: the fuzz input is the "server" end's whole output.
class SocketPair {
public:
    SocketPair()
    {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, m_fd) != 0)
            m_fd[0] = m_fd[1] = -1;
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;
    ~SocketPair()
    {
        for (int fd : m_fd)
            if (fd >= 0)
                ::close(fd);
    }
    bool isValid() const { return m_fd[0] >= 0; }
    int client() const { return m_fd[0]; }
    int server() const { return m_fd[1]; }

private:
    int m_fd[2];
};

constexpr StartTlsProtocol kStartTlsProtocols[] = {
    StartTlsProtocol::Smtp,       StartTlsProtocol::Imap,     StartTlsProtocol::Pop3,
    StartTlsProtocol::Ftp,        StartTlsProtocol::Ldap,     StartTlsProtocol::Xmpp,
    StartTlsProtocol::XmppServer, StartTlsProtocol::Postgres, StartTlsProtocol::Sieve,
};
constexpr int kStartTlsProtocolCount = int(sizeof kStartTlsProtocols / sizeof kStartTlsProtocols[0]);

// More than PlainChannel's default 64 KiB total cap, so the cap itself is reached; and what a
// socket pair buffers without a reader, so writing the input never blocks.
constexpr qsizetype kMaxServerBytes = 96 * 1024;

// fuzzServed: more certificates than a real chain, fewer than would make one input slow.
constexpr int kMaxServedCertificates = 7;

} // namespace

void fuzzLoader(const QByteArray& data)
{
    // A file, as `staplescope-cli inspect FILE` reads it: the file path is part of the code under
    // test (sniffing, naming, folder handling). The folder is removed at exit.
    static QTemporaryDir dir;
    static const QString caFile = [] {
        const QString path = dir.filePath(QStringLiteral("fuzz-root.pem"));
        QFile f(path);
        if (f.open(QIODevice::WriteOnly))
            f.write(fuzzPki().root.certPem());
        return path;
    }();
    const QString path = dir.filePath(QStringLiteral("input"));
    {
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(data) != data.size())
            qFatal("fuzz_loader: cannot write %s", qPrintable(path));
    }
    InspectRequest request;
    request.files.paths = {path};
    request.caFiles = {caFile};
    request.useSystemTrust = false; // the machine's store would make runs differ, and it is slow
    // The seed PKCS#12 and encrypted keys use this password, so their contents are reached too.
    request.load.passwordProvider = [](const QString&) -> std::optional<QString> {
        return QStringLiteral("fuzz");
    };
    request.analysis.at = fuzzNow();
    render(inspect(request));
}

void fuzzOcsp(const QByteArray& data)
{
    const ParsedPki& pki = parsedPki();
    const OcspStaple::ParseResult parsed =
        OcspStaple::fromDer(data, SourceLocation{QStringLiteral("ocsp.der")});
    if (parsed.staple.isNull())
        return;
    const OcspStaple& staple = parsed.staple;
    (void)staple.id();
    (void)staple.responseStatusName();
    if (staple.isSuccessful()) {
        (void)staple.producedAt();
        (void)staple.responderId();
        (void)staple.responderName();
        (void)staple.responderKeyHash();
        (void)staple.signatureAlgorithm();
        for (const OcspSingleResponse& single : staple.responses()) {
            (void)single.certId.serialHex();
            (void)single.certId.matches(pki.leaf, pki.root);
            (void)single.certId.matches(pki.root, pki.leaf);
            (void)single.certId.issuerKeyMatches(pki.responder);
            (void)ocspStatusName(single.status);
        }
        for (const Certificate& signer : {pki.root, pki.responder, pki.leaf}) {
            (void)staple.isResponder(signer);
            (void)staple.verifySignature(signer);
        }
        for (const Certificate& embedded : staple.embeddedCertificates()) {
            (void)staple.isResponder(embedded);
            (void)staple.verifySignature(embedded);
        }
    }
    (void)staple.textDump();

    // The staple rules: the response stapled to the fixed leaf, attached each way the bundler can.
    TrustStore trust(false);
    trust.addCertificate(pki.root);
    Bundle bundle;
    bundle.id = pki.leaf.id();
    bundle.origin = QStringLiteral("fuzz");
    bundle.leaf = pki.leaf;
    bundle.chain = {pki.root};
    bundle.chainAsGiven = {pki.root};
    bundle.responderCertificates = {pki.responder};
    bundle.knownCertificates = {pki.leaf, pki.root, pki.responder};
    const auto attachment =
        static_cast<StapleAttachment>(data.isEmpty() ? 0 : static_cast<unsigned char>(data.back()) % 5);
    bundle.staples = {AttachedStaple{staple, attachment}};
    AnalysisOptions options;
    options.at = fuzzNow();
    options.trust = &trust;
    for (const Finding& f : Analyzer().analyze(bundle, options))
        (void)findingToText(f);
}

QString startTlsFuzzProtocol(unsigned char firstByte)
{
    return startTlsProtocolName(kStartTlsProtocols[firstByte % kStartTlsProtocolCount]);
}

void fuzzStartTls(const QByteArray& data)
{
    if (data.isEmpty())
        return;
    SocketPair pair;
    if (!pair.isValid())
        qFatal("fuzz_starttls: socketpair failed");
    // Buffers big enough for the whole input, written before the dialogue starts: the server has
    // said everything at once (as a pipelining or hostile server may), then closed its side.
    const int bufferSize = int(2 * kMaxServerBytes);
    ::setsockopt(pair.server(), SOL_SOCKET, SO_SNDBUF, &bufferSize, sizeof bufferSize);
    ::setsockopt(pair.client(), SOL_SOCKET, SO_RCVBUF, &bufferSize, sizeof bufferSize);
    ::fcntl(pair.server(), F_SETFL, O_NONBLOCK);
    ::fcntl(pair.client(), F_SETFL, O_NONBLOCK);
    const QByteArray server = data.mid(1, kMaxServerBytes);
    qsizetype written = 0;
    while (written < server.size()) {
        const ssize_t n = ::send(pair.server(), server.constData() + written, size_t(server.size() - written),
                                 MSG_NOSIGNAL);
        if (n <= 0)
            break; // the buffer is full: the rest is as if the server never sent it
        written += n;
    }
    ::shutdown(pair.server(), SHUT_WR);

    StartTlsRequest request;
    request.protocol = kStartTlsProtocols[static_cast<unsigned char>(data[0]) % kStartTlsProtocolCount];
    request.xmppDomain = QStringLiteral("example.test");
    request.clientName = QStringLiteral("staplescope.invalid");
    request.subject = QStringLiteral("mail.example.test:25 [127.0.0.1]");
    QStringList transcript;
    // The deadlines never run out: every read ends in data or end of stream at once.
    PlainChannel channel(pair.client(), PlainChannel::Limits{},
                         std::chrono::steady_clock::now() + std::chrono::seconds(30), nullptr, &transcript);
    if (const std::optional<Finding> finding = negotiateStartTls(channel, request))
        (void)findingToText(*finding);
}

QByteArray servedInput(const QList<QByteArray>& chainDer, const QByteArray& stapleDer)
{
    QByteArray out(1, char(chainDer.size()));
    for (const QByteArray& der : chainDer) {
        out += char((der.size() >> 8) & 0xff);
        out += char(der.size() & 0xff);
        out += der;
    }
    return out + stapleDer;
}

void fuzzServed(const QByteArray& data)
{
    if (data.isEmpty())
        return;
    ProbeResult result;
    result.host = QStringLiteral("www.example.test");
    result.port = 443;
    result.address = QStringLiteral("127.0.0.1");
    result.serverName = result.host;
    result.connected = true;
    result.tlsEstablished = true;
    result.stapleRequested = true;
    const int count = static_cast<unsigned char>(data[0]) % (kMaxServedCertificates + 1);
    qsizetype pos = 1;
    for (int i = 0; i < count && pos + 2 <= data.size(); ++i) {
        const qsizetype length = (qsizetype(static_cast<unsigned char>(data[pos])) << 8) |
                                 static_cast<unsigned char>(data[pos + 1]);
        pos += 2;
        result.chainDer << data.mid(pos, length);
        pos = std::min(pos + length, data.size());
    }
    result.stapleDer = data.mid(pos);

    auto trust = std::make_shared<TrustStore>(false);
    trust->addCertificate(parsedPki().root);
    QList<Finding> findings;
    QList<Bundle> bundles;
    if (std::optional<Bundle> bundle = bundleFromProbe(result, trust.get(), &findings))
        bundles << *bundle;
    AnalysisOptions options;
    options.at = fuzzNow();
    render(InspectionSession::fromBundles(bundles, findings, trust)->evaluate(options));
}

const QList<Target>& targets()
{
    static const QList<Target> all = {
        {"loader", fuzzLoader},
        {"ocsp", fuzzOcsp},
        {"starttls", fuzzStartTls},
        {"served", fuzzServed},
    };
    return all;
}

} // namespace staplescope::fuzz
