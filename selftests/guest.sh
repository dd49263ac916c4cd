#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the QEMU guest: installs the freshly built module for the
# guest kernel, then runs every selftest script, kselftest-runner style
# (TAP 13; exit 4 = SKIP), each under a time limit. Writes the summary to
# $LEMONADE_OUT/summary as "<passed> <failed> <skipped>", each test's
# output to $LEMONADE_OUT/tests/TEST.log and, on stock Linux
# (LEMONADE_STOCK=1), each test's first failed assertion to
# $LEMONADE_OUT/stock-list (printed too).
#
# On a kernel with kmemleak (the debug kernel of make check-debug), leaks
# from before the first test are set aside, and after the last test (and
# its rmmod) two scans must find no leak: one more test line, "kmemleak".
# LEMONADE_TIMEOUT_SCALE multiplies each test's time limit (debug kernel).
#
# usage: guest.sh [TEST...]   (default: every selftests/*.sh but helpers)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=${LEMONADE_OUT:-/tmp}
PER_TEST_TIMEOUT=${LEMONADE_TEST_TIMEOUT:-300}
SCALE=${LEMONADE_TIMEOUT_SCALE:-1}
KMEMLEAK=/sys/kernel/debug/kmemleak
export PATH="$REPO/tool:/usr/sbin:/sbin:/usr/bin:/bin"

kver=$(uname -r)
STOCK=${LEMONADE_STOCK:-0}
mkdir -p "/lib/modules/$kver/updates"
if [ "$STOCK" = 1 ]; then
	# stock Linux: the module is not installed, and a request the kernel
	# makes for it (lemonctl's generic netlink family alias) is refused
	rm -f "/lib/modules/$kver/updates/nf_lemonade.ko"
	cat > /run/lemonade-stock-modprobe <<-'EOF'
	#!/bin/sh
	for a; do
		case $a in *lemonade*) echo "stock run: modprobe $a refused" >&2; exit 1 ;; esac
	done
	exec /sbin/modprobe "$@"
	EOF
	chmod 755 /run/lemonade-stock-modprobe
	sysctl -qw kernel.modprobe=/run/lemonade-stock-modprobe
else
	cp "$REPO/kmod/nf_lemonade.ko" "/lib/modules/$kver/updates/"
fi
depmod -a "$kver"
modprobe nf_conntrack

if [ $# -eq 0 ]; then
	set -- $(cd "$HERE" && ls *.sh | grep -v -e '^lib.sh$' -e '^guest.sh$' \
		-e '^run.sh$' -e '^demo.sh$' -e '^demo-guest.sh$' -e '^checkpatch.sh$' -e '^install-deps.sh$' \
		-e '^matrix.sh$' -e '^callgraph.sh$' -e '^fuzz_long.sh$')
fi
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
plan=$#
[ "$STOCK" = 1 ] && plan=$((plan + 1))
if [ -w "$KMEMLEAK" ]; then
	plan=$((plan + 1))
	# what boot left behind is not the suite's
	echo scan > "$KMEMLEAK" && echo clear > "$KMEMLEAK"
fi
mkdir -p "$OUT/tests"
# After each test, the kernel log so far is kept in $OUT/dmesg.txt (a run
# stopped early still has it) and what the VM's final check would call bad
# (vm/run.sh's BAD_RE) is shown with the test's name; that check decides.
dmesg_lines=$(dmesg | wc -l)
dmesg_since_last() {
	[ -n "${BAD_RE:-}" ] || return 0
	dmesg > "$OUT/dmesg.txt" 2>&1
	"$HERE/vm/dmesg-bad.sh" "$OUT/dmesg.txt" $((dmesg_lines + 1)) |
		head -n 20 | sed "s/^/# dmesg after $t: /"
	dmesg_lines=$(wc -l < "$OUT/dmesg.txt")
}
echo "TAP version 13"
echo "1..$plan"
n=0 passed=0 failed=0 skipped=0 stock_loaded=""
for t in "$@"; do
	n=$((n + 1))
	echo "# selftests: nf_lemonade: $t"
	start=$(date +%s)
	# a test that needs longer says so in a "# timeout: SECONDS" line
	limit=$(sed -n "s/^# timeout: \\([0-9][0-9]*\\).*/\\1/p" "$HERE/$t" | head -n 1)
	[ -n "$limit" ] && [ "$limit" -gt "$PER_TEST_TIMEOUT" ] || limit=$PER_TEST_TIMEOUT
	limit=$((limit * SCALE))
	timeout -k 10 "$limit" bash "$HERE/$t" 2>&1 | tee "$OUT/tests/$t.log" | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	dmesg_since_last
	case $rc in
	0) echo "ok $n selftests: nf_lemonade: $t (${secs}s)"; passed=$((passed + 1)) ;;
	4)
		# In CI a test may skip only if it says why it need not run
		# there ("# skip-ok: REASON": debug kernel, long runs).
		if [ "${CI:-}" = true ] && ! grep -q '^# skip-ok: ' "$HERE/$t"; then
			echo "not ok $n selftests: nf_lemonade: $t # SKIP in CI, which must run it"
			failed=$((failed + 1))
		else
			echo "ok $n selftests: nf_lemonade: $t # SKIP"
			skipped=$((skipped + 1))
		fi
		;;
	124) echo "not ok $n selftests: nf_lemonade: $t # TIMEOUT $limit seconds"; failed=$((failed + 1)) ;;
	*) echo "not ok $n selftests: nf_lemonade: $t # exit=$rc"; failed=$((failed + 1)) ;;
	esac
	# a test must leave no module and no namespace behind
	if grep -q '^nf_lemonade ' /proc/modules; then
		[ "$STOCK" = 1 ] && stock_loaded="$stock_loaded $t"
		rmmod nf_lemonade
	fi
