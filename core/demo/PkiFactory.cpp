#include "PkiFactory.h"

#include <QLoggingCategory>

#include <openssl/pem.h>
#include <openssl/rand.h>

namespace staplescope {

Q_LOGGING_CATEGORY(lcPkiFactory, "staplescope.pkifactory")

namespace {

// The factory's API returns values, not errors: it builds fixtures, so a failure is a bug in the
// caller's spec or in this file. Log what OpenSSL said at the call that failed and return empty.
bool check(bool ok, const char* what)
{
    if (!ok)
        qCWarning(lcPkiFactory, "%s failed: %s", what, qPrintable(takeOpenSslErrors()));
    return ok;
}

template <class T, int (*I2d)(const T*, unsigned char**)>
QByteArray toDer(const T* object)
{
    const int length = I2d(object, nullptr);
    if (!check(length > 0, "DER encoding"))
        return {};
    QByteArray der(length, Qt::Uninitialized);
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (!check(I2d(object, &out) == length, "DER encoding"))
        return {};
    return der;
}

Asn1TimePtr toAsn1Time(const QDateTime& time)
{
    // ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime after, as RFC 5280 requires.
    return Asn1TimePtr(ASN1_TIME_set(nullptr, time_t(time.toSecsSinceEpoch())));
}

bool isEdwards(const EVP_PKEY* key)
{
    return EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448");
}

// Ed25519 signs the message itself, so OpenSSL wants no digest for it.
const EVP_MD* signingDigest(const EVP_PKEY* key, const EVP_MD* wanted)
{
    if (isEdwards(key))
        return nullptr;
    return wanted ? wanted : EVP_sha256();
}

EvpPkeyPtr generateKey(KeyType type)
{
    switch (type) {
    case KeyType::EcP256:
        return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    case KeyType::Rsa2048:
        return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
    case KeyType::Ed25519:
        return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    case KeyType::Rsa1024:
        return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(1024)));
    }
    return {};
}

Asn1IntegerPtr makeSerial(const std::optional<QByteArray>& wanted, bool negative)
{
    QByteArray bytes;
    if (wanted) {
        bytes = *wanted;
    } else {
        bytes.resize(16);
        if (!check(RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), int(bytes.size())) == 1,
                   "RAND_bytes"))
            return {};
        // Positive and exactly 16 bytes long: clear the sign bit, keep the top byte non-zero.
        bytes[0] = char((uchar(bytes[0]) & 0x7f) | 0x40);
    }
    BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.constData()), int(bytes.size()),
                           nullptr));
    if (!check(bn != nullptr, "BN_bin2bn"))
        return {};
    BN_set_negative(bn.get(), negative ? 1 : 0);
    Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    check(serial != nullptr, "BN_to_ASN1_INTEGER");
    return serial;
}

X509NamePtr makeName(const CertSpec& spec)
{
    X509NamePtr name(X509_NAME_new());
    if (!name)
        return {};
    const auto add = [&](const char* field, const QString& value) {
        if (value.isEmpty())
            return true;
        const QByteArray utf8 = value.toUtf8();
        return check(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                                reinterpret_cast<const unsigned char*>(utf8.constData()),
                                                int(utf8.size()), -1, 0) == 1,
                     "X509_NAME_add_entry_by_txt");
    };
    if (!add("O", spec.organization) || !add("CN", spec.commonName))
        return {};
    return name;
}

GeneralNamePtr makeGeneralName(int type, const QString& value)
{
    // GEN_DNS and GEN_URI need neither a method nor a config context.
    const QByteArray latin = value.toLatin1();
    GeneralNamePtr name(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, latin.constData(), 0));
    check(name != nullptr, "a2i_GENERAL_NAME");
    return name;
}

GeneralNamesPtr makeGeneralNames(int type, const QStringList& values)
{
    GeneralNamesPtr names(GENERAL_NAMES_new());
    if (!check(names != nullptr, "GENERAL_NAMES_new"))
        return {};
    for (const QString& value : values) {
        GeneralNamePtr name = makeGeneralName(type, value);
        if (!name || !check(sk_GENERAL_NAME_push(names.get(), name.get()) > 0, "sk_GENERAL_NAME_push"))
            return {};
        name.release(); // now owned by the stack
    }
    return names;
}

