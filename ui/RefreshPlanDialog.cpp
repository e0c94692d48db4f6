#include "RefreshPlanDialog.h"

#include "Certificate.h" // formatTime
#include "GuiRemedy.h"
#include "TextEscape.h"
#include "UiStyle.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTextBrowser>
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

// The list's short form: where each window ends; the details give both windows in full.
QString windowEnd(const StapleWindow& window)
{
    if (window.isNull())
        return RefreshPlanDialog::tr("no staple");
    return window.nextUpdate.isValid() ? RefreshPlanDialog::tr("ends ") + formatTime(window.nextUpdate)
                                       : RefreshPlanDialog::tr("no nextUpdate");
}

QString windowChange(const BundleRefresh& bundle)
{
    const QString before = windowEnd(bundle.current);
    switch (bundle.outcome) {
    case RefreshOutcome::Install: return before + QStringLiteral("  →  ") + windowEnd(bundle.fetched);
    case RefreshOutcome::MoveStaleAside: return before + QStringLiteral("  →  ") + RefreshPlanDialog::tr("no staple");
    case RefreshOutcome::KeepCurrent:
    case RefreshOutcome::NotDue:
    case RefreshOutcome::Skipped:
    case RefreshOutcome::Failed: break;
    }
    return before + RefreshPlanDialog::tr(" (unchanged)");
}

QTreeWidgetItem* findingItem(const Finding& finding, const QPalette& palette)
{
    auto* item = new QTreeWidgetItem;
    item->setText(RefreshPlanDialog::BundleColumn, finding.title);
    item->setText(RefreshPlanDialog::OutcomeColumn, severityLabel(finding.severity));
    item->setIcon(RefreshPlanDialog::OutcomeColumn, severityIcon(finding.severity));
    item->setForeground(RefreshPlanDialog::OutcomeColumn, severityColor(finding.severity, palette));
    item->setText(RefreshPlanDialog::FileColumn, finding.message);
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
    const QString when = formatTime(plan.madeAt);
    if (changes == 0)
        m_summary->setText(tr("Judged at %1. Nothing needs to change.").arg(when));
    else if (changes == 1)
        m_summary->setText(tr("Judged at %1. One staple file will change when you press Apply; nothing has changed yet.").arg(when));
    else
        m_summary->setText(tr("Judged at %1. %2 staple files will change when you press Apply; nothing has changed yet.")
                               .arg(when, QString::number(changes)));
    layout->addWidget(m_summary);

    m_list = new QTreeWidget(this);
    m_list->setObjectName(QStringLiteral("refreshPlanList"));
    m_list->setColumnCount(ColumnCount);
    m_list->setHeaderLabels({tr("Bundle"), tr("Outcome"), tr("File"), tr("Staple: now → after")});
    m_list->setRootIsDecorated(true);
    m_list->setUniformRowHeights(true);
    m_list->setAlternatingRowColors(true);
    m_list->setAccessibleName(tr("What the refresh does, per bundle"));
    const QPalette pal = palette();
    for (qsizetype index = 0; index < plan.bundles.size(); ++index) {
        const BundleRefresh& bundle = plan.bundles[index];
        auto* item = new QTreeWidgetItem(m_list);
        item->setText(BundleColumn, bundle.name);
        item->setData(BundleColumn, Qt::UserRole, int(index));
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
        for (int c = 0; c < ColumnCount; ++c)
            item->setToolTip(c, plainToolTip(bundle.reason));
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
    for (int c = 0; c < WindowColumn; ++c)
        m_list->resizeColumnToContents(c);
    m_list->setColumnWidth(BundleColumn, qMin(m_list->columnWidth(BundleColumn), 260));
    m_list->setColumnWidth(FileColumn, qMin(m_list->columnWidth(FileColumn), 420));

    // The selected bundle in full: why, both windows, the responder, its findings.
    m_details = new QTextBrowser(this);
    m_details->setObjectName(QStringLiteral("refreshPlanDetails"));
    m_details->setOpenLinks(false);
    m_details->setAccessibleName(tr("The selected bundle: why, the staple windows, findings"));
    auto* split = new QSplitter(Qt::Vertical, this);
    split->setChildrenCollapsible(false);
    split->addWidget(m_list);
    split->addWidget(m_details);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    layout->addWidget(split, 1);
    connect(m_list, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* current) {
        while (current && current->parent())
            current = current->parent(); // a finding row shows its bundle
        showDetails(current ? current->data(BundleColumn, Qt::UserRole).toInt() : -1);
    });
    if (m_list->topLevelItemCount() > 0)
        m_list->setCurrentItem(m_list->topLevelItem(0));
    else
        showDetails(-1);

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
    resize(1040, 560);
}

