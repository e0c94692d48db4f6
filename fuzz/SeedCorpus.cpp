// The seed corpus: generated at run time from the fixed fuzz PKI and the demo, so no expiring
// fixture is ever checked in, and every input format starts out covered.

#include "FuzzPki.h"
#include "FuzzTargets.h"

#include "DemoData.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>

namespace staplescope::fuzz {

namespace {

class SeedList {
public:
    void add(const char* target, const QString& name, const QByteArray& data)
    {
        if (!data.isEmpty())
            m_seeds << Seed{QString::fromLatin1(target), name, data};
    }
    QList<Seed> take() { return std::move(m_seeds); }

private:
    QList<Seed> m_seeds;
};

QByteArray crlf(QByteArray pem)
{
    return pem.replace("\n", "\r\n");
}

void addOcspSeeds(SeedList& seeds, const FuzzPki& pki, QList<std::pair<QString, QByteArray>>* staples)
{
    const QDateTime now = fuzzNow();
    const auto staple = [&](const QString& name, OcspSpec spec, const IssuedCert* signer = nullptr,
                            const QList<std::pair<const IssuedCert*, const IssuedCert*>>& alsoAbout = {}) {
        const QByteArray der =
            pki.factory.ocspResponse(pki.leaf, pki.root, signer ? *signer : pki.root, spec, alsoAbout);
        seeds.add("ocsp", name + QStringLiteral(".der"), der);
        staples->append({name, der});
    };
    staple(QStringLiteral("good"), pki.goodSpec());
    OcspSpec revoked = pki.goodSpec();
    revoked.certStatus = V_OCSP_CERTSTATUS_REVOKED;
    revoked.revocationTime = now.addDays(-2);
    revoked.revocationReason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    staple(QStringLiteral("revoked"), revoked);
    OcspSpec unknown = pki.goodSpec();
    unknown.certStatus = V_OCSP_CERTSTATUS_UNKNOWN;
    staple(QStringLiteral("unknown"), unknown);
    OcspSpec sha256 = pki.goodSpec();
    sha256.certIdHash = EVP_sha256();
    sha256.responderId = OcspResponderIdKind::ByName;
    staple(QStringLiteral("sha256-certid-byname"), sha256);
    staple(QStringLiteral("delegated-responder"), pki.goodSpec(), &pki.responder);
    OcspSpec noNext = pki.goodSpec();
    noNext.nextUpdate.reset();
    noNext.includeSignerCert = false;
    staple(QStringLiteral("no-nextupdate-no-certs"), noNext);
    OcspSpec expired = pki.goodSpec();
    expired.thisUpdate = now.addDays(-10);
    expired.nextUpdate = now.addDays(-3);
    staple(QStringLiteral("expired"), expired);
    OcspSpec future = pki.goodSpec();
    future.thisUpdate = now.addDays(2);
    future.producedAt = now.addDays(2);
    staple(QStringLiteral("not-yet-valid"), future);
    OcspSpec corrupt = pki.goodSpec();
    corrupt.corruptSignature = true;
    staple(QStringLiteral("bad-signature"), corrupt);
    staple(QStringLiteral("signed-by-leaf"), pki.goodSpec(), &pki.leaf);
    staple(QStringLiteral("two-responses"), pki.goodSpec(), nullptr, {{&pki.responder, &pki.root}});
    for (const auto& [status, name] : {std::pair{OCSP_RESPONSE_STATUS_TRYLATER, "trylater"},
                                       std::pair{OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "malformedrequest"},
                                       std::pair{OCSP_RESPONSE_STATUS_UNAUTHORIZED, "unauthorized"}}) {
        OcspSpec failed;
        failed.responseStatus = status;
        staple(QString::fromLatin1(name), failed);
    }
    seeds.add("ocsp", QStringLiteral("request.der"), PkiFactory::ocspRequestDer(pki.leaf, pki.root));
}

void addLoaderSeeds(SeedList& seeds, const FuzzPki& pki, const QList<std::pair<QString, QByteArray>>& staples)
{
    const QByteArray fullchain = pki.leaf.certPem() + pki.root.certPem();
    seeds.add("loader", QStringLiteral("cert.pem"), pki.leaf.certPem());
    seeds.add("loader", QStringLiteral("cert.der"), pki.leaf.certDer());
    seeds.add("loader", QStringLiteral("fullchain.pem"), fullchain);
    seeds.add("loader", QStringLiteral("fullchain-crlf-text.pem"),
              "subject=CN = www.example.test\r\n" + crlf(pki.leaf.certPem()) + "\r\nissuer\r\n" +
                  crlf(pki.root.certPem()));
    seeds.add("loader", QStringLiteral("root.der"), pki.root.certDer());
    seeds.add("loader", QStringLiteral("responder.pem"), pki.responder.certPem());
    seeds.add("loader", QStringLiteral("chain.p7b"), PkiFactory::pkcs7Der({&pki.leaf, &pki.root}));
    seeds.add("loader", QStringLiteral("chain.p7c.pem"), PkiFactory::pkcs7Pem({&pki.leaf, &pki.root}));
    seeds.add("loader", QStringLiteral("site.p12"), PkiFactory::pkcs12(pki.leaf, {&pki.root}, "fuzz"));
    seeds.add("loader", QStringLiteral("site-wrong-password.p12"),
              PkiFactory::pkcs12(pki.leaf, {&pki.root}, "other"));
    const EVP_PKEY* key = pki.leaf.key.get();
    seeds.add("loader", QStringLiteral("key-pkcs8.pem"),
              PkiFactory::privateKeyPem(key, PkiFactory::KeyFormat::Pkcs8));
    seeds.add("loader", QStringLiteral("key-sec1.pem"),
              PkiFactory::privateKeyPem(key, PkiFactory::KeyFormat::Sec1Ec));
    seeds.add("loader", QStringLiteral("key-encrypted.pem"),
              PkiFactory::privateKeyPem(key, PkiFactory::KeyFormat::EncryptedPkcs8, "fuzz"));
    seeds.add("loader", QStringLiteral("key.der"), PkiFactory::privateKeyDer(key));
    // HAProxy: certificate, chain and key in one file, the staple beside it.
    seeds.add("loader", QStringLiteral("haproxy.pem"),
              fullchain + PkiFactory::privateKeyPem(key, PkiFactory::KeyFormat::Pkcs8));

    CertSpec rsaSpec;
    rsaSpec.commonName = QStringLiteral("rsa.example.test");
    rsaSpec.dnsNames = {rsaSpec.commonName};
    rsaSpec.notBefore = fuzzNow().addDays(-1);
    rsaSpec.notAfter = fuzzNow().addDays(89);
    rsaSpec.keyType = KeyType::Rsa2048;
    const IssuedCert rsa = pki.factory.issue(rsaSpec, &pki.root);
    seeds.add("loader", QStringLiteral("rsa-cert-and-pkcs1-key.pem"),
              rsa.certPem() + PkiFactory::privateKeyPem(rsa.key.get(), PkiFactory::KeyFormat::Pkcs1Rsa));
    CertSpec edSpec = rsaSpec;
    edSpec.commonName = QStringLiteral("ed25519.example.test");
    edSpec.dnsNames = {edSpec.commonName};
    edSpec.keyType = KeyType::Ed25519;
    seeds.add("loader", QStringLiteral("ed25519.pem"), pki.factory.issue(edSpec, &pki.root).certPem());

    const QByteArray crl =
        pki.factory.crlDer(pki.root, fuzzNow().addDays(-1), fuzzNow().addDays(6), {&pki.leaf});
    seeds.add("loader", QStringLiteral("root.crl"), crl);
    seeds.add("loader", QStringLiteral("root.crl.pem"), PkiFactory::toPem(crl, "X509 CRL"));
    for (const auto& [name, der] : staples)
        seeds.add("loader", QStringLiteral("%1.ocsp.der").arg(name), der);
    const QByteArray good = staples.value(0).second;
    seeds.add("loader", QStringLiteral("good.ocsp.pem"), PkiFactory::toPem(good, "OCSP RESPONSE"));
    seeds.add("loader", QStringLiteral("good.ocsp.b64"), good.toBase64() + "\n");
    seeds.add("loader", QStringLiteral("fullchain-and-staple.pem"),
              fullchain + PkiFactory::toPem(good, "OCSP RESPONSE"));
    seeds.add("loader", QStringLiteral("ocsp-request.der"), PkiFactory::ocspRequestDer(pki.leaf, pki.root));

    // The demo's files as written (healthy bundle and the renewal incident).
    QTemporaryDir demo;
    if (demo.isValid() && writeDemo(demo.path(), fuzzNow()).ok) {
        QDirIterator it(demo.path(), QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            QFile f(path);
            if (f.open(QIODevice::ReadOnly))
                seeds.add(
                    "loader",
                    QStringLiteral("demo-") +
                        QDir(demo.path()).relativeFilePath(path).replace(QLatin1Char('/'), QLatin1Char('-')),
                    f.readAll());
        }
    }
}

void addServedSeeds(SeedList& seeds, const FuzzPki& pki, const QList<std::pair<QString, QByteArray>>& staples)
{
    const QByteArray leaf = pki.leaf.certDer();
    const QByteArray root = pki.root.certDer();
    for (const auto& [name, der] : staples.mid(0, 4))
        seeds.add("served", QStringLiteral("chain-%1-staple").arg(name), servedInput({leaf, root}, der));
    seeds.add("served", QStringLiteral("leaf-only-no-staple"), servedInput({leaf}, {}));
    seeds.add("served", QStringLiteral("wrong-order"), servedInput({root, leaf}, {}));
    seeds.add("served", QStringLiteral("unreadable-second"),
              servedInput({leaf, "\x30\x03\x02\x01\x01"}, staples.value(0).second));
    seeds.add("served", QStringLiteral("responder-as-leaf"),
              servedInput({pki.responder.certDer(), root}, {}));
}

QByteArray ldapResponse(char messageId, char resultCode, bool longLength)
{
    // LDAPMessage { messageID, [APPLICATION 24] ExtendedResponse { resultCode, matchedDN "",
    // diagnosticMessage "" } }
    const QByteArray op = QByteArray("\x78\x07\x0a\x01", 4) + resultCode + QByteArray("\x04\x00\x04\x00", 4);
    const QByteArray body = QByteArray("\x02\x01", 2) + messageId + op;
    return longLength ? QByteArray("\x30\x81", 2) + char(body.size()) + body
                      : QByteArray(1, '\x30') + char(body.size()) + body;
}

void addStartTlsSeeds(SeedList& seeds)
{
    // fuzzStartTls picks the protocol from the first byte: find the byte for each name.
    const auto byteFor = [](const char* protocol) {
        for (int b = 0; b < 256; ++b)
            if (startTlsFuzzProtocol(static_cast<unsigned char>(b)) == QLatin1String(protocol))
                return char(b);
        qFatal("no fuzz byte for %s", protocol);
    };
    const auto add = [&](const char* protocol, const char* name, const QByteArray& server) {
        seeds.add("starttls", QStringLiteral("%1-%2").arg(QLatin1String(protocol), QLatin1String(name)),
                  QByteArray(1, byteFor(protocol)) + server);
    };
    add("smtp", "ok",
        "220 mx.example.test ESMTP\r\n250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
        "250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n");
    add("smtp", "not-offered", "220 mx.example.test ESMTP\r\n250-mx.example.test\r\n250 SIZE 1000\r\n");
    add("smtp", "454", "220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n454 TLS currently unavailable\r\n");
    add("smtp", "refused", "554 5.7.1 no thanks\r\n");
    add("smtp", "ehlo-rejected", "220-first\r\n220 mx\r\n502 5.5.2 Error: command not recognized\r\n");
    add("imap", "ok",
        "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n* CAPABILITY IMAP4rev1 LITERAL+ STARTTLS "
        "LOGINDISABLED\r\n"
        "a1 OK Pre-login capabilities listed\r\na2 OK Begin TLS negotiation now.\r\n");
    add("imap", "not-offered", "* OK ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\n");
    add("imap", "no",
        "* PREAUTH ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\na2 NO not now\r\n");
    add("pop3", "ok",
        "+OK Dovecot ready.\r\n+OK\r\nCAPA\r\nTOP\r\nSTLS\r\nUIDL\r\n.\r\n+OK Begin TLS negotiation\r\n");
    add("pop3", "no-capa", "+OK ready\r\n-ERR unknown command\r\n+OK go\r\n");
    add("pop3", "not-offered", "+OK ready\r\n+OK\r\nUSER\r\n.\r\n");
    add("ftp", "ok", "220-Welcome\r\n continued\r\n220 ready\r\n234 AUTH TLS successful\r\n");
    add("ftp", "not-offered", "220 ProFTPD\r\n500 AUTH not understood\r\n");
    add("ldap", "ok", ldapResponse(1, 0, false));
    add("ldap", "long-length", ldapResponse(1, 0, true));
    add("ldap", "protocol-error", ldapResponse(1, 2, false));
    add("ldap", "notice-of-disconnection", ldapResponse(0, 52, false));
    const QByteArray xmppHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                                  "xmlns:stream='http://etherx.jabber.org/streams' "
                                  "id='1' from='example.test' version='1.0'>";
    add("xmpp", "ok",
        xmppHeader +
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
            "</stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    add("xmpp", "failure",
        xmppHeader + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
                     "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
    add("xmpp", "empty-features", xmppHeader + "<stream:features/>");
    add("xmpp", "stream-error",
        xmppHeader +
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    add("xmpp-server", "ok",
        xmppHeader + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
                     "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    add("postgres", "ok", "S");
    add("postgres", "declined", "N");
    add("postgres", "error", QByteArray("E\x00\x00\x00\x10SFATAL\x00\x00", 13));
    add("sieve", "ok",
        "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SIEVE\" \"fileinto\"\r\n\"STARTTLS\"\r\nOK "
        "\"Ready.\"\r\n"
        "OK \"Begin TLS negotiation now.\"\r\n");
    add("sieve", "not-offered", "\"IMPLEMENTATION\" \"x\"\r\nOK \"Ready.\"\r\n");
    add("sieve", "bye", "BYE \"Too many connections\"\r\n");
}

} // namespace

QList<Seed> seedCorpus()
{
    const FuzzPki& pki = fuzzPki();
    SeedList seeds;
    QList<std::pair<QString, QByteArray>> staples;
    addOcspSeeds(seeds, pki, &staples);
    addLoaderSeeds(seeds, pki, staples);
    addServedSeeds(seeds, pki, staples);
    addStartTlsSeeds(seeds);
    return seeds.take();
}

} // namespace staplescope::fuzz
