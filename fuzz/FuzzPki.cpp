#include "FuzzPki.h"

#include <openssl/pem.h>

namespace staplescope::fuzz {

namespace {

// Test-only P-256 keys (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256), never used
// for anything but these fixtures. Fixed so that CertIDs (issuer key hash) and signatures made in
// the seed generator process match the certificates the fuzzer process makes.
constexpr char kRootKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgq7KQo/iKmLxN8ClC
ylwpjvU91I9YLr0dmeofUlAdIhChRANCAARUfMOdqxrXpIEukoM44p1c+X5WJEIb
jyUee7cWRVKriMwIMUX0OMVP0NZLyULjpDAMU9prbfhU528ayIQdemP/
-----END PRIVATE KEY-----
)";
constexpr char kLeafKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguc6IM7C7qc4h0JO9
Rtm7dBU2bAKNipi+K11ScOGGXuihRANCAATlwlaLwBaIMV9wH7Q1z/sxqz3VylL0
fry35v0LJeZ6sFVeLogAAaqTI4lwHtcrRftwGg2GeZIdc/dOFb0Frzwj
-----END PRIVATE KEY-----
)";
constexpr char kResponderKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSykEhfbFtNeOv0aR
zkGoXA+nREYQCg7IpTxeewSnHFihRANCAAQU2IlopBqx9cFjZ00iVyyL7kwAroAg
D/1CQTqneQwk+syO3BkY/c/42v6VLx7yKwOPeMLbhTy6V5GEcP6iie2i
-----END PRIVATE KEY-----
)";

std::shared_ptr<EVP_PKEY> readKey(const char* pem)
{
    BioPtr bio(BIO_new_mem_buf(pem, -1));
    return std::shared_ptr<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                                     EVP_PKEY_free);
}

FuzzPki makeFuzzPki()
{
    FuzzPki pki;
    const QDateTime now = fuzzNow();

    CertSpec root;
    root.commonName = QStringLiteral("Staplescope Fuzz Root");
    root.notBefore = now.addYears(-5);
    root.notAfter = now.addYears(10);
    root.serial = QByteArray::fromHex("01");
    root.isCa = true;
    root.reuseKey = readKey(kRootKey);
    pki.root = pki.factory.issue(root);

    CertSpec leaf;
    leaf.commonName = QStringLiteral("www.example.test");
    leaf.dnsNames = {QStringLiteral("www.example.test"), QStringLiteral("example.test")};
    leaf.notBefore = now.addDays(-10);
    leaf.notAfter = now.addDays(80);
    leaf.serial = QByteArray::fromHex("1001");
    leaf.mustStaple = true;
    leaf.ocspUrls = {QStringLiteral("http://ocsp.example.test")};
    leaf.crlUrls = {QStringLiteral("http://crl.example.test/root.crl")};
    leaf.reuseKey = readKey(kLeafKey);
    pki.leaf = pki.factory.issue(leaf, &pki.root);

    CertSpec responder;
    responder.commonName = QStringLiteral("Staplescope Fuzz OCSP Responder");
    responder.notBefore = now.addDays(-30);
    responder.notAfter = now.addDays(60);
    responder.serial = QByteArray::fromHex("2002");
    responder.ocspSigning = true;
    responder.ocspNoCheck = true;
    responder.serverAuth = false;
    responder.reuseKey = readKey(kResponderKey);
    pki.responder = pki.factory.issue(responder, &pki.root);
    return pki;
}

} // namespace

QDateTime fuzzNow()
{
    return QDateTime(QDate(2026, 6, 1), QTime(12, 0), Qt::UTC);
}

OcspSpec FuzzPki::goodSpec() const
{
    OcspSpec spec;
    spec.thisUpdate = fuzzNow().addDays(-1);
    spec.nextUpdate = fuzzNow().addDays(6);
    return spec;
}

const FuzzPki& fuzzPki()
{
    static const FuzzPki pki = makeFuzzPki();
    return pki;
}

} // namespace staplescope::fuzz
