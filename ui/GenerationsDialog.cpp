#include "GenerationsDialog.h"

#include "Certificate.h" // formatTime
#include "Clock.h"
#include "CommandLineRow.h"
#include "DeployPlanDialog.h" // windowText
#include "DeployResultDialog.h"
#include "GenerationTimeline.h"
#include "PrivilegedApply.h"
#include "RefreshPlanDialog.h" // stapleWindowText
#include "TimelineWidget.h"
#include "UiStyle.h"
#include "Workspace.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace staplescope::ui {

GenerationsDialog::GenerationsDialog(Workspace& workspace, const DeployOptions& options,
                                     std::shared_ptr<const Clock> clock, QWidget* parent)
    : QDialog(parent), m_workspace(workspace), m_clock(std::move(clock)), m_options(options)
{
    setObjectName(QStringLiteral("generationsDialog"));
    setWindowTitle(tr("Deploy — Generations"));
    auto* layout = new QVBoxLayout(this);

    auto* row = new QHBoxLayout;
    auto* label = new QLabel(tr("&Destination (DEST):"), this);
    m_destinationEdit = new QLineEdit(QDir::toNativeSeparators(options.to), this);
    m_destinationEdit->setObjectName(QStringLiteral("generationsDestinationEdit"));
    label->setBuddy(m_destinationEdit);
    auto* browse = new QPushButton(tr("Browse…"), this);
    auto* show = new QPushButton(tr("&Show"), this);
    show->setToolTip(tr("List the generations of this destination again"));
    row->addWidget(label);
    row->addWidget(m_destinationEdit, 1);
    row->addWidget(browse);
    row->addWidget(show);
    layout->addLayout(row);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString folder = QFileDialog::getExistingDirectory(this, tr("Deploy destination"), m_destinationEdit->text());
        if (!folder.isEmpty()) {
            m_destinationEdit->setText(QDir::toNativeSeparators(folder));
            listDestination(folder);
        }
    });
    connect(show, &QPushButton::clicked, this,
            [this] { listDestination(QDir::fromNativeSeparators(m_destinationEdit->text().trimmed())); });
    connect(m_destinationEdit, &QLineEdit::returnPressed, show, &QPushButton::click);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("generationsStatusLabel"));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    layout->addWidget(m_status);

    m_table = new QTreeWidget(this);
    m_table->setObjectName(QStringLiteral("generationsTable"));
    m_table->setColumnCount(ColumnCount);
    m_table->setHeaderLabels({tr("Generation"), tr("Current"), tr("Certificate"), tr("Serial"), tr("Certificate valid"),
                              tr("Staple"), tr("Problems")});
    m_table->setRootIsDecorated(false);
    m_table->setUniformRowHeights(true);
    m_table->setAlternatingRowColors(true);
    m_table->setTextElideMode(Qt::ElideMiddle); // a generation's name differs at both ends
    m_table->setAccessibleName(tr("Generations, newest first"));
    m_timeline = new TimelineWidget(this);
    m_timeline->setObjectName(QStringLiteral("generationsTimeline"));
    m_timeline->setClock(m_clock);
    m_split = new QSplitter(Qt::Vertical, this);
    m_split->setChildrenCollapsible(false);
    m_split->addWidget(m_table);
    m_split->addWidget(m_timeline);
    m_split->setStretchFactor(0, 1);
    m_split->setStretchFactor(1, 2);
    layout->addWidget(m_split, 1);
    connect(m_table, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
        updateButtons();
        if (item)
            m_timeline->setHighlightedObjects({item->text(NameColumn)});
    });

    m_sudoLabel = new QLabel(this);
    m_sudoLabel->setTextFormat(Qt::PlainText);
    m_sudoLabel->setWordWrap(true);
    m_sudoLabel->hide();
    layout->addWidget(m_sudoLabel);
    m_sudo = new CommandLineRow(QString(), tr("Command to roll back as administrator"), this);
    m_sudo->setObjectName(QStringLiteral("rollbackSudoLine"));
    m_sudo->hide();
    layout->addWidget(m_sudo);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_rollback = buttons->addButton(tr("&Roll Back…"), QDialogButtonBox::ActionRole);
    m_rollback->setObjectName(QStringLiteral("rollbackButton"));
    connect(m_rollback, &QPushButton::clicked, this, &GenerationsDialog::askRollback);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    connect(&m_workspace, &Workspace::generationsListed, this,
            [this](const JobInfo& job, const QString&, const QList<GenerationInfo>& generations, const QString& why) {
                if (job.id != m_listJob)
                    return;
                m_listJob = 0;
                showGenerations(generations, why);
                emit listed();
            });
    connect(&m_workspace, &Workspace::rolledBack, this, [this](const JobInfo& job, const DeployResult& result) {
        if (job.id != m_rollbackJob)
            return;
        m_rollbackJob = 0;
        auto* dialog = new DeployResultDialog(result, tr("Roll Back — Result"), true, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->open();
        listDestination(m_options.to);
        emit rollbackFinished(result.ok());
    });
    connect(&m_workspace, &Workspace::jobFailed, this, [this](const JobInfo& job, const QString& error) {
        if (job.id != m_listJob && job.id != m_rollbackJob)
            return;
        m_status->setText(error);
        if (job.id == m_rollbackJob) {
            m_rollbackJob = 0;
            emit rollbackFinished(false);
        } else {
            m_listJob = 0;
            emit listed();
        }
        updateButtons();
    });
    resize(1200, 660);
    updateButtons();
}

