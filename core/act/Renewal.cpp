#include "Renewal.h"

#include "FindingRegistry.h"
#include "OnlineCheck.h"
#include "OpenSslPtr.h"
#include "TextEscape.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QStandardPaths>

#include <algorithm>
#include <csignal>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/types.h>
#include <unistd.h>

namespace staplescope {

namespace {

// The most a client configuration file may be (certbot renewal conf, acme.sh conf, dehydrated config).
constexpr qint64 kConfigFileCap = 256 * 1024;
// Accounts and certificates listed in a lego folder before giving up: a real one has a handful.
constexpr int kMaxLegoEntries = 256;
// Lines of a failed client's output quoted in RENEW_CLIENT_FAILED.
constexpr int kQuotedErrorLines = 6;

const QString kDefaultCertbotConfigDir = QStringLiteral("/etc/letsencrypt");
const QString kLetsEncryptDirectory = QStringLiteral("https://acme-v02.api.letsencrypt.org/directory");

QString shellQuote(const QString& word)
{
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_@%+=:,./-]+$"));
    if (plain.match(word).hasMatch())
        return word;
    QString quoted = word;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

QByteArray readSmallFile(const QString& path, QString* why = nullptr)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (why)
            *why = QStringLiteral("%1 cannot be read: %2").arg(path, file.errorString());
        return {};
    }
    if (file.size() > kConfigFileCap) {
        if (why)
            *why = QStringLiteral("%1 is larger than a client configuration can be (%2 bytes)").arg(path).arg(file.size());
        return {};
    }
    return file.read(kConfigFileCap);
}

QString stripQuotes(QString value)
{
    value = value.trimmed();
    if (value.size() >= 2 && ((value.startsWith(QLatin1Char('"')) && value.endsWith(QLatin1Char('"'))) ||
                              (value.startsWith(QLatin1Char('\'')) && value.endsWith(QLatin1Char('\'')))))
        value = value.mid(1, value.size() - 2);
    return value;
}

// certbot's ConfigObj file: "key = value" lines, "[section]" headers, "#" comments. Keys of the
// [renewalparams] section win over top-level ones of the same name (there are none in practice).
QMap<QString, QString> parseCertbotConf(const QByteArray& text)
{
    QMap<QString, QString> values;
    for (const QByteArray& raw : text.split('\n')) {
        const QString line = QString::fromUtf8(raw).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')) || line.startsWith(QLatin1Char('[')))
            continue;
        const qsizetype eq = line.indexOf(QLatin1Char('='));
        if (eq <= 0)
            continue;
        values.insert(line.left(eq).trimmed(), stripQuotes(line.mid(eq + 1)));
    }
    return values;
}

// Shell assignments (acme.sh conf, dehydrated config): KEY=value, KEY='value', KEY="value",
// optionally after "export". Nothing is evaluated.
QMap<QString, QString> parseShellAssignments(const QByteArray& text)
{
    static const QRegularExpression assignment(QStringLiteral("^\\s*(?:export\\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$"));
    QMap<QString, QString> values;
    for (const QByteArray& raw : text.split('\n')) {
        const QString line = QString::fromUtf8(raw);
        if (line.trimmed().startsWith(QLatin1Char('#')))
            continue;
        const auto m = assignment.match(line);
        if (!m.hasMatch())
            continue;
        QString value = m.captured(2).trimmed();
        // A trailing comment after an unquoted value.
        if (!value.startsWith(QLatin1Char('"')) && !value.startsWith(QLatin1Char('\'')))
            value = value.section(QLatin1Char('#'), 0, 0).trimmed();
        values.insert(m.captured(1), stripQuotes(value));
    }
    return values;
}

bool isFile(const QString& path) { return QFileInfo(path).isFile(); }
bool isDir(const QString& path) { return QFileInfo(path).isDir(); }

// The ACME directory of well-known CAs, by host: lego records only the host of the server it
// registered with (accounts/<host_port>/), not the directory's path.
QString knownDirectoryForHost(const QString& host)
{
    static const QMap<QString, QString> known{
        {QStringLiteral("acme-v02.api.letsencrypt.org"), QStringLiteral("https://acme-v02.api.letsencrypt.org/directory")},
        {QStringLiteral("acme-staging-v02.api.letsencrypt.org"), QStringLiteral("https://acme-staging-v02.api.letsencrypt.org/directory")},
        {QStringLiteral("acme.zerossl.com"), QStringLiteral("https://acme.zerossl.com/v2/DV90")},
        {QStringLiteral("dv.acme-v02.api.pki.goog"), QStringLiteral("https://dv.acme-v02.api.pki.goog/directory")},
        {QStringLiteral("api.buypass.com"), QStringLiteral("https://api.buypass.com/acme/directory")},
        {QStringLiteral("api.test4.buypass.no"), QStringLiteral("https://api.test4.buypass.no/acme/directory")},
    };
    return known.value(host.toLower());
}

// acme.sh and dehydrated accept a CA's short name instead of its directory URL.
QString directoryForCaName(const QString& value)
{
    static const QMap<QString, QString> names{
        {QStringLiteral("letsencrypt"), QStringLiteral("https://acme-v02.api.letsencrypt.org/directory")},
        {QStringLiteral("letsencrypt_test"), QStringLiteral("https://acme-staging-v02.api.letsencrypt.org/directory")},
        {QStringLiteral("letsencrypt-test"), QStringLiteral("https://acme-staging-v02.api.letsencrypt.org/directory")},
        {QStringLiteral("zerossl"), QStringLiteral("https://acme.zerossl.com/v2/DV90")},
        {QStringLiteral("buypass"), QStringLiteral("https://api.buypass.com/acme/directory")},
        {QStringLiteral("buypass_test"), QStringLiteral("https://api.test4.buypass.no/acme/directory")},
        {QStringLiteral("buypass-test"), QStringLiteral("https://api.test4.buypass.no/acme/directory")},
        {QStringLiteral("google"), QStringLiteral("https://dv.acme-v02.api.pki.goog/directory")},
    };
    if (value.startsWith(QLatin1String("https://")) || value.startsWith(QLatin1String("http://")))
        return value;
    return names.value(value.toLower());
}

QString legoKeyTypeFor(const Certificate& leaf)
{
    const QString key = leaf.keyDescription();
    if (key == QLatin1String("EC P-256"))
        return QStringLiteral("ec256");
    if (key == QLatin1String("EC P-384"))
        return QStringLiteral("ec384");
    static const QRegularExpression rsa(QStringLiteral("^RSA (2048|4096|8192)$"));
    if (const auto m = rsa.match(key); m.hasMatch())
        return QStringLiteral("rsa") + m.captured(1);
    return {};
}

Certificate firstCertificateIn(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const QByteArray data = file.read(1024 * 1024);
    BioPtr bio(BIO_new_mem_buf(data.constData(), int(data.size())));
    X509Ptr x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!x509) {
        const auto* p = reinterpret_cast<const unsigned char*>(data.constData());
        x509.reset(d2i_X509(nullptr, &p, long(data.size())));
        ERR_clear_error();
    }
    return x509 ? Certificate::fromX509(std::move(x509), SourceLocation{path}) : Certificate();
}

// ---- certbot --------------------------------------------------------------------------------

