#include "Loader.h"

#include "FilePath.h"
#include "FindingRegistry.h"
#include "ParseCache.h"
#include "RoleInputs.h"

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

#include <algorithm>
#include <cerrno>
#include <limits>
#include <mutex>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
// Compared as plain suffixes, not with a regular expression: a name holding a byte that is not
// UTF-8 (U+DC80..U+DCFF, see FilePath.h) is invalid UTF-16, which QRegularExpression never matches.
bool looksLikePkiFileName(const QString& path)
{
    static const QLatin1String suffixes[] = {
        QLatin1String(".pem"), QLatin1String(".crt"), QLatin1String(".cer"),  QLatin1String(".der"),
        QLatin1String(".key"), QLatin1String(".ocsp"), QLatin1String(".resp"), QLatin1String(".p7b"),
        QLatin1String(".p7c"), QLatin1String(".p12"), QLatin1String(".pfx"),  QLatin1String(".crl"),
        QLatin1String(".chain"), QLatin1String(".csr"), QLatin1String(".cert"), QLatin1String(".ca-bundle")};
    for (const QLatin1String& suffix : suffixes) // ".ocsp.der" ends in ".der"
        if (path.endsWith(suffix, Qt::CaseInsensitive))
            return true;
    return false;
}

// The one-line headline lists and verdicts show; the message says the specifics.
QString inputTitle(FindingCode code)
{
    switch (code) {
    case FindingCode::InputUnreadable: return QStringLiteral("File cannot be read");
    case FindingCode::InputEmpty: return QStringLiteral("File is empty");
    case FindingCode::InputUnrecognized: return QStringLiteral("Not a certificate, key, staple or CRL");
    case FindingCode::InputMalformed: return QStringLiteral("File is damaged");
    case FindingCode::InputPasswordRequired: return QStringLiteral("Password needed");
    default: return codeName(code);
    }
}

Finding inputFinding(FindingCode code, Severity severity, const QString& subject, const QString& message,
                     const QString& fix = {}, const Remedy& remedy = {})
{
    return makeFinding(code, severity, inputTitle(code), subject, message, fix, {}, remedy);
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

// Password-protected files name their own key-derivation cost. A hostile one asks for billions of
// iterations and would hold the loading thread for hours; tools write a few thousand (OpenSSL's
// pkcs12 -export: 2,048) and the strictest current advice is 1,300,000 (PBKDF2-HMAC-SHA1).
constexpr qint64 kMaxKeyDerivationIterations = 2'000'000;

qint64 iterationCount(const ASN1_INTEGER* value)
{
    int64_t count = 0;
    if (!value || ASN1_INTEGER_get_int64(&count, value) != 1 || count < 0) {
        clearOpenSslErrors();
        return std::numeric_limits<qint64>::max(); // unreadable or absurd: as costly as it gets
    }
    return count;
}

// The iterations a password-based algorithm asks for: PBES2 with PBKDF2, or PBES1 and the PKCS#12
// PBE schemes. 0 for anything else (scrypt runs under OpenSSL's own memory bound).
qint64 iterationsOf(const X509_ALGOR* algorithm)
{
    const ASN1_OBJECT* oid = nullptr;
    int type = 0;
    const void* value = nullptr;
    X509_ALGOR_get0(&oid, &type, &value, algorithm);
    if (type != V_ASN1_SEQUENCE || !value)
        return 0;
    const auto* parameters = static_cast<const ASN1_STRING*>(value);
    const unsigned char* p = ASN1_STRING_get0_data(parameters);
    qint64 iterations = 0;
    if (OBJ_obj2nid(oid) == NID_pbes2) {
        const Pbe2ParamPtr pbes2(d2i_PBE2PARAM(nullptr, &p, ASN1_STRING_length(parameters)));
        const X509_ALGOR* kdf = pbes2 ? pbes2->keyfunc : nullptr;
        if (kdf && OBJ_obj2nid(kdf->algorithm) == NID_id_pbkdf2 && kdf->parameter && kdf->parameter->type == V_ASN1_SEQUENCE) {
            const ASN1_STRING* kdfParameters = kdf->parameter->value.sequence;
            const unsigned char* q = ASN1_STRING_get0_data(kdfParameters);
            const Pbkdf2ParamPtr pbkdf2(d2i_PBKDF2PARAM(nullptr, &q, ASN1_STRING_length(kdfParameters)));
            if (pbkdf2)
                iterations = iterationCount(pbkdf2->iter);
        }
    } else if (const PbeParamPtr pbes1(d2i_PBEPARAM(nullptr, &p, ASN1_STRING_length(parameters))); pbes1) {
        iterations = iterationCount(pbes1->iter);
    }
    clearOpenSslErrors();
    return iterations;
}

// The largest iteration count a PKCS#12 file asks for among what can be read before decrypting:
// its MAC, each encrypted safe, each shrouded key in a plain safe (where OpenSSL puts keys).
qint64 pkcs12Iterations(const PKCS12* p12)
{
    qint64 most = 0;
    const ASN1_INTEGER* macIterations = nullptr;
    PKCS12_get0_mac(nullptr, nullptr, nullptr, &macIterations, p12);
    if (macIterations) // absent means 1
        most = iterationCount(macIterations);
    const Pkcs7StackPtr safes(PKCS12_unpack_authsafes(p12));
    for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
        PKCS7* safe = sk_PKCS7_value(safes.get(), i);
        const int kind = OBJ_obj2nid(safe->type);
        if (kind == NID_pkcs7_encrypted && safe->d.encrypted && safe->d.encrypted->enc_data &&
            safe->d.encrypted->enc_data->algorithm) {
            most = std::max(most, iterationsOf(safe->d.encrypted->enc_data->algorithm));
        } else if (kind == NID_pkcs7_data) {
            const SafeBagStackPtr bags(PKCS12_unpack_p7data(safe));
            for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags.get()); ++j) {
                const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags.get(), j);
                if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag)
                    continue;
                const X509_ALGOR* algorithm = nullptr;
                X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &algorithm, nullptr);
                if (algorithm)
                    most = std::max(most, iterationsOf(algorithm));
            }
        }
    }
    clearOpenSslErrors();
    return most;
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

