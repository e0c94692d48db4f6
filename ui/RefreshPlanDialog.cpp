#include "RefreshPlanDialog.h"

#include "Certificate.h" // formatTime
#include "GuiRemedy.h"
#include "UiStyle.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace staplescope::ui {

namespace {

QString outcomeLabel(RefreshOutcome outcome)
{
    switch (outcome) {
    case RefreshOutcome::Install: return RefreshPlanDialog::tr("Install new staple");
    case RefreshOutcome::KeepCurrent: return RefreshPlanDialog::tr("Keep current");
    case RefreshOutcome::NotDue: return RefreshPlanDialog::tr("Not due");
    case RefreshOutcome::Skipped: return RefreshPlanDialog::tr("Skipped");
    case RefreshOutcome::Failed: return RefreshPlanDialog::tr("Failed");
    case RefreshOutcome::MoveStaleAside: return RefreshPlanDialog::tr("Move stale staple aside");
    }
    return {};
}

// The file column: what happens to which file. Concatenation: file names are outside text.
QString fileAction(const BundleRefresh& bundle)
{
    const QString file = QDir::toNativeSeparators(bundle.destination);
    switch (bundle.outcome) {
    case RefreshOutcome::Install:
        return (bundle.current.isNull() ? RefreshPlanDialog::tr("create ") : RefreshPlanDialog::tr("write ")) + file;
    case RefreshOutcome::MoveStaleAside:
        return RefreshPlanDialog::tr("move aside: ") + file + QStringLiteral(" → ") + file + QStringLiteral(".stale");
    case RefreshOutcome::KeepCurrent:
    case RefreshOutcome::NotDue:
    case RefreshOutcome::Skipped:
    case RefreshOutcome::Failed:
        return file.isEmpty() ? RefreshPlanDialog::tr("no change") : RefreshPlanDialog::tr("no change: ") + file;
    }
    return {};
}

QString windowChange(const BundleRefresh& bundle)
{
    const QString before = stapleWindowText(bundle.current);
    switch (bundle.outcome) {
    case RefreshOutcome::Install: return before + QStringLiteral("  →  ") + stapleWindowText(bundle.fetched);
    case RefreshOutcome::MoveStaleAside: return before + QStringLiteral("  →  ") + RefreshPlanDialog::tr("no staple");
    case RefreshOutcome::KeepCurrent:
    case RefreshOutcome::NotDue:
    case RefreshOutcome::Skipped:
    case RefreshOutcome::Failed: break;
    }
    return before;
}

QTreeWidgetItem* findingItem(const Finding& finding, const QPalette& palette)
{
    auto* item = new QTreeWidgetItem;
    item->setText(RefreshPlanDialog::BundleColumn, finding.title);
    item->setText(RefreshPlanDialog::OutcomeColumn, severityLabel(finding.severity));
    item->setIcon(RefreshPlanDialog::OutcomeColumn, severityIcon(finding.severity));
    item->setForeground(RefreshPlanDialog::OutcomeColumn, severityColor(finding.severity, palette));
    item->setText(RefreshPlanDialog::ReasonColumn, finding.message);
    QString tip = finding.title + QStringLiteral(" (") + finding.code + QStringLiteral(")\n") + finding.message;
    if (!finding.fix.isEmpty())
        tip += QStringLiteral("\n") + RefreshPlanDialog::tr("Fix: ") + finding.fix;
    if (finding.remedy.kind != RemedyKind::None)
        tip += QStringLiteral("\n") + RefreshPlanDialog::tr("Remedy: ") + guiRemedyText(finding.remedy);
    for (int c = 0; c < RefreshPlanDialog::ColumnCount; ++c)
        item->setToolTip(c, plainToolTip(tip));
    return item;
}

} // namespace