// The config dir and lineage name a path lies in: CONFIG/live/NAME[/FILE], CONFIG/archive/NAME[/FILE]
// or CONFIG/renewal/NAME.conf. Tried on the path as given and as resolved (live/ symlinks point
// into archive/).
std::optional<std::pair<QString, QString>> certbotLineageOf(const QString& path)
{
    const QFileInfo info(path);
    QString absolute = QDir::cleanPath(info.absoluteFilePath());
    for (const QString& candidate : {absolute, info.canonicalFilePath()}) {
        if (candidate.isEmpty())
            continue;
        QStringList parts = candidate.split(QLatin1Char('/'));
        if (candidate.endsWith(QLatin1String(".conf")) && parts.size() >= 3 && parts[parts.size() - 2] == QLatin1String("renewal")) {
            const QString name = parts.last().chopped(5);
            parts.resize(parts.size() - 2);
            return std::make_pair(parts.join(QLatin1Char('/')), name);
        }
        // …/live/NAME or …/live/NAME/FILE (the same for archive).
        for (int fromEnd = 2; fromEnd <= 3; ++fromEnd) {
            if (parts.size() < fromEnd + 1)
                continue;
            const QString folder = parts[parts.size() - fromEnd];
            if (folder != QLatin1String("live") && folder != QLatin1String("archive"))
                continue;
            if (fromEnd == 3 && !isFile(candidate))
                continue;
            const QString name = parts[parts.size() - fromEnd + 1];
            QStringList config = parts.mid(0, parts.size() - fromEnd);
            return std::make_pair(config.join(QLatin1Char('/')), name);
        }
    }
    return std::nullopt;
}

std::optional<ManagedCertificate> detectCertbot(const QString& path, QString* why)
{
    const auto lineage = certbotLineageOf(path);
    if (!lineage)
        return std::nullopt;
    const auto& [configDir, name] = *lineage;
    const QString conf = configDir + QStringLiteral("/renewal/") + name + QStringLiteral(".conf");
    if (!isFile(conf)) {
        // Only a config dir certbot keeps (it has renewal/) makes this a certbot lineage; any other
        // folder that happens to be called live/ or archive/ is left to the other clients.
        if (isDir(configDir + QStringLiteral("/renewal")))
            *why = QStringLiteral("%1 looks like a certbot lineage (%2), but %3 does not exist").arg(path, name, conf);
        return std::nullopt;
    }
    QString problem;
    const QByteArray text = readSmallFile(conf, &problem);
    if (text.isEmpty()) {
        *why = problem.isEmpty() ? QStringLiteral("%1 is empty").arg(conf) : problem;
        return std::nullopt;
    }
    const QMap<QString, QString> values = parseCertbotConf(text);
    ManagedCertificate m;
    m.client = AcmeClient::Certbot;
    m.name = name;
    m.configFile = conf;
    const QString live = configDir + QStringLiteral("/live/") + name;
    m.certificateFile = values.value(QStringLiteral("cert"), live + QStringLiteral("/cert.pem"));
    m.keyFile = values.value(QStringLiteral("privkey"), live + QStringLiteral("/privkey.pem"));
    m.chainFile = values.value(QStringLiteral("chain"), live + QStringLiteral("/chain.pem"));
    m.fullchainFile = values.value(QStringLiteral("fullchain"), live + QStringLiteral("/fullchain.pem"));
    m.acmeDirectory = values.value(QStringLiteral("server"), kLetsEncryptDirectory);
    const QString recordedConfigDir = values.value(QStringLiteral("config_dir"));
    const QString effectiveConfigDir = QDir::cleanPath(recordedConfigDir.isEmpty() ? configDir : recordedConfigDir);
    // The lineage was found under configDir: that is where certbot must look, whatever was recorded.
    if (QDir::cleanPath(configDir) != kDefaultCertbotConfigDir)
        m.certbotConfigDir = QDir::cleanPath(configDir);
    else if (effectiveConfigDir != kDefaultCertbotConfigDir)
        m.certbotConfigDir = kDefaultCertbotConfigDir;
    m.certbotWorkDir = values.value(QStringLiteral("work_dir"));
    m.certbotLogsDir = values.value(QStringLiteral("logs_dir"));
    for (const QString& key : {QStringLiteral("server"), QStringLiteral("authenticator"), QStringLiteral("installer"),
                               QStringLiteral("http01_port"), QStringLiteral("http01_address"), QStringLiteral("webroot_path"),
                               QStringLiteral("key_type"), QStringLiteral("pref_challs"), QStringLiteral("account")})
        if (values.contains(key))
            m.settings.insert(key, values.value(key));
    const Certificate leaf = firstCertificateIn(m.certificateFile);
    m.domains = leaf.dnsNames();
    m.detectedBy = QStringLiteral("certbot renewal config %1").arg(conf);
    return m;
}

// ---- lego -----------------------------------------------------------------------------------

// "127.0.0.1_14000" (lego's folder name for host:port) → "127.0.0.1:14000".
QString legoHostFromFolder(const QString& folder)
{
    const qsizetype underscore = folder.lastIndexOf(QLatin1Char('_'));
    if (underscore > 0) {
        bool ok = false;
        folder.mid(underscore + 1).toInt(&ok);
        if (ok)
            return folder.left(underscore) + QLatin1Char(':') + folder.mid(underscore + 1);
    }
    return folder;
}

std::optional<ManagedCertificate> detectLego(const QString& path, const QString& directoryHint, QString* why)
{
    const QFileInfo info(path);
    QString certificates;
    QString domain;
    if (info.isFile() && info.dir().dirName() == QLatin1String("certificates")) {
        certificates = info.absolutePath();
        domain = info.fileName();
        for (const char* suffix : {".issuer.crt", ".crt", ".key", ".json", ".pem", ".pfx"}) {
            if (domain.endsWith(QLatin1String(suffix))) {
                domain.chop(qsizetype(qstrlen(suffix)));
                break;
            }
        }
    } else if (info.isDir() && (info.fileName() == QLatin1String("certificates") || isDir(path + QStringLiteral("/certificates")))) {
        certificates = info.fileName() == QLatin1String("certificates") ? info.absoluteFilePath() : info.absoluteFilePath() + QStringLiteral("/certificates");
        QStringList crts;
        QDirIterator it(certificates, {QStringLiteral("*.crt")}, QDir::Files);
        while (it.hasNext() && crts.size() < kMaxLegoEntries) {
            const QString name = QFileInfo(it.next()).fileName();
            if (!name.endsWith(QLatin1String(".issuer.crt")))
                crts << name.chopped(4);
        }
        if (crts.size() != 1) {
            if (!crts.isEmpty()) {
                crts.sort();
                *why = QStringLiteral("%1 holds %2 lego certificates (%3): give the one to renew, e.g. %1/%4.crt")
                           .arg(certificates)
                           .arg(crts.size())
                           .arg(crts.join(QStringLiteral(", ")), crts.first());
            }
            return std::nullopt;
        }
        domain = crts.first();
    } else {
        return std::nullopt;
    }
    const QString legoPath = QFileInfo(certificates).absolutePath();
    const QString accounts = legoPath + QStringLiteral("/accounts");
    const QString crt = certificates + QLatin1Char('/') + domain + QStringLiteral(".crt");
    if (!isFile(crt) || !isDir(accounts))
        return std::nullopt;

    // accounts/<host_port>/<email>/account.json
    struct Account {
        QString hostFolder, email;
    };
    QList<Account> found;
    QDirIterator hosts(accounts, QDir::Dirs | QDir::NoDotAndDotDot);
    while (hosts.hasNext() && found.size() < kMaxLegoEntries) {
        const QString hostDir = hosts.next();
        QDirIterator emails(hostDir, QDir::Dirs | QDir::NoDotAndDotDot);
        while (emails.hasNext() && found.size() < kMaxLegoEntries) {
            const QString emailDir = emails.next();
            if (isFile(emailDir + QStringLiteral("/account.json")))
                found << Account{QFileInfo(hostDir).fileName(), QFileInfo(emailDir).fileName()};
        }
    }
    if (found.isEmpty()) {
        *why = QStringLiteral("%1 is a lego certificate, but %2 holds no account (accounts/<server>/<email>/account.json)").arg(crt, accounts);
        return std::nullopt;
    }
    if (found.size() > 1 && !directoryHint.isEmpty()) {
        const QUrl hint(directoryHint);
        const QString hintHost = hint.port() > 0 ? QStringLiteral("%1:%2").arg(hint.host()).arg(hint.port()) : hint.host();
        QList<Account> matching;
        for (const Account& a : std::as_const(found))
            if (legoHostFromFolder(a.hostFolder) == hintHost)
                matching << a;
        found = matching;
    }
    if (found.size() != 1) {
        QStringList names;
        for (const Account& a : std::as_const(found))
            names << a.hostFolder + QLatin1Char('/') + a.email;
        *why = found.isEmpty() ? QStringLiteral("%1: no lego account under %2 is for the server %3").arg(crt, accounts, directoryHint)
                               : QStringLiteral("%1: %2 holds several lego accounts (%3); give --acme-directory to choose the server")
                                     .arg(crt, accounts, names.join(QStringLiteral(", ")));
        return std::nullopt;
    }
    ManagedCertificate m;
    m.client = AcmeClient::Lego;
    m.name = domain;
    m.legoPath = legoPath;
    m.legoEmail = found.first().email;
    m.legoServerHost = legoHostFromFolder(found.first().hostFolder);
    m.certificateFile = crt;
    m.fullchainFile = crt; // lego bundles the issuer after the leaf unless run with --no-bundle
    m.keyFile = certificates + QLatin1Char('/') + domain + QStringLiteral(".key");
    m.chainFile = certificates + QLatin1Char('/') + domain + QStringLiteral(".issuer.crt");
    m.acmeDirectory = knownDirectoryForHost(m.legoServerHost);
    m.settings.insert(QStringLiteral("server host"), m.legoServerHost);
    m.settings.insert(QStringLiteral("email"), m.legoEmail);
    // DOMAIN.json names the main domain (a wildcard's file is "_.example.com").
    const QJsonObject meta = QJsonDocument::fromJson(readSmallFile(certificates + QLatin1Char('/') + domain + QStringLiteral(".json"))).object();
    const QString mainDomain = meta.value(QStringLiteral("domain")).toString();
    const Certificate leaf = firstCertificateIn(crt);
    m.domains = leaf.dnsNames();
    if (!mainDomain.isEmpty()) {
        m.domains.removeAll(mainDomain);
        m.domains.prepend(mainDomain);
    }
    if (m.domains.isEmpty())
        m.domains << QString(domain).replace(QLatin1String("_."), QLatin1String("*."));
    m.legoKeyType = legoKeyTypeFor(leaf);
    m.detectedBy = QStringLiteral("lego folder %1 (account %2 at %3)").arg(legoPath, m.legoEmail, m.legoServerHost);
    return m;
}

