#!/bin/sh
# pluginctl's help (pluginctl/main.c, the command table): `pluginctl
# help` and `--help` list every verb; `help VERB`, `VERB --help` and
# `VERB -h` print the verb's usage and every option its getopt accepts,
# each with a description, and exit 0; an unknown verb exits 2.
#
# Two sources are compared: the long options in the verb's getopt array
# (struct option lo[] in the source) must all be listed by `help VERB`;
# every option `help VERB` lists must really be accepted (getopt does not
# answer "unrecognized option"/"invalid option").  No broker is started:
# -H names a socket that does not exist, so an accepted option ends in a
# connect or usage error instead.
. "$(dirname "$0")/../lib.sh"

SRC="$PD_TOP/pluginctl"	# every verb is in pluginctl/*.c
T=$(mktemp -d /tmp/pd-ctlhelp.XXXXXX); track_dir "$T"
NOSOCK="unix://$T/none.sock"

# Verbs: the "Commands:" block of --help (first word of each line).
"$CTL" --help >"$T/help" 2>&1; rc=$?
[ "$rc" -eq 0 ] && ok "pluginctl --help exits 0" || notok "pluginctl --help exits $rc"
"$CTL" help >"$T/help2" 2>&1; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/help" "$T/help2" && ok "pluginctl help = pluginctl --help, exit 0" ||
    { notok "pluginctl help (exit $rc) differs from --help"; diag "$(cat "$T/help2")"; }
verbs=$(sed -n '/^Commands:/,/^$/{/^  [a-z]/s/^  \([a-z-]*\).*/\1/p}' "$T/help" | tr '\n' ' ')
n=$(echo $verbs | wc -w)
[ "$n" -ge 15 ] && ok "--help lists $n verbs" || notok "--help lists only $n verbs: $verbs"

# Every cmd_* handler in the table's source appears in the list (a verb
# added to the source but left out of the table would be unreachable).
for v in $(cat "$SRC"/*.c | sed -n 's/^cmd_\([a-z]*\)(int argc.*/\1/p'); do
	echo " $verbs " | grep -q " $v " || notok "cmd_$v has no entry in pluginctl help"
done
ok "every cmd_* handler is listed"

# src_opts VERB: long option names in the verb's getopt array.  Verbs that
# share cmd_simple() have their own arrays there (lo_enable, lo_force).
src_opts() {
	case $1 in
	enable)		awk '/lo_enable\[\] = \{/,/NULL, 0, NULL, 0/' "$SRC"/*.c ;;
	disable|rm)	awk '/lo_force\[\] = \{/,/NULL, 0, NULL, 0/' "$SRC"/*.c ;;
	*)		awk -v f="^cmd_$1\\\\(" '$0 ~ f {p=1} p && /^}/ {p=0} p' "$SRC"/*.c ;;
	esac | sed -n 's/.*{ "\([a-z-]*\)", [a-z_]*_argument.*/\1/p'
}
# help_opts VERB: the long options `help VERB` lists, with the argument
# placeholder if any ("alias string").
help_opts() {
	sed -n '/^Options:/,$s/^  *\(-[a-zA-Z], \)\{0,1\}--\([a-z-]*\)\( [a-z]*\)\{0,1\}  .*/\2\3/p' "$T/v.help" |
	    grep -v '^help$'
}

for v in $verbs; do
	"$CTL" help "$v" >"$T/v.help" 2>&1; rc=$?
	[ "$rc" -eq 0 ] && grep -q "^Usage:  pluginctl $v" "$T/v.help" &&
	    ok "help $v: usage, exit 0" || { notok "help $v (exit $rc)"; diag "$(cat "$T/v.help")"; }
	for form in --help -h; do
		"$CTL" "$v" $form >"$T/v.form" 2>&1; rc=$?
		[ "$rc" -eq 0 ] && cmp -s "$T/v.help" "$T/v.form" && ok "$v $form = help $v" ||
		    { notok "$v $form (exit $rc)"; diag "$(cat "$T/v.form")"; }
	done
	# Each option line has a description after the flags.
	bad=$(sed -n '/^Options:/,$p' "$T/v.help" | awk 'NR > 1 && NF > 0 && $0 !~ /^ +-.*[^ ]  +[^ ]/')
	[ -z "$bad" ] && ok "$v: every option has a description" || notok "$v: option without description: $bad"
	listed=$(help_opts "$v" | cut -d' ' -f1 | tr '\n' ' ')
	missing=""
	for o in $(src_opts "$v"); do
		echo " $listed " | grep -q " $o " || missing="$missing --$o"
	done
	[ -z "$missing" ] && ok "$v: help lists every option of its getopt ($(src_opts "$v" | wc -l))" ||
	    notok "$v: help misses$missing"
	# Every listed option is really accepted.
	help_opts "$v" | while read -r o arg; do
		if [ -n "$arg" ]; then set -- "--$o=x"; else set -- "--$o"; fi
		out=$("$CTL" -H "$NOSOCK" "$v" "$@" </dev/null 2>&1)
		case $out in
		*"unrecognized option"*|*"invalid option"*|*"requires an argument"*|*"doesn't allow"*)
			echo "$v $*: $out" >>"$T/rejected" ;;
		esac
	done
	# Short forms listed ("-q, --quiet") too.
	for s in $(sed -n '/^Options:/,$s/^  \(-[a-zA-Z]\), --.*/\1/p' "$T/v.help" | grep -v '^-h$'); do
		out=$("$CTL" -H "$NOSOCK" "$v" "$s" x </dev/null 2>&1)
		case $out in *"invalid option"*) echo "$v $s: $out" >>"$T/rejected" ;; esac
	done
done
[ ! -s "$T/rejected" ] && ok "every option help lists is accepted by its verb" ||
    { notok "options listed but rejected"; diag "$(cat "$T/rejected")"; }

# The detector above can fail: an option nobody accepts is rejected.
out=$("$CTL" -H "$NOSOCK" ls --no-such-option 2>&1)
case $out in *"unrecognized option"*) ok "an unknown option is rejected" ;;
*) notok "ls --no-such-option: $out" ;; esac
out=$("$CTL" -H "$NOSOCK" enable --alias=x p 2>&1)
case $out in *"unrecognized option"*) ok "enable takes only its own options" ;;
*) notok "enable --alias: $out" ;; esac

# privileges --help is help, not a reference.
out=$("$CTL" -H "$NOSOCK" privileges --help 2>&1); rc=$?
case $out in *"invalid reference"*) notok "privileges --help: $out" ;;
*) [ "$rc" -eq 0 ] && ok "privileges --help prints usage" || notok "privileges --help exit $rc" ;; esac

# Unknown verbs.
out=$("$CTL" -H "$NOSOCK" frobnicate 2>&1); rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "'frobnicate' is not a pluginctl command" &&
    echo "$out" | grep -q "pluginctl --help" && ok "unknown verb: named, points to --help, exit 2" ||
    notok "unknown verb: exit $rc: $out"
out=$("$CTL" help frobnicate 2>&1); rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "not a pluginctl command" && ok "help UNKNOWN exits 2" ||
    notok "help frobnicate: exit $rc: $out"

done_testing
