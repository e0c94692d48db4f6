#include "RefreshPlan.h"

#include "Certificate.h"
#include "FindingRegistry.h"

#include <QJsonArray>
#include <QJsonValue>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace staplescope {

namespace {

constexpr auto kSchema = "staplescope-refresh-plan/1";

struct OutcomeNames {
    RefreshOutcome outcome;
    const char* name;
    const char* key;
};

constexpr OutcomeNames kOutcomes[] = {
    {RefreshOutcome::Install, "installed", "install"},
    {RefreshOutcome::KeepCurrent, "kept current", "keep-current"},
    {RefreshOutcome::NotDue, "not due", "not-due"},
    {RefreshOutcome::Skipped, "skipped", "skipped"},
    {RefreshOutcome::Failed, "failed", "failed"},
    {RefreshOutcome::MoveStaleAside, "stale removed", "move-stale-aside"},
};

// ISO 8601 UTC with a Z; milliseconds only when there are any, so that the round trip is exact and
// whole-second times read as in the report schema.
QJsonValue timeToJson(const QDateTime& time)
{
    if (time.isNull())
        return QJsonValue::Null;
    const QDateTime utc = time.toUTC();
    return utc.toString(utc.time().msec() != 0 ? Qt::ISODateWithMs : Qt::ISODate);
}

// Reads the fields of one JSON object, remembering the first thing that is wrong with a path
// ("bundles[2].newStaple: not base64"), so fromJson can stop once and say exactly what.
class Reader {
public:
    Reader(const QJsonObject& object, QString path, QString* error) : m_object(object), m_path(std::move(path)), m_error(error) {}

    bool failed() const { return !m_error->isEmpty(); }
    void fail(const QString& field, const QString& what)
    {
        if (m_error->isEmpty())
            *m_error = QStringLiteral("%1: %2").arg(where(field), what);
    }
    QString where(const QString& field) const { return m_path.isEmpty() ? field : m_path + QLatin1Char('.') + field; }

    QString string(const QString& field, bool required = true)
    {
        const QJsonValue value = m_object.value(field);
        if (value.isUndefined() && !required)
            return {};
        if (!value.isString()) {
            fail(field, value.isUndefined() ? QStringLiteral("missing") : QStringLiteral("not a string"));
            return {};
        }
        return value.toString();
    }
    bool boolean(const QString& field)
    {
        const QJsonValue value = m_object.value(field);
        if (value.isUndefined())
            return false;
        if (!value.isBool())
            fail(field, QStringLiteral("not true or false"));
        return value.toBool();
    }
    QDateTime time(const QString& field, bool nullable)
    {
        const QJsonValue value = m_object.value(field);
        if (nullable && (value.isNull() || value.isUndefined()))
            return {};
        const QString text = value.toString();
        const QDateTime parsed = QDateTime::fromString(text, Qt::ISODateWithMs);
        if (!value.isString() || !text.endsWith(QLatin1Char('Z')) || !parsed.isValid()) {
            fail(field, QStringLiteral("not an ISO 8601 UTC time ending in Z"));
            return {};
        }
        return parsed.toUTC();
    }
    Severity severity(const QString& field)
    {
        const auto severity = severityFromName(string(field));
        if (!severity && !failed())
            fail(field, QStringLiteral("not a severity (critical, error, warning, info)"));
        return severity.value_or(Severity::Info);
    }
    QByteArray base64(const QString& field)
    {
        const QString text = string(field, false);
        const auto decoded = QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded)
            fail(field, QStringLiteral("not base64"));
        return decoded.decoded;
    }
    QByteArray hex(const QString& field, int bytes)
    {
        const QString text = string(field, false);
        static const QRegularExpression hexDigits(QStringLiteral("^[0-9a-fA-F]*$"));
        if (text.isEmpty())
            return {};
        if (text.size() != 2 * bytes || !hexDigits.match(text).hasMatch()) {
            fail(field, QStringLiteral("not %1 hex digits").arg(2 * bytes));
            return {};
        }
        return QByteArray::fromHex(text.toLatin1());
    }
    QJsonArray array(const QString& field)
    {
        const QJsonValue value = m_object.value(field);
        if (value.isUndefined())
            return {};
        if (!value.isArray())
            fail(field, QStringLiteral("not an array"));
        return value.toArray();
    }
    QJsonObject object(const QString& field, bool nullable)
    {
        const QJsonValue value = m_object.value(field);
        if (nullable && (value.isNull() || value.isUndefined()))
            return {};
        if (!value.isObject())
            fail(field, QStringLiteral("not an object"));
        return value.toObject();
    }
    bool has(const QString& field) const { return m_object.contains(field) && !m_object.value(field).isNull(); }

private:
    QJsonObject m_object;
    QString m_path;
    QString* m_error;
};