bool addExtension(X509* cert, int nid, void* value, bool critical)
{
    return check(X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) == 1,
                 OBJ_nid2sn(nid));
}

// For extensions whose value we spell out byte for byte (TLS Feature, ocsp-nocheck).
bool addRawExtension(X509* cert, int nid, const QByteArray& der, bool critical)
{
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    if (!value
        || !ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.constData()),
                                  int(der.size())))
        return check(false, "ASN1_OCTET_STRING_set");
    X509ExtensionPtr ext(X509_EXTENSION_create_by_NID(nullptr, nid, critical ? 1 : 0, value.get()));
    return check(ext && X509_add_ext(cert, ext.get(), -1) == 1, OBJ_nid2sn(nid)); // X509_add_ext copies
}

// RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING. Both SKI and AKI use it, so a
// leaf's AKI matches its issuer's SKI even when the issuer was made without one.
QByteArray keyIdentifier(const X509* cert)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!check(X509_pubkey_digest(cert, EVP_sha1(), digest, &length) == 1, "X509_pubkey_digest"))
        return {};
    return QByteArray(reinterpret_cast<const char*>(digest), int(length));
}

Asn1OctetStringPtr octetString(const QByteArray& bytes)
{
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    if (!value
        || !ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(bytes.constData()),
                                  int(bytes.size())))
        return {};
    return value;
}

QByteArray authorityKeyIdentifier(X509* issuer)
{
    if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer))
        return QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)), ASN1_STRING_length(ski));
    return keyIdentifier(issuer);
}

AuthorityKeyIdPtr makeAuthorityKeyId(const QByteArray& keyId)
{
    AuthorityKeyIdPtr aki(AUTHORITY_KEYID_new());
    Asn1OctetStringPtr id = octetString(keyId);
    if (!aki || !id)
        return {};
    aki->keyid = id.release();
    return aki;
}

bool addKeyUsage(X509* cert, const CertSpec& spec, const EVP_PKEY* key)
{
    Asn1BitStringPtr usage(ASN1_BIT_STRING_new());
    if (!usage)
        return false;
    // Bits: 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign.
    bool ok = ASN1_BIT_STRING_set_bit(usage.get(), 0, spec.digitalSignature ? 1 : 0);
    if (!spec.digitalSignature && !spec.isCa)
        ok = ok && ASN1_BIT_STRING_set_bit(usage.get(), 1, 1); // nonRepudiation: a usage, not one TLS accepts
    if (spec.keyCertSign.value_or(spec.isCa))
        ok = ok && ASN1_BIT_STRING_set_bit(usage.get(), 5, 1);
    if (spec.isCa)
        ok = ok && ASN1_BIT_STRING_set_bit(usage.get(), 6, 1);
    else if (EVP_PKEY_is_a(key, "RSA") && spec.serverAuth)
        ok = ok && ASN1_BIT_STRING_set_bit(usage.get(), 2, 1);
    return check(ok, "ASN1_BIT_STRING_set_bit") && addExtension(cert, NID_key_usage, usage.get(), true);
}

bool addExtendedKeyUsage(X509* cert, const CertSpec& spec)
{
    QList<int> purposes;
    if (spec.serverAuth && !spec.isCa)
        purposes << NID_server_auth;
    if (spec.clientAuth)
        purposes << NID_client_auth;
    if (spec.ocspSigning)
        purposes << NID_OCSP_sign;
    if (purposes.isEmpty())
        return true;
    ExtendedKeyUsagePtr eku(EXTENDED_KEY_USAGE_new());
    if (!eku)
        return false;
    for (int nid : purposes) {
        // OBJ_nid2obj returns a static object; pushing it and later "freeing" it is a no-op.
        if (!check(sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(nid)) > 0, "sk_ASN1_OBJECT_push"))
            return false;
    }
    return addExtension(cert, NID_ext_key_usage, eku.get(), false);
}

