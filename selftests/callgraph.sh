#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Who calls whom among kmod/*.c, from the built objects (nm: a symbol one
# object uses and another defines is a call or a reference from the first
# file to the second) and from the sources (grep: X.c includes Y.h, Y.c
# exists). Prints the edges and fails on any circle (the design in
# Documentation/design.rst forbids them).
#
# usage: selftests/callgraph.sh [-q]   (after "make kmod"; -q: verdict only)
set -u
cd "$(dirname "$0")/../kmod" || exit 2
quiet=${1:-}
# the module's objects, as kmod/Kbuild lists them: those of every build
# (nf_lemonade-y :=), then the optional ones (nf_lemonade-y +=, such as
# bench.o of make bench) where they were built
objs=$(sed -n '/^nf_lemonade-y :=/,/^$/p' Kbuild | tr ' \\' '\n\n' | grep '\.o$')
for o in $objs; do
	[ -f "$o" ] || { echo "Error: kmod/$o missing: run make kmod first" >&2; exit 2; }
done
for o in $(sed -n 's/^nf_lemonade-y += //p' Kbuild); do
	[ -f "$o" ] && objs="$objs $o"
done

edges=$(
	# defined symbols: file symbol
	for o in $objs; do
		nm --defined-only "$o" | awk -v f="$(basename "$o" .o)" '$2 ~ /^[TDBR]$/ { print f, $3 }'
	done | sort -k2 > /tmp/callgraph.def.$$
	for o in $objs; do
		f=$(basename "$o" .o)
		nm --undefined-only "$o" | awk -v f="$f" '{ print f, $2 }'
	done | sort -k2 | join -1 2 -2 2 -o 1.1,2.1 - /tmp/callgraph.def.$$
	rm -f /tmp/callgraph.def.$$
	# includes of another file's header
	for c in *.c; do
		f=${c%.c}
		grep -o '^#include "[a-z_]*\.h"' "$c" | sed 's/.*"\(.*\)\.h"/\1/' |
			while read -r h; do
				[ "$h" != "$f" ] && [ -f "$h.c" ] && echo "$f $h"
			done
	done
)
edges=$(echo "$edges" | awk '$1 != $2' | sort -u)
[ "$quiet" = -q ] || { echo "# file -> file it calls, references or includes"; echo "$edges"; }

# tsort reports a cycle on stderr
if cycle=$(echo "$edges" | tsort 2>&1 >/dev/null) && [ -z "$cycle" ]; then
	echo "callgraph: no circle among $(echo "$objs" | wc -w) kmod objects"
	exit 0
fi
echo "callgraph: circle among kmod files:"
echo "$cycle"
exit 1
