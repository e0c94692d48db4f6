#pragma once
// Renewing a certificate through the ACME client that manages it (certbot, lego, acme.sh,
// dehydrated, or a command the admin gives): detect the client from the certificate's files,
// decide whether renewal is due (the CA's ACME Renewal Information, RFC 9773, else two thirds of
// the lifetime; revoked: now), run the client for that one certificate (bounded in time, its
// output streamed and kept), inspect the result, and hand it to the deployer (Deployer.h).
// Staplescope itself writes nothing during renewal: on failure the client's own error text is
// reported and nothing on disk was changed by us.

#include "AcmeRenewalInfo.h"
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
    QString certificateFile;   // the leaf file as the client keeps it (certbot: live/NAME/cert.pem, whose symlink the
                               // client moves on renewal; read through it, so a renewal is seen)
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
    // Added by renew:
    QString stapleFile;        // a staple attached to it on disk (--command on a folder holding one); read with it
    QString legoEmail;         // lego --email: the account folder's name
    QString legoKeyType;       // lego --key-type for the renewed key, from the current certificate's key ("ec256", "rsa2048")
    QString legoServerHost;    // lego's accounts/<host_port> folder: the ACME server it registered with
    QString acmeShConfigHome;  // acme.sh --config-home when the certificate folder is not under ~/.acme.sh
    bool acmeShEcc = false;    // acme.sh keeps an ECC certificate in NAME_ecc/ and needs --ecc
    QString acmeShProgram;     // acme.sh's script (PATH, else beside the certificate folder)
    QMap<QString, QString> settings; // what the client's configuration records (server, authenticator, http01_port …), for plans
};

struct RenewOptions {
    bool ifDue = false;
    bool force = false;                 // renew even when not due (certbot --force-renewal, lego renew --days=-1, acme.sh/dehydrated --force)
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
    // Added by renew:
    QStringList clientArguments;        // extra arguments for the client (lego's challenge: "--http" "--http.port" "127.0.0.1:5002";
                                        // lego records none, so without them lego gets --http)
    bool checkRevocation = true;        // --if-due: ask the OCSP responder (or the CRL) whether the certificate is revoked
    bool acmeUseSystemTrust = true;     // trust for the ACME server (ARI) besides acmeCaFiles
    bool reuseRenewalInfo = true;       // AriOptions::reuseUntilRetryAfter
};

// The client managing the certificate at `path` (a file or a lineage folder); nullopt with `why`
// when none is recognised (then --command is needed).
std::optional<ManagedCertificate> detectAcmeClient(const QString& path, QString* why);
// The same; `directoryHint` (--acme-directory) chooses among several lego accounts by server.
std::optional<ManagedCertificate> detectAcmeClient(const QString& path, const QString& directoryHint, QString* why);

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

// What decideRenewal weighs.
struct RenewalInputs {
    RenewalWindow window;       // the CA's suggestion; null when not asked or not usable
    QString windowProblem;      // why there is none (RENEWAL_INFO_FAILED); empty: ARI was not asked
    bool windowProblemIsInfo = false; // the CA offers no ARI / no directory known: said as info
    QString revokedBy;          // non-empty: the certificate is revoked, and how we know ("the OCSP responder …")
};

// RFC 9773 §4.2: a moment chosen uniformly inside the window. Chosen from a hash of `seed` (the
// certificate's ARI certID) and the window, so runs of an hourly timer keep the same moment
// rather than drawing a new one each hour (which would pull renewal towards the window's start).
QDateTime renewalMomentInWindow(const RenewalWindow& window, const QString& seed);
// Two thirds of the lifetime (a third left): when renewal is due without the CA's window.
QDateTime renewalFallbackMoment(const Certificate& leaf);
// Due at `at`? Revoked: now (RENEWAL_DUE warning). A window: the chosen moment inside it
// (RENEWAL_WINDOW_EARLY when it starts before half the lifetime). None: two thirds of the lifetime,
// with RENEWAL_INFO_FAILED when ARI was asked and could not be used.
RenewalDecision decideRenewal(const Certificate& leaf, const RenewalInputs& inputs, const QDateTime& at);

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
    QDateTime madeAtWallClock;         // the real time the plan was made: executeRenew judges the result at
                                       // madeAt plus the real time passed since (a pinned clock stays pinned)
    QList<RenewPlanEntry> entries;
    bool ifDue = false;                // the decision chose what runs: its warnings count in exitCode() (added by renew)
    QJsonObject toJson() const;        // `renew --dry-run --json`
    int exitCode() const;              // 2 a path cannot be renewed; 1 with ifDue a warning of the decision (ARI failed, revoked); else 0
};

// Detects, reads and decides (fetching ARI when a directory is known). Runs nothing.
RenewPlan planRenew(const QStringList& paths, const RenewOptions& options, const QDateTime& at,
                    const std::atomic<bool>* cancel = nullptr);

struct RenewEntryResult {
    QString path;
    bool ran = false;
    bool skipped = false;              // not due (--if-due): nothing to do, not a failure
    bool forced = false;               // the client was told to renew whatever its own rules say (--force, or due by ours)
    CommandRun client;                 // the client's run (output kept, 16 KiB at most, escaped)
    bool renewed = false;              // the client succeeded and the certificate on disk changed
    BundleReport after;                // the certificate after renewal (previousCertificates include the old one)
    QList<DeployResult> deploys;       // one per --deploy-to
    QList<Finding> findings;           // RENEW_CLIENT_FAILED with the client's error text, the result's findings
    QString message;                   // one sentence
};

struct RenewResult {
    QList<RenewEntryResult> entries;
    int exitCode() const;              // 0 all fine, 1 warning (a forced renewal changed nothing, a deploy's warning),
                                       // 2 a renewal or deploy failed, or the renewed certificate has an error
    QJsonObject toJson() const;
};

// Runs the plan's clients one after another (output streamed line by line to `output`), then
// inspects and deploys. Once a client has started it is not interrupted (`cancel` stops before the
// next one): an ACME order cannot be stopped half-way.
RenewResult executeRenew(const RenewPlan& plan, const RenewOptions& options,
                         const std::function<void(const QString& path, const QString& line)>& output = {},
                         const std::atomic<bool>* cancel = nullptr);

} // namespace staplescope
