// The window's identity: the icon compiled in from resources/staplescope.qrc and Help ▸ About
// Staplescope, which shows the version CMake configured (offscreen; the dialog is closed by code).

#include "AboutDialog.h"
#include "AppResources.h"
#include "AppSettings.h"
#include "MainWindow.h"

#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QMenuBar>
#include <QPointer>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

using namespace staplescope::ui;

class TestGuiAbout : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void iconHasEveryRenderedSize();
    void windowIconIsTheAppIcon();
    void aboutShowsTheVersion();

private:
    std::unique_ptr<AppSettings> settings();
    QTemporaryDir m_settingsDir;
};

void TestGuiAbout::initTestCase()
{
    QVERIFY(m_settingsDir.isValid());
}

std::unique_ptr<AppSettings> TestGuiAbout::settings()
{
    return std::make_unique<AppSettings>(std::make_unique<QSettings>(
        m_settingsDir.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat));
}

void TestGuiAbout::iconHasEveryRenderedSize()
{
    const QIcon icon = applicationIcon();
    QVERIFY(!icon.isNull());
    // Every PNG of resources/icons/ made it into the qrc, at its own size.
    QList<int> sizes;
    for (const QSize& s : icon.availableSizes()) {
        QCOMPARE(s.width(), s.height());
        sizes << s.width();
    }
    std::sort(sizes.begin(), sizes.end());
    QCOMPARE(sizes, (QList<int>{16, 22, 24, 32, 48, 64, 128, 256}));
    // A size is a real picture, not a placeholder: the icon's dark blue fills its middle.
    const QImage image = icon.pixmap(QSize(48, 48)).toImage();
    QCOMPARE(image.size(), QSize(48, 48));
    QCOMPARE(image.pixelColor(12, 24).alpha(), 255);
    QCOMPARE(image.pixelColor(0, 0).alpha(), 0); // the rounded corner is transparent
}

void TestGuiAbout::windowIconIsTheAppIcon()
{
    QVERIFY(QApplication::windowIcon().isNull()); // so the window's icon below is its own
    MainWindow window(settings());
    QVERIFY(!window.windowIcon().isNull());
    QCOMPARE(window.windowIcon().availableSizes(), applicationIcon().availableSizes());
}

void TestGuiAbout::aboutShowsTheVersion()
{
    MainWindow window(settings());
    window.setNonInteractive(true);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    auto* about = window.findChild<QAction*>(QStringLiteral("aboutAction"));
    QVERIFY(about);
    // It sits in the Help menu, where people look for it.
    QMenu* help = nullptr;
    for (QAction* menu : window.menuBar()->actions())
        if (menu->menu() && menu->menu()->actions().contains(about))
            help = menu->menu();
    QVERIFY(help);
    QCOMPARE(help->title(), QStringLiteral("&Help"));
    QVERIFY(!window.findChild<AboutDialog*>());

    about->trigger();
    QPointer<AboutDialog> dialog = window.findChild<AboutDialog*>();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    QVERIFY(dialog->windowTitle().contains(QStringLiteral("About Staplescope")));
    // The version is CMake's project version, given to this test by the build.
    QCOMPARE(applicationVersion(), QStringLiteral(STAPLESCOPE_EXPECTED_VERSION));
    QVERIFY2(dialog->versionLabel()->text().contains(QStringLiteral(STAPLESCOPE_EXPECTED_VERSION)),
             qPrintable(dialog->versionLabel()->text()));
    QVERIFY(dialog->versionLabel()->isVisible());
    QVERIFY(!dialog->iconLabel()->pixmap().isNull());
    QVERIFY(dialog->iconLabel()->isVisible());

    // Closed by code; it deletes itself, and triggering again opens a fresh one.
    dialog->reject();
    QTRY_VERIFY(dialog.isNull());
    about->trigger();
    dialog = window.findChild<AboutDialog*>();
    QVERIFY(dialog);
    dialog->close();
    QTRY_VERIFY(dialog.isNull());
}

QTEST_MAIN(TestGuiAbout)
#include "tst_gui_about.moc"
