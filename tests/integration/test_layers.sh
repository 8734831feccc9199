#!/bin/sh
# The broker's layers (docs/ARCHITECTURE.md): state < proc < ops < ctl.
# A file may use only its own layer and the ones below it, and the files
# never call each other in a cycle.  Derived from the build, not from a
# list: the symbol graph of build/obj/broker/*/*.o (nm) and the #include
# lines of broker/*/*.[ch].  A planted object that calls upward, and a
# planted cycle, must be caught, so the check itself can fail.
. "$(dirname "$0")/../lib.sh"

command -v nm >/dev/null || { skip "nm (binutils) is not installed"; done_testing; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

LAYERS="state proc ops ctl"
rank() { # rank LAYER: its place, 0 = lowest
	_i=0
	for _l in $LAYERS; do [ "$_l" = "$1" ] && { echo $_i; return; }; _i=$((_i + 1)); done
	echo 99
}

# edges OBJDIR: "from to symbol" for every call between files, as
# layer/file names (obj/broker/proc/helper.o -> proc/helper).
edges() {
	for o in "$1"/*/*.o; do
		f=${o#"$1"/}; f=${f%.o}
		nm -P --defined-only -g "$o" | awk -v f="$f" '$2 ~ /^[TDBRC]$/ { print "D", $1, f }'
		nm -P -u "$o" | awk -v f="$f" '{ print "U", $1, f }'
	done | awk '$1 == "D" { def[$2] = $3; next }
	    { use[NR] = $3 " " $2 }
	    END { for (i in use) { split(use[i], p, " ")
		if ((p[2] in def) && def[p[2]] != p[1]) print p[1], def[p[2]], p[2] } }' |
	    sort -u
}

# upward EDGES: the edges that go from a lower layer to a higher one.
upward() {
	while read -r from to sym; do
		[ "$(rank "${from%%/*}")" -lt "$(rank "${to%%/*}")" ] && echo "$from -> $to ($sym)"
	done <"$1"
	return 0
}

# cycles EDGES: the files left when files nothing else calls are peeled
# off one after another; empty when the file graph has no cycle.
cycles() {
	awk '{ e[$1 " " $2] = 1; n[$1] = 1; n[$2] = 1 }
	    END {
		do { changed = 0
			for (v in n) { out = 0
				for (k in e) { split(k, p, " ")
					if (p[1] == v && (p[2] in n) && p[2] != v) { out = 1; break } }
				if (!out) { delete n[v]; changed = 1 } }
		} while (changed)
		for (v in n) print v }' "$1" | sort
}

OBJ="$PD_BUILD/obj/broker"
if [ ! -d "$OBJ/state" ]; then
	notok "the broker's objects are in $OBJ/<layer>/ (make all)"
	done_testing; exit 0
fi
for d in "$OBJ"/*/; do
	l=$(basename "$d")
	case " $LAYERS " in *" $l "*) ;; *) notok "broker/$l/ is one of the layers ($LAYERS)" ;; esac
done

edges "$OBJ" >"$T/edges"
n=$(wc -l <"$T/edges")
[ "$n" -gt 50 ] && ok "the broker's symbol graph has $n cross-file references" ||
	notok "the symbol graph is implausibly small ($n edges)"

upward "$T/edges" >"$T/up"
if [ -s "$T/up" ]; then
	notok "no file calls into a higher layer"
	while read -r l; do diag "$l"; done <"$T/up"
else
	ok "no file calls into a higher layer ($LAYERS)"
fi

cycles "$T/edges" >"$T/cyc"
if [ -s "$T/cyc" ]; then
	notok "the broker's files call each other without cycles"
	diag "in a cycle: $(tr '\n' ' ' <"$T/cyc")"
else
	ok "the broker's files call each other without cycles"
fi

# #include lines: a file includes its own layer's header (which brings
# the lower ones) and never a higher layer's.
bad=""
for f in "$PD_TOP"/broker/*/*.c "$PD_TOP"/broker/*/*.h; do
	rel=${f#"$PD_TOP"/broker/}; own=${rel%%/*}
	for inc in $(sed -n 's|^#include "\([a-z]*\)/[a-z]*\.h".*|\1|p' "$f"); do
		[ "$(rank "$inc")" -le "$(rank "$own")" ] || bad="$bad $rel:$inc"
	done
	case $f in *.c)
		grep -q "^#include \"$own/$own.h\"" "$f" || bad="$bad $rel:no-$own.h" ;;
	esac
done
[ -z "$bad" ] && ok "every broker file includes its own layer's header, none a higher one" ||
	{ notok "broker #include lines follow the layers"; diag "$bad"; }
# The other programs never see the broker's headers.
if grep -l '#include "\(state\|proc\|ops\|ctl\)/' "$PD_TOP"/common/*.[ch] \
    "$PD_TOP"/pluginctl/*.[ch] "$PD_TOP"/fetcher/*.[ch] "$PD_TOP"/extractor/*.[ch] \
    "$PD_TOP"/api/*.[ch] "$PD_TOP"/logger/*.[ch] 2>/dev/null | grep -q .; then
	notok "no program but the broker includes a broker header"
else
	ok "no program but the broker includes a broker header"
fi

# ---- the check catches what it is for ----
mkdir -p "$T/plant/state" "$T/plant/ops"
cp "$OBJ"/state/*.o "$T/plant/state/"
cp "$OBJ"/ops/*.o "$T/plant/ops/"
cat >"$T/up.c" <<'EOF'
int op_info(void *, void *, int, void *);
int planted_state(void);
int planted_state(void) { return op_info(0, 0, -1, 0); }
EOF
cc -c -o "$T/plant/state/planted.o" "$T/up.c"
edges "$T/plant" >"$T/pedges"
upward "$T/pedges" | grep -q '^state/planted -> ops/query (op_info)$' &&
	ok "a planted state object calling op_info is reported" ||
	notok "a planted upward call is not reported"
cat >"$T/cyc.c" <<'EOF'
int planted_back(void);
int op_info(void *, void *, int, void *) { return planted_back(); }
EOF
cat >"$T/back.c" <<'EOF'
int op_list(void *, void *, int, void *);
int planted_back(void);
int planted_back(void) { return op_list(0, 0, -1, 0); }
EOF
mkdir -p "$T/loop/ops"
# a -> b -> c -> a
cc -c -o "$T/loop/ops/a.o" "$T/cyc.c"
cc -c -o "$T/loop/ops/b.o" "$T/back.c"
cat >"$T/c.c" <<'EOF'
int op_list(void *, void *, int, void *);
int op_info(void *, void *, int, void *);
int op_list(void *a, void *b, int c, void *d) { return op_info(a, b, c, d); }
EOF
cc -c -o "$T/loop/ops/c.o" "$T/c.c"
edges "$T/loop" >"$T/cedges"
[ "$(cycles "$T/cedges" | tr '\n' ' ')" = "ops/a ops/b ops/c " ] &&
	ok "a planted cycle of three files is reported" ||
	{ notok "a planted cycle is not reported"; diag "$(cycles "$T/cedges")"; }

done_testing