// OpenSSL's sk_*_num returns -1 for a NULL stack, which is how it represents an absent optional
// SET OF: read that as empty, never as a count.
int stackSize(int num)
{
    return num < 0 ? 0 : num;
}

// At most this many PEM blocks are read from one file. A file at the size limit (16 MiB) holds
// about 13,000 real certificates and bundles of 10,000 must load; a tenfold margin still stops a
// file of half a million empty blocks from becoming half a million objects.
constexpr qsizetype kMaxPemBlocksPerFile = 100'000;

// Findings of one kind (code, severity, title) stored per file; the rest are only counted, and
// collapseRepeatedFindings turns the kind into one summary with the total. Enough to fill that
// summary's details, and to collapse at all.
constexpr qsizetype kFindingsKeptPerKind = kRepeatsBeforeCollapse;
static_assert(kFindingsKeptPerKind >= kLocationsShownWhenCollapsed);

bool isBase64Text(const QByteArray& data)
{
    static const QRegularExpression base64(QStringLiteral("^[A-Za-z0-9+/=\\s]+$"));
    const QByteArray trimmed = data.trimmed();
    return trimmed.size() >= 16 && base64.match(QString::fromLatin1(trimmed)).hasMatch();
}

} // namespace

namespace {

class Parser {
public:
    Parser(const LoadOptions& options, const QString& origin, bool loud, ParseCache* cache)
        : m_options(options), m_origin(origin), m_loud(loud), m_parseCache(cache)
    {
    }

    // Met while walking a folder rather than named by the user: files that normally live beside
    // certificates (a CSR) are then noted, not warned about.
    void setFoundInFolder(bool found) { m_foundInFolder = found; }