QString RefreshPlanDialog::afterText() const
{
    return m_after->text();
}

QString RefreshPlanDialog::detailsText() const
{
    return m_details->toPlainText();
}

void RefreshPlanDialog::showDetails(int bundleIndex)
{
    if (bundleIndex < 0 || bundleIndex >= m_plan.bundles.size()) {
        m_details->setHtml(m_plan.inputFindings.isEmpty() ? tr("<p>No bundle to refresh.</p>")
                                                          : tr("<p>Problems with the input files: see the list.</p>"));
        return;
    }
    const BundleRefresh& b = m_plan.bundles[bundleIndex];
    // Everything here is outside text (names, paths, URLs, core's sentences quoting them): escaped.
    auto row = [](const QString& label, const QString& value) {
        return QStringLiteral("<tr><td style='padding-right:12px'><b>%1</b></td><td>%2</td></tr>").arg(label, escapeHtml(value));
    };
    QString html = QStringLiteral("<p><b>%1</b> — %2</p>").arg(escapeHtml(b.name), escapeHtml(outcomeLabel(b.outcome)));
    html += QStringLiteral("<p>%1</p>").arg(escapeHtml(b.reason));
    html += QStringLiteral("<table>");
    html += row(tr("File"), b.destination.isEmpty() ? tr("none known") : fileAction(b));
    html += row(tr("Staple now"), stapleWindowText(b.current));
    if (!b.fetched.isNull() || b.outcome == RefreshOutcome::Install)
        html += row(tr("Fetched"), stapleWindowText(b.fetched));
    html += row(tr("Certificate"), QDir::toNativeSeparators(b.certificatePath) + tr(", serial ") + b.serial);
    if (!b.responder.isEmpty())
        html += row(tr("Responder"), b.responder);
    html += QStringLiteral("</table>");
    if (b.exim && b.outcome == RefreshOutcome::MoveStaleAside)
        html += QStringLiteral("<p>%1</p>").arg(escapeHtml(
            tr("Exim fails every handshake when tls_ocsp_file names a missing file; write it as "
               "${if exists{FILE}{FILE}} so no file means no stapling (docs/refresh.md).")));
    if (b.mustStaple && b.outcome != RefreshOutcome::Install && b.outcome != RefreshOutcome::KeepCurrent &&
        b.outcome != RefreshOutcome::NotDue)
        html += QStringLiteral("<p>%1</p>").arg(escapeHtml(
            tr("The certificate demands a staple (must-staple): clients fail until a response can be fetched.")));
    if (!b.findings.isEmpty()) {
        html += QStringLiteral("<p><b>%1</b></p><ul>").arg(tr("Findings"));
        for (const Finding& f : b.findings)
            html += QStringLiteral("<li><b style='color:%1'>%2</b> %3 <tt>%4</tt><br>%5</li>")
                        .arg(severityColor(f.severity, palette()).name(), severityLabel(f.severity), escapeHtml(f.title),
                             escapeHtml(f.code), escapeHtml(f.message));
        html += QStringLiteral("</ul>");
    }
    m_details->setHtml(html);
}

} // namespace staplescope::ui
