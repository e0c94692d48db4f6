#include "InspectCommand.h"

#include "Inspection.h"
#include "OnlineCheck.h"
#include "OnlineCliOptions.h"
#include "TextEscape.h"

#include <QFile>
#include <QScopeGuard>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace staplescope::cli {

namespace {

QString fileTypeName(mode_t mode)
{
    if (S_ISDIR(mode))
        return QStringLiteral("a folder");
    if (S_ISFIFO(mode))
        return QStringLiteral("a FIFO (named pipe)");
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return QStringLiteral("a device");
    if (S_ISSOCK(mode))
        return QStringLiteral("a socket");
    return QStringLiteral("of an unknown type");
}

QString systemError(int error) { return QString::fromLocal8Bit(std::strerror(error)); }

// The first line, without CR LF, is the password; the rest is ignored.
QByteArray firstLine(const QByteArray& bytes)
{
    qsizetype end = bytes.indexOf('\n');
    if (end < 0)
        end = bytes.size();
    QByteArray line = bytes.left(end);
    if (line.endsWith('\r'))
        line.chop(1);
    return line;
}

// Reads a PKCS#12 password from the terminal without echo: one line of at most kMaxPasswordBytes.
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
    // One byte more than the bound (and the NUL), so a line that is too long is seen as such
    // instead of being cut silently into a wrong password.
    QByteArray buffer(kMaxPasswordBytes + 2, '\0');
    const bool read = std::fgets(buffer.data(), int(buffer.size()), stdin) != nullptr;
    bool tooLong = false;
    if (read) {
        buffer.truncate(qsizetype(std::strlen(buffer.constData())));
        if (!buffer.endsWith('\n') && buffer.size() > kMaxPasswordBytes) {
            tooLong = true;
            // Drop the rest of the line so it doesn't become the answer to the next prompt; a
            // terminal's line is bounded by its own buffer, a pipe's is bounded here.
            for (qsizetype dropped = 0; dropped < 1024 * 1024; ++dropped) {
                const int c = std::fgetc(stdin);
                if (c == EOF || c == '\n')
                    break;
            }
        }
    }
    if (haveTerminal)
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    err << '\n';
    if (tooLong)
        err << QStringLiteral("The password is longer than %1 bytes; it was not used.\n").arg(kMaxPasswordBytes);
    err.flush();
    if (!read || tooLong)
        return std::nullopt;
    return QString::fromLocal8Bit(firstLine(buffer));
}

} // namespace

PasswordFile readPasswordFile(const QString& path)
{
    PasswordFile result;
    const QByteArray name = QFile::encodeName(path);
    // stat before open: opening a FIFO for reading waits for a writer, and opening a device can
    // have effects of its own. The type is checked again on the open descriptor (a swap between
    // the two calls), and O_NONBLOCK keeps that open from waiting in any case.
    struct stat before = {};
    if (::stat(name.constData(), &before) != 0) {
        result.error = QStringLiteral("cannot read --password-file %1: %2").arg(path, systemError(errno));
        return result;
    }
    if (!S_ISREG(before.st_mode)) {
        result.error = QStringLiteral("--password-file %1 is %2, not a regular file").arg(path, fileTypeName(before.st_mode));
        return result;
    }
    const int fd = ::open(name.constData(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        result.error = QStringLiteral("cannot read --password-file %1: %2").arg(path, systemError(errno));
        return result;
    }
    const auto closeFd = qScopeGuard([fd] { ::close(fd); });
    struct stat opened = {};
    if (::fstat(fd, &opened) != 0) {
        result.error = QStringLiteral("cannot read --password-file %1: %2").arg(path, systemError(errno));
        return result;
    }
    if (!S_ISREG(opened.st_mode)) {
        result.error = QStringLiteral("--password-file %1 is %2, not a regular file").arg(path, fileTypeName(opened.st_mode));
        return result;
    }
    const QString tooLarge = QStringLiteral("--password-file %1 is larger than %2 bytes; a password file holds one line")
                                 .arg(path, QString::number(kMaxPasswordBytes));
    if (opened.st_size > kMaxPasswordBytes) {
        result.error = tooLarge;
        return result;
    }
    // The size can lie (a file in /proc says 0, a file may grow): read at most one byte past the
    // bound, which is enough to tell "too large". Each read gets at least one byte or ends the loop.
    QByteArray bytes(kMaxPasswordBytes + 1, '\0');
    qsizetype total = 0;
    while (total < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + total, size_t(bytes.size() - total));
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result.error = QStringLiteral("cannot read --password-file %1: %2").arg(path, systemError(errno));
            return result;
        }
        total += n;
    }
    if (total > kMaxPasswordBytes) {
        result.error = tooLarge;
        return result;
    }
    bytes.truncate(total);
    result.password = QString::fromUtf8(firstLine(bytes));
    return result;
}

