#include "AboutDialog.h"

#include "AppResources.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <openssl/crypto.h>

namespace staplescope::ui {

AboutDialog::AboutDialog(QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("About Staplescope"));
    setWindowIcon(applicationIcon());

    m_icon = new QLabel(this);
    m_icon->setPixmap(applicationIcon().pixmap(QSize(64, 64)));
    m_icon->setAlignment(Qt::AlignTop);

    auto* name = new QLabel(tr("Staplescope"), this);
    QFont big = name->font();
    big.setPointSizeF(big.pointSizeF() * 1.5);
    big.setBold(true);
    name->setFont(big);
    m_version = new QLabel(tr("Version %1").arg(applicationVersion()), this);
    m_version->setTextInteractionFlags(Qt::TextSelectableByMouse); // for bug reports
    auto* what = new QLabel(
        tr("Inspects TLS certificates, chains and OCSP staples and says exactly what is wrong."), this);
    what->setWordWrap(true);
    // The runtime versions, not the headers': a bug report needs what actually ran.
    auto* built = new QLabel(
        tr("Qt %1 · %2")
            .arg(QString::fromLatin1(qVersion()), QString::fromLatin1(OpenSSL_version(OPENSSL_VERSION))),
        this);
    built->setTextInteractionFlags(Qt::TextSelectableByMouse);
    for (QLabel* label : {name, m_version, what, built})
        label->setTextFormat(Qt::PlainText);

    auto* text = new QVBoxLayout;
    text->addWidget(name);
    text->addWidget(m_version);
    text->addSpacing(8);
    text->addWidget(what);
    text->addWidget(built);
    text->addStretch(1);
    auto* top = new QHBoxLayout;
    top->addWidget(m_icon);
    top->addSpacing(12);
    top->addLayout(text, 1);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(buttons);
    setMinimumWidth(420);
}

} // namespace staplescope::ui
