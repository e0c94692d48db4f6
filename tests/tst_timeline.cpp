// buildTimeline: the lanes the desktop window draws. Core decides every state and marker (the
// widget only paints), so the lanes are checked here against the pinned clock: which lanes, in
// which order, their windows, markers, states and the reasons a staple is drawn detached.

#include "FleetTimeline.h"
#include "Inspection.h"
#include "OnlineCheck.h"
#include "TestPki.h"
#include "TestResponder.h"
#include "Timeline.h"

#include <QTest>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(staplescope::LaneState)

namespace {

QString serialOf(const IssuedCert& cert)
{
    return Certificate::fromDer(cert.certDer(), {}).serialHex();
}

const TimelineLane* laneOf(const Timeline& t, LaneKind kind, int nth = 0)
{
    for (const TimelineLane& lane : t.lanes)
        if (lane.kind == kind && nth-- == 0)
            return &lane;
    return nullptr;
}

QString describe(const Timeline& t)
{
    QStringList lines;
    for (const TimelineLane& l : t.lanes)
        lines << QStringLiteral("%1 [%2 → %3] marker %4 state %5%6")
                     .arg(l.label, l.start.toString(Qt::ISODate), l.end.toString(Qt::ISODate),
                          l.marker.toString(Qt::ISODate), l.stateText,
                          l.detached ? QStringLiteral(" detached: ") + l.detachedReason : QString());
    return lines.join(QLatin1Char('\n'));
}

} // namespace

class TestTimeline : public QObject {
    Q_OBJECT

private slots:
    void init();

    void healthyBundle();
    void renewalIncident();
    void leafState_data();
    void leafState();
    void stapleState_data();
    void stapleState();
    void refreshMarker_data();
    void refreshMarker();
    void stapleWithoutNextUpdateIsOpenEnded();
    void revokedStaple();
    void unsuccessfulStaple();
    void emptyBundleHasNoLanes();
    void unreadableValidityDrawsNoWindow_data();
    void unreadableValidityDrawsNoWindow();
    void replacedStaplesBesideTheNewOne();
    void crlLaneShowsItsWindow();
    void onlineResponseBesideTheStaple();
    void renewalWindowLane();
    void fleetLanesOrderedByNextEvent();
    void bundleWindowsAtTheEdges();
    void locationsBelowTheCommonParent();
    void fleetPutsSupersededLast();

private:
    // Five sites in one folder, each with its own name so none supersedes another:
    //  soon-staple  leaf −10…+80 d, staple −1…+6 d (refresh point +2.5 d)
    //  soon-expiry  leaf −85…+5 d, no staple
    //  expired      leaf −93…−3 d, no staple
    //  old-staple   leaf −10…+80 d, staple −8…−1 d (refresh point −4.5 d, expired)
    //  quiet        leaf −10…+80 d, no staple (expiry warning starts at +50 d)
    std::shared_ptr<InspectionSession> fleet()
    {
        auto site = [this](const QString& name, int fromDays, int toDays, const std::optional<std::pair<double, double>>& staple) {
            const IssuedCert leaf = m_pki->issueLeaf([&](CertSpec& spec) {
                spec.commonName = name + QStringLiteral(".example.test");
                spec.dnsNames = {spec.commonName};
                spec.notBefore = daysFrom(fixedNow(), fromDays);
                spec.notAfter = daysFrom(fixedNow(), toDays);
            });
            m_dir->write(QStringLiteral("fleet/%1/cert.pem").arg(name), leaf.certPem() + m_pki->intermediate.certPem());
            if (staple) {
                OcspSpec spec = m_pki->goodStapleSpec();
                spec.thisUpdate = daysFrom(fixedNow(), staple->first);
                spec.nextUpdate = daysFrom(fixedNow(), staple->second);
                m_dir->write(QStringLiteral("fleet/%1/ocsp.der").arg(name), m_pki->staple(spec, &leaf));
            }
        };
        site(QStringLiteral("soon-staple"), -10, 80, std::pair{-1.0, 6.0});
        site(QStringLiteral("soon-expiry"), -85, 5, std::nullopt);
        site(QStringLiteral("expired"), -93, -3, std::nullopt);
        site(QStringLiteral("old-staple"), -10, 80, std::pair{-8.0, -1.0});
        site(QStringLiteral("quiet"), -10, 80, std::nullopt);
        return load({m_dir->path(QStringLiteral("fleet"))});
    }

    // The standard site (leaf, chain, key, `staple`) in one folder, loaded once.
    std::shared_ptr<InspectionSession> site(const QByteArray& staple, const IssuedCert* leaf = nullptr)
    {
        const IssuedCert& l = leaf ? *leaf : m_pki->leaf;
        m_dir->write(QStringLiteral("site/cert.pem"), l.certPem());
        m_dir->write(QStringLiteral("site/chain.pem"), m_pki->intermediate.certPem());
        m_dir->write(QStringLiteral("site/privkey.pem"), m_pki->keyPem(l));
        if (!staple.isEmpty())
            m_dir->write(QStringLiteral("site/ocsp.der"), staple);
        return load({m_dir->path(QStringLiteral("site"))});
    }
    std::shared_ptr<InspectionSession> load(const QStringList& paths)
    {
        InspectRequest request;
        request.files.paths = paths;
        request.useSystemTrust = false;
        request.caFiles = {m_dir->write(QStringLiteral("trust/root.pem"), m_pki->root.certPem())};
        return InspectionSession::load(request);
    }
    static Timeline timelineAt(const InspectionSession& session, const QDateTime& at, double fraction = 0.5)
    {
        AnalysisOptions options;
        options.at = at;
        options.stapleRefreshFraction = fraction;
        const InspectionReport report = session.evaluate(options);
        if (report.bundles.isEmpty())
            return {};
        // The current bundle (superseded ones sort last).
        return report.bundles.first().timeline;
    }

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestFolder> m_dir;
};