    LoadedInputs parse(const QByteArray& data)
    {
        m_out.files << m_origin;
        if (data.trimmed().isEmpty()) {
            report(inputFinding(
                FindingCode::InputEmpty, m_loud ? Severity::Warning : Severity::Info, m_origin,
                data.isEmpty() ? QStringLiteral("The file is empty (0 bytes).")
                               : QStringLiteral("The file holds only whitespace (%1 bytes).").arg(data.size()),
                QStringLiteral("If a renewal or fetch job writes this file, it failed or was interrupted; run it again and check its log.")));
            return finish();
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
        return finish();
    }

private:
    struct PemBlock {
        QByteArray label;
        QByteArray body;      // base64 lines, headers removed
        qsizetype begin = 0;  // where the block starts in the file (its BEGIN line)...
        qsizetype end = 0;    // ...and ends (after its END line): OpenSSL's own PEM readers get that text
        bool legacyEncrypted = false;
    };

    // Every finding of this file goes through here. Only the first kFindingsKeptPerKind of a kind
    // are stored, the rest only counted: a file of a million broken blocks must not hold a million
    // findings before finish() collapses them into one.
    void report(Finding finding)
    {
        const QString kind = findingKind(finding);
        qsizetype& seen = m_kindCounts[kind];
        if (++seen > kFindingsKeptPerKind) {
            ++m_notKept[kind];
            return;
        }
        m_out.findings << std::move(finding);
    }

    LoadedInputs finish()
    {
        m_out.findings = collapseRepeatedFindings(m_out.findings, m_origin, m_notKept);
        return m_out;
    }

    // A certificate whose validity times do not parse gets invalid dates, which every later stage
    // would read as "expired" or "not yet valid" without saying why: name the real problem here.
    void checkCertificateTimes(const Certificate& cert, const SourceLocation& where)
    {
        if (const QString problem = unreadableValidityText(cert); !problem.isEmpty())
            malformed(problem, where, QStringLiteral("Replace the certificate with one from its CA; a valid certificate never has this."));
    }

    // thisUpdate is required; nextUpdate is optional, so only thisUpdate can be told unreadable.
    void addCrl(const Crl& crl, const SourceLocation& where)
    {
        if (!crl.thisUpdate().isValid())
            malformed(QStringLiteral("The CRL's thisUpdate is not a valid time; its age is unknown."), where,
                      QStringLiteral("Fetch the CRL again from its distribution point; a valid one never has this."));
        m_out.crls << crl;
    }

    // For DER that d2i_X509 refused: the reason, when it is the version field (a parser stricter
    // than OpenSSL 3.0's refuses versions other than v1 to v3); empty otherwise.
    static QString refusedVersionText(const QByteArray& der)
    {
        const std::optional<long> version = statedCertificateVersion(der);
        return version ? invalidVersionText(*version, false) : QString();
    }

    void addCertificate(const Certificate& cert, const SourceLocation& where)
    {
        if (cert.isNull()) { // decoded, but OpenSSL cannot encode it again
            malformed(QStringLiteral("The certificate decodes but cannot be read back."), where);
            return;
        }
        checkCertificateTimes(cert, where);
        // Kept (this OpenSSL uses it), but named: other clients refuse it.
        if (const QString problem = invalidVersionText(X509_get_version(cert.get0()), true); !problem.isEmpty())
            malformed(problem, where, QStringLiteral("Replace the certificate with one from its CA; a valid certificate never has this."));
        m_out.certificates << cert;
    }

    void unrecognized(const QString& looksLike, const SourceLocation* where = nullptr)
    {
        const QString subject = where ? where->display() : m_origin;
        report(inputFinding(
            FindingCode::InputUnrecognized, m_loud ? Severity::Warning : Severity::Info, subject,
            QStringLiteral("Not a certificate, key, OCSP response or CRL: this looks like %1.").arg(looksLike),
            QStringLiteral("Point the tool at the PEM or DER file the server is configured with.")));
    }

    // A file that is not a certificate but is at home beside one (certbot 1.x's csr/ folder, the CSR
    // an admin keeps next to server.crt): only worth a note when found while walking a folder.
    void companion(const QString& looksLike, const SourceLocation& where)
    {
        if (!m_foundInFolder) {
            unrecognized(looksLike, &where);
            return;
        }
        report(inputFinding(FindingCode::InputUnrecognized, Severity::Info, where.display(),
                                       QStringLiteral("Skipped: this is %1. Kept beside certificates it is harmless.").arg(looksLike)));
    }

    void malformed(const QString& what, const SourceLocation& where, const QString& fix = {})
    {
        report(inputFinding(FindingCode::InputMalformed, Severity::Error, where.display(), what,
                                       fix.isEmpty() ? QStringLiteral("Replace the file with an intact copy (re-download or re-fetch it).")
                                                     : fix));
    }

    // One pass over the lines, by position: the file is never copied into a list of lines, and a
    // block keeps only its base64 body and where it lies. Time and memory are linear in the size.
    void parsePem(const QByteArray& data)
    {
        QList<PemBlock> blocks;
        PemBlock current;
        bool inBlock = false;
        bool inHeaders = false;
        bool broken = false;
        qsizetype stoppedAt = -1; // where reading stopped at kMaxPemBlocksPerFile, or -1
        const QByteArrayView text(data);
        // Each step consumes one line, so the loop is bounded by the file size (LoadOptions::maxFileSize).
        for (qsizetype pos = 0; pos < text.size();) {
            qsizetype newline = text.indexOf('\n', pos);
            if (newline < 0)
                newline = text.size();
            const qsizetype lineStart = pos;
            const QByteArrayView line = text.sliced(pos, newline - pos).trimmed(); // also removes CR of CRLF files
            pos = newline + 1;
            if (!inBlock) {
                if (line.startsWith("-----BEGIN ") && line.endsWith("-----")) {
                    if (blocks.size() >= kMaxPemBlocksPerFile) {
                        stoppedAt = lineStart;
                        break;
                    }
                    current = PemBlock();
                    current.label = line.sliced(11, line.size() - 16).toByteArray();
                    current.begin = lineStart;
                    inBlock = true;
                    inHeaders = true;
                }
                continue;
            }
            if (line.startsWith("-----END ")) {
                // As QByteArray::mid(9, size - 14) read it: a line too short for "-----" gives the rest.
                const qsizetype endLength = line.size() - 14;
                const QByteArrayView endLabel = endLength >= 0 ? line.sliced(9, endLength) : line.sliced(9);
                if (endLabel != current.label) {
                    broken = true;
                    // Concatenated, not arg()'d twice: labels are the file's text.
                    malformed(QStringLiteral("Broken PEM: block \"") + QString::fromLatin1(current.label) +
                                  QStringLiteral("\" ends with \"-----END ") + QString::fromLatin1(endLabel) +
                                  QStringLiteral("-----\"."),
                              SourceLocation{m_origin, 0, 1});
                }
                current.end = qMin(pos, text.size());
                blocks << std::move(current);
                current = PemBlock();
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
        if (inBlock) {
            broken = true;
            malformed(QStringLiteral("Broken PEM: the last block \"") + QString::fromLatin1(current.label) +
                          QStringLiteral("\" has no END line: the file is truncated."),
                      SourceLocation{m_origin, 0, 1});
        }
        if (blocks.isEmpty() && !broken) {
            const qsizetype begin = data.indexOf("-----BEGIN ");
            malformed(QStringLiteral("Broken PEM: the line \"") +
                          QString::fromLatin1(data.mid(begin, 40).split('\n').first().trimmed()) +
                          QStringLiteral("\" starts a PEM block but is cut off or damaged."),
                      SourceLocation{m_origin, 0, 1});
        }
        if (stoppedAt >= 0)
            report(inputFinding(FindingCode::InputUnreadable, Severity::Warning, m_origin,
                                QStringLiteral("The file holds more than %1 PEM blocks, far more than any real bundle; only the "
                                               "first %1 were read (reading stopped at byte %2).")
                                    .arg(kMaxPemBlocksPerFile)
                                    .arg(stoppedAt),
                                QStringLiteral("Split the file, or check what wrote it.")));

        const int count = int(blocks.size());
        for (int i = 0; i < count; ++i) {
            parsePemBlock(data, blocks.at(i), SourceLocation{m_origin, i, count});
            blocks[i].body.clear(); // done with it: the next block's objects need the memory more
        }
    }

    // The block's own text, one trimmed line after another, for OpenSSL's PEM readers.
    static QByteArray pemText(const QByteArray& data, const PemBlock& block)
    {
        QByteArray out;
        const QByteArrayView text = QByteArrayView(data).sliced(block.begin, block.end - block.begin);
        for (qsizetype pos = 0; pos < text.size();) { // one line per step, bounded by the block's size
            qsizetype newline = text.indexOf('\n', pos);
            if (newline < 0)
                newline = text.size();
            out += text.sliced(pos, newline - pos).trimmed();
            out += '\n';
            pos = newline + 1;
        }
        return out;
    }

    void parsePemBlock(const QByteArray& data, const PemBlock& block, const SourceLocation& where)
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
                addCertificate(Certificate::fromX509(std::move(x), where), where);
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
                addLegacyEncryptedKey(pemText(data, block), format, where);
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
            addCertificate(Certificate::fromX509(X509Ptr(x.release()), where), where);
        } else if (auto resp = decodeExact<OCSP_RESPONSE>(der, d2i_OCSP_RESPONSE, OCSP_RESPONSE_free)) {
            addStapleDer(der, where, encoding);
        } else if (auto p7 = decodeExact<PKCS7>(der, d2i_PKCS7, PKCS7_free)) {
            addPkcs7Der(der, where);
        } else if (auto p12 = decodeExact<PKCS12>(der, d2i_PKCS12, PKCS12_free)) {
            addPkcs12(Pkcs12Ptr(p12.release()), where);
        } else if (auto crl = decodeExact<X509_CRL>(der, d2i_X509_CRL, X509_CRL_free)) {
            addCrl(Crl::fromX509Crl(X509CrlPtr(crl.release()), where), where);
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
        } else if (const QString refused = refusedVersionText(der); !refused.isEmpty()) {
            malformed(refused, where);
        } else {
            malformed(QStringLiteral("DER-encoded ASN.1 (%1 bytes) that is not a certificate, OCSP response, PKCS#7, "
                                     "PKCS#12, CRL or private key; it may be damaged.").arg(der.size()),
                      where);
        }
    }

    void addCertificateDer(const QByteArray& der, const SourceLocation& where, const QString& what)
    {
        const Certificate cert = m_parseCache->certificate(der, where);
        if (cert.isNull()) {
            const qint64 total = derTotalLength(der);
            if (total > der.size())
                malformed(QStringLiteral("The %1 is truncated: %2 of %3 bytes.").arg(what, QString::number(der.size()), QString::number(total)),
                          where);
            else if (const QString refused = refusedVersionText(der); !refused.isEmpty())
                malformed(refused, where);
            else
                malformed(QStringLiteral("The %1 does not decode as X.509.").arg(what), where);
            return;
        }
        addCertificate(cert, where);
    }

    void addStapleDer(const QByteArray& der, const SourceLocation& where, OcspStaple::Encoding encoding)
    {
        auto parsed = OcspStaple::fromDer(der, where, encoding);
        if (parsed.staple.isNull()) {
            malformed(QStringLiteral("The OCSP response is damaged: %1.").arg(parsed.error), where);
            return;
        }
        // producedAt and thisUpdate are required; when they do not parse, the staple's age and
        // freshness are unknown, which later stages would otherwise call "expired" without saying why.
        bool timesReadable = !parsed.staple.isSuccessful() || parsed.staple.producedAt().isValid();
        for (const OcspSingleResponse& single : parsed.staple.responses())
            timesReadable = timesReadable && single.thisUpdate.isValid();
        if (!timesReadable)
            malformed(QStringLiteral("The OCSP response's producedAt or thisUpdate is not a valid time; its freshness is unknown."),
                      where, QStringLiteral("Fetch a fresh response from the responder; a valid one never has this."));
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
        // ContentInfo's content is OPTIONAL: "signedData" with nothing after the type (13 bytes)
        // decodes, and then d.sign is NULL. Its certificates and crls fields are optional too.
        const PKCS7_SIGNED* signedData = p7->d.sign;
        if (!signedData) {
            report(inputFinding(FindingCode::InputEmpty, Severity::Warning, where.display(),
                                QStringLiteral("The PKCS#7 bundle is an empty signedData shell: it holds no content at all, "
                                               "so no certificates.")));
            return;
        }
        const int n = stackSize(sk_X509_num(signedData->cert));
        for (int i = 0; i < n; ++i) {
            X509* x = sk_X509_value(signedData->cert, i);
            if (!x)
                continue;
            X509_up_ref(x);
            addCertificate(Certificate::fromX509(X509Ptr(x), SourceLocation{where.path, i, n}), SourceLocation{where.path, i, n});
        }
        const int crlCount = stackSize(sk_X509_CRL_num(signedData->crl));
        for (int i = 0; i < crlCount; ++i) {
            X509_CRL* c = sk_X509_CRL_value(signedData->crl, i);
            if (!c)
                continue;
            X509_CRL_up_ref(c);
            addCrl(Crl::fromX509Crl(X509CrlPtr(c), where), where);
        }
        if (n == 0 && crlCount == 0)
            report(inputFinding(FindingCode::InputEmpty, Severity::Warning, where.display(),
                                           QStringLiteral("The PKCS#7 bundle holds no certificates.")));
    }

    void addCrlDer(const QByteArray& der, const SourceLocation& where)
    {
        auto crl = decodeExact<X509_CRL>(der, d2i_X509_CRL, X509_CRL_free);
        if (!crl) {
            malformed(QStringLiteral("The CRL does not decode."), where);
            return;
        }
        addCrl(Crl::fromX509Crl(X509CrlPtr(crl.release()), where), where);
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
        auto sig = decodeExact<X509_SIG>(der, d2i_X509_SIG, X509_SIG_free);
        if (sig) {
            const X509_ALGOR* algorithm = nullptr;
            X509_SIG_get0(sig.get(), &algorithm, nullptr);
            if (const qint64 iterations = algorithm ? iterationsOf(algorithm) : 0; iterations > kMaxKeyDerivationIterations) {
                tooCostlyToOpen(QStringLiteral("encrypted private key"), iterations, where);
                return;
            }
        }
        const auto password = askPassword();
        if (password) {
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
        report(inputFinding(FindingCode::InputPasswordRequired, Severity::Error, where.display(),
                                       QStringLiteral("The password given does not open this %1.").arg(what),
                                       QStringLiteral("Check the password and try again."),
                                       Remedy{RemedyKind::GivePassword, where.path, {}, {}}));
    }

    void tooCostlyToOpen(const QString& what, qint64 iterations, const SourceLocation& where)
    {
        m_out.findings << inputFinding(
            FindingCode::InputUnreadable, Severity::Error, where.display(),
            QStringLiteral("This %1 asks for %2 key-derivation iterations to check a password, more than the %3 any tool "
                           "writes; it was not opened, so that a hostile file cannot hold the program for hours.")
                .arg(what, QString::number(iterations), QString::number(kMaxKeyDerivationIterations)),
            QStringLiteral("Export it again with the usual settings (openssl pkcs12 -export uses 2,048 iterations)."));
    }

    void addPkcs12(Pkcs12Ptr p12, const SourceLocation& where)
    {
        if (const qint64 iterations = pkcs12Iterations(p12.get()); iterations > kMaxKeyDerivationIterations) {
            tooCostlyToOpen(QStringLiteral("PKCS#12 file"), iterations, where);
            return;
        }
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
        report(inputFinding(
            FindingCode::InputPasswordRequired, Severity::Error, where.display(),
            hadPassword ? QStringLiteral("The password given does not open this PKCS#12 file.")
                        : QStringLiteral("This PKCS#12 file is password-protected and no password was given."),
            QStringLiteral("Give the password; it is used only to read the file."),
            Remedy{RemedyKind::GivePassword, where.path, {}, {}}));
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
        // PKCS12_parse leaves `ca` NULL when the file has no extra certificates.
        const int count = (cert ? 1 : 0) + stackSize(sk_X509_num(ca.get()));
        int index = 0;
        if (cert) {
            const SourceLocation at{where.path, index++, count};
            addCertificate(Certificate::fromX509(std::move(cert), at), at);
        }
        while (stackSize(sk_X509_num(ca.get())) > 0) {
            X509Ptr extra(sk_X509_shift(ca.get()));
            if (!extra)
                continue;
            const SourceLocation at{where.path, index++, count};
            addCertificate(Certificate::fromX509(std::move(extra), at), at);
        }
        if (key)
            m_out.keys << PrivateKey::fromKey(std::move(key), QStringLiteral("PKCS#12"), where);
        return true;
    }

    const LoadOptions& m_options;
    QString m_origin;
    bool m_loud;
    bool m_foundInFolder = false;
    ParseCache* m_parseCache;
    bool m_passwordAsked = false;
    std::optional<QString> m_password;
    LoadedInputs m_out;
    QHash<QString, qsizetype> m_kindCounts; // findings seen, by findingKind()
    QHash<QString, qsizetype> m_notKept;    // of those, not stored (beyond kFindingsKeptPerKind)
};

} // namespace

Loader::Loader(LoadOptions options)
    : m_options(std::move(options)), m_cache(std::make_shared<ParseCache>())
{
}

LoadedInputs Loader::loadData(const QByteArray& data, const QString& origin) const
{
    return Parser(m_options, origin, true, m_cache.get()).parse(data);
}

namespace {

// Bounds of one walk (one expandPaths call), so that naming "/" or a hostile tree costs a known,
// linear amount and the loss is reported rather than silent.
// Folder depth below a named folder: real layouts are shallow (certbot's archive/NAME/ is 2 below
// /etc/letsencrypt, a Kubernetes secret mount's ..data/ link 1), so 32 is generous.
constexpr int kMaxFolderDepth = 32;
// Regular files listed per walk (each is then opened and sniffed). /etc/ssl/certs with its hash
// links has well under a thousand; a hundred thousand is only met walking a whole system.
constexpr qsizetype kMaxFilesPerWalk = 100'000;
// Directory entries examined per walk (files, folders, links, anything; one lstat each): bounds
// the walk's own cost in a tree of many folders that hold few files.
constexpr qsizetype kMaxEntriesPerWalk = 1'000'000;

Finding unreadable(Severity severity, const QString& subject, const QString& message, const QString& fix = {})
{
    return inputFinding(FindingCode::InputUnreadable, severity, subject, message, fix);
}

// Where a symbolic link points, as an absolute path when it is relative (as `ls -l` users think of it).
QString linkTarget(int dirFd, const QByteArray& name, const QByteArray& linkPath)
{
    QByteArray target(4096, Qt::Uninitialized); // PATH_MAX: readlink never returns more
    const ssize_t length = ::readlinkat(dirFd, name.constData(), target.data(), size_t(target.size()));
    if (length < 0)
        return QStringLiteral("an unreadable target");
    target.truncate(qsizetype(length));
    if (!target.startsWith('/')) {
        const qsizetype slash = linkPath.lastIndexOf('/');
        if (slash >= 0)
            target.prepend(linkPath.left(slash + 1));
    }
    return decodeFileName(target);
}

// A symbolic link that cannot be followed: stat(2)'s errno tells a missing target (ENOENT,
// ENOTDIR) from a loop of links (ELOOP) from a target that exists but cannot be reached (EACCES…).
Finding brokenLink(Severity severity, const QString& subject, const QString& target, int error, bool named)
{
    if (error == ELOOP)
        return unreadable(severity, subject,
                          QStringLiteral("Symbolic link loop: the link points to %1, which leads back through links to itself; "
                                         "there is no file at the end.").arg(target),
                          QStringLiteral("Point the link at the real file (ls -l shows where each link goes)."));
    if (error == ENOENT || error == ENOTDIR)
        return unreadable(severity, subject,
                          named ? QStringLiteral("The symbolic link points to %1, which does not exist.").arg(target)
                                : QStringLiteral("Dangling symbolic link to %1.").arg(target),
                          named ? QStringLiteral("Check the path; the server would fail to start with it too.")
                                : QStringLiteral("A renewal tool may have removed its target; a server reading this path fails."));
    return unreadable(severity, subject,
                      QStringLiteral("The symbolic link points to %1, which cannot be reached: %2.")
                          .arg(target, qt_error_string(error)),
                      QStringLiteral("Run as a user who can read the link's target (and every folder on the way to it)."));
}

// Lists regular files on raw byte paths (POSIX), so that a name that is not UTF-8 is read too and
// nothing is skipped without a finding. Files and folders are identified by device and inode: a
// folder reached twice (a symlink to it, a loop) is walked once, a file listed once.
class Walk {
public:
    explicit Walk(QList<Finding>* findings) : m_findings(findings) {}

