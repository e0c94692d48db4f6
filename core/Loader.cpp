#include "Loader.h"

#include <QHash>
#include <QMutex>

#include <openssl/decoder.h>

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include <mutex>

namespace staplescope {

void LoadedInputs::append(const LoadedInputs& other)
{
    certificates += other.certificates;
    staples += other.staples;
    keys += other.keys;
    crls += other.crls;
    findings += other.findings;
    files += other.files;
    cancelled = cancelled || other.cancelled;
}

namespace {

// OpenSSL 3.0 builds a decoder context for every key it decodes (EVP_PKCS82PKEY, d2i_PrivateKey),
// which costs far more than the decoding itself. One context per thread, reused, removes that.
EVP_PKEY* decodePkcs8PrivateKey(const QByteArray& der)
{
    struct CachedDecoder {
        EVP_PKEY* result = nullptr; // the decoder writes its output here
        OsslDecoderCtxPtr ctx;
    };
    thread_local CachedDecoder cached;
    if (!cached.ctx) {
        cached.ctx.reset(OSSL_DECODER_CTX_new_for_pkey(&cached.result, "DER", "PrivateKeyInfo", nullptr,
                                                       EVP_PKEY_KEYPAIR, nullptr, nullptr));
        if (!cached.ctx)
            return nullptr;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(der.constData());
    size_t length = size_t(der.size());
    cached.result = nullptr;
    if (OSSL_DECODER_from_data(cached.ctx.get(), &data, &length) != 1) {
        EVP_PKEY_free(cached.result);
        cached.result = nullptr;
        clearOpenSslErrors();
        return nullptr;
    }
    EVP_PKEY* key = cached.result;
    cached.result = nullptr;
    return key;
}

// How sure we are that a file was meant to be a PKI file, which decides how loud "unrecognised" is:
// a config file met while walking /etc/exim4 is not a problem, a named file or a ".pem" is.
bool looksLikePkiFileName(const QString& path)
{
    static const QRegularExpression pkiSuffix(
        QStringLiteral("\\.(pem|crt|cer|der|key|ocsp|ocsp\\.der|resp|p7b|p7c|p12|pfx|crl|chain|csr|cert|ca-bundle)$"),
        QRegularExpression::CaseInsensitiveOption);
    return pkiSuffix.match(path).hasMatch();
}

// The one-line headline lists and verdicts show; the message says the specifics.
QString inputTitle(const QString& code)
{
    if (code == QLatin1String("INPUT_UNREADABLE"))
        return QStringLiteral("File cannot be read");
    if (code == QLatin1String("INPUT_EMPTY"))
        return QStringLiteral("File is empty");
    if (code == QLatin1String("INPUT_UNRECOGNIZED"))
        return QStringLiteral("Not a certificate, key, staple or CRL");
    if (code == QLatin1String("INPUT_MALFORMED"))
        return QStringLiteral("File is damaged");
    if (code == QLatin1String("INPUT_PASSWORD_REQUIRED"))
        return QStringLiteral("Password needed");
    return code;
}

Finding inputFinding(const QString& code, Severity severity, const QString& subject, const QString& message,
                     const QString& fix = {})
{
    Finding f;
    f.code = code;
    f.severity = severity;
    f.title = inputTitle(code);
    f.subject = subject;
    f.message = message;
    f.fix = fix;
    return f;
}

// Length of the outermost DER TLV, or -1 when the header itself is unreadable.
qint64 derTotalLength(const QByteArray& data)
{
    if (data.size() < 2)
        return -1;
    const auto* p = reinterpret_cast<const uchar*>(data.constData());
    const uchar first = p[1];
    if (first < 0x80)
        return 2 + first;
    const int octets = first & 0x7f;
    if (octets == 0 || octets > 4 || data.size() < 2 + octets)
        return -1; // indefinite length or absurd: not something a PKI file uses at the top level
    qint64 len = 0;
    for (int i = 0; i < octets; ++i)
        len = (len << 8) | p[2 + i];
    return 2 + octets + len;
}

template <class T, class D2i>
std::unique_ptr<T, void (*)(T*)> decodeExact(const QByteArray& der, D2i d2i, void (*freeFn)(T*))
{
    const auto* begin = reinterpret_cast<const unsigned char*>(der.constData());
    const unsigned char* p = begin;
    T* obj = d2i(nullptr, &p, long(der.size()));
    if (!obj || p != begin + der.size()) {
        if (obj)
            freeFn(obj);
        clearOpenSslErrors();
        return {nullptr, freeFn};
    }
    return {obj, freeFn};
}

void ensureLegacyProvider()
{
    // Old PKCS#12 files (RC2-40, 3DES) need OpenSSL's legacy provider; load it once, next to default.
    static std::once_flag once;
    std::call_once(once, [] {
        OSSL_PROVIDER_load(nullptr, "legacy");
        OSSL_PROVIDER_load(nullptr, "default");
        clearOpenSslErrors();
    });
}

QString describeText(const QByteArray& data)
{
    const QByteArray head = data.left(2048).trimmed();
    const QByteArray lower = head.toLower();
    // First: headers saved in front of any body (curl -i, a proxy log) are the thing to fix, whether
    // the body is an HTML error page or the DER that was wanted.
    static const QRegularExpression httpStatus(QStringLiteral("^HTTP/[0-9.]+ [0-9]{3}"));
    if (httpStatus.match(QString::fromLatin1(head.left(20))).hasMatch()) {
        const QString statusLine = QString::fromLatin1(head.left(head.indexOf('\n'))).trimmed();
        return QStringLiteral("an HTTP response with its headers (\"%1\"); save only the body, e.g. with curl -o").arg(statusLine);
    }
    if (lower.startsWith("<!doctype html") || lower.contains("<html") || lower.contains("<body"))
        return QStringLiteral("an HTML page (often an error page or a download link saved instead of the file itself)");
    if (lower.startsWith("<?xml") || lower.startsWith("<"))
        return QStringLiteral("an XML or markup document");
    if (head.startsWith('{') || head.startsWith('['))
        return QStringLiteral("JSON text");
    if (head.startsWith("ssh-") || head.startsWith("ecdsa-sha2-"))
        return QStringLiteral("an SSH public key");
    // Printable text: quote its first line so the admin recognises the file.
    int printable = 0;
    for (char c : head)
        if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t')
            ++printable;
    if (!head.isEmpty() && printable >= head.size() * 95 / 100) {
        QString firstLine = QString::fromUtf8(head.left(head.indexOf('\n') < 0 ? head.size() : head.indexOf('\n'))).trimmed();
        if (firstLine.size() > 60)
            firstLine = firstLine.left(57) + QStringLiteral("...");
        return QStringLiteral("plain text, not PEM (first line: \"%1\")").arg(firstLine);
    }
    return QStringLiteral("%1 bytes of binary data that is not DER-encoded ASN.1 (starts with %2)")
        .arg(data.size())
        .arg(QString::fromLatin1(data.left(8).toHex(' ')));
}

bool isBase64Text(const QByteArray& data)
{
    static const QRegularExpression base64(QStringLiteral("^[A-Za-z0-9+/=\\s]+$"));
    const QByteArray trimmed = data.trimmed();
    return trimmed.size() >= 16 && base64.match(QString::fromLatin1(trimmed)).hasMatch();
}

} // namespace

struct Loader::CertificateCache {
    QMutex mutex;
    QHash<QByteArray, Certificate> byDer;