// ---- acme.sh --------------------------------------------------------------------------------

std::optional<ManagedCertificate> detectAcmeSh(const QString& path)
{
    const QFileInfo info(path);
    const QString folder = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
    QString folderName = QFileInfo(folder).fileName();
    const bool ecc = folderName.endsWith(QLatin1String("_ecc"));
    const QString name = ecc ? folderName.chopped(4) : folderName;
    const QString conf = folder + QLatin1Char('/') + name + QStringLiteral(".conf");
    if (name.isEmpty() || !isFile(conf))
        return std::nullopt;
    const QMap<QString, QString> values = parseShellAssignments(readSmallFile(conf));
    if (!values.contains(QStringLiteral("Le_Domain")))
        return std::nullopt;
    ManagedCertificate m;
    m.client = AcmeClient::AcmeSh;
    m.name = values.value(QStringLiteral("Le_Domain"));
    m.configFile = conf;
    m.certificateFile = folder + QLatin1Char('/') + name + QStringLiteral(".cer");
    m.keyFile = folder + QLatin1Char('/') + name + QStringLiteral(".key");
    m.chainFile = folder + QStringLiteral("/ca.cer");
    m.fullchainFile = folder + QStringLiteral("/fullchain.cer");
    m.acmeDirectory = directoryForCaName(values.value(QStringLiteral("Le_API")));
    m.acmeShEcc = ecc || values.value(QStringLiteral("Le_Keylength")).startsWith(QLatin1String("ec-"));
    m.domains << m.name;
    const QString alt = values.value(QStringLiteral("Le_Alt"));
    if (!alt.isEmpty() && alt != QLatin1String("no"))
        for (const QString& d : alt.split(QLatin1Char(','), Qt::SkipEmptyParts))
            if (!m.domains.contains(d.trimmed()))
                m.domains << d.trimmed();
    const QString home = QFileInfo(folder).absolutePath();
    const QString defaultHome = QDir::homePath() + QStringLiteral("/.acme.sh");
    if (QDir::cleanPath(home) != QDir::cleanPath(defaultHome) && isFile(home + QStringLiteral("/account.conf")))
        m.acmeShConfigHome = home;
    m.acmeShProgram = QStandardPaths::findExecutable(QStringLiteral("acme.sh"));
    if (m.acmeShProgram.isEmpty())
        m.acmeShProgram = isFile(home + QStringLiteral("/acme.sh")) ? home + QStringLiteral("/acme.sh")
                                                                    : (isFile(defaultHome + QStringLiteral("/acme.sh")) ? defaultHome + QStringLiteral("/acme.sh")
                                                                                                                         : QStringLiteral("acme.sh"));
    for (const QString& key : {QStringLiteral("Le_API"), QStringLiteral("Le_Webroot"), QStringLiteral("Le_Keylength"),
                               QStringLiteral("Le_HTTPPort"), QStringLiteral("Le_Alt")})
        if (values.contains(key))
            m.settings.insert(key, values.value(key));
    m.detectedBy = QStringLiteral("acme.sh config %1").arg(conf);
    return m;
}

// ---- dehydrated -----------------------------------------------------------------------------

std::optional<ManagedCertificate> detectDehydrated(const QString& path)
{
    const QFileInfo info(path);
    const QString folder = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
    const QString certs = QFileInfo(folder).absolutePath();
    if (QFileInfo(certs).fileName() != QLatin1String("certs") || !isFile(folder + QStringLiteral("/cert.pem")))
        return std::nullopt;
    const QString baseDir = QFileInfo(certs).absolutePath();
    QString config;
    for (const QString& candidate : {baseDir + QStringLiteral("/config"), baseDir + QStringLiteral("/config.sh"),
                                     QStringLiteral("/etc/dehydrated/config"), QStringLiteral("/usr/local/etc/dehydrated/config")}) {
        if (isFile(candidate)) {
            config = candidate;
            break;
        }
    }
    // dehydrated's own marks: its timestamped files behind the symlinks, its accounts folder.
    const bool timestamped = !QDir(folder).entryList({QStringLiteral("cert-*.pem")}, QDir::Files).isEmpty();
    if (!timestamped && !isDir(baseDir + QStringLiteral("/accounts")))
        return std::nullopt;
    ManagedCertificate m;
    m.client = AcmeClient::Dehydrated;
    m.name = QFileInfo(folder).fileName();
    m.configFile = config;
    m.certificateFile = folder + QStringLiteral("/cert.pem");
    m.keyFile = folder + QStringLiteral("/privkey.pem");
    m.chainFile = folder + QStringLiteral("/chain.pem");
    m.fullchainFile = folder + QStringLiteral("/fullchain.pem");
    const QMap<QString, QString> values = config.isEmpty() ? QMap<QString, QString>() : parseShellAssignments(readSmallFile(config));
    // dehydrated's default CA is Let's Encrypt.
    m.acmeDirectory = directoryForCaName(values.value(QStringLiteral("CA"), QStringLiteral("letsencrypt")));
    if (values.contains(QStringLiteral("CA")))
        m.settings.insert(QStringLiteral("CA"), values.value(QStringLiteral("CA")));
    if (values.contains(QStringLiteral("CHALLENGETYPE")))
        m.settings.insert(QStringLiteral("CHALLENGETYPE"), values.value(QStringLiteral("CHALLENGETYPE")));
    const Certificate leaf = firstCertificateIn(m.certificateFile);
    m.domains = leaf.dnsNames();
    m.domains.removeAll(m.name);
    m.domains.prepend(m.name);
    m.detectedBy = config.isEmpty() ? QStringLiteral("dehydrated certificate folder %1").arg(folder)
                                     : QStringLiteral("dehydrated certificate folder %1 (config %2)").arg(folder, config);
    return m;
}

