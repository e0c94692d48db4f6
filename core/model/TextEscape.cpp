#include "TextEscape.h"

#include <algorithm>

namespace staplescope {

namespace {

bool isBidiOrSeparator(char16_t c)
{
    return c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

void appendHex(QString& out, const char* prefix, unsigned value, int digits)
{
    out += QLatin1String(prefix);
    out += QString::number(value, 16).rightJustified(digits, QLatin1Char('0'));
}

// Appends `c` at `i` of `text` (advancing `i` past a valid surrogate pair), or its escape when it
// is a lone surrogate. Shared by the text and the JSON escaper so both show a byte the same way.
bool appendLoneSurrogateEscape(QString& out, const QString& text, qsizetype& i)
{
    const char16_t c = text.at(i).unicode();
    if (QChar::isHighSurrogate(c) && i + 1 < text.size() && QChar::isLowSurrogate(text.at(i + 1).unicode())) {
        out += text.at(i);
        out += text.at(++i);
        return true;
    }
    if (!QChar::isSurrogate(c))
        return false;
    if (c >= 0xDC80 && c <= 0xDCFF)
        appendHex(out, "\\x", c - 0xDC00, 2);
    else
        appendHex(out, "\\u", c, 4);
    return true;
}

} // namespace

QString escapeText(const QString& text)
{
    QString out;
    out.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char16_t c = text.at(i).unicode();
        if (c == u'\\')
            out += QLatin1String("\\\\");
        else if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            appendHex(out, "\\x", c, 2);
        else if (isBidiOrSeparator(c))
            appendHex(out, "\\u", c, 4);
        else if (!appendLoneSurrogateEscape(out, text, i))
            out += text.at(i);
    }
    return out;
}

QString escapeMarkdown(const QString& text)
{
    const QString escaped = escapeText(text);
    QString out;
    out.reserve(escaped.size());
    for (const QChar c : escaped) {
        if (QStringView(u"\\`*_[]<>|&~").contains(c))
            out += QLatin1Char('\\');
        out += c;
    }
    return out;
}

QString markdownCode(const QString& text)
{
    QString inner = escapeText(text);
    inner.replace(QLatin1Char('|'), QLatin1String("\\|"));
    qsizetype longestRun = 0, run = 0;
    for (const QChar c : inner) {
        run = c == QLatin1Char('`') ? run + 1 : 0;
        longestRun = std::max(longestRun, run);
    }
    const QString fence(longestRun + 1, QLatin1Char('`'));
    // CommonMark strips one space on each side, so a value starting or ending with a backtick
    // still shows exactly.
    const bool pad = inner.startsWith(QLatin1Char('`')) || inner.endsWith(QLatin1Char('`'));
    const QString space = pad ? QStringLiteral(" ") : QString();
    return fence + space + inner + space + fence;
}

QString escapeHtml(const QString& text)
{
    const QString escaped = escapeText(text);
    QString out;
    out.reserve(escaped.size() + escaped.size() / 8);
    for (const QChar c : escaped) {
        switch (c.unicode()) {
        case u'&': out += QLatin1String("&amp;"); break;
        case u'<': out += QLatin1String("&lt;"); break;
        case u'>': out += QLatin1String("&gt;"); break;
        case u'"': out += QLatin1String("&quot;"); break;
        default: out += c;
        }
    }
    return out;
}

QString escapeJsonString(const QString& text)
{
    qsizetype i = 0;
    while (i < text.size() && !text.at(i).isSurrogate())
        ++i;
    if (i == text.size())
        return text; // the common case: nothing to do, no copy
    QString out = text.left(i);
    for (; i < text.size(); ++i)
        if (!appendLoneSurrogateEscape(out, text, i))
            out += text.at(i);
    return out;
}

QByteArray escapeJsonDocumentControls(const QByteArray& json)
{
    // Every byte rewritten below starts with 0x7F, 0xC2 or 0xE2; without them there is nothing to
    // do, and the document (tens of MiB for a big report) is returned without a copy.
    if (std::none_of(json.cbegin(), json.cend(), [](char c) {
            const auto b = static_cast<unsigned char>(c);
            return b == 0x7F || b == 0xC2 || b == 0xE2;
        }))
        return json;
    QByteArray out;
    out.reserve(json.size());
    const auto escape = [&out](unsigned codePoint) { out += "\\u" + QByteArray::number(codePoint, 16).rightJustified(4, '0'); };
    for (qsizetype i = 0; i < json.size(); ++i) {
        const auto b = static_cast<unsigned char>(json[i]);
        const auto next = [&](qsizetype k) { return i + k < json.size() ? static_cast<unsigned char>(json[i + k]) : 0u; };
        if (b == 0x7F) {
            escape(0x7F);
        } else if (b == 0xC2 && next(1) >= 0x80 && next(1) <= 0x9F) { // U+0080–U+009F
            escape(next(1));
            i += 1;
        } else if (b == 0xE2 && next(1) == 0x80 && next(2) >= 0xA8 && next(2) <= 0xAE) { // U+2028–U+202E
            escape(0x2000 + (next(2) - 0x80));
            i += 2;
        } else if (b == 0xE2 && next(1) == 0x81 && next(2) >= 0xA6 && next(2) <= 0xA9) { // U+2066–U+2069
            escape(0x2040 + (next(2) - 0x80));
            i += 2;
        } else {
            out += char(b);
        }
    }
    return out;
}

} // namespace staplescope
