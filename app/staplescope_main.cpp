// staplescope: the desktop window. Also renders itself to a PNG for docs, tests and bug reports:
//   staplescope [--demo] [--connect HOST[:PORT]]… [--at TIME] [--screenshot OUT.png [--size WxH] [--tab findings|details] [--dark]] PATHS…
#include "AppResources.h"
#include "Clock.h"
#include "DetailsPane.h"
#include "EvaluationTime.h" // --at, as staplescope-cli reads it
#include "MainWindow.h"
#include "TextEscape.h"
#include "TimelineWidget.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QCommandLineParser>
#include <QDir>
#include <QEventLoop>
#include <QStyleFactory>
#include <QTabWidget>
#include <QTimer>

#include <cstdio>

using namespace staplescope;

namespace {

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
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x8b, 0xfd));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Mid, QColor(0x5a, 0x5d, 0x63));
    p.setColor(QPalette::Light, QColor(0x45, 0x48, 0x4e));
    p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1b));
    p.setColor(QPalette::Link, QColor(0x6c, 0xb4, 0xff));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x80, 0x80, 0x80));
    return p;
}

bool wantsScreenshot(int argc, char* argv[])
{
    for (int i = 1; i < argc; ++i)
        if (qstrcmp(argv[i], "--screenshot") == 0 || qstrncmp(argv[i], "--screenshot=", 13) == 0)
            return true;
    return false;
}

} // namespace

int main(int argc, char* argv[])
{
    // A screenshot needs no display: fall back to the offscreen platform when there is none.
    if (wantsScreenshot(argc, argv) && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") &&
        qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Staplescope"));
    QApplication::setOrganizationName(QStringLiteral("Staplescope"));
    QApplication::setApplicationVersion(QStringLiteral(STAPLESCOPE_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("org.staplescope.Staplescope"));
    QApplication::setWindowIcon(ui::applicationIcon()); // every window and dialog, not only the main one

    QCommandLineParser parser;
    parser.setApplicationDescription(QApplication::translate(
        "main", "Inspect TLS certificates, chains and OCSP staples: drop files or folders on the window."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption demo(QStringLiteral("demo"), QApplication::translate("main", "Open the built-in demo (generated now)."));
    const QCommandLineOption at(QStringLiteral("at"),
                                QApplication::translate("main", "Evaluate as of TIME (2026-12-01T08:00:00Z, +7d, -2h)."),
                                QStringLiteral("TIME"));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QApplication::translate("main", "Render the window with the worst bundle selected to OUT.png and exit."),
                                        QStringLiteral("OUT.png"));
    const QCommandLineOption size(QStringLiteral("size"), QApplication::translate("main", "Window size for --screenshot (default 1400x900)."),
                                  QStringLiteral("WxH"), QStringLiteral("1400x900"));
    const QCommandLineOption tab(QStringLiteral("tab"), QApplication::translate("main", "Lower tab to show: findings or details."),
                                 QStringLiteral("TAB"), QStringLiteral("findings"));
    const QCommandLineOption dark(QStringLiteral("dark"), QApplication::translate("main", "Use a dark palette."));
    const QCommandLineOption fit(QStringLiteral("fit-all"), QApplication::translate("main", "Zoom the timeline to every lane."));
    const QCommandLineOption connectTo(QStringLiteral("connect"),
                                       QApplication::translate("main", "Check a live server (HOST[:PORT], protocol by port); repeatable."),
                                       QStringLiteral("HOST[:PORT]"));
    parser.addOptions({demo, at, screenshot, size, tab, dark, fit, connectTo});
    const QCommandLineOption fleetView(QStringLiteral("fleet"),
                                       QApplication::translate("main", "For --screenshot: show the fleet timeline (no bundle selected)."));
    parser.addOption(fleetView);
    parser.addPositionalArgument(QStringLiteral("PATHS"), QApplication::translate("main", "Files or folders to open."),
                                 QStringLiteral("[PATHS…]"));
    parser.process(app);

    auto fail = [](const QString& message) {
        // The messages quote arguments (a path, a host): escaped for the terminal.
        std::fprintf(stderr, "staplescope: %s\n", qPrintable(staplescope::escapeText(message)));
        return 3;
    };
    if (parser.isSet(dark)) {
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(darkPalette());
    }
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
    const bool shot = parser.isSet(screenshot);
    QList<ServerCheckRequest> servers;
    for (const QString& endpoint : parser.values(connectTo)) {
        const auto hostPort = parseHostPort(endpoint);
        if (!hostPort)
            return fail(QStringLiteral("--connect '%1' is not HOST[:PORT]").arg(endpoint));
        ServerCheckRequest request;
        request.probe.host = hostPort->host;
        request.probe.port = hostPort->port;
        servers << request;
    }

    ui::MainWindow window;
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