done
if [ -w "$KMEMLEAK" ]; then
	n=$((n + 1))
	echo "# selftests: nf_lemonade: kmemleak"
	# two scans: an object is reported once it stayed unreferenced
	# through a whole scan
	echo scan > "$KMEMLEAK" && echo scan > "$KMEMLEAK"
	cat "$KMEMLEAK" > "$OUT/kmemleak.txt"
	leaks=$(grep -c '^unreferenced object' "$OUT/kmemleak.txt")
	if [ "$leaks" -eq 0 ]; then
		echo "ok $n selftests: nf_lemonade: kmemleak (no leak after the last rmmod)"
		passed=$((passed + 1))
	else
		head -n 200 "$OUT/kmemleak.txt" | sed 's/^/# /'
		echo "not ok $n selftests: nf_lemonade: kmemleak # $leaks unreferenced objects (kmemleak.txt)"
		failed=$((failed + 1))
	fi
fi
if [ "$STOCK" = 1 ]; then
	# per test, what failed on stock Linux (a behaviour test must fail
	# there, on something a client or the wire sees): the first failed
	# assertion that is not a read of conntrack's table ("[conntrack]",
	# lib.sh expect_timeouts), else the first one, so marked. A test that
	# proves something is left as stock Linux has it says so in a
	# "# stock-left-alone: WHAT" line, shown with it
	echo "# stock Linux, per test: the first failed assertion a client or the wire sees"
	for t in "$@"; do
		log=$OUT/tests/$t.log
		left=$(sed -n 's/^# stock-left-alone: //p' "$HERE/$t" | head -n 1)
		why=$(grep -a '^FAIL' "$log" 2>/dev/null | grep -av -m1 '^FAIL: \[conntrack\]' | cut -c1-200)
		[ -n "$why" ] || why=$(grep -a -m1 '^FAIL' "$log" 2>/dev/null | cut -c1-200)
		[ -n "$why" ] || why=$(grep -a -m1 '^SKIP' "$log" 2>/dev/null | cut -c1-200)
		echo "# stock: $t: ${left:+[left alone by design: $left] }${why:-no failed assertion}"
	done | tee "$OUT/stock-list"
	n=$((n + 1))
	# one more line: the stock run never had the module
	# (a test's cleanup unloads it: the kernel log keeps the load line,
	# "nf_lemonade: ..."; the VM's command line names /var/cache/nf_lemonade)
	if [ -z "$stock_loaded" ] && ! grep -q '^nf_lemonade ' /proc/modules &&
		! dmesg | grep -q 'nf_lemonade: '; then
		echo "ok $n selftests: nf_lemonade: stock (the module was never loaded)"
		passed=$((passed + 1))
	else
		echo "not ok $n selftests: nf_lemonade: stock # the module was loaded after:$stock_loaded"
		failed=$((failed + 1))
	fi
fi
echo "$passed $failed $skipped" > "$OUT/summary"
echo "# guest: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
