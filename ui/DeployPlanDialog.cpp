#include "DeployPlanDialog.h"

#include "Certificate.h" // formatTime
#include "CommandLineRow.h"
#include "RefreshPlanDialog.h" // stapleWindowText
#include "TextEscape.h"
#include "UiStyle.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QLabel>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace staplescope::ui {

QString deployActionLabel(DeployAction action)
{
    switch (action) {
    case DeployAction::Deploy: return DeployPlanDialog::tr("Deploy");
    case DeployAction::UpToDate: return DeployPlanDialog::tr("Up to date");
    case DeployAction::Refused: return DeployPlanDialog::tr("Refused");
    }
    return {};
}

QString windowText(const QDateTime& start, const QDateTime& end)
{
    return (start.isValid() ? formatTime(start) : QStringLiteral("?")) + QStringLiteral(" → ") +
           (end.isValid() ? formatTime(end) : QStringLiteral("?"));
}

QString findingsHtml(const QList<Finding>& findings, const QPalette& palette)
{
    if (findings.isEmpty())
        return {};
    QString html = QStringLiteral("<ul>");
    for (const Finding& f : findings)
        html += QStringLiteral("<li><b style='color:%1'>%2</b> %3 <tt>%4</tt><br>%5</li>")
                    .arg(severityColor(f.severity, palette).name(), severityLabel(f.severity), escapeHtml(f.title),
                         escapeHtml(f.code), escapeHtml(f.message));
    return html + QStringLiteral("</ul>");
}

