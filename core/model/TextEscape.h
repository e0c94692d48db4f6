#pragma once
// Escaping of outside text (a certificate's names, a server's replies, file names) for the output
// it goes to. The report formatters and the CLI call these once, where text leaves the program;
// findings and models keep the raw text.

#include <QByteArray>
#include <QString>

namespace staplescope {

// For a terminal or a plain-text file: one visible line per value, nothing the terminal acts on.
//  - C0 controls, DEL and C1 controls (U+0080–U+009F)       → \x1b, \x7f, \x9b
//  - line/paragraph separators and bidi embeddings/overrides/isolates
//    (U+2028, U+2029, U+202A–U+202E, U+2066–U+2069)           → \u202e
//  - lone surrogates U+DC80–U+DCFF (a file-name byte that is not UTF-8, kept the way Python's
//    "surrogateescape" keeps it)                               → \xNN, the original byte
//  - any other lone surrogate                                  → \udXXX
//  - the backslash itself                                      → \\ (so every escape reads back one way)
QString escapeText(const QString& text);

// For Markdown inline text (a list item, a table cell): escapeText, then a backslash before every
// character that could start markup inside a line (`*_[]<>|&~` and the backslash; `#`, `-` or
// `1.` only act at the start of a line, and a value never starts one). escapeText already removed
// raw line breaks, so a value never leaves its cell or item.
QString escapeMarkdown(const QString& text);
// A Markdown code span showing escapeText(text) literally: fenced with more backticks than the
// longest run inside, and with `|` escaped, which GitHub tables need even inside code.
QString markdownCode(const QString& text);

// For HTML element content and double-quoted attribute values: escapeText, then &, <, > and " as
// entities (what QString::toHtmlEscaped does).
QString escapeHtml(const QString& text);

// For JSON strings: QJsonDocument escapes controls itself, but writes a lone surrogate as a lone
// \udcff escape, which RFC 8259 leaves undefined (some parsers reject it, others make it U+FFFD).
// U+DC80–U+DCFF become the text \xNN as in escapeText, other lone surrogates \udXXX; everything
// else is unchanged.
QString escapeJsonString(const QString& text);
// For a JSON document as QJsonDocument wrote it (UTF-8): DEL, C1 controls, line separators and
// bidi controls become JSON's own \u escapes (\u009b, \u202e). QJsonDocument escapes only what
// JSON requires (C0, quote, backslash); this keeps a report printed to a terminal from driving it.
// The parsed value is unchanged, and these bytes can only occur inside strings.
QByteArray escapeJsonDocumentControls(const QByteArray& json);

} // namespace staplescope
