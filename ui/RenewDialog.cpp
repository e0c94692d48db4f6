#include "RenewDialog.h"

#include "Certificate.h" // formatTime, formatDuration
#include "Clock.h"
#include "CommandLineRow.h"
#include "DeployPlanDialog.h" // windowText, findingsHtml
#include "DeployResultDialog.h"
#include "TextEscape.h"
#include "TimelineWidget.h"
#include "UiStyle.h"
#include "Workspace.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace staplescope::ui {

QString acmeClientLabel(AcmeClient client)
{
    switch (client) {
    case AcmeClient::Certbot: return QStringLiteral("certbot");
    case AcmeClient::Lego: return QStringLiteral("lego");
    case AcmeClient::AcmeSh: return QStringLiteral("acme.sh");
    case AcmeClient::Dehydrated: return QStringLiteral("dehydrated");
    case AcmeClient::Command: return RenewDialog::tr("your command");
    }
    return {};
}

RenewDialog::RenewDialog(Workspace& workspace, const RenewPlan& plan, const RenewOptions& options,
                         const QStringList& privilegedFolders, const QString& sudoLine,
                         std::shared_ptr<const Clock> clock, QWidget* parent)
    : QDialog(parent), m_workspace(workspace), m_plan(plan), m_options(options), m_clock(std::move(clock))
{
    setObjectName(QStringLiteral("renewDialog"));
    setWindowTitle(tr("Renew Certificate"));
    auto* layout = new QVBoxLayout(this);

    const RenewPlanEntry entry = plan.entries.value(0);
    auto* headline = new QLabel(this);
    headline->setTextFormat(Qt::PlainText);
    headline->setWordWrap(true);
    QFont large = headline->font();
    large.setBold(true);
    large.setPointSizeF(large.pointSizeF() * 1.15);
    headline->setFont(large);
    headline->setText(entry.managed ? tr("Renew %1 through %2").arg(entry.managed->name, acmeClientLabel(entry.managed->client))
                                    : tr("This certificate cannot be renewed from here"));
    layout->addWidget(headline);
    auto row = [](const QString& label, const QString& value) {
        return QStringLiteral("<tr><td style='padding-right:14px; white-space:nowrap' valign='top'><b>%1</b></td><td>%2</td></tr>")
            .arg(label, escapeHtml(value));
    };
    QString html = QStringLiteral("<table cellspacing='3'>");
    html += row(tr("Certificate"), QDir::toNativeSeparators(entry.path));
    bool runnable = false;
    if (!entry.problem.isEmpty() || !entry.managed) {
        html += row(tr("Problem"), entry.problem.isEmpty() ? tr("no ACME client recognised") : entry.problem);
    } else {
        const ManagedCertificate& managed = *entry.managed;
        html += row(tr("Client"), acmeClientLabel(managed.client) + tr(", certificate name ") + managed.name);
        html += row(tr("Recognised by"), managed.detectedBy);
        if (!managed.acmeDirectory.isEmpty())
            html += row(tr("ACME server"), managed.acmeDirectory);
        const RenewalDecision& decision = entry.decision;
        html += row(tr("Decision"), (decision.due ? tr("due") : tr("not due yet")) + QStringLiteral(": ") + decision.reason);
        if (decision.dueAt.isValid())
            html += row(tr("Due at"), formatTime(decision.dueAt));
        if (!decision.window.isNull()) {
            QString window = windowText(decision.window.start, decision.window.end);
            if (!decision.window.explanationUrl.isEmpty())
                window += tr(" — explained at ") + decision.window.explanationUrl;
            html += row(tr("CA's renewal window"), window);
        } else {
            html += row(tr("CA's renewal window"), tr("none given (the CA offers no renewal information, or it was not reached)"));
        }
        html += row(tr("Then deploy to"), entry.deployTo.isEmpty()
                                               ? tr("nowhere: the client updates its own files")
                                               : entry.deployTo.join(QStringLiteral(", ")));
        html += row(tr("Will run"), entry.willRun ? tr("yes") : tr("no: not due"));
        runnable = entry.willRun;
    }
    html += QStringLiteral("</table>");
    if (!entry.decision.findings.isEmpty())
        html += QStringLiteral("<p><b>%1</b></p>").arg(tr("Findings")) + findingsHtml(entry.decision.findings, palette());
    m_planView = new QTextBrowser(this);
    m_planView->setObjectName(QStringLiteral("renewPlanView"));
    m_planView->setOpenLinks(false);
    m_planView->setHtml(html);
    m_planView->setAccessibleName(tr("The renewal plan"));

    auto* top = new QWidget(this);
    m_top = top;
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(m_planView, 1);
    if (entry.managed) {
        auto* commandLabel = new QLabel(tr("The exact command:"), top);
        topLayout->addWidget(commandLabel);
        m_command = new CommandLineRow(entry.command.display(), tr("The ACME client's command"), top);
        m_command->setObjectName(QStringLiteral("renewCommandLine"));
        topLayout->addWidget(m_command);
    }
    m_warning = new QLabel(top);
    m_warning->setObjectName(QStringLiteral("renewWarningLabel"));
    m_warning->setTextFormat(Qt::PlainText);
    m_warning->setWordWrap(true);
    m_warning->setText(
        tr("⚠ Once started, a renewal cannot be stopped: the ACME client places an order with the CA and runs to its end "
           "(at most %1), even if you close this window. Staplescope itself changes no file; the client writes its own.")
            .arg(formatDuration(options.clientTimeoutMs / 1000)));
    QFont bold = m_warning->font();
    bold.setBold(true);
    m_warning->setFont(bold);
    QPalette warningPalette = m_warning->palette();
    warningPalette.setColor(QPalette::WindowText, severityColor(Severity::Warning, palette()).darker(isDarkPalette(palette()) ? 100 : 140));
    m_warning->setPalette(warningPalette);
    topLayout->addWidget(m_warning);
    const bool privileged = !privilegedFolders.isEmpty() && runnable;
    if (privileged) {
        QStringList shown;
        for (const QString& f : privilegedFolders)
            shown << QDir::toNativeSeparators(f);
        auto* why = new QLabel(tr("You cannot change %1 yourself, and Staplescope does not run as administrator. Run this "
                                  "line in a terminal to renew:")
                                   .arg(shown.join(QStringLiteral(", "))),
                               top);
        why->setTextFormat(Qt::PlainText);
        why->setWordWrap(true);
        topLayout->addWidget(why);
        m_sudo = new CommandLineRow(sudoLine, tr("Command to renew as administrator"), top);
        m_sudo->setObjectName(QStringLiteral("renewSudoLine"));
        topLayout->addWidget(m_sudo);
    }

    // Below: the client's output as it comes, then the result on a timeline.
    auto* bottom = new QWidget(this);
    m_bottom = bottom;
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    m_outputLabel = new QLabel(tr("The client's output appears here when it runs."), bottom);
    m_outputLabel->setTextFormat(Qt::PlainText);
    bottomLayout->addWidget(m_outputLabel);
    m_output = new QPlainTextEdit(bottom);
    m_output->setObjectName(QStringLiteral("renewOutput"));
    m_output->setReadOnly(true);
    m_output->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_output->setAccessibleName(tr("The ACME client's output"));
    m_output->setMaximumBlockCount(5000); // the client's run is long; the result keeps its own copy
    bottomLayout->addWidget(m_output, 1);
    // The result can quote the client's whole error: scrollable, not a label that grows.
    m_resultView = new QPlainTextEdit(bottom);
    m_resultView->setObjectName(QStringLiteral("renewResult"));
    m_resultView->setReadOnly(true);
    m_resultView->setAccessibleName(tr("What the renewal did"));
    m_resultView->setMaximumHeight(fontMetrics().lineSpacing() * 7);
    m_resultView->hide();
    bottomLayout->addWidget(m_resultView);
    m_timeline = new TimelineWidget(bottom);
    m_timeline->setObjectName(QStringLiteral("renewTimeline"));
    m_timeline->setClock(m_clock);
    m_timeline->hide();
    bottomLayout->addWidget(m_timeline);

    // The plan above the output; once the client runs the plan's table gives way to its output
    // (the command and the warning stay in view).
    layout->addWidget(top, 3);
    layout->addWidget(bottom, 2);

    auto* buttons = new QDialogButtonBox(this);
    m_start = buttons->addButton(tr("&Start Renewal"), QDialogButtonBox::ActionRole);
    m_start->setObjectName(QStringLiteral("startRenewButton"));
    m_start->setEnabled(runnable && !privileged);
    m_start->setToolTip(privileged ? tr("Needs administrator rights: run the line above")
                        : runnable ? tr("Run the command above now; it cannot be stopped once started")
                                   : tr("Nothing to run"));
    m_close = buttons->addButton(QDialogButtonBox::Close);
    m_close->setObjectName(QStringLiteral("closeRenewButton"));
    // Enter never starts what cannot be stopped: Start takes a deliberate click.
    m_start->setAutoDefault(false);
    m_close->setDefault(true);
    connect(m_start, &QPushButton::clicked, this, &RenewDialog::start);
    connect(buttons, &QDialogButtonBox::rejected, this, &RenewDialog::reject);
    layout->addWidget(buttons);

    connect(&m_workspace, &Workspace::renewOutput, this, [this](quint64 job, const QString&, const QString& line) {
        if (job != m_job)
            return;
        m_output->appendPlainText(line);
        m_output->verticalScrollBar()->setValue(m_output->verticalScrollBar()->maximum());
    });
    connect(&m_workspace, &Workspace::renewed, this, [this](const JobInfo& job, const RenewResult& result) {
        if (job.id != m_job)
            return;
        m_job = 0;
        showResult(result);
    });
    connect(&m_workspace, &Workspace::jobFailed, this, [this](const JobInfo& job, const QString& error) {
        if (job.id != m_job)
            return;
        m_job = 0;
        m_resultView->setPlainText(error);
        m_resultView->show();
        m_close->setEnabled(true);
        emit renewFinished();
    });
    resize(960, 720);
}