// RFC 5280 4.2.1.10, dNSName subtrees only: what private CAs constrain in practice.
bool addNameConstraints(X509* cert, const CertSpec& spec)
{
    if (spec.permittedDnsNames.isEmpty() && spec.excludedDnsNames.isEmpty())
        return true;
    NameConstraintsPtr constraints(NAME_CONSTRAINTS_new());
    if (!constraints)
        return false;
    const auto subtrees = [](const QStringList& names) -> STACK_OF(GENERAL_SUBTREE)* {
        if (names.isEmpty())
            return nullptr;
        STACK_OF(GENERAL_SUBTREE)* stack = sk_GENERAL_SUBTREE_new_null();
        for (const QString& name : names) {
            GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
            GeneralNamePtr base = makeGeneralName(GEN_DNS, name);
            if (!stack || !subtree || !base) {
                GENERAL_SUBTREE_free(subtree);
                sk_GENERAL_SUBTREE_pop_free(stack, GENERAL_SUBTREE_free);
                return nullptr;
            }
            GENERAL_NAME_free(subtree->base);
            subtree->base = base.release();
            sk_GENERAL_SUBTREE_push(stack, subtree);
        }
        return stack;
    };
    constraints->permittedSubtrees = subtrees(spec.permittedDnsNames);
    constraints->excludedSubtrees = subtrees(spec.excludedDnsNames);
    return addExtension(cert, NID_name_constraints, constraints.get(), true);
}