// ---- command --------------------------------------------------------------------------------

// Any file or folder the loader reads into exactly one current certificate. A file is read with
// the folder it lies in, so its key, chain and staple beside it belong to it.
std::optional<ManagedCertificate> managedByCommand(const QString& path, QString* why)
{
    const QFileInfo info(path);
    InspectRequest request;
    request.files.paths = {info.isFile() ? info.absolutePath() : path};
    request.useSystemTrust = false;
    const auto session = InspectionSession::load(request);
    QList<const Bundle*> current;
    for (const Bundle& b : session->bundles()) {
        if (b.served)
            continue;
        if (info.isFile() && QFileInfo(b.leaf.source().path).canonicalFilePath() == info.canonicalFilePath()) {
            current = {&b};
            break;
        }
        if (!b.isSuperseded())
            current << &b;
    }
    if (current.size() != 1) {
        *why = current.isEmpty() ? QStringLiteral("%1 holds no certificate that could be read").arg(path)
                                 : QStringLiteral("%1 holds %2 current certificates; give one certificate file").arg(path).arg(current.size());
        return std::nullopt;
    }
    const Bundle& b = *current.first();
    ManagedCertificate m;
    m.client = AcmeClient::Command;
    m.certificateFile = b.leaf.source().path;
    m.name = b.leaf.dnsNames().value(0, b.leaf.commonName());
    m.domains = b.leaf.dnsNames();
    if (!b.key.isNull())
        m.keyFile = b.key.source().path;
    for (const AttachedStaple& s : b.staples)
        if (s.attachment != StapleAttachment::PreviousCertificate && m.stapleFile.isEmpty())
            m.stapleFile = s.staple.source().path;
    if (!b.chainAsGivenSource.isEmpty() && b.chainAsGivenSource == m.certificateFile)
        m.fullchainFile = m.certificateFile;
    else if (!b.chainAsGivenSource.isEmpty())
        m.chainFile = b.chainAsGivenSource;
    else if (!b.chain.isEmpty())
        m.chainFile = b.chain.first().source().path;
    m.detectedBy = QStringLiteral("the certificate file %1").arg(m.certificateFile);
    return m;
}

QString expandTemplate(const QString& text, const ManagedCertificate& m)
{
    const QMap<QString, QString> values{
        {QStringLiteral("name"), m.name},
        {QStringLiteral("cert"), m.certificateFile},
        {QStringLiteral("key"), m.keyFile},
        {QStringLiteral("fullchain"), m.fullchainFile},
        {QStringLiteral("chain"), m.chainFile},
        {QStringLiteral("dir"), QFileInfo(m.certificateFile).absolutePath()},
    };
    // One pass: a value holding "{cert}" is not expanded again.
    static const QRegularExpression placeholder(QStringLiteral("\\{(name|cert|key|fullchain|chain|dir)\\}"));
    QString out;
    qsizetype last = 0;
    auto it = placeholder.globalMatch(text);
    while (it.hasNext()) {
        const auto m2 = it.next();
        out += text.mid(last, m2.capturedStart() - last);
        out += shellQuote(values.value(m2.captured(1)));
        last = m2.capturedEnd();
    }
    out += text.mid(last);
    return out;
}

// ---- running the client ----------------------------------------------------------------------

// What to quote from a failed client's output: the lines that say what went wrong (certbot puts
// its error several lines before a footer of separators and advice), else the last lines.
QString lastLines(const QString& text, int count)
{
    static const QRegularExpression separator(QStringLiteral("^[-=_*#. ]+$"));
    static const QRegularExpression errorWords(QStringLiteral("error|fail|could not|cannot|unable|denied|refused|invalid|timed? ?out"),
                                               QRegularExpression::CaseInsensitiveOption);
    QStringList lines;
    QStringList errorLines;
    for (const QString& line : text.split(QLatin1Char('\n'))) {
        const QString t = line.trimmed();
        if (t.isEmpty() || t.startsWith(QLatin1String("[output")) || separator.match(t).hasMatch())
            continue;
        lines << t;
        if (errorWords.match(t).hasMatch())
            errorLines << t;
    }
    const QStringList& chosen = errorLines.isEmpty() ? lines : errorLines;
    return chosen.mid(std::max<qsizetype>(0, chosen.size() - count)).join(QStringLiteral(" | "));
}

CommandRun runClient(const ClientCommand& command, int timeoutMs, const std::function<void(const QString&)>& line)
{
    ProcessSpec process;
    process.program = command.program;
    process.arguments = command.arguments;
    process.environment = command.environment;
    process.display = command.display();
    process.role = QStringLiteral("client");
    process.timeoutMs = timeoutMs;
    process.kept = KeptOutput::End;
    process.onLine = line;
    return runProcess(process);
}

// ---- JSON ---------------------------------------------------------------------------------------

QJsonValue timeJson(const QDateTime& time)
{
    return time.isValid() ? QJsonValue(time.toUTC().toString(Qt::ISODate)) : QJsonValue(QJsonValue::Null);
}

QJsonArray findingsJson(const QList<Finding>& findings)
{
    QJsonArray array;
    for (const Finding& f : findings)
        array.append(QJsonObject{{QStringLiteral("code"), f.code},
                                 {QStringLiteral("severity"), severityName(f.severity)},
                                 {QStringLiteral("title"), f.title},
                                 {QStringLiteral("subject"), f.subject},
                                 {QStringLiteral("message"), f.message},
                                 {QStringLiteral("fix"), f.fix},
                                 {QStringLiteral("remedy"), remedyKindName(f.remedy.kind)}});
    return array;
}

QJsonValue windowJson(const RenewalWindow& w)
{
    if (w.isNull())
        return QJsonValue::Null;
    return QJsonObject{{QStringLiteral("start"), timeJson(w.start)},
                       {QStringLiteral("end"), timeJson(w.end)},
                       {QStringLiteral("explanationUrl"), w.explanationUrl.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(w.explanationUrl)},
                       {QStringLiteral("source"), w.source},
                       {QStringLiteral("fetchedAt"), timeJson(w.fetchedAt)},
                       {QStringLiteral("retryAfter"), timeJson(w.retryAfter)}};
}

QJsonValue certificateJson(const Certificate& leaf)
{
    if (leaf.isNull())
        return QJsonValue::Null;
    return QJsonObject{{QStringLiteral("subject"), leaf.subject()},
                       {QStringLiteral("serial"), leaf.serialHex()},
                       {QStringLiteral("names"), QJsonArray::fromStringList(leaf.dnsNames())},
                       {QStringLiteral("notBefore"), timeJson(leaf.notBefore())},
                       {QStringLiteral("notAfter"), timeJson(leaf.notAfter())},
                       {QStringLiteral("file"), leaf.source().path}};
}

QJsonValue commandRunJson(const CommandRun& run)
{
    return QJsonObject{{QStringLiteral("command"), run.command},
                       {QStringLiteral("ran"), run.ran},
                       {QStringLiteral("exitStatus"), run.exitStatus},
                       {QStringLiteral("timedOut"), run.timedOut},
                       {QStringLiteral("output"), run.output}};
}

bool clientSucceeded(const CommandRun& run) { return run.ran && !run.timedOut && run.exitStatus == 0; }

