#pragma once

#include "Inspection.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <functional>

namespace staplescope {

// docs/json-schema.md describes this document.
QJsonObject reportToJson(const InspectionReport& report);
QByteArray reportToJsonBytes(const InspectionReport& report);
// A front end's wording of a remedy (the CLI names its options, the GUI its dialogs). Reports that
// take one add a "Remedy:" line after the fix for every finding whose remedy is not None.
using RemedyWording = std::function<QString(const Remedy&)>;

// The report's counts, saying what is counted: bundles by their worst finding (those with nothing
// worse than information by their verdict: healthy, or superseded when any), then findings by
// severity — "3 bundles by worst finding: 1 critical, 0 error, 0 warning, 1 healthy, 1 superseded ·
// 4 findings: 1 critical, 0 error, 0 warning, 3 info". The same words end the text report, head
// the Markdown and HTML reports and fill the window's status bar.
QString reportCountsLine(const InspectionReport& report);

// For people on a terminal; `colour` adds ANSI colours.
QString reportToText(const InspectionReport& report, bool colour, const RemedyWording& remedy = {});
// Markdown and HTML put the remedy (when given a wording) in the Fix column after the fix.
QString reportToMarkdown(const InspectionReport& report, const RemedyWording& remedy = {});
QString reportToHtml(const InspectionReport& report, const RemedyWording& remedy = {});
// One finding as a self-contained paragraph (for "copy finding").
QString findingToText(const Finding& finding, const RemedyWording& remedy = {});

} // namespace staplescope