// An extension with an OID no client implements, marked critical: RFC 5280 requires rejection.
bool addUnknownCriticalExtension(X509* cert, const CertSpec& spec)
{
    if (spec.criticalExtensionOid.isEmpty())
        return true;
    Asn1ObjectPtr oid(OBJ_txt2obj(spec.criticalExtensionOid.toLatin1().constData(), 1));
    static const char nullDer[] = {0x05, 0x00};
    Asn1OctetStringPtr value = octetString(QByteArray(nullDer, sizeof nullDer));
    if (!check(oid && value, "OBJ_txt2obj"))
        return false;
    X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
    return check(ext && X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext"); // X509_add_ext copies
}

bool addAuthorityInfoAccess(X509* cert, const CertSpec& spec)
{
    if (spec.ocspUrls.isEmpty() && spec.caIssuerUrls.isEmpty())
        return true;
    AuthorityInfoAccessPtr aia(AUTHORITY_INFO_ACCESS_new());
    if (!aia)
        return false;
    const auto add = [&](int methodNid, const QStringList& urls) {
        for (const QString& url : urls) {
            AccessDescriptionPtr ad(ACCESS_DESCRIPTION_new());
            GeneralNamePtr location = makeGeneralName(GEN_URI, url);
            if (!ad || !location)
                return false;
            ASN1_OBJECT_free(ad->method);
            ad->method = OBJ_nid2obj(methodNid);
            GENERAL_NAME_free(ad->location);
            ad->location = location.release();
            if (!check(sk_ACCESS_DESCRIPTION_push(aia.get(), ad.get()) > 0, "sk_ACCESS_DESCRIPTION_push"))
                return false;
            ad.release();
        }
        return true;
    };
    return add(NID_ad_OCSP, spec.ocspUrls) && add(NID_ad_ca_issuers, spec.caIssuerUrls)
           && addExtension(cert, NID_info_access, aia.get(), false);
}

bool addCrlDistributionPoints(X509* cert, const CertSpec& spec)
{
    if (spec.crlUrls.isEmpty())
        return true;
    CrlDistPointsPtr points(CRL_DIST_POINTS_new());
    if (!points)
        return false;
    // One distribution point per URL, each a fullName with one URI: what CAs publish in practice.
    for (const QString& url : spec.crlUrls) {
        DistPointPtr point(DIST_POINT_new());
        GeneralNamesPtr names = makeGeneralNames(GEN_URI, {url});
        if (!point || !names)
            return false;
        point->distpoint = DIST_POINT_NAME_new();
        if (!point->distpoint)
            return false;
        point->distpoint->type = 0; // fullName
        point->distpoint->name.fullname = names.release();
        if (!check(sk_DIST_POINT_push(points.get(), point.get()) > 0, "sk_DIST_POINT_push"))
            return false;
        point.release();
    }
    return addExtension(cert, NID_crl_distribution_points, points.get(), false);
}

bool addExtensions(X509* cert, const CertSpec& spec, const EVP_PKEY* key, X509* issuer)
{
    BasicConstraintsPtr constraints(BASIC_CONSTRAINTS_new());
    if (!constraints)
        return false;
    constraints->ca = spec.isCa ? 0xff : 0;
    if (spec.isCa && spec.pathLength >= 0) {
        constraints->pathlen = ASN1_INTEGER_new();
        if (!constraints->pathlen || !ASN1_INTEGER_set(constraints->pathlen, spec.pathLength))
            return false;
    }
    if (spec.basicConstraints && !addExtension(cert, NID_basic_constraints, constraints.get(), true))
        return false;
    if (!addKeyUsage(cert, spec, key) || !addExtendedKeyUsage(cert, spec) || !addNameConstraints(cert, spec))
        return false;

    if (!spec.dnsNames.isEmpty()) {
        GeneralNamesPtr names = makeGeneralNames(GEN_DNS, spec.dnsNames);
        if (!names || !addExtension(cert, NID_subject_alt_name, names.get(), false))
            return false;
    }
    if (!addAuthorityInfoAccess(cert, spec) || !addCrlDistributionPoints(cert, spec))
        return false;

    if (spec.subjectKeyId) {
        Asn1OctetStringPtr ski = octetString(keyIdentifier(cert));
        if (!ski || !addExtension(cert, NID_subject_key_identifier, ski.get(), false))
            return false;
    }
    if (spec.authorityKeyId) {
        // Self-signed: `issuer` is null and the certificate names its own key.
        AuthorityKeyIdPtr aki =
            makeAuthorityKeyId(issuer ? authorityKeyIdentifier(issuer) : keyIdentifier(cert));
        if (!aki || !addExtension(cert, NID_authority_key_identifier, aki.get(), false))
            return false;
    }

    // TLS Feature (RFC 7633) = SEQUENCE { INTEGER 5 }, status_request. Written as bytes so the
    // encoding is exactly what must-staple checkers look for.
    static const char mustStapleDer[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    if (spec.mustStaple
        && !addRawExtension(cert, NID_tlsfeature, QByteArray(mustStapleDer, sizeof mustStapleDer), false))
        return false;
    // id-pkix-ocsp-nocheck carries an ASN.1 NULL.
    static const char nullDer[] = {0x05, 0x00};
    if (spec.ocspNoCheck
        && !addRawExtension(cert, NID_id_pkix_OCSP_noCheck, QByteArray(nullDer, sizeof nullDer), false))
        return false;
    return addUnknownCriticalExtension(cert, spec);
}

X509StackPtr certStack(const QList<const IssuedCert*>& certs)
{
    X509StackPtr stack(sk_X509_new_null());
    if (!stack)
        return {};
    for (const IssuedCert* issued : certs) {
        if (!issued || !issued->cert)
            continue;
        if (!check(X509_add_cert(stack.get(), issued->cert.get(), X509_ADD_FLAG_UP_REF) == 1, "X509_add_cert"))
            return {};
    }
    return stack;
}

QByteArray encodePrivateKey(const EVP_PKEY* key, const char* outputType, const char* structure,
                            const QByteArray& passphrase, bool encrypt)
{
    if (!key)
        return {};
    OsslEncoderCtxPtr ctx(
        OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, outputType, structure, nullptr));
    // A context with no encoder means the structure does not exist for this key type
    // (e.g. "type-specific" PEM for Ed25519); OpenSSL only says so when encoding.
    if (!check(ctx && OSSL_ENCODER_CTX_get_num_encoders(ctx.get()) > 0, "OSSL_ENCODER_CTX_new_for_pkey"))
        return {};
    if (encrypt) {
        if (!check(OSSL_ENCODER_CTX_set_cipher(ctx.get(), "AES-256-CBC", nullptr) == 1,
                   "OSSL_ENCODER_CTX_set_cipher")
            || !check(OSSL_ENCODER_CTX_set_passphrase(
                          ctx.get(), reinterpret_cast<const unsigned char*>(passphrase.constData()),
                          size_t(passphrase.size()))
                          == 1,
                      "OSSL_ENCODER_CTX_set_passphrase"))
            return {};
    }
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || !check(OSSL_ENCODER_to_bio(ctx.get(), out.get()) == 1, "OSSL_ENCODER_to_bio"))
        return {};
    return bioContents(out.get());
}

} // namespace