// The certificate at the managed files now, with its chain and key; the bundle whose leaf is the
// certificate file's (else the only current one).
std::optional<BundleReport> inspectManaged(const ManagedCertificate& m, const RenewOptions& options, const QDateTime& at,
                                           const RenewalWindow& window, const Certificate& previous, QString* why,
                                           std::shared_ptr<InspectionSession>* sessionOut = nullptr)
{
    InspectRequest request;
    request.caFiles = options.caFiles;
    request.useSystemTrust = options.useSystemTrust;
    request.analysis.at = at;
    const bool fullchain = !m.fullchainFile.isEmpty() && isFile(m.fullchainFile);
    request.files.certFiles = {fullchain ? m.fullchainFile : m.certificateFile};
    if (!fullchain && !m.chainFile.isEmpty() && isFile(m.chainFile))
        request.files.chainFiles = {m.chainFile};
    if (!m.keyFile.isEmpty() && isFile(m.keyFile))
        request.files.keyFiles = {m.keyFile};
    if (!m.stapleFile.isEmpty() && isFile(m.stapleFile))
        request.files.stapleFiles = {m.stapleFile};
    const auto session = InspectionSession::load(request);
    const Certificate onDisk = firstCertificateIn(m.certificateFile);
    const Bundle* chosen = nullptr;
    for (const Bundle& b : session->bundles()) {
        if (b.served)
            continue;
        if (!onDisk.isNull() && b.leaf == onDisk) {
            chosen = &b;
            break;
        }
        if (!chosen && !b.isSuperseded())
            chosen = &b;
    }
    if (!chosen) {
        QStringList problems;
        for (const Finding& f : session->inputFindings())
            problems << f.message;
        *why = QStringLiteral("no certificate could be read from %1%2")
                   .arg(m.certificateFile, problems.isEmpty() ? QString() : QStringLiteral(": ") + problems.first());
        return std::nullopt;
    }
    Bundle bundle = *chosen;
    bundle.renewalWindow = window;
    if (!previous.isNull() && previous != bundle.leaf && !bundle.previousCertificates.contains(previous))
        bundle.previousCertificates.prepend(previous);
    const auto withWindow = InspectionSession::fromBundles({bundle}, session->inputFindings(), session->sharedTrust());
    if (sessionOut)
        *sessionOut = withWindow;
    AnalysisOptions analysis;
    analysis.at = at;
    const InspectionReport report = withWindow->evaluate(analysis);
    if (report.bundles.isEmpty()) {
        *why = QStringLiteral("no certificate could be read from %1").arg(m.certificateFile);
        return std::nullopt;
    }
    return report.bundles.first();
}

QString revokedByFrom(const QList<Finding>& findings)
{
    for (const Finding& f : findings) {
        const auto code = findingCode(f);
        if (code == FindingCode::CertRevoked)
            return f.message;
        if (code == FindingCode::StapleRevoked)
            return f.message;
    }
    return {};
}

} // namespace

// ---- public ---------------------------------------------------------------------------------------

QString acmeClientKey(AcmeClient client)
{
    switch (client) {
    case AcmeClient::Certbot: return QStringLiteral("certbot");
    case AcmeClient::Lego: return QStringLiteral("lego");
    case AcmeClient::AcmeSh: return QStringLiteral("acme.sh");
    case AcmeClient::Dehydrated: return QStringLiteral("dehydrated");
    case AcmeClient::Command: return QStringLiteral("command");
    }
    return {};
}

std::optional<AcmeClient> acmeClientFromKey(const QString& key)
{
    for (AcmeClient c : {AcmeClient::Certbot, AcmeClient::Lego, AcmeClient::AcmeSh, AcmeClient::Dehydrated, AcmeClient::Command})
        if (acmeClientKey(c) == key.toLower())
            return c;
    return std::nullopt;
}

std::optional<ManagedCertificate> detectAcmeClient(const QString& path, QString* why)
{
    return detectAcmeClient(path, QString(), why);
}

std::optional<ManagedCertificate> detectAcmeClient(const QString& path, const QString& directoryHint, QString* why)
{
    QString scratch;
    QString& reason = why ? *why : scratch;
    reason.clear();
    if (!QFileInfo::exists(path)) {
        reason = QStringLiteral("%1 does not exist").arg(path);
        return std::nullopt;
    }
    if (auto m = detectCertbot(path, &reason))
        return m;
    if (!reason.isEmpty())
        return std::nullopt;
    if (auto m = detectLego(path, directoryHint, &reason))
        return m;
    if (!reason.isEmpty())
        return std::nullopt;
    if (auto m = detectAcmeSh(path))
        return m;
    if (auto m = detectDehydrated(path))
        return m;
    reason = QStringLiteral("no ACME client was recognised for %1 (not a certbot lineage with its renewal config, a lego "
                            "certificates/ folder with its account, an acme.sh certificate folder or a dehydrated certs/ folder)")
                 .arg(path);
    return std::nullopt;
}

QString ClientCommand::display() const
{
    QStringList words;
    for (auto it = environment.cbegin(); it != environment.cend(); ++it)
        words << it.key() + QLatin1Char('=') + shellQuote(it.value());
    // A --command template runs as `sh -c TEXT`: shown as the text itself, the way it was written.
    if (program == QLatin1String("/bin/sh") && arguments.size() == 2 && arguments.first() == QLatin1String("-c")) {
        words << arguments.last();
        return words.join(QLatin1Char(' '));
    }
    words << shellQuote(program);
    for (const QString& a : arguments)
        words << shellQuote(a);
    return words.join(QLatin1Char(' '));
}

ClientCommand renewCommandFor(const ManagedCertificate& m, const RenewOptions& options)
{
    ClientCommand c;
    switch (m.client) {
    case AcmeClient::Certbot:
        c.program = QStringLiteral("certbot");
        // Without a terminal certbot sleeps up to 8 minutes first unless told not to.
        c.arguments = {QStringLiteral("renew"), QStringLiteral("-n"), QStringLiteral("--no-random-sleep-on-renew"),
                       QStringLiteral("--cert-name"), m.name};
        if (options.force)
            c.arguments << QStringLiteral("--force-renewal");
        if (!m.certbotConfigDir.isEmpty())
            c.arguments << QStringLiteral("--config-dir") << m.certbotConfigDir;
        if (!m.certbotWorkDir.isEmpty())
            c.arguments << QStringLiteral("--work-dir") << m.certbotWorkDir;
        if (!m.certbotLogsDir.isEmpty())
            c.arguments << QStringLiteral("--logs-dir") << m.certbotLogsDir;
        c.arguments << options.clientArguments;
        break;
    case AcmeClient::Lego: {
        c.program = QStringLiteral("lego");
        const QString server = options.acmeDirectory.isEmpty() ? m.acmeDirectory : options.acmeDirectory;
        c.arguments = {QStringLiteral("--path"), m.legoPath};
        if (!server.isEmpty())
            c.arguments << QStringLiteral("--server") << server;
        c.arguments << QStringLiteral("--email") << m.legoEmail;
        for (const QString& d : m.domains)
            c.arguments << QStringLiteral("--domains") << d;
        if (!m.legoKeyType.isEmpty())
            c.arguments << QStringLiteral("--key-type") << m.legoKeyType;
        // lego records no challenge: it needs one named again (`--http`, `--tls`, `--dns PROVIDER`).
        c.arguments << (options.clientArguments.isEmpty() ? QStringList{QStringLiteral("--http")} : options.clientArguments);
        c.arguments << QStringLiteral("renew") << QStringLiteral("--no-random-sleep");
        // lego renews when at most --days days are left; a negative number renews whatever is left.
        if (options.force)
            c.arguments << QStringLiteral("--days=-1");
        break;
    }
    case AcmeClient::AcmeSh:
        c.program = m.acmeShProgram.isEmpty() ? QStringLiteral("acme.sh") : m.acmeShProgram;
        c.arguments = {QStringLiteral("--renew"), QStringLiteral("-d"), m.name};
        if (m.acmeShEcc)
            c.arguments << QStringLiteral("--ecc");
        if (options.force)
            c.arguments << QStringLiteral("--force");
        if (!m.acmeShConfigHome.isEmpty())
            c.arguments << QStringLiteral("--config-home") << m.acmeShConfigHome;
        c.arguments << options.clientArguments;
        break;
    case AcmeClient::Dehydrated:
        c.program = QStringLiteral("dehydrated");
        c.arguments = {QStringLiteral("-c")};
        if (!m.configFile.isEmpty())
            c.arguments << QStringLiteral("--config") << m.configFile;
        for (const QString& d : m.domains)
            c.arguments << QStringLiteral("-d") << d;
        if (options.force)
            c.arguments << QStringLiteral("--force");
        c.arguments << options.clientArguments;
        break;
    case AcmeClient::Command:
        c.program = QStringLiteral("/bin/sh");
        c.arguments = {QStringLiteral("-c"), expandTemplate(options.commandTemplate, m)};
        break;
    }
    return c;
}

