#!/bin/sh
# The docs and code comments stand alone: no tracked file under docs/,
# README.md, Makefile or the source folders cites the reference notes that
# are not part of this repository (a spec digest, machine notes, the house
# style or security notes, by file name or by section number), and every
# repository path a doc names (dir/file.ext, dir one of the source or docs
# folders) exists.  Both checks are first run on planted files to show
# they catch what they are meant to.
. "$(dirname "$0")/../lib.sh"

SRC="docs README.md Makefile broker common fetcher extractor api logger gateway"
DIRS="docs|broker|common|fetcher|extractor|api|logger|gateway|tests"
# Citations of the out-of-tree notes, by file or section.
BAD='SPEC §|SPEC\.md|SPEC trap|MACHINE\.md|STYLE\.md|STYLE §|SECURITY\.md|SECURITY §'

# files ROOT DIR...: the tracked files (git), or every file when ROOT is
# not a git checkout (a release tarball).
files() {
	_root=$1; shift
	_l=$(cd "$_root" && git ls-files -- "$@" 2>/dev/null)
	if [ -z "$_l" ]; then
		_l=$(cd "$_root" && find "$@" -type f 2>/dev/null | sort)
	fi
	printf '%s\n' "$_l"
}

# citations ROOT FILE...: "file:line: text" for each citation.
citations() {
	_root=$1; shift
	(cd "$_root" && for f in "$@"; do
		[ -f "$f" ] && grep -HnE "$BAD" "$f"
	done)
}

# missing_paths ROOT DOC...: "doc:line path" for each named path that
# does not exist below ROOT.  A path preceded by "/" or "." is not ours
# (../shared/..., build/tests/...).
missing_paths() {
	_root=$1; shift
	(cd "$_root" && for f in "$@"; do
		grep -noE "(^|[^A-Za-z0-9_./-])($DIRS)/[A-Za-z0-9_./-]*\.[A-Za-z0-9]+" "$f" |
		    sed -E 's/^([0-9]+):[^a-z]?/\1 /' | while read -r n p; do
			[ -e "$p" ] || echo "$f:$n $p"
		done
	done)
}

T=$(mktemp -d /tmp/pd_docs.XXXXXX) && track_dir "$T"

# -- the checks catch a planted citation and a planted missing path.
mkdir -p "$T/docs" "$T/broker" "$T/tests"
printf 'The bundle (SPEC §7.1), see `docs/A.md` and `docs/NOPE.md`.\n' >"$T/docs/A.md"
printf '/* root lacks it (MACHINE.md) */\n' >"$T/broker/x.c"
printf 'tests/lib.sh and ../shared/docs/hostile_registry.md\n' >"$T/docs/B.md"
out=$(citations "$T" docs/A.md docs/B.md broker/x.c)
case $out in
*"docs/A.md:1:"*"broker/x.c:1:"*) ok "planted citations are found" ;;
*) notok "planted citations are found"; diag "got: $out" ;;
esac
out=$(missing_paths "$T" docs/A.md docs/B.md)
if [ "$out" = "docs/A.md:1 docs/NOPE.md
docs/B.md:1 tests/lib.sh" ]; then
	ok "planted missing paths are found (and ../shared/... is not ours)"
else
	notok "planted missing paths are found"; diag "got: $out"
fi

# -- the repository.
list=$(files "$PD_TOP" $SRC)
nf=$(printf '%s\n' "$list" | grep -c .)
if [ "$nf" -lt 20 ]; then
	notok "found only $nf files under $SRC"
else
	out=$(citations "$PD_TOP" $list)
	if [ -z "$out" ]; then
		ok "no citation of out-of-tree notes in $nf files ($SRC)"
	else
		notok "citations of notes not in the repository (name the repository file or the public source instead)"
		diag "$out"
	fi
fi

docs=$(printf '%s\n' "$list" | grep -E '^(README\.md|docs/.*\.md)$')
nd=$(printf '%s\n' "$docs" | grep -c .)
out=$(missing_paths "$PD_TOP" $docs)
if [ "$nd" -lt 5 ]; then
	notok "found only $nd docs"
elif [ -z "$out" ]; then
	ok "every repository path named in $nd docs exists"
else
	notok "paths named in docs that do not exist"
	diag "$out"
fi

done_testing