QByteArray IssuedCert::certDer() const
{
    return cert ? toDer<X509, i2d_X509>(cert.get()) : QByteArray();
}

QByteArray IssuedCert::certPem() const
{
    return PkiFactory::toPem(certDer(), "CERTIFICATE");
}

IssuedCert PkiFactory::issue(const CertSpec& spec, const IssuedCert* issuer) const
{
    if (!spec.notBefore.isValid() || !spec.notAfter.isValid()) {
        qCWarning(lcPkiFactory, "issue: notBefore and notAfter are required");
        return {};
    }
    if (issuer && (!issuer->cert || !issuer->key)) {
        qCWarning(lcPkiFactory, "issue: issuer has no certificate or key");
        return {};
    }

    std::shared_ptr<EVP_PKEY> key = spec.reuseKey;
    if (!key) {
        EvpPkeyPtr generated = generateKey(spec.keyType);
        if (!check(generated != nullptr, "EVP_PKEY_Q_keygen"))
            return {};
        key = std::move(generated);
    }

    X509Ptr cert(X509_new());
    X509NamePtr subject = makeName(spec);
    Asn1IntegerPtr serial = makeSerial(spec.serial, spec.negativeSerial);
    if (!cert || !subject || !serial)
        return {};
    const X509_NAME* issuerName = issuer ? X509_get_subject_name(issuer->cert.get()) : subject.get();
    if (!check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version")
        || !check(X509_set_serialNumber(cert.get(), serial.get()) == 1, "X509_set_serialNumber")
        || !check(X509_set_subject_name(cert.get(), subject.get()) == 1, "X509_set_subject_name")
        || !check(X509_set_issuer_name(cert.get(), issuerName) == 1, "X509_set_issuer_name")
        || !check(ASN1_TIME_set(X509_getm_notBefore(cert.get()), time_t(spec.notBefore.toSecsSinceEpoch()))
                      != nullptr,
                  "notBefore")
        || !check(ASN1_TIME_set(X509_getm_notAfter(cert.get()), time_t(spec.notAfter.toSecsSinceEpoch()))
                      != nullptr,
                  "notAfter")
        || !check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey"))
        return {};

    if (!addExtensions(cert.get(), spec, key.get(), issuer ? issuer->cert.get() : nullptr))
        return {};

    EVP_PKEY* signingKey = issuer ? issuer->key.get() : key.get();
    if (!check(X509_sign(cert.get(), signingKey, signingDigest(signingKey, nullptr)) > 0, "X509_sign"))
        return {};

    IssuedCert issued;
    issued.cert = std::move(cert);
    issued.key = std::move(key);
    return issued;
}

QByteArray PkiFactory::ocspResponse(const IssuedCert& subject, const IssuedCert& issuer,
                                    const IssuedCert& signer, const OcspSpec& spec,
                                    const QList<std::pair<const IssuedCert*, const IssuedCert*>>& alsoAbout) const
{
    if (spec.responseStatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        // tryLater, unauthorized, ...: RFC 6960 says these carry no responseBytes at all.
        OcspResponsePtr response(OCSP_response_create(spec.responseStatus, nullptr));
        if (!check(response != nullptr, "OCSP_response_create"))
            return {};
        return toDer<OCSP_RESPONSE, i2d_OCSP_RESPONSE>(response.get());
    }
    if (!spec.thisUpdate.isValid() || !subject.cert || !issuer.cert || !signer.cert || !signer.key) {
        qCWarning(lcPkiFactory, "ocspResponse: thisUpdate, subject, issuer and signer are required");
        return {};
    }

    OcspBasicRespPtr basic(OCSP_BASICRESP_new());
    Asn1TimePtr thisUpdate = toAsn1Time(spec.thisUpdate);
    Asn1TimePtr nextUpdate = spec.nextUpdate ? toAsn1Time(*spec.nextUpdate) : Asn1TimePtr();
    Asn1TimePtr revocationTime;
    if (spec.certStatus == V_OCSP_CERTSTATUS_REVOKED)
        revocationTime = toAsn1Time(spec.revocationTime.isValid() ? spec.revocationTime : spec.thisUpdate);
    if (!basic || !thisUpdate || (spec.nextUpdate && !nextUpdate)
        || (spec.certStatus == V_OCSP_CERTSTATUS_REVOKED && !revocationTime))
        return {};

    QList<std::pair<const IssuedCert*, const IssuedCert*>> about{{&subject, &issuer}};
    about += alsoAbout;
    for (const auto& [cert, certIssuer] : about) {
        if (!cert || !certIssuer || !cert->cert || !certIssuer->cert)
            return {};
        // A null digest gives a SHA-1 CertID, which is what OpenSSL and most CAs still send.
        OcspCertIdPtr id(OCSP_cert_to_id(spec.certIdHash, cert->cert.get(), certIssuer->cert.get()));
        if (!check(id != nullptr, "OCSP_cert_to_id"))
            return {};
        // add1_status copies the CertID and converts the times to GeneralizedTime.
        if (!check(OCSP_basic_add1_status(basic.get(), id.get(), spec.certStatus, spec.revocationReason,
                                          revocationTime.get(), thisUpdate.get(), nextUpdate.get())
                       != nullptr,
                   "OCSP_basic_add1_status"))
            return {};
    }

    // OCSP_basic_sign* stamps producedAt with the wall clock unless OCSP_NOTIME is passed, and there
    // is no setter. The getter returns the response's own field, so write the chosen time into it
    // before signing and tell the signer to leave it alone.
    auto* producedAt = const_cast<ASN1_GENERALIZEDTIME*>(OCSP_resp_get0_produced_at(basic.get()));
    const QDateTime produced = spec.producedAt.isValid() ? spec.producedAt : spec.thisUpdate;
    if (!check(producedAt && ASN1_GENERALIZEDTIME_set(producedAt, time_t(produced.toSecsSinceEpoch())),
               "producedAt"))
        return {};

    EvpMdCtxPtr signCtx(EVP_MD_CTX_new());
    EVP_PKEY* signingKey = signer.key.get();
    if (!signCtx
        || !check(EVP_DigestSignInit(signCtx.get(), nullptr, signingDigest(signingKey, spec.signatureHash),
                                     nullptr, signingKey)
                      == 1,
                  "EVP_DigestSignInit"))
        return {};
    unsigned long flags = OCSP_NOTIME;
    if (spec.responderId == OcspResponderIdKind::ByKey)
        flags |= OCSP_RESPID_KEY;
    if (!spec.includeSignerCert)
        flags |= OCSP_NOCERTS;
    if (!check(OCSP_basic_sign_ctx(basic.get(), signer.cert.get(), signCtx.get(), nullptr, flags) == 1,
               "OCSP_basic_sign_ctx"))
        return {};

    if (spec.corruptSignature) {
        // No setter either; the signature is re-read from the struct when encoding, so flipping a bit
        // in place yields a response that parses but does not verify.
        // Flip a middle byte, not the last: a BIT STRING's unused-bit count is recomputed from its
        // trailing zero bits on encoding.
        auto* signature = const_cast<ASN1_OCTET_STRING*>(OCSP_resp_get0_signature(basic.get()));
        if (!signature || ASN1_STRING_length(signature) < 2)
            return {};
        QByteArray bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(signature)),
                         ASN1_STRING_length(signature));
        bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x01);
        if (!check(ASN1_STRING_set(signature, bytes.constData(), int(bytes.size())) == 1, "ASN1_STRING_set"))
            return {};
    }

    // OCSP_response_create packs a copy of `basic` into responseBytes.
    OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    if (!check(response != nullptr, "OCSP_response_create"))
        return {};
    return toDer<OCSP_RESPONSE, i2d_OCSP_RESPONSE>(response.get());
}