QDateTime renewalMomentInWindow(const RenewalWindow& window, const QString& seed)
{
    if (window.isNull() || !window.start.isValid() || !window.end.isValid() || window.end <= window.start)
        return {};
    const QByteArray digest = QCryptographicHash::hash(
        (seed + QLatin1Char('|') + window.start.toString(Qt::ISODate) + QLatin1Char('|') + window.end.toString(Qt::ISODate)).toUtf8(),
        QCryptographicHash::Sha256);
    quint64 value = 0;
    for (int i = 0; i < 8; ++i)
        value = (value << 8) | quint8(digest.at(i));
    const qint64 span = window.start.secsTo(window.end);
    return window.start.addSecs(qint64(value % quint64(span + 1)));
}

QDateTime renewalFallbackMoment(const Certificate& leaf)
{
    if (!leaf.notBefore().isValid() || !leaf.notAfter().isValid())
        return {};
    return leaf.notBefore().addSecs(leaf.notBefore().secsTo(leaf.notAfter()) * 2 / 3);
}

RenewalDecision decideRenewal(const Certificate& leaf, const RenewalInputs& inputs, const QDateTime& at)
{
    RenewalDecision d;
    d.window = inputs.window;
    const QString subject = certificateSubject(leaf);
    const Remedy renew{RemedyKind::RenewCertificate, leaf.source().path, leaf.serialHex(), {}};
    const QString fix = QStringLiteral("Renew it: staplescope-cli renew %1 (or the ACME client's own renew command).").arg(leaf.source().path);

    if (!inputs.window.isNull())
        d.findings << renewalWindowFindings(leaf, inputs.window);
    else if (!inputs.windowProblem.isEmpty())
        d.findings << makeFinding(FindingCode::RenewalInfoFailed, inputs.windowProblemIsInfo ? Severity::Info : Severity::Warning,
                                  QStringLiteral("CA's renewal information not used"), subject,
                                  QStringLiteral("%1%2. Renewal is timed at two thirds of the lifetime instead (%3).")
                                      .arg(inputs.windowProblem.left(1).toUpper(), inputs.windowProblem.mid(1),
                                           formatTime(renewalFallbackMoment(leaf))),
                                  inputs.windowProblemIsInfo ? QString()
                                                             : QStringLiteral("Check that this machine reaches the ACME server (and trusts its "
                                                                              "certificate: --acme-ca-file), then run renew again."),
                                  {leaf.id()});

    if (!inputs.revokedBy.isEmpty()) {
        d.due = true;
        d.dueAt = at;
        d.reason = QStringLiteral("the certificate is revoked: %1").arg(inputs.revokedBy);
        d.findings << makeFinding(FindingCode::RenewalDue, Severity::Warning, QStringLiteral("Renewal due now: revoked"), subject,
                                  QStringLiteral("The certificate is revoked (%1), so it is renewed now whatever its renewal window says.")
                                      .arg(inputs.revokedBy),
                                  fix, {leaf.id()}, renew);
        return d;
    }

    qint64 slack = 0;
    if (!inputs.window.isNull()) {
        d.dueAt = renewalMomentInWindow(inputs.window, acmeCertId(leaf));
        slack = inputs.window.start.secsTo(inputs.window.end);
        d.reason = QStringLiteral("the CA suggests renewing between %1 and %2; the moment chosen in that window is %3")
                       .arg(formatTime(inputs.window.start), formatTime(inputs.window.end), formatTime(d.dueAt));
    } else {
        d.dueAt = renewalFallbackMoment(leaf);
        slack = leaf.lifetimeSeconds() / 6;
        if (!d.dueAt.isValid()) {
            d.reason = QStringLiteral("the certificate's validity cannot be read, so no renewal time can be chosen");
            return d;
        }
        d.reason = QStringLiteral("without the CA's window, renewal is due at two thirds of the lifetime (%1, a third left)").arg(formatTime(d.dueAt));
    }
    d.due = at >= d.dueAt;
    if (!d.due) {
        d.reason += QStringLiteral(": not due yet");
        if (!inputs.window.isNull() && inputs.window.retryAfter.isValid())
            d.reason += QStringLiteral(" (the CA asks to be asked again after %1)").arg(formatTime(inputs.window.retryAfter));
        return d;
    }
    const bool overdue = d.dueAt.secsTo(at) > slack;
    d.reason += overdue ? QStringLiteral(": overdue since %1").arg(formatTime(d.dueAt)) : QStringLiteral(": due now");
    d.findings << makeFinding(FindingCode::RenewalDue, overdue ? Severity::Warning : Severity::Info,
                              overdue ? QStringLiteral("Renewal overdue") : QStringLiteral("Renewal due"), subject,
                              inputs.window.isNull()
                                  ? QStringLiteral("Two thirds of the certificate's lifetime passed %1 (%2); it expires %3.")
                                        .arg(relativeTime(at, d.dueAt), formatTime(d.dueAt), relativeTime(at, leaf.notAfter()))
                                  : QStringLiteral("The CA's suggested renewal window runs from %1 to %2; the moment chosen inside it (%3) "
                                                   "passed %4.")
                                        .arg(formatTime(inputs.window.start), formatTime(inputs.window.end), formatTime(d.dueAt),
                                             relativeTime(at, d.dueAt)),
                              fix, {leaf.id()}, renew);
    return d;
}

