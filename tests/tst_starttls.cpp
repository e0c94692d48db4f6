// The STARTTLS dialogues and the probe's bounds, against an in-process server on 127.0.0.1 that
// plays each protocol (and a few hostile servers). Fast: no external process.

#include "LivePki.h"
#include "LoopbackServer.h"
#include "StartTls.h"
#include "TextEscape.h"
#include "TlsProbe.h"

#include <QElapsedTimer>
#include <QTest>

#include <atomic>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(StartTlsProtocol)
Q_DECLARE_METATYPE(staplescope::test::Handler)

namespace {

struct DialogueOutcome {
    std::optional<Finding> finding;
    QStringList transcript;
    bool connected = false;
};

int connectTo(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    // The channel works on non-blocking sockets, as the probe gives it.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

DialogueOutcome runDialogue(StartTlsProtocol protocol, const Handler& handler, int stepMs = 2000)
{
    LoopbackServer server(handler);
    DialogueOutcome out;
    const quint16 port = server.start();
    if (!port)
        return out;
    const int fd = connectTo(port);
    if (fd < 0)
        return out;
    out.connected = true;
    PlainChannel::Limits limits;
    limits.stepTimeoutMs = stepMs;
    PlainChannel channel(fd, limits, std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr,
                         &out.transcript);
    StartTlsRequest request;
    request.protocol = protocol;
    request.clientName = "probe.example.test";
    request.xmppDomain = "example.test";
    request.subject = "127.0.0.1:" + QString::number(port);
    out.finding = negotiateStartTls(channel, request);
    ::close(fd);
    server.stop();
    return out;
}

// Handlers that play a server. Each reads the client's commands and checks them loosely.
Handler smtpServer(const QList<QByteArray>& ehloReply, const QByteArray& startTlsReply)
{
    return [=](Connection& c) {
        c.sendLine("220 mx.example.test ESMTP ready");
        auto ehlo = c.readLine();
        if (!ehlo || !ehlo->startsWith("EHLO "))
            return;
        for (const QByteArray& line : ehloReply)
            c.sendLine(line);
        auto starttls = c.readLine();
        if (!starttls || *starttls != "STARTTLS")
            return;
        c.sendLine(startTlsReply);
        c.drainUntilClosed(3000);
    };
}

// A server that sends `greeting` (raw bytes, line ends included), then answers each of the client's
// lines with the next of `answers` (raw bytes too), then waits for the client to go.
Handler scripted(const QByteArray& greeting, const QList<QByteArray>& answers)
{
    return [=](Connection& c) {
        if (!greeting.isEmpty() && !c.send(greeting))
            return;
        for (const QByteArray& answer : answers) {
            if (!c.readLine())
                return;
            if (!c.send(answer))
                return;
        }
        c.drainUntilClosed(3000);
    };
}

QByteArray ldapResponse(int resultCode, const QByteArray& diagnostic = {})
{
    QByteArray op = QByteArray("\x0a\x01", 2) + char(resultCode) + QByteArray("\x04\x00", 2) + char(0x04)
        + char(diagnostic.size()) + diagnostic;
    QByteArray body = QByteArray("\x02\x01\x01", 3) + char(0x78) + char(op.size()) + op;
    return QByteArray(1, char(0x30)) + char(body.size()) + body;
}

qint64 maxRssKiB()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

const QString kNotOffered = QStringLiteral("STARTTLS_NOT_OFFERED");
const QString kFailed = QStringLiteral("STARTTLS_FAILED");

} // namespace

class TestStartTls : public QObject {
    Q_OBJECT

private slots:
    void protocolNamesAndPorts();
    void dialogues_data();
    void dialogues();
    void malformedReplies_data();
    void malformedReplies();
    void smtp454NamesTheStapleFile();

    void silentServerTimesOut_data();
    void silentServerTimesOut();
    void garbageServer_data();
    void garbageServer();
    void hugeBannerIsBounded_data();
    void hugeBannerIsBounded();
    void endlessChainIsBounded();
    void cancelStopsQuickly();
    void connectionRefused();
    void notAnAddress();