DeployPlanDialog::DeployPlanDialog(const DeployPlan& plan, const DeployOptions& options,
                                   const QStringList& privilegedPaths, const QString& sudoLine, QWidget* parent)
    : QDialog(parent), m_plan(plan), m_options(options)
{
    setObjectName(QStringLiteral("deployPlanDialog"));
    setWindowTitle(tr("Deploy — Plan"));
    auto* layout = new QVBoxLayout(this);

    const QString when = formatTime(plan.madeAt);
    const QString destination = QDir::toNativeSeparators(plan.destination);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("deploySummaryLabel"));
    m_summary->setTextFormat(Qt::PlainText);
    m_summary->setWordWrap(true);
    QString summary;
    switch (plan.action) {
    case DeployAction::Deploy:
        summary = tr("Judged at %1. Deploy builds generation %2 in %3 and makes it current; nothing has changed yet.")
                      .arg(when, plan.generationName, destination);
        break;
    case DeployAction::UpToDate:
        if (plan.unfinishedGeneration.isEmpty())
            summary = tr("Judged at %1. %2 already serves this certificate with a good staple: nothing to do.")
                          .arg(when, destination);
        else
            summary = tr("Judged at %1. An earlier deploy flipped %2 to %3 but did not finish telling the servers: "
                         "Deploy finishes that (reload, HAProxy, verify).")
                          .arg(when, destination, plan.unfinishedGeneration);
        break;
    case DeployAction::Refused:
        summary = tr("Judged at %1. Refused: nothing will change in %2.").arg(when, destination);
        break;
    }
    if (!plan.reason.isEmpty())
        summary += QLatin1Char('\n') + plan.reason;
    m_summary->setText(summary);
    layout->addWidget(m_summary);

    // Everything in the table is outside text or core's sentences quoting it: escaped.
    auto row = [](const QString& label, const QString& value) {
        return QStringLiteral("<tr><td style='padding-right:14px; white-space:nowrap' valign='top'><b>%1</b></td><td>%2</td></tr>")
            .arg(label, escapeHtml(value));
    };
    QString html = QStringLiteral("<table cellspacing='3'>");
    html += row(tr("Action"), deployActionLabel(plan.action));
    html += row(tr("Source"), deploySourceKindName(plan.source.kind) + QStringLiteral(" ") +
                                  QDir::toNativeSeparators(plan.source.path.isEmpty() ? options.from : plan.source.path));
    if (!plan.serial.isEmpty()) {
        html += row(tr("Certificate"), plan.certificateName + tr(", serial ") + plan.serial +
                                           (plan.mustStaple ? tr(", must-staple") : QString()));
        html += row(tr("Valid"), windowText(plan.notBefore, plan.notAfter));
    }
    html += row(tr("New generation"), plan.generationName.isEmpty() ? tr("none") : plan.generationName);
    if (!plan.unfinishedGeneration.isEmpty())
        html += row(tr("Unfinished"), plan.unfinishedGeneration + tr(": current, the servers not yet told"));
    QString staple;
    if (!plan.staple.isNull())
        staple = tr("fetched: ") + stapleWindowText(plan.staple);
    else if (!plan.hasOcspUrl && !plan.serial.isEmpty())
        staple = tr("none: the certificate names no OCSP responder");
    else
        staple = tr("none could be fetched");
    if (!plan.responder.isEmpty())
        staple += tr(" — from ") + plan.responder;
    html += row(tr("Staple"), staple);
    if (plan.staplesOnly)
        html += row(tr("Kind"), tr("a staple refresh: the same certificate with a fresh staple"));
    if (plan.action == DeployAction::Deploy)
        html += row(tr("Files"), generationFileNames(plan.layout, !plan.stapleDer.isEmpty()).join(QStringLiteral(", ")));
    if (plan.current.name.isEmpty())
        html += row(tr("Current now"), tr("nothing yet: %1 is new").arg(destination));
    else
        html += row(tr("Current now"), plan.current.name + tr(" (serial ") + plan.current.serial + tr("; staple ") +
                                           stapleWindowText(plan.current.staple) + QLatin1Char(')'));
    html += row(tr("Removed after the flip"),
                plan.generationsToRemove.isEmpty() ? tr("nothing (keeping %1)").arg(plan.keep)
                                                   : plan.generationsToRemove.join(QStringLiteral(", ")));
    html += row(tr("Reload command"), plan.reloadCommand.isEmpty() ? tr("none") : plan.reloadCommand);
    if (!plan.haproxySocket.isEmpty())
        html += row(tr("HAProxy runtime API"), QDir::toNativeSeparators(plan.haproxySocket));
    html += row(tr("Verify"), plan.verify.isEmpty() ? tr("no check (no HOST:PORT given)")
                                                    : plan.verify + tr(": checked after the flip; a mismatch rolls back"));
    html += QStringLiteral("</table>");
    if (!plan.findings.isEmpty())
        html += QStringLiteral("<p><b>%1</b></p>").arg(tr("Findings of the gate")) + findingsHtml(plan.findings, palette());
    else if (plan.action == DeployAction::Deploy)
        html += QStringLiteral("<p>%1</p>").arg(tr("The gate found nothing wrong with the new generation."));

    m_details = new QTextBrowser(this);
    m_details->setObjectName(QStringLiteral("deployPlanDetails"));
    m_details->setOpenLinks(false);
    m_details->setAccessibleName(tr("The deploy plan"));
    m_details->setHtml(html);
    layout->addWidget(m_details, 1);

    const bool privileged = !privilegedPaths.isEmpty() && plan.needsExecution();
    if (privileged) {
        QStringList shown;
        for (const QString& p : privilegedPaths)
            shown << QDir::toNativeSeparators(p);
        auto* why = new QLabel(tr("You cannot change %1 yourself, and Staplescope does not run as administrator. Run "
                                  "this line in a terminal to deploy (it plans again and shows what it did):")
                                   .arg(shown.join(QStringLiteral(", "))),
                               this);
        why->setObjectName(QStringLiteral("deployPrivilegedLabel"));
        why->setTextFormat(Qt::PlainText);
        why->setWordWrap(true);
        layout->addWidget(why);
        m_sudo = new CommandLineRow(sudoLine, tr("Command to deploy as administrator"), this);
        m_sudo->setObjectName(QStringLiteral("deploySudoLine"));
        layout->addWidget(m_sudo);
    }

    auto* buttons = new QDialogButtonBox(this);
    m_deploy = buttons->addButton(tr("&Deploy"), QDialogButtonBox::AcceptRole);
    m_deploy->setObjectName(QStringLiteral("deployButton"));
    m_deploy->setEnabled(plan.needsExecution() && !privileged);
    m_deploy->setToolTip(privileged                ? tr("Needs administrator rights: run the line above")
                         : plan.changesAnything() ? tr("Write the generation, check it, flip DEST/current, reload and verify")
                         : plan.needsExecution()  ? tr("Reload and verify the generation an earlier deploy left unfinished")
                                                  : tr("Nothing to deploy"));
    m_cancel = buttons->addButton(m_deploy->isEnabled() ? QDialogButtonBox::Cancel : QDialogButtonBox::Close);
    m_cancel->setObjectName(QStringLiteral("cancelDeployButton"));
    (m_deploy->isEnabled() ? m_deploy : m_cancel)->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(880, 560);
}

QString DeployPlanDialog::summaryText() const { return m_summary->text(); }
QString DeployPlanDialog::detailsText() const { return m_details->toPlainText(); }
QString DeployPlanDialog::sudoLine() const { return m_sudo ? m_sudo->text() : QString(); }

} // namespace staplescope::ui
