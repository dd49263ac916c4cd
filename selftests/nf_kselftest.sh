#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own netfilter selftests (tools/testing/selftests/netfilter
# of the booted kernel's source: the debug kernel's linux-source-6.1, at
# /lib/modules/$(uname -r)/source), each run twice: on stock Linux and with
# nf_lemonade loaded (active in every namespace, the default). A test that
# passes stock must pass with the module; one that fails or skips stock
# is reported only. Runs with LEMONADE_NF_KSELFTEST=1 (make check-debug).
# The output of every run is kept in $LEMONADE_OUT (TEST.stock,
# TEST.module). LEMONADE_NF_TESTS="a.sh b.sh" runs only those.
# The kernel tests use their own (private) addresses inside their own
# namespaces of the VM, which has no network device.
# timeout: 7200
# skip-ok: the kernel's netfilter selftests, with make check-debug
source "$(dirname "$0")/lib.sh"

if [ "${LEMONADE_NF_KSELFTEST:-0}" != 1 ]; then
	echo "SKIP: the kernel's netfilter selftests run with make check-debug (LEMONADE_NF_KSELFTEST=1)"
	exit $ksft_skip
fi
[ "$STOCK" = 1 ] && { echo "SKIP: compares stock and module runs itself"; exit $ksft_skip; }
# LEMONADE_KSRC: another source tree of the same kernel (for the stock
# 6.1 kernel: the debug kernel's, /var/cache/nf_lemonade/debug/src-VERSION)
SRC=${LEMONADE_KSRC:-/lib/modules/$(uname -r)/source}/tools/testing/selftests/netfilter
[ -f "$SRC/Makefile" ] || { echo "SKIP: no kernel source with netfilter selftests at $SRC"; exit $ksft_skip; }
SCALE=${LEMONADE_TIMEOUT_SCALE:-1}

# a private copy with the helper programs built (lib.mk's TEST_GEN_FILES)
K=$TMPD/netfilter
cp -r "$SRC" "$K"
for p in nf-queue connect_close audit_logread sctp_collision; do
	[ -f "$K/$p.c" ] || continue
	gcc -O2 -o "$K/$p" "$K/$p.c" $(pkg-config --cflags --libs libmnl 2>/dev/null || echo -lmnl) ||
		info "cannot build $p (its tests will fail both ways)"
done
limit=$(sed -n 's/^timeout=//p' "$K/settings")
limit=$((${limit:-120} * SCALE))
tests=$(sed -n '/^TEST_PROGS/,/^$/p' "$K/Makefile" | tr ' \\\t' '\n\n\n' | grep '\.sh$')
# LEMONADE_NF_TESTS: only these (a name may repeat: each is one more pair)
tests=${LEMONADE_NF_TESTS:-$tests}

# run TEST: exit status of one run (124 on timeout), output in $TMPD/out
run() {
	(cd "$K" && quicktest=1 timeout -k 10 "$limit" bash "./$1") > "$TMPD/out" 2>&1
}
regressions=0 both=0 n=0
for t in $tests; do
	n=$((n + 1))
	lemonade_unload
	run "$t"; stock=$?
	cp "$TMPD/out" "$TMPD/$t.stock"
	lemonade_load
	run "$t"; mod=$?
	cp "$TMPD/out" "$TMPD/$t.module"
	lemonade_unload
	info "$t: stock exit $stock, with nf_lemonade exit $mod"
	if [ $stock -eq 0 ] && [ $mod -ne 0 ]; then
		regressions=$((regressions + 1))
		fail "$t passes on stock Linux, fails with nf_lemonade (exit $mod):"
		diff "$TMPD/$t.stock" "$TMPD/$t.module" | head -n 40 | sed 's/^/#   /'
	elif [ $stock -eq 0 ]; then
		both=$((both + 1))
		pass "$t passes with and without nf_lemonade"
	else
		info "$t does not pass on stock Linux here (exit $stock): not compared"
		grep -E 'FAIL|SKIP|not ok|ERROR' "$TMPD/$t.stock" | head -n 5 | sed 's/^/#   /'
	fi
	cp "$TMPD/$t.stock" "$TMPD/$t.module" "${LEMONADE_OUT:-$TMPD}/" 2>/dev/null
done
info "$n kernel tests: $both pass both ways, $regressions regressions with the module"
[ $n -gt 0 ] || fail "no kernel netfilter selftest found in $K/Makefile"
exit $ret
