#include "Bundler.h"

#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace staplescope {

namespace {

// End-entity certificates head bundles; a delegated OCSP responder is end-entity too, but it
// serves the CA, not a server, so it never heads one.
bool isResponderOnly(const Certificate& cert)
{
    if (!cert.hasOcspSigningUsage() || cert.isCa())
        return false;
    const X509* x = cert.get0();
    const uint32_t xku = X509_get_extended_key_usage(const_cast<X509*>(x));
    return !(xku & (XKU_SSL_SERVER | XKU_SSL_CLIENT | XKU_SMIME));
}

QString folderOf(const QString& path) { return QFileInfo(path).absolutePath(); }

// certbot's archive/NAME numbers each issuance's files (cert1.pem, fullchain1.pem, privkey1.pem;
// a staple kept beside them as ocsp1.der): the same number in one folder is the same issuance.
// -1 when the file name carries no number.
int issuanceNumberOf(const QString& path)
{
    static const QRegularExpression numbered(QStringLiteral("^[A-Za-z_-]+(\\d+)\\."));
    const QRegularExpressionMatch match = numbered.match(QFileInfo(path).fileName());
    return match.hasMatch() ? match.captured(1).toInt() : -1;
}

// QHash::insert replaces; the first value seen is the one wanted here (Qt 6.4 has no tryEmplace).
template <class Key, class Value>
void insertFirst(QHash<Key, Value>& hash, const Key& key, const Value& value)
{
    if (!hash.contains(key))
        hash.insert(key, value);
}


// "Same names from the same CA". A CA is its name and its key: unrelated private CAs often share a
// name ("Internal CA"), and a leaf from one must not supersede a leaf from the other. The key is
// the leaf's authority key identifier, else the key of the issuer found for it.
QString namesKey(const Certificate& cert, const Certificate& issuer)
{
    QStringList names = cert.dnsNames();
    if (names.isEmpty())
        names << cert.subject();
    for (QString& n : names)
        n = n.toLower();
    std::sort(names.begin(), names.end());
    names.removeDuplicates();
    QByteArray caKey = cert.authorityKeyId();
    if (caKey.isEmpty() && !issuer.isNull())
        caKey = issuer.publicKeyBitString();
    return QString::fromLatin1(cert.issuerNameDer().toHex()) + QLatin1Char('|') + QString::fromLatin1(caKey.toHex()) +
           QLatin1Char('|') + names.join(QLatin1Char(','));
}

// Same names, same CA: the latest notBefore is current and every other member is superseded by
// it and listed (once) among its previous certificates. Returns the current one. Linear.
Bundle* supersedeAllButNewest(const QList<Bundle*>& group)
{
    Bundle* newest = group.first();
    for (Bundle* member : group)
        if (member->leaf.notBefore() > newest->leaf.notBefore())
            newest = member;
    QSet<QByteArray> listed;
    for (const Certificate& previous : std::as_const(newest->previousCertificates))
        listed.insert(previous.sha256());
    for (Bundle* member : group) {
        if (member == newest)
            continue;
        member->supersededBy = newest->leaf;
        member->previousCertificates.clear(); // they are all listed with the newest
        if (!listed.contains(member->leaf.sha256())) {
            listed.insert(member->leaf.sha256());
            newest->previousCertificates << member->leaf;
        }
    }
    return newest;
}

// Issuer lookup over the provided CA certificates, indexed by subject name.
class IssuerIndex {
public:
    // `copies` may hold the same CA several times (one per file it appears in).
    explicit IssuerIndex(const QList<Certificate>& cas, const QList<Certificate>& copies = {})
    {
        for (const Certificate& ca : cas)
            m_bySubject[ca.subjectNameDer()] << ca;
        // Indexed, not scanned: a chain file repeated in ten thousand site folders is ten thousand
        // copies of one CA, and every leaf asks for the copy nearest to it.
        for (const Certificate& copy : copies) {
            insertFirst(m_copyInFile, {copy.sha256(), copy.source().path}, copy);
            insertFirst(m_copyInFolder, {copy.sha256(), folderOf(copy.source().path)}, copy);
        }
    }

