// One libFuzzer executable per target: STAPLESCOPE_FUZZ_TARGET names the FuzzTargets.h entry.

#include "FuzzTargets.h"

#include <QCoreApplication>

#include <cstddef>
#include <cstdint>

namespace {

staplescope::fuzz::Entry entry()
{
    for (const staplescope::fuzz::Target& target : staplescope::fuzz::targets())
        if (qstrcmp(target.name, STAPLESCOPE_FUZZ_TARGET) == 0)
            return target.entry;
    qFatal("unknown fuzz target %s", STAPLESCOPE_FUZZ_TARGET);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv)
{
    // Qt's file and text code wants an application object (codecs, temp paths); it lives for the
    // whole process, as libFuzzer never returns from its loop normally.
    static QCoreApplication app(*argc, *argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const staplescope::fuzz::Entry run = entry();
    // A copy, not fromRawData: like bytes read from a file, it is NUL-terminated, so a report is
    // about our code and not about a buffer no production path can produce.
    run(QByteArray(reinterpret_cast<const char*>(data), qsizetype(size)));
    return 0;
}
