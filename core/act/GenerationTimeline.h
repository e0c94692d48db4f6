#pragma once
// The timeline of a deploy destination's generations (DeployPlan.h), for the window's
// generations view: per generation its certificate's window and its staple's window, judged at
// `at`, so the widget that draws it (ui/TimelineWidget) decides nothing.

#include "DeployPlan.h"
#include "Timeline.h"

#include <QDateTime>
#include <QList>

namespace staplescope {

// Lanes in the order given (listGenerations: newest first): the generation's certificate
// (LaneKind::Leaf, labelled "current · NAME" for the current one) followed by its staple
// (LaneKind::Staple; none when the generation has no ocsp.der). objectId is the generation's name.
// A certificate is Expired after notAfter and NotYetValid before notBefore; a staple is Revoked
// when it says so, Mismatched when it answers for another serial, Expired after nextUpdate,
// Invalid when its status is not "good"; a generation that cannot be read is one Invalid lane.
Timeline buildGenerationsTimeline(const QList<GenerationInfo>& generations, const QDateTime& at);

} // namespace staplescope