void TestTimeline::init()
{
    m_pki = std::make_unique<TestPki>();
    m_dir = std::make_unique<TestFolder>();
}

void TestTimeline::healthyBundle()
{
    const auto session = site(m_pki->goodStaple());
    const Timeline t = timelineAt(*session, fixedNow());
    QCOMPARE(t.at, fixedNow());
    // Leaf, its staple, the chain, the anchor from the trust store: in that order.
    QVERIFY2(t.lanes.size() == 4, qPrintable(describe(t)));
    QCOMPARE(t.lanes[0].kind, LaneKind::Leaf);
    QCOMPARE(t.lanes[1].kind, LaneKind::Staple);
    QCOMPARE(t.lanes[2].kind, LaneKind::Intermediate);
    QCOMPARE(t.lanes[3].kind, LaneKind::Root);
    for (const TimelineLane& lane : t.lanes) {
        QCOMPARE(lane.state, LaneState::Ok);
        QCOMPARE(lane.stateText, QStringLiteral("ok"));
        QVERIFY(!lane.detached);
        QVERIFY(lane.detachedReason.isEmpty());
    }

    const TimelineLane& leaf = t.lanes[0];
    QCOMPARE(leaf.label, QStringLiteral("Leaf www.example.test"));
    QCOMPARE(leaf.objectId, Certificate::fromDer(m_pki->leaf.certDer(), {}).id());
    QCOMPARE(leaf.start, daysFrom(fixedNow(), -10));
    QCOMPARE(leaf.end, daysFrom(fixedNow(), 80));
    QCOMPARE(leaf.marker, daysFrom(fixedNow(), 50)); // 30 days before the end of a 90-day certificate
    QCOMPARE(leaf.markerLabel, QStringLiteral("expiry warning"));
    QVERIFY(leaf.detail.contains(serialOf(m_pki->leaf)));

    const TimelineLane& staple = t.lanes[1];
    QCOMPARE(staple.label, QStringLiteral("Staple (good)"));
    QVERIFY(staple.objectId.startsWith(QStringLiteral("staple:")));
    QCOMPARE(staple.start, daysFrom(fixedNow(), -1));
    QCOMPARE(staple.end, daysFrom(fixedNow(), 6));
    QCOMPARE(staple.marker, daysFrom(fixedNow(), 2.5)); // halfway through its 7 days
    QCOMPARE(staple.markerLabel, QStringLiteral("refresh due"));
    QVERIFY(staple.detail.contains(serialOf(m_pki->leaf)));
    QVERIFY(staple.detail.contains(QStringLiteral("SHA1")) ||
            staple.detail.contains(QStringLiteral("SHA-1")) ||
            staple.detail.contains(QStringLiteral("sha1")));

    QCOMPARE(t.lanes[2].label, QStringLiteral("Intermediate Staplescope Test Intermediate"));
    QCOMPARE(t.lanes[2].start, daysFrom(fixedNow(), -2 * 365));
    QCOMPARE(t.lanes[3].label, QStringLiteral("Root Staplescope Test Root (trust store)"));
    QCOMPARE(t.lanes[3].end, daysFrom(fixedNow(), 10 * 365));
}

void TestTimeline::renewalIncident()
{
    // Renewed two days ago; the staple on disk is still the previous certificate's.
    const IssuedCert previous = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -88);
        s.notAfter = daysFrom(fixedNow(), 2);
    });
    const IssuedCert current = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -2);
        s.notAfter = daysFrom(fixedNow(), 88);
    });
    m_dir->write(QStringLiteral("site/old/cert.pem"), previous.certPem());
    const auto session = site(m_pki->staple(m_pki->goodStapleSpec(), &previous), &current);
    const Timeline t = timelineAt(*session, fixedNow());
    const QString text = describe(t);

    const TimelineLane* leaf = laneOf(t, LaneKind::Leaf);
    const TimelineLane* staple = laneOf(t, LaneKind::Staple);
    const TimelineLane* old = laneOf(t, LaneKind::PreviousCertificate);
    QVERIFY2(leaf && staple && old, qPrintable(text));
    QCOMPARE(leaf->objectId, Certificate::fromDer(current.certDer(), {}).id());
    // The leaf itself is fine: the problem is drawn on the staple's lane, not the certificate's.
    QCOMPARE(leaf->state, LaneState::Ok);
    QCOMPARE(staple->state, LaneState::Mismatched);
    QCOMPARE(staple->stateText, QStringLiteral("mismatched"));
    QVERIFY(staple->detached);
    QCOMPARE(staple->detachedReason,
             QStringLiteral("for serial %1 (previous certificate)").arg(serialOf(previous)));
    QVERIFY(staple->detail.contains(serialOf(previous)));

    QCOMPARE(old->objectId, Certificate::fromDer(previous.certDer(), {}).id());
    QCOMPARE(old->label, QStringLiteral("Previous www.example.test"));
    QCOMPARE(old->start, daysFrom(fixedNow(), -88));
    QCOMPARE(old->end, daysFrom(fixedNow(), 2));
    QCOMPARE(old->stateText, QStringLiteral("superseded"));
    QVERIFY(old->marker.isNull());
    QVERIFY(old->markerLabel.isEmpty());
    // The previous certificate is the last lane, below the chain.
    QCOMPARE(t.lanes.last().kind, LaneKind::PreviousCertificate);
}

