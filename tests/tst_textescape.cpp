// The escapers for outside text (TextEscape.h): what each output gets for control characters,
// bidi overrides, lone surrogates (file-name bytes that are not UTF-8) and markup.

#include "TextEscape.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace staplescope;

namespace {

QString u(std::initializer_list<char16_t> units) { return QString(reinterpret_cast<const QChar*>(units.begin()), qsizetype(units.size())); }

} // namespace

class TestTextEscape : public QObject {
    Q_OBJECT

private slots:
    void escapeText_data();
    void escapeText();
    void escapeTextIsInjective();
    void escapeMarkdown_data();
    void escapeMarkdown();
    void markdownCode_data();
    void markdownCode();
    void escapeHtml_data();
    void escapeHtml();
    void escapeJsonString_data();
    void escapeJsonString();
    void escapedJsonIsValidUtf8();
    void jsonDocumentControlsUseJsonEscapes();
};

void TestTextEscape::escapeText_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain") << QStringLiteral("mail.example.org") << QStringLiteral("mail.example.org");
    QTest::newRow("unicode-kept") << QStringLiteral("bücher.example — ✓") << QStringLiteral("bücher.example — ✓");
    QTest::newRow("astral-kept") << QStringLiteral("a😀b") << QStringLiteral("a😀b");
    QTest::newRow("osc-title") << QStringLiteral("\x1b]0;owned\x07") << QStringLiteral("\\x1b]0;owned\\x07");
    QTest::newRow("cr-lf-tab-nul") << QString::fromLatin1("a\r\nb\tc\0d", 8) << QStringLiteral("a\\x0d\\x0ab\\x09c\\x00d");
    QTest::newRow("del") << QStringLiteral("a\x7f") << QStringLiteral("a\\x7f");
    QTest::newRow("c1-csi") << u({u'a', 0x9b, u'2', u'J', 0x80, 0x9f}) << QStringLiteral("a\\x9b2J\\x80\\x9f");
    QTest::newRow("nbsp-kept") << u({0xa0}) << u({0xa0});
    QTest::newRow("line-separators") << u({u'a', 0x2028, u'b', 0x2029}) << QStringLiteral("a\\u2028b\\u2029");
    QTest::newRow("bidi-override") << u({0x202e, u'g', u'p', u'j', 0x202c}) << QStringLiteral("\\u202egpj\\u202c");
    QTest::newRow("bidi-isolates") << u({0x2066, 0x2067, 0x2068, 0x2069}) << QStringLiteral("\\u2066\\u2067\\u2068\\u2069");
    QTest::newRow("backslash") << QStringLiteral("C:\\x1b") << QStringLiteral("C:\\\\x1b");
    QTest::newRow("surrogateescape-byte") << u({u'f', 0xdcff, 0xdc80}) << QStringLiteral("f\\xff\\x80");
    QTest::newRow("other-lone-surrogates") << u({0xd800, u'x', 0xdc00}) << QStringLiteral("\\ud800x\\udc00");
    QTest::newRow("high-surrogate-at-end") << u({u'x', 0xd83d}) << QStringLiteral("x\\ud83d");
    QTest::newRow("percent-kept") << QStringLiteral("%1 %2") << QStringLiteral("%1 %2");
}

void TestTextEscape::escapeText()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    QCOMPARE(staplescope::escapeText(input), expected);
}

void TestTextEscape::escapeTextIsInjective()
{
    // A raw ESC and the four characters "\x1b" in a name must not print the same.
    QVERIFY(staplescope::escapeText(QStringLiteral("\x1b")) != staplescope::escapeText(QStringLiteral("\\x1b")));
    // A byte kept by surrogateescape and the text "\xff" neither.
    QVERIFY(staplescope::escapeText(u({0xdcff})) != staplescope::escapeText(QStringLiteral("\\xff")));
}

void TestTextEscape::escapeMarkdown_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain") << QStringLiteral("www.example.test") << QStringLiteral("www.example.test");
    QTest::newRow("emphasis") << QStringLiteral("*a* _b_ ~c~") << QStringLiteral("\\*a\\* \\_b\\_ \\~c\\~");
    QTest::newRow("link-image") << QStringLiteral("![x](http://e)") << QStringLiteral("!\\[x\\](http://e)");
    QTest::newRow("html") << QStringLiteral("<img src=x>&amp;") << QStringLiteral("\\<img src=x\\>\\&amp;");
    QTest::newRow("table-cell") << QStringLiteral("a|b") << QStringLiteral("a\\|b");
    QTest::newRow("code") << QStringLiteral("`x`") << QStringLiteral("\\`x\\`");
    // The text escape's backslash is escaped again, so Markdown shows what the terminal shows.
    QTest::newRow("newline") << QStringLiteral("a\nb") << QStringLiteral("a\\\\x0ab");
    QTest::newRow("backslash") << QStringLiteral("a\\b") << QStringLiteral("a\\\\\\\\b");
}

