#include "SettingsDialog.h"

#include "AppSettings.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace staplescope::ui {

SettingsDialog::SettingsDialog(AppSettings& settings, QWidget* parent) : QDialog(parent), m_settings(settings)
{
    setWindowTitle(tr("Staplescope Settings"));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;

    m_warningDays = new QSpinBox(this);
    m_warningDays->setRange(0, 365);
    m_warningDays->setSuffix(tr(" days"));
    m_warningDays->setSpecialValueText(tr("Automatic (a third of the lifetime, at most 30 days)"));
    const auto warning = m_settings.expiryWarningSeconds();
    m_warningDays->setValue(warning ? int(*warning / 86400) : 0);
    form->addRow(tr("&Expiry warning:"), m_warningDays);

    m_refreshPercent = new QDoubleSpinBox(this);
    m_refreshPercent->setRange(10, 90);
    m_refreshPercent->setDecimals(0);
    m_refreshPercent->setSuffix(tr(" % of thisUpdate → nextUpdate"));
    m_refreshPercent->setValue(m_settings.stapleRefreshFraction() * 100);
    form->addRow(tr("Staple &refresh point:"), m_refreshPercent);

    m_systemTrust = new QCheckBox(tr("Trust the &system's CA certificates"), this);
    m_systemTrust->setChecked(m_settings.useSystemTrust());
    form->addRow(QString(), m_systemTrust);
    layout->addLayout(form);

    auto* anchorsLabel = new QLabel(tr("Extra &trust anchors (CA files, applied when files are next loaded):"), this);
    layout->addWidget(anchorsLabel);
    auto* anchorsRow = new QHBoxLayout;
    m_anchors = new QListWidget(this);
    m_anchors->addItems(m_settings.extraTrustAnchors());
    anchorsLabel->setBuddy(m_anchors);
    anchorsRow->addWidget(m_anchors, 1);
    auto* buttons = new QVBoxLayout;
    auto* add = new QPushButton(tr("&Add…"), this);
    auto* remove = new QPushButton(tr("Re&move"), this);
    buttons->addWidget(add);
    buttons->addWidget(remove);
    buttons->addStretch();
    anchorsRow->addLayout(buttons);
    layout->addLayout(anchorsRow);
    connect(add, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(this, tr("Add trust anchors"), QString(),
                                                                tr("Certificates (*.pem *.crt *.cer *.der);;All files (*)"));
        for (const QString& f : files)
            if (m_anchors->findItems(f, Qt::MatchExactly).isEmpty())
                m_anchors->addItem(f);
    });
    connect(remove, &QPushButton::clicked, this, [this] { qDeleteAll(m_anchors->selectedItems()); });

    // What a staple refresh tells the servers (staplescope-cli refresh --reload-command, --haproxy-socket).
    auto* refreshBox = new QGroupBox(tr("After a staple refresh"), this);
    auto* refreshForm = new QFormLayout(refreshBox);
    m_reloadCommand = new QLineEdit(m_settings.refreshReloadCommand(), refreshBox);
    m_reloadCommand->setObjectName(QStringLiteral("reloadCommandEdit"));
    m_reloadCommand->setPlaceholderText(tr("none (for example: systemctl reload nginx)"));
    m_reloadCommand->setToolTip(tr("Run once with /bin/sh after any staple was written or moved aside. Exim reads its "
                                   "staple per connection and needs none; nginx reads ssl_stapling_file at reload."));
    refreshForm->addRow(tr("Re&load command after refresh:"), m_reloadCommand);
    auto* socketRow = new QHBoxLayout;
    m_haproxySocket = new QLineEdit(m_settings.haproxySocket(), refreshBox);
    m_haproxySocket->setObjectName(QStringLiteral("haproxySocketEdit"));
    m_haproxySocket->setPlaceholderText(tr("none (for example: /run/haproxy/admin.sock)"));
    m_haproxySocket->setToolTip(tr("HAProxy's runtime API: each new staple is sent with “set ssl ocsp-response”, "
                                   "so HAProxy serves it without a reload."));
    auto* browseSocket = new QPushButton(tr("&Browse…"), refreshBox);
    socketRow->addWidget(m_haproxySocket, 1);
    socketRow->addWidget(browseSocket);
    m_haproxySocket->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("/run/haproxy/admin.sock")) * 3 / 2);
    // A row of widgets gets no buddy by itself: the label is made here so Alt+H reaches the field.
    auto* socketLabel = new QLabel(tr("&HAProxy runtime API socket:"), refreshBox);
    socketLabel->setBuddy(m_haproxySocket);
    refreshForm->addRow(socketLabel, socketRow);
    layout->addWidget(refreshBox);
    connect(browseSocket, &QPushButton::clicked, this, [this] {
        const QString socket = QFileDialog::getOpenFileName(this, tr("HAProxy runtime API socket"), QStringLiteral("/run/haproxy"),
                                                            tr("All files (*)"));
        if (!socket.isEmpty())
            m_haproxySocket->setText(socket);
    });

    auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(box);
}

void SettingsDialog::accept()
{
    const int days = m_warningDays->value();
    m_settings.setExpiryWarningSeconds(days > 0 ? std::optional<qint64>(qint64(days) * 86400) : std::nullopt);
    m_settings.setStapleRefreshFraction(m_refreshPercent->value() / 100.0);
    m_settings.setUseSystemTrust(m_systemTrust->isChecked());
    QStringList anchors;
    for (int i = 0; i < m_anchors->count(); ++i)
        anchors << m_anchors->item(i)->text();
    m_settings.setExtraTrustAnchors(anchors);
    m_settings.setRefreshReloadCommand(m_reloadCommand->text());
    m_settings.setHaproxySocket(m_haproxySocket->text());
    QDialog::accept();
}

} // namespace staplescope::ui
