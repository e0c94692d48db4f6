#pragma once
// Renewing a certificate through the ACME client that manages it (certbot, lego, acme.sh,
// dehydrated, or a command the admin gives): detect the client from the certificate's files,
// decide whether renewal is due (the CA's ACME Renewal Information, RFC 9773, else two thirds of
// the lifetime; revoked: now), run the client for that one certificate (bounded in time, its
// output streamed and kept), inspect the result, and hand it to the deployer (Deployer.h).
// Staplescope itself writes nothing during renewal: on failure the client's own error text is
// reported and nothing on disk was changed by us.

#include "Deployer.h"
#include "Inspection.h"
#include "OnlineLookup.h"
#include "RenewalWindow.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>
#include <optional>

namespace staplescope {

enum class AcmeClient { Certbot, Lego, AcmeSh, Dehydrated, Command };
QString acmeClientKey(AcmeClient client);                          // "certbot", "lego", "acme.sh", "dehydrated", "command"
std::optional<AcmeClient> acmeClientFromKey(const QString& key);

// One certificate as its ACME client manages it.
struct ManagedCertificate {
    AcmeClient client = AcmeClient::Command;
    QString name;              // certbot --cert-name, lego/acme.sh/dehydrated domain or folder name
    QString certificateFile;   // the leaf file the user pointed at (symlinks resolved)
    QString keyFile;
    QString fullchainFile;
    QString chainFile;
    QString configFile;        // certbot renewal/NAME.conf, acme.sh NAME.conf, dehydrated config; empty: none
    QString acmeDirectory;     // the ACME server's directory URL (certbot `server =`, lego account, acme.sh Le_API)
    // certbot outside /etc/letsencrypt: --config-dir/--work-dir/--logs-dir derived from the lineage.
    QString certbotConfigDir;
    QString certbotWorkDir;
    QString certbotLogsDir;
    QString legoPath;          // lego --path (the folder holding certificates/ and accounts/)
    QStringList domains;       // names to renew (lego, acme.sh need them)
    QString detectedBy;        // one sentence: how the client was recognised ("renewal config /etc/letsencrypt/renewal/x.conf")
};

struct RenewOptions {
    bool ifDue = false;
    bool force = false;                 // renew even when not due (certbot --force-renewal, lego renew --days 0)
    std::optional<AcmeClient> client;   // nullopt: auto
    QString commandTemplate;            // --command: {name} {cert} {key} {fullchain} {chain} {dir} placeholders
    QStringList deployTo;               // --deploy-to DEST (repeatable)
    QString acmeDirectory;              // --acme-directory: overrides the detected one for ARI
    QStringList acmeCaFiles;            // TLS trust for talking to the ACME server (ARI), besides the system's
    int clientTimeoutMs = 600000;       // the client's whole run
    OnlineOptions online;
    DeployOptions deploy;               // template for --deploy-to (layout, reload, verify, keep …); `from`/`to` set per certificate
    QStringList caFiles;                // trust for inspecting the result
    bool useSystemTrust = true;
};

// The client managing the certificate at `path` (a file or a lineage folder); nullopt with `why`
// when none is recognised (then --command is needed).
std::optional<ManagedCertificate> detectAcmeClient(const QString& path, QString* why);

// The exact command that renews this one certificate: program, arguments and extra environment.
struct ClientCommand {
    QString program;
    QStringList arguments;
    QMap<QString, QString> environment; // added to the inherited environment (e.g. REQUESTS_CA_BUNDLE from the user's own)
    QString display() const;            // shell-quoted, as shown in plans
};
ClientCommand renewCommandFor(const ManagedCertificate& managed, const RenewOptions& options);

// Whether renewal is due at `at`, and why.
struct RenewalDecision {
    bool due = false;
    QDateTime dueAt;           // the chosen moment: random inside the CA's window, else two thirds of the lifetime
    QString reason;            // one sentence: "the CA suggests renewing between … and …", "a third of its lifetime is left", "revoked"
    RenewalWindow window;      // the CA's suggestion (null when not asked or not given)
    QList<Finding> findings;   // RENEWAL_DUE, RENEWAL_WINDOW_EARLY, RENEWAL_INFO_FAILED
};

struct RenewPlanEntry {
    QString path;              // as given
    std::optional<ManagedCertificate> managed;
    QString problem;           // set when nothing can be done for this path (no client, unreadable)
    BundleReport before;       // the certificate as it is now (with renewalWindow when asked)
    RenewalDecision decision;
    bool willRun = false;      // due, or --force, or neither --if-due nor due-checking asked
    ClientCommand command;
    QStringList deployTo;
};

struct RenewPlan {
    QDateTime madeAt;
    QList<RenewPlanEntry> entries;
    QJsonObject toJson() const;        // `renew --dry-run --json`
};

// Detects, reads and decides (fetching ARI when a directory is known). Runs nothing.
RenewPlan planRenew(const QStringList& paths, const RenewOptions& options, const QDateTime& at,
                    const std::atomic<bool>* cancel = nullptr);

struct RenewEntryResult {
    QString path;
    bool ran = false;
    CommandRun client;                 // the client's run (output kept, 16 KiB at most, escaped)
    bool renewed = false;              // the client succeeded and the certificate on disk changed
    BundleReport after;                // the certificate after renewal (previousCertificates include the old one)
    QList<DeployResult> deploys;       // one per --deploy-to
    QList<Finding> findings;           // RENEW_CLIENT_FAILED with the client's error text, the result's findings
    QString message;                   // one sentence
};

struct RenewResult {
    QList<RenewEntryResult> entries;
    int exitCode() const;              // 0 all fine, 1 warning, 2 a renewal or deploy failed
    QJsonObject toJson() const;
};

// Runs the plan's clients one after another (output streamed line by line to `output`), then
// inspects and deploys. Once a client has started it is not interrupted (`cancel` stops before the
// next one): an ACME order cannot be stopped half-way.
RenewResult executeRenew(const RenewPlan& plan, const RenewOptions& options,
                         const std::function<void(const QString& path, const QString& line)>& output = {},
                         const std::atomic<bool>* cancel = nullptr);

} // namespace staplescope