QByteArray PkiFactory::crlDer(const IssuedCert& issuer, const QDateTime& thisUpdate, const QDateTime& nextUpdate,
                              const QList<const IssuedCert*>& revoked, int reasonCode) const
{
    if (!issuer.cert || !issuer.key || !thisUpdate.isValid() || !nextUpdate.isValid())
        return {};
    X509CrlPtr crl(X509_CRL_new());
    Asn1TimePtr lastUpdateTime = toAsn1Time(thisUpdate);
    Asn1TimePtr nextUpdateTime = toAsn1Time(nextUpdate);
    if (!crl || !lastUpdateTime || !nextUpdateTime)
        return {};
    if (!check(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1, "X509_CRL_set_version")
        || !check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get())) == 1,
                  "X509_CRL_set_issuer_name")
        || !check(X509_CRL_set1_lastUpdate(crl.get(), lastUpdateTime.get()) == 1, "X509_CRL_set1_lastUpdate")
        || !check(X509_CRL_set1_nextUpdate(crl.get(), nextUpdateTime.get()) == 1, "X509_CRL_set1_nextUpdate"))
        return {};

    for (const IssuedCert* entry : revoked) {
        if (!entry || !entry->cert)
            return {};
        X509RevokedPtr item(X509_REVOKED_new());
        if (!item
            || !check(X509_REVOKED_set_serialNumber(item.get(), X509_get_serialNumber(entry->cert.get())) == 1,
                      "X509_REVOKED_set_serialNumber")
            || !check(X509_REVOKED_set_revocationDate(item.get(), lastUpdateTime.get()) == 1,
                      "X509_REVOKED_set_revocationDate"))
            return {};
        if (reasonCode >= 0) {
            const Asn1EnumeratedPtr reason(ASN1_ENUMERATED_new());
            if (!reason || !check(ASN1_ENUMERATED_set(reason.get(), reasonCode) == 1, "ASN1_ENUMERATED_set")
                || !check(X509_REVOKED_add1_ext_i2d(item.get(), NID_crl_reason, reason.get(), 0, 0) == 1,
                          "X509_REVOKED_add1_ext_i2d"))
                return {};
        }
        if (!check(X509_CRL_add0_revoked(crl.get(), item.get()) == 1, "X509_CRL_add0_revoked"))
            return {};
        item.release(); // add0: the CRL owns it now
    }

    // RFC 5280 requires AKI and cRLNumber in a v2 CRL.
    AuthorityKeyIdPtr aki = makeAuthorityKeyId(authorityKeyIdentifier(issuer.cert.get()));
    Asn1IntegerPtr number(ASN1_INTEGER_new());
    if (!aki || !number || !ASN1_INTEGER_set(number.get(), 1)
        || !check(X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, aki.get(), 0, X509V3_ADD_REPLACE)
                      == 1,
                  "CRL authorityKeyIdentifier")
        || !check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, X509V3_ADD_REPLACE) == 1,
                  "CRL number"))
        return {};

    if (!check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort")
        || !check(X509_CRL_sign(crl.get(), issuer.key.get(), signingDigest(issuer.key.get(), nullptr)) > 0,
                  "X509_CRL_sign"))
        return {};
    return toDer<X509_CRL, i2d_X509_CRL>(crl.get());
}