    Certificate parse(const QByteArray& der, const SourceLocation& where)
    {
        {
            const QMutexLocker lock(&mutex);
            if (const auto it = byDer.constFind(der); it != byDer.constEnd())
                return it->withSource(where);
        }
        const Certificate cert = Certificate::fromDer(der, where);
        if (!cert.isNull()) {
            const QMutexLocker lock(&mutex);
            byDer.insert(der, cert);
        }
        return cert;
    }
};

namespace {

class Parser {
public:
    Parser(const LoadOptions& options, const QString& origin, bool loud, Loader::CertificateCache* certificates)
        : m_options(options), m_origin(origin), m_loud(loud), m_certificates(certificates)
    {
    }

    // Met while walking a folder rather than named by the user: files that normally live beside
    // certificates (a CSR) are then noted, not warned about.
    void setFoundInFolder(bool found) { m_foundInFolder = found; }

    LoadedInputs parse(const QByteArray& data)
    {
        m_out.files << m_origin;
        if (data.trimmed().isEmpty()) {
            m_out.findings << inputFinding(
                QStringLiteral("INPUT_EMPTY"), m_loud ? Severity::Warning : Severity::Info, m_origin,
                data.isEmpty() ? QStringLiteral("The file is empty (0 bytes).")
                               : QStringLiteral("The file holds only whitespace (%1 bytes).").arg(data.size()),
                QStringLiteral("If a renewal or fetch job writes this file, it failed or was interrupted; run it again and check its log."));
            return m_out;
        }
        if (data.contains("-----BEGIN ")) {
            parsePem(data);
        } else if (uchar(data.at(0)) == 0x30) {
            parseDer(data, OcspStaple::Encoding::Der, SourceLocation{m_origin, 0, 1});
        } else if (isBase64Text(data)) {
            const auto decoded = QByteArray::fromBase64Encoding(data.trimmed().simplified().replace(' ', ""),
                                                               QByteArray::AbortOnBase64DecodingErrors);
            if (!decoded || decoded.decoded.isEmpty() || uchar(decoded.decoded.at(0)) != 0x30)
                unrecognized(QStringLiteral("base64 text that does not decode to DER"));
            else
                parseDer(*decoded, OcspStaple::Encoding::Base64, SourceLocation{m_origin, 0, 1});
        } else {
            unrecognized(describeText(data));
        }
        return m_out;
    }

private:
    struct PemBlock {
        QByteArray label;
        QByteArray body;      // base64 lines, headers removed
        QByteArray original;  // the whole block, for OpenSSL's own PEM readers
        bool legacyEncrypted = false;
    };

