#pragma once
// Colours, patterns and icons for severities and lane states. Colour always comes with a second
// channel (text, glyph or hatching) so nothing is told by colour alone.

#include "Finding.h"
#include "Timeline.h"

#include <QBrush>
#include <QColor>
#include <QIcon>
#include <QPalette>

namespace staplescope::ui {

// True when the palette's window colour is dark (dark desktop theme).
bool isDarkPalette(const QPalette& palette);

QColor severityColor(Severity severity, const QPalette& palette);
// Colour of a "healthy" badge (a bundle whose worst finding is info).
QColor healthyColor(const QPalette& palette);
// "CRITICAL", "ERROR", "WARNING", "INFO" (translated)
QString severityLabel(Severity severity);
// A round badge with a glyph (✕ ! i ✓): readable without colour, crisp at any device pixel ratio.
QIcon severityIcon(Severity severity, bool healthy = false);

QColor laneStateColor(LaneState state, const QPalette& palette);
// The CA's suggested renewal window (LaneKind::RenewalWindow): a colour no state uses, so the
// suggestion never reads as a validity window; its state still shows as hatching and words.
QColor renewalWindowColor(const QPalette& palette);
// Hatching that tells the state without colour: solid for ok, diagonals for due, cross for
// expired, dots for not yet valid, …
Qt::BrushStyle laneStatePattern(LaneState state);
// The state in words, translated (core's stateText is English; the UI shows its own words).
QString laneStateLabel(LaneState state);
QString laneKindLabel(LaneKind kind);

// Outside text (a certificate's name, a file name, a server's reply) as a tooltip. Tooltips
// render anything that looks like HTML as rich text, so the text is HTML-escaped and wrapped to
// be rich text that shows it literally, line breaks kept. Empty stays empty (no tooltip).
QString plainToolTip(const QString& text);

// Contrasting text colour (black or white) for text drawn on `background`.
QColor textOn(const QColor& background);

} // namespace staplescope::ui
