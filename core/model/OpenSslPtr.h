#pragma once
// RAII owners for every OpenSSL object the project holds (BoringSSL's bssl::UniquePtr is the model).
// The deleter sits in the type, so a handle is owned from the line that creates it.

#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <QByteArray>
#include <QDateTime>
#include <QString>
#include <QStringList>

namespace staplescope {

template <auto FreeFn>
struct OpenSslDeleter {
    template <class T>
    void operator()(T* p) const noexcept
    {
        FreeFn(p);
    }
};

template <class T, auto FreeFn>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<FreeFn>>;

using X509Ptr = OpenSslPtr<X509, X509_free>;
using X509CrlPtr = OpenSslPtr<X509_CRL, X509_CRL_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using Asn1IntegerPtr = OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1EnumeratedPtr = OpenSslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
using Asn1TimePtr = OpenSslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1ObjectPtr = OpenSslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using OcspResponsePtr = OpenSslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicRespPtr = OpenSslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspRequestPtr = OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspCertIdPtr = OpenSslPtr<OCSP_CERTID, OCSP_CERTID_free>;
using Pkcs7Ptr = OpenSslPtr<PKCS7, PKCS7_free>;
using Pkcs12Ptr = OpenSslPtr<PKCS12, PKCS12_free>;
using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = OpenSslPtr<SSL, SSL_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using AuthorityInfoAccessPtr = OpenSslPtr<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free>;
using CrlDistPointsPtr = OpenSslPtr<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;
using Asn1OctetStringPtr = OpenSslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using ExtendedKeyUsagePtr = OpenSslPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using BasicConstraintsPtr = OpenSslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using GeneralNamePtr = OpenSslPtr<GENERAL_NAME, GENERAL_NAME_free>;
using AccessDescriptionPtr = OpenSslPtr<ACCESS_DESCRIPTION, ACCESS_DESCRIPTION_free>;
using DistPointPtr = OpenSslPtr<DIST_POINT, DIST_POINT_free>;
using AuthorityKeyIdPtr = OpenSslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using NameConstraintsPtr = OpenSslPtr<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>;
using Asn1BitStringPtr = OpenSslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using X509RevokedPtr = OpenSslPtr<X509_REVOKED, X509_REVOKED_free>;
using OsslEncoderCtxPtr = OpenSslPtr<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free>;
using OsslDecoderCtxPtr = OpenSslPtr<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free>;

inline void freeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = OpenSslPtr<STACK_OF(X509), freeX509Stack>;
inline void freePkcs7Stack(STACK_OF(PKCS7) * s) { sk_PKCS7_pop_free(s, PKCS7_free); }
using Pkcs7StackPtr = OpenSslPtr<STACK_OF(PKCS7), freePkcs7Stack>;
inline void freeSafeBagStack(STACK_OF(PKCS12_SAFEBAG) * s) { sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free); }
using SafeBagStackPtr = OpenSslPtr<STACK_OF(PKCS12_SAFEBAG), freeSafeBagStack>;
using Pbe2ParamPtr = OpenSslPtr<PBE2PARAM, PBE2PARAM_free>;
using Pbkdf2ParamPtr = OpenSslPtr<PBKDF2PARAM, PBKDF2PARAM_free>;
using PbeParamPtr = OpenSslPtr<PBEPARAM, PBEPARAM_free>;

// Drains OpenSSL's thread-local error queue into one readable line and leaves it empty.
// Call it right where an OpenSSL call failed, so the message belongs to that failure.
QString takeOpenSslErrors();

// The same, keeping each error's code, so a caller recognises a failure by its library and reason
// (ERR_GET_LIB, ERR_GET_REASON) rather than by wording that changes between OpenSSL versions.
struct OpenSslErrors {
    QString text;               // what takeOpenSslErrors() returns
    QList<unsigned long> codes; // in the order queued
    bool hasReason(int library, int reason) const;
};
OpenSslErrors takeOpenSslErrorDetails();

// Discards whatever is queued (after a call whose failure is expected and handled).
void clearOpenSslErrors();

// A memory BIO reading `data` without copying; `data` must outlive the BIO.
BioPtr memoryBio(const QByteArray& data);
// Everything written to a memory BIO.
QByteArray bioContents(BIO* bio);

// An ASN.1 UTCTime/GeneralizedTime as a UTC QDateTime (null for null or unparsable input).
QDateTime asn1TimeToUtc(const ASN1_TIME* time);
// The content octets of an ASN.1 string (OCTET STRING, BIT STRING, IA5String…).
QByteArray asn1Bytes(const ASN1_STRING* string);

} // namespace staplescope