void RenewDialog::start()
{
    if (m_job || !m_start->isEnabled())
        return;
    m_job = m_workspace.executeRenew(m_plan, m_options);
    if (!m_job) {
        m_outputLabel->setText(tr("Another renewal is running; try again when it has finished."));
        return;
    }
    m_start->setEnabled(false);
    m_close->setEnabled(false);
    m_planView->hide();
    if (auto* box = qobject_cast<QVBoxLayout*>(layout())) {
        m_top->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
        box->setStretchFactor(m_top, 0);
        box->setStretchFactor(m_bottom, 1);
    }
    const RenewPlanEntry entry = m_plan.entries.value(0);
    m_outputLabel->setText(tr("Running %1… it cannot be stopped; its output follows as it comes.")
                               .arg(entry.managed ? acmeClientLabel(entry.managed->client) : tr("the client")));
    emit started();
}

void RenewDialog::showResult(const RenewResult& result)
{
    m_result = result;
    m_close->setEnabled(true);
    m_close->setDefault(true);
    m_close->setFocus(); // not the command field, which would select all of it
    QStringList lines;
    for (const RenewEntryResult& entry : result.entries) {
        QString line = entry.message;
        if (entry.skipped)
            line += tr(" (not due: nothing was run)");
        if (entry.ran)
            line += tr(" (the client's exit status: %1)").arg(entry.client.exitStatus);
        lines << line;
        for (const Finding& f : entry.findings)
            lines << QStringLiteral("  ") + severityLabel(f.severity) + QStringLiteral(" ") + f.code + QStringLiteral(": ") +
                         f.message;
        for (const DeployResult& deploy : entry.deploys)
            lines << tr("  deploy: ") + deployResultHeadline(deploy);
        // The output kept by core is complete even when lines were dropped on the way here.
        if (m_output->toPlainText().isEmpty() && !entry.client.output.isEmpty())
            m_output->setPlainText(entry.client.output);
    }
    m_outputLabel->setText(tr("The client's output:"));
    m_resultView->setPlainText(lines.join(QLatin1Char('\n')));
    m_resultView->show();
    // The certificate as it is now, beside the one it replaced (core's previousCertificates).
    const RenewEntryResult first = result.entries.value(0);
    if (!first.after.timeline.lanes.isEmpty()) {
        m_timeline->setTimeline(first.after.timeline);
        m_timeline->setMinimumHeight(m_timeline->sizeHint().height());
        m_timeline->show();
        m_timeline->zoomToLeaf();
    }
    emit renewFinished();
}

void RenewDialog::reject()
{
    if (m_job)
        return; // the client runs to its end; the window stays to show it
    QDialog::reject();
}

QString RenewDialog::planText() const { return m_planView->toPlainText(); }
QString RenewDialog::commandText() const { return m_command ? m_command->text() : QString(); }
QString RenewDialog::warningText() const { return m_warning->text(); }
QString RenewDialog::outputText() const { return m_output->toPlainText(); }
QString RenewDialog::resultText() const { return m_resultView->toPlainText(); }
QString RenewDialog::sudoLine() const { return m_sudo ? m_sudo->text() : QString(); }

} // namespace staplescope::ui