QJsonObject remedyToJson(const Remedy& remedy)
{
    return {{QStringLiteral("kind"), remedyKindName(remedy.kind)},
            {QStringLiteral("file"), remedy.file},
            {QStringLiteral("serial"), remedy.serial},
            {QStringLiteral("url"), remedy.url}};
}

QJsonObject findingToJson(const Finding& finding)
{
    return {{QStringLiteral("code"), finding.code},
            {QStringLiteral("severity"), severityName(finding.severity)},
            {QStringLiteral("title"), finding.title},
            {QStringLiteral("subject"), finding.subject},
            {QStringLiteral("message"), finding.message},
            {QStringLiteral("fix"), finding.fix},
            {QStringLiteral("objects"), QJsonArray::fromStringList(finding.objectIds)},
            {QStringLiteral("remedy"), remedyToJson(finding.remedy)}};
}

QJsonArray findingListToJson(const QList<Finding>& findings)
{
    QJsonArray array;
    for (const Finding& finding : findings)
        array.append(findingToJson(finding));
    return array;
}

QList<Finding> findingsFromJson(const QJsonArray& array, const QString& path, QString* error)
{
    QList<Finding> findings;
    for (qsizetype i = 0; i < array.size() && error->isEmpty(); ++i) {
        const QString here = QStringLiteral("%1[%2]").arg(path).arg(i);
        if (!array.at(i).isObject()) {
            *error = here + QStringLiteral(": not an object");
            break;
        }
        Reader read(array.at(i).toObject(), here, error);
        Finding finding;
        finding.code = read.string(QStringLiteral("code"));
        finding.severity = read.severity(QStringLiteral("severity"));
        finding.title = read.string(QStringLiteral("title"));
        finding.subject = read.string(QStringLiteral("subject"), false);
        finding.message = read.string(QStringLiteral("message"), false);
        finding.fix = read.string(QStringLiteral("fix"), false);
        for (const QJsonValue& id : read.array(QStringLiteral("objects"))) {
            if (!id.isString())
                read.fail(QStringLiteral("objects"), QStringLiteral("not a list of strings"));
            finding.objectIds << id.toString();
        }
        if (read.has(QStringLiteral("remedy"))) {
            Reader remedy(read.object(QStringLiteral("remedy"), false), read.where(QStringLiteral("remedy")), error);
            const QString kind = remedy.string(QStringLiteral("kind"));
            bool known = false;
            for (RemedyKind candidate : allRemedyKinds()) {
                if (remedyKindName(candidate) == kind) {
                    finding.remedy.kind = candidate;
                    known = true;
                }
            }
            if (!known)
                remedy.fail(QStringLiteral("kind"), QStringLiteral("'%1' is not a remedy kind").arg(kind));
            finding.remedy.file = remedy.string(QStringLiteral("file"), false);
            finding.remedy.serial = remedy.string(QStringLiteral("serial"), false);
            finding.remedy.url = remedy.string(QStringLiteral("url"), false);
        }
        findings << finding;
    }
    return findings;
}

QJsonValue windowToJson(const StapleWindow& window)
{
    if (window.isNull())
        return QJsonValue::Null;
    return QJsonObject{{QStringLiteral("serial"), window.serial},
                       {QStringLiteral("status"), window.status},
                       {QStringLiteral("thisUpdate"), timeToJson(window.thisUpdate)},
                       {QStringLiteral("nextUpdate"), timeToJson(window.nextUpdate)}};
}

StapleWindow windowFromJson(Reader& parent, const QString& field, QString* error)
{
    StapleWindow window;
    if (!parent.has(field))
        return window;
    Reader read(parent.object(field, true), parent.where(field), error);
    window.serial = read.string(QStringLiteral("serial"), false);
    window.status = read.string(QStringLiteral("status"), false);
    window.thisUpdate = read.time(QStringLiteral("thisUpdate"), true);
    window.nextUpdate = read.time(QStringLiteral("nextUpdate"), true);
    return window;
}

