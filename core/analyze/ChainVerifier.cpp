#include "ChainVerifier.h"

#include <QHash>
#include <QSet>

#include <openssl/x509_vfy.h>

namespace staplescope {

namespace {

void freeCrlStack(STACK_OF(X509_CRL) * s) { sk_X509_CRL_pop_free(s, X509_CRL_free); }
using CrlStackPtr = OpenSslPtr<STACK_OF(X509_CRL), freeCrlStack>;

// The verifier hands back the very X509 objects it was given (the untrusted stack and the store
// hold references, not copies), so they map back to the inputs' certificates, with their files,
// by address.
using KnownCertificates = QHash<const X509*, Certificate>;

struct Collector {
    QList<VerifyProblem> problems;
    QSet<std::pair<int, int>> seen;
    const KnownCertificates* known = nullptr;
};

Certificate certificateFor(X509* x, const KnownCertificates& known)
{
    if (!x)
        return {};
    if (const auto it = known.constFind(x); it != known.constEnd())
        return *it;
    X509_up_ref(x);
    return Certificate::fromX509(X509Ptr(x), SourceLocation{QStringLiteral("system trust store"), 0, 1});
}

// Records the problem and lets the verifier go on, so that one run names every problem.
int collectEveryProblem(int ok, X509_STORE_CTX* ctx)
{
    if (ok)
        return 1;
    auto* collector = static_cast<Collector*>(X509_STORE_CTX_get_app_data(ctx));
    const int error = X509_STORE_CTX_get_error(ctx);
    const int depth = X509_STORE_CTX_get_error_depth(ctx);
    if (collector && !collector->seen.contains({error, depth})) {
        collector->seen.insert({error, depth});
        collector->problems << VerifyProblem{error, depth, certificateFor(X509_STORE_CTX_get_current_cert(ctx), *collector->known)};
    }
    return 1;
}

} // namespace

bool ChainVerification::hasError(int error) const
{
    for (const VerifyProblem& p : problems)
        if (p.error == error)
            return true;
    return false;
}

bool ChainVerification::onPath(const Certificate& cert) const
{
    for (const Certificate& c : path)
        if (c == cert)
            return true;
    return false;
}

ChainVerification verifyChain(const Bundle& bundle, const TrustStore* trust, const QDateTime& at)
{
    ChainVerification result;
    if (bundle.leaf.isNull())
        return result;

    // Every input certificate that may sit on the path is an untrusted candidate; the verifier
    // chooses among them as clients do (trusted issuers first, then valid ones).
    // Indexed, not scanned: a chain file may hold thousands of unrelated certificates.
    KnownCertificates known{{bundle.leaf.get0(), bundle.leaf}};
    QHash<QByteArray, Certificate> inputCopy{{bundle.leaf.sha256(), bundle.leaf}};
    X509StackPtr untrusted(sk_X509_new_null());
    for (const QList<Certificate>* list : {&bundle.chain, &bundle.chainAsGiven}) {
        for (const Certificate& c : *list) {
            if (c.isNull() || inputCopy.contains(c.sha256()))
                continue;
            inputCopy.insert(c.sha256(), c);
            known.insert(c.get0(), c);
            X509_add_cert(untrusted.get(), c.get0(), X509_ADD_FLAG_UP_REF);
        }
    }
    // An anchor the inputs also hold (a sent root) is named by the file the server sends.
    QList<Certificate> anchors = trust ? trust->extraAnchors() : QList<Certificate>();
    if (!bundle.anchor.isNull())
        anchors << bundle.anchor;
    for (const Certificate& anchor : std::as_const(anchors))
        known.insert(anchor.get0(), inputCopy.value(anchor.sha256(), anchor));

    CrlStackPtr crls(sk_X509_CRL_new_null());
    for (const Crl& crl : bundle.crls)
        if (X509_CRL_up_ref(crl.get0()) == 1 && sk_X509_CRL_push(crls.get(), crl.get0()) <= 0)
            X509_CRL_free(crl.get0());

    X509StorePtr emptyStore;
    X509_STORE* store = trust ? trust->get0() : nullptr;
    if (!store) {
        emptyStore.reset(X509_STORE_new());
        store = emptyStore.get();
    }
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || !untrusted || !crls || X509_STORE_CTX_init(ctx.get(), store, bundle.leaf.get0(), untrusted.get()) != 1) {
        clearOpenSslErrors();
        return result;
    }
    Collector collector;
    collector.known = &known;
    X509_STORE_CTX_set_app_data(ctx.get(), &collector);
    X509_STORE_CTX_set_verify_cb(ctx.get(), collectEveryProblem);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, at.toSecsSinceEpoch());
    // Paths longer than this are reported as CHAIN_TOO_LONG, as the bundler's own walk does.
    X509_VERIFY_PARAM_set_depth(param, kMaxChainLength);
    // Key sizes and signature hashes as Debian's OpenSSL clients accept them (security level 2:
    // RSA/DH of at least 2048 bits, EC of at least 224, no SHA-1 signatures below the anchor).
    X509_VERIFY_PARAM_set_auth_level(param, kClientSecurityLevel);
    // A trust anchor is whatever the admin trusts, root or not (RFC 5280 §6.1.1; browsers, Go,
    // curl): an intermediate given with --ca-file ends the path.
    unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
    if (sk_X509_CRL_num(crls.get()) > 0) {
        X509_STORE_CTX_set0_crls(ctx.get(), crls.get());
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    }
    X509_VERIFY_PARAM_set_flags(param, flags);

    X509_verify_cert(ctx.get());
    clearOpenSslErrors();

    const STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    for (int i = 0; i < sk_X509_num(chain); ++i)
        result.path << certificateFor(sk_X509_value(chain, i), known);
    if (result.path.isEmpty())
        result.path << bundle.leaf;
    result.endsAtAnchor = X509_STORE_CTX_get_num_untrusted(ctx.get()) < sk_X509_num(chain);
    result.problems = collector.problems;
    return result;
}

} // namespace staplescope