    void unrecognized(const QString& looksLike, const SourceLocation* where = nullptr)
    {
        const QString subject = where ? where->display() : m_origin;
        m_out.findings << inputFinding(
            QStringLiteral("INPUT_UNRECOGNIZED"), m_loud ? Severity::Warning : Severity::Info, subject,
            QStringLiteral("Not a certificate, key, OCSP response or CRL: this looks like %1.").arg(looksLike),
            QStringLiteral("Point the tool at the PEM or DER file the server is configured with."));
    }

    // A file that is not a certificate but is at home beside one (certbot 1.x's csr/ folder, the CSR
    // an admin keeps next to server.crt): only worth a note when found while walking a folder.
    void companion(const QString& looksLike, const SourceLocation& where)
    {
        if (!m_foundInFolder) {
            unrecognized(looksLike, &where);
            return;
        }
        m_out.findings << inputFinding(QStringLiteral("INPUT_UNRECOGNIZED"), Severity::Info, where.display(),
                                       QStringLiteral("Skipped: this is %1. Kept beside certificates it is harmless.").arg(looksLike));
    }

    void malformed(const QString& what, const SourceLocation& where, const QString& fix = {})
    {
        m_out.findings << inputFinding(QStringLiteral("INPUT_MALFORMED"), Severity::Error, where.display(), what,
                                       fix.isEmpty() ? QStringLiteral("Replace the file with an intact copy (re-download or re-fetch it).")
                                                     : fix);
    }

    void parsePem(const QByteArray& data)
    {
        QList<PemBlock> blocks;
        QList<QString> problems;
        const QList<QByteArray> lines = data.split('\n');
        PemBlock current;
        bool inBlock = false;
        bool inHeaders = false;
        for (QByteArray line : lines) {
            line = line.trimmed(); // also removes CR of CRLF files
            if (!inBlock) {
                if (line.startsWith("-----BEGIN ") && line.endsWith("-----")) {
                    current = PemBlock();
                    current.label = line.mid(11, line.size() - 16);
                    current.original = line + '\n';
                    inBlock = true;
                    inHeaders = true;
                }
                continue;
            }
            current.original += line + '\n';
            if (line.startsWith("-----END ")) {
                const QByteArray endLabel = line.mid(9, line.size() - 14);
                if (endLabel != current.label)
                    problems << QStringLiteral("block \"%1\" ends with \"-----END %2-----\"")
                                    .arg(QString::fromLatin1(current.label), QString::fromLatin1(endLabel));
                blocks << current;
                inBlock = false;
                continue;
            }
            if (inHeaders && line.contains(':')) {
                if (line.startsWith("Proc-Type:") && line.contains("ENCRYPTED"))
                    current.legacyEncrypted = true;
                continue;
            }
            if (line.isEmpty())
                continue;
            inHeaders = false;
            current.body += line;
        }
        if (inBlock)
            problems << QStringLiteral("the last block \"%1\" has no END line: the file is truncated")
                            .arg(QString::fromLatin1(current.label));
        if (blocks.isEmpty() && problems.isEmpty()) {
            const qsizetype begin = data.indexOf("-----BEGIN ");
            problems << QStringLiteral("the line \"%1\" starts a PEM block but is cut off or damaged")
                            .arg(QString::fromLatin1(data.mid(begin, 40).split('\n').first().trimmed()));
        }

        for (const QString& problem : problems)
            malformed(QStringLiteral("Broken PEM: %1.").arg(problem), SourceLocation{m_origin, 0, 1});

        const int count = int(blocks.size());
        for (int i = 0; i < count; ++i)
            parsePemBlock(blocks.at(i), SourceLocation{m_origin, i, count});
    }

