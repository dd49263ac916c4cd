#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make matrix: build the module for each supported Debian kernel and run the
# whole guest suite (selftests/guest.sh) on each under QEMU, one VM at a
# time. Prints a table (kernel, build, passed, failed), records each kernel's row in
# README.md's "Kernel matrix" section (a run over some labels keeps the
# other rows) and exits non-zero if any kernel
# fails: a build error or warning, a failed test, a kernel warning in the
# guest's dmesg, or no result at all.
#
# usage: selftests/matrix.sh [LABEL...]    (default: every label of
#                                           selftests/vm/kernel.sh labels)
#
# The run works on a snapshot of the working tree (tracked and untracked,
# not ignored, files) in build/matrix/src, so edits made while it runs do
# not mix into it; each kernel gets its own copy in build/matrix/LABEL/src
# (build.log, vm.log and the guest's output dir vm/ next to it). Kernels,
# headers, apt lists and the sid chroot are cached in
# ${LEMONADE_CACHE:-/var/cache/nf_lemonade} (see selftests/vm/kernel.sh).
#
# LEMONADE_MATRIX_TIMEOUT   seconds per guest run, boot included (4800)
# LEMONADE_MATRIX_NO_README=1  leave README.md alone
set -u
HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
OUT=$REPO/build/matrix
KERNEL_SH=$HERE/vm/kernel.sh
VM_TIMEOUT=${LEMONADE_MATRIX_TIMEOUT:-4800}

