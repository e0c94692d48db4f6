#include "GuiRemedy.h"

#include <QCoreApplication>

namespace staplescope::ui {

namespace {

QString tr(const char* text) { return QCoreApplication::translate("Remedy", text); }

// Concatenation, not arg(): a file name is outside text and may hold "%1".
QString orPlaceholder(const QString& value, const QString& placeholder) { return value.isEmpty() ? placeholder : value; }

} // namespace

QString guiRemedyText(const Remedy& r)
{
    switch (r.kind) {
    case RemedyKind::None: return tr("Nothing to do.");
    case RemedyKind::CheckPath: return tr("Check the path, then File ▸ Reload.");
    case RemedyKind::RerunFetchJob: return tr("Run the job that writes this file again, then File ▸ Reload.");
    case RemedyKind::UseServerFile: return tr("Open the file the server configuration names (File ▸ Open Files…).");
    case RemedyKind::FetchFileAgain: return tr("Fetch the file again, then File ▸ Reload.");
    case RemedyKind::GivePassword:
        return tr("Open the file again and enter its password when asked: ") + orPlaceholder(r.file, tr("the file"));
    case RemedyKind::AddServerCertificate: return tr("Open the server certificate too (File ▸ Open Files…).");
    case RemedyKind::RenewCertificate: return tr("Renew the certificate and deploy it, then File ▸ Reload.");
    case RemedyKind::ReplaceCertificate: return tr("Replace the certificate now, then File ▸ Reload.");
    case RemedyKind::ReissueCertificate: return tr("Have the certificate issued again, then File ▸ Reload.");
    case RemedyKind::CheckClocks: return tr("Check the clocks; the “as of” field shows other times.");
    case RemedyKind::RetireOldCertificate: return tr("Archive or delete ") + orPlaceholder(r.file, tr("the old certificate"));
    case RemedyKind::ConfigureMatchingKey: return tr("Configure the key made with this certificate's request.");
    case RemedyKind::CheckServerName: return tr("Check the server name: File ▸ Connect to Server…, Server name (SNI).");
    case RemedyKind::FixChainOrder:
        return tr("Rewrite ") + orPlaceholder(r.file, tr("the chain file")) + tr(" as certificate, issuer, issuer's issuer.");
    case RemedyKind::FetchIssuer:
        return tr("Add the issuer") + (r.url.isEmpty() ? QString() : QStringLiteral(" (") + r.url + QLatin1Char(')')) +
               tr(" to the chain; a private root goes to File ▸ Settings…, Extra trust anchors.");
    case RemedyKind::ReplaceChain: return tr("Serve the chain the CA gives for this certificate.");
    case RemedyKind::RemoveFromChain: return tr("Remove the certificate from ") + orPlaceholder(r.file, tr("the chain file"));
    case RemedyKind::AddTrustAnchor:
        return tr("Add the private CA's root in File ▸ Settings…, Extra trust anchors") +
               (r.file.isEmpty() ? QString() : QStringLiteral(": ") + r.file);
    case RemedyKind::FetchCrl: return tr("Fetch the current CRL") + (r.url.isEmpty() ? QString() : tr(" from ") + r.url);
    case RemedyKind::RefreshStaple: {
        QString text = tr("Refresh Staple (Staples ▸ Refresh Staple…) fetches a fresh staple");
        if (!r.serial.isEmpty())
            text += tr(" for serial ") + r.serial;
        if (!r.url.isEmpty())
            text += tr(" from ") + r.url;
        if (!r.file.isEmpty())
            text += tr(" into ") + r.file;
        return text + tr(" and shows the plan before it writes anything.");
    }
    case RemedyKind::RemoveStaple: return tr("Remove the stale staple files.");
    case RemedyKind::ConvertStaple: return tr("Convert ") + orPlaceholder(r.file, tr("the staple")) + tr(" to DER.");
    case RemedyKind::AddChainFile: return tr("Open the chain file too (or fullchain.pem).");
    case RemedyKind::LoadStapleWithCertificate:
        return tr("Open it together with its certificate (File ▸ Open Files…): ") + orPlaceholder(r.file, tr("the staple"));
    case RemedyKind::ConfigureStapling: return tr("Configure stapling on the server, then File ▸ Connect to Server….");
    case RemedyKind::ReloadServer: return tr("Reload the server, then connect again (File ▸ Connect to Server…).");
    case RemedyKind::CheckServerTlsFiles: return tr("Check the server's certificate, key and staple files and its log.");
    case RemedyKind::CheckServerSetup: return tr("Check the server, the port, the protocol and the timeout in File ▸ Connect to Server….");
    case RemedyKind::EnableStartTls: return tr("Enable STARTTLS on the server, or choose protocol “None” for an implicit-TLS port.");
    case RemedyKind::RetryFetch:
        return tr("Check that this computer reaches ") + orPlaceholder(r.url, tr("the address")) +
               tr(" (proxy settings, firewall), then try again.");
    case RemedyKind::CheckAcmeClient:
        return tr("Read the ACME client's output in the Renew dialog, fix what it names, then renew again.");
    }
    return QString();
}

} // namespace staplescope::ui