void TestTimeline::leafState_data()
{
    // The standard leaf: now − 10 days … now + 80 days; warning from now + 50 days.
    QTest::addColumn<QDateTime>("at");
    QTest::addColumn<LaneState>("state");
    QTest::newRow("one second before notBefore")
        << daysFrom(fixedNow(), -10).addSecs(-1) << LaneState::NotYetValid;
    QTest::newRow("at notBefore") << daysFrom(fixedNow(), -10) << LaneState::Ok;
    QTest::newRow("last second before the warning") << daysFrom(fixedNow(), 50).addSecs(-1) << LaneState::Ok;
    QTest::newRow("warning starts") << daysFrom(fixedNow(), 50) << LaneState::Due;
    QTest::newRow("at notAfter") << daysFrom(fixedNow(), 80) << LaneState::Due;
    QTest::newRow("one second after notAfter") << daysFrom(fixedNow(), 80).addSecs(1) << LaneState::Expired;
}

void TestTimeline::leafState()
{
    QFETCH(QDateTime, at);
    QFETCH(LaneState, state);
    const auto session = site({});
    const Timeline t = timelineAt(*session, at);
    const TimelineLane* leaf = laneOf(t, LaneKind::Leaf);
    QVERIFY2(leaf, qPrintable(describe(t)));
    QCOMPARE(leaf->state, state);
    QCOMPARE(leaf->stateText, laneStateName(state));
    QCOMPARE(t.at, at);
    // The chain is years away from its own edges.
    QCOMPARE(laneOf(t, LaneKind::Intermediate)->state, LaneState::Ok);
}

void TestTimeline::stapleState_data()
{
    // The good staple: now − 1 day … now + 6 days, refresh point now + 2.5 days.
    QTest::addColumn<QDateTime>("at");
    QTest::addColumn<LaneState>("state");
    // A thisUpdate up to 5 minutes ahead is clock skew clients accept (OCSP_check_validity's leeway).
    QTest::newRow("more than 5 minutes before thisUpdate") << daysFrom(fixedNow(), -1).addSecs(-301) << LaneState::NotYetValid;
    QTest::newRow("5 minutes before thisUpdate is clock skew") << daysFrom(fixedNow(), -1).addSecs(-300) << LaneState::Ok;
    QTest::newRow("fresh") << fixedNow() << LaneState::Ok;
    QTest::newRow("last second before the refresh point")
        << daysFrom(fixedNow(), 2.5).addSecs(-1) << LaneState::Ok;
    QTest::newRow("at the refresh point") << daysFrom(fixedNow(), 2.5) << LaneState::Due;
    QTest::newRow("at nextUpdate") << daysFrom(fixedNow(), 6) << LaneState::Due;
    QTest::newRow("one second after nextUpdate") << daysFrom(fixedNow(), 6).addSecs(1) << LaneState::Expired;
}

void TestTimeline::stapleState()
{
    QFETCH(QDateTime, at);
    QFETCH(LaneState, state);
    const auto session = site(m_pki->goodStaple());
    const Timeline t = timelineAt(*session, at);
    const TimelineLane* staple = laneOf(t, LaneKind::Staple);
    QVERIFY2(staple, qPrintable(describe(t)));
    QCOMPARE(staple->state, state);
    QVERIFY(!staple->detached);
    // A staple's troubles never colour the certificate's lane.
    QCOMPARE(laneOf(t, LaneKind::Leaf)->state, LaneState::Ok);
}

void TestTimeline::refreshMarker_data()
{
    QTest::addColumn<double>("fraction");
    QTest::addColumn<double>("validityHours");
    QTest::addColumn<double>("markerHoursAfterThisUpdate");
    QTest::newRow("half of 7 days (default)") << 0.5 << 168.0 << 84.0;
    QTest::newRow("three quarters of 7 days") << 0.75 << 168.0 << 126.0;
    QTest::newRow("half of 12 hours") << 0.5 << 12.0 << 6.0;
    QTest::newRow("80% of 4 days") << 0.8 << 96.0 << 76.8;
    QTest::newRow("fraction 0: due at once") << 0.0 << 168.0 << 0.0;
}