    // The same certificate as it appears nearest to `path`: in that file, else in its folder.
    // An admin reading "issuer … from fullchain.pem" must see the file their server reads.
    Certificate nearestCopy(const Certificate& cert, const QString& path) const
    {
        if (const auto it = m_copyInFile.constFind({cert.sha256(), path}); it != m_copyInFile.constEnd())
            return *it;
        if (const auto it = m_copyInFolder.constFind({cert.sha256(), folderOf(path)}); it != m_copyInFolder.constEnd())
            return *it;
        return cert;
    }

    // The provided copy of `cert` (same DER), else null.
    Certificate provided(const Certificate& cert) const
    {
        for (const Certificate& candidate : m_bySubject.value(cert.subjectNameDer()))
            if (candidate == cert)
                return candidate;
        return {};
    }

    // The provided certificate that issued `cert` (names and signature), else one that only
    // claims to by name (so a bad signature can be reported), else null.
    Certificate issuerOf(const Certificate& cert, bool* signatureOk) const
    {
        const QList<Certificate> candidates = m_bySubject.value(cert.issuerNameDer());
        Certificate nameOnly;
        for (const Certificate& candidate : candidates) {
            if (candidate == cert || !cert.namesIssuer(candidate))
                continue;
            if (verified(cert, candidate)) {
                *signatureOk = true;
                return candidate;
            }
            if (nameOnly.isNull())
                nameOnly = candidate;
        }
        *signatureOk = false;
        return nameOnly;
    }

private:
    bool verified(const Certificate& cert, const Certificate& issuer) const
    {
        // Many leaves share one intermediate: remember CA-to-CA results, verify leaves once each.
        const QByteArray key = cert.sha256() + issuer.sha256();
        auto it = m_verified.constFind(key);
        if (it != m_verified.constEnd())
            return *it;
        const bool ok = cert.verifySignatureWith(issuer);
        if (cert.isCa())
            m_verified.insert(key, ok);
        return ok;
    }

    QHash<QByteArray, QList<Certificate>> m_bySubject;
    // The first copy of a certificate (by SHA-256) in each file and in each folder.
    QHash<std::pair<QByteArray, QString>, Certificate> m_copyInFile;
    QHash<std::pair<QByteArray, QString>, Certificate> m_copyInFolder;
    mutable QHash<QByteArray, bool> m_verified;
};

// Walks from the leaf up, trusted first as OpenSSL 1.1.1+ and browsers build paths: at each step a
// trust anchor that issued the current certificate ends the path (so an expired cross-signed copy
// of a trusted root, sent too, is not followed); else the provided certificates are asked. Stops
// at a self-signed certificate, a missing issuer, or a loop.
void buildPath(Bundle& bundle, const IssuerIndex& index, const TrustStore* trust)
{
    Certificate current = bundle.leaf;
    QSet<QByteArray> visited{current.sha256()};
    for (int depth = 0;; ++depth) {
        if (current.isSelfSigned())
            return;
        if (depth == kMaxChainLength) {
            // Real chains are 2 to 4 certificates long; a longer one is built by hostile input.
            bundle.chainTooLong = true;
            return;
        }
        if (trust) {
            const Certificate anchor = trust->findIssuer(current);
            if (!anchor.isNull() && !visited.contains(anchor.sha256())) {
                // The anchor as the inputs hold it (a sent root) is part of the chain; otherwise
                // it completes the path from the trust store.
                const Certificate provided = index.provided(anchor);
                if (provided.isNull())
                    bundle.anchor = anchor;
                else
                    bundle.chain << index.nearestCopy(provided, bundle.leaf.source().path);
                return;
            }
        }
        bool signatureOk = false;
        const Certificate issuer = index.issuerOf(current, &signatureOk);
        if (issuer.isNull() || visited.contains(issuer.sha256()))
            return;
        visited.insert(issuer.sha256());
        bundle.chain << index.nearestCopy(issuer, bundle.leaf.source().path);
        current = issuer;
    }
}

// Whether one of `staple`'s responses names `b`'s leaf by CertID: serial, issuer name hash, and
// issuer key hash when the leaf's issuer is known (the test bundle() applies to positional staples).
bool certIdNames(const OcspStaple& staple, const Bundle& b)
{
    const Certificate issuer = b.issuer();
    for (const OcspSingleResponse& single : staple.responses())
        if (single.certId.serialMatches(b.leaf) && single.certId.issuerNameMatches(b.leaf) &&
            (issuer.isNull() || single.certId.issuerKeyMatches(issuer)))
            return true;
    return false;
}

// A CRL's DER, to recognise the same CRL read from two files.
QByteArray crlDer(const Crl& crl)
{
    unsigned char* der = nullptr;
    const int length = i2d_X509_CRL(crl.get0(), &der);
    QByteArray out;
    if (length > 0)
        out = QByteArray(reinterpret_cast<const char*>(der), length);
    OPENSSL_free(der);
    return out;
}

} // namespace

