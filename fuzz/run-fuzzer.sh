#!/bin/sh
# Runs one libFuzzer executable for a bounded time, as the fuzz_<target>_run tests do:
#   run-fuzzer.sh FUZZER ARTIFACT_PREFIX CORPUS_DIR [SEED_DIR...]
# libFuzzer adds what it finds to CORPUS_DIR and reads the seed folders that exist. It stops after
# STAPLESCOPE_FUZZ_SECONDS (default 60); a crash, sanitizer report, leak, slow input (over 10 s) or
# OOM (over 2 GiB) makes it exit non-zero and saves the input as ARTIFACT_PREFIX-crash-…
set -eu
fuzzer=$1 prefix=$2
shift 2
seconds=${STAPLESCOPE_FUZZ_SECONDS:-60}
dirs=""
for dir in "$@"; do
    # A regressions folder exists only once it holds an input (git keeps no empty folders).
    if [ -d "$dir" ]; then dirs="$dirs $dir"; fi
done
# `timeout` is the last resort should libFuzzer itself hang outside an input.
# shellcheck disable=SC2086 # the folders are paths from CMake, without spaces
exec timeout --kill-after=30 $((seconds + 300)) "$fuzzer" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$prefix-" $dirs
