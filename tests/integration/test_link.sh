#!/bin/sh
# Each program links exactly its own libraries (Makefile, *_PKGS).  For the
# normal build (build/) and, when present, the sanitizer build
# (build-asan/): the link line make would run names exactly the expected
# libraries and carries -Wl,--no-as-needed, and the binary's DT_NEEDED list
# is exactly the expected one (a sanitizer build: plus its runtimes).
. "$(dirname "$0")/../lib.sh"

# binary: libraries (DT_NEEDED without "lib" and ".so.N"; libc is implied)
expected() {
	case $1 in
	plugind)		echo "jansson crypto" ;;
	pluginctl)		echo "jansson archive crypto" ;;
	plugind-fetcher)	echo "curl jansson crypto seccomp cap-ng" ;;
	plugind-extractor)	echo "archive z jansson crypto seccomp cap-ng" ;;
	plugind-api)		echo "jansson seccomp cap-ng" ;;
	plugind-logger)		echo "seccomp cap-ng" ;;
	plugind-gateway)	echo "jansson seccomp cap-ng" ;;
	esac
}
# What -fsanitize=address,undefined adds to every program.
SAN_RUNTIME="asan ubsan"
main_obj() {
	case $1 in
	plugind)	echo broker/ctl/plugind.o ;;
	pluginctl)	echo pluginctl/main.o ;;
	plugind-*)	d=${1#plugind-}; echo "$d/$d.o" ;;
	esac
}
# The root broker must never load these (docs/SANDBOX.md, "Linking").
BROKER_NEVER="seccomp cap-ng curl archive"

sorted() { printf '%s\n' $* | sort -u | tr '\n' ' '; }
needed() { # needed BIN: DT_NEEDED as short names
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[lib\(.*\)\.so.*\]$/\1/p'
}

command -v readelf >/dev/null || { skip "readelf (binutils) is not installed"; done_testing; exit 0; }

checked=0
for B in "$PD_TOP/build" "$PD_TOP/build-asan"; do
	[ -x "$B/plugind" ] || { [ "$B" = "$PD_TOP/build-asan" ] && \
	    skip "no sanitizer build ($B/plugind): make SANITIZE=1"; continue; }
	san=""; extra=""
	case $B in *-asan) san=1; extra=$SAN_RUNTIME ;; esac
	for p in plugind pluginctl plugind-fetcher plugind-extractor plugind-api plugind-logger plugind-gateway; do
		bin="$B/$p"
		[ -x "$bin" ] || { notok "$bin is built"; continue; }
		checked=$((checked + 1))
		want=$(sorted $(expected $p) c $extra)
		got=$(sorted $(needed "$bin"))
		if [ "$got" = "$want" ]; then
			ok "$p${san:+ (SANITIZE=1)}: NEEDED is exactly $want"
		else
			notok "$p${san:+ (SANITIZE=1)}: NEEDED"
			diag "got:  $got"; diag "want: $want"
		fi
		# The link line as make would run it now: exact -l list and
		# --no-as-needed, so no toolchain default hides an extra one.
		# (a make of our own: not the flags of a `make check` around us)
		line=$(cd "$PD_TOP" && env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS \
		    make -n --no-print-directory B="$B" \
		    ${san:+SANITIZE=1} -W "$B/obj/$(main_obj $p)" "$bin" 2>/dev/null |
		    grep -e "-o $bin ")
		libs=$(sorted $(printf '%s\n' $line | sed -n 's/^-l//p'))
		case $line in
		*-Wl,--no-as-needed*) ok "$p${san:+ (SANITIZE=1)}: links with -Wl,--no-as-needed" ;;
		*) notok "$p: link line lacks -Wl,--no-as-needed"; diag "$line" ;;
		esac
		if [ "$libs" = "$(sorted $(expected $p))" ]; then
			ok "$p${san:+ (SANITIZE=1)}: link line names exactly -l $libs"
		else
			notok "$p${san:+ (SANITIZE=1)}: link line libraries"
			diag "got:  $libs"; diag "want: $(sorted $(expected $p))"
		fi
	done
	bad=""
	for l in $(needed "$B/plugind"); do
		for n in $BROKER_NEVER; do [ "$l" = "$n" ] && bad="$bad $l"; done
	done
	[ -z "$bad" ] && ok "plugind${san:+ (SANITIZE=1)} links none of: $BROKER_NEVER" ||
	    notok "plugind links$bad"
	# Nothing of libseccomp or libcap-ng was pulled in statically either.
	if nm -D --undefined-only "$B/plugind" 2>/dev/null | grep -q -e ' seccomp_' -e ' capng_'; then
		notok "plugind${san:+ (SANITIZE=1)} calls seccomp_* or capng_*"
	else
		ok "plugind${san:+ (SANITIZE=1)} has no seccomp_*/capng_* reference"
	fi
done
[ $checked -gt 0 ] || notok "no build to check (make)"
done_testing
