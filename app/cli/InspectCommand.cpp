#include "InspectCommand.h"

#include "Inspection.h"
#include "TextEscape.h"

#include <QFile>
#include <QRegularExpression>

#include <cstdio>
#include <termios.h>
#include <unistd.h>

namespace staplescope::cli {

std::optional<QDateTime> parseEvaluationTime(const QString& input, const QDateTime& now)
{
    const QString text = input.trimmed();
    if (text.compare(QLatin1String("now"), Qt::CaseInsensitive) == 0)
        return now.toUTC();
    static const QRegularExpression relative(QStringLiteral("^([+-])(\\d{1,6})([smhdw])$"));
    if (const auto match = relative.match(text); match.hasMatch()) {
        const QHash<QString, qint64> unitSeconds = {{QStringLiteral("s"), 1},     {QStringLiteral("m"), 60},
                                                     {QStringLiteral("h"), 3600}, {QStringLiteral("d"), 86400},
                                                     {QStringLiteral("w"), 7 * 86400}};
        const qint64 unit = unitSeconds.value(match.captured(3));
        const qint64 amount = match.captured(2).toLongLong() * unit;
        return now.toUTC().addSecs(match.captured(1) == QLatin1String("-") ? -amount : amount);
    }
    // A bare date means its start, in UTC.
    if (const QDate date = QDate::fromString(text, Qt::ISODate); date.isValid() && text.size() == 10)
        return QDateTime(date, QTime(0, 0), Qt::UTC);
    QDateTime time = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!time.isValid())
        time = QDateTime::fromString(text, Qt::ISODate);
    if (!time.isValid())
        return std::nullopt;
    if (time.timeSpec() == Qt::LocalTime) // no offset written: UTC, as every time we print
        time.setTimeSpec(Qt::UTC);
    return time.toUTC();
}

namespace {

// Reads a PKCS#12 password from the terminal without echo.
std::optional<QString> promptPassword(const QString& path, QTextStream& err)
{
    err << QStringLiteral("Password for %1: ").arg(escapeText(path));
    err.flush();
    termios saved = {};
    const bool haveTerminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (haveTerminal) {
        termios silent = saved;
        silent.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
    }
    char buffer[1024];
    const bool read = std::fgets(buffer, sizeof buffer, stdin) != nullptr;
    if (haveTerminal)
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    err << '\n';
    err.flush();
    if (!read)
        return std::nullopt;
    QString password = QString::fromLocal8Bit(buffer);
    while (password.endsWith(QLatin1Char('\n')) || password.endsWith(QLatin1Char('\r')))
        password.chop(1);
    return password;
}

} // namespace

int InspectCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Loads certificates, chains, OCSP staples, keys and CRLs from files and folders (content is "
        "sniffed, names do not matter), puts each certificate together with its chain, staple and key, "
        "and reports everything that is wrong with the cause and the fix.\n\n"
        "Roles as a server configuration names them (Exim tls_certificate/tls_ocsp_file/tls_privatekey, "
        "nginx ssl_certificate/ssl_stapling_file/ssl_certificate_key) can be given with --cert, --chain, "
        "--staple and --key.\n\n"
        "Exit status: 0 healthy or info only, 1 warning, 2 error or critical, 3 bad usage."));
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Files or folders (read recursively)."),
                                 QStringLiteral("[PATH…]"));
    const QCommandLineOption password(QStringLiteral("password"),
                                      QStringLiteral("Password for PKCS#12 files (visible to other users in ps; prefer the prompt or --password-file)."),
                                      QStringLiteral("PASSWORD"));
    const QCommandLineOption passwordFile(QStringLiteral("password-file"),
                                          QStringLiteral("Read the PKCS#12 password from the first line of FILE."), QStringLiteral("FILE"));
    const QCommandLineOption cert(QStringLiteral("cert"), QStringLiteral("Certificate file (leaf first, chain may follow)."), QStringLiteral("FILE"));
    const QCommandLineOption chain(QStringLiteral("chain"), QStringLiteral("Chain file."), QStringLiteral("FILE"));
    const QCommandLineOption staple(QStringLiteral("staple"), QStringLiteral("OCSP staple file (tls_ocsp_file, ssl_stapling_file)."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption key(QStringLiteral("key"), QStringLiteral("Private key file (only whether it matches is reported)."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption warnDays(QStringLiteral("warn-days"),
                                      QStringLiteral("Warn this many days before expiry (default: a third of the lifetime, at most 30)."),
                                      QStringLiteral("DAYS"));
    const QCommandLineOption refreshFraction(QStringLiteral("refresh-fraction"),
                                             QStringLiteral("Staple refresh point as a fraction of thisUpdate→nextUpdate (default 0.5)."),
                                             QStringLiteral("FRACTION"));
    for (const auto& option : {password, passwordFile, cert, chain, staple, key,
                               warnDays, refreshFraction})
        parser.addOption(option);
    EvaluationOptions evaluation(QStringLiteral("Evaluate as of TIME (ISO 8601, UTC unless an offset is given; or now, +7d, -12h)."));
    evaluation.addOptions(parser);
    ReportOutput output;
    output.addOptions(parser);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;

    InspectRequest request;
    request.paths = parser.positionalArguments();
    request.certFiles = parser.values(cert);
    request.chainFiles = parser.values(chain);
    request.stapleFiles = parser.values(staple);
    request.keyFiles = parser.values(key);
    if (request.paths.isEmpty() && request.certFiles.isEmpty() && request.stapleFiles.isEmpty() && request.keyFiles.isEmpty())
        return usageError(streams, QStringLiteral("nothing to inspect: give files or folders, or --cert/--staple/--key"));
    if (request.certFiles.isEmpty() && (!request.chainFiles.isEmpty() || !request.stapleFiles.isEmpty() || !request.keyFiles.isEmpty()))
        return usageError(streams, QStringLiteral("--chain, --staple and --key describe a --cert: give --cert FILE too"));

    if (const QString problem = output.read(parser); !problem.isEmpty())
        return usageError(streams, problem);

    if (const QString problem = evaluation.read(parser, QDateTime::currentDateTimeUtc()); !problem.isEmpty())
        return usageError(streams, problem);
    request.analysis.at = evaluation.at;
    request.caFiles = evaluation.caFiles;
    request.useSystemTrust = evaluation.useSystemTrust;
    if (parser.isSet(warnDays)) {
        bool ok = false;
        const double days = parser.value(warnDays).toDouble(&ok);
        if (!ok || days < 0 || days > 3650)
            return usageError(streams, QStringLiteral("--warn-days '%1' is not a number of days").arg(parser.value(warnDays)));
        request.analysis.expiryWarningSeconds = qint64(days * 86400);
    }
    if (parser.isSet(refreshFraction)) {
        bool ok = false;
        const double fraction = parser.value(refreshFraction).toDouble(&ok);
        if (!ok || fraction <= 0 || fraction > 1)
            return usageError(streams, QStringLiteral("--refresh-fraction must be above 0 and at most 1"));
        request.analysis.stapleRefreshFraction = fraction;
    }

    std::optional<QString> givenPassword;
    if (parser.isSet(password))
        givenPassword = parser.value(password);
    if (parser.isSet(passwordFile)) {
        QFile file(parser.value(passwordFile));
        if (!file.open(QIODevice::ReadOnly))
            return usageError(streams, QStringLiteral("cannot read --password-file %1: %2").arg(file.fileName(), file.errorString()));
        givenPassword = QString::fromUtf8(file.readLine()).remove(QLatin1Char('\n')).remove(QLatin1Char('\r'));
    }
    const bool canPrompt = streams.inIsTerminal;
    QTextStream& err = streams.err;
    request.load.passwordProvider = [givenPassword, canPrompt, &err](const QString& path) -> std::optional<QString> {
        if (givenPassword)
            return givenPassword;
        if (canPrompt)
            return promptPassword(path, err);
        return std::nullopt;
    };

    const InspectionReport report = inspect(request);
    return output.write(report, streams);
}

} // namespace staplescope::cli
