#include "Theme.h"

#include <QApplication>
#include <QEvent>
#include <QHash>
#include <QStyle>
#include <QStyleFactory>
#include <QToolTip>

namespace staplescope::ui {

namespace {

// The classes QApplication gives the platform theme's palettes (initializeWidgetPalettesFromTheme).
// Setting only the application palette leaves these as the desktop made them: a light menu bar
// in a dark window.
constexpr const char* kThemedClasses[] = {
    "QToolButton", "QAbstractButton", "QCheckBox",         "QRadioButton", "QHeaderView",
    "QAbstractItemView", "QMessageBoxLabel", "QTabBar",    "QLabel",       "QGroupBox",
    "QMenu",       "QMenuBar",        "QTextEdit",         "QTextControl", "QLineEdit",
};

struct DesktopLook {
    QString styleName;
    QPalette palette;
    QHash<QByteArray, QPalette> classPalettes;
    QPalette toolTip;
};

DesktopLook& desktopLook()
{
    static DesktopLook look = [] {
        DesktopLook l;
        l.styleName = QApplication::style()->name();
        l.palette = QApplication::palette();
        for (const char* name : kThemedClasses)
            l.classPalettes.insert(name, QApplication::palette(name));
        l.toolTip = QToolTip::palette();
        return l;
    }();
    return look;
}

Theme& currentTheme()
{
    static Theme theme = Theme::System;
    return theme;
}

void setEverywhere(const QPalette& palette)
{
    QApplication::setPalette(palette);
    for (const char* name : kThemedClasses)
        QApplication::setPalette(palette, name);
    QToolTip::setPalette(palette);
}

} // namespace

QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31), base(0x1e, 0x1f, 0x22), text(0xe6, 0xe6, 0xe6);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x28, 0x2b));
    p.setColor(QPalette::ToolTipBase, window);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::PlaceholderText, QColor(0xa0, 0xa4, 0xab));
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x8b, 0xfd));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Mid, QColor(0x5a, 0x5d, 0x63));
    p.setColor(QPalette::Midlight, QColor(0x3a, 0x3d, 0x42));
    p.setColor(QPalette::Light, QColor(0x45, 0x48, 0x4e));
    p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1b));
    p.setColor(QPalette::Shadow, QColor(0x0c, 0x0c, 0x0d));
    p.setColor(QPalette::Link, QColor(0x6c, 0xb4, 0xff));
    p.setColor(QPalette::LinkVisited, QColor(0xb3, 0x9d, 0xff));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x80, 0x80, 0x80));
    return p;
}

QPalette lightPalette()
{
    // Fusion's own palette: light whatever the desktop's colours are.
    static const QPalette palette = [] {
        std::unique_ptr<QStyle> fusion(QStyleFactory::create(QStringLiteral("Fusion")));
        return fusion ? fusion->standardPalette() : QPalette(Qt::white);
    }();
    return palette;
}

void applyTheme(Theme theme)
{
    const DesktopLook& desktop = desktopLook(); // before anything changes
    static bool everChanged = false;
    if (theme == Theme::System && !everChanged)
        return; // the desktop's look, untouched: it keeps following the desktop's own changes
    everChanged = true;
    switch (theme) {
    case Theme::System:
        if (QApplication::style()->name() != desktop.styleName)
            QApplication::setStyle(desktop.styleName);
        QApplication::setPalette(desktop.palette);
        for (auto it = desktop.classPalettes.cbegin(); it != desktop.classPalettes.cend(); ++it)
            QApplication::setPalette(it.value(), it.key().constData());
        QToolTip::setPalette(desktop.toolTip);
        break;
    case Theme::Light:
    case Theme::Dark:
        if (QApplication::style()->name().compare(QLatin1String("fusion"), Qt::CaseInsensitive) != 0)
            QApplication::setStyle(QStringLiteral("Fusion"));
        setEverywhere(theme == Theme::Dark ? darkPalette() : lightPalette());
        break;
    }
    // Qt tells child widgets of a class palette change but not the windows themselves: a window
    // already shown kept the old background. Tell every window, which passes it to its children.
    for (QWidget* window : QApplication::topLevelWidgets()) {
        QEvent changed(QEvent::ApplicationPaletteChange);
        QCoreApplication::sendEvent(window, &changed);
    }
    currentTheme() = theme;
}

Theme appliedTheme() { return currentTheme(); }

} // namespace staplescope::ui