Bundler::Bundler(const TrustStore* trust) : m_trust(trust) {}

QList<Bundle> Bundler::bundle(const LoadedInputs& inputs) const
{
    // Distinct certificates (the same one often sits in cert.pem and fullchain.pem).
    QList<Certificate> distinct;
    QSet<QByteArray> seen;
    for (const Certificate& cert : inputs.certificates) {
        if (seen.contains(cert.sha256()))
            continue;
        seen.insert(cert.sha256());
        distinct << cert;
    }
    QList<Certificate> cas, leaves, responders;
    for (const Certificate& cert : distinct) {
        if (cert.isCa())
            cas << cert;
        else if (isResponderOnly(cert))
            responders << cert;
        else
            leaves << cert;
    }
    // A certificate that issued another input certificate stands on that one's path as a CA,
    // whatever its basicConstraints and keyUsage say (CA:FALSE, no keyCertSign): the chain
    // verdict then names what is wrong with it, instead of a false "issuer missing".
    QHash<QByteArray, QList<Certificate>> issuedByName;
    for (const Certificate& cert : std::as_const(distinct))
        issuedByName[cert.issuerNameDer()] << cert;
    // Key identifiers rule out most pairs without cryptography; past that, a few signature checks
    // per candidate: thousands of server certificates sharing one name (hostile, or a test CA's
    // leaves all called "localhost") must not cost a signature check per pair.
    constexpr int kSignatureChecksPerCandidate = 8;
    for (qsizetype i = leaves.size() - 1; i >= 0; --i) {
        const Certificate& candidate = leaves[i];
        int checks = 0;
        for (const Certificate& child : issuedByName.value(candidate.subjectNameDer())) {
            if (child == candidate || child.isSelfSigned())
                continue;
            if (!child.authorityKeyId().isEmpty() && !candidate.subjectKeyId().isEmpty() &&
                child.authorityKeyId() != candidate.subjectKeyId())
                continue;
            if (++checks > kSignatureChecksPerCandidate)
                break;
            if (child.verifySignatureWith(candidate)) {
                cas << candidate;
                leaves.removeAt(i);
                break;
            }
        }
    }
    const IssuerIndex index(cas, inputs.certificates);

    // Files with several certificates give the order a server would send them in.
    QHash<QString, QList<Certificate>> certsByFile;
    for (const Certificate& cert : inputs.certificates)
        certsByFile[cert.source().path] << cert;
    QSet<QByteArray> leafShas;
    for (const Certificate& leaf : std::as_const(leaves))
        leafShas.insert(leaf.sha256());
    // Each leaf's first appearance in a file of several certificates (that file, and the leaf's
    // position among its certificates), and how many server certificates each file holds.
    QHash<QByteArray, std::pair<QString, qsizetype>> firstInMultiFile;
    QHash<QString, qsizetype> leavesInFile;
    QHash<QString, qsizetype> certificatesSeenInFile;
    for (const Certificate& cert : inputs.certificates) {
        const QString& path = cert.source().path;
        const qsizetype at = certificatesSeenInFile[path]++;
        if (!leafShas.contains(cert.sha256()) || certsByFile.value(path).size() < 2)
            continue;
        ++leavesInFile[path];
        insertFirst(firstInMultiFile, cert.sha256(), std::pair{path, at});
    }

    QList<Bundle> bundles;
    bundles.reserve(leaves.size());
    QHash<QByteArray, int> bundleBySha;
    for (const Certificate& leaf : leaves) {
        Bundle b;
        b.leaf = leaf;
        b.id = leaf.id();
        b.origin = leaf.source().path;
        b.knownCertificates = distinct;
        b.responderCertificates = responders;
        buildPath(b, index, m_trust);
        // The first file holding this leaf followed by other certificates (fullchain.pem, site.pem).
        if (const auto found = firstInMultiFile.constFind(leaf.sha256()); found != firstInMultiFile.constEnd()) {
            const auto& [path, at] = *found;
            const QList<Certificate>& inFile = certsByFile.value(path);
            b.chainAsGivenSource = path;
            if (leavesInFile.value(path) == 1) {
                // One server's file: the server sends all of it, so what precedes the leaf is sent
                // before it, which is wrong too.
                b.chainAsGiven = inFile;
                b.chainAsGiven.removeAt(at);
                b.leafFirstAsGiven = inFile[at].source().index == 0;
            } else {
                // Several server certificates (concatenated fullchains, an exported store): each
                // leaf is followed by its own CA certificates, up to the next leaf. Bundling by
                // issuance, not by file, keeps the cost and the report linear in the file's size.
                for (qsizetype next = at + 1; next < inFile.size() && !leafShas.contains(inFile[next].sha256()); ++next)
                    b.chainAsGiven << inFile[next];
                if (b.chainAsGiven.isEmpty())
                    b.chainAsGivenSource.clear();
            }
        }
        bundleBySha.insert(leaf.sha256(), int(bundles.size()));
        bundles << b;
    }

    // Same names, same CA: the latest notBefore is current, the others are superseded by it.
    QHash<QString, QList<int>> groups;
    for (int i = 0; i < bundles.size(); ++i)
        groups[namesKey(bundles[i].leaf, bundles[i].issuer())] << i;
    for (const QList<int>& group : std::as_const(groups)) {
        if (group.size() < 2)
            continue;
        QList<Bundle*> members;
        for (int i : group)
            members << &bundles[i];
        supersedeAllButNewest(members);
    }

    // Keys: by public key; an unmatched key next to a single certificate is that certificate's.
    // A renewal may keep the key (certbot --reuse-key), so one key can belong to several bundles:
    // the current certificate and the ones it superseded.
    QHash<QByteArray, QList<int>> bundlesByPublicKey;
    for (int i = 0; i < bundles.size(); ++i)
        bundlesByPublicKey[bundles[i].leaf.publicKeyBitString()] << i;
    QHash<QString, QList<int>> currentByFolder;
    for (int i = 0; i < bundles.size(); ++i)
        if (!bundles[i].isSuperseded())
            currentByFolder[folderOf(bundles[i].leaf.source().path)] << i;
    auto soleBundleBeside = [&](const QString& path) -> int {
        const QList<int> beside = currentByFolder.value(folderOf(path));
        if (beside.size() == 1)
            return beside.first();
        return bundles.size() == 1 ? 0 : -1;
    };
    for (const PrivateKey& key : inputs.keys) {
        if (!key.isEncrypted()) {
            const QList<int> matches = bundlesByPublicKey.value(key.publicKeyBitString());
            for (int match : matches) {
                bundles[match].key = key;
                bundles[match].keyStatus = KeyStatus::Matches;
            }
            if (!matches.isEmpty())
                continue;
        }
        const int beside = soleBundleBeside(key.source().path);
        if (beside >= 0 && bundles[beside].keyStatus == KeyStatus::NotProvided) {
            bundles[beside].key = key;
            bundles[beside].keyStatus = key.isEncrypted() ? KeyStatus::Encrypted : KeyStatus::Mismatch;
        }
    }

    // Staples: by CertID first (serial, then both issuer hashes with the staple's own algorithm).
    QHash<QByteArray, QList<int>> bundlesBySerial;
    for (int i = 0; i < bundles.size(); ++i)
        bundlesBySerial[signedSerialKey(bundles[i].leaf.serial(), bundles[i].leaf.serialNegative())] << i;
    // The folders each certificate lies in (every copy): a staple beside its own superseded
    // certificate and away from the current one is that certificate's history.
    QHash<QByteArray, QSet<QString>> foldersOfCert;
    QHash<QByteArray, QSet<std::pair<QString, int>>> issuancesOfCert; // (folder, number) of its numbered files
    for (const Certificate& cert : inputs.certificates) {
        foldersOfCert[cert.sha256()].insert(folderOf(cert.source().path));
        if (const int number = issuanceNumberOf(cert.source().path); number >= 0)
            issuancesOfCert[cert.sha256()].insert({folderOf(cert.source().path), number});
    }
    // Every file that holds a leaf, for HAProxy's "site.pem.ocsp belongs to site.pem".
    QHash<QString, int> bundleByLeafFile;
    for (const Certificate& cert : inputs.certificates) {
        const auto it = bundleBySha.constFind(cert.sha256());
        if (it != bundleBySha.constEnd() && !bundleByLeafFile.contains(cert.source().path))
            bundleByLeafFile.insert(cert.source().path, *it);
    }
    for (const OcspStaple& staple : inputs.staples) {
        int owner = -1;
        StapleAttachment how = StapleAttachment::CertIdMatch;
        for (const OcspSingleResponse& single : staple.responses()) {
            for (int i : bundlesBySerial.value(signedSerialKey(single.certId.serial, single.certId.serialNegative))) {
                const Bundle& b = bundles[i];
                if (!single.certId.issuerNameMatches(b.leaf))
                    continue;
                const Certificate issuer = b.issuer();
                if (!issuer.isNull() && !single.certId.issuerKeyMatches(issuer))
                    continue;
                owner = i;
                break;
            }
            if (owner >= 0)
                break;
        }
        if (owner >= 0 && bundles[owner].isSuperseded()) {
            // A staple that fits a previous certificate is, where the current one's staple belongs,
            // a wrong staple: the renewal incident. But one that lies beside the previous
            // certificate, in a folder without the current one (an archive/ or previous/ folder
            // kept by the renewal), is that certificate's history, and stays with it.
            const QString stapleFolder = folderOf(staple.source().path);
            const bool besideOwner = foldersOfCert.value(bundles[owner].leaf.sha256()).contains(stapleFolder);
            const bool besideCurrent = foldersOfCert.value(bundles[owner].supersededBy.sha256()).contains(stapleFolder);
            // In a numbered archive both lie in one folder; ocsp1.der beside cert1.pem is cert1's.
            const std::pair<QString, int> issuance{stapleFolder, issuanceNumberOf(staple.source().path)};
            const bool numberedWithOwner = issuance.second >= 0 &&
                                           issuancesOfCert.value(bundles[owner].leaf.sha256()).contains(issuance) &&
                                           !issuancesOfCert.value(bundles[owner].supersededBy.sha256()).contains(issuance);
            if ((!besideOwner || besideCurrent) && !numberedWithOwner) {
                owner = int(bundleBySha.value(bundles[owner].supersededBy.sha256(), owner));
                how = StapleAttachment::PreviousCertificate;
            }
        }
        // HAProxy's convention: "site.pem.ocsp" is what HAProxy staples for "site.pem", whatever it
        // holds, so the name wins over the CertID (a staple copied from another site is wrong for
        // this one, not a second staple for the other).
        const QString path = staple.source().path;
        if (path.endsWith(QLatin1String(".ocsp"))) {
            const auto named = bundleByLeafFile.constFind(path.chopped(5));
            if (named != bundleByLeafFile.constEnd() && *named != owner) {
                owner = *named;
                how = StapleAttachment::BesideFiles;
            }
        }
        if (owner < 0) {
            const QList<int> beside = currentByFolder.value(folderOf(staple.source().path));
            if (beside.size() == 1)
                owner = beside.first(), how = StapleAttachment::BesideFiles;
            else if (bundles.size() == 1)
                owner = 0, how = StapleAttachment::OnlyBundle;
        }
        if (owner >= 0)
            bundles[owner].staples << AttachedStaple{staple, how};
    }

    QHash<QByteArray, QList<Crl>> crlsByIssuer;
    for (const Crl& crl : inputs.crls)
        crlsByIssuer[x509NameDer(X509_CRL_get_issuer(crl.get0()))] << crl;
    // Each CRL published by an issuer on the path: the leaf's for revocation, the others for the
    // chain verdict (a revoked intermediate).
    for (Bundle& b : bundles) {
        b.crls = crlsByIssuer.value(b.leaf.issuerNameDer());
        for (const Certificate& c : std::as_const(b.chain))
            if (c.issuerNameDer() != b.leaf.issuerNameDer() && !c.isSelfIssued())
                b.crls += crlsByIssuer.value(c.issuerNameDer());
    }
    return bundles;
}