    void parsePemBlock(const PemBlock& block, const SourceLocation& where)
    {
        const QByteArray& label = block.label;
        if (label.startsWith("PGP ")) {
            // OpenPGP armour looks like PEM (and its checksum line is not base64): a different world.
            unrecognized(QStringLiteral("an OpenPGP block (\"%1\"), not X.509").arg(QString::fromLatin1(label)), &where);
            return;
        }
        const auto decoded = QByteArray::fromBase64Encoding(block.body, QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded || decoded.decoded.isEmpty()) {
            malformed(QStringLiteral("The PEM block \"%1\" has invalid base64 content.").arg(QString::fromLatin1(label)), where);
            return;
        }
        const QByteArray& der = *decoded;

        if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") {
            addCertificateDer(der, where, QStringLiteral("certificate"));
        } else if (label == "TRUSTED CERTIFICATE") {
            // OpenSSL's "trusted certificate" is a certificate followed by trust settings.
            const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
            X509Ptr x(d2i_X509_AUX(nullptr, &p, der.size()));
            if (!x) {
                clearOpenSslErrors();
                malformed(QStringLiteral("The TRUSTED CERTIFICATE block does not decode."), where);
            } else {
                m_out.certificates << Certificate::fromX509(std::move(x), where);
            }
        } else if (label == "OCSP RESPONSE") {
            addStapleDer(der, where, OcspStaple::Encoding::Pem);
        } else if (label == "PKCS7" || label == "CERTIFICATE CHAIN") {
            addPkcs7Der(der, where);
        } else if (label == "X509 CRL") {
            addCrlDer(der, where);
        } else if (label == "PRIVATE KEY") {
            addPkcs8Der(der, where);
        } else if (label == "ENCRYPTED PRIVATE KEY") {
            addEncryptedPkcs8Der(der, where);
        } else if (label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY") {
            const bool rsa = label.startsWith("RSA");
            const QString format = rsa ? QStringLiteral("PKCS#1 RSA") : QStringLiteral("SEC1 EC");
            if (block.legacyEncrypted)
                addLegacyEncryptedKey(block.original, format, where);
            else
                addTypedKeyDer(der, rsa ? EVP_PKEY_RSA : EVP_PKEY_EC, format, where);
        } else if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST") {
            companion(QStringLiteral("a certificate signing request (CSR): what you send to a CA, not the certificate it returns"), where);
        } else if (label == "OCSP REQUEST") {
            unrecognized(QStringLiteral("an OCSP request (what a client sends to a responder), not the response a server staples"), &where);
        } else if (label == "PUBLIC KEY" || label == "RSA PUBLIC KEY") {
            unrecognized(QStringLiteral("a public key on its own; certificates carry their public key already"), &where);
        } else if (label == "DH PARAMETERS" || label == "EC PARAMETERS" || label == "X9.42 DH PARAMETERS") {
            // Normal companions of server keys (nginx dhparam, OpenSSL's EC key files): not a problem.
            return;
        } else {
            unrecognized(QStringLiteral("a PEM block labelled \"%1\"").arg(QString::fromLatin1(label)), &where);
        }
    }