QString stapleWindowText(const StapleWindow& window)
{
    if (window.isNull())
        return RefreshPlanDialog::tr("none");
    QString text = window.status.isEmpty() ? RefreshPlanDialog::tr("unreadable") : window.status;
    text += QStringLiteral(" · ") + (window.thisUpdate.isValid() ? formatTime(window.thisUpdate) : QStringLiteral("?"));
    text += QStringLiteral(" → ") + (window.nextUpdate.isValid() ? formatTime(window.nextUpdate) : RefreshPlanDialog::tr("no nextUpdate"));
    if (!window.serial.isEmpty())
        text += RefreshPlanDialog::tr(" (serial ") + window.serial + QLatin1Char(')');
    return text;
}

RefreshPlanDialog::RefreshPlanDialog(const RefreshPlan& plan, const QStringList& privilegedFiles, QWidget* parent)
    : QDialog(parent), m_plan(plan)
{
    setObjectName(QStringLiteral("refreshPlanDialog"));
    setWindowTitle(tr("Refresh Staples — Plan"));
    auto* layout = new QVBoxLayout(this);

    int changes = 0;
    for (const BundleRefresh& b : plan.bundles)
        changes += b.changesFiles() ? 1 : 0;
    m_summary = new QLabel(this);
    m_summary->setTextFormat(Qt::PlainText);
    m_summary->setWordWrap(true);
    m_summary->setText(
        changes > 0 ? tr("Judged at %1. %n staple file(s) will change when you press Apply; nothing has changed yet.", nullptr, changes)
                          .arg(formatTime(plan.madeAt))
                    : tr("Judged at %1. Nothing needs to change.").arg(formatTime(plan.madeAt)));
    layout->addWidget(m_summary);

    m_list = new QTreeWidget(this);
    m_list->setObjectName(QStringLiteral("refreshPlanList"));
    m_list->setColumnCount(ColumnCount);
    m_list->setHeaderLabels({tr("Bundle"), tr("Outcome"), tr("File"), tr("Staple window: now → after"), tr("Why")});
    m_list->setRootIsDecorated(true);
    m_list->setUniformRowHeights(true);
    m_list->setAlternatingRowColors(true);
    m_list->setAccessibleName(tr("What the refresh does, per bundle"));
    const QPalette pal = palette();
    for (const BundleRefresh& bundle : plan.bundles) {
        auto* item = new QTreeWidgetItem(m_list);
        item->setText(BundleColumn, bundle.name);
        item->setData(BundleColumn, Qt::UserRole, bundle.bundleId);
        item->setText(OutcomeColumn, outcomeLabel(bundle.outcome));
        item->setIcon(OutcomeColumn, severityIcon(bundle.severity, bundle.severity == Severity::Info));
        if (bundle.severity != Severity::Info)
            item->setForeground(OutcomeColumn, severityColor(bundle.severity, pal));
        if (bundle.changesFiles()) {
            QFont bold = item->font(FileColumn);
            bold.setBold(true);
            item->setFont(FileColumn, bold);
        }
        item->setText(FileColumn, fileAction(bundle));
        item->setText(WindowColumn, windowChange(bundle));
        item->setText(ReasonColumn, bundle.reason);
        QString tip = bundle.name + QStringLiteral("\n") + tr("Serial: ") + bundle.serial + QStringLiteral("\n") +
                      tr("Certificate: ") + QDir::toNativeSeparators(bundle.certificatePath);
        if (!bundle.responder.isEmpty())
            tip += QStringLiteral("\n") + tr("Responder: ") + bundle.responder;
        tip += QStringLiteral("\n\n") + bundle.reason;
        if (bundle.exim && bundle.outcome == RefreshOutcome::MoveStaleAside)
            tip += QStringLiteral("\n\n") + tr("Exim fails every handshake when tls_ocsp_file names a missing file; "
                                               "write it as ${if exists{FILE}{FILE}} (docs/refresh.md).");
        if (bundle.mustStaple && bundle.outcome != RefreshOutcome::Install && bundle.outcome != RefreshOutcome::KeepCurrent &&
            bundle.outcome != RefreshOutcome::NotDue)
            tip += QStringLiteral("\n\n") + tr("The certificate requires a staple (must-staple): clients fail until a "
                                               "response can be fetched.");
        for (int c = 0; c < ColumnCount; ++c)
            item->setToolTip(c, plainToolTip(tip));
        for (const Finding& finding : bundle.findings)
            item->addChild(findingItem(finding, pal));
    }
    if (!plan.inputFindings.isEmpty()) {
        auto* inputs = new QTreeWidgetItem(m_list);
        inputs->setText(BundleColumn, tr("Input files"));
        inputs->setText(OutcomeColumn, tr("%n problem(s)", nullptr, int(plan.inputFindings.size())));
        for (const Finding& finding : plan.inputFindings)
            inputs->addChild(findingItem(finding, pal));
    }
    m_list->header()->setStretchLastSection(true);
    for (int c = 0; c < ReasonColumn; ++c)
        m_list->resizeColumnToContents(c);
    m_list->setColumnWidth(FileColumn, qMin(m_list->columnWidth(FileColumn), 380));
    m_list->setColumnWidth(WindowColumn, qMin(m_list->columnWidth(WindowColumn), 520));
    layout->addWidget(m_list, 1);

    // After the change: what tells the servers. Both are only run when a file changes.
    QStringList after;
    if (plan.reloadCommand.isEmpty())
        after << tr("Reload command: none (File ▸ Settings…, After a staple refresh).");
    else
        after << tr("Reload command, run once with /bin/sh after the change: ") + plan.reloadCommand;
    if (plan.haproxySocket.isEmpty())
        after << tr("HAProxy runtime API: none.");
    else
        after << tr("HAProxy runtime API: each new staple is sent over ") + QDir::toNativeSeparators(plan.haproxySocket);
    m_after = new QLabel(after.join(QLatin1Char('\n')), this);
    m_after->setObjectName(QStringLiteral("refreshAfterLabel"));
    m_after->setTextFormat(Qt::PlainText);
    m_after->setWordWrap(true);
    m_after->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_after);

    m_privileged = new QLabel(this);
    m_privileged->setObjectName(QStringLiteral("refreshPrivilegedLabel"));
    m_privileged->setTextFormat(Qt::PlainText);
    m_privileged->setWordWrap(true);
    if (!privilegedFiles.isEmpty() && changes > 0) {
        QStringList shown;
        for (const QString& f : privilegedFiles)
            shown << QDir::toNativeSeparators(f);
        m_privileged->setText(tr("You cannot change %1 yourself. Apply hands the plan to staplescope-cli apply as "
                                 "administrator (pkexec asks for a password); where that is not possible it shows the sudo "
                                 "line to run.")
                                  .arg(shown.join(QStringLiteral(", "))));
    }
    const bool asAdministrator = !m_privileged->text().isEmpty();
    m_privileged->setVisible(asAdministrator);
    layout->addWidget(m_privileged);

    auto* buttons = new QDialogButtonBox(this);
    m_apply = buttons->addButton(asAdministrator ? tr("&Apply as Administrator…") : tr("&Apply"),
                                 QDialogButtonBox::AcceptRole);
    m_apply->setObjectName(QStringLiteral("applyRefreshButton"));
    m_apply->setEnabled(changes > 0);
    m_apply->setToolTip(changes > 0 ? tr("Write and move the files listed, then run the reload command")
                                    : tr("Nothing to apply: no staple file changes"));
    m_cancel = buttons->addButton(changes > 0 ? QDialogButtonBox::Cancel : QDialogButtonBox::Close);
    m_cancel->setObjectName(QStringLiteral("cancelRefreshButton"));
    if (changes > 0)
        m_apply->setDefault(true);
    else
        m_cancel->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(1100, 440);
}

QString RefreshPlanDialog::afterText() const
{
    return m_after->text();
}

} // namespace staplescope::ui
