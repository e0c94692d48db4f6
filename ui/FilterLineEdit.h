#pragma once
// A filter field: Esc clears it (and only it, while it has text: the window's own Esc, which
// cancels running work, is not triggered then).

#include <QLineEdit>

namespace staplescope::ui {

class FilterLineEdit : public QLineEdit {
    Q_OBJECT
public:
    explicit FilterLineEdit(QWidget* parent = nullptr);

protected:
    bool event(QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
};

} // namespace staplescope::ui