void TestTimeline::refreshMarker()
{
    // marker = thisUpdate + fraction · (nextUpdate − thisUpdate)
    QFETCH(double, fraction);
    QFETCH(double, validityHours);
    QFETCH(double, markerHoursAfterThisUpdate);
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.thisUpdate = hoursFrom(fixedNow(), -1);
    spec.nextUpdate = hoursFrom(spec.thisUpdate, validityHours);
    const auto session = site(m_pki->staple(spec));
    const Timeline t = timelineAt(*session, fixedNow(), fraction);
    const TimelineLane* staple = laneOf(t, LaneKind::Staple);
    QVERIFY2(staple, qPrintable(describe(t)));
    QCOMPARE(staple->start, spec.thisUpdate);
    QCOMPARE(staple->end, *spec.nextUpdate);
    QCOMPARE(staple->marker, spec.thisUpdate.addSecs(qint64(markerHoursAfterThisUpdate * 3600)));
    // The lane says "due" exactly when the marker has passed (one hour after thisUpdate here).
    QCOMPARE(staple->state, staple->marker <= fixedNow() ? LaneState::Due : LaneState::Ok);
}

void TestTimeline::stapleWithoutNextUpdateIsOpenEnded()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.nextUpdate.reset();
    const auto session = site(m_pki->staple(spec));
    const Timeline t = timelineAt(*session, fixedNow());
    const TimelineLane* staple = laneOf(t, LaneKind::Staple);
    QVERIFY2(staple, qPrintable(describe(t)));
    QCOMPARE(staple->start, spec.thisUpdate);
    QVERIFY(staple->end.isNull());
    QVERIFY(staple->marker.isNull());
    QCOMPARE(staple->state, LaneState::Ok); // STAPLE_NO_NEXT_UPDATE is a warning, not a state of the window
}

void TestTimeline::revokedStaple()
{
    OcspSpec spec = m_pki->goodStapleSpec();
    spec.certStatus = V_OCSP_CERTSTATUS_REVOKED;
    spec.revocationTime = daysFrom(fixedNow(), -2);
    spec.revocationReason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    const auto session = site(m_pki->staple(spec));
    const Timeline t = timelineAt(*session, fixedNow());
    const TimelineLane* staple = laneOf(t, LaneKind::Staple);
    QVERIFY2(staple, qPrintable(describe(t)));
    QCOMPARE(staple->label, QStringLiteral("Staple (revoked)"));
    QCOMPARE(staple->state, LaneState::Revoked);
    QCOMPARE(staple->stateText, QStringLiteral("revoked"));
    QVERIFY(!staple->detached);
    // Revocation is about the certificate: its lane says so too.
    QCOMPARE(laneOf(t, LaneKind::Leaf)->state, LaneState::Revoked);
    QCOMPARE(laneOf(t, LaneKind::Intermediate)->state, LaneState::Ok);
}

void TestTimeline::unsuccessfulStaple()
{
    OcspSpec spec;
    spec.responseStatus = OCSP_RESPONSE_STATUS_TRYLATER;
    const auto session = site(m_pki->staple(spec));
    const Timeline t = timelineAt(*session, fixedNow());
    const TimelineLane* staple = laneOf(t, LaneKind::Staple);
    QVERIFY2(staple, qPrintable(describe(t)));
    QCOMPARE(staple->label, QStringLiteral("Staple (tryLater)"));
    QCOMPARE(staple->state, LaneState::Invalid);
    QVERIFY(staple->start.isNull());
    QVERIFY(staple->end.isNull());
    QVERIFY(staple->marker.isNull());
}

void TestTimeline::emptyBundleHasNoLanes()
{
    AnalysisOptions options;
    options.at = fixedNow();
    const Timeline t = buildTimeline(Bundle{}, {}, options);
    QCOMPARE(t.at, fixedNow());
    QVERIFY(t.lanes.isEmpty());
}

void TestTimeline::unreadableValidityDrawsNoWindow_data()
{
    QTest::addColumn<bool>("notAfter");
    QTest::newRow("notBefore month 13") << false;
    QTest::newRow("notAfter month 13") << true;
}

// A validity time that decodes but is not a time (INPUT_MALFORMED): the leaf lane has no window
// and no marker (an end alone would be drawn as "valid since forever", a start alone as open-ended).
void TestTimeline::unreadableValidityDrawsNoWindow()
{
    QFETCH(bool, notAfter);
    const CertSpec spec = m_pki->leafSpec();
    const QDateTime field = notAfter ? spec.notAfter : spec.notBefore;
    const QByteArray time = field.toUTC().toString(QStringLiteral("yyMMddHHmmss")).toLatin1() + 'Z';
    QByteArray der = m_pki->leaf.certDer();
    const qsizetype at = der.indexOf(QByteArray("\x17\x0d", 2) + time);
    QVERIFY(at > 0);
    der.replace(at + 4, 2, "13"); // month 13; the signature no longer verifies, which is beside the point here
    m_dir->write(QStringLiteral("site/cert.pem"), PkiFactory::toPem(der, "CERTIFICATE"));
    m_dir->write(QStringLiteral("site/chain.pem"), m_pki->intermediate.certPem());
    const Timeline t = timelineAt(*load({m_dir->path(QStringLiteral("site"))}), fixedNow());
    const TimelineLane* leaf = laneOf(t, LaneKind::Leaf);
    QVERIFY2(leaf, qPrintable(describe(t)));
    QVERIFY2(leaf->start.isNull() && leaf->end.isNull() && leaf->marker.isNull(), qPrintable(describe(t)));
    QCOMPARE(leaf->state, LaneState::Invalid);
    QVERIFY2(leaf->detail.contains(QLatin1String("not a valid time")), qPrintable(leaf->detail));
    // The chain's lanes are untouched.
    const TimelineLane* intermediate = laneOf(t, LaneKind::Intermediate);
    QVERIFY2(intermediate && intermediate->start.isValid() && intermediate->end.isValid(), qPrintable(describe(t)));
}