    void addNamed(const QString& path)
    {
        const QByteArray bytes = encodeFileName(path);
        struct stat linkStat {};
        if (::lstat(bytes.constData(), &linkStat) != 0) {
            const int error = errno;
            note(error == ENOENT || error == ENOTDIR
                     ? unreadable(Severity::Error, path, QStringLiteral("No such file or folder."),
                                  QStringLiteral("Check the path; the server would fail to start with it too."))
                     : unreadable(Severity::Error, path, QStringLiteral("The path cannot be examined: %1.").arg(qt_error_string(error))));
            return;
        }
        const bool isLink = S_ISLNK(linkStat.st_mode);
        struct stat target = linkStat;
        if (isLink && ::stat(bytes.constData(), &target) != 0) {
            const int error = errno;
            note(brokenLink(Severity::Error, path, linkTarget(AT_FDCWD, bytes, bytes), error, true));
            return;
        }
        if (S_ISREG(target.st_mode)) {
            addFile(path, target, isLink);
            return;
        }
        if (!S_ISDIR(target.st_mode)) {
            note(unreadable(Severity::Error, path, QStringLiteral("Neither a regular file nor a folder (a device, socket or pipe).")));
            return;
        }
        // The walk's findings about one named folder are collapsed like a file's: a tree of ten
        // thousand dangling links is one finding with a count.
        QList<Finding> walkFindings;
        QList<Finding>* outer = m_findings;
        m_findings = &walkFindings;
        walkFolder(bytes, path, target);
        m_findings = outer;
        if (m_findings)
            *m_findings += collapseRepeatedFindings(walkFindings, path);
    }

