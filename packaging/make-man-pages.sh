#!/bin/sh
# Writes the man pages of both programs from their own --help output (with help2man), so a page
# cannot say anything the program does not: staplescope-cli(1), one staplescope-cli-COMMAND(1)
# for every command `staplescope-cli --help` lists (a new command gets its page without a change
# here), and staplescope(1). Run at build time by packaging/CMakeLists.txt.
#
#   make-man-pages.sh CLI WINDOW VERSION CHANGELOG OUTDIR
#
# Writes OUTDIR/cli/*.1.gz and OUTDIR/gui/staplescope.1.gz (gzip -9n, as Debian ships them). The
# page date is the date of the newest debian/changelog entry, so the same sources give the same
# pages (SOURCE_DATE_EPOCH, which help2man honours).
set -eu

if [ $# -ne 5 ]; then
    echo "usage: $0 CLI WINDOW VERSION CHANGELOG OUTDIR" >&2
    exit 3
fi
cli=$1 window=$2 version=$3 changelog=$4 out=$5
help2man=${HELP2MAN:-help2man}

# The programs print "…" and "→": read and written as UTF-8 whatever the build's locale.
LC_ALL=C.UTF-8
export LC_ALL
# The window's --help must work without a display.
QT_QPA_PLATFORM=offscreen
export QT_QPA_PLATFORM
changelog_date=$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' "$changelog" | head -n 1)
if [ -z "$changelog_date" ]; then
    echo "$0: no dated entry in $changelog" >&2
    exit 1
fi
SOURCE_DATE_EPOCH=$(date -u -d "$changelog_date" +%s)
export SOURCE_DATE_EPOCH

work=$(mktemp -d "${TMPDIR:-/tmp}/staplescope-man.XXXXXX")
trap 'rm -rf "$work"' EXIT

# help2man runs "PROGRAM --help" and "PROGRAM --version" and names the page after the program.
# Each page gets a small wrapper named as the page, which prints the real program's help with its
# first line reading as the user types it (QCommandLineParser puts the build path of the
# executable there, without the command).
# write_wrapper NAME SYNOPSIS_PREFIX COMMAND…
write_wrapper() {
    name=$1 prefix=$2
    shift 2
    wrapper="$work/$name"
    {
        echo '#!/bin/sh'
        echo 'if [ "${1:-}" = --version ]; then'
        echo "    echo '$name $version'"
        echo '    exit 0'
        echo 'fi'
        printf 'exec'
        for word in "$@"; do
            printf " '%s'" "$word"
        done
        echo " --help | sed -E '1s#^Usage: (\\S*/)?staplescope(-cli)?( [a-z][a-z0-9-]*)? #Usage: $prefix #'"
    } > "$wrapper"
    chmod +x "$wrapper"
}

case "$cli$window$work" in
    *"'"*)
        echo "$0: a path contains a single quote: $cli $window $work" >&2
        exit 1
        ;;
esac

commands=$("$cli" --help | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z0-9-]*\)  *\(.*\)$/\1/p')
if [ -z "$commands" ]; then
    echo "$0: '$cli --help' lists no commands" >&2
    exit 1
fi

rm -rf "$out/cli" "$out/gui"
mkdir -p "$out/cli" "$out/gui"

# generate NAME SUMMARY INCLUDE: OUTDIR/NAME.1.gz from $work/NAME.
generate() {
    "$help2man" --locale=C.UTF-8 --no-info --section=1 --manual="User Commands" \
        --source="Staplescope $version" --name="$2" --include="$3" \
        --output="$work/$1.1" "$work/$1"
    gzip -9n -c "$work/$1.1" > "$4/$1.1.gz"
}

see_also="$work/see-also-cli"
{
    echo '[SEE ALSO]'
    for command in $commands; do
        echo ".BR staplescope-cli-$command (1),"
    done
    echo '.BR staplescope (1)'
    echo '.PP'
    echo 'The documentation in /usr/share/doc/staplescope-cli/.'
} > "$see_also"

write_wrapper staplescope-cli staplescope-cli "$cli"
generate staplescope-cli "inspect TLS certificates, chains and OCSP staples" "$see_also" "$out/cli"

for command in $commands; do
    summary=$("$cli" --help | sed -n "/^Commands:\$/,/^\$/s/^  $command  *\\(.*\\)\$/\\1/p" | sed 's/\.$//')
    # NAME lines start lower case ("staplescope-cli-inspect - diagnose …").
    summary=$(printf '%s' "$summary" | sed 's/^\(.\)/\L\1/')
    include="$work/see-also-$command"
    {
        echo '[SEE ALSO]'
        echo '.BR staplescope-cli (1)'
    } > "$include"
    write_wrapper "staplescope-cli-$command" "staplescope-cli $command" "$cli" "$command"
    generate "staplescope-cli-$command" "$summary" "$include" "$out/cli"
done

include="$work/see-also-window"
{
    echo '[SEE ALSO]'
    echo '.BR staplescope-cli (1)'
} > "$include"
write_wrapper staplescope staplescope "$window"
generate staplescope "desktop window to inspect TLS certificates, chains and OCSP staples" "$include" "$out/gui"