void TestTimeline::replacedStaplesBesideTheNewOne()
{
    const auto session = site(m_pki->goodStaple());
    Timeline t = timelineAt(*session, fixedNow());
    QCOMPARE(t.lanes.size(), 4); // leaf, staple, intermediate, root

    // Two refreshes replaced staples (the older first here, to check the order), then a stale one
    // was moved aside; more than kReplacedStapleLanes keep only the most recent.
    QList<ReplacedStaple> replaced;
    for (int i = 0; i < kReplacedStapleLanes + 2; ++i) {
        ReplacedStaple old;
        old.file = QStringLiteral("/etc/exim4/ocsp.der");
        old.serial = serialOf(m_pki->leaf);
        old.status = QStringLiteral("good");
        old.thisUpdate = daysFrom(fixedNow(), -20 + i);
        old.nextUpdate = daysFrom(fixedNow(), -13 + i);
        old.replacedAt = hoursFrom(fixedNow(), -10 + i);
        old.movedAside = i == kReplacedStapleLanes + 1;
        replaced << old;
    }
    addReplacedStaples(t, replaced);
    QVERIFY2(t.lanes.size() == 4 + kReplacedStapleLanes, qPrintable(describe(t)));
    QCOMPARE(t.lanes[0].kind, LaneKind::Leaf);
    QCOMPARE(t.lanes[1].kind, LaneKind::Staple);
    for (int i = 0; i < kReplacedStapleLanes; ++i) {
        const TimelineLane& lane = t.lanes[2 + i];
        const ReplacedStaple& expected = replaced[kReplacedStapleLanes + 1 - i]; // most recent first
        QCOMPARE(lane.kind, LaneKind::ReplacedStaple);
        QCOMPARE(lane.start, expected.thisUpdate);
        QCOMPARE(lane.end, expected.nextUpdate);
        QCOMPARE(lane.label, QStringLiteral("Replaced staple (good)"));
        QVERIFY(lane.detail.contains(expected.serial));
        QVERIFY(lane.detail.contains(QStringLiteral("/etc/exim4/ocsp.der")));
        QVERIFY(lane.stateText.startsWith(expected.movedAside ? QStringLiteral("moved aside") : QStringLiteral("replaced")));
        QVERIFY(lane.objectId.startsWith(QStringLiteral("replaced-staple:")));
    }
    QCOMPARE(t.lanes[2 + kReplacedStapleLanes].kind, LaneKind::Intermediate);
    // Ids stay distinct, so highlighting one lane never lights up another.
    QSet<QString> ids;
    for (const TimelineLane& lane : std::as_const(t.lanes))
        ids << lane.objectId;
    QCOMPARE(ids.size(), t.lanes.size());

    // Nothing replaced: nothing added.
    Timeline unchanged = timelineAt(*session, fixedNow());
    addReplacedStaples(unchanged, {});
    QCOMPARE(unchanged.lanes.size(), 4);
}

