#!/bin/sh
# The manual pages (pluginctl help --man, plugind --man 8|5), the sample
# config (plugind --print-config) and the bash completion are printed
# from the programs' own tables; here they are held against the help the
# programs print: every option of `pluginctl --help` and of each
# `pluginctl VERB --help` is in pluginctl.1, every option of
# `plugind --help` in plugind.8, every key of --print-config (the
# nested limits too) in plugind.json.5; each page renders without a
# warning; the printed config loads back unchanged; the completion
# completes verbs, flags and (against a broker) plugin names.
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d /tmp/pd-man.XXXXXX); track_dir "$T"; chmod 755 "$T"
PD="$PD_BUILD/plugind"

"$CTL" help --man >"$T/pluginctl.1" && ok "pluginctl help --man" || notok "pluginctl help --man"
"$PD" --man 8 >"$T/plugind.8" && ok "plugind --man 8" || notok "plugind --man 8"
"$PD" --man 5 >"$T/plugind.json.5" && ok "plugind --man 5" || notok "plugind --man 5"
expect_fail "plugind --man 3 is refused" "--man takes 8 (plugind) or 5" "$PD" --man 3
for m in pluginctl.1 plugind.8 plugind.json.5; do
	cmp -s "$T/$m" "$PD_BUILD/man/$m" && ok "build/man/$m is what the binary prints" ||
	    notok "build/man/$m differs from the binary's (stale build?)"
	w=$(groff -man -Tutf8 -ww -z "$T/$m" 2>&1)
	[ -z "$w" ] && ok "$m: groff -ww: no warning" || { notok "$m: groff warns"; diag "$w"; }
	if command -v man >/dev/null; then
		w=$(MANWIDTH=80 man --warnings -l "$T/$m" 2>&1 >/dev/null)
		[ -z "$w" ] && ok "$m: man --warnings -l: no warning" || { notok "$m: man warns"; diag "$w"; }
	fi
	# Plain text with '-' for \-, for the greps below.
	groff -man -Tascii -P-cbou "$T/$m" 2>/dev/null | tr -s ' \n' '  ' >"$T/$m.txt"
done

# in_page PAGE WORD: WORD appears in the rendered page as a whole word.
in_page() { grep -q -e "[^A-Za-z0-9-]$2\([^A-Za-z0-9-]\|$\)" "$T/$1.txt"; }
# flags FILE: the option words of a --help "Options:" block.
flags() {
	sed -n '/^Options:/,$p' "$1" | grep -o -e '^ *-[a-zA-Z], --[a-z-]*' -e '^ *--[a-z-]*' |
	    tr ',' ' ' | tr -s ' ' '\n' | grep -e '^-'
}

"$CTL" --help >"$T/ctl.help"
verbs=$(sed -n '/^Commands:/,/^$/{/^  [a-z]/s/^  \([a-z-]*\).*/\1/p}' "$T/ctl.help")
missing=""
for o in $(flags "$T/ctl.help"); do in_page pluginctl.1 "$o" || missing="$missing $o"; done
[ -z "$missing" ] && ok "pluginctl.1 has every global option" || notok "pluginctl.1 misses global$missing"
n=0 missing=""
for v in $verbs; do
	n=$((n + 1))
	in_page pluginctl.1 "$v" || missing="$missing $v"
	"$CTL" "$v" --help >"$T/v.help" 2>&1
	u=$(sed -n 's/^Usage:  pluginctl //p' "$T/v.help")
	grep -qF -- "pluginctl $u" "$T/pluginctl.1.txt" || missing="$missing $v(usage)"
	for o in $(flags "$T/v.help"); do
		# the option under this verb's heading: between "pluginctl VERB" and the next usage
		awk -v u="pluginctl $u" '{ i = index($0, u); if (i) print substr($0, i) }' \
		    "$T/pluginctl.1.txt" | sed 's/ pluginctl [a-z]* \[\{0,1\}[A-Z].*//' |
		    grep -q -e " $o\([ ,]\|$\)" || missing="$missing $v:$o"
	done
done
[ "$n" -ge 15 ] && [ -z "$missing" ] && ok "pluginctl.1 has all $n verbs, each usage and option" ||
    notok "pluginctl.1 misses$missing"
for s in ENVIRONMENT PLUGIND_HOST DOCKER_CONFIG FILES "EXIT STATUS" "SEE ALSO"; do
	grep -q "$s" "$T/pluginctl.1.txt" || missing="$missing '$s'"
done
[ -z "$missing" ] && ok "pluginctl.1: environment, files, exit status, see also" || notok "pluginctl.1 misses$missing"

"$PD" --help >"$T/pd.help"
missing="" n=0
for o in $(flags "$T/pd.help"); do
	n=$((n + 1)); in_page plugind.8 "$o" || missing="$missing $o"
done
[ "$n" -ge 14 ] && [ -z "$missing" ] && ok "plugind.8 has all $n options of plugind --help" ||
    notok "plugind.8 misses$missing ($n options)"

"$PD" --print-config >"$T/pd.json" && ok "plugind --print-config (no root needed: runs as nobody too)" ||
    notok "plugind --print-config"
keys=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k,v in d.items():
    print(k)
    if isinstance(v, dict):
        for kk in v: print(kk)' "$T/pd.json")
