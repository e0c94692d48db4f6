#include "AppResources.h"

#include <QDir>

// Q_INIT_RESOURCE must be used outside any namespace. The resource object sits in a static library:
// calling it makes the linker keep that object, which it would otherwise drop as unreferenced.
static void initStaplescopeResources()
{
    Q_INIT_RESOURCE(staplescope);
}

namespace staplescope::ui {

QIcon applicationIcon()
{
    static const bool registered = (initStaplescopeResources(), true);
    Q_UNUSED(registered);
    // One folder per size ("16x16", …), as resources/icons/ has them: the qrc is the only list.
    const QDir icons(QStringLiteral(":/staplescope/icons"));
    QIcon icon;
    for (const QString& folder : icons.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        const int size = folder.section(QLatin1Char('x'), 0, 0).toInt();
        const QString file = icons.filePath(folder + QStringLiteral("/org.staplescope.Staplescope.png"));
        if (size > 0 && QFile::exists(file))
            icon.addFile(file, QSize(size, size));
    }
    return icon;
}

QString applicationVersion()
{
    return QStringLiteral(STAPLESCOPE_VERSION);
}

} // namespace staplescope::ui