// A CRL of the leaf's issuer gets a lane with its window; listing the leaf, or past its
// nextUpdate, colours it.
// ACME Renewal Information: the CA's suggested window is its own lane right under the leaf; a
// window moved before half the lifetime is RENEWAL_WINDOW_EARLY, and the lane says so.
void TestTimeline::renewalWindowLane()
{
    const auto session = site(m_pki->goodStaple());
    QVERIFY(!laneOf(timelineAt(*session, fixedNow()), LaneKind::RenewalWindow));

    Bundle bundle = session->bundles().first();
    bundle.renewalWindow.start = daysFrom(fixedNow(), 50);
    bundle.renewalWindow.end = daysFrom(fixedNow(), 52);
    bundle.renewalWindow.source = QStringLiteral("https://ca.example.test/renewal-info/abc.AQI");
    const auto usual = InspectionSession::fromBundles({bundle}, {}, session->sharedTrust());
    Timeline t = timelineAt(*usual, fixedNow());
    QCOMPARE(t.lanes[1].kind, LaneKind::RenewalWindow);
    const TimelineLane& lane = t.lanes[1];
    QCOMPARE(lane.label, QStringLiteral("Suggested renewal window"));
    QCOMPARE(lane.start, daysFrom(fixedNow(), 50));
    QCOMPARE(lane.end, daysFrom(fixedNow(), 52));
    QCOMPARE(lane.state, LaneState::Ok);
    QCOMPARE(lane.stateText, QStringLiteral("upcoming"));
    QVERIFY2(lane.detail.contains(QLatin1String("renewal-info/abc.AQI")), qPrintable(lane.detail));
    QCOMPARE(t.lanes[0].state, LaneState::Ok);
    // Inside the window: due.
    QCOMPARE(laneOf(timelineAt(*usual, daysFrom(fixedNow(), 51)), LaneKind::RenewalWindow)->state, LaneState::Due);

    // Moved to now, with an explanation: early, and the leaf's lane is due too.
    bundle.renewalWindow.start = daysFrom(fixedNow(), -1);
    bundle.renewalWindow.end = daysFrom(fixedNow(), 1);
    bundle.renewalWindow.explanationUrl = QStringLiteral("https://ca.example.test/incidents/42");
    const auto early = InspectionSession::fromBundles({bundle}, {}, session->sharedTrust());
    AnalysisOptions options;
    options.at = fixedNow();
    const InspectionReport report = early->evaluate(options);
    QVERIFY(codesOf(report).contains(QStringLiteral("RENEWAL_WINDOW_EARLY")));
    t = report.bundles.first().timeline;
    const TimelineLane* moved = laneOf(t, LaneKind::RenewalWindow);
    QVERIFY(moved);
    QCOMPARE(moved->state, LaneState::Due);
    QVERIFY2(moved->stateText.startsWith(QLatin1String("early")), qPrintable(moved->stateText));
    QVERIFY2(moved->detail.contains(QLatin1String("explanation: https://ca.example.test/incidents/42")), qPrintable(moved->detail));
    QCOMPARE(laneOf(t, LaneKind::Leaf)->state, LaneState::Due);
}

void TestTimeline::crlLaneShowsItsWindow()
{
    const auto laneOf = [](const Timeline& t) {
        for (const TimelineLane& lane : t.lanes)
            if (lane.kind == LaneKind::Crl)
                return lane;
        return TimelineLane{};
    };
    site(m_pki->goodStaple());
    m_dir->write(QStringLiteral("site/int.crl"),
                 m_pki->factory().crlDer(m_pki->intermediate, daysFrom(fixedNow(), -1), daysFrom(fixedNow(), 6), {}));
    const auto session = load({m_dir->path(QStringLiteral("site"))});
    TimelineLane crl = laneOf(timelineAt(*session, fixedNow()));
    QCOMPARE(crl.kind, LaneKind::Crl);
    QCOMPARE(crl.start, daysFrom(fixedNow(), -1));
    QCOMPARE(crl.end, daysFrom(fixedNow(), 6));
    QCOMPARE(crl.state, LaneState::Ok);
    QCOMPARE(laneOf(timelineAt(*session, daysFrom(fixedNow(), 7))).state, LaneState::Expired);

    m_dir->write(QStringLiteral("site/int.crl"), m_pki->factory().crlDer(m_pki->intermediate, daysFrom(fixedNow(), -1),
                                                                         daysFrom(fixedNow(), 6), {&m_pki->leaf}));
    crl = laneOf(timelineAt(*load({m_dir->path(QStringLiteral("site"))}), fixedNow()));
    QCOMPARE(crl.state, LaneState::Revoked);
    QVERIFY2(crl.label.contains(QLatin1String("this certificate")), qPrintable(crl.label));
}

