#include "ExporterConfig.h"

#include "FindingRegistry.h"
#include "TextEscape.h"

#include <QFile>
#include <QHostAddress>

#include <cmath>

namespace staplescope {

AnalysisOptions ExporterConfig::analysisOptions() const
{
    AnalysisOptions options;
    options.expiryWarningSeconds = expiryWarningSeconds;
    options.expiryCriticalSeconds = expiryCriticalSeconds;
    options.stapleWarningSeconds = stapleWarningSeconds;
    options.stapleCriticalSeconds = stapleCriticalSeconds;
    if (stapleRefreshFraction)
        options.stapleRefreshFraction = *stapleRefreshFraction;
    return options;
}

namespace {

std::optional<double> number(const QString& text, double min, double max)
{
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < min || value > max)
        return std::nullopt;
    return value;
}

std::optional<bool> yesNo(const QString& text)
{
    const QString t = text.toLower();
    if (t == QLatin1String("yes") || t == QLatin1String("true") || t == QLatin1String("on") || t == QLatin1String("1"))
        return true;
    if (t == QLatin1String("no") || t == QLatin1String("false") || t == QLatin1String("off") || t == QLatin1String("0"))
        return false;
    return std::nullopt;
}

// `*` any run (also empty), `?` one character; everything else literal. Iterative with one
// backtrack point, so the cost stays length(text) × length(glob) at worst.
bool globMatches(QStringView text, QStringView glob)
{
    qsizetype t = 0, g = 0, starGlob = -1, starText = 0;
    while (t < text.size()) {
        if (g < glob.size() && (glob[g] == QLatin1Char('?') || glob[g] == text[t])) {
            ++t;
            ++g;
        } else if (g < glob.size() && glob[g] == QLatin1Char('*')) {
            starGlob = g++;
            starText = t;
        } else if (starGlob >= 0) {
            g = starGlob + 1;
            t = ++starText;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == QLatin1Char('*'))
        ++g;
    return g == glob.size();
}

// The settings a config file may name, for the "unknown setting" message.
const QStringList kSettingNames = {
    QStringLiteral("listen"),           QStringLiteral("allow-non-loopback"), QStringLiteral("path"),
    QStringLiteral("allow-target"),     QStringLiteral("ca-file"),            QStringLiteral("system-trust"),
    QStringLiteral("ignore"),           QStringLiteral("warn-days"),          QStringLiteral("crit-days"),
    QStringLiteral("staple-warn-hours"), QStringLiteral("staple-crit-hours"), QStringLiteral("refresh-fraction"),
    QStringLiteral("max-concurrent-probes"), QStringLiteral("max-queued-probes"), QStringLiteral("probe-timeout"),
    QStringLiteral("max-connections"),  QStringLiteral("read-timeout"),       QStringLiteral("idle-timeout"),
};

// One setting; an empty string or what is wrong with the value.
QString applySetting(const QString& key, const QString& value, ExporterConfig& config)
{
    const auto seconds = [&](qint64 perUnit, double maxUnits, std::optional<qint64>& target, const char* unit) -> QString {
        const auto n = number(value, 0, maxUnits);
        if (!n)
            return QStringLiteral("%1 '%2' is not a number of %3 (0 to %4)")
                .arg(key, value, QLatin1String(unit), QString::number(maxUnits));
        target = qint64(std::llround(*n * double(perUnit)));
        return {};
    };
    const auto count = [&](int min, int max, int& target) -> QString {
        const auto n = number(value, min, max);
        if (!n || *n != std::floor(*n))
            return QStringLiteral("%1 '%2' is not a whole number from %3 to %4")
                .arg(key, value, QString::number(min), QString::number(max));
        target = int(*n);
        return {};
    };
    const auto milliseconds = [&](double maxSeconds, int& target) -> QString {
        const auto n = number(value, 0.001, maxSeconds);
        if (!n)
            return QStringLiteral("%1 '%2' is not a number of seconds (above 0, at most %3)")
                .arg(key, value, QString::number(maxSeconds));
        target = int(std::lround(*n * 1000));
        return {};
    };

    if (key == QLatin1String("listen")) {
        config.listen = value;
    } else if (key == QLatin1String("allow-non-loopback")) {
        const auto b = yesNo(value);
        if (!b)
            return QStringLiteral("allow-non-loopback '%1' is not yes or no").arg(value);
        config.allowNonLoopback = *b;
    } else if (key == QLatin1String("path")) {
        config.paths << value;
    } else if (key == QLatin1String("allow-target")) {
        if (const QString problem = allowTargetProblem(value); !problem.isEmpty())
            return problem;
        config.allowTargets << value;
    } else if (key == QLatin1String("ca-file")) {
        config.caFiles << value;
    } else if (key == QLatin1String("system-trust")) {
        const auto b = yesNo(value);
        if (!b)
            return QStringLiteral("system-trust '%1' is not yes or no").arg(value);
        config.useSystemTrust = *b;
    } else if (key == QLatin1String("ignore")) {
        if (!findingCodeFromName(value.toUpper()))
            return QStringLiteral("ignore '%1' is not a finding code (docs/findings.md lists them)").arg(value);
        config.ignoreCodes << value.toUpper();
    } else if (key == QLatin1String("warn-days")) {
        return seconds(86400, 3650, config.expiryWarningSeconds, "days");
    } else if (key == QLatin1String("crit-days")) {
        return seconds(86400, 3650, config.expiryCriticalSeconds, "days");
    } else if (key == QLatin1String("staple-warn-hours")) {
        return seconds(3600, 24 * 365, config.stapleWarningSeconds, "hours");
    } else if (key == QLatin1String("staple-crit-hours")) {
        return seconds(3600, 24 * 365, config.stapleCriticalSeconds, "hours");
    } else if (key == QLatin1String("refresh-fraction")) {
        const auto n = number(value, 0, 1);
        if (!n || *n <= 0)
            return QStringLiteral("refresh-fraction '%1' must be above 0 and at most 1").arg(value);
        config.stapleRefreshFraction = *n;
    } else if (key == QLatin1String("max-concurrent-probes")) {
        return count(1, kMaxConcurrentProbesLimit, config.maxConcurrentProbes);
    } else if (key == QLatin1String("max-queued-probes")) {
        return count(0, kMaxQueuedProbesLimit, config.maxQueuedProbes);
    } else if (key == QLatin1String("max-connections")) {
        return count(1, kMaxConnectionsLimit, config.maxConnections);
    } else if (key == QLatin1String("probe-timeout")) {
        return milliseconds(3600, config.probeTimeoutMs);
    } else if (key == QLatin1String("read-timeout")) {
        return milliseconds(3600, config.readTimeoutMs);
    } else if (key == QLatin1String("idle-timeout")) {
        return milliseconds(3600, config.idleTimeoutMs);
    } else {
        return QStringLiteral("unknown setting '%1' (settings: %2)").arg(key, kSettingNames.join(QStringLiteral(", ")));
    }
    return {};
}

} // namespace

QString parseExporterConfig(const QByteArray& text, const QString& fileName, ExporterConfig& config)
{
    const QList<QByteArray> lines = text.split('\n');
    if (lines.size() > kMaxConfigLines)
        return QStringLiteral("%1: more than %2 lines; this is not an exporter configuration")
                   .arg(fileName, QString::number(kMaxConfigLines));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QString where = QStringLiteral("%1:%2").arg(fileName, QString::number(i + 1));
        QByteArray raw = lines[i];
        if (raw.endsWith('\r'))
            raw.chop(1);
        const QString line = QString::fromUtf8(raw).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')) || line.startsWith(QLatin1Char(';')))
            continue;
        // Values are never quoted and never carry a trailing comment: a path may contain `#`.
        const qsizetype equals = line.indexOf(QLatin1Char('='));
        if (equals < 0)
            return QStringLiteral("%1: '%2' is not 'key = value'").arg(where, escapeText(line));
        const QString key = line.left(equals).trimmed().toLower();
        const QString value = line.mid(equals + 1).trimmed();
        if (value.isEmpty())
            return QStringLiteral("%1: '%2' has no value").arg(where, escapeText(key));
        if (const QString problem = applySetting(key, value, config); !problem.isEmpty())
            return QStringLiteral("%1: %2").arg(where, escapeText(problem));
    }
    return {};
}