    QStringList files() const { return m_files; }

private:
    struct Pending {
        QByteArray bytes;
        int depth = 0;
    };
    using FileId = QPair<quint64, quint64>; // st_dev, st_ino

    static FileId idOf(const struct stat& st) { return {quint64(st.st_dev), quint64(st.st_ino)}; }

    void note(const Finding& f)
    {
        if (m_findings)
            *m_findings << f;
    }

    // A file reached both directly and through a symlink is named by the link: that is the path
    // server configurations use (certbot's live/NAME/cert.pem, not archive/NAME/cert2.pem).
    void addFile(const QString& shown, const struct stat& st, bool viaLink)
    {
        const FileId id = idOf(st);
        const auto it = m_seenFiles.constFind(id);
        if (it != m_seenFiles.constEnd()) {
            if (viaLink && !m_viaLink.at(*it)) {
                m_files[*it] = shown;
                m_viaLink[*it] = true;
            }
            return;
        }
        if (m_files.size() >= kMaxFilesPerWalk) {
            if (!m_filesBoundReported)
                note(unreadable(Severity::Warning, shown,
                                QStringLiteral("More than %1 files were found; this and the files after it were not read.")
                                    .arg(kMaxFilesPerWalk),
                                QStringLiteral("Name the folders that hold the certificates rather than a whole tree.")));
            m_filesBoundReported = true;
            return;
        }
        m_seenFiles.insert(id, m_files.size());
        m_files << shown;
        m_viaLink << viaLink;
    }

