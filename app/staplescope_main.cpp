// staplescope: the desktop window. Also renders itself to a PNG for docs, tests and bug reports:
//   staplescope [--demo] [--connect HOST[:PORT]]… [--at TIME] [--screenshot OUT.png [--size WxH] [--tab findings|details] [--dark]] PATHS…
#include "AppResources.h"
#include "AppSettings.h"
#include "Clock.h"
#include "DetailsPane.h"
#include "EvaluationTime.h" // --at, as staplescope-cli reads it
#include "MainWindow.h"
#include "TextEscape.h"
#include "Theme.h"
#include "TimelineWidget.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QCommandLineParser>
#include <QDir>
#include <QEventLoop>
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>

using namespace staplescope;

namespace {

// What the user's settings hold that a screenshot may use: analysis options, trust, the theme.
// Window geometry and the recent lists stay out (a screenshot is reproducible and shows no one's
// history).
bool copiedForScreenshot(const QString& key)
{
    return !key.startsWith(QLatin1String("window/")) && !key.startsWith(QLatin1String("recent/"));
}

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication::setApplicationName(QStringLiteral("Staplescope"));
    QCoreApplication::setOrganizationName(QStringLiteral("Staplescope"));
    QCoreApplication::setApplicationVersion(QStringLiteral(STAPLESCOPE_VERSION));

    // Parsed before any QApplication exists: --help, --version and a mistyped option need no
    // display (a QApplication without one aborts).
    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate(
        "main", "Inspect TLS certificates, chains and OCSP staples: drop files or folders on the window."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption demo(QStringLiteral("demo"), QCoreApplication::translate("main", "Open the built-in demo (generated now)."));
    const QCommandLineOption at(QStringLiteral("at"),
                                QCoreApplication::translate("main", "Evaluate as of TIME (2026-12-01T08:00:00Z, +7d, -2h)."),
                                QStringLiteral("TIME"));
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QCoreApplication::translate("main", "Render the window with the worst bundle selected to OUT.png and exit. "
                                            "Reads the settings but never changes them."),
        QStringLiteral("OUT.png"));
    const QCommandLineOption size(QStringLiteral("size"), QCoreApplication::translate("main", "Window size for --screenshot (default 1400x900)."),
                                  QStringLiteral("WxH"), QStringLiteral("1400x900"));
    const QCommandLineOption tab(QStringLiteral("tab"), QCoreApplication::translate("main", "Lower tab to show: findings or details."),
                                 QStringLiteral("TAB"), QStringLiteral("findings"));
    const QCommandLineOption dark(QStringLiteral("dark"),
                                  QCoreApplication::translate("main", "Use the dark theme for this run (View > Theme remembers a choice)."));
    const QCommandLineOption fit(QStringLiteral("fit-all"), QCoreApplication::translate("main", "Zoom the timeline to every lane."));
    const QCommandLineOption connectTo(
        QStringLiteral("connect"),
        QCoreApplication::translate("main", "Check a live server (HOST[:PORT], protocol by port, or a URL such as "
                                            "https://HOST/ or smtp://HOST:587); repeatable."),
        QStringLiteral("HOST[:PORT]"));
    parser.addOptions({demo, at, screenshot, size, tab, dark, fit, connectTo});
    const QCommandLineOption fleetView(QStringLiteral("fleet"),
                                       QCoreApplication::translate("main", "For --screenshot: show the fleet timeline (no bundle selected)."));
    parser.addOption(fleetView);
    parser.addPositionalArgument(QStringLiteral("PATHS"), QCoreApplication::translate("main", "Files or folders to open."),
                                 QStringLiteral("[PATHS…]"));
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments << QString::fromLocal8Bit(argv[i]);
    if (!parser.parse(arguments) || parser.isSet(help) || parser.isSet(QStringLiteral("help-all")) || parser.isSet(version)) {
        // QCommandLineParser prints help, the version or the error through a core application
        // and exits; no window system is touched.
        QCoreApplication core(argc, argv);
        parser.process(core);
        return 3;
    }