void TestTextEscape::escapeMarkdown()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    const QString escaped = staplescope::escapeMarkdown(input);
    QCOMPARE(escaped, expected);
    QVERIFY(!escaped.contains(QLatin1Char('\n')));
}

void TestTextEscape::markdownCode_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain") << QStringLiteral("fullchain.pem") << QStringLiteral("`fullchain.pem`");
    QTest::newRow("backtick-inside") << QStringLiteral("a`b") << QStringLiteral("``a`b``");
    QTest::newRow("backtick-edge") << QStringLiteral("`a") << QStringLiteral("`` `a ``");
    QTest::newRow("pipe") << QStringLiteral("a|b") << QStringLiteral("`a\\|b`");
    QTest::newRow("control") << QStringLiteral("a\nb %1") << QStringLiteral("`a\\x0ab %1`");
}

void TestTextEscape::markdownCode()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    QCOMPARE(staplescope::markdownCode(input), expected);
}

void TestTextEscape::escapeHtml_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain") << QStringLiteral("www.example.test") << QStringLiteral("www.example.test");
    QTest::newRow("markup") << QStringLiteral("<a href=\"x\">'&'</a>")
                            << QStringLiteral("&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;");
    QTest::newRow("controls-and-bidi") << u({0x1b, u'[', u'2', u'J', u'\n', 0x202e}) << QStringLiteral("\\x1b[2J\\x0a\\u202e");
    QTest::newRow("surrogateescape-byte") << u({0xdcfe}) << QStringLiteral("\\xfe");
}

void TestTextEscape::escapeHtml()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    QCOMPARE(staplescope::escapeHtml(input), expected);
}

void TestTextEscape::escapeJsonString_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected");
    // JSON's own escaping handles controls and backslashes: those stay for QJsonDocument.
    QTest::newRow("controls-kept") << QStringLiteral("a\x1b\n\\b") << QStringLiteral("a\x1b\n\\b");
    QTest::newRow("astral-kept") << QStringLiteral("😀") << QStringLiteral("😀");
    QTest::newRow("surrogateescape-byte") << u({u'f', 0xdcff}) << QStringLiteral("f\\xff");
    QTest::newRow("other-lone-surrogate") << u({0xd800}) << QStringLiteral("\\ud800");
}

void TestTextEscape::escapeJsonString()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    QCOMPARE(staplescope::escapeJsonString(input), expected);
}

void TestTextEscape::escapedJsonIsValidUtf8()
{
    const QString name = u({u'n', 0xdcff, u'.', u'p', u'e', u'm'});
    const QByteArray bytes = QJsonDocument(QJsonObject{{QStringLiteral("path"), staplescope::escapeJsonString(name)}}).toJson();
    QVERIFY(QString::fromUtf8(bytes).toUtf8() == bytes); // round-trips: no invalid sequence
    QJsonParseError error;
    const QJsonDocument parsed = QJsonDocument::fromJson(bytes, &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(parsed.object().value(QLatin1String("path")).toString(), QStringLiteral("n\\xff.pem"));
}

void TestTextEscape::jsonDocumentControlsUseJsonEscapes()
{
    const QString value = u({u'a', 0x7f, 0x80, 0x9b, 0x9f, 0xa0, 0x2028, 0x2029, 0x202a, 0x202e, 0x2066, 0x2069, 0x2027, 0x202f, 0x2065,
                             0x206a, u'é', u'z'});
    const QByteArray written = QJsonDocument(QJsonObject{{QStringLiteral("v"), value}}).toJson(QJsonDocument::Compact);
    const QByteArray escaped = staplescope::escapeJsonDocumentControls(written);
    QCOMPARE(escaped, QByteArray("{\"v\":\"a\\u007f\\u0080\\u009b\\u009f") + QString(QChar(0xa0)).toUtf8() +
                          QByteArray("\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069") +
                          QString(u({0x2027, 0x202f, 0x2065, 0x206a, u'é', u'z'})).toUtf8() + QByteArray("\"}"));
    QJsonParseError error;
    const QJsonDocument parsed = QJsonDocument::fromJson(escaped, &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(parsed.object().value(QLatin1String("v")).toString(), value); // the same value
}

QTEST_GUILESS_MAIN(TestTextEscape)
#include "tst_textescape.moc"