log() { printf 'matrix: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# guest.sh runs every selftests/*.sh it does not know: this one is a host
# driver, not a guest test (kselftest SKIP).
if [ "${LEMONADE_VM:-0}" = 1 ]; then
	echo "SKIP: matrix.sh drives VMs from the host"
	exit 4
fi

[ "$(id -u)" -eq 0 ] || die "run as root (it installs missing packages, debootstraps a chroot and boots VMs)"
if [ $# -eq 0 ]; then
	mapfile -t labels < <("$KERNEL_SH" labels)
else
	labels=("$@")
	known=" $("$KERNEL_SH" labels | paste -sd' ') "
	for l in "${labels[@]}"; do
		[[ $known == *" $l "* ]] || die "unknown label '$l' (known:$known)"
	done
fi

"$HERE/install-deps.sh" || die "installing the test dependencies failed"
# the kernel's ynl for cli_ynl.sh, as selftests/run.sh fetches it
if [ -z "${LEMONADE_YNL:-}" ]; then
	LEMONADE_YNL=$("$HERE/vm/ynl.sh") || log "the kernel's ynl could not be fetched: cli_ynl.sh will skip"
	export LEMONADE_YNL
fi

# ---------------------------------------------------------------- snapshot

t_start=$SECONDS
started=$(date -u '+%Y-%m-%d %H:%M UTC')
rev=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
rm -rf "$OUT"
mkdir -p "$OUT/src"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$REPO" && git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
		done | tar -c --null -T - -f -) | tar -x -C "$OUT/src" ||
		die "cannot snapshot the working tree"
else
	(cd "$REPO" && tar -c --exclude=./build --exclude=./.git -f - .) |
		tar -x -C "$OUT/src" || die "cannot snapshot the source tree"
fi
log "snapshot of $REPO ($rev) in $OUT/src"
# The snapshots lie in the repository's ignored build/: git run in them
# (packaging/build-debs.sh) must not take them for part of the repository.
export GIT_CEILING_DIRECTORIES=$OUT
# What the guest suite needs from the host besides the module, built once
# as make check (selftests/run.sh) builds it: lemonctl with sanitizers, the
# selftest helper programs and the Debian packages for pkg_deb.sh (which
# skips if they are missing).
make -s -C "$OUT/src" tool SANITIZE=1 >"$OUT/prep.log" 2>&1 ||
	{ cat "$OUT/prep.log" >&2; die "lemonctl does not build (see $OUT/prep.log)"; }
if [ -f "$OUT/src/selftests/progs/Makefile" ]; then
	make -s -C "$OUT/src/selftests/progs" >>"$OUT/prep.log" 2>&1 ||
		{ cat "$OUT/prep.log" >&2; die "selftests/progs does not build (see $OUT/prep.log)"; }
fi
if [ -x "$OUT/src/packaging/build-debs.sh" ]; then
	"$OUT/src/packaging/build-debs.sh" --upgrade-test >>"$OUT/prep.log" 2>&1 ||
		log "the Debian packages do not build (see $OUT/prep.log); pkg_deb.sh will skip"
fi

# ---------------------------------------------------------------- build

declare -A KVER ROOT BUILD BUILD_S VM_S PASSED FAILED SKIPPED NOTE
for l in "${labels[@]}"; do
	d=$OUT/$l
	mkdir -p "$d"
	cp -a "$OUT/src" "$d/src"
	KVER[$l]='?' BUILD[$l]=FAIL PASSED[$l]=- FAILED[$l]=- SKIPPED[$l]=- NOTE[$l]=""
	t0=$SECONDS
	log "$l: fetching the kernel and building the module (logs: $d/fetch.log, build.log)"
	args=$("$KERNEL_SH" build-args "$l" 2>"$d/fetch.log")
	if [[ $args =~ ^KVER=([^ ]+)\ ROOT=([^ ]+)\  ]]; then
		KVER[$l]=${BASH_REMATCH[1]} ROOT[$l]=${BASH_REMATCH[2]}
		if "$KERNEL_SH" build "$l" "$d/src" >"$d/build.log" 2>&1; then
			ko=$d/src/kmod/nf_lemonade.ko
			vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
			nwarn=$(grep -cE '[Ww]arning:|[Ee]rror:|WARNING' "$d/build.log")
			if [ ! -f "$ko" ]; then
				NOTE[$l]="no nf_lemonade.ko"
			elif [ "$vermagic" != "${KVER[$l]}" ]; then
				NOTE[$l]="vermagic $vermagic"
			elif [ "$nwarn" -ne 0 ]; then
				BUILD[$l]=WARN
				NOTE[$l]="$nwarn warning lines in build.log"
			else
				BUILD[$l]=ok
			fi
		else
			NOTE[$l]="build failed: $(grep -m1 -E '[Ee]rror' "$d/build.log" | cut -c1-120)"
		fi
	else
		NOTE[$l]="no kernel: $(tail -n1 "$d/fetch.log" | cut -c1-120)"
	fi
	BUILD_S[$l]=$((SECONDS - t0))
	log "$l: ${KVER[$l]} build ${BUILD[$l]} (${BUILD_S[$l]} s) ${NOTE[$l]}"
done

# ---------------------------------------------------------------- guests

for l in "${labels[@]}"; do
	d=$OUT/$l
	VM_S[$l]=-
	[ "${BUILD[$l]}" = ok ] || continue
	t0=$SECONDS
	load0=$(cut -d' ' -f1 /proc/loadavg)
	log "$l: booting ${KVER[$l]} and running the guest suite (log: $d/vm.log)"
	"$d/src/selftests/vm/run.sh" --root "${ROOT[$l]}" --kver "${KVER[$l]}" \
		--timeout "$VM_TIMEOUT" --out "$d/vm" -- selftests/guest.sh \
		</dev/null >"$d/vm.log" 2>&1
	rc=$?
	VM_S[$l]=$((SECONDS - t0))
	# TCG guests share the host's CPUs: timing-sensitive tests suffer
	# when it is overloaded, so say how busy it was.
	load=" (host load $load0 -> $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs)"
	if [ -s "$d/vm/summary" ]; then
		read -r p f s _ <"$d/vm/summary"
		PASSED[$l]=$p FAILED[$l]=$f SKIPPED[$l]=${s:-0}
		if [ "${FAILED[$l]}" -ne 0 ]; then
			NOTE[$l]="failed: $(sed -n 's/^not ok [0-9]* selftests: nf_lemonade: \([^ ]*\).*/\1/p' \
				"$d/vm.log" | paste -sd' ')$load"
		fi
	else
		FAILED[$l]=1
		NOTE[$l]="no guest summary (run.sh status $rc)$load"
	fi
	if [ -s "$d/vm/dmesg-bad" ]; then
		FAILED[$l]=$((FAILED[$l] + 1))
		NOTE[$l]="${NOTE[$l]:+${NOTE[$l]}; }kernel warnings in dmesg (vm/dmesg-bad)"
	fi
	log "$l: ${PASSED[$l]} passed, ${FAILED[$l]} failed, ${SKIPPED[$l]} skipped (${VM_S[$l]} s)$load"
done

# ---------------------------------------------------------------- report

bad=0
table() {
	printf '| kernel | build | passed | failed | skipped | build s | guest s | notes |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
	for l in "${labels[@]}"; do
		printf '| %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n' "$l" "${KVER[$l]}" \
			"${BUILD[$l]}" "${PASSED[$l]}" "${FAILED[$l]}" "${SKIPPED[$l]}" \
			"${BUILD_S[$l]}" "${VM_S[$l]}" "${NOTE[$l]:-}"
	done
}
for l in "${labels[@]}"; do
	if [ "${BUILD[$l]}" != ok ] || [ "${FAILED[$l]}" != 0 ]; then
		bad=1
	fi
done
total=$((SECONDS - t_start))
result=PASS
[ $bad -eq 0 ] || result=FAIL

echo
table
echo
echo "matrix: $result (${#labels[@]} kernels, ${total} s; logs in $OUT)"

if [ "${LEMONADE_MATRIX_NO_README:-0}" != 1 ] && [ -f "$REPO/README.md" ]; then
	# One row per kernel with its own date and tree: a run over some
	# labels replaces their rows and keeps the others' last result.
	declare -A ROW
	while IFS= read -r line; do
		l=${line#| }
		l=${l%% *}
		ROW[$l]=$line
	done < <(sed -n '/^## Kernel matrix$/,/^## /p' "$REPO/README.md" |
		grep -E '^\| ([0-9]+\.[0-9]+|debug) \(' || true)
	day=$(date -u '+%Y-%m-%d')
	for l in "${labels[@]}"; do
		ROW[$l]=$(printf '| %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s |' \
			"$l" "${KVER[$l]}" "$day" "$rev" "${BUILD[$l]}" "${PASSED[$l]}" \
			"${FAILED[$l]}" "${SKIPPED[$l]}" "${BUILD_S[$l]}" "${VM_S[$l]}" "${NOTE[$l]:-}")
	done
	all=PASS
	for l in $("$KERNEL_SH" labels); do
		# fields: kernel, date, tree, build, passed, failed, ...
		awk -F' [|] ' '$2 ~ /^[0-9][0-9][0-9][0-9]-/ && $4 == "ok" && $6 == "0" { ok = 1 }
			END { exit !ok }' <<< "${ROW[$l]:-}" || all=FAIL
	done
	# shellcheck disable=SC2016 # backquotes are Markdown
	section=$(
		printf '## Kernel matrix\n\n'
		printf 'Every supported kernel, last `make matrix` result of each: **%s**. The\n' "$all"
		printf 'module is built for each Debian kernel and `selftests/guest.sh` runs the\n'
		printf 'whole suite on it under QEMU (`selftests/matrix.sh [LABEL...]`; kernels\n'
		printf 'from `selftests/vm/kernel.sh`). The packaging tests skip on kernels whose\n'
		printf 'headers the host does not have installed.\n\n'
		printf '| kernel | date | tree | build | passed | failed | skipped | build s | guest s | notes |\n'
		printf '|---|---|---|---|---|---|---|---|---|---|\n'
		for l in $("$KERNEL_SH" labels); do
			[ -n "${ROW[$l]:-}" ] && printf '%s\n' "${ROW[$l]}"
		done
		# make check-debug's row (recorded by hand) stays as it is
		[ -n "${ROW[debug]:-}" ] && printf '%s\n' "${ROW[debug]}"
	)
	tmp=$(mktemp "$REPO/.README.md.XXXXXX")
	# Replace our section (up to the next "## " heading) or append it.
	SECTION=$section awk '
		/^## Kernel matrix$/ { print ENVIRON["SECTION"]; skip = 1; done = 1; next }
		skip && /^## / { skip = 0; print "" }
		!skip { print }
		END { if (!done) { print ""; print ENVIRON["SECTION"] } }
	' "$REPO/README.md" >"$tmp" && cat "$tmp" >"$REPO/README.md"
	rm -f "$tmp"
	log "recorded in README.md (Kernel matrix)"
fi
exit $bad
