#pragma once
// The fuzz entry points: each runs one input through the code the product runs on untrusted
// bytes. The libFuzzer executables call them, and so does tst_fuzzregressions in every build,
// which replays fuzz/regressions/ and the seed corpus without a fuzzer.

#include <QByteArray>
#include <QList>
#include <QString>

namespace staplescope::fuzz {

// Any bytes as a file given to `staplescope-cli inspect FILE`: load (sniff, parse), bundle,
// evaluate, and render the text, Markdown, HTML and JSON reports.
void fuzzLoader(const QByteArray& data);
// Bytes as an OCSP response: every accessor, CertID matching against the fixed FuzzPki leaf and
// issuer, and the analyzer's staple rules with the response stapled explicitly to that leaf.
void fuzzOcsp(const QByteArray& data);
// The first byte picks a STARTTLS protocol, the rest is what the server sends; the real dialogue
// (PlainChannel and the protocol's reply parser) runs against it over a socket pair.
void fuzzStartTls(const QByteArray& data);
// What a TLS server served: a chain of DER certificates and a stapled response, turned into a
// served bundle (bundleFromProbe) and evaluated like `staplescope-cli connect` does.
// Layout: 1 byte certificate count (mod 8), then per certificate a 2-byte big-endian length and
// its bytes; whatever follows is the staple.
void fuzzServed(const QByteArray& data);

// The protocol fuzzStartTls runs for `firstByte`, so the seed generator writes matching inputs.
QString startTlsFuzzProtocol(unsigned char firstByte);
// Encodes a served chain and staple in fuzzServed's layout.
QByteArray servedInput(const QList<QByteArray>& chainDer, const QByteArray& stapleDer);

using Entry = void (*)(const QByteArray&);
struct Target {
    const char* name; // "loader", "ocsp", "starttls", "served": the fuzz_<name> executable
    Entry entry;
};
const QList<Target>& targets();

struct Seed {
    QString target; // Target::name
    QString name;   // file name in the corpus folder
    QByteArray data;
};
// A seed corpus made from the fixed fuzz PKI and the demo: every file format the loader reads,
// OCSP responses of every status and shape, replies of every STARTTLS protocol, served chains.
QList<Seed> seedCorpus();

} // namespace staplescope::fuzz
