#include "FilterLineEdit.h"

#include <QKeyEvent>

namespace staplescope::ui {

FilterLineEdit::FilterLineEdit(QWidget* parent) : QLineEdit(parent)
{
    setClearButtonEnabled(true);
}

bool FilterLineEdit::event(QEvent* event)
{
    // Claim Esc before the window's shortcuts see it, while there is something to clear.
    if (event->type() == QEvent::ShortcutOverride && !text().isEmpty()) {
        auto* key = static_cast<QKeyEvent*>(event);
        if (key->key() == Qt::Key_Escape && key->modifiers() == Qt::NoModifier) {
            event->accept();
            return true;
        }
    }
    return QLineEdit::event(event);
}

void FilterLineEdit::keyPressEvent(QKeyEvent* event)
{
    if (event->key() == Qt::Key_Escape && event->modifiers() == Qt::NoModifier && !text().isEmpty()) {
        clear();
        event->accept();
        return;
    }
    QLineEdit::keyPressEvent(event);
}

} // namespace staplescope::ui