    void parseDer(const QByteArray& data, OcspStaple::Encoding encoding, const SourceLocation& where)
    {
        const qint64 total = derTotalLength(data);
        if (total < 0) {
            malformed(QStringLiteral("The DER header is unreadable (%1 bytes in all).").arg(data.size()), where);
            return;
        }
        if (total > data.size()) {
            malformed(QStringLiteral("Truncated DER: its header announces %1 bytes but the file holds only %2.")
                          .arg(total).arg(data.size()),
                      where, QStringLiteral("The file was cut short (interrupted download or full disk); fetch it again."));
            return;
        }
        QByteArray der = data;
        if (total < data.size()) {
            malformed(QStringLiteral("%1 unexpected bytes follow the DER object (which ends at byte %2).")
                          .arg(data.size() - total).arg(total),
                      where, QStringLiteral("Some servers reject the whole file for this; rewrite it with only the DER object."));
            der = data.left(int(total));
        }
        if (auto x = decodeExact<X509>(der, d2i_X509, X509_free)) {
            m_out.certificates << Certificate::fromX509(X509Ptr(x.release()), where);
        } else if (auto resp = decodeExact<OCSP_RESPONSE>(der, d2i_OCSP_RESPONSE, OCSP_RESPONSE_free)) {
            addStapleDer(der, where, encoding);
        } else if (auto p7 = decodeExact<PKCS7>(der, d2i_PKCS7, PKCS7_free)) {
            addPkcs7Der(der, where);
        } else if (auto p12 = decodeExact<PKCS12>(der, d2i_PKCS12, PKCS12_free)) {
            addPkcs12(Pkcs12Ptr(p12.release()), where);
        } else if (auto crl = decodeExact<X509_CRL>(der, d2i_X509_CRL, X509_CRL_free)) {
            m_out.crls << Crl::fromX509Crl(X509CrlPtr(crl.release()), where);
        } else if (auto p8 = decodeExact<PKCS8_PRIV_KEY_INFO>(der, d2i_PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free)) {
            addPkcs8Der(der, where);
        } else if (auto sig = decodeExact<X509_SIG>(der, d2i_X509_SIG, X509_SIG_free)) {
            addEncryptedPkcs8Der(der, where);
        } else if (auto req = decodeExact<OCSP_REQUEST>(der, d2i_OCSP_REQUEST, OCSP_REQUEST_free)) {
            unrecognized(QStringLiteral("an OCSP request (what a client sends to a responder), not the response a server staples"), &where);
        } else if (auto csr = decodeExact<X509_REQ>(der, d2i_X509_REQ, X509_REQ_free)) {
            companion(QStringLiteral("a certificate signing request (CSR), not a certificate"), where);
        } else if (tryTypedKeyDer(der, where)) {
            // PKCS#1 or SEC1 key in DER
        } else {
            malformed(QStringLiteral("DER-encoded ASN.1 (%1 bytes) that is not a certificate, OCSP response, PKCS#7, "
                                     "PKCS#12, CRL or private key; it may be damaged.").arg(der.size()),
                      where);
        }
    }

    void addCertificateDer(const QByteArray& der, const SourceLocation& where, const QString& what)
    {
        const Certificate cert = m_certificates->parse(der, where);
        if (cert.isNull()) {
            const qint64 total = derTotalLength(der);
            if (total > der.size())
                malformed(QStringLiteral("The %1 is truncated: %2 of %3 bytes.").arg(what, QString::number(der.size()), QString::number(total)),
                          where);
            else
                malformed(QStringLiteral("The %1 does not decode as X.509.").arg(what), where);
            return;
        }
        m_out.certificates << cert;
    }

    void addStapleDer(const QByteArray& der, const SourceLocation& where, OcspStaple::Encoding encoding)
    {
        auto parsed = OcspStaple::fromDer(der, where, encoding);
        if (parsed.staple.isNull()) {
            malformed(QStringLiteral("The OCSP response is damaged: %1.").arg(parsed.error), where);
            return;
        }
        m_out.staples << parsed.staple;
    }

