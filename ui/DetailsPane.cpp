#include "DetailsPane.h"

#include "ElidedLabel.h"
#include "UiStyle.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace staplescope::ui {

namespace {

constexpr int ObjectIdRole = Qt::UserRole + 1;
constexpr int ValueRole = Qt::UserRole + 2;

QString orNone(const QString& s) { return s.isEmpty() ? DetailsPane::tr("(none)") : s; }
QString joined(const QStringList& list) { return orNone(list.join(QStringLiteral(", "))); }
QString yesNo(bool b) { return b ? DetailsPane::tr("yes") : DetailsPane::tr("no"); }

QString attachmentText(StapleAttachment a)
{
    switch (a) {
    case StapleAttachment::CertIdMatch: return DetailsPane::tr("its CertID names this certificate");
    case StapleAttachment::Explicit: return DetailsPane::tr("given explicitly as this certificate's staple");
    case StapleAttachment::PreviousCertificate: return DetailsPane::tr("its CertID names the previous certificate");
    case StapleAttachment::BesideFiles: return DetailsPane::tr("names no certificate here; lies beside this bundle's files");
    case StapleAttachment::OnlyBundle: return DetailsPane::tr("names no certificate here; this is the only bundle");
    }
    return {};
}

QString keyStatusText(KeyStatus s)
{
    switch (s) {
    case KeyStatus::NotProvided: return DetailsPane::tr("not provided");
    case KeyStatus::Matches: return DetailsPane::tr("matches the certificate");
    case KeyStatus::Mismatch: return DetailsPane::tr("does NOT match the certificate");
    case KeyStatus::Encrypted: return DetailsPane::tr("encrypted (not checked)");
    }
    return {};
}

} // namespace

DetailsPane::DetailsPane(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_header = new ElidedLabel(this);
    m_header->setObjectName(QStringLiteral("detailsHeader"));
    QFont bold = m_header->font();
    bold.setBold(true);
    m_header->setFont(bold);
    m_header->setContentsMargins(4, 2, 4, 2);
    layout->addWidget(m_header);
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    layout->addWidget(splitter);

    m_tree = new QTreeWidget(splitter);
    m_tree->setColumnCount(3);
    m_tree->setHeaderLabels({tr("Field"), tr("Value"), QString()});
    m_tree->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_tree->header()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_tree->header()->setSectionResizeMode(2, QHeaderView::Fixed);
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->resizeSection(2, 34);
    m_tree->setAlternatingRowColors(true);
    m_tree->setUniformRowHeights(true);
    m_tree->setWordWrap(false);
    m_tree->setAccessibleName(tr("Certificate and staple fields"));
    m_tree->setToolTip(tr("Ctrl+C copies the selected value"));
    connect(m_tree, &QTreeWidget::currentItemChanged, this, &DetailsPane::onCurrentItemChanged);
    auto* copyShortcut = new QShortcut(QKeySequence::Copy, m_tree, nullptr, nullptr, Qt::WidgetShortcut);
    connect(copyShortcut, &QShortcut::activated, this, [this] {
        if (QTreeWidgetItem* item = m_tree->currentItem())
            copyText(item->data(1, ValueRole).toString().isEmpty() ? item->text(0) : item->data(1, ValueRole).toString());
    });

    auto* dumpBox = new QWidget(splitter);
    auto* dumpLayout = new QVBoxLayout(dumpBox);
    dumpLayout->setContentsMargins(0, 4, 0, 0);
    auto* dumpHeader = new QHBoxLayout;
    m_dumpTitle = new ElidedLabel(tr("Text dump"), dumpBox); // shows a certificate's name: elided
    m_copyDump = new QPushButton(tr("Copy &text dump"), dumpBox);
    m_copyDump->setEnabled(false);
    dumpHeader->addWidget(m_dumpTitle, 1);
    dumpHeader->addWidget(m_copyDump);
    dumpLayout->addLayout(dumpHeader);
    m_dump = new QPlainTextEdit(dumpBox);
    m_dump->setReadOnly(true);
    m_dump->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_dump->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_dump->setAccessibleName(tr("Full text dump"));
    dumpLayout->addWidget(m_dump);
    connect(m_copyDump, &QPushButton::clicked, this, [this] { copyText(m_dump->toPlainText()); });
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
}

void DetailsPane::copyText(const QString& text)
{
    QApplication::clipboard()->setText(text);
}

QTreeWidgetItem* DetailsPane::addObject(const QString& objectId, const QString& title, const QString& dump)
{
    auto* item = new QTreeWidgetItem(m_tree, {title});
    QFont f = item->font(0);
    f.setBold(true);
    item->setFont(0, f);
    item->setFirstColumnSpanned(true);
    item->setData(0, ObjectIdRole, objectId);
    m_dumps.insert(objectId, dump);
    return item;
}