void GenerationsDialog::listDestination(const QString& destination)
{
    m_options.to = destination;
    m_destinationEdit->setText(QDir::toNativeSeparators(destination));
    if (destination.isEmpty()) {
        m_status->setText(tr("Give a deploy destination (DEST): the folder holding generations/ and current."));
        return;
    }
    m_status->setText(tr("Reading %1…").arg(QDir::toNativeSeparators(destination)));
    m_listJob = m_workspace.listGenerations(destination);
    updateButtons();
}

void GenerationsDialog::showGenerations(const QList<GenerationInfo>& generations, const QString& why)
{
    m_generations = generations;
    m_table->clear();
    const QPalette pal = palette();
    for (const GenerationInfo& g : generations) {
        auto* item = new QTreeWidgetItem(m_table);
        item->setText(NameColumn, g.name);
        item->setText(CurrentColumn, g.current ? tr("● current") : QString());
        item->setText(CertificateColumn, g.certificateName);
        item->setText(SerialColumn, g.serial);
        // Short forms in the table (dates; the staple's status and end), whole in the tooltips.
        if (g.problem.isEmpty()) {
            item->setText(CertificateWindowColumn, g.notBefore.date().toString(Qt::ISODate) + QStringLiteral(" → ") +
                                                       g.notAfter.date().toString(Qt::ISODate));
            item->setToolTip(CertificateWindowColumn, plainToolTip(windowText(g.notBefore, g.notAfter)));
            item->setText(StapleWindowColumn,
                          g.staple.isNull()              ? tr("none")
                          : g.staple.nextUpdate.isValid() ? g.staple.status + tr(" · until ") + formatTime(g.staple.nextUpdate)
                                                          : g.staple.status + tr(" · no nextUpdate"));
            item->setToolTip(StapleWindowColumn, plainToolTip(stapleWindowText(g.staple)));
        }
        item->setText(ProblemColumn, g.problem);
        item->setToolTip(NameColumn, plainToolTip(QDir::toNativeSeparators(g.path)));
        if (!g.problem.isEmpty()) {
            item->setIcon(ProblemColumn, severityIcon(Severity::Error));
            item->setForeground(ProblemColumn, severityColor(Severity::Error, pal));
            item->setToolTip(ProblemColumn, plainToolTip(g.problem));
        }
        if (g.current) {
            QFont bold = item->font(NameColumn);
            bold.setBold(true);
            for (int c = 0; c < ColumnCount; ++c)
                item->setFont(c, bold);
        }
    }
    // Long names and serials are cut (their tooltips and the timeline give them whole), so the
    // windows and problems stay in view.
    const QList<int> widest{260, 90, 170, 170, 200, 260};
    for (int c = 0; c < ColumnCount; ++c) {
        m_table->resizeColumnToContents(c);
        if (c < widest.size())
            m_table->setColumnWidth(c, qMin(m_table->columnWidth(c), widest[c]));
    }
    for (int i = 0; i < m_table->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = m_table->topLevelItem(i);
        for (int c = CertificateColumn; c < ProblemColumn; ++c)
            if (item->toolTip(c).isEmpty())
                item->setToolTip(c, plainToolTip(item->text(c)));
    }
    m_timeline->setTimeline(buildGenerationsTimeline(generations, m_clock->now()));
    m_timeline->zoomToLeaf();
    // The timeline as tall as its lanes (never clipped when the sudo line appears below): the
    // table takes what is left.
    m_timeline->setMinimumHeight(m_timeline->sizeHint().height());
    m_split->setSizes({qMax(120, m_split->height() - m_timeline->sizeHint().height()), m_timeline->sizeHint().height()});

    const QString dest = QDir::toNativeSeparators(m_options.to);
    if (!why.isEmpty())
        m_status->setText(why);
    else if (generations.isEmpty())
        m_status->setText(tr("%1 holds no generations: it is not a deploy destination yet.").arg(dest));
    else
        m_status->setText(tr("%1: %n generation(s), newest first.", nullptr, int(generations.size())).arg(dest));
    updateButtons();
}