    void addPkcs7Der(const QByteArray& der, const SourceLocation& where)
    {
        const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
        Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, der.size()));
        if (!p7 || !PKCS7_type_is_signed(p7.get())) {
            clearOpenSslErrors();
            malformed(QStringLiteral("The PKCS#7 structure is damaged or is not a certificate bundle (signedData)."), where);
            return;
        }
        const STACK_OF(X509)* certs = p7->d.sign->cert;
        const int n = sk_X509_num(certs);
        for (int i = 0; i < n; ++i) {
            X509* x = sk_X509_value(certs, i);
            X509_up_ref(x);
            m_out.certificates << Certificate::fromX509(X509Ptr(x), SourceLocation{where.path, i, n});
        }
        const STACK_OF(X509_CRL)* crls = p7->d.sign->crl;
        for (int i = 0; i < sk_X509_CRL_num(crls); ++i) {
            X509_CRL* c = sk_X509_CRL_value(crls, i);
            X509_CRL_up_ref(c);
            m_out.crls << Crl::fromX509Crl(X509CrlPtr(c), where);
        }
        if (n == 0 && sk_X509_CRL_num(crls) == 0)
            m_out.findings << inputFinding(QStringLiteral("INPUT_EMPTY"), Severity::Warning, where.display(),
                                           QStringLiteral("The PKCS#7 bundle holds no certificates."));
    }

    void addCrlDer(const QByteArray& der, const SourceLocation& where)
    {
        auto crl = decodeExact<X509_CRL>(der, d2i_X509_CRL, X509_CRL_free);
        if (!crl) {
            malformed(QStringLiteral("The CRL does not decode."), where);
            return;
        }
        m_out.crls << Crl::fromX509Crl(X509CrlPtr(crl.release()), where);
    }

    void addPkcs8Der(const QByteArray& der, const SourceLocation& where)
    {
        auto p8 = decodeExact<PKCS8_PRIV_KEY_INFO>(der, d2i_PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free);
        EvpPkeyPtr key(p8 ? decodePkcs8PrivateKey(der) : nullptr);
        if (!key) {
            clearOpenSslErrors();
            malformed(QStringLiteral("The PKCS#8 private key does not decode."), where);
            return;
        }
        m_out.keys << PrivateKey::fromKey(std::move(key), QStringLiteral("PKCS#8"), where);
    }

    std::optional<QString> askPassword()
    {
        if (!m_passwordAsked) {
            m_passwordAsked = true;
            if (m_options.passwordProvider)
                m_password = m_options.passwordProvider(m_origin);
        }
        return m_password;
    }

    void addEncryptedPkcs8Der(const QByteArray& der, const SourceLocation& where)
    {
        const QString format = QStringLiteral("encrypted PKCS#8");
        const auto password = askPassword();
        if (password) {
            auto sig = decodeExact<X509_SIG>(der, d2i_X509_SIG, X509_SIG_free);
            const QByteArray pass = password->toUtf8();
            OpenSslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free> p8(
                sig ? PKCS8_decrypt(sig.get(), pass.constData(), int(pass.size())) : nullptr);
            EvpPkeyPtr key(p8 ? EVP_PKCS82PKEY(p8.get()) : nullptr);
            clearOpenSslErrors();
            if (key) {
                m_out.keys << PrivateKey::fromKey(std::move(key), format, where);
                return;
            }
            passwordFailed(QStringLiteral("encrypted private key"), where);
        }
        m_out.keys << PrivateKey::encrypted(format, where);
    }

    void addLegacyEncryptedKey(const QByteArray& pem, const QString& format, const SourceLocation& where)
    {
        const auto password = askPassword();
        if (password) {
            QByteArray pass = password->toUtf8();
            BioPtr bio = memoryBio(pem);
            EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pass.data()));
            clearOpenSslErrors();
            if (key) {
                m_out.keys << PrivateKey::fromKey(std::move(key), format + QStringLiteral(" (encrypted)"), where);
                return;
            }
            passwordFailed(QStringLiteral("encrypted private key"), where);
        }
        m_out.keys << PrivateKey::encrypted(format + QStringLiteral(" (encrypted)"), where);
    }

    void addTypedKeyDer(const QByteArray& der, int type, const QString& format, const SourceLocation& where)
    {
        const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
        EvpPkeyPtr key(d2i_PrivateKey(type, nullptr, &p, der.size()));
        if (!key) {
            clearOpenSslErrors();
            malformed(QStringLiteral("The %1 private key does not decode.").arg(format), where);
            return;
        }
        m_out.keys << PrivateKey::fromKey(std::move(key), format, where);
    }

    bool tryTypedKeyDer(const QByteArray& der, const SourceLocation& where)
    {
        for (auto [type, format] : {std::pair{EVP_PKEY_RSA, "PKCS#1 RSA"}, std::pair{EVP_PKEY_EC, "SEC1 EC"}}) {
            const auto* begin = reinterpret_cast<const unsigned char*>(der.constData());
            const unsigned char* p = begin;
            EvpPkeyPtr key(d2i_PrivateKey(type, nullptr, &p, der.size()));
            if (key && p == begin + der.size()) {
                m_out.keys << PrivateKey::fromKey(std::move(key), QString::fromLatin1(format), where);
                return true;
            }
            clearOpenSslErrors();
        }
        return false;
    }

    void passwordFailed(const QString& what, const SourceLocation& where)
    {
        m_out.findings << inputFinding(QStringLiteral("INPUT_PASSWORD_REQUIRED"), Severity::Error, where.display(),
                                       QStringLiteral("The password given does not open this %1.").arg(what),
                                       QStringLiteral("Check the password (--password, or the prompt) and try again."));
    }

    void addPkcs12(Pkcs12Ptr p12, const SourceLocation& where)
    {
        // Try no password and the empty password first: many exported bundles use one of them.
        QList<std::optional<QByteArray>> attempts{std::nullopt, QByteArray("")};
        bool asked = false;
        for (int i = 0; i < attempts.size(); ++i) {
            const std::optional<QByteArray>& attempt = attempts.at(i);
            const char* pass = attempt ? attempt->constData() : nullptr;
            const int passLen = attempt ? int(attempt->size()) : 0;
            if (PKCS12_mac_present(p12.get()) && !PKCS12_verify_mac(p12.get(), pass, passLen)) {
                clearOpenSslErrors();
                if (i == attempts.size() - 1 && !asked) {
                    asked = true;
                    if (const auto password = askPassword())
                        attempts << password->toUtf8();
                }
                continue;
            }
            if (unpackPkcs12(p12.get(), pass, where))
                return;
            ensureLegacyProvider(); // the MAC was right, so the cipher may be a legacy one: retry once
            if (unpackPkcs12(p12.get(), pass, where))
                return;
            malformed(QStringLiteral("The PKCS#12 file opens but its contents do not decode (%1).").arg(takeOpenSslErrors()),
                      where);
            return;
        }
        const bool hadPassword = attempts.size() > 2;
        m_out.findings << inputFinding(
            QStringLiteral("INPUT_PASSWORD_REQUIRED"), Severity::Error, where.display(),
            hadPassword ? QStringLiteral("The password given does not open this PKCS#12 file.")
                        : QStringLiteral("This PKCS#12 file is password-protected and no password was given."),
            QStringLiteral("Give the password with --password (or in the dialog); it is used only to read the file."));
    }

    bool unpackPkcs12(PKCS12* p12, const char* pass, const SourceLocation& where)
    {
        EVP_PKEY* rawKey = nullptr;
        X509* rawCert = nullptr;
        STACK_OF(X509)* rawCa = nullptr;
        if (PKCS12_parse(p12, pass, &rawKey, &rawCert, &rawCa) != 1)
            return false;
        EvpPkeyPtr key(rawKey);
        X509Ptr cert(rawCert);
        X509StackPtr ca(rawCa);
        const int count = (cert ? 1 : 0) + sk_X509_num(ca.get());
        int index = 0;
        if (cert)
            m_out.certificates << Certificate::fromX509(std::move(cert), SourceLocation{where.path, index++, count});
        while (sk_X509_num(ca.get()) > 0)
            m_out.certificates << Certificate::fromX509(X509Ptr(sk_X509_shift(ca.get())), SourceLocation{where.path, index++, count});
        if (key)
            m_out.keys << PrivateKey::fromKey(std::move(key), QStringLiteral("PKCS#12"), where);
        return true;
    }

    const LoadOptions& m_options;
    QString m_origin;
    bool m_loud;
    bool m_foundInFolder = false;
    Loader::CertificateCache* m_certificates;
    bool m_passwordAsked = false;
    std::optional<QString> m_password;
    LoadedInputs m_out;
};

} // namespace

