#pragma once

#include "Inspection.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace staplescope {

// docs/json-schema.md describes this document.
QJsonObject reportToJson(const InspectionReport& report);
QByteArray reportToJsonBytes(const InspectionReport& report);
// For people on a terminal; `colour` adds ANSI colours.
QString reportToText(const InspectionReport& report, bool colour);
QString reportToMarkdown(const InspectionReport& report);
QString reportToHtml(const InspectionReport& report);
// One finding as a self-contained paragraph (for "copy finding").
QString findingToText(const Finding& finding);

} // namespace staplescope
