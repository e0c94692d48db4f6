#include "CliRemedy.h"

namespace staplescope::cli {

namespace {

// "FILE" when the remedy does not know the file. Concatenation, not arg(): a file name is outside
// text and may hold "%1".
QString orPlaceholder(const QString& value, const QString& placeholder) { return value.isEmpty() ? placeholder : value; }

} // namespace

QString cliRemedyText(const Remedy& r)
{
    switch (r.kind) {
    case RemedyKind::None: return QStringLiteral("nothing to do");
    case RemedyKind::CheckPath: return QStringLiteral("check the path given on the command line");
    case RemedyKind::RerunFetchJob: return QStringLiteral("run the job that writes this file again, then inspect it again");
    case RemedyKind::UseServerFile: return QStringLiteral("give the file the server configuration names (PATH, or --cert/--chain/--staple/--key)");
    case RemedyKind::FetchFileAgain: return QStringLiteral("fetch the file again, then inspect it again");
    case RemedyKind::GivePassword:
        return QStringLiteral("inspect again with --password-file FILE (or --password, or answer the prompt) to open ") +
               orPlaceholder(r.file, QStringLiteral("the file"));
    case RemedyKind::AddServerCertificate: return QStringLiteral("add the server certificate to the PATHs (or give it with --cert)");
    case RemedyKind::RenewCertificate: return QStringLiteral("renew the certificate, deploy it, then check with: staplescope-cli inspect PATH");
    case RemedyKind::ReplaceCertificate: return QStringLiteral("replace the certificate now, then check with: staplescope-cli inspect PATH");
    case RemedyKind::ReissueCertificate: return QStringLiteral("have the certificate issued again, then check with: staplescope-cli inspect PATH");
    case RemedyKind::CheckClocks: return QStringLiteral("check the clocks; --at TIME evaluates at another time");
    case RemedyKind::RetireOldCertificate: return QStringLiteral("archive or delete ") + orPlaceholder(r.file, QStringLiteral("the old certificate"));
    case RemedyKind::ConfigureMatchingKey: return QStringLiteral("configure the matching key; check the pair with --cert FILE --key FILE");
    case RemedyKind::CheckServerName: return QStringLiteral("check the name asked for: connect --servername NAME");
    case RemedyKind::FixChainOrder:
        return QStringLiteral("rewrite ") + orPlaceholder(r.file, QStringLiteral("the chain file")) +
               QStringLiteral(" as certificate, issuer, issuer's issuer");
    case RemedyKind::FetchIssuer:
        return QStringLiteral("add the issuer") + (r.url.isEmpty() ? QString() : QStringLiteral(" (") + r.url + QLatin1Char(')')) +
               QStringLiteral(" to the chain; for a private root, inspect with --ca-file ROOT.pem instead");
    case RemedyKind::ReplaceChain: return QStringLiteral("serve the chain the CA gives for this certificate (check it with --chain FILE)");
    case RemedyKind::RemoveFromChain: return QStringLiteral("remove the certificate from ") + orPlaceholder(r.file, QStringLiteral("the chain file"));
    case RemedyKind::AddTrustAnchor:
        return QStringLiteral("give the private CA's root with --ca-file ") + orPlaceholder(r.file, QStringLiteral("ROOT.pem"));
    case RemedyKind::FetchCrl: return QStringLiteral("fetch the current CRL") + (r.url.isEmpty() ? QString() : QStringLiteral(" from ") + r.url);
    case RemedyKind::RefreshStaple: {
        // refresh fetches from the certificate's own responder and writes where the staple is read;
        // the remedy names what it knows so the admin can check the plan.
        QString text = QStringLiteral("run staplescope-cli refresh --dry-run PATH to see the plan, then without --dry-run: it fetches a fresh staple");
        if (!r.serial.isEmpty())
            text += QStringLiteral(" for serial ") + r.serial;
        if (!r.url.isEmpty())
            text += QStringLiteral(" from ") + r.url;
        if (!r.file.isEmpty())
            text += QStringLiteral(" into ") + r.file;
        return text + QStringLiteral(" (--reload-command CMD tells the server)");
    }
    case RemedyKind::RemoveStaple: return QStringLiteral("remove the stale staple files");
    case RemedyKind::ConvertStaple: return QStringLiteral("convert ") + orPlaceholder(r.file, QStringLiteral("the staple")) + QStringLiteral(" to DER");
    case RemedyKind::AddChainFile: return QStringLiteral("give the chain too (--chain FILE, or fullchain.pem as a PATH)");
    case RemedyKind::LoadStapleWithCertificate:
        return QStringLiteral("inspect it with its certificate: --cert CERT --staple ") + orPlaceholder(r.file, QStringLiteral("FILE"));
    case RemedyKind::ConfigureStapling:
        return QStringLiteral("configure stapling on the server, then check with: staplescope-cli connect HOST:PORT");
    case RemedyKind::ReloadServer: return QStringLiteral("reload the server, then check again with: staplescope-cli connect --compare PATH HOST:PORT");
    case RemedyKind::CheckServerTlsFiles: return QStringLiteral("check the server's TLS files against its configuration: connect --compare PATH HOST:PORT");
    case RemedyKind::CheckServerSetup: return QStringLiteral("check the server and the port (--starttls, --timeout, --ip)");
    case RemedyKind::EnableStartTls: return QStringLiteral("enable STARTTLS on the server, or connect with --starttls none to an implicit-TLS port");
    case RemedyKind::RetryFetch:
        return QStringLiteral("check that this machine reaches ") + orPlaceholder(r.url, QStringLiteral("the URL")) +
               QStringLiteral(" (http_proxy, firewall), then run again");
    case RemedyKind::CheckAcmeClient:
        return QStringLiteral("read the ACME client's output above, fix what it names, then run again: staplescope-cli renew ") +
               orPlaceholder(r.file, QStringLiteral("PATH"));
    }
    return QString();
}

} // namespace staplescope::cli