QString GenerationsDialog::rollbackTarget() const
{
    if (const QTreeWidgetItem* item = m_table->currentItem()) {
        const int index = m_table->indexOfTopLevelItem(const_cast<QTreeWidgetItem*>(item));
        if (index >= 0 && index < m_generations.size() && !m_generations[index].current &&
            m_generations[index].problem.isEmpty())
            return m_generations[index].name;
    }
    bool pastCurrent = false;
    for (const GenerationInfo& g : m_generations) {
        if (pastCurrent && g.problem.isEmpty())
            return g.name;
        pastCurrent = pastCurrent || g.current;
    }
    return {};
}

QString GenerationsDialog::sudoLine() const { return m_sudo->isVisible() ? m_sudo->text() : QString(); }

void GenerationsDialog::updateButtons()
{
    const QString target = rollbackTarget();
    const bool writable = m_options.to.isEmpty() || m_workspace.deployPathsNeedingPrivileges(m_options).isEmpty();
    const bool busy = m_rollbackJob != 0 || m_listJob != 0 || m_workspace.isDeploying();
    m_rollback->setEnabled(!target.isEmpty() && writable && !busy);
    if (target.isEmpty())
        m_rollback->setToolTip(tr("No earlier generation to return to"));
    else
        m_rollback->setToolTip(plainToolTip(tr("Make %1 current again").arg(target)));
    const bool showSudo = !target.isEmpty() && !writable;
    if (showSudo) {
        m_sudoLabel->setText(tr("You cannot change %1 yourself. To make %2 current, run in a terminal:")
                                 .arg(QDir::toNativeSeparators(m_options.to), target));
        const QString line = sudoRollbackLine(findStaplescopeCli(), m_options, target);
        m_sudo->edit()->setText(line);
        m_sudo->edit()->setToolTip(plainToolTip(line));
        m_sudo->edit()->setCursorPosition(0);
    }
    m_sudoLabel->setVisible(showSudo);
    m_sudo->setVisible(showSudo);
}

void GenerationsDialog::askRollback()
{
    const QString target = rollbackTarget();
    if (target.isEmpty() || m_confirmation)
        return;
    QString current;
    for (const GenerationInfo& g : std::as_const(m_generations))
        if (g.current)
            current = g.name;
    // open(), not exec(): no nested event loop; tests find it and press its buttons.
    m_confirmation = new QMessageBox(QMessageBox::Question, tr("Roll Back"), QString(), QMessageBox::NoButton, this);
    m_confirmation->setObjectName(QStringLiteral("rollbackConfirmation"));
    m_confirmation->setTextFormat(Qt::PlainText);
    m_confirmation->setText(tr("Make %1 current again in %2?").arg(target, QDir::toNativeSeparators(m_options.to)));
    m_confirmation->setInformativeText(
        (current.isEmpty() ? QString() : tr("%1 stops being served. ").arg(current)) +
        (m_options.reloadCommand.isEmpty() ? tr("No reload command is set: tell your servers yourself.")
                                           : tr("Then the reload command runs.")));
    QPushButton* yes = m_confirmation->addButton(tr("&Roll Back"), QMessageBox::AcceptRole);
    yes->setObjectName(QStringLiteral("confirmRollbackButton"));
    m_confirmation->addButton(QMessageBox::Cancel);
    m_confirmation->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_confirmation, &QMessageBox::finished, this, [this, yes, target] {
        const bool confirmed = m_confirmation && m_confirmation->clickedButton() == yes;
        m_confirmation = nullptr;
        if (!confirmed)
            return;
        m_status->setText(tr("Rolling back to %1…").arg(target));
        m_rollbackJob = m_workspace.rollbackDeploy(m_options, target);
        if (!m_rollbackJob)
            m_status->setText(tr("Another deploy is running on this window; try again when it has finished."));
        updateButtons();
    });
    m_confirmation->open();
}

} // namespace staplescope::ui