QByteArray PkiFactory::toPem(const QByteArray& der, const char* label)
{
    if (der.isEmpty())
        return {};
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out
        || !check(PEM_write_bio(out.get(), label, "", reinterpret_cast<const unsigned char*>(der.constData()),
                                long(der.size()))
                      > 0,
                  "PEM_write_bio"))
        return {};
    return bioContents(out.get());
}

QByteArray PkiFactory::privateKeyPem(const EVP_PKEY* key, KeyFormat format, const QByteArray& passphrase)
{
    switch (format) {
    case KeyFormat::Pkcs8:
        return encodePrivateKey(key, "PEM", "PrivateKeyInfo", {}, false);
    case KeyFormat::EncryptedPkcs8:
        return encodePrivateKey(key, "PEM", "EncryptedPrivateKeyInfo", passphrase, true);
    case KeyFormat::Pkcs1Rsa:
        // "type-specific" is PKCS#1 for RSA and SEC1 for EC; refuse the other type so a caller
        // asking for "RSA PRIVATE KEY" never silently gets "EC PRIVATE KEY".
        if (!key || !EVP_PKEY_is_a(key, "RSA"))
            return {};
        return encodePrivateKey(key, "PEM", "type-specific", {}, false);
    case KeyFormat::Sec1Ec:
        if (!key || !EVP_PKEY_is_a(key, "EC"))
            return {};
        return encodePrivateKey(key, "PEM", "type-specific", {}, false);
    }
    return {};
}