void DetailsPane::addField(QTreeWidgetItem* parent, const QString& label, const QString& value)
{
    auto* item = new QTreeWidgetItem(parent, {label, value});
    item->setData(0, ObjectIdRole, parent->data(0, ObjectIdRole));
    item->setData(1, ValueRole, value);
    item->setToolTip(1, plainToolTip(value));
    auto* copy = new QToolButton(m_tree);
    copy->setText(tr("Copy"));
    copy->setIcon(QIcon::fromTheme(QStringLiteral("edit-copy")));
    copy->setToolButtonStyle(QIcon::hasThemeIcon(QStringLiteral("edit-copy")) ? Qt::ToolButtonIconOnly : Qt::ToolButtonTextOnly);
    copy->setAutoRaise(true);
    copy->setToolTip(plainToolTip(tr("Copy %1").arg(label)));
    copy->setAccessibleName(tr("Copy %1").arg(label));
    copy->setFocusPolicy(Qt::NoFocus); // the tree's Ctrl+C is the keyboard path
    connect(copy, &QToolButton::clicked, this, [this, value] { copyText(value); });
    m_tree->setItemWidget(item, 2, copy);
}

void DetailsPane::addCertificate(const Certificate& cert, const QString& role)
{
    if (cert.isNull())
        return;
    QTreeWidgetItem* o = addObject(cert.id(), QStringLiteral("%1: %2").arg(role, cert.commonName()), cert.textDump());
    addField(o, tr("Subject"), cert.subject());
    addField(o, tr("Issuer"), cert.issuer());
    addField(o, tr("Serial"), cert.serialHex());
    addField(o, tr("Not before"), formatTime(cert.notBefore()));
    addField(o, tr("Not after"), formatTime(cert.notAfter()));
    addField(o, tr("Lifetime"), formatDuration(cert.lifetimeSeconds()));
    addField(o, tr("DNS names"), joined(cert.dnsNames()));
    if (!cert.ipAddresses().isEmpty())
        addField(o, tr("IP addresses"), joined(cert.ipAddresses()));
    addField(o, tr("Key"), cert.keyDescription());
    addField(o, tr("Signature algorithm"), cert.signatureAlgorithm());
    addField(o, tr("Subject key identifier"), orNone(hexColon(cert.subjectKeyId())));
    addField(o, tr("Authority key identifier"), orNone(hexColon(cert.authorityKeyId())));
    addField(o, tr("OCSP URLs"), joined(cert.ocspUrls()));
    addField(o, tr("CA issuer URLs"), joined(cert.caIssuerUrls()));
    addField(o, tr("CRL URLs"), joined(cert.crlUrls()));
    addField(o, tr("CA"), yesNo(cert.isCa()));
    addField(o, tr("TLS Feature (must-staple)"), yesNo(cert.mustStaple()));
    if (cert.hasOcspSigningUsage())
        addField(o, tr("OCSP signing"), cert.hasOcspNoCheck() ? tr("yes, with ocsp-nocheck") : tr("yes"));
    addField(o, tr("SHA-256 fingerprint"), hexColon(cert.sha256()));
    addField(o, tr("SHA-1 fingerprint"), hexColon(cert.sha1()));
    addField(o, tr("File"), cert.source().display());
}

void DetailsPane::addStaple(const AttachedStaple& attached, const Bundle& bundle)
{
    const OcspStaple& s = attached.staple;
    QTreeWidgetItem* o = addObject(s.id(), tr("OCSP staple: %1").arg(s.source().display()), s.textDump());
    addField(o, tr("File"), s.source().display());
    const char* encodings[] = {"DER", "PEM", "base64 text"};
    addField(o, tr("Encoding"), QString::fromLatin1(encodings[int(s.encoding())]));
    addField(o, tr("Attached because"), attachmentText(attached.attachment));
    addField(o, tr("Response status"), s.responseStatusName());
    if (!s.isSuccessful())
        return;
    addField(o, tr("Responder ID"), s.responderId());
    addField(o, tr("Produced at"), formatTime(s.producedAt()));
    addField(o, tr("Signature algorithm"), s.signatureAlgorithm());
    // Who signed: the issuer itself or a delegated responder, among the certificates we know.
    QString signer;
    QList<Certificate> candidates = s.embeddedCertificates();
    candidates += bundle.responderCertificates;
    if (!bundle.issuer().isNull())
        candidates << bundle.issuer();
    for (const Certificate& c : std::as_const(candidates))
        if (s.isResponder(c)) {
            signer = c.displayName();
            break;
        }
    addField(o, tr("Signer"), signer.isEmpty() ? tr("(not among the certificates given)") : signer);
    QStringList embedded;
    for (const Certificate& c : s.embeddedCertificates())
        embedded << c.commonName();
    addField(o, tr("Embedded certificates"), joined(embedded));
    const auto responses = s.responses();
    for (int i = 0; i < responses.size(); ++i) {
        const OcspSingleResponse& r = responses[i];
        const QString prefix = responses.size() > 1 ? tr("[%1] ").arg(i + 1) : QString();
        addField(o, prefix + tr("CertID serial"), r.certId.serialHex());
        addField(o, prefix + tr("CertID hash algorithm"), r.certId.hashAlgorithm);
        addField(o, prefix + tr("Issuer name hash"), hexColon(r.certId.issuerNameHash));
        addField(o, prefix + tr("Issuer key hash"), hexColon(r.certId.issuerKeyHash));
        addField(o, prefix + tr("Status"), ocspStatusName(r.status));
        if (r.status == OcspCertStatus::Revoked)
            addField(o, prefix + tr("Revoked"),
                     QStringLiteral("%1 (%2)").arg(formatTime(r.revocationTime), orNone(r.revocationReasonName)));
        addField(o, prefix + tr("This update"), formatTime(r.thisUpdate));
        addField(o, prefix + tr("Next update"), r.nextUpdate.isValid() ? formatTime(r.nextUpdate) : tr("(none)"));
    }
}