QJsonObject bundleToJson(const BundleRefresh& bundle)
{
    return {{QStringLiteral("bundleId"), bundle.bundleId},
            {QStringLiteral("name"), bundle.name},
            {QStringLiteral("serial"), bundle.serial},
            {QStringLiteral("certificatePath"), bundle.certificatePath},
            {QStringLiteral("outcome"), refreshOutcomeKey(bundle.outcome)},
            {QStringLiteral("outcomeName"), refreshOutcomeName(bundle.outcome)},
            {QStringLiteral("reason"), bundle.reason},
            {QStringLiteral("destination"), bundle.destination},
            {QStringLiteral("destinationSha256"), QString::fromLatin1(bundle.destinationSha256.toHex())},
            {QStringLiteral("newStaple"), QString::fromLatin1(bundle.newStapleDer.toBase64())},
            {QStringLiteral("current"), windowToJson(bundle.current)},
            {QStringLiteral("fetched"), windowToJson(bundle.fetched)},
            {QStringLiteral("responder"), bundle.responder},
            {QStringLiteral("exim"), bundle.exim},
            {QStringLiteral("mustStaple"), bundle.mustStaple},
            {QStringLiteral("severity"), severityName(bundle.severity)},
            {QStringLiteral("findings"), findingListToJson(bundle.findings)}};
}

std::optional<BundleRefresh> bundleFromJson(const QJsonObject& json, const QString& path, QString* error)
{
    Reader read(json, path, error);
    BundleRefresh bundle;
    bundle.bundleId = read.string(QStringLiteral("bundleId"));
    bundle.name = read.string(QStringLiteral("name"), false);
    bundle.serial = read.string(QStringLiteral("serial"), false);
    bundle.certificatePath = read.string(QStringLiteral("certificatePath"), false);
    const QString outcome = read.string(QStringLiteral("outcome"));
    if (const auto parsed = refreshOutcomeFromKey(outcome))
        bundle.outcome = *parsed;
    else if (!read.failed())
        read.fail(QStringLiteral("outcome"),
                  QStringLiteral("'%1' is not an outcome (install, keep-current, not-due, skipped, failed, move-stale-aside)").arg(outcome));
    bundle.reason = read.string(QStringLiteral("reason"), false);
    bundle.destination = read.string(QStringLiteral("destination"), false);
    bundle.destinationSha256 = read.hex(QStringLiteral("destinationSha256"), 32);
    bundle.newStapleDer = read.base64(QStringLiteral("newStaple"));
    bundle.current = windowFromJson(read, QStringLiteral("current"), error);
    bundle.fetched = windowFromJson(read, QStringLiteral("fetched"), error);
    bundle.responder = read.string(QStringLiteral("responder"), false);
    bundle.exim = read.boolean(QStringLiteral("exim"));
    bundle.mustStaple = read.boolean(QStringLiteral("mustStaple"));
    bundle.severity = read.severity(QStringLiteral("severity"));
    bundle.findings = findingsFromJson(read.array(QStringLiteral("findings")), read.where(QStringLiteral("findings")), error);
    if (read.failed())
        return std::nullopt;

    // What the installer needs to act safely, checked here so a bad plan is refused as a whole.
    if (bundle.changesFiles()) {
        if (bundle.destination.isEmpty() || !bundle.destination.startsWith(QLatin1Char('/')))
            read.fail(QStringLiteral("destination"), QStringLiteral("an absolute path is needed to %1").arg(refreshOutcomeKey(bundle.outcome)));
        else if (bundle.destination.endsWith(QLatin1Char('/')))
            read.fail(QStringLiteral("destination"), QStringLiteral("names a folder, not a file"));
    }
    if (bundle.outcome == RefreshOutcome::Install && bundle.newStapleDer.isEmpty())
        read.fail(QStringLiteral("newStaple"), QStringLiteral("empty: an install needs the response to write"));
    if (bundle.outcome != RefreshOutcome::Install && !bundle.newStapleDer.isEmpty())
        read.fail(QStringLiteral("newStaple"), QStringLiteral("given for outcome %1, which writes no staple").arg(refreshOutcomeKey(bundle.outcome)));
    if (bundle.outcome == RefreshOutcome::MoveStaleAside && bundle.destinationSha256.isEmpty())
        read.fail(QStringLiteral("destinationSha256"), QStringLiteral("empty: a stale staple to move aside must exist"));
    if (read.failed())
        return std::nullopt;
    return bundle;
}

} // namespace

QString refreshOutcomeName(RefreshOutcome outcome)
{
    for (const OutcomeNames& names : kOutcomes)
        if (names.outcome == outcome)
            return QString::fromLatin1(names.name);
    return {};
}

QString refreshOutcomeKey(RefreshOutcome outcome)
{
    for (const OutcomeNames& names : kOutcomes)
        if (names.outcome == outcome)
            return QString::fromLatin1(names.key);
    return {};
}

std::optional<RefreshOutcome> refreshOutcomeFromKey(const QString& key)
{
    for (const OutcomeNames& names : kOutcomes)
        if (key == QLatin1String(names.key))
            return names.outcome;
    return std::nullopt;
}

