#pragma once
// Tests pin time: every certificate and staple is made relative to this fixed UTC moment, so a
// case means the same on any day it runs.

#include <QDateTime>

namespace staplescope::test {

inline QDateTime fixedNow()
{
    return QDateTime(QDate(2026, 6, 15), QTime(12, 0, 0), Qt::UTC);
}

inline QDateTime daysFrom(const QDateTime& t, double days) { return t.addSecs(qint64(days * 86400)); }
inline QDateTime hoursFrom(const QDateTime& t, double hours) { return t.addSecs(qint64(hours * 3600)); }

} // namespace staplescope::test