QString readExporterConfig(const QString& path, ExporterConfig& config)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("%1: cannot read: %2").arg(path, file.errorString());
    // read() rather than readAll(): a device or a FIFO named by mistake stays bounded.
    const QByteArray text = file.read(kMaxConfigBytes + 1);
    if (text.size() > kMaxConfigBytes)
        return QStringLiteral("%1: larger than %2 bytes; this is not an exporter configuration")
            .arg(path, QString::number(kMaxConfigBytes));
    return parseExporterConfig(text, path, config);
}

QString allowTargetProblem(const QString& glob)
{
    const QString what = QStringLiteral("allow-target '%1'").arg(glob);
    if (glob.size() > 300)
        return what + QStringLiteral(" is longer than 300 characters");
    for (const QChar c : glob) {
        const bool ok = (c >= QLatin1Char('a') && c <= QLatin1Char('z')) || (c >= QLatin1Char('A') && c <= QLatin1Char('Z'))
                        || (c >= QLatin1Char('0') && c <= QLatin1Char('9')) || QStringView(u".-_*?:[]").contains(c);
        if (!ok)
            return what + QStringLiteral(" may contain only letters, digits, '.', '-', '_', ':', brackets, '*' and '?'");
    }
    const qsizetype colon = glob.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0 || colon == glob.size() - 1)
        return what + QStringLiteral(" is not HOST:PORT (e.g. 127.0.0.1:*, *.example.org:443, [::1]:443)");
    const QString host = glob.left(colon);
    if (host.contains(QLatin1Char(':')) && !(host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']'))))
        return what + QStringLiteral(" names an IPv6 address without brackets ([2001:db8::1]:443)");
    const QString port = glob.mid(colon + 1);
    if (!port.contains(QLatin1Char('*')) && !port.contains(QLatin1Char('?'))) {
        bool ok = false;
        const uint n = port.toUInt(&ok);
        if (!ok || n == 0 || n > 65535)
            return what + QStringLiteral(": port '%1' is not 1 to 65535, '*' or a pattern").arg(port);
    }
    return {};
}

QString canonicalTarget(const QString& host, quint16 port)
{
    QString h = host.toLower();
    const QHostAddress address(h);
    if (!address.isNull()) {
        h = address.toString(); // one spelling per address: ::1, not 0:0::1
        if (address.protocol() == QAbstractSocket::IPv6Protocol)
            h = QLatin1Char('[') + h + QLatin1Char(']');
    }
    return h + QLatin1Char(':') + QString::number(port);
}

bool targetAllowed(const QString& target, const QStringList& globs)
{
    const QString t = target.toLower();
    for (const QString& glob : globs)
        if (globMatches(t, glob.toLower()))
            return true;
    return false;
}

} // namespace staplescope