    // A screenshot needs no display: fall back to the offscreen platform when there is none.
    const bool shot = parser.isSet(screenshot);
    if (shot && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");

    QApplication app(argc, argv);
    QApplication::setDesktopFileName(QStringLiteral("org.staplescope.Staplescope"));
    QApplication::setWindowIcon(ui::applicationIcon()); // every window and dialog, not only the main one

    auto fail = [](const QString& message) {
        // The messages quote arguments (a path, a host): escaped for the terminal.
        std::fprintf(stderr, "staplescope: %s\n", qPrintable(staplescope::escapeText(message)));
        return 3;
    };
    const std::shared_ptr<const Clock> clock = Clock::system();
    std::optional<QDateTime> asOf;
    if (parser.isSet(at)) {
        asOf = parseEvaluationTime(parser.value(at), *clock);
        if (!asOf)
            return fail(QStringLiteral("--at '%1' is not a time (try 2026-12-01T08:00:00Z or +7d)").arg(parser.value(at)));
    }
    QSize windowSize(1400, 900);
    {
        const QStringList parts = parser.value(size).split(QLatin1Char('x'));
        bool okW = false, okH = false;
        if (parts.size() == 2)
            windowSize = QSize(parts[0].toInt(&okW), parts[1].toInt(&okH));
        if (!okW || !okH || windowSize.width() < 320 || windowSize.height() < 240)
            return fail(QStringLiteral("--size '%1' is not WxH (for example 1400x900)").arg(parser.value(size)));
    }
    QStringList paths;
    for (const QString& p : parser.positionalArguments())
        paths << QDir::current().absoluteFilePath(p);
    QList<ServerCheckRequest> servers;
    for (const QString& endpoint : parser.values(connectTo)) {
        const ServerTarget target = parseServerTarget(endpoint);
        if (!target.ok())
            return fail(QStringLiteral("--connect: ") + target.error);
        ServerCheckRequest request;
        request.probe.host = target.endpoint.host;
        request.probe.port = target.endpoint.port;
        request.probe.startTls = target.startTls;
        servers << request;
    }

    // A screenshot works on a copy of the settings in a scratch folder: whatever it opens or
    // connects to never reaches the user's recent lists, theme or window state.
    std::unique_ptr<ui::AppSettings> settings;
    std::unique_ptr<QTemporaryDir> scratch; // outlives the window, which writes into it
    if (shot) {
        scratch = std::make_unique<QTemporaryDir>();
        if (!scratch->isValid())
            return fail(QStringLiteral("cannot make a temporary folder for the screenshot's settings"));
        const QSettings user(QStringLiteral("Staplescope"), QStringLiteral("Staplescope"));
        auto copy = std::make_unique<QSettings>(scratch->filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
        for (const QString& key : user.allKeys())
            if (copiedForScreenshot(key))
                copy->setValue(key, user.value(key));
        settings = std::make_unique<ui::AppSettings>(std::move(copy));
    }

    ui::MainWindow window(std::move(settings));
    if (parser.isSet(dark))
        window.applyThemeForThisRun(ui::Theme::Dark);
    window.setClock(clock);
    window.setNonInteractive(shot);
    if (asOf)
        window.setAsOf(*asOf);
    if (shot)
        window.resize(windowSize);

    if (!shot) {
        window.show();
        if (parser.isSet(demo))
            window.openDemo();
        if (!paths.isEmpty())
            window.openPaths(paths);
        for (const ServerCheckRequest& request : servers)
            window.connectToServer(request);
        return app.exec();
    }

    // Screenshot: load, select the worst bundle (the first row: core sorts worst first), render.
    window.setAttribute(Qt::WA_DontShowOnScreen, QGuiApplication::platformName() != QLatin1String("offscreen") ? false : true);
    window.show();
    QEventLoop loop;
    QObject::connect(&window, &ui::MainWindow::loadFinished, &loop, &QEventLoop::quit);
    bool started = true;
    // Nothing to load renders the welcome view.
    if (parser.isSet(demo))
        started = window.openDemo();
    else if (!paths.isEmpty())
        window.openPaths(paths);
    if (!started)
        return fail(QStringLiteral("could not write the demo"));
    QTimer::singleShot(120000, &loop, [&loop] { loop.exit(1); });
    if (window.isLoading() && loop.exec() != 0)
        return fail(QStringLiteral("loading did not finish within two minutes"));
    for (const ServerCheckRequest& request : servers)
        window.connectToServer(request);
    QElapsedTimer waiting;
    waiting.start();
    while ((window.isConnecting() || window.isEvaluating()) && waiting.elapsed() < 120000)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 50);
    window.selectBundleRow(0);
    if (parser.value(tab) == QLatin1String("details")) {
        window.lowerTabs()->setCurrentIndex(1);
        // The staple is what an expert opens first: CertID, hashes, responder, times.
        for (const TimelineLane& lane : window.timeline()->timeline().lanes)
            if (lane.kind == LaneKind::Staple && window.details()->showObject(lane.objectId))
                break;
    }
    if (parser.isSet(fleetView))
        window.showFleet();
    if (parser.isSet(fit))
        window.timeline()->zoomToFit();
    // Let layouts settle and paint once before grabbing.
    for (int i = 0; i < 5; ++i) {
        QApplication::processEvents();
        QEventLoop wait;
        QTimer::singleShot(20, &wait, &QEventLoop::quit);
        wait.exec();
    }
    const QImage image = window.grab().toImage();
    if (!image.save(parser.value(screenshot)))
        return fail(QStringLiteral("cannot write %1").arg(parser.value(screenshot)));
    std::printf("%s\n", qPrintable(staplescope::escapeText(QDir::toNativeSeparators(parser.value(screenshot)))));
    return 0;
}