bool RefreshPlan::changesAnything() const
{
    return std::any_of(bundles.begin(), bundles.end(), [](const BundleRefresh& b) { return b.changesFiles(); });
}

Severity RefreshPlan::worst() const
{
    Severity worst = Severity::Info;
    for (const BundleRefresh& bundle : bundles)
        worst = std::max(worst, bundle.severity);
    return worst;
}

int RefreshPlan::exitCode() const
{
    switch (worst()) {
    case Severity::Info:
        return 0;
    case Severity::Warning:
        return 1;
    case Severity::Error:
    case Severity::Critical:
        return 2;
    }
    return 2;
}

QJsonObject RefreshPlan::toJson() const
{
    QJsonArray bundleArray;
    for (const BundleRefresh& bundle : bundles)
        bundleArray.append(bundleToJson(bundle));
    return {{QStringLiteral("schema"), QString::fromLatin1(kSchema)},
            {QStringLiteral("madeAt"), timeToJson(madeAt)},
            {QStringLiteral("worstSeverity"), severityName(worst())},
            {QStringLiteral("exitCode"), exitCode()},
            {QStringLiteral("changesAnything"), changesAnything()},
            {QStringLiteral("reloadCommand"), reloadCommand},
            {QStringLiteral("haproxySocket"), haproxySocket},
            {QStringLiteral("bundles"), bundleArray},
            {QStringLiteral("inputFindings"), findingListToJson(inputFindings)}};
}

std::optional<RefreshPlan> RefreshPlan::fromJson(const QJsonObject& json, QString* error)
{
    QString ignored;
    QString& problem = error ? *error : ignored;
    problem.clear();
    const QString schema = json.value(QStringLiteral("schema")).toString();
    if (schema != QLatin1String(kSchema)) {
        problem = json.contains(QStringLiteral("schema"))
                      ? QStringLiteral("schema: '%1' is not %2 (a plan from another version of Staplescope?)").arg(schema, QLatin1String(kSchema))
                      : QStringLiteral("schema: missing (not a Staplescope refresh plan)");
        return std::nullopt;
    }
    Reader read(json, {}, &problem);
    RefreshPlan plan;
    plan.madeAt = read.time(QStringLiteral("madeAt"), false);
    plan.reloadCommand = read.string(QStringLiteral("reloadCommand"), false);
    plan.haproxySocket = read.string(QStringLiteral("haproxySocket"), false);
    if (!plan.haproxySocket.isEmpty() && !plan.haproxySocket.startsWith(QLatin1Char('/')))
        read.fail(QStringLiteral("haproxySocket"), QStringLiteral("not an absolute path"));
    const QJsonArray bundles = read.array(QStringLiteral("bundles"));
    for (qsizetype i = 0; i < bundles.size() && !read.failed(); ++i) {
        const QString path = QStringLiteral("bundles[%1]").arg(i);
        if (!bundles.at(i).isObject()) {
            problem = path + QStringLiteral(": not an object");
            break;
        }
        if (auto bundle = bundleFromJson(bundles.at(i).toObject(), path, &problem))
            plan.bundles << *bundle;
    }
    if (!read.failed()) {
        // Two steps on one file would race each other's re-check.
        QSet<QString> destinations;
        for (qsizetype i = 0; i < plan.bundles.size() && !read.failed(); ++i) {
            if (!plan.bundles[i].changesFiles())
                continue;
            if (destinations.contains(plan.bundles[i].destination))
                read.fail(QStringLiteral("bundles[%1].destination").arg(i), QStringLiteral("changed by an earlier bundle of the plan too"));
            destinations.insert(plan.bundles[i].destination);
        }
    }
    plan.inputFindings = findingsFromJson(read.array(QStringLiteral("inputFindings")), QStringLiteral("inputFindings"), &problem);
    if (read.failed())
        return std::nullopt;
    return plan;
}

QJsonArray findingsToJson(const QList<Finding>& findings) { return findingListToJson(findings); }
QJsonValue stapleWindowToJson(const StapleWindow& window) { return windowToJson(window); }
QJsonValue utcTimeToJson(const QDateTime& time) { return timeToJson(time); }

QString stapleWindowLine(const StapleWindow& w)
{
    if (w.isNull())
        return QStringLiteral("none");
    return QStringLiteral("%1 for serial %2, %3 to %4")
        .arg(w.status, w.serial, formatTime(w.thisUpdate),
             w.nextUpdate.isValid() ? formatTime(w.nextUpdate) : QStringLiteral("(no nextUpdate)"));
}

} // namespace staplescope