Loader::Loader(LoadOptions options)
    : m_options(std::move(options)), m_certificates(std::make_shared<CertificateCache>())
{
}

LoadedInputs Loader::loadData(const QByteArray& data, const QString& origin) const
{
    return Parser(m_options, origin, true, m_certificates.get()).parse(data);
}

QStringList Loader::expandPaths(const QStringList& paths, QList<Finding>* findings)
{
    QStringList files;
    // Canonical path → index in `files`: a symlinked file or folder is read once, loops end here.
    QHash<QString, qsizetype> seen;
    // A file reached both directly and through a symlink is named by the link: that is the path
    // server configurations use (certbot's live/NAME/cert.pem, not archive/NAME/cert2.pem).
    auto addFile = [&](const QFileInfo& file) {
        const QString canonical = file.canonicalFilePath();
        const auto it = seen.constFind(canonical);
        if (it == seen.constEnd()) {
            seen.insert(canonical, files.size());
            files << file.filePath();
        } else if (file.isSymLink() && !QFileInfo(files.at(*it)).isSymLink()) {
            files[*it] = file.filePath();
        }
    };
    auto note = [&](const Finding& f) {
        if (findings)
            *findings << f;
    };
    for (const QString& path : paths) {
        const QFileInfo info(path);
        if (!info.exists()) {
            note(inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Error, path,
                              info.isSymLink() ? QStringLiteral("The symbolic link points to %1, which does not exist.").arg(info.symLinkTarget())
                                               : QStringLiteral("No such file or folder."),
                              QStringLiteral("Check the path; the server would fail to start with it too.")));
            continue;
        }
        if (info.isFile()) {
            addFile(info);
            continue;
        }
        if (!info.isDir()) {
            note(inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Error, path,
                              QStringLiteral("Neither a regular file nor a folder (a device, socket or pipe).")));
            continue;
        }
        if (!info.isReadable() || !info.isExecutable()) {
            note(inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Error, path,
                              QStringLiteral("The folder cannot be listed: permission denied."),
                              QStringLiteral("Run as a user who can read it (certificates under /etc are often root-only).")));
            continue;
        }
        // Walk folders ourselves so that a symlinked folder is entered once and a loop ends.
        QSet<QString> seenDirs;
        QStringList pending{path};
        while (!pending.isEmpty()) {
            const QString dir = pending.takeFirst();
            const QString canonicalDir = QFileInfo(dir).canonicalFilePath();
            if (seenDirs.contains(canonicalDir))
                continue;
            seenDirs.insert(canonicalDir);
            const QDir d(dir);
            const QFileInfoList entries =
                d.entryInfoList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System, QDir::Name);
            for (const QFileInfo& entry : entries) {
                if (entry.fileName() == QLatin1String(".git"))
                    continue;
                if (entry.isDir()) {
                    pending << entry.filePath();
                } else if (entry.isFile()) {
                    addFile(entry);
                } else if (entry.isSymLink() && !entry.exists()) {
                    note(inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Warning, entry.filePath(),
                                      QStringLiteral("Dangling symbolic link to %1.").arg(entry.symLinkTarget()),
                                      QStringLiteral("A renewal tool may have removed its target; a server reading this path fails.")));
                }
            }
        }
    }
    return files;
}