void DetailsPane::setBundle(const BundleReport* report)
{
    const QString previous = currentObjectId();
    m_tree->clear();
    m_dumps.clear();
    m_dump->clear();
    m_copyDump->setEnabled(false);
    m_header->setText(report ? tr("%1 — %2").arg(report->bundle.leaf.displayName(), report->verdict) : QString());
    if (!report)
        return;
    const Bundle& b = report->bundle;
    m_tree->setUpdatesEnabled(false);
    addCertificate(b.leaf, tr("Certificate"));
    for (const AttachedStaple& s : b.staples)
        addStaple(s, b);
    for (const Certificate& c : b.chain)
        addCertificate(c, c.isSelfSigned() ? tr("Root") : tr("Intermediate"));
    addCertificate(b.anchor, tr("Trust anchor"));
    if (!b.key.isNull()) {
        QTreeWidgetItem* o = addObject(b.key.id(), tr("Private key: %1").arg(b.key.source().display()),
                                       tr("Private key material is never shown. Format: %1; %2.")
                                           .arg(b.key.format(), keyStatusText(b.keyStatus)));
        addField(o, tr("File"), b.key.source().display());
        addField(o, tr("Format"), b.key.format());
        addField(o, tr("Key"), orNone(b.key.keyDescription()));
        addField(o, tr("Match"), keyStatusText(b.keyStatus));
    }
    for (const Certificate& c : b.previousCertificates)
        addCertificate(c, tr("Previous certificate"));
    for (const Certificate& c : b.responderCertificates)
        addCertificate(c, tr("OCSP responder"));
    m_tree->expandAll();
    m_tree->setUpdatesEnabled(true);
    if (!showObject(previous) && m_tree->topLevelItemCount() > 0)
        m_tree->setCurrentItem(m_tree->topLevelItem(0));
}

bool DetailsPane::showObject(const QString& objectId)
{
    if (objectId.isEmpty())
        return false;
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = m_tree->topLevelItem(i);
        if (item->data(0, ObjectIdRole).toString() == objectId) {
            m_tree->setCurrentItem(item);
            m_tree->scrollToItem(item, QAbstractItemView::PositionAtTop);
            return true;
        }
    }
    return false;
}

QString DetailsPane::currentObjectId() const
{
    const QTreeWidgetItem* item = m_tree->currentItem();
    return item ? item->data(0, ObjectIdRole).toString() : QString();
}

QString DetailsPane::currentDump() const { return m_dump->toPlainText(); }

QString DetailsPane::fieldValue(const QString& objectId, const QString& field) const
{
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
        const QTreeWidgetItem* o = m_tree->topLevelItem(i);
        if (o->data(0, ObjectIdRole).toString() != objectId)
            continue;
        for (int j = 0; j < o->childCount(); ++j)
            if (o->child(j)->text(0) == field)
                return o->child(j)->data(1, ValueRole).toString();
    }
    return {};
}

void DetailsPane::onCurrentItemChanged()
{
    const QString id = currentObjectId();
    QTreeWidgetItem* item = m_tree->currentItem();
    while (item && item->parent())
        item = item->parent();
    m_dumpTitle->setText(item ? tr("Text dump: %1").arg(item->text(0)) : tr("Text dump"));
    const QString dump = m_dumps.value(id);
    if (m_dump->toPlainText() != dump)
        m_dump->setPlainText(dump);
    m_copyDump->setEnabled(!dump.isEmpty());
    if (!id.isEmpty())
        emit objectSelected(id);
}

} // namespace staplescope::ui
