#include "DeployPlan.h"

#include "Deployer.h"

#include <QJsonArray>
#include <QJsonValue>

namespace staplescope {

namespace {

constexpr auto kSchema = "staplescope-deploy-plan/1";

} // namespace

QString deployLayoutKey(DeployLayout layout)
{
    switch (layout) {
    case DeployLayout::All: return QStringLiteral("all");
    case DeployLayout::Nginx: return QStringLiteral("nginx");
    case DeployLayout::Exim: return QStringLiteral("exim");
    case DeployLayout::Haproxy: return QStringLiteral("haproxy");
    }
    return QStringLiteral("all");
}

std::optional<DeployLayout> deployLayoutFromKey(const QString& key)
{
    for (DeployLayout layout : {DeployLayout::All, DeployLayout::Nginx, DeployLayout::Exim, DeployLayout::Haproxy})
        if (deployLayoutKey(layout) == key)
            return layout;
    return std::nullopt;
}

QStringList generationFileNames(DeployLayout layout, bool withStaple)
{
    QStringList names;
    if (layout != DeployLayout::Haproxy) {
        names << QStringLiteral("fullchain.pem") << QStringLiteral("chain.pem") << QStringLiteral("cert.pem")
              << QStringLiteral("privkey.pem");
        if (withStaple)
            names << QStringLiteral("ocsp.der");
    }
    if (layout == DeployLayout::Haproxy || layout == DeployLayout::All) {
        names << QStringLiteral("haproxy.pem");
        if (withStaple)
            names << QStringLiteral("haproxy.pem.ocsp");
    }
    return names;
}

QString generationPathFileName()
{
    return QStringLiteral("path");
}

QString deploySourceKindName(DeploySourceKind kind)
{
    switch (kind) {
    case DeploySourceKind::CertbotLineage: return QStringLiteral("certbot lineage");
    case DeploySourceKind::Lego: return QStringLiteral("lego");
    case DeploySourceKind::AcmeSh: return QStringLiteral("acme.sh");
    case DeploySourceKind::Folder: return QStringLiteral("folder");
    }
    return QStringLiteral("folder");
}

QString deployActionKey(DeployAction action)
{
    switch (action) {
    case DeployAction::Deploy: return QStringLiteral("deploy");
    case DeployAction::UpToDate: return QStringLiteral("up-to-date");
    case DeployAction::Refused: return QStringLiteral("refused");
    }
    return QStringLiteral("refused");
}

int DeployPlan::exitCode() const
{
    if (action == DeployAction::Refused)
        return 2;
    switch (severity) {
    case Severity::Info: return 0;
    case Severity::Warning: return 1;
    case Severity::Error:
    case Severity::Critical: return 2;
    }
    return 2;
}

QJsonObject deploySourceToJson(const DeploySource& source)
{
    return {{QStringLiteral("path"), source.path},
            {QStringLiteral("kind"), deploySourceKindName(source.kind)},
            {QStringLiteral("name"), source.name},
            {QStringLiteral("certificateFile"), source.certificateFile},
            {QStringLiteral("chainFile"), source.chainFile},
            {QStringLiteral("fullchainFile"), source.fullchainFile},
            // Where the key was read from, never what it holds.
            {QStringLiteral("keyFile"), source.keyFile}};
}

QJsonObject generationInfoToJson(const GenerationInfo& generation)
{
    QJsonObject out{{QStringLiteral("name"), generation.name},
                    {QStringLiteral("path"), generation.path},
                    {QStringLiteral("current"), generation.current},
                    {QStringLiteral("certificateName"), generation.certificateName},
                    {QStringLiteral("serial"), generation.serial},
                    {QStringLiteral("notBefore"), utcTimeToJson(generation.notBefore)},
                    {QStringLiteral("notAfter"), utcTimeToJson(generation.notAfter)},
                    {QStringLiteral("mustStaple"), generation.mustStaple},
                    {QStringLiteral("staple"), stapleWindowToJson(generation.staple)}};
    out.insert(QStringLiteral("problem"), generation.problem.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(generation.problem));
    return out;
}

QJsonObject DeployPlan::toJson() const
{
    QJsonValue currentJson = QJsonValue::Null;
    if (!current.name.isEmpty())
        currentJson = generationInfoToJson(current);
    return {{QStringLiteral("schema"), QString::fromLatin1(kSchema)},
            {QStringLiteral("madeAt"), utcTimeToJson(madeAt)},
            {QStringLiteral("source"), deploySourceToJson(source)},
            {QStringLiteral("destination"), destination},
            {QStringLiteral("layout"), deployLayoutKey(layout)},
            {QStringLiteral("action"), deployActionKey(action)},
            {QStringLiteral("reason"), reason},
            {QStringLiteral("certificateName"), certificateName},
            {QStringLiteral("serial"), serial},
            {QStringLiteral("notBefore"), utcTimeToJson(notBefore)},
            {QStringLiteral("notAfter"), utcTimeToJson(notAfter)},
            {QStringLiteral("mustStaple"), mustStaple},
            {QStringLiteral("hasOcspUrl"), hasOcspUrl},
            {QStringLiteral("generationName"), generationName},
            {QStringLiteral("files"), QJsonArray::fromStringList(generationName.isEmpty()
                                                                     ? QStringList()
                                                                     : generationFileNames(layout, !stapleDer.isEmpty()))},
            {QStringLiteral("staple"), stapleWindowToJson(staple)},
            {QStringLiteral("stapleDer"), stapleDer.isEmpty() ? QJsonValue(QJsonValue::Null)
                                                              : QJsonValue(QString::fromLatin1(stapleDer.toBase64()))},
            {QStringLiteral("responder"), responder},
            {QStringLiteral("current"), currentJson},
            {QStringLiteral("generationsToRemove"), QJsonArray::fromStringList(generationsToRemove)},
            {QStringLiteral("staplesOnly"), staplesOnly},
            {QStringLiteral("unfinishedGeneration"), unfinishedGeneration},
            {QStringLiteral("keep"), keep},
            {QStringLiteral("reloadCommand"), reloadCommand},
            {QStringLiteral("haproxySocket"), haproxySocket},
            {QStringLiteral("verify"), verify},
            {QStringLiteral("verifyStartTls"), verifyStartTls},
            {QStringLiteral("severity"), severityName(severity)},
            {QStringLiteral("exitCode"), exitCode()},
            {QStringLiteral("changesAnything"), changesAnything()},
            {QStringLiteral("findings"), findingsToJson(findings)}};
}

} // namespace staplescope