namespace {

LoadedInputs readAndParse(const LoadOptions& options, Loader::CertificateCache* certificates, const QString& path,
                          bool foundInFolder)
{
    LoadedInputs out;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        out.files << path;
        const bool denied = file.error() == QFileDevice::OpenError && QFileInfo(path).exists() && !QFileInfo(path).isReadable();
        out.findings << inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Error, path,
                                     denied ? QStringLiteral("Permission denied: the file cannot be read by this user.")
                                            : QStringLiteral("The file cannot be read: %1.").arg(file.errorString()),
                                     denied ? QStringLiteral("Run as a user who can read it (for example with sudo).")
                                            : QString());
        return out;
    }
    if (file.size() > options.maxFileSize) {
        out.files << path;
        out.findings << inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Error, path,
                                     QStringLiteral("The file is %1 MiB, far larger than any certificate, key or staple; it was not read.")
                                         .arg(file.size() / (1024 * 1024)));
        return out;
    }
    const QByteArray data = file.readAll();
    Parser parser(options, path, true, certificates);
    parser.setFoundInFolder(foundInFolder);
    return parser.parse(data);
}

} // namespace

LoadedInputs Loader::loadFile(const QString& path) const
{
    return readAndParse(m_options, m_certificates.get(), path, false);
}

LoadedInputs Loader::loadPaths(const QStringList& paths) const
{
    LoadedInputs out;
    const QStringList files = expandPaths(paths, &out.findings);
    QSet<QString> named;
    for (const QString& p : paths)
        named.insert(p);
    for (qsizetype index = 0; index < files.size(); ++index) {
        if (m_options.cancel && m_options.cancel->load()) {
            out.cancelled = true;
            break;
        }
        if (m_options.progress)
            m_options.progress(index, files.size());
        const QString& file = files.at(index);
        if (named.contains(file) || looksLikePkiFileName(file)) {
            out.append(readAndParse(m_options, m_certificates.get(), file, !named.contains(file)));
            continue;
        }
        // Found while walking a folder: an unrecognised file there is normal (configs, READMEs).
        QFile f(file);
        if (f.open(QIODevice::ReadOnly) && f.size() > m_options.maxFileSize) {
            out.files << file;
            out.findings << inputFinding(QStringLiteral("INPUT_UNREADABLE"), Severity::Info, file,
                                         QStringLiteral("Skipped: %1 MiB is far larger than any certificate, key or staple.")
                                             .arg(f.size() / (1024 * 1024)));
            continue;
        }
        if (!f.isOpen()) {
            out.append(loadFile(file));
            continue;
        }
        out.append(Parser(m_options, file, false, m_certificates.get()).parse(f.readAll()));
    }
    if (m_options.progress && !out.cancelled)
        m_options.progress(files.size(), files.size());
    return out;
}

} // namespace staplescope
