#include "RefreshResultDialog.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QDir>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace staplescope::ui {

namespace {

QString stapleFiles(qsizetype count)
{
    return count == 1 ? RefreshResultDialog::tr("one staple file") : RefreshResultDialog::tr("%1 staple files").arg(count);
}

} // namespace

QString refreshResultHeadline(const RefreshApplyResult& result)
{
    const QString changed = stapleFiles(result.changedFiles.size());
    if (!result.error.isEmpty())
        return RefreshResultDialog::tr("The plan was not applied: ") + result.error;
    if (result.cancelled)
        return RefreshResultDialog::tr("Cancelled; %1 changed by then.").arg(changed);
    if (result.privileged() && !result.sudoLine.isEmpty()) {
        if (result.command.isEmpty())
            return RefreshResultDialog::tr("pkexec is not installed: run the line below in a terminal to apply the plan "
                                           "as administrator.");
        if (result.run && result.run->exitCode == kPkexecDismissed)
            return RefreshResultDialog::tr("The administrator password was not given: nothing was changed. The line below "
                                           "applies the plan from a terminal.");
        return RefreshResultDialog::tr("pkexec could not get administrator rights (no polkit or no authentication agent): "
                                       "run the line below in a terminal to apply the plan.");
    }
    if (result.ok())
        return RefreshResultDialog::tr("Done: %1 changed.").arg(changed);
    return RefreshResultDialog::tr("Applied with problems: %1 changed; see below.").arg(changed);
}

QString refreshResultDetails(const RefreshApplyResult& result)
{
    QStringList lines;
    auto section = [&lines](const QString& title) {
        if (!lines.isEmpty())
            lines << QString();
        lines << title;
    };
    if (result.install) {
        section(RefreshResultDialog::tr("Files:"));
        for (const StepResult& step : result.install->steps)
            lines << (step.done ? QStringLiteral("  ✓ ") : QStringLiteral("  ✕ ")) + step.message;
        if (result.install->steps.isEmpty())
            lines << RefreshResultDialog::tr("  nothing to change");
        if (result.install->reload) {
            const CommandRun& reload = *result.install->reload;
            section(RefreshResultDialog::tr("Reload command: ") + reload.command);
            if (!reload.ran)
                lines << RefreshResultDialog::tr("  did not start");
            else if (reload.timedOut)
                lines << RefreshResultDialog::tr("  stopped: no end in time");
            else
                lines << RefreshResultDialog::tr("  exit status %1").arg(reload.exitStatus);
            if (!reload.output.isEmpty())
                lines << reload.output;
        }
        for (const HaproxyUpdate& update : result.install->haproxy) {
            section(RefreshResultDialog::tr("HAProxy (%1): ").arg(update.ok ? RefreshResultDialog::tr("updated")
                                                                            : RefreshResultDialog::tr("failed")) +
                    update.answer);
        }
    }
    if (result.privileged()) {
        QStringList files;
        for (const QString& f : result.privilegedFiles)
            files << QDir::toNativeSeparators(f);
        section(RefreshResultDialog::tr("Needs administrator rights: ") + files.join(QStringLiteral(", ")));
        if (!result.planFile.isEmpty())
            lines << RefreshResultDialog::tr("Plan file: ") + QDir::toNativeSeparators(result.planFile);
        if (!result.command.isEmpty()) {
            lines << RefreshResultDialog::tr("Ran: ") + result.command;
            if (result.run) {
                if (!result.run->error.isEmpty())
                    lines << result.run->error;
                else
                    lines << RefreshResultDialog::tr("Exit status %1").arg(result.run->exitCode);
                if (!result.run->output.isEmpty()) {
                    section(RefreshResultDialog::tr("Output:"));
                    lines << result.run->output;
                }
            }
        }
    }
    section(RefreshResultDialog::tr("Changed on disk:"));
    for (const QString& f : result.changedFiles)
        lines << QStringLiteral("  ") + QDir::toNativeSeparators(f);
    if (result.changedFiles.isEmpty())
        lines << RefreshResultDialog::tr("  nothing");
    return lines.join(QLatin1Char('\n'));
}

RefreshResultDialog::RefreshResultDialog(const RefreshApplyResult& result, QWidget* parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("refreshResultDialog"));
    setWindowTitle(tr("Refresh Staples — Result"));
    auto* layout = new QVBoxLayout(this);
    m_headline = new QLabel(refreshResultHeadline(result), this);
    m_headline->setTextFormat(Qt::PlainText);
    m_headline->setWordWrap(true);
    layout->addWidget(m_headline);

    if (!result.sudoLine.isEmpty()) {
        auto* row = new QHBoxLayout;
        m_sudoLine = new QLineEdit(result.sudoLine, this);
        m_sudoLine->setObjectName(QStringLiteral("sudoLineEdit"));
        m_sudoLine->setReadOnly(true);
        m_sudoLine->setAccessibleName(tr("Command to apply the plan as administrator"));
        QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
        m_sudoLine->setFont(mono);
        auto* copy = new QPushButton(tr("&Copy"), this);
        copy->setToolTip(tr("Copy the line to the clipboard"));
        connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_sudoLine->text()); });
        row->addWidget(m_sudoLine, 1);
        row->addWidget(copy);
        layout->addLayout(row);
    }

    m_details = new QPlainTextEdit(refreshResultDetails(result), this);
    m_details->setObjectName(QStringLiteral("refreshResultDetails"));
    m_details->setReadOnly(true);
    m_details->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    layout->addWidget(m_details, 1);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(820, 420);
}

QString RefreshResultDialog::headline() const { return m_headline->text(); }
QString RefreshResultDialog::details() const { return m_details->toPlainText(); }
QString RefreshResultDialog::sudoLine() const { return m_sudoLine ? m_sudoLine->text() : QString(); }

} // namespace staplescope::ui
