#include "CommandLineRow.h"

#include "UiStyle.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace staplescope::ui {

CommandLineRow::CommandLineRow(const QString& line, const QString& accessibleName, QWidget* parent) : QWidget(parent)
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_edit = new QLineEdit(line, this);
    m_edit->setReadOnly(true);
    m_edit->setAccessibleName(accessibleName);
    m_edit->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_edit->setCursorPosition(0);
    m_edit->setToolTip(plainToolTip(line)); // whole, where the field cuts it
    m_copy = new QPushButton(tr("&Copy"), this);
    m_copy->setToolTip(tr("Copy the line to the clipboard"));
    connect(m_copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_edit->text()); });
    layout->addWidget(m_edit, 1);
    layout->addWidget(m_copy);
}

QString CommandLineRow::text() const { return m_edit->text(); }

} // namespace staplescope::ui
