#include "EvaluationTime.h"

#include <QHash>
#include <QRegularExpression>

namespace staplescope {

std::optional<QDateTime> parseEvaluationTime(const QString& input, const Clock& clock)
{
    const QString text = input.trimmed();
    if (text.compare(QLatin1String("now"), Qt::CaseInsensitive) == 0)
        return clock.now().toUTC();
    static const QRegularExpression relative(QStringLiteral("^([+-])(\\d{1,6})([smhdw])$"));
    if (const auto match = relative.match(text); match.hasMatch()) {
        const QHash<QString, qint64> unitSeconds = {{QStringLiteral("s"), 1},
                                                    {QStringLiteral("m"), 60},
                                                    {QStringLiteral("h"), 3600},
                                                    {QStringLiteral("d"), 86400},
                                                    {QStringLiteral("w"), 7 * 86400}};
        const qint64 unit = unitSeconds.value(match.captured(3));
        const qint64 amount = match.captured(2).toLongLong() * unit;
        return clock.now().toUTC().addSecs(match.captured(1) == QLatin1String("-") ? -amount : amount);
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

} // namespace staplescope