RenewPlan planRenew(const QStringList& paths, const RenewOptions& options, const QDateTime& at, const std::atomic<bool>* cancel)
{
    RenewPlan plan;
    plan.madeAt = at.toUTC();
    plan.madeAtWallClock = QDateTime::currentDateTimeUtc();
    plan.ifDue = options.ifDue;
    // One certificate reached through several PATHs (live/NAME and live/NAME/cert.pem) runs once.
    QHash<QString, QString> planned;
    for (const QString& path : paths) {
        RenewPlanEntry entry;
        entry.path = path;
        entry.deployTo = options.deployTo;
        if (cancel && cancel->load()) {
            entry.problem = QStringLiteral("cancelled before %1 was looked at").arg(path);
            plan.entries << entry;
            continue;
        }
        QString why;
        const bool commandOnly = options.client == AcmeClient::Command;
        if (!commandOnly)
            entry.managed = detectAcmeClient(path, options.acmeDirectory, &why);
        if (entry.managed && options.client && *options.client != entry.managed->client) {
            entry.problem = QStringLiteral("%1 is managed by %2 (%3), not %4").arg(path, acmeClientKey(entry.managed->client),
                                                                                 entry.managed->detectedBy, acmeClientKey(*options.client));
            plan.entries << entry;
            continue;
        }
        if (!entry.managed && (commandOnly || (!options.client && !options.commandTemplate.isEmpty()))) {
            if (options.commandTemplate.isEmpty()) {
                entry.problem = QStringLiteral("--client command needs --command TEMPLATE");
                plan.entries << entry;
                continue;
            }
            QString commandWhy;
            entry.managed = managedByCommand(path, &commandWhy);
            if (!entry.managed)
                why = commandWhy;
        }
        if (!entry.managed) {
            entry.problem = why + (options.commandTemplate.isEmpty() ? QStringLiteral("; give --command TEMPLATE to renew it with a command of your own")
                                                                     : QString());
            plan.entries << entry;
            continue;
        }
        ManagedCertificate& m = *entry.managed;
        // The server asked is the one the plan names.
        if (!options.acmeDirectory.isEmpty() && options.acmeDirectory != m.acmeDirectory) {
            if (!m.acmeDirectory.isEmpty())
                m.settings.insert(QStringLiteral("detected ACME directory"), m.acmeDirectory);
            m.acmeDirectory = options.acmeDirectory;
        }
        if (m.client == AcmeClient::Lego && m.acmeDirectory.isEmpty() && options.acmeDirectory.isEmpty()) {
            entry.problem = QStringLiteral("lego's account folder names the ACME server %1 but not its directory URL; give "
                                           "--acme-directory URL (the URL lego was run with as --server)")
                                .arg(m.legoServerHost);
            plan.entries << entry;
            continue;
        }

        // The certificate now, then what the CA suggests for it.
        std::optional<BundleReport> now = inspectManaged(m, options, plan.madeAt, {}, {}, &why);
        if (!now) {
            entry.problem = why;
            plan.entries << entry;
            continue;
        }
        const Certificate leaf = now->bundle.leaf;
        RenewalInputs inputs;
        const QString directory = options.acmeDirectory.isEmpty() ? m.acmeDirectory : options.acmeDirectory;
        if (directory.isEmpty()) {
            inputs.windowProblem = QStringLiteral("no ACME directory is known for this certificate (give --acme-directory URL to ask the CA)");
            inputs.windowProblemIsInfo = true;
        } else {
            AriOptions ari;
            ari.fetch = options.online.fetch;
            ari.caFiles = options.acmeCaFiles;
            ari.useSystemTrust = options.acmeUseSystemTrust;
            ari.reuseUntilRetryAfter = options.reuseRenewalInfo;
            const AriLookup lookup = fetchRenewalInfo(leaf, QUrl(directory), ari, plan.madeAt, cancel);
            if (lookup.ok()) {
                inputs.window = lookup.window;
            } else {
                inputs.windowProblem = lookup.error;
                inputs.windowProblemIsInfo = lookup.notOffered;
            }
        }
        std::shared_ptr<InspectionSession> session;
        now = inspectManaged(m, options, plan.madeAt, inputs.window, {}, &why, &session);
        if (!now) {
            entry.problem = why;
            plan.entries << entry;
            continue;
        }
        entry.before = *now;
        // Revocation: what the files already say (a revoked staple, a CRL given), else ask online.
        inputs.revokedBy = revokedByFrom(entry.before.findings);
        if (inputs.revokedBy.isEmpty() && options.ifDue && options.checkRevocation && session) {
            OnlineLookup lookup(options.online);
            AnalysisOptions analysis;
            analysis.at = plan.madeAt;
            const InspectionReport online = inspectOnline(*session, analysis, lookup, *Clock::system(), cancel);
            if (!online.bundles.isEmpty()) {
                entry.before = online.bundles.first();
                inputs.revokedBy = revokedByFrom(entry.before.findings);
            }
        }
        entry.decision = decideRenewal(leaf, inputs, plan.madeAt);
        entry.willRun = options.force || !options.ifDue || entry.decision.due;
        const QString identity = acmeClientKey(m.client) + QLatin1Char('\n') + QFileInfo(m.certificateFile).absoluteFilePath();
        if (const QString first = planned.value(identity); !first.isEmpty() && entry.willRun) {
            entry.willRun = false;
            entry.decision.reason = QStringLiteral("the same certificate as %1, which is renewed once").arg(first);
        }
        planned.insert(identity, planned.value(identity, path));
        RenewOptions commandOptions = options;
        // Due by our rules (the CA's window, revoked): the client's own rule (certbot's 30 days,
        // lego's --days) must not veto it.
        commandOptions.force = options.force || (options.ifDue && entry.decision.due);
        entry.command = renewCommandFor(m, commandOptions);
        plan.entries << entry;
    }
    return plan;
}

int RenewPlan::exitCode() const
{
    int code = 0;
    for (const RenewPlanEntry& e : entries) {
        if (!e.problem.isEmpty())
            code = std::max(code, 2);
        // Without --if-due the decision only informs (--force, or the client's own rules decide).
        if (!ifDue)
            continue;
        for (const Finding& f : e.decision.findings)
            if (f.severity >= Severity::Warning)
                code = std::max(code, 1);
    }
    return code;
}

QJsonObject RenewPlan::toJson() const
{
    QJsonArray array;
    for (const RenewPlanEntry& e : entries) {
        QJsonObject o{{QStringLiteral("path"), e.path},
                      {QStringLiteral("problem"), e.problem.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(e.problem)},
                      {QStringLiteral("willRun"), e.willRun},
                      {QStringLiteral("deployTo"), QJsonArray::fromStringList(e.deployTo)}};
        if (e.managed) {
            const ManagedCertificate& m = *e.managed;
            QJsonObject settings;
            for (auto it = m.settings.cbegin(); it != m.settings.cend(); ++it)
                settings.insert(it.key(), it.value());
            o.insert(QStringLiteral("client"), QJsonObject{{QStringLiteral("kind"), acmeClientKey(m.client)},
                                                          {QStringLiteral("name"), m.name},
                                                          {QStringLiteral("detectedBy"), m.detectedBy},
                                                          {QStringLiteral("configFile"), m.configFile},
                                                          {QStringLiteral("acmeDirectory"), m.acmeDirectory},
                                                          {QStringLiteral("certificateFile"), m.certificateFile},
                                                          {QStringLiteral("keyFile"), m.keyFile},
                                                          {QStringLiteral("chainFile"), m.chainFile},
                                                          {QStringLiteral("fullchainFile"), m.fullchainFile},
                                                          {QStringLiteral("domains"), QJsonArray::fromStringList(m.domains)},
                                                          {QStringLiteral("settings"), settings}});
        } else {
            o.insert(QStringLiteral("client"), QJsonValue::Null);
        }
        o.insert(QStringLiteral("certificate"), certificateJson(e.before.bundle.leaf));
        o.insert(QStringLiteral("verdict"), e.before.bundle.leaf.isNull() ? QJsonValue(QJsonValue::Null) : QJsonValue(e.before.verdict));
        o.insert(QStringLiteral("decision"),
                 QJsonObject{{QStringLiteral("due"), e.decision.due},
                             {QStringLiteral("dueAt"), timeJson(e.decision.dueAt)},
                             {QStringLiteral("reason"), e.decision.reason},
                             {QStringLiteral("window"), windowJson(e.decision.window)},
                             {QStringLiteral("findings"), findingsJson(e.decision.findings)}});
        o.insert(QStringLiteral("command"), e.command.program.isEmpty()
                                                ? QJsonValue(QJsonValue::Null)
                                                : QJsonValue(QJsonObject{{QStringLiteral("program"), e.command.program},
                                                                         {QStringLiteral("arguments"), QJsonArray::fromStringList(e.command.arguments)},
                                                                         {QStringLiteral("display"), e.command.display()}}));
        array.append(o);
    }
    return {{QStringLiteral("schema"), QStringLiteral("staplescope-renew-plan/1")},
            {QStringLiteral("madeAt"), timeJson(madeAt)},
            {QStringLiteral("entries"), array},
            {QStringLiteral("exitCode"), exitCode()}};
}