int InspectCommand::run(const QStringList& arguments, CommandStreams& streams)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Loads certificates, chains, OCSP staples, keys and CRLs from files and folders (content is "
        "sniffed, names do not matter), puts each certificate together with its chain, staple and key, "
        "and reports everything that is wrong with the cause and the fix.\n\n"
        "Roles as a server configuration names them (Exim tls_certificate/tls_ocsp_file/tls_privatekey, "
        "nginx ssl_certificate/ssl_stapling_file/ssl_certificate_key) can be given with --cert, --chain, "
        "--staple and --key. PATHs given with them are one input set: their CRLs, staples (matched by CertID), keys "
        "and CA certificates serve the --cert certificate too, and other server certificates among them get bundles "
        "of their own.\n\n"
        "Exit status: 0 healthy or info only, 1 warning, 2 error or critical, 3 bad usage."));
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Files or folders (read recursively); - reads one input from stdin."),
                                 QStringLiteral("[PATH…]"));
    const QCommandLineOption password(QStringLiteral("password"),
                                      QStringLiteral("Password for PKCS#12 files (visible to other users in ps; prefer the prompt or --password-file)."),
                                      QStringLiteral("PASSWORD"));
    const QCommandLineOption passwordFile(QStringLiteral("password-file"),
                                          QStringLiteral("Read the PKCS#12 password from the first line of FILE (a regular file of at most %1 bytes).")
                                              .arg(kMaxPasswordBytes),
                                          QStringLiteral("FILE"));
    const QCommandLineOption cert(QStringLiteral("cert"), QStringLiteral("Certificate file (leaf first, chain may follow)."), QStringLiteral("FILE"));
    const QCommandLineOption chain(QStringLiteral("chain"), QStringLiteral("Chain file."), QStringLiteral("FILE"));
    const QCommandLineOption staple(QStringLiteral("staple"), QStringLiteral("OCSP staple file (tls_ocsp_file, ssl_stapling_file)."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption key(QStringLiteral("key"), QStringLiteral("Private key file (only whether it matches is reported)."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption refreshFraction(QStringLiteral("refresh-fraction"),
                                             QStringLiteral("Staple refresh point as a fraction of thisUpdate→nextUpdate (default 0.5)."),
                                             QStringLiteral("FRACTION"));
    const QCommandLineOption onlineOption(
        QStringLiteral("online"),
        QStringLiteral("Also ask the network, installing nothing: each certificate's OCSP responder (or --responder), "
                       "its CRL Distribution Point when it has no responder (signature checked with the issuer), and "
                       "the CA Issuers URL for an issuer missing from the inputs. Honours http_proxy and no_proxy."));
    for (const auto& option : {password, passwordFile, cert, chain, staple, key, refreshFraction, onlineOption})
        parser.addOption(option);
    OnlineCliOptions online;
    online.addOptions(parser);
    EvaluationOptions evaluation(QStringLiteral("Evaluate as of TIME (ISO 8601, UTC unless an offset is given; or now, +7d, -12h)."));
    evaluation.addOptions(parser);
    ThresholdOptions thresholds;
    thresholds.addOptions(parser);
    ReportOutput output;
    output.addOptions(parser);

    int exitCode = ExitOk;
    if (!parse(parser, arguments, streams, &exitCode))
        return exitCode;
    // First, so that every later usage error reaches a Nagios check as its UNKNOWN line.
    if (const QString problem = output.read(parser); !problem.isEmpty())
        return usageError(streams, problem);
    setUsageErrorsForNagios(output.isNagios());

    InspectRequest request;
    RoleFiles& files = request.files;
    files.paths = parser.positionalArguments();
    files.certFiles = parser.values(cert);
    files.chainFiles = parser.values(chain);
    files.stapleFiles = parser.values(staple);
    files.keyFiles = parser.values(key);
    if (files.paths.isEmpty() && files.certFiles.isEmpty() && files.stapleFiles.isEmpty() && files.keyFiles.isEmpty())
        return usageError(streams, QStringLiteral("nothing to inspect: give files or folders, or --cert/--staple/--key"));
    if (files.certFiles.isEmpty() && (!files.chainFiles.isEmpty() || !files.stapleFiles.isEmpty() || !files.keyFiles.isEmpty()))
        return usageError(streams, QStringLiteral("--chain, --staple and --key describe a --cert: give --cert FILE too"));

    // `-` (one of the PATHs or role files): one input read from stdin, once, and named (stdin).
    {
        int dashes = 0;
        for (QStringList* list : {&files.paths, &files.certFiles, &files.chainFiles, &files.stapleFiles, &files.keyFiles})
            for (QString& path : *list)
                if (path == QLatin1String("-")) {
                    path = kStdinName;
                    ++dashes;
                }
        if (dashes > 1)
            return usageError(streams, QStringLiteral("'-' (stdin) can be given once: stdin holds one input"));
        if (dashes == 1) {
            const StdinInput input = readStdinInput(streams.inIsTerminal, request.load.maxFileSize);
            if (!input.data)
                return usageError(streams, input.error);
            request.load.givenData.insert(kStdinName, *input.data);
        }
    }

    if (const QString problem = evaluation.read(parser, clock()); !problem.isEmpty())
        return usageError(streams, problem);
    if (const QString problem = online.read(parser); !problem.isEmpty())
        return usageError(streams, problem);
    const bool askNetwork = parser.isSet(onlineOption);
    for (const QString& name : {QStringLiteral("timeout"), QStringLiteral("concurrency"), QStringLiteral("responder"),
                                QStringLiteral("certid-hash"), QStringLiteral("ocsp-method"), QStringLiteral("nonce")})
        if (!askNetwork && parser.isSet(name))
            return usageError(streams, QStringLiteral("--%1 is for --online; give --online too").arg(name));
    request.analysis.at = evaluation.at;
    request.caFiles = evaluation.caFiles;
    request.useSystemTrust = evaluation.useSystemTrust;
    if (const QString problem = thresholds.read(parser, request.analysis); !problem.isEmpty())
        return usageError(streams, problem);
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
        const PasswordFile file = readPasswordFile(parser.value(passwordFile));
        if (!file.password)
            return usageError(streams, file.error);
        givenPassword = file.password;
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

    // What a Nagios status line names: the inputs as given.
    QStringList inputs = files.paths;
    inputs << files.certFiles << files.chainFiles << files.stapleFiles << files.keyFiles;
    inputs.removeDuplicates();
    const QString target = inputs.join(QLatin1Char(' '));

    InspectionReport report;
    if (askNetwork) {
        OnlineLookup lookup(online.options);
        report = inspectOnline(*InspectionSession::load(request), request.analysis, lookup, clock());
    } else {
        report = inspect(request);
    }
    silenceFindings(report, thresholds.ignoredCodes);
    return output.write(report, streams, request.analysis, target);
}

} // namespace staplescope::cli
