#include "ConnectDialog.h"

#include <QComboBox>
#include <QCompleter>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
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

    // Every label has its field as buddy, so its mnemonic (Alt+S, Alt+P, …) moves the focus there.
    auto* form = new QFormLayout;
    auto addRow = [this, form](const QString& label, QWidget* buddy, QLayout* row = nullptr) {
        auto* text = new QLabel(label, this);
        text->setBuddy(buddy);
        if (row)
            form->addRow(text, row);
        else
            form->addRow(text, buddy);
    };
    m_serverCombo = new QComboBox;
    m_serverCombo->setEditable(true);
    m_serverCombo->setInsertPolicy(QComboBox::NoInsert); // the window decides what is remembered
    m_serverCombo->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    m_server = m_serverCombo->lineEdit();
    m_server->setPlaceholderText(tr("mail.example.org:587 or https://www.example.org/"));
    m_serverCombo->setAccessibleName(tr("Server"));
    auto* completer = new QCompleter(m_serverCombo->model(), m_serverCombo);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    completer->setCompletionMode(QCompleter::PopupCompletion);
    m_serverCombo->setCompleter(completer);
    m_clearRecent = new QToolButton;
    m_clearRecent->setText(tr("C&lear Recent"));
    m_clearRecent->setToolTip(tr("Forget the servers connected to before"));
    m_clearRecent->setEnabled(false);
    connect(m_clearRecent, &QToolButton::clicked, this, &ConnectDialog::clearRecent);
    auto* serverRow = new QHBoxLayout;
    serverRow->addWidget(m_serverCombo, 1);
    serverRow->addWidget(m_clearRecent);
    addRow(tr("&Server:"), m_serverCombo, serverRow);
    connect(m_serverCombo, &QComboBox::activated, this, &ConnectDialog::fillFromRecent);

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
    addRow(tr("&Protocol:"), m_protocol, protocolRow);

    m_serverName = new QLineEdit;
    m_serverName->setPlaceholderText(tr("the server's name (default)"));
    addRow(tr("Server &name (SNI):"), m_serverName);

    m_addresses = new QLineEdit;
    m_addresses->setPlaceholderText(tr("every address the name resolves to (default)"));
    m_addresses->setToolTip(tr("One or more IP addresses, separated by spaces, to check only those backends."));
    addRow(tr("Only &addresses:"), m_addresses);

    m_tlsVersion = new QComboBox;
    m_tlsVersion->addItem(tr("TLS 1.2 or 1.3"), int(ProbeOptions::TlsVersion::Any));
    m_tlsVersion->addItem(tr("TLS 1.2 only"), int(ProbeOptions::TlsVersion::Tls12));
    m_tlsVersion->addItem(tr("TLS 1.3 only"), int(ProbeOptions::TlsVersion::Tls13));
    addRow(tr("&TLS version:"), m_tlsVersion);

    m_timeout = new QSpinBox;
    m_timeout->setRange(1, 120);
    m_timeout->setValue(5);
    m_timeout->setSuffix(tr(" s"));
    m_timeout->setToolTip(tr("For connecting and for each protocol step; the whole check is bounded at four times this."));
    addRow(tr("T&imeout:"), m_timeout);

    m_compare = new QLineEdit;
    m_compare->setPlaceholderText(tr("optional: the folder or files the server is configured with"));
    auto* browse = new QPushButton(tr("&Browse…"));
    connect(browse, &QPushButton::clicked, this, &ConnectDialog::browseCompare);
    auto* compareRow = new QHBoxLayout;
    compareRow->addWidget(m_compare, 1);
    compareRow->addWidget(browse);
    addRow(tr("&Compare with:"), m_compare, compareRow);
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
    // core's words: they quote what was typed and say which forms are understood.
    return parseServerTarget(m_server->text()).error;
}

ServerCheckRequest ConnectDialog::request() const
{
    ServerCheckRequest request;
    const ServerTarget target = parseServerTarget(m_server->text());
    if (!target.ok())
        return request;
    ProbeOptions& probe = request.probe;
    probe.host = target.endpoint.host;
    probe.port = target.endpoint.port;
    const int protocol = m_protocol->currentData().toInt();
    if (protocol != automaticProtocol)
        probe.startTls = StartTlsProtocol(protocol);
    else
        probe.startTls = target.startTls; // a URL's scheme names it; host:port goes by port
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

RecentServer ConnectDialog::recentServerOf(const ServerCheckRequest& request)
{
    RecentServer server;
    server.host = request.probe.host;
    server.port = request.probe.port;
    server.startTls = request.probe.startTls;
    server.serverName = request.probe.serverName;
    return server;
}

void ConnectDialog::setRecentServers(AppSettings* settings)
{
    m_settings = settings;
    m_recent = settings ? settings->recentServers() : QList<RecentServer>{};
    const QString typed = m_server->text();
    {
        const QSignalBlocker block(m_serverCombo);
        m_serverCombo->clear();
        for (const RecentServer& server : std::as_const(m_recent))
            m_serverCombo->addItem(server.endpointText());
        m_serverCombo->setCurrentIndex(-1);
        m_server->setText(typed); // keep what setRequest() or the user put there
    }
    m_clearRecent->setEnabled(!m_recent.isEmpty());
    updateState();
}

void ConnectDialog::fillFromRecent(int index)
{
    if (index < 0 || index >= m_recent.size())
        return;
    const RecentServer& server = m_recent.at(index);
    m_server->setText(server.endpointText());
    m_protocol->setCurrentIndex(server.startTls ? qMax(0, m_protocol->findData(int(*server.startTls))) : 0);
    m_serverName->setText(server.serverName);
    updateState();
}

void ConnectDialog::clearRecent()
{
    if (m_settings)
        m_settings->clearRecentServers();
    const QString typed = m_server->text();
    m_recent.clear();
    {
        const QSignalBlocker block(m_serverCombo);
        m_serverCombo->clear();
        m_server->setText(typed);
    }
    m_clearRecent->setEnabled(false);
}

void ConnectDialog::updateState()
{
    const QString error = requestError();
    m_error->setText(m_server->text().trimmed().isEmpty() ? QString() : error);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(error.isEmpty());
    QString hint;
    if (const ServerTarget target = parseServerTarget(m_server->text());
        target.ok() && m_protocol->currentData().toInt() == automaticProtocol) {
        const quint16 port = target.endpoint.port;
        const StartTlsProtocol protocol = target.startTls.value_or(defaultStartTlsProtocol(port));
        const QString by = target.startTls ? tr("by the URL") : tr("by port");
        hint = protocol == StartTlsProtocol::None ? tr("port %1: TLS from the first byte (%2)").arg(port).arg(by)
                                                  : tr("port %1: STARTTLS %2 (%3)").arg(port).arg(startTlsProtocolName(protocol), by);
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