n=$(echo "$keys" | wc -l) missing=""
for k in $keys; do in_page plugind.json.5 "$k" || missing="$missing $k"; done
[ "$n" -ge 40 ] && [ -z "$missing" ] && ok "plugind.json.5 has all $n keys of --print-config" ||
    notok "plugind.json.5 misses$missing ($n keys)"
cmp -s "$T/pd.json" "$PD_BUILD/plugind.json" && ok "build/plugind.json is --print-config" ||
    notok "build/plugind.json differs"
"$PD" --config "$T/pd.json" --print-config >"$T/pd2.json" 2>&1 && cmp -s "$T/pd.json" "$T/pd2.json" &&
    ok "the printed config loads back unchanged" || { notok "print-config round trip"; diag "$(diff "$T/pd.json" "$T/pd2.json")"; }
"$PD" --config "$T/pd.json" --docker-api unix:///x/d.sock -l debug --print-config >"$T/pd3.json" 2>&1
grep -q '"docker-api": "unix:///x/d.sock"' "$T/pd3.json" && grep -q '"log-level": "debug"' "$T/pd3.json" &&
    ok "--print-config shows the flags over the file" || { notok "flags in --print-config"; diag "$(cat "$T/pd3.json")"; }
su nobody -s /bin/sh -c "'$PD' --print-config" >/dev/null 2>&1 && ok "--print-config as a non-root user" ||
    notok "--print-config needs root"

# -- bash completion
"$CTL" completion bash >"$T/comp.bash" && bash -n "$T/comp.bash" && ok "completion bash: a valid script" ||
    notok "completion bash"
cmp -s "$T/comp.bash" "$PD_BUILD/completion/pluginctl" && ok "build/completion/pluginctl is the binary's" ||
    notok "build/completion/pluginctl differs"
expect_fail "completion zsh is refused" "takes one shell" "$CTL" completion zsh
# comp WORD...: COMPREPLY for COMP_WORDS=(pluginctl WORD...), the last word
# being completed; COMP_LINE unset, as a caller of the function may.
comp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pluginctl
	    [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' comp "$T/comp.bash" "$CTL" "$@" | sort | tr '\n' ' '
}
# compline LINE: as bash calls it, COMP_LINE and COMP_POINT at its end.
compline() {
	bash -c '. "$1"; COMP_LINE=$2; COMP_POINT=${#2}; COMP_WORDS=($2); COMP_CWORD=${#COMP_WORDS[@]}
	    _pluginctl; [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' comp "$T/comp.bash" "$1" | sort | tr '\n' ' '
}
r=$(comp en); [ "$r" = "enable " ] && ok "verb prefix: en -> enable" || notok "en -> '$r'"
r=$(comp i); [ "$r" = "info inspect install " ] && ok "verb prefix: i -> info inspect install" || notok "i -> '$r'"
r=$(comp disable --); [ "$r" = "--force --help --timeout " ] && ok "flag prefix: disable -- -> its flags" ||
    notok "disable -- -> '$r'"
r=$(comp -H unix:///x ls -); [ "$r" = "--filter --format --help --no-trunc --quiet -f -h -q " ] &&
    ok "flags after -H: ls - -> ls's flags" || notok "ls - -> '$r'"
r=$(comp --h); [ "$r" = "--help --host " ] && ok "global flags: --h" || notok "--h -> '$r'"
r=$(comp logs --tail ""); [ -z "$r" ] && ok "no completion for an option's value" || notok "logs --tail -> '$r'"
r=$(comp help up); [ "$r" = "upgrade " ] && ok "help completes verbs" || notok "help up -> '$r'"
r=$(comp plugin rm --f); [ "$r" = "--force " ] && ok "'plugin VERB' works as VERB" || notok "plugin rm --f -> '$r'"

start_broker "$T/b" || { notok "broker starts"; done_testing; exit 1; }
# Two plugins made with create (no registry needed).
mkdir -p "$T/ctx/rootfs/bin"
cp /bin/busybox "$T/ctx/rootfs/bin/" 2>/dev/null || cp /bin/true "$T/ctx/rootfs/bin/"
printf '{"Description":"c","Entrypoint":["/bin/busybox"],"Interface":{"Socket":"c.sock","Types":["docker.volumedriver/1.0"]}}\n' \
    >"$T/ctx/config.json"
ctl create comp/alpha "$T/ctx" >/dev/null 2>&1 && ctl create comp/beta "$T/ctx" >/dev/null 2>&1 &&
    ok "two plugins created" || notok "create: $(ctl create comp/alpha "$T/ctx" 2>&1)"
r=$(comp -H "unix://$SOCK" enable comp/); [ "$r" = "comp/alpha:latest comp/beta:latest " ] &&
    ok "plugin names from the broker (-H on the line)" || notok "enable comp/ -> '$r'"
r=$(comp -H "unix://$SOCK" rm -f comp/b); [ "$r" = "comp/beta:latest " ] && ok "plugin name prefix after a flag" ||
    notok "rm -f comp/b -> '$r'"
r=$(comp -H "unix://$SOCK" ls ""); [ -z "$r" ] && ok "ls takes no plugin name" || notok "ls -> '$r'"
# bash splits words at ':'; a reply must replace only what follows it.
r=$(compline "$CTL -H unix://$SOCK inspect comp/alpha:la")
[ "$r" = "latest " ] && ok "a name with ':' completes after the colon (COMP_LINE)" || notok "comp/alpha:la -> '$r'"
done_testing
