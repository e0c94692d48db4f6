// Writes the seed corpus to OUTDIR/<target>/ (one folder per fuzz target), for the fuzz runs.

#include "FuzzTargets.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>

#include <cstdio>

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 2) {
        std::fprintf(stderr, "usage: fuzz_seed_corpus OUTDIR\n");
        return 3;
    }
    const QDir out(args[1]);
    int written = 0;
    for (const staplescope::fuzz::Seed& seed : staplescope::fuzz::seedCorpus()) {
        if (!out.mkpath(seed.target)) {
            std::fprintf(stderr, "cannot create %s\n", qPrintable(out.filePath(seed.target)));
            return 1;
        }
        QFile f(out.filePath(seed.target + QLatin1Char('/') + seed.name));
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(seed.data) != seed.data.size()) {
            std::fprintf(stderr, "cannot write %s\n", qPrintable(f.fileName()));
            return 1;
        }
        ++written;
    }
    std::printf("%d seeds written to %s\n", written, qPrintable(out.path()));
    return 0;
}
