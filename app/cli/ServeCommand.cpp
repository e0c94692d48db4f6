#include "ServeCommand.h"

#include "Exporter.h"
#include "ServerCheck.h"
#include "TextEscape.h"

#include <QEventLoop>
#include <QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <cmath>
#include <fcntl.h>
#include <unistd.h>

namespace staplescope::cli {

namespace {

// SIGTERM/SIGINT end the event loop through a pipe: a signal handler may only write(2).
int g_signalPipe[2] = {-1, -1};

extern "C" void onStopSignal(int)
{
    const int saved = errno;
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &byte, 1);
    errno = saved;
}

// Installs the handlers for the life of the object and restores the previous ones.
class StopSignals {
public:
    bool install()
    {
        if (::pipe2(g_signalPipe, O_CLOEXEC | O_NONBLOCK) != 0)
            return false;
        struct sigaction action = {};
        action.sa_handler = onStopSignal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        ::sigaction(SIGTERM, &action, &m_previousTerm);
        ::sigaction(SIGINT, &action, &m_previousInt);
        m_installed = true;
        return true;
    }
    ~StopSignals()
    {
        if (!m_installed)
            return;
        ::sigaction(SIGTERM, &m_previousTerm, nullptr);
        ::sigaction(SIGINT, &m_previousInt, nullptr);
        ::close(g_signalPipe[0]);
        ::close(g_signalPipe[1]);
        g_signalPipe[0] = g_signalPipe[1] = -1;
    }
    int readFd() const { return g_signalPipe[0]; }

private:
    bool m_installed = false;
    struct sigaction m_previousTerm = {};
    struct sigaction m_previousInt = {};
};

struct ListenAddress {
    QHostAddress address;
    quint16 port = 0;
};

// HOST:PORT where HOST is an IP address, `localhost` or `*` (every address); the port is required.
std::optional<ListenAddress> parseListen(const QString& text, QString* problem)
{
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    // Port 0 (a free one) is not a server's port, which parseHostPort reads; it is read here.
    const bool anyPort = text.endsWith(QLatin1String(":0")) && colon == text.size() - 2;
    auto hostPort = parseHostPort(anyPort ? text.left(colon) : text);
    if (hostPort && anyPort)
        hostPort->port = 0;
    if (colon < 0 || text.endsWith(QLatin1Char(']')) || !hostPort) {
        *problem = QStringLiteral("--listen '%1' is not ADDRESS:PORT (127.0.0.1:9219, [::1]:9219)").arg(text);
        return std::nullopt;
    }
    ListenAddress listen;
    listen.port = hostPort->port;
    if (hostPort->host == QLatin1String("localhost"))
        listen.address = QHostAddress(QHostAddress::LocalHost);
    else if (hostPort->host == QLatin1String("*"))
        listen.address = QHostAddress(QHostAddress::Any);
    else
        listen.address = QHostAddress(hostPort->host);
    if (listen.address.isNull()) {
        *problem = QStringLiteral("--listen '%1': '%2' is not an IP address (or localhost, or *)").arg(text, hostPort->host);
        return std::nullopt;
    }
    return listen;
}

QString urlOf(const QHostAddress& address, quint16 port)
{
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol ? QStringLiteral("[%1]").arg(address.toString())
                                                                               : address.toString();
    return QStringLiteral("http://%1:%2/").arg(host).arg(port);
}

} // namespace

int ServeCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Runs a Prometheus exporter until SIGTERM or SIGINT (docs/monitoring.md).\n\n"
        "  /probe?target=HOST:PORT[&starttls=PROTO][&servername=NAME]  the live check of `connect HOST:PORT`,\n"
        "      for targets an --allow-target pattern matches (none by default: everything else gets 403)\n"
        "  /metrics  the PATHs (and the config's `path` entries), inspected on every scrape as `inspect` does,\n"
        "      and the exporter's own counters\n\n"
        "It listens on loopback unless --allow-non-loopback is given. One line per request goes to stderr."));
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Files or folders inspected on each /metrics scrape."),
                                 QStringLiteral("[PATH…]"));
    const QCommandLineOption listen(QStringLiteral("listen"),
                                    QStringLiteral("Address and port to listen on (default 127.0.0.1:9219; port 0: a free one)."),
                                    QStringLiteral("ADDRESS:PORT"));
    const QCommandLineOption allowNonLoopback(
        QStringLiteral("allow-non-loopback"),
        QStringLiteral("Allow --listen on an address other hosts can reach (the exporter has no authentication)."));
    const QCommandLineOption allowTarget(QStringLiteral("allow-target"),
                                         QStringLiteral("Targets /probe may check: HOST:PORT with * and ? (127.0.0.1:*, "
                                                        "*.example.org:443); repeatable."),
                                         QStringLiteral("GLOB"));
    const QCommandLineOption config(QStringLiteral("config"),
                                    QStringLiteral("Configuration file (key = value lines; docs/monitoring.md)."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption caFile(QStringLiteral("ca-file"), QStringLiteral("Extra trust anchors (PEM/DER/PKCS#7); repeatable."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption noSystemTrust(QStringLiteral("no-system-trust"),
                                           QStringLiteral("Trust only --ca-file anchors, not the system store."));
    const QCommandLineOption maxProbes(QStringLiteral("max-concurrent-probes"),
                                       QStringLiteral("Probes running at the same time (default 8)."), QStringLiteral("N"));
    const QCommandLineOption probeTimeout(QStringLiteral("probe-timeout"),
                                          QStringLiteral("Seconds a probe may take, queueing included (default 15; "
                                                         "Prometheus' scrape timeout lowers it)."),
                                          QStringLiteral("S"));
    for (const auto& option : {listen, allowNonLoopback, allowTarget, config, caFile, noSystemTrust, maxProbes, probeTimeout})
        parser.addOption(option);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;

    // The file first, the command line on top of it.
    ExporterConfig settings;
    if (parser.isSet(config))
        if (const QString problem = readExporterConfig(parser.value(config), settings); !problem.isEmpty())
            return usageError(streams, problem);
    settings.paths += parser.positionalArguments();
    for (const QString& glob : parser.values(allowTarget)) {
        if (const QString problem = allowTargetProblem(glob); !problem.isEmpty())
            return usageError(streams, problem);
        settings.allowTargets << glob;
    }
    settings.caFiles += parser.values(caFile);
    if (parser.isSet(noSystemTrust))
        settings.useSystemTrust = false;
    if (parser.isSet(allowNonLoopback))
        settings.allowNonLoopback = true;
    if (parser.isSet(maxProbes)) {
        bool ok = false;
        const int n = parser.value(maxProbes).toInt(&ok);
        if (!ok || n < 1 || n > kMaxConcurrentProbesLimit)
            return usageError(streams, QStringLiteral("--max-concurrent-probes must be between 1 and %1").arg(kMaxConcurrentProbesLimit));
        settings.maxConcurrentProbes = n;
    }
    if (parser.isSet(probeTimeout)) {
        bool ok = false;
        const double seconds = parser.value(probeTimeout).toDouble(&ok);
        if (!ok || !std::isfinite(seconds) || seconds <= 0 || seconds > 3600)
            return usageError(streams, QStringLiteral("--probe-timeout '%1' is not a number of seconds (above 0, at most 3600)")
                                           .arg(parser.value(probeTimeout)));
        settings.probeTimeoutMs = int(std::lround(seconds * 1000));
    }
    const QString listenText = parser.isSet(listen)              ? parser.value(listen)
                               : !settings.listen.isEmpty()      ? settings.listen
                                                                 : QStringLiteral("127.0.0.1:9219");
    QString problem;
    const auto where = parseListen(listenText, &problem);
    if (!where)
        return usageError(streams, problem);
    const bool loopback = where->address.isLoopback();
    if (!loopback && !settings.allowNonLoopback)
        return usageError(streams, QStringLiteral("--listen %1 is not a loopback address: other hosts could make this exporter "
                                                  "probe the allowed targets and read the configured files' metrics; add "
                                                  "--allow-non-loopback if that is meant")
                                       .arg(listenText));

    StopSignals stopSignals;
    if (!stopSignals.install()) {
        streams.err << QStringLiteral("staplescope-cli serve: cannot set up signal handling: %1\n").arg(QString::fromLocal8Bit(std::strerror(errno)));
        streams.err.flush();
        return ExitCritical;
    }
    Exporter exporter(settings, sharedClock());
    QTextStream& err = streams.err;
    exporter.setRequestLog([&err](const QString& line) {
        err << "serve: " << line << '\n';
        err.flush();
    });
    for (const Finding& finding : exporter.trustFindings())
        streams.err << QStringLiteral("staplescope-cli serve: warning: %1: %2\n").arg(escapeText(finding.subject), escapeText(finding.message));
    QString error;
    if (!exporter.listen(where->address, where->port, &error)) {
        streams.err << QStringLiteral("staplescope-cli serve: cannot listen on %1: %2\n").arg(escapeText(listenText), escapeText(error));
        streams.err.flush();
        return ExitCritical;
    }
    if (!loopback)
        streams.err << QStringLiteral("staplescope-cli serve: warning: listening on %1, which other hosts can reach; "
                                      "the exporter has no authentication (firewall it, or put it behind a proxy)\n")
                           .arg(listenText);
    if (settings.allowTargets.isEmpty())
        streams.err << "staplescope-cli serve: no --allow-target pattern: every /probe is refused (403)\n";
    streams.err << QStringLiteral("staplescope-cli serve: listening on %1 (%2 path(s) for /metrics, %3 allow-target pattern(s))\n")
                       .arg(urlOf(exporter.serverAddress(), exporter.serverPort()))
                       .arg(settings.paths.size())
                       .arg(settings.allowTargets.size());
    streams.err.flush();

    QEventLoop loop;
    QSocketNotifier notifier(stopSignals.readFd(), QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &loop, &QEventLoop::quit);
    loop.exec();
    exporter.stop();
    streams.err << "staplescope-cli serve: stopped\n";
    streams.err.flush();
    return ExitOk;
}

} // namespace staplescope::cli