// inspect --online: the responder's answer is drawn beside the staple on disk, with its own window.
void TestTimeline::onlineResponseBesideTheStaple()
{
    for (const char* name : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"})
        qunsetenv(name);
    TestResponder responder(*m_pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    const auto session = site(m_pki->staple(m_pki->goodStapleSpec(), &leaf), &leaf);
    AnalysisOptions options;
    options.at = fixedNow();
    OnlineLookup lookup;
    const InspectionReport report = inspectOnline(*session, options, lookup);
    QCOMPARE(report.bundles.size(), 1);
    const Timeline& t = report.bundles.first().timeline;
    qsizetype staple = -1, answer = -1;
    for (qsizetype i = 0; i < t.lanes.size(); ++i) {
        if (t.lanes[i].kind == LaneKind::Staple)
            staple = i;
        if (t.lanes[i].kind == LaneKind::OnlineResponse)
            answer = i;
    }
    QVERIFY(staple >= 0);
    QVERIFY2(answer >= 0, "no lane for the responder's answer");
    QCOMPARE(t.lanes[answer].start, hoursFrom(fixedNow(), -1));
    QCOMPARE(t.lanes[answer].state, LaneState::Ok);
    QVERIFY2(t.lanes[answer].label.contains(QLatin1String("good")), qPrintable(t.lanes[answer].label));
    QVERIFY2(t.lanes[answer].detail.contains(responder.ocspUrl()), qPrintable(t.lanes[answer].detail));
    QCOMPARE(responder.ocspRequestCount(), 1);
}


void TestTimeline::fleetLanesOrderedByNextEvent()
{
    const auto session = fleet();
    AnalysisOptions options;
    options.at = fixedNow();
    const InspectionReport report = session->evaluate(options);
    QCOMPARE(report.bundles.size(), 5);
    const FleetTimeline t = buildFleetTimeline(report);
    QCOMPARE(t.at, fixedNow());
    QStringList order, events;
    for (const FleetLane& lane : t.lanes) {
        order << lane.label;
        events << describeFleetEvent(lane, t.at);
    }
    // Broken now first (the certificate expired 3 days ago: critical; the staple expired a day ago,
    // which says more than its refresh point 4.5 days ago), then what comes next: a refresh point
    // in 2.5 days, an expiry in 5, a warning in 50.
    QCOMPARE(order, (QStringList{QStringLiteral("expired.example.test"), QStringLiteral("old-staple.example.test"),
                                 QStringLiteral("soon-staple.example.test"), QStringLiteral("soon-expiry.example.test"),
                                 QStringLiteral("quiet.example.test")}));
    QCOMPARE(t.lanes[0].event, FleetEvent::CertificateExpiry);
    QVERIFY(t.lanes[0].overdue);
    QCOMPARE(t.lanes[0].eventAt, daysFrom(fixedNow(), -3));
    QCOMPARE(t.lanes[0].certificate.state, LaneState::Expired);
    QCOMPARE(t.lanes[0].worst, Severity::Critical);
    QCOMPARE(t.lanes[1].event, FleetEvent::StapleExpiry);
    QVERIFY(t.lanes[1].overdue);
    QCOMPARE(t.lanes[1].eventAt, daysFrom(fixedNow(), -1));
    QCOMPARE(t.lanes[1].worst, Severity::Error);
    QCOMPARE(t.lanes[2].event, FleetEvent::StapleRefresh);
    QVERIFY(!t.lanes[2].overdue);
    QCOMPARE(t.lanes[2].eventAt, daysFrom(fixedNow(), 2.5));
    QCOMPARE(t.lanes[3].event, FleetEvent::CertificateExpiry);
    QCOMPARE(t.lanes[3].eventAt, daysFrom(fixedNow(), 5));
    QCOMPARE(t.lanes[4].event, FleetEvent::ExpiryWarning);
    QCOMPARE(t.lanes[4].eventAt, daysFrom(fixedNow(), 50));
    QCOMPARE(events[0], QStringLiteral("certificate expired 3 days ago"));
    QCOMPARE(events[1], QStringLiteral("staple expired 1 day ago"));
    QCOMPARE(events[2], QStringLiteral("staple refresh due in 2 days 12 hours"));
    QCOMPARE(events[4], QStringLiteral("expiry warning starts in 50 days"));

    // Each lane carries the bundle's own leaf and staple windows and its id.
    for (const FleetLane& lane : t.lanes) {
        const auto bundle = std::find_if(report.bundles.cbegin(), report.bundles.cend(),
                                         [&](const BundleReport& b) { return b.bundle.id == lane.bundleId; });
        QVERIFY(bundle != report.bundles.cend());
        QCOMPARE(lane.certificate.kind, LaneKind::Leaf);
        QCOMPARE(lane.certificate.end, bundle->bundle.leaf.notAfter());
        QCOMPARE(lane.worst, bundle->worst);
        QVERIFY(lane.origin.endsWith(QStringLiteral("/cert.pem")));
    }
    QVERIFY(t.lanes[1].staple && t.lanes[2].staple);
    QVERIFY(!t.lanes[0].staple && !t.lanes[3].staple && !t.lanes[4].staple);
    QCOMPARE(t.lanes[2].staple->end, daysFrom(fixedNow(), 6));

    // Ten days later the order follows the moment: the 5-day certificate has expired too.
    options.at = daysFrom(fixedNow(), 10);
    const FleetTimeline later = buildFleetTimeline(session->evaluate(options));
    // Ten days later: both certificates expired (critical, longest first), both staples expired
    // (errors), and the quiet one's warning is next.
    QCOMPARE(later.lanes[0].label, QStringLiteral("expired.example.test"));
    QCOMPARE(later.lanes[1].label, QStringLiteral("soon-expiry.example.test"));
    QCOMPARE(later.lanes[2].label, QStringLiteral("old-staple.example.test"));
    QCOMPARE(later.lanes[3].label, QStringLiteral("soon-staple.example.test"));
    QCOMPARE(later.lanes[3].event, FleetEvent::StapleExpiry);
    QVERIFY(later.lanes[3].overdue);
    QCOMPARE(later.lanes[4].event, FleetEvent::ExpiryWarning);

    QCOMPARE(buildFleetTimeline(InspectionReport{}).lanes.size(), 0);
}

void TestTimeline::bundleWindowsAtTheEdges()
{
    const auto session = fleet();
    AnalysisOptions options;
    options.at = fixedNow();
    const InspectionReport report = session->evaluate(options);
    QHash<QString, BundleWindows> byName;
    for (const BundleReport& b : report.bundles)
        byName.insert(b.bundle.leaf.commonName(), bundleWindows(b, report.at));
    const BundleWindows soonStaple = byName.value(QStringLiteral("soon-staple.example.test"));
    QCOMPARE(soonStaple.expiresInSeconds, std::optional<qint64>(80 * 86400));
    QCOMPARE(soonStaple.staple, StapleWindowState::Valid);
    QCOMPARE(soonStaple.stapleSecondsLeft, std::optional<qint64>(6 * 86400));
    const BundleWindows expired = byName.value(QStringLiteral("expired.example.test"));
    QCOMPARE(expired.expiresInSeconds, std::optional<qint64>(-3 * 86400));
    QCOMPARE(expired.staple, StapleWindowState::None);
    QVERIFY(!expired.stapleSecondsLeft);
    const BundleWindows oldStaple = byName.value(QStringLiteral("old-staple.example.test"));
    QCOMPARE(oldStaple.staple, StapleWindowState::Expired);
    QCOMPARE(oldStaple.stapleSecondsLeft, std::optional<qint64>(-86400));

    // The last second before nextUpdate is still valid; at nextUpdate it is not.
    for (const BundleReport& b : report.bundles) {
        if (b.bundle.leaf.commonName() != QStringLiteral("soon-staple.example.test"))
            continue;
        const QDateTime nextUpdate = daysFrom(fixedNow(), 6);
        QCOMPARE(bundleWindows(b, nextUpdate.addSecs(-1)).staple, StapleWindowState::Valid);
        QCOMPARE(bundleWindows(b, nextUpdate.addSecs(-1)).stapleSecondsLeft, std::optional<qint64>(1));
        QCOMPARE(bundleWindows(b, nextUpdate).staple, StapleWindowState::Expired);
        QCOMPARE(bundleWindows(b, daysFrom(fixedNow(), -2)).staple, StapleWindowState::NotYetValid);
        QCOMPARE(bundleWindows(b, daysFrom(fixedNow(), 80)).expiresInSeconds, std::optional<qint64>(0));
    }
}

void TestTimeline::locationsBelowTheCommonParent()
{
    QCOMPARE(commonParentFolder({QStringLiteral("/srv/tls/a/cert.pem"), QStringLiteral("/srv/tls/b/cert.pem")}),
             QStringLiteral("/srv/tls"));
    // Whole components: tls-a and tls-b share /srv, not "/srv/tls-".
    QCOMPARE(commonParentFolder({QStringLiteral("/srv/tls-a/cert.pem"), QStringLiteral("/srv/tls-b/cert.pem")}),
             QStringLiteral("/srv"));
    QCOMPARE(commonParentFolder({QStringLiteral("/srv/tls/a/cert.pem")}), QStringLiteral("/srv/tls/a"));
    QCOMPARE(commonParentFolder({QStringLiteral("/a/x.pem"), QStringLiteral("/b/y.pem")}), QString());
    QCOMPARE(commonParentFolder({}), QString());
    QCOMPARE(locationBelow(QStringLiteral("/srv/tls/a/cert.pem"), QStringLiteral("/srv/tls")), QStringLiteral("a/cert.pem"));
    QCOMPARE(locationBelow(QStringLiteral("/srv/tlsx/cert.pem"), QStringLiteral("/srv/tls")), QStringLiteral("/srv/tlsx/cert.pem"));
    QCOMPARE(locationBelow(QStringLiteral("mail.example.org:443 [127.0.0.1]"), QStringLiteral("/srv/tls")),
             QStringLiteral("mail.example.org:443 [127.0.0.1]"));
}

void TestTimeline::fleetPutsSupersededLast()
{
    // Renewed two days ago; the previous certificate (expiring in 2 days) is still in the folder.
    const IssuedCert previous = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -88);
        s.notAfter = daysFrom(fixedNow(), 2);
    });
    const IssuedCert current = m_pki->issueLeaf([](CertSpec& s) {
        s.notBefore = daysFrom(fixedNow(), -2);
        s.notAfter = daysFrom(fixedNow(), 88);
    });
    const IssuedCert other = m_pki->issueLeaf([](CertSpec& s) {
        s.commonName = QStringLiteral("zulu.example.test");
        s.dnsNames = {s.commonName};
        s.notBefore = daysFrom(fixedNow(), -40);
        s.notAfter = daysFrom(fixedNow(), 50);
    });
    m_dir->write(QStringLiteral("site/old/cert.pem"), previous.certPem());
    m_dir->write(QStringLiteral("site/zulu/cert.pem"), other.certPem());
    const auto session = site({}, &current);
    AnalysisOptions options;
    options.at = fixedNow();
    const FleetTimeline t = buildFleetTimeline(session->evaluate(options));
    QCOMPARE(t.lanes.size(), 3);
    // zulu's expiry warning starts in 20 days, the current www's in 58; the superseded one's expiry
    // in 2 days would come first, but it no longer matters.
    QCOMPARE(t.lanes[0].label, QStringLiteral("zulu.example.test"));
    QCOMPARE(t.lanes[1].certificate.end, daysFrom(fixedNow(), 88));
    QVERIFY(!t.lanes[1].superseded);
    QVERIFY(t.lanes[2].superseded);
    QCOMPARE(t.lanes[2].certificate.end, daysFrom(fixedNow(), 2));
    QCOMPARE(t.lanes[2].event, FleetEvent::CertificateExpiry);
    QCOMPARE(describeFleetEvent(t.lanes[2], t.at), QStringLiteral("superseded; certificate expires in 2 days"));
}

QTEST_GUILESS_MAIN(TestTimeline)
#include "tst_timeline.moc"