RenewResult executeRenew(const RenewPlan& plan, const RenewOptions& options,
                         const std::function<void(const QString& path, const QString& line)>& output, const std::atomic<bool>* cancel)
{
    RenewResult result;
    for (const RenewPlanEntry& entry : plan.entries) {
        RenewEntryResult r;
        r.path = entry.path;
        if (!entry.problem.isEmpty() || !entry.managed) {
            r.message = entry.problem.isEmpty() ? QStringLiteral("nothing can be done for %1").arg(entry.path) : entry.problem;
            result.entries << r;
            continue;
        }
        if (!entry.willRun) {
            r.skipped = true;
            r.message = QStringLiteral("not renewed: %1").arg(entry.decision.reason);
            r.after = entry.before;
            result.entries << r;
            continue;
        }
        if (cancel && cancel->load()) {
            r.message = QStringLiteral("cancelled before the client ran: nothing changed");
            result.entries << r;
            continue;
        }
        const ManagedCertificate& m = *entry.managed;
        const Certificate before = entry.before.bundle.leaf;
        r.ran = true;
        r.forced = options.force || (options.ifDue && entry.decision.due);
        r.client = runClient(entry.command, options.clientTimeoutMs, [&](const QString& line) {
            if (output)
                output(entry.path, line);
        });
        // Judged at the plan's moment plus the real time since: a pinned clock stays pinned.
        const QDateTime at = plan.madeAt.addMSecs(std::max<qint64>(0, plan.madeAtWallClock.msecsTo(QDateTime::currentDateTimeUtc())));
        const QString subject = certificateSubject(before);
        if (!clientSucceeded(r.client)) {
            const QString what = !r.client.ran ? QStringLiteral("could not be started")
                                 : r.client.timedOut ? QStringLiteral("was stopped after %1 s").arg(options.clientTimeoutMs / 1000.0)
                                                     : (r.client.exitStatus < 0 ? QStringLiteral("was killed by a signal")
                                                                                : QStringLiteral("exited with status %1").arg(r.client.exitStatus));
            const QString quoted = lastLines(r.client.output, kQuotedErrorLines);
            AnalysisOptions analysis;
            const bool late = before.notAfter().isValid() && at >= analysis.expiryWarningStart(before);
            r.findings << makeFinding(FindingCode::RenewClientFailed, late ? Severity::Critical : Severity::Error,
                                      QStringLiteral("ACME client failed"), subject,
                                      QStringLiteral("The ACME client (%1) %2%3. Staplescope changed nothing on disk; the certificate stays as it was (expires %4).")
                                          .arg(acmeClientKey(m.client), what,
                                               quoted.isEmpty() ? QString() : QStringLiteral(": \"%1\"").arg(quoted),
                                               formatTime(before.notAfter())),
                                      QStringLiteral("Read the client's output, fix what it names, then renew again."), {before.id()},
                                      Remedy{RemedyKind::CheckAcmeClient, m.certificateFile, before.serialHex(), {}});
            r.message = QStringLiteral("%1 %2: nothing was renewed").arg(acmeClientKey(m.client), what);
            r.after = entry.before;
            result.entries << r;
            continue;
        }
        QString why;
        // The CA's window was about the old certificate (its certID): it goes with it, not the new one.
        std::optional<BundleReport> after = inspectManaged(m, options, at, {}, before, &why);
        if (after && after->bundle.leaf == before && !entry.before.bundle.renewalWindow.isNull())
            after = inspectManaged(m, options, at, entry.before.bundle.renewalWindow, before, &why);
        if (!after) {
            r.message = QStringLiteral("%1 exited 0, but %2").arg(acmeClientKey(m.client), why);
            r.findings << makeFinding(FindingCode::RenewClientFailed, Severity::Error, QStringLiteral("ACME client left no readable certificate"),
                                      subject, QStringLiteral("%1 exited 0, but %2.").arg(acmeClientKey(m.client), why),
                                      QStringLiteral("Read the client's output and its files, then renew again."), {before.id()},
                                      Remedy{RemedyKind::CheckAcmeClient, m.certificateFile, before.serialHex(), {}});
            result.entries << r;
            continue;
        }
        r.after = *after;
        r.renewed = r.after.bundle.leaf != before;
        r.findings << r.after.findings;
        r.message = r.renewed ? QStringLiteral("renewed: serial %1, valid %2 to %3 (was serial %4)")
                                    .arg(r.after.bundle.leaf.serialHex(), formatTime(r.after.bundle.leaf.notBefore()),
                                         formatTime(r.after.bundle.leaf.notAfter()), before.serialHex())
                              : QStringLiteral("%1 exited 0 without changing the certificate (serial %2): by its own rules it was not due")
                                    .arg(acmeClientKey(m.client), before.serialHex());
        // Deploy what the client wrote: the folder (or lego file) it keeps the certificate in.
        for (const QString& destination : entry.deployTo) {
            if (cancel && cancel->load())
                break;
            DeployOptions deploy = options.deploy;
            deploy.from = m.client == AcmeClient::Lego ? m.certificateFile : QFileInfo(m.certificateFile).absolutePath();
            deploy.to = destination;
            DeployPlan deployPlan = planDeploy(deploy, at, cancel);
            if (deployPlan.needsExecution()) {
                DeployResult done = executeDeploy(deployPlan, deploy, cancel);
                // Another run deployed between our plan and its lock: judge what is there now, once.
                if (done.planOutdated)
                    deployPlan = planDeploy(deploy, at, cancel);
                if (!done.planOutdated || deployPlan.needsExecution()) {
                    r.deploys << (done.planOutdated ? executeDeploy(deployPlan, deploy, cancel) : done);
                    continue;
                }
            }
            // Up to date or refused: the plan says why; nothing to execute.
            DeployResult unchanged;
            unchanged.action = deployPlan.action;
            unchanged.currentGeneration = deployPlan.current.name;
            unchanged.message = deployPlan.reason;
            unchanged.findings = deployPlan.findings;
            r.deploys << unchanged;
        }
        result.entries << r;
    }
    return result;
}

int RenewResult::exitCode() const
{
    int code = 0;
    for (const RenewEntryResult& e : entries) {
        if (!e.ran) {
            // Not run: fine when not due; a path that could not be handled is a failure.
            if (e.skipped)
                continue;
            code = std::max(code, 2);
            continue;
        }
        // The client failed, or what it left has an error. The result's warnings (a lineage has no
        // staple beside it) are the report's, not a failed renewal.
        for (const Finding& f : e.findings)
            if (f.severity >= Severity::Error)
                code = std::max(code, 2);
        // Told to renew whatever the client's own rules say, and nothing changed.
        if (e.forced && clientSucceeded(e.client) && !e.renewed)
            code = std::max(code, 1);
        for (const DeployResult& d : e.deploys)
            code = std::max(code, d.exitCode());
    }
    return code;
}

QJsonObject RenewResult::toJson() const
{
    QJsonArray array;
    for (const RenewEntryResult& e : entries) {
        QJsonArray deploys;
        for (const DeployResult& d : e.deploys)
            deploys.append(deployResultToJson(d));
        array.append(QJsonObject{{QStringLiteral("path"), e.path},
                                 {QStringLiteral("ran"), e.ran},
                                 {QStringLiteral("skipped"), e.skipped},
                                 {QStringLiteral("client"), e.ran ? commandRunJson(e.client) : QJsonValue(QJsonValue::Null)},
                                 {QStringLiteral("renewed"), e.renewed},
                                 {QStringLiteral("certificate"), certificateJson(e.after.bundle.leaf)},
                                 {QStringLiteral("verdict"), e.after.verdict},
                                 {QStringLiteral("findings"), findingsJson(e.findings)},
                                 {QStringLiteral("deploys"), deploys},
                                 {QStringLiteral("message"), e.message}});
    }
    return {{QStringLiteral("entries"), array}, {QStringLiteral("exitCode"), exitCode()}};
}

} // namespace staplescope
