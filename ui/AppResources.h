#pragma once
// What the window shows of Staplescope itself: the icon compiled in from resources/staplescope.qrc
// and the version the build was configured with.

#include <QIcon>
#include <QString>

namespace staplescope::ui {

// The app icon in every size resources/ renders (16 … 256 pixels); null only when the resource
// file was not compiled in.
QIcon applicationIcon();
// The CMake project version this library was built from ("0.1.0"), whatever the QApplication says.
QString applicationVersion();

} // namespace staplescope::ui
