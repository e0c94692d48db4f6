#include "DeployResultDialog.h"

#include "UiStyle.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QVBoxLayout>

namespace staplescope::ui {

namespace {

QString commandLines(const QString& title, const CommandRun& run)
{
    QStringList lines{title + run.command};
    if (!run.ran)
        lines << DeployResultDialog::tr("  did not start");
    else if (run.timedOut)
        lines << DeployResultDialog::tr("  stopped: no end in time");
    else
        lines << DeployResultDialog::tr("  exit status %1").arg(run.exitStatus);
    if (!run.output.isEmpty())
        lines << run.output;
    return lines.join(QLatin1Char('\n'));
}

QString verifyLines(const QString& title, const VerifyResult& verify)
{
    QStringList lines{title + verify.target + (verify.ok ? DeployResultDialog::tr(": as expected") : DeployResultDialog::tr(": NOT as expected"))};
    if (!verify.summary.isEmpty())
        lines << QStringLiteral("  ") + verify.summary;
    lines << DeployResultDialog::tr("  served certificate: %1").arg(verify.servedSerial.isEmpty() ? DeployResultDialog::tr("none (no connection)") : verify.servedSerial);
    lines << DeployResultDialog::tr("  served staple for: %1").arg(verify.servedStapleSerial.isEmpty() ? DeployResultDialog::tr("no staple") : verify.servedStapleSerial);
    for (const Finding& f : verify.findings)
        lines << QStringLiteral("  ") + severityLabel(f.severity) + QStringLiteral(" ") + f.code + QStringLiteral(": ") + f.message;
    return lines.join(QLatin1Char('\n'));
}

} // namespace

QString deployResultHeadline(const DeployResult& result)
{
    QString what;
    if (result.planOutdated)
        what = DeployResultDialog::tr("Nothing done, plan again: ");
    else if (result.rolledBack)
        what = DeployResultDialog::tr("Rolled back: ");
    else if (result.flipped)
        what = result.ok() ? DeployResultDialog::tr("Done: ") : DeployResultDialog::tr("Flipped, with problems: ");
    else if (result.ok())
        what = DeployResultDialog::tr("Nothing changed: ");
    else
        what = DeployResultDialog::tr("Not deployed: ");
    return what + result.message;
}

QString deployResultDetails(const DeployResult& result, bool rollback)
{
    QStringList sections;
    QStringList generations;
    const QString none = DeployResultDialog::tr("none");
    generations << (rollback ? DeployResultDialog::tr("Returned to: %1") : DeployResultDialog::tr("New generation: %1"))
                       .arg(result.generation.isEmpty() ? none : result.generation);
    generations << DeployResultDialog::tr("Current before: %1").arg(result.previousGeneration.isEmpty() ? DeployResultDialog::tr("none") : result.previousGeneration);
    generations << DeployResultDialog::tr("Current now: %1").arg(result.currentGeneration.isEmpty() ? DeployResultDialog::tr("none") : result.currentGeneration);
    if (rollback)
        generations << DeployResultDialog::tr("Flipped: %1").arg(result.flipped ? DeployResultDialog::tr("yes") : DeployResultDialog::tr("no"));
    else
        generations << DeployResultDialog::tr("Flipped: %1 · rolled back after the verify: %2")
                           .arg(result.flipped ? DeployResultDialog::tr("yes") : DeployResultDialog::tr("no"),
                                result.rolledBack ? DeployResultDialog::tr("yes") : DeployResultDialog::tr("no"));
    if (!result.removedGenerations.isEmpty())
        generations << DeployResultDialog::tr("Removed: %1").arg(result.removedGenerations.join(QStringLiteral(", ")));
    sections << generations.join(QLatin1Char('\n'));
    if (result.reload)
        sections << commandLines(DeployResultDialog::tr("Reload command: "), *result.reload);
    for (const HaproxyUpdate& update : result.haproxy)
        sections << DeployResultDialog::tr("HAProxy (%1): ").arg(update.ok ? DeployResultDialog::tr("updated") : DeployResultDialog::tr("failed")) + update.answer;
    if (result.verify)
        sections << verifyLines(DeployResultDialog::tr("Verify after the flip: "), *result.verify);
    if (result.reloadAfterRollback)
        sections << commandLines(DeployResultDialog::tr("Reload command after the roll back: "), *result.reloadAfterRollback);
    if (result.verifyAfterRollback)
        sections << verifyLines(DeployResultDialog::tr("Verify after the roll back: "), *result.verifyAfterRollback);
    if (!result.findings.isEmpty()) {
        QStringList lines{DeployResultDialog::tr("Findings:")};
        for (const Finding& f : result.findings)
            lines << QStringLiteral("  ") + severityLabel(f.severity) + QStringLiteral(" ") + f.code + QStringLiteral(": ") + f.message;
        sections << lines.join(QLatin1Char('\n'));
    }
    return sections.join(QStringLiteral("\n\n"));
}

DeployResultDialog::DeployResultDialog(const DeployResult& result, const QString& title, bool rollback, QWidget* parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("deployResultDialog"));
    setWindowTitle(title);
    auto* layout = new QVBoxLayout(this);
    m_headline = new QLabel(deployResultHeadline(result), this);
    m_headline->setTextFormat(Qt::PlainText);
    m_headline->setWordWrap(true);
    QFont bold = m_headline->font();
    bold.setBold(true);
    m_headline->setFont(bold);
    layout->addWidget(m_headline);
    m_details = new QPlainTextEdit(deployResultDetails(result, rollback), this);
    m_details->setObjectName(QStringLiteral("deployResultDetails"));
    m_details->setReadOnly(true);
    m_details->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    layout->addWidget(m_details, 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(820, 460);
}

QString DeployResultDialog::headline() const { return m_headline->text(); }
QString DeployResultDialog::details() const { return m_details->toPlainText(); }

} // namespace staplescope::ui
