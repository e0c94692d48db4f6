#include "DeployDialog.h"

#include "AppSettings.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace staplescope::ui {

namespace {

// A line edit with a Browse… button that picks a folder.
QWidget* folderRow(QLineEdit* edit, const QString& caption, QWidget* parent)
{
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QPushButton(DeployDialog::tr("Browse…"), row);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    QObject::connect(browse, &QPushButton::clicked, row, [edit, caption, row] {
        const QString folder = QFileDialog::getExistingDirectory(row, caption, edit->text());
        if (!folder.isEmpty())
            edit->setText(QDir::toNativeSeparators(folder));
    });
    return row;
}

} // namespace

DeployDialog::DeployDialog(const DeployOptions& base, QWidget* parent) : QDialog(parent), m_base(base)
{
    setObjectName(QStringLiteral("deployDialog"));
    setWindowTitle(tr("Deploy a Certificate"));
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(
        tr("Builds a new generation in DEST/generations/ with the certificate, its chain, its key and a fresh staple, "
           "checks it, and only then points DEST/current at it in one step. Point your servers at DEST/current/…. "
           "The plan is shown before anything changes."),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto* form = new QFormLayout;
    m_source = new QLineEdit(QDir::toNativeSeparators(base.from), this);
    m_source->setObjectName(QStringLiteral("deploySourceEdit"));
    m_source->setPlaceholderText(tr("a certbot lineage (/etc/letsencrypt/live/NAME), lego or acme.sh output, a folder"));
    form->addRow(tr("&Source:"), folderRow(m_source, tr("Source folder"), this));
    m_destination = new QLineEdit(QDir::toNativeSeparators(base.to), this);
    m_destination->setObjectName(QStringLiteral("deployDestinationEdit"));
    m_destination->setPlaceholderText(tr("e.g. /etc/ssl/staplescope/mail (created when missing)"));
    form->addRow(tr("&Destination (DEST):"), folderRow(m_destination, tr("Deploy destination"), this));

    m_layout = new QComboBox(this);
    m_layout->setObjectName(QStringLiteral("deployLayoutBox"));
    const QList<std::pair<DeployLayout, QString>> layouts{
        {DeployLayout::All, tr("all: PEM files, ocsp.der and haproxy.pem")},
        {DeployLayout::Nginx, tr("nginx: fullchain.pem, privkey.pem, ocsp.der")},
        {DeployLayout::Exim, tr("exim: fullchain.pem, privkey.pem, ocsp.der")},
        {DeployLayout::Haproxy, tr("haproxy: haproxy.pem and haproxy.pem.ocsp")},
    };
    for (const auto& [value, text] : layouts)
        m_layout->addItem(text, deployLayoutKey(value));
    m_layout->setCurrentIndex(qMax(0, m_layout->findData(deployLayoutKey(base.layout))));
    form->addRow(tr("&Layout:"), m_layout);

    m_keep = new QSpinBox(this);
    m_keep->setObjectName(QStringLiteral("deployKeepBox"));
    m_keep->setRange(1, 100);
    m_keep->setValue(qMax(1, base.keep));
    m_keep->setSuffix(tr(" generations (the current one included)"));
    form->addRow(tr("&Keep:"), m_keep);

    m_reload = new QLineEdit(base.reloadCommand, this);
    m_reload->setObjectName(QStringLiteral("deployReloadEdit"));
    m_reload->setPlaceholderText(tr("run with /bin/sh after the flip, e.g. systemctl reload nginx"));
    form->addRow(tr("&Reload command:"), m_reload);
    m_haproxy = new QLineEdit(QDir::toNativeSeparators(base.haproxySocket), this);
    m_haproxy->setObjectName(QStringLiteral("deployHaproxyEdit"));
    m_haproxy->setPlaceholderText(tr("HAProxy runtime API socket (optional)"));
    form->addRow(tr("&HAProxy socket:"), m_haproxy);
    m_verify = new QLineEdit(base.verify, this);
    m_verify->setObjectName(QStringLiteral("deployVerifyEdit"));
    m_verify->setPlaceholderText(tr("HOST:PORT (optional): after the flip, check what is served; roll back if it differs"));
    form->addRow(tr("&Verify:"), m_verify);
    layout->addLayout(form);

    auto* shared = new QLabel(tr("The reload command and HAProxy socket are the ones the staple refresh uses."), this);
    shared->setWordWrap(true);
    shared->setEnabled(false);
    layout->addWidget(shared);

    auto* buttons = new QDialogButtonBox(this);
    m_plan = buttons->addButton(tr("&Plan…"), QDialogButtonBox::AcceptRole);
    m_plan->setObjectName(QStringLiteral("deployPlanButton"));
    m_plan->setToolTip(tr("Read the source, fetch a fresh staple and check the new generation; nothing changes yet"));
    m_plan->setDefault(true);
    buttons->addButton(QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    connect(m_source, &QLineEdit::textChanged, this, &DeployDialog::updateButtons);
    connect(m_destination, &QLineEdit::textChanged, this, &DeployDialog::updateButtons);
    updateButtons();
    resize(760, sizeHint().height());
}

void DeployDialog::updateButtons()
{
    const bool ready = !m_source->text().trimmed().isEmpty() && !m_destination->text().trimmed().isEmpty();
    m_plan->setEnabled(ready);
}

DeployOptions DeployDialog::options() const
{
    DeployOptions options = m_base;
    options.from = QDir::fromNativeSeparators(m_source->text().trimmed());
    options.to = QDir::fromNativeSeparators(m_destination->text().trimmed());
    options.layout = deployLayoutFromKey(m_layout->currentData().toString()).value_or(DeployLayout::All);
    options.keep = m_keep->value();
    options.reloadCommand = m_reload->text().trimmed();
    options.haproxySocket = QDir::fromNativeSeparators(m_haproxy->text().trimmed());
    options.verify = m_verify->text().trimmed();
    return options;
}

void DeployDialog::remember(AppSettings& settings) const
{
    const DeployOptions o = options();
    settings.setDeploySource(o.from);
    settings.setDeployDestination(o.to);
    settings.setDeployLayout(deployLayoutKey(o.layout));
    settings.setDeployKeep(o.keep);
    settings.setDeployVerify(o.verify);
    settings.setRefreshReloadCommand(o.reloadCommand);
    settings.setHaproxySocket(o.haproxySocket);
}

} // namespace staplescope::ui