    void probeCapturesChainAndStaple_data();
    void probeCapturesChainAndStaple();
    void probeAfterSmtpStartTls();
    void retriesWithoutStatusRequest();
    void probeManyKeepsOrder();
};

void TestStartTls::protocolNamesAndPorts()
{
    QCOMPARE(defaultStartTlsProtocol(25), StartTlsProtocol::Smtp);
    QCOMPARE(defaultStartTlsProtocol(587), StartTlsProtocol::Smtp);
    QCOMPARE(defaultStartTlsProtocol(143), StartTlsProtocol::Imap);
    QCOMPARE(defaultStartTlsProtocol(110), StartTlsProtocol::Pop3);
    QCOMPARE(defaultStartTlsProtocol(21), StartTlsProtocol::Ftp);
    QCOMPARE(defaultStartTlsProtocol(389), StartTlsProtocol::Ldap);
    QCOMPARE(defaultStartTlsProtocol(5222), StartTlsProtocol::Xmpp);
    QCOMPARE(defaultStartTlsProtocol(5269), StartTlsProtocol::XmppServer);
    QCOMPARE(defaultStartTlsProtocol(5432), StartTlsProtocol::Postgres);
    QCOMPARE(defaultStartTlsProtocol(4190), StartTlsProtocol::Sieve);
    for (quint16 implicit : {443, 465, 636, 853, 993, 995, 5061, 8443})
        QCOMPARE(defaultStartTlsProtocol(implicit), StartTlsProtocol::None);
    for (const QString& name : startTlsProtocolNames())
        QCOMPARE(startTlsProtocolName(*startTlsProtocolFromName(name.toUpper())), name);
    QVERIFY(!startTlsProtocolFromName(QStringLiteral("gopher")));
    // The well-known port of each protocol leads back to it (smtp://host without a port).
    for (const QString& name : startTlsProtocolNames()) {
        const StartTlsProtocol protocol = *startTlsProtocolFromName(name);
        QCOMPARE(defaultStartTlsProtocol(defaultStartTlsPort(protocol)), protocol);
    }
}

void TestStartTls::dialogues_data()
{
    QTest::addColumn<StartTlsProtocol>("protocol");
    QTest::addColumn<Handler>("server");
    QTest::addColumn<QString>("expectedCode"); // empty: ready for TLS
    QTest::addColumn<QString>("messagePart");

    QTest::newRow("smtp multi-line EHLO offers STARTTLS")
        << StartTlsProtocol::Smtp
        << smtpServer({"250-mx.example.test Hello", "250-SIZE 52428800", "250-8BITMIME", "250-PIPELINING",
                       "250-STARTTLS", "250 HELP"},
                      "220 TLS go ahead")
        << QString() << QString();
    QTest::newRow("smtp lowercase starttls in EHLO")
        << StartTlsProtocol::Smtp << smtpServer({"250-mx", "250 starttls"}, "220 2.0.0 Ready to start TLS")
        << QString() << QString();
    QTest::newRow("smtp without STARTTLS")
        << StartTlsProtocol::Smtp << smtpServer({"250-mx.example.test", "250-SIZE 1000", "250 HELP"}, "")
        << kNotOffered << QStringLiteral("SIZE 1000, HELP");
    QTest::newRow("smtp 454 after STARTTLS")
        << StartTlsProtocol::Smtp
        << smtpServer({"250-mx", "250 STARTTLS"}, "454 TLS currently unavailable") << kFailed
        << QStringLiteral("454 TLS currently unavailable");
    QTest::newRow("smtp EHLO rejected")
        << StartTlsProtocol::Smtp << Handler([](Connection& c) {
               c.sendLine("220 old.example.test SMTP");
               if (c.readLine())
                   c.sendLine("502 Command not implemented");
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("502 Command not implemented");
    QTest::newRow("smtp greeting 554")
        << StartTlsProtocol::Smtp << Handler([](Connection& c) {
               c.sendLine("554 no service for you");
               c.drainUntilClosed(3000);
           })
        << kFailed << QStringLiteral("refused the session");
    QTest::newRow("smtp multi-line greeting")
        << StartTlsProtocol::Smtp << Handler([](Connection& c) {
               c.sendLine("220-mx.example.test ESMTP");
               c.sendLine("220-no UCE");
               c.sendLine("220 ready");
               if (!c.readLine())
                   return;
               c.sendLine("250-mx");
               c.sendLine("250 STARTTLS");
               if (c.readLine())
                   c.sendLine("220 go ahead");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();

    QTest::newRow("imap")
        << StartTlsProtocol::Imap << Handler([](Connection& c) {
               c.sendLine("* OK [CAPABILITY IMAP4rev1 LITERAL+ STARTTLS LOGINDISABLED] Dovecot ready.");
               if (auto l = c.readLine(); !l || *l != "a1 CAPABILITY")
                   return;
               c.sendLine("* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ STARTTLS LOGINDISABLED");
               c.sendLine("a1 OK Pre-login capabilities listed, post-login capabilities have more.");
               if (auto l = c.readLine(); !l || *l != "a2 STARTTLS")
                   return;
               c.sendLine("a2 OK Begin TLS negotiation now.");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("imap without STARTTLS")
        << StartTlsProtocol::Imap << Handler([](Connection& c) {
               c.sendLine("* OK IMAP ready");
               if (!c.readLine())
                   return;
               c.sendLine("* CAPABILITY IMAP4rev1 AUTH=PLAIN");
               c.sendLine("a1 OK done");
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("IMAP4rev1 AUTH=PLAIN");
    QTest::newRow("imap STARTTLS refused")
        << StartTlsProtocol::Imap << Handler([](Connection& c) {
               c.sendLine("* OK IMAP ready");
               if (!c.readLine())
                   return;
               c.sendLine("* CAPABILITY IMAP4rev1 STARTTLS");
               c.sendLine("a1 OK done");
               if (c.readLine())
                   c.sendLine("a2 BAD TLS support isn't enabled");
               c.drainUntilClosed(3000);
           })
        << kFailed << QStringLiteral("a2 BAD TLS support isn't enabled");

    QTest::newRow("pop3")
        << StartTlsProtocol::Pop3 << Handler([](Connection& c) {
               c.sendLine("+OK Dovecot ready.");
               if (auto l = c.readLine(); !l || *l != "CAPA")
                   return;
               for (const char* l : {"+OK", "CAPA", "TOP", "UIDL", "STLS", "SASL", "."})
                   c.sendLine(l);
               if (auto l = c.readLine(); !l || *l != "STLS")
                   return;
               c.sendLine("+OK Begin TLS negotiation now.");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("pop3 without STLS")
        << StartTlsProtocol::Pop3 << Handler([](Connection& c) {
               c.sendLine("+OK ready");
               if (!c.readLine())
                   return;
               for (const char* l : {"+OK", "TOP", "UIDL", "."})
                   c.sendLine(l);
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("TOP, UIDL");

    QTest::newRow("ftp multi-line greeting")
        << StartTlsProtocol::Ftp << Handler([](Connection& c) {
               c.sendLine("220-Welcome to the test FTP");
               c.sendLine("   continuation without code");
               c.sendLine("220 ready");
               if (auto l = c.readLine(); !l || *l != "AUTH TLS")
                   return;
               c.sendLine("234 Proceed with negotiation.");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("ftp without AUTH TLS")
        << StartTlsProtocol::Ftp << Handler([](Connection& c) {
               c.sendLine("220 (vsFTPd 3.0.3)");
               if (c.readLine())
                   c.sendLine("530 Please login with USER and PASS.");
               c.drainUntilClosed(3000);
           })
        << kFailed << QStringLiteral("530 Please login");
    QTest::newRow("ftp 502")
        << StartTlsProtocol::Ftp << Handler([](Connection& c) {
               c.sendLine("220 ready");
               if (c.readLine())
                   c.sendLine("502 Command not implemented.");
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("AUTH TLS");

    QTest::newRow("ldap success")
        << StartTlsProtocol::Ldap << Handler([](Connection& c) {
               const QByteArray request = c.readSome();
               if (!request.contains("1.3.6.1.4.1.1466.20037"))
                   return;
               c.send(ldapResponse(0));
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("ldap protocolError")
        << StartTlsProtocol::Ldap << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send(ldapResponse(2, "unsupported extended operation"));
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("unsupported extended operation");
    QTest::newRow("ldap unavailable")
        << StartTlsProtocol::Ldap << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send(ldapResponse(52, "TLS not configured"));
               c.drainUntilClosed(3000);
           })
        << kFailed << QStringLiteral("unavailable");

    QTest::newRow("xmpp")
        << StartTlsProtocol::Xmpp << Handler([](Connection& c) {
               const QByteArray header = c.readSome();
               if (!header.contains("to='example.test'"))
                   return;
               c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' id='x1' from='example.test' version='1.0'>");
               c.send("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                      "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
                      "</mechanisms></stream:features>");
               if (!c.readSome().contains("<starttls"))
                   return;
               c.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("xmpp without starttls")
        << StartTlsProtocol::Xmpp << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features/>");
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("example.test");
    QTest::newRow("xmpp stream error")
        << StartTlsProtocol::Xmpp << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
                      "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
                      "</stream:stream>");
               c.drainUntilClosed(3000);
           })
        << kFailed << QStringLiteral("host-unknown");

    QTest::newRow("postgres S")
        << StartTlsProtocol::Postgres << Handler([](Connection& c) {
               if (c.readSome() != QByteArray("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8))
                   return;
               c.send("S");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("postgres N")
        << StartTlsProtocol::Postgres << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send("N");
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("declined SSL");

    QTest::newRow("sieve")
        << StartTlsProtocol::Sieve << Handler([](Connection& c) {
               for (const char* l : {"\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"", "\"SIEVE\" \"fileinto reject\"",
                                     "\"SASL\" \"\"", "\"STARTTLS\"", "\"VERSION\" \"1.0\"", "OK \"Dovecot ready.\""})
                   c.sendLine(l);
               if (auto l = c.readLine(); !l || *l != "STARTTLS")
                   return;
               c.sendLine("OK \"Begin TLS negotiation now.\"");
               c.drainUntilClosed(3000);
           })
        << QString() << QString();
    QTest::newRow("sieve without STARTTLS")
        << StartTlsProtocol::Sieve << Handler([](Connection& c) {
               for (const char* l : {"\"IMPLEMENTATION\" \"x\"", "\"SASL\" \"PLAIN\"", "OK \"ready\""})
                   c.sendLine(l);
               c.drainUntilClosed(3000);
           })
        << kNotOffered << QStringLiteral("IMPLEMENTATION, SASL");
}

void TestStartTls::dialogues()
{
    QFETCH(StartTlsProtocol, protocol);
    QFETCH(Handler, server);
    QFETCH(QString, expectedCode);
    QFETCH(QString, messagePart);

    QElapsedTimer timer;
    timer.start();
    const DialogueOutcome out = runDialogue(protocol, server);
    QVERIFY(out.connected);
    QVERIFY2(timer.elapsed() < 4000, "a dialogue must not wait for a timeout");
    if (expectedCode.isEmpty()) {
        QVERIFY2(!out.finding, qPrintable(out.finding ? out.finding->message + "\n" + out.transcript.join('\n')
                                                      : QString()));
        return;
    }
    QVERIFY2(out.finding, qPrintable(out.transcript.join('\n')));
    QCOMPARE(out.finding->code, expectedCode);
    QCOMPARE(out.finding->severity, Severity::Error);
    QVERIFY2(out.finding->message.contains(messagePart), qPrintable(out.finding->message));
    QVERIFY(!out.finding->fix.isEmpty());
}

void TestStartTls::malformedReplies_data()
{
    QTest::addColumn<StartTlsProtocol>("protocol");
    QTest::addColumn<Handler>("server");
    QTest::addColumn<QStringList>("messageParts");

    const QByteArray overlong = QByteArray(20 * 1024, 'A'); // over the 16 KiB line cap, no line end
    const QByteArray binary("\x00\xff\xfe\x01garbage", 11);

    // SMTP: what came after 220 is quoted and called not a reply, never "rejected EHLO".
    QTest::newRow("smtp empty line after EHLO")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {"\r\n"})
        << QStringList{QStringLiteral("the server answered EHLO with \"\" (an empty line), which is not an SMTP reply")};
    QTest::newRow("smtp binary garbage after EHLO")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {binary + "\r\n"})
        << QStringList{QStringLiteral("answered EHLO with \"\\x00\\xff\\xfe\\x01garbage\", which is not an SMTP reply")};
    QTest::newRow("smtp valid code with garbage after EHLO")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {QByteArray("250\xff\xfe\x00junk\r\n", 12)})
        << QStringList{QStringLiteral("answered EHLO with \"250\\xff\\xfe\\x00junk\", which is not an SMTP reply")};
    QTest::newRow("smtp control bytes in the text after EHLO")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {"250 mx\x1b[31m\r\n"})
        << QStringList{QStringLiteral("which is not an SMTP reply")};
    QTest::newRow("smtp uncoded continuation in EHLO")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {"250-mx.example.test\r\nSTARTTLS\r\n"})
        << QStringList{QStringLiteral("answered EHLO with \"250-mx.example.test / STARTTLS\", which is not an SMTP reply")};
    QTest::newRow("smtp empty greeting")
        << StartTlsProtocol::Smtp << scripted("\r\n", {})
        << QStringList{QStringLiteral("the server's greeting was \"\" (an empty line), which is not an SMTP reply")};
    QTest::newRow("smtp garbage after STARTTLS")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {"250-mx\r\n250 STARTTLS\r\n", "\x16\x03\x01 hello\r\n"})
        << QStringList{QStringLiteral("answered STARTTLS with \"\\x16\\x03\\x01 hello\", which is not an SMTP reply")};
    QTest::newRow("smtp overlong line after EHLO")
        << StartTlsProtocol::Smtp << scripted("220 mx ESMTP\r\n", {overlong})
        << QStringList{QStringLiteral("a line over 16 KiB without a line end in its reply to EHLO"),
                       QStringLiteral("it began \"AAAAAAAA")};

    // IMAP: a BYE greeting is a refusal; anything else that is no response is named as such.
    QTest::newRow("imap empty greeting")
        << StartTlsProtocol::Imap << scripted("\r\n", {})
        << QStringList{QStringLiteral("the server's greeting was \"\" (an empty line), which is not an IMAP greeting")};
    QTest::newRow("imap BYE greeting is a refusal")
        << StartTlsProtocol::Imap << scripted("* BYE too many connections\r\n", {})
        << QStringList{QStringLiteral("refused the session: \"* BYE too many connections\"")};
    QTest::newRow("imap binary garbage after CAPABILITY")
        << StartTlsProtocol::Imap << scripted("* OK ready\r\n", {binary + "\r\n"})
        << QStringList{QStringLiteral("answered CAPABILITY with \"\\x00\\xff"), QStringLiteral("which is not an IMAP response")};
    QTest::newRow("imap empty line after CAPABILITY")
        << StartTlsProtocol::Imap << scripted("* OK ready\r\n", {"\r\n"})
        << QStringList{QStringLiteral("answered CAPABILITY with \"\" (an empty line), which is not an IMAP response")};
    QTest::newRow("imap tagged garbage after STARTTLS")
        << StartTlsProtocol::Imap
        << scripted("* OK ready\r\n", {"* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n", "a2 \xff\xfe\r\n"})
        << QStringList{QStringLiteral("answered STARTTLS with \"a2 \\xff\\xfe\", which is not an IMAP response")};
    QTest::newRow("imap overlong greeting")
        << StartTlsProtocol::Imap << scripted("* OK " + overlong, {})
        << QStringList{QStringLiteral("a line over 16 KiB without a line end in its greeting; it began \"* OK AAAA")};

    // POP3: -ERR is a refusal; a line without +OK or -ERR is not a reply.
    QTest::newRow("pop3 empty greeting")
        << StartTlsProtocol::Pop3 << scripted("\r\n", {})
        << QStringList{QStringLiteral("the server's greeting was \"\" (an empty line), which is not a POP3 reply")};
    QTest::newRow("pop3 -ERR greeting is a refusal")
        << StartTlsProtocol::Pop3 << scripted("-ERR maintenance\r\n", {})
        << QStringList{QStringLiteral("refused the session: \"-ERR maintenance\"")};
    QTest::newRow("pop3 +OK glued to garbage after CAPA")
        << StartTlsProtocol::Pop3 << scripted("+OK ready\r\n", {"+OK\xff\xfe\r\n"})
        << QStringList{QStringLiteral("answered CAPA with \"+OK\\xff\\xfe\", which is not a POP3 reply")};
    QTest::newRow("pop3 binary garbage after STLS")
        << StartTlsProtocol::Pop3 << scripted("+OK ready\r\n", {"+OK\r\nSTLS\r\n.\r\n", binary + "\r\n"})
        << QStringList{QStringLiteral("answered STLS with \"\\x00\\xff"), QStringLiteral("which is not a POP3 reply")};
    QTest::newRow("pop3 overlong line after CAPA")
        << StartTlsProtocol::Pop3 << scripted("+OK ready\r\n", {overlong})
        << QStringList{QStringLiteral("a line over 16 KiB without a line end in its reply to CAPA; it began \"AAAA")};

    // FTP.
    QTest::newRow("ftp empty greeting")
        << StartTlsProtocol::Ftp << scripted("\r\n", {})
        << QStringList{QStringLiteral("the server's greeting was \"\" (an empty line), which is not an FTP reply")};
    QTest::newRow("ftp valid code with garbage in the greeting")
        << StartTlsProtocol::Ftp << scripted("220\xff\xfegarbage\r\n", {})
        << QStringList{QStringLiteral("the server's greeting was \"220\\xff\\xfegarbage\", which is not an FTP reply")};
    QTest::newRow("ftp binary garbage after AUTH TLS")
        << StartTlsProtocol::Ftp << scripted("220 ready\r\n", {binary + "\r\n"})
        << QStringList{QStringLiteral("answered AUTH TLS with \"\\x00\\xff"), QStringLiteral("which is not an FTP reply")};
    QTest::newRow("ftp empty line after AUTH TLS")
        << StartTlsProtocol::Ftp << scripted("220 ready\r\n", {"\r\n"})
        << QStringList{QStringLiteral("answered AUTH TLS with \"\" (an empty line), which is not an FTP reply")};
    QTest::newRow("ftp overlong greeting")
        << StartTlsProtocol::Ftp << scripted(overlong, {})
        << QStringList{QStringLiteral("a line over 16 KiB without a line end in its greeting; it began \"AAAA")};

    // The others.
    QTest::newRow("sieve garbage in the greeting")
        << StartTlsProtocol::Sieve << scripted("\"IMPLEMENTATION\" \"x\"\r\n" + binary + "\r\n", {})
        << QStringList{QStringLiteral("the server's greeting held \"\\x00\\xff"), QStringLiteral("which is not a ManageSieve response")};
    QTest::newRow("xmpp answered with HTTP")
        << StartTlsProtocol::Xmpp << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send("HTTP/1.1 400 Bad Request\r\n\r\n");
               c.drainUntilClosed(3000);
           })
        << QStringList{QStringLiteral("answered the stream header with \"HTTP/1.1 400 Bad Request"), QStringLiteral("which is not XMPP")};
    QTest::newRow("ldap ExtendedResponse without a result")
        << StartTlsProtocol::Ldap << Handler([](Connection& c) {
               if (c.readSome().isEmpty())
                   return;
               c.send(QByteArray("\x30\x05\x02\x01\x01\x78\x00", 7));
               c.drainUntilClosed(3000);
           })
        << QStringList{QStringLiteral("which is not a well-formed LDAPResult")};
}

void TestStartTls::malformedReplies()
{
    QFETCH(StartTlsProtocol, protocol);
    QFETCH(Handler, server);
    QFETCH(QStringList, messageParts);

    QElapsedTimer timer;
    timer.start();
    const DialogueOutcome out = runDialogue(protocol, server);
    QVERIFY(out.connected);
    // Named at once: a reply that is no reply is not waited on until a timeout.
    QVERIFY2(timer.elapsed() < 1500, qPrintable(out.finding ? out.finding->message : QString()));
    QVERIFY2(out.finding, qPrintable(out.transcript.join('\n')));
    // A broken reply is a failure, never "the server doesn't offer STARTTLS".
    QCOMPARE(out.finding->code, kFailed);
    // The message holds the server's bytes raw; the parts are what a user reads, once escaped.
    const QString shown = escapeText(out.finding->message);
    for (const QString& part : messageParts)
        QVERIFY2(shown.contains(part), qPrintable(shown));
    QVERIFY(!out.finding->fix.isEmpty());
    // What was received is quoted within the bound, whatever the server sent.
    QVERIFY2(out.finding->message.size() < 600, qPrintable(out.finding->message));
}

void TestStartTls::smtp454NamesTheStapleFile()
{
    const DialogueOutcome out =
        runDialogue(StartTlsProtocol::Smtp, smtpServer({"250-mx", "250 STARTTLS"}, "454 TLS currently unavailable"));
    QVERIFY(out.finding);
    QVERIFY2(out.finding->fix.contains(QLatin1String("tls_ocsp_file")), qPrintable(out.finding->fix));
    QVERIFY(out.transcript.contains(QStringLiteral("C: STARTTLS")));
    QVERIFY(out.transcript.contains(QStringLiteral("S: 454 TLS currently unavailable")));
}

void TestStartTls::silentServerTimesOut_data()
{
    QTest::addColumn<QString>("protocol");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("implicit TLS") << "none" << "TLS_HANDSHAKE_FAILED" << "sent nothing in reply to the TLS ClientHello";
    QTest::newRow("smtp") << "smtp" << "STARTTLS_FAILED" << "its greeting";
    QTest::newRow("imap") << "imap" << "STARTTLS_FAILED" << "step timeout";
    QTest::newRow("xmpp") << "xmpp" << "STARTTLS_FAILED" << "stream features";
}

void TestStartTls::silentServerTimesOut()
{
    QFETCH(QString, protocol);
    QFETCH(QString, code);
    QFETCH(QString, messagePart);
    LoopbackServer server([](Connection& c) { c.drainUntilClosed(); });
    const quint16 port = server.start();
    QVERIFY(port);
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    o.startTls = startTlsProtocolFromName(protocol);
    o.stepTimeoutMs = 400;
    QElapsedTimer timer;
    timer.start();
    const QList<ProbeResult> results = probe(o);
    const qint64 elapsed = timer.elapsed();
    QCOMPARE(results.size(), 1);
    QCOMPARE(results[0].findings.size(), 1);
    const Finding& f = results[0].findings[0];
    QCOMPARE(f.code, code);
    QVERIFY2(f.message.contains(messagePart), qPrintable(f.message));
    QVERIFY2(elapsed >= 350 && elapsed < 1500, qPrintable(QString::number(elapsed)));
    // A silent server is not "refused the staple": no retry without status_request.
    QVERIFY(!results[0].retriedWithoutStatusRequest);
}

void TestStartTls::garbageServer_data()
{
    QTest::addColumn<QString>("protocol");
    QTest::addColumn<QByteArray>("garbage");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("HTTP on an implicit TLS port")
        << "none" << QByteArray("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") << "TLS_HANDSHAKE_FAILED"
        << "does not speak TLS here: it answered the ClientHello with \"HTTP/\"";
    QTest::newRow("SMTP greeting on an implicit TLS port")
        << "none" << QByteArray("220 mx.example.test ESMTP\r\n") << "TLS_HANDSHAKE_FAILED" << "\"220 m\"";
    QTest::newRow("binary junk to smtp")
        << "smtp" << QByteArray("\x00\xff\x13\x37garbage\x01\x02\r\n", 15) << "STARTTLS_FAILED"
        << "not an SMTP reply";
    QTest::newRow("binary junk to imap")
        << "imap" << QByteArray("\x16\x03\x01\x00\x05hello\r\n", 12) << "STARTTLS_FAILED" << "not an IMAP greeting";
    QTest::newRow("binary junk to ldap")
        << "ldap" << QByteArray("\x04\x05\x06\x07\x08\x09", 6) << "STARTTLS_FAILED" << "not an LDAP message";
    QTest::newRow("junk to postgres") << "postgres" << QByteArray("E") << "STARTTLS_FAILED" << "instead of 'S' or 'N'";
}

void TestStartTls::garbageServer()
{
    QFETCH(QString, protocol);
    QFETCH(QByteArray, garbage);
    QFETCH(QString, code);
    QFETCH(QString, messagePart);
    // Answers whatever comes first (or nothing) with the garbage.
    LoopbackServer server([garbage, protocol](Connection& c) {
        if (protocol == QLatin1String("none") || protocol == QLatin1String("ldap") || protocol == QLatin1String("postgres"))
            c.readSome(2000);
        c.send(garbage);
        c.drainUntilClosed(3000);
    });
    const quint16 port = server.start();
    QVERIFY(port);
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    o.startTls = startTlsProtocolFromName(protocol);
    o.stepTimeoutMs = 2000;
    QElapsedTimer timer;
    timer.start();
    const QList<ProbeResult> results = probe(o);
    QVERIFY(timer.elapsed() < 1500);
    QCOMPARE(results.size(), 1);
    QVERIFY(!results[0].findings.isEmpty());
    const Finding& f = results[0].findings[0];
    QCOMPARE(f.code, code);
    QVERIFY2(f.message.contains(messagePart), qPrintable(f.message));
}

void TestStartTls::hugeBannerIsBounded_data()
{
    QTest::addColumn<bool>("withLineEnds");
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("10 MB without a line end") << false << "a line over 16 KiB without a line end";
    QTest::newRow("10 MB of continuation lines") << true << "over 64 KiB without ending its greeting";
}

void TestStartTls::hugeBannerIsBounded()
{
    QFETCH(bool, withLineEnds);
    QFETCH(QString, messagePart);
    std::atomic<qint64> sent{0};
    LoopbackServer server([&sent, withLineEnds](Connection& c) {
        const QByteArray chunk = withLineEnds ? QByteArray("220-").append(QByteArray(94, 'x')).append("\r\n").repeated(640)
                                              : QByteArray(64 * 1024, 'A');
        // 10 MB, or until the client hangs up.
        while (sent < 10 * 1024 * 1024 && c.send(chunk))
            sent += chunk.size();
        c.drainUntilClosed(3000);
    });
    const quint16 port = server.start();
    QVERIFY(port);
    const qint64 rssBefore = maxRssKiB();
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    o.startTls = StartTlsProtocol::Smtp;
    QElapsedTimer timer;
    timer.start();
    const QList<ProbeResult> results = probe(o);
    QVERIFY(timer.elapsed() < 2000);
    QCOMPARE(results.size(), 1);
    QCOMPARE(results[0].findings.size(), 1);
    QCOMPARE(results[0].findings[0].code, QStringLiteral("STARTTLS_FAILED"));
    QVERIFY2(results[0].findings[0].message.contains(messagePart), qPrintable(results[0].findings[0].message));
    // Bounded memory: the client stopped reading at its cap (the rest filled socket buffers at
    // most), and the transcript stays short.
    QVERIFY(results[0].transcript.size() <= 202);
    for (const QString& line : results[0].transcript)
        QVERIFY(line.size() <= 301);
    QVERIFY2(maxRssKiB() - rssBefore < 8 * 1024, qPrintable(QString::number(maxRssKiB() - rssBefore)));
    server.stop();
    QVERIFY2(sent < 10 * 1024 * 1024, qPrintable(QString::number(sent)));
}

void TestStartTls::endlessChainIsBounded()
{
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc().addSecs(-1));
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.chainRepeat = 4000; // about 1.6 MB of certificates, over the 1 MiB default cap
    config.maxVersion = TLS1_2_VERSION;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    QElapsedTimer timer;
    timer.start();
    const QList<ProbeResult> results = probe(o);
    QVERIFY(timer.elapsed() < 3000);
    QCOMPARE(results.size(), 1);
    QVERIFY(!results[0].tlsEstablished);
    QVERIFY(!results[0].findings.isEmpty());
    QCOMPARE(results[0].findings[0].code, QStringLiteral("TLS_HANDSHAKE_FAILED"));
    QVERIFY2(results[0].findings[0].message.contains(QLatin1String("over the limit of 1 MiB")),
             qPrintable(results[0].findings[0].message));
    QVERIFY(results[0].chainDer.isEmpty());
}

void TestStartTls::cancelStopsQuickly()
{
    LoopbackServer server([](Connection& c) { c.drainUntilClosed(); });
    const quint16 port = server.start();
    QVERIFY(port);
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    o.startTls = StartTlsProtocol::Smtp;
    o.stepTimeoutMs = 30000;
    std::atomic<bool> cancel{false};
    QElapsedTimer timer;
    timer.start();
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cancel = true;
    });
    const QList<ProbeResult> results = probe(o, &cancel);
    canceller.join();
    QVERIFY2(timer.elapsed() < 600, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(results.size(), 1);
    QVERIFY(results[0].cancelled);
    QVERIFY(results[0].findings.isEmpty());
}

void TestStartTls::connectionRefused()
{
    // A port that was free a moment ago: bind, note, close.
    LoopbackServer probePort([](Connection&) {});
    const quint16 port = probePort.start();
    probePort.stop();
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    const QList<ProbeResult> results = probe(o);
    QCOMPARE(results.size(), 1);
    QVERIFY(!results[0].connected);
    QCOMPARE(results[0].findings.size(), 1);
    QCOMPARE(results[0].findings[0].code, QStringLiteral("CONNECT_FAILED"));
    QVERIFY2(results[0].findings[0].message.contains(QLatin1String("refused")), qPrintable(results[0].findings[0].message));
}

void TestStartTls::notAnAddress()
{
    ProbeOptions o;
    o.host = QStringLiteral("mail.example.test");
    o.port = 25;
    o.pinnedAddresses = {QStringLiteral("not-an-ip")};
    const QList<ProbeResult> results = probe(o);
    QCOMPARE(results.size(), 1);
    QCOMPARE(results[0].findings.value(0).code, QStringLiteral("CONNECT_FAILED"));
    QVERIFY(results[0].findings.value(0).message.contains(QLatin1String("not-an-ip")));
}

void TestStartTls::probeCapturesChainAndStaple_data()
{
    QTest::addColumn<int>("serverMax");
    QTest::addColumn<int>("forced");
    QTest::addColumn<QString>("version");
    QTest::newRow("TLS 1.3") << int(TLS1_3_VERSION) << int(ProbeOptions::TlsVersion::Any) << "TLSv1.3";
    QTest::newRow("TLS 1.2 server") << int(TLS1_2_VERSION) << int(ProbeOptions::TlsVersion::Any) << "TLSv1.2";
    QTest::newRow("--tls1.2") << int(TLS1_3_VERSION) << int(ProbeOptions::TlsVersion::Tls12) << "TLSv1.2";
    QTest::newRow("--tls1.3") << int(TLS1_3_VERSION) << int(ProbeOptions::TlsVersion::Tls13) << "TLSv1.3";
}

void TestStartTls::probeCapturesChainAndStaple()
{
    QFETCH(int, serverMax);
    QFETCH(int, forced);
    QFETCH(QString, version);
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc());
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca, pki.root};
    config.staple = pki.leafStaple;
    config.maxVersion = serverMax;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    QVERIFY(port);
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    o.serverName = pki.hostName;
    o.tlsVersion = ProbeOptions::TlsVersion(forced);
    const QList<ProbeResult> results = probe(o);
    QCOMPARE(results.size(), 1);
    const ProbeResult& r = results[0];
    QVERIFY2(r.findings.isEmpty(), qPrintable(r.findings.value(0).message));
    QVERIFY(r.tlsEstablished);
    QCOMPARE(r.tlsVersion, version);
    QCOMPARE(r.serverName, pki.hostName);
    QCOMPARE(r.address, QStringLiteral("127.0.0.1"));
    QCOMPARE(r.chainDer.size(), 3);
    QCOMPARE(r.chainDer[0], pki.leaf.certDer());
    QCOMPARE(r.chainDer[1], pki.ca.certDer());
    QCOMPARE(r.chainDer[2], pki.root.certDer());
    QCOMPARE(r.stapleDer, pki.leafStaple);
    QVERIFY(r.stapleRequested);
}

void TestStartTls::probeAfterSmtpStartTls()
{
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc());
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.staple = pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(config), [](Connection& c) {
        c.sendLine("220 mx ESMTP");
        if (!c.readLine())
            return false;
        c.sendLine("250-mx");
        c.sendLine("250 STARTTLS");
        if (auto l = c.readLine(); !l || *l != "STARTTLS")
            return false;
        return c.sendLine("220 go ahead");
    }));
    const quint16 port = server.start();
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    o.startTls = StartTlsProtocol::Smtp;
    const QList<ProbeResult> results = probe(o);
    QCOMPARE(results.size(), 1);
    QVERIFY2(results[0].tlsEstablished, qPrintable(results[0].findings.value(0).message));
    QCOMPARE(results[0].protocol, StartTlsProtocol::Smtp);
    QCOMPARE(results[0].stapleDer, pki.leafStaple);
    QVERIFY(results[0].serverName.isEmpty()); // an IP literal sends no SNI
    QVERIFY(results[0].transcript.contains(QStringLiteral("S: 220 go ahead")));
}

void TestStartTls::retriesWithoutStatusRequest()
{
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc());
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.failIfStatusRequested = true;
    LoopbackServer server(tlsHandler(makeServerContext(config)));
    const quint16 port = server.start();
    ProbeOptions o;
    o.host = QStringLiteral("127.0.0.1");
    o.port = port;
    QList<ProbeResult> results = probe(o);
    QCOMPARE(results.size(), 1);
    const ProbeResult& r = results[0];
    QVERIFY(r.retriedWithoutStatusRequest);
    QVERIFY(r.handshakeSucceededOnlyWithoutStatusRequest);
    QVERIFY(r.tlsEstablished);
    QVERIFY(!r.stapleRequested);
    QCOMPARE(r.chainDer.size(), 2);
    QCOMPARE(r.findings.size(), 1);
    QCOMPARE(r.findings[0].code, QStringLiteral("TLS_HANDSHAKE_FAILED"));
    QVERIFY2(r.findings[0].message.contains(QLatin1String("succeeds without it")), qPrintable(r.findings[0].message));
    QVERIFY2(r.findings[0].message.contains(QLatin1String("alert")), qPrintable(r.findings[0].message));
    QCOMPARE(server.connectionsAccepted(), 2);

    // Without the retry the failure stays a plain handshake failure.
    o.retryWithoutStatusRequest = false;
    results = probe(o);
    QVERIFY(!results[0].tlsEstablished);
    QVERIFY(!results[0].retriedWithoutStatusRequest);
    QCOMPARE(results[0].findings.value(0).code, QStringLiteral("TLS_HANDSHAKE_FAILED"));
}

void TestStartTls::probeManyKeepsOrder()
{
    const LivePki pki = makeLivePki(QDateTime::currentDateTimeUtc());
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.staple = pki.leafStaple;
    LoopbackServer tls(tlsHandler(makeServerContext(config)));
    // How many silent connections are open at once: more than one means they are waited for in
    // parallel (a count, not a timing, so a slow or instrumented build cannot make it flaky).
    std::atomic<int> silentOpen{0}, mostSilentOpen{0};
    LoopbackServer silent([&](Connection& c) {
        const int open = ++silentOpen;
        int most = mostSilentOpen.load();
        while (open > most && !mostSilentOpen.compare_exchange_weak(most, open)) {
        }
        c.drainUntilClosed();
        --silentOpen;
    });
    const quint16 tlsPort = tls.start();
    const quint16 silentPort = silent.start();
    QList<ProbeOptions> endpoints;
    for (int i = 0; i < 12; ++i) {
        ProbeOptions o;
        o.host = QStringLiteral("127.0.0.1");
        o.port = i % 4 == 3 ? silentPort : tlsPort;
        o.stepTimeoutMs = 300;
        endpoints << o;
    }
    const QList<QList<ProbeResult>> results = probeMany(endpoints, 6);
    // Three silent endpoints of 300 ms each, waited for in parallel, not in turn.
    QVERIFY2(mostSilentOpen.load() >= 2, qPrintable(QString::number(mostSilentOpen.load())));
    QCOMPARE(results.size(), 12);
    for (int i = 0; i < 12; ++i) {
        QCOMPARE(results[i].size(), 1);
        QCOMPARE(results[i][0].port, endpoints[i].port);
        QCOMPARE(results[i][0].tlsEstablished, i % 4 != 3);
    }
}

QTEST_GUILESS_MAIN(TestStartTls)
#include "tst_starttls.moc"