QByteArray PkiFactory::privateKeyDer(const EVP_PKEY* key)
{
    return encodePrivateKey(key, "DER", "PrivateKeyInfo", {}, false);
}

QByteArray PkiFactory::pkcs7Der(const QList<const IssuedCert*>& certs)
{
    X509StackPtr stack = certStack(certs);
    if (!stack)
        return {};
    // No signer and no key gives a certs-only SignedData; PARTIAL stops PKCS7_sign from trying to
    // hash content we do not have, DETACHED leaves encapContentInfo without content (as
    // `openssl crl2pkcs7 -nocrl` does).
    Pkcs7Ptr p7(PKCS7_sign(nullptr, nullptr, stack.get(), nullptr, PKCS7_PARTIAL | PKCS7_DETACHED));
    if (!check(p7 != nullptr, "PKCS7_sign"))
        return {};
    return toDer<PKCS7, i2d_PKCS7>(p7.get());
}

QByteArray PkiFactory::pkcs7Pem(const QList<const IssuedCert*>& certs)
{
    return toPem(pkcs7Der(certs), "PKCS7");
}

QByteArray PkiFactory::pkcs12(const IssuedCert& leaf, const QList<const IssuedCert*>& chain,
                              const QByteArray& password)
{
    if (!leaf.cert || !leaf.key)
        return {};
    X509StackPtr ca = certStack(chain);
    if (!ca)
        return {};
    const QByteArray friendlyName = [&] {
        const X509_NAME* name = X509_get_subject_name(leaf.cert.get());
        const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
        if (index < 0)
            return QByteArray("certificate");
        const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
        return QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)), ASN1_STRING_length(cn));
    }();
    // AES-256-CBC (PBES2) for both bags: RC2/3DES would need the legacy provider to read back.
    // mac_iter -1 leaves the MAC out so we can add a SHA-256 one explicitly below.
    Pkcs12Ptr p12(PKCS12_create_ex(password.constData(), friendlyName.constData(), leaf.key.get(),
                                   leaf.cert.get(), ca.get(), NID_aes_256_cbc, NID_aes_256_cbc,
                                   PKCS12_DEFAULT_ITER, -1, 0, nullptr, nullptr));
    if (!check(p12 != nullptr, "PKCS12_create_ex")
        || !check(PKCS12_set_mac(p12.get(), password.constData(), int(password.size()), nullptr, 0,
                                 PKCS12_DEFAULT_ITER, EVP_sha256())
                      == 1,
                  "PKCS12_set_mac"))
        return {};
    return toDer<PKCS12, i2d_PKCS12>(p12.get());
}

QByteArray PkiFactory::ocspRequestDer(const IssuedCert& subject, const IssuedCert& issuer)
{
    if (!subject.cert || !issuer.cert)
        return {};
    OcspRequestPtr request(OCSP_REQUEST_new());
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, subject.cert.get(), issuer.cert.get()));
    if (!request || !check(id != nullptr, "OCSP_cert_to_id")
        || !check(OCSP_request_add0_id(request.get(), id.get()) != nullptr, "OCSP_request_add0_id"))
        return {};
    id.release(); // add0: the request owns the CertID now
    return toDer<OCSP_REQUEST, i2d_OCSP_REQUEST>(request.get());
}

} // namespace staplescope
