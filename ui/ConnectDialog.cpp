#include "ConnectDialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
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
constexpr int automaticProtocol = -1;
}

ConnectDialog::ConnectDialog(QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Connect to a Server"));
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(tr("Staplescope connects, negotiates TLS asking for an OCSP staple, and diagnoses exactly "
                                "what the server sends: every address the name resolves to is checked."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto* form = new QFormLayout;
    m_server = new QLineEdit;
    m_server->setPlaceholderText(tr("mail.example.org:587"));
    m_server->setAccessibleName(tr("Server"));
    form->addRow(tr("&Server:"), m_server);

    m_protocol = new QComboBox;
    m_protocol->addItem(tr("Automatic (by port)"), automaticProtocol);
    m_protocol->addItem(tr("None: TLS from the first byte"), int(StartTlsProtocol::None));
    for (const QString& name : startTlsProtocolNames()) {
        if (const auto protocol = startTlsProtocolFromName(name); protocol && *protocol != StartTlsProtocol::None)
            m_protocol->addItem(tr("STARTTLS: %1").arg(name), int(*protocol));
    }
    m_protocolHint = new QLabel;
    m_protocolHint->setTextFormat(Qt::PlainText); // may repeat what was typed
    m_protocolHint->setEnabled(false);
    auto* protocolRow = new QHBoxLayout;
    protocolRow->addWidget(m_protocol);
    protocolRow->addWidget(m_protocolHint, 1);
    form->addRow(tr("&Protocol:"), protocolRow);

    m_serverName = new QLineEdit;
    m_serverName->setPlaceholderText(tr("the server's name (default)"));
    form->addRow(tr("Server &name (SNI):"), m_serverName);

    m_addresses = new QLineEdit;
    m_addresses->setPlaceholderText(tr("every address the name resolves to (default)"));
    m_addresses->setToolTip(tr("One or more IP addresses, separated by spaces, to check only those backends."));
    form->addRow(tr("Only &addresses:"), m_addresses);

    m_tlsVersion = new QComboBox;
    m_tlsVersion->addItem(tr("TLS 1.2 or 1.3"), int(ProbeOptions::TlsVersion::Any));
    m_tlsVersion->addItem(tr("TLS 1.2 only"), int(ProbeOptions::TlsVersion::Tls12));
    m_tlsVersion->addItem(tr("TLS 1.3 only"), int(ProbeOptions::TlsVersion::Tls13));
    form->addRow(tr("&TLS version:"), m_tlsVersion);

    m_timeout = new QSpinBox;
    m_timeout->setRange(1, 120);
    m_timeout->setValue(5);
    m_timeout->setSuffix(tr(" s"));
    m_timeout->setToolTip(tr("For connecting and for each protocol step; the whole check is bounded at four times this."));
    form->addRow(tr("T&imeout:"), m_timeout);

    m_compare = new QLineEdit;
    m_compare->setPlaceholderText(tr("optional: the folder or files the server is configured with"));
    auto* browse = new QPushButton(tr("&Browse…"));
    connect(browse, &QPushButton::clicked, this, &ConnectDialog::browseCompare);
    auto* compareRow = new QHBoxLayout;
    compareRow->addWidget(m_compare, 1);
    compareRow->addWidget(browse);
    form->addRow(tr("&Compare with:"), compareRow);
    layout->addLayout(form);

    m_error = new QLabel;
    m_error->setTextFormat(Qt::PlainText); // quotes what was typed
    m_error->setWordWrap(true);
    layout->addWidget(m_error);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("C&onnect"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(m_buttons);

    connect(m_server, &QLineEdit::textChanged, this, &ConnectDialog::updateState);
    connect(m_addresses, &QLineEdit::textChanged, this, &ConnectDialog::updateState);
    connect(m_protocol, &QComboBox::currentIndexChanged, this, &ConnectDialog::updateState);
    updateState();
    resize(560, sizeHint().height());
}

void ConnectDialog::setRequest(const ServerCheckRequest& request)
{
    const ProbeOptions& probe = request.probe;
    const QString host = probe.host.contains(QLatin1Char(':')) ? QStringLiteral("[%1]").arg(probe.host) : probe.host;
    m_server->setText(host + QLatin1Char(':') + QString::number(probe.port)); // a host may hold "%1": no arg()
    m_protocol->setCurrentIndex(probe.startTls ? qMax(0, m_protocol->findData(int(*probe.startTls))) : 0);
    m_serverName->setText(probe.serverName);
    m_addresses->setText(probe.pinnedAddresses.join(QLatin1Char(' ')));
    m_tlsVersion->setCurrentIndex(qMax(0, m_tlsVersion->findData(int(probe.tlsVersion))));
    m_timeout->setValue(qBound(1, probe.stepTimeoutMs / 1000, 120));
    m_compare->setText(request.compare.paths.join(QLatin1Char(' ')));
    updateState();
}

QString ConnectDialog::requestError() const
{
    if (m_server->text().trimmed().isEmpty())
        return tr("Enter a server as name:port, for example mail.example.org:587.");
    if (!parseHostPort(m_server->text()))
        return tr("“%1” is not a server: write name:port, address:port or [IPv6]:port.").arg(m_server->text().trimmed());
    return {};
}

ServerCheckRequest ConnectDialog::request() const
{
    ServerCheckRequest request;
    const auto hostPort = parseHostPort(m_server->text());
    if (!hostPort)
        return request;
    ProbeOptions& probe = request.probe;
    probe.host = hostPort->host;
    probe.port = hostPort->port;
    const int protocol = m_protocol->currentData().toInt();
    if (protocol != automaticProtocol)
        probe.startTls = StartTlsProtocol(protocol);
    probe.serverName = m_serverName->text().trimmed();
    probe.pinnedAddresses = m_addresses->text().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    probe.tlsVersion = ProbeOptions::TlsVersion(m_tlsVersion->currentData().toInt());
    probe.connectTimeoutMs = probe.stepTimeoutMs = m_timeout->value() * 1000;
    probe.totalTimeoutMs = 4 * probe.stepTimeoutMs;
    const QString compare = m_compare->text().trimmed();
    if (!compare.isEmpty())
        request.compare.paths = {compare};
    return request;
}

void ConnectDialog::updateState()
{
    const QString error = requestError();
    m_error->setText(m_server->text().trimmed().isEmpty() ? QString() : error);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(error.isEmpty());
    QString hint;
    if (const auto hostPort = parseHostPort(m_server->text()); hostPort && m_protocol->currentData().toInt() == automaticProtocol) {
        const StartTlsProtocol protocol = defaultStartTlsProtocol(hostPort->port);
        hint = protocol == StartTlsProtocol::None ? tr("port %1: TLS from the first byte").arg(hostPort->port)
                                                  : tr("port %1: STARTTLS %2").arg(hostPort->port).arg(startTlsProtocolName(protocol));
    }
    m_protocolHint->setText(hint);
}

void ConnectDialog::browseCompare()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Files the Server Is Configured With"), m_compare->text());
    if (!folder.isEmpty())
        m_compare->setText(folder);
}

} // namespace staplescope::ui