QList<Bundle> Bundler::bundleExplicit(const RoleInputs& roles) const
{
    QList<Certificate> all = roles.cert.certificates + roles.chain.certificates;
    if (all.isEmpty())
        return {};
    Bundle b;
    b.origin = roles.origin;
    b.served = roles.served;
    // The first end-entity certificate heads the bundle; failing that, the first certificate.
    int leafIndex = 0;
    for (int i = 0; i < roles.cert.certificates.size(); ++i)
        if (!roles.cert.certificates[i].isCa()) {
            leafIndex = i;
            break;
        }
    b.leaf = all.at(leafIndex);
    b.id = roles.served ? b.leaf.id() + QLatin1Char('@') + roles.origin : b.leaf.id();
    all.removeAt(leafIndex);
    b.chainAsGiven = all;
    b.leafFirstAsGiven = b.leaf.source().index == 0;
    b.chainAsGivenSource = roles.served ? roles.origin
                           : !roles.chain.files.isEmpty() && roles.cert.certificates.size() < 2
                               ? roles.chain.files.join(QStringLiteral(", "))
                               : b.leaf.source().path;
    QList<Certificate> cas;
    for (const Certificate& c : all)
        if (c != b.leaf)
            cas << c;
    buildPath(b, IssuerIndex(cas), m_trust);
    b.knownCertificates = roles.cert.certificates + roles.chain.certificates;
    for (const Certificate& c : b.knownCertificates)
        if (isResponderOnly(c))
            b.responderCertificates << c;
    for (const OcspStaple& staple : roles.staple.staples + roles.cert.staples)
        b.staples << AttachedStaple{staple, StapleAttachment::Explicit};
    const QList<PrivateKey> keys = roles.key.keys + roles.cert.keys;
    if (!keys.isEmpty()) {
        b.key = keys.first();
        for (const PrivateKey& k : keys)
            if (k.matches(b.leaf))
                b.key = k;
        b.keyStatus = b.key.isEncrypted() ? KeyStatus::Encrypted
                      : b.key.matches(b.leaf) ? KeyStatus::Matches
                                              : KeyStatus::Mismatch;
    }
    b.crls = roles.cert.crls + roles.chain.crls;
    return {b};
}