    static QByteArray join(const QByteArray& folder, const QByteArray& name)
    {
        return folder.endsWith('/') ? folder + name : folder + '/' + name;
    }

    void walkFolder(QByteArray root, const QString& rootShown, const struct stat& rootStat)
    {
        // "dir/" and "dir" list as "dir/file", as QDir did.
        while (root.size() > 1 && root.endsWith('/'))
            root.chop(1);
        if (m_seenDirs.contains(idOf(rootStat)))
            return; // named twice, or through a link to a folder already walked
        m_seenDirs.insert(idOf(rootStat));
        QList<Pending> pending{{root, 0}};
        // Breadth first. Bounded: a folder is queued once (m_seenDirs), at most kMaxFolderDepth deep,
        // and every name read counts against kMaxEntriesPerWalk.
        for (qsizetype next = 0; next < pending.size(); ++next) {
            const Pending dir = pending.at(next);
            const QString dirShown = next == 0 ? rootShown : decodeFileName(dir.bytes);
            const QList<QByteArray> names = list(dir.bytes, dirShown);
            if (names.isEmpty())
                continue;
            const int dirFd = ::open(dir.bytes.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dirFd < 0)
                continue; // vanished since list() read it: reported there if it could not be opened
            for (const QByteArray& name : names) {
                if (name == ".git")
                    continue;
                const QByteArray childBytes = join(dir.bytes, name);
                const QString child = decodeFileName(childBytes);
                struct stat linkStat {};
                if (::fstatat(dirFd, name.constData(), &linkStat, AT_SYMLINK_NOFOLLOW) != 0) {
                    note(unreadable(Severity::Error, child, QStringLiteral("Cannot be examined: %1.").arg(qt_error_string(errno))));
                    continue;
                }
                const bool isLink = S_ISLNK(linkStat.st_mode);
                struct stat st = linkStat;
                if (isLink && ::fstatat(dirFd, name.constData(), &st, 0) != 0) {
                    const int error = errno;
                    note(brokenLink(Severity::Warning, child, linkTarget(dirFd, name, childBytes), error, false));
                    continue;
                }
                if (S_ISDIR(st.st_mode)) {
                    if (m_seenDirs.contains(idOf(st)))
                        continue; // a link back up (a loop) or to a folder already walked: read once
                    if (dir.depth + 1 > kMaxFolderDepth) {
                        note(unreadable(Severity::Warning, child,
                                        QStringLiteral("Not read: this folder is more than %1 levels deep.").arg(kMaxFolderDepth),
                                        QStringLiteral("Name it directly if it holds certificates.")));
                        continue;
                    }
                    m_seenDirs.insert(idOf(st));
                    pending << Pending{childBytes, dir.depth + 1};
                } else if (S_ISREG(st.st_mode)) {
                    addFile(child, st, isLink);
                } else {
                    note(unreadable(Severity::Info, child,
                                    QStringLiteral("Skipped: neither a regular file nor a folder (a device, socket or pipe).")));
                }
            }
            ::close(dirFd);
        }
    }

