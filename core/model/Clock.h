#pragma once
// The one source of "now". Core never reads the wall clock itself: front ends hold a Clock (the
// system clock in the programs, a fixed one in tests), turn it into an evaluation time, and pass
// that time on. Rules only ever see the evaluation time (AnalysisOptions::at).

#include <QDateTime>

#include <atomic>
#include <memory>

namespace staplescope {

class Clock {
public:
    virtual ~Clock() = default;
    // The current moment, in UTC. Thread-safe: workers ask too.
    virtual QDateTime now() const = 0;

    // The wall clock, shared: what the programs use and what core falls back to when a caller
    // gave no time at all.
    static std::shared_ptr<const Clock> system();
};

// The wall clock. The only place that reads it.
class SystemClock final : public Clock {
public:
    QDateTime now() const override;
};

// A clock that stands still until told otherwise: tests pin it, and may move it on.
class FixedClock final : public Clock {
public:
    explicit FixedClock(const QDateTime& at) : m_msecs(at.toMSecsSinceEpoch()) {}
    QDateTime now() const override { return QDateTime::fromMSecsSinceEpoch(m_msecs.load(), Qt::UTC); }
    void setNow(const QDateTime& at) { m_msecs.store(at.toMSecsSinceEpoch()); }
    void advance(qint64 seconds) { m_msecs.fetch_add(seconds * 1000); }

private:
    std::atomic<qint64> m_msecs;
};

} // namespace staplescope