QList<Bundle> Bundler::bundleInputSet(const RoleInputs& roles, const LoadedInputs& positional) const
{
    QList<Bundle> explicitBundles = bundleExplicit(roles);

    // What the roles hold counts there; a positional copy (the same file given both ways, or the
    // certificate again in fullchain.pem) is dropped so nothing is counted twice.
    const QList<Certificate> roleCertificates = roles.cert.certificates + roles.chain.certificates;
    QSet<QByteArray> roleCertShas;
    for (const Certificate& c : roleCertificates)
        roleCertShas.insert(c.sha256());
    QSet<QString> roleStapleIds;
    for (const OcspStaple& s : roles.staple.staples + roles.cert.staples)
        roleStapleIds.insert(s.id());
    QSet<QString> roleKeyIds;
    for (const PrivateKey& k : roles.key.keys + roles.cert.keys)
        roleKeyIds.insert(k.id());
    const QList<Crl> roleCrls = roles.cert.crls + roles.chain.crls;
    QSet<QByteArray> roleCrlDers;
    for (const Crl& crl : roleCrls)
        roleCrlDers.insert(crlDer(crl));

    // Distinct, too: a chain file repeated in many site folders is one CA for the role bundle.
    LoadedInputs rest;
    QList<Certificate> positionalCas;
    QSet<QByteArray> seen = roleCertShas;
    for (const Certificate& c : positional.certificates) {
        if (seen.contains(c.sha256()))
            continue;
        seen.insert(c.sha256());
        rest.certificates << c;
        if (c.isCa())
            positionalCas << c;
    }
    for (const OcspStaple& s : positional.staples)
        if (!roleStapleIds.contains(s.id()))
            rest.staples << s;
    for (const PrivateKey& k : positional.keys)
        if (!roleKeyIds.contains(k.id()))
            rest.keys << k;
    for (const Crl& crl : positional.crls)
        if (!roleCrlDers.contains(crlDer(crl)))
            rest.crls << crl;

    QSet<QString> routedStapleIds, routedKeyIds;
    if (!explicitBundles.isEmpty()) {
        Bundle& b = explicitBundles.first();
        if (!positionalCas.isEmpty()) {
            // The path is rebuilt with the positional CA certificates as further candidates, after
            // the role's own (IssuerIndex prefers the first verified candidate).
            QList<Certificate> cas;
            for (const Certificate& c : roleCertificates)
                if (c != b.leaf)
                    cas << c;
            cas += positionalCas;
            b.chain.clear();
            b.anchor = Certificate();
            b.chainTooLong = false;
            buildPath(b, IssuerIndex(cas), m_trust);
        }
        b.knownCertificates += rest.certificates;
        for (const Certificate& c : std::as_const(rest.certificates))
            if (isResponderOnly(c))
                b.responderCertificates << c;
        // CRLs from the leaf's issuer and from each issuer above it (the chain verdict uses those).
        QSet<QByteArray> issuerNames{b.leaf.issuerNameDer()};
        for (const Certificate& c : std::as_const(b.chain))
            if (!c.isSelfIssued())
                issuerNames.insert(c.issuerNameDer());
        for (const Crl& crl : std::as_const(rest.crls))
            if (issuerNames.contains(x509NameDer(X509_CRL_get_issuer(crl.get0()))))
                b.crls << crl;
        for (const OcspStaple& s : std::as_const(rest.staples))
            if (certIdNames(s, b)) {
                b.staples << AttachedStaple{s, StapleAttachment::CertIdMatch};
                routedStapleIds.insert(s.id());
            }
        // A positional key for this leaf is its key when --key gave none; it stays available to
        // positional leaves with the same public key (a renewal that kept the key).
        QSet<QByteArray> positionalLeafKeys;
        for (const Certificate& c : std::as_const(rest.certificates))
            if (!c.isCa())
                positionalLeafKeys.insert(c.publicKeyBitString());
        for (const PrivateKey& k : std::as_const(rest.keys)) {
            if (!k.matches(b.leaf))
                continue;
            if (b.keyStatus == KeyStatus::NotProvided) {
                b.key = k;
                b.keyStatus = KeyStatus::Matches;
            }
            if (!positionalLeafKeys.contains(k.publicKeyBitString()))
                routedKeyIds.insert(k.id());
        }
    }

    // Positional leaves make their own bundles, with the roles' CA certificates and CRLs available
    // too; staples and keys already given to the role bundle are not offered again.
    // bundle() counts each CA once by itself and wants every copy, to name the one nearest to a
    // leaf (previous/fullchain.pem's own intermediate); only the roles' end-entity certificates
    // are withheld, so the --cert leaf heads no second bundle.
    QSet<QByteArray> roleEndEntityShas;
    for (const Certificate& c : roleCertificates)
        if (!c.isCa() || (!explicitBundles.isEmpty() && c == explicitBundles.first().leaf))
            roleEndEntityShas.insert(c.sha256());
    LoadedInputs forPositional;
    for (const Certificate& c : positional.certificates)
        if (!roleEndEntityShas.contains(c.sha256()))
            forPositional.certificates << c;
    for (const Certificate& c : roleCertificates)
        if (!roleEndEntityShas.contains(c.sha256()))
            forPositional.certificates << c;
    for (const OcspStaple& s : std::as_const(rest.staples))
        if (!routedStapleIds.contains(s.id()))
            forPositional.staples << s;
    for (const PrivateKey& k : std::as_const(rest.keys))
        if (!routedKeyIds.contains(k.id()))
            forPositional.keys << k;
    forPositional.crls = rest.crls + roleCrls;
    QList<Bundle> positionalBundles = rest.certificates.isEmpty() ? QList<Bundle>() : bundle(forPositional);

    // Renewals across the two: `--cert exim.crt previous/` must still see that previous/exim.crt
    // is the certificate it replaced, as bundle() does among PATHs, or a staple for the previous
    // certificate would sit in that bundle, healthy, instead of being reported as stale.
    if (!explicitBundles.isEmpty()) {
        Bundle& b = explicitBundles.first();
        const QString key = namesKey(b.leaf, b.issuer());
        QList<Bundle*> group{&b};
        for (Bundle& pb : positionalBundles)
            if (namesKey(pb.leaf, pb.issuer()) == key)
                group << &pb;
        if (group.size() > 1) {
            // bundle() has placed the staples of the bundles it superseded itself; only a bundle
            // that was current until now has staples to hand on.
            QSet<const Bundle*> wereCurrent;
            for (const Bundle* g : std::as_const(group))
                if (!g->isSuperseded())
                    wereCurrent.insert(g);
            Bundle* newest = supersedeAllButNewest(group);
            for (Bundle* g : std::as_const(group)) {
                if (g == newest || !wereCurrent.contains(g))
                    continue;
                // As in bundle(): a staple that names a previous certificate is, for the current
                // one, a wrong staple. Staples placed by the user or by file name stay where they are.
                for (qsizetype i = g->staples.size() - 1; i >= 0; --i) {
                    const StapleAttachment how = g->staples[i].attachment;
                    if (how != StapleAttachment::CertIdMatch && how != StapleAttachment::PreviousCertificate)
                        continue;
                    newest->staples << AttachedStaple{g->staples[i].staple, StapleAttachment::PreviousCertificate};
                    g->staples.removeAt(i);
                }
            }
        }
    }

    // The only staple given at all, claimed by no positional leaf, is the role bundle's (the user
    // put the certificate and its staple on one command line); the analysis judges whether it fits.
    if (!explicitBundles.isEmpty() && explicitBundles.first().staples.isEmpty() && rest.staples.size() == 1) {
        bool claimed = false;
        for (const Bundle& pb : positionalBundles)
            for (const AttachedStaple& a : pb.staples)
                claimed = claimed || a.staple.id() == rest.staples.first().id();
        if (!claimed)
            explicitBundles.first().staples << AttachedStaple{rest.staples.first(), StapleAttachment::OnlyBundle};
    }
    return explicitBundles + positionalBundles;
}

} // namespace staplescope