    // The names in one folder, sorted bytewise (the order files are read and shown in).
    QList<QByteArray> list(const QByteArray& folder, const QString& shown)
    {
        QList<QByteArray> names;
        const auto cannotList = [&](int error) {
            note(unreadable(Severity::Error, shown,
                            error == EACCES ? QStringLiteral("The folder cannot be listed: permission denied.")
                                            : QStringLiteral("The folder cannot be listed: %1.").arg(qt_error_string(error)),
                            QStringLiteral("Run as a user who can read it (certificates under /etc are often root-only).")));
        };
        if (::access(folder.constData(), R_OK | X_OK) != 0) {
            cannotList(errno);
            return names;
        }
        DIR* dir = ::opendir(folder.constData());
        if (!dir) {
            cannotList(errno);
            return names;
        }
        // One name per step; the whole walk stops at kMaxEntriesPerWalk names.
        for (;;) {
            errno = 0;
            const dirent* entry = ::readdir(dir);
            if (!entry) {
                if (errno != 0)
                    note(unreadable(Severity::Error, shown,
                                    QStringLiteral("Listing the folder failed part way: %1; some files were not read.")
                                        .arg(qt_error_string(errno))));
                break;
            }
            const QByteArray name(entry->d_name);
            if (name == "." || name == "..")
                continue;
            if (++m_entries > kMaxEntriesPerWalk) {
                if (!m_entriesBoundReported)
                    note(unreadable(Severity::Warning, shown,
                                    QStringLiteral("More than %1 folder entries were examined; the walk stopped here and the "
                                                   "rest was not read.").arg(kMaxEntriesPerWalk),
                                    QStringLiteral("Name the folders that hold the certificates rather than a whole tree.")));
                m_entriesBoundReported = true;
                break;
            }
            names << name;
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        return names;
    }

    QList<Finding>* m_findings;
    QStringList m_files;
    QList<bool> m_viaLink; // per m_files entry: reached through a symbolic link
    QHash<FileId, qsizetype> m_seenFiles;
    QSet<FileId> m_seenDirs;
    qsizetype m_entries = 0;
    bool m_filesBoundReported = false;
    bool m_entriesBoundReported = false;
};

} // namespace

QStringList Loader::expandPaths(const QStringList& paths, QList<Finding>* findings)
{
    Walk walk(findings);
    for (const QString& path : paths)
        walk.addNamed(path);
    return walk.files();
}

namespace {

// The whole file, or nothing when it holds more than `bound` bytes. The size from stat is not
// trusted alone: a file can grow between the stat and the read (a log, a file being written).
std::optional<QByteArray> readAtMost(QFile& file, qint64 bound)
{
    if (file.size() > bound)
        return std::nullopt;
    // QIODevice::read(n) allocates n bytes before reading: with the 16 MiB bound that is an mmap
    // and munmap of 16 MiB per file, which cost more than parsing a certificate. Read in pieces,
    // sized by what stat() said, until end of file or one byte past the bound (the file may have
    // grown since, or be a special file whose size says nothing).
    constexpr qint64 kChunkBytes = 64 * 1024;
    QByteArray data;
    data.reserve(qsizetype(std::min(bound, file.size()) + 1));
    while (data.size() <= bound) {
        const QByteArray chunk = file.read(std::min(kChunkBytes, bound + 1 - data.size()));
        if (chunk.isEmpty())
            break;
        data.append(chunk);
    }
    if (data.size() > bound)
        return std::nullopt;
    return data;
}

LoadedInputs readAndParse(const LoadOptions& options, ParseCache* cache, const QString& path,
                          bool foundInFolder)
{
    LoadedInputs out;
    QFile file;
    int error = 0;
    if (!openForReading(file, path, &error)) {
        out.files << path;
        const bool denied = error == EACCES || error == EPERM;
        out.findings << inputFinding(FindingCode::InputUnreadable, Severity::Error, path,
                                     denied ? QStringLiteral("Permission denied: the file cannot be read by this user.")
                                            : QStringLiteral("The file cannot be read: %1.").arg(qt_error_string(error)),
                                     denied ? QStringLiteral("Run as a user who can read it (for example with sudo).")
                                            : QString());
        return out;
    }
    const std::optional<QByteArray> data = readAtMost(file, options.maxFileSize);
    if (!data) {
        out.files << path;
        out.findings << inputFinding(FindingCode::InputUnreadable, Severity::Error, path,
                                     QStringLiteral("The file is %1 MiB, far larger than any certificate, key or staple; it was not read.")
                                         .arg(file.size() / (1024 * 1024)));
        return out;
    }
    Parser parser(options, path, true, cache);
    parser.setFoundInFolder(foundInFolder);
    return parser.parse(*data);
}

} // namespace

LoadedInputs Loader::loadFile(const QString& path) const
{
    return readAndParse(m_options, m_cache.get(), path, false);
}

RoleInputs Loader::loadRoles(const RoleFiles& files) const
{
    RoleInputs roles;
    roles.cert = loadPaths(files.certFiles);
    roles.chain = loadPaths(files.chainFiles);
    roles.staple = loadPaths(files.stapleFiles);
    roles.key = loadPaths(files.keyFiles);
    roles.origin = QStringLiteral("--cert %1").arg(files.certFiles.join(QLatin1Char(' ')));
    return roles;
}

LoadedInputs Loader::loadPaths(const QStringList& paths) const
{
    LoadedInputs out;
    QStringList onDisk;
    for (const QString& p : paths) {
        if (const auto given = m_options.givenData.constFind(p); given != m_options.givenData.cend())
            out.append(loadData(*given, p));
        else
            onDisk << p;
    }
    const QStringList files = expandPaths(onDisk, &out.findings);
    QSet<QString> named;
    for (const QString& p : onDisk)
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
            out.append(readAndParse(m_options, m_cache.get(), file, !named.contains(file)));
            continue;
        }
        // Found while walking a folder: an unrecognised file there is normal (configs, READMEs).
        QFile f;
        if (!openForReading(f, file)) {
            out.append(loadFile(file));
            continue;
        }
        const std::optional<QByteArray> data = readAtMost(f, m_options.maxFileSize);
        if (!data) {
            out.files << file;
            out.findings << inputFinding(FindingCode::InputUnreadable, Severity::Info, file,
                                         QStringLiteral("Skipped: %1 MiB is far larger than any certificate, key or staple.")
                                             .arg(f.size() / (1024 * 1024)));
            continue;
        }
        out.append(Parser(m_options, file, false, m_cache.get()).parse(*data));
    }
    if (m_options.progress && !out.cancelled)
        m_options.progress(files.size(), files.size());
    return out;
}

} // namespace staplescope
