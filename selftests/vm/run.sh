#!/bin/bash
# Boot a Debian kernel under QEMU (TCG) with the host's root file system as
# a read-only 9p share under a tmpfs overlay, and run one command in it.
#
# Usage: selftests/vm/run.sh [--kver KVER | --root DIR] [--timeout SECONDS]
#                            [--out DIR] -- COMMAND [ARGS...]
#
#   --kver KVER     use the cached kernel tree for KVER (see kernel.sh)
#   --root DIR      use an already-extracted kernel tree (boot/vmlinuz-KVER or
#                   usr/lib/modules/KVER/vmlinuz*, lib/modules/KVER)
#                   default: `kernel.sh fetch ${LEMONADE_KERNEL:-6.1}`
#   --timeout SEC   kill QEMU after SEC seconds (default 1500) -> exit 124
#   --out DIR       host directory shared read-write with the guest at
#                   /run/lemonade-out (default: a fresh mktemp -d)
#
# One COMMAND argument is run as bash code (`bash -c`-like); several
# arguments are run as one quoted command line.  The guest cds into the
# repository (same absolute path as on the host) first.
#
# OUT/rc          the command's exit status
# OUT/dmesg.txt   full guest dmesg after the command
# OUT/dmesg-bad   kernel warnings/oopses found in dmesg (run fails)
#
# Exit status: the command's, 1 on bad dmesg or guest failure, 124 on timeout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${LEMONADE_CACHE:-/var/cache/nf_lemonade}
PROG=vm/run.sh

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0" >&2
	exit 2
}

# ---------------------------------------------------------------- arguments

kver="" root="" timeout_s=1500 out=""
while (($#)); do
	case $1 in
	--kver) (($# >= 2)) || usage; kver=$2; shift 2 ;;
	--root) (($# >= 2)) || usage; root=$2; shift 2 ;;
	--timeout) (($# >= 2)) || usage; timeout_s=$2; shift 2 ;;
	--out) (($# >= 2)) || usage; out=$2; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) log "unknown argument '$1'"; usage ;;
	esac
done
(($#)) || usage
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout needs a positive number of seconds"
if (($# == 1)); then
	guest_cmd=$1
else
	guest_cmd=$(printf '%q ' "$@")
fi

for c in qemu-system-x86_64 busybox cpio depmod modprobe timeout sha256sum; do
	if ! command -v "$c" >/dev/null; then
		"$HERE/kernel.sh" deps
		break
	fi
done
[[ $CACHE != *[[:space:]]* ]] || die "LEMONADE_CACHE must not contain white space"

# ---------------------------------------------------------------- kernel tree

if [[ -z $root && -z $kver ]]; then
	line=$("$HERE/kernel.sh" fetch "${LEMONADE_KERNEL:-6.1}")
	[[ $line =~ ^KVER=([^ ]+)\ ROOT=(.+)$ ]] || die "unexpected kernel.sh output: $line"
	kver=${BASH_REMATCH[1]} root=${BASH_REMATCH[2]}
elif [[ -z $root ]]; then
	for d in "$CACHE"/k/*/root; do
		if [[ -d $d/lib/modules/$kver || -d $d/usr/lib/modules/$kver ]]; then
			root=$d
			break
		fi
	done
	[[ -n $root ]] || die "no cached kernel tree for $kver under $CACHE/k (run selftests/vm/kernel.sh fetch)"
fi
[[ -d $root ]] || die "kernel tree $root not found"
root=$(cd "$root" && pwd -P)
[[ $root != *[[:space:]]* ]] || die "kernel tree path must not contain white space"
if [[ ! -e $root/lib && -d $root/usr/lib/modules ]]; then
	ln -s usr/lib "$root/lib" # so kmod's -b/-d find the modules
fi
if [[ -z $kver ]]; then
	mapfile -t kvers < <(find "$root/lib/modules/" -mindepth 1 -maxdepth 1 -type d -printf '%f\n')
	((${#kvers[@]} == 1)) || die "cannot pick a KVER in $root/lib/modules (found: ${kvers[*]:-none}); use --kver"
	kver=${kvers[0]}
fi
moddir=$(cd "$root/lib/modules/$kver" && pwd -P) || die "no lib/modules/$kver in $root"
vmlinuz=""
for f in "$root/boot/vmlinuz-$kver" "$moddir/vmlinuz" "$moddir/vmlinuz.unsigned"; do
	if [[ -f $f ]]; then vmlinuz=$f; break; fi
done
[[ -n $vmlinuz ]] || die "no vmlinuz for $kver in $root"
if [[ ! -f $moddir/modules.dep || $moddir/modules.order -nt $moddir/modules.dep ]]; then
	log "depmod $kver"
	depmod -b "$root" "$kver"
fi

# ---------------------------------------------------------------- initramfs

# Stage 1: PID 1 in the initramfs (busybox sh).  Loads the modules listed in
# /modules.list, builds /newroot = tmpfs overlay over the host's / (9p) and
# switch_roots into stage 2 (a bash script from the per-run control dir).
read -r -d '' INIT <<'EOF' || true
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /bin /lower /rw /newroot
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
fail() {
	echo "lemonade-init: error: $*"
	dmesg | tail -n 40
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 30
}
while read -r m; do
	insmod "/modules/$m" || fail "insmod $m"
done </modules.list
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower ||
	fail "cannot mount the host root (9p)"
mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir -p /rw/upper /rw/work || fail "tmpfs"
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "cannot mount the overlay"
ctl=$(sed -n 's/.*lemonade\.ctl=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -f "/newroot$ctl/stage2.sh" ] || fail "no stage2 script at $ctl"
umount /proc
mount --move /dev /newroot/dev || fail "cannot move /dev"
exec switch_root -c /dev/console /newroot /bin/bash "$ctl/stage2.sh"
EOF

bb=$(command -v busybox)
if LC_ALL=C ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked; the initramfs needs busybox-static"
fi
mapfile -t mods < <(modprobe -d "$root" -S "$kver" --show-depends -a \
	virtio_pci 9pnet_virtio 9p overlay | awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
mkdir -p "$CACHE/vm"
hash=$(
	{
		printf '%s\n%s\n' "$kver" "$INIT"
		sha256sum "$bb" "${mods[@]}"
	} | sha256sum | cut -c1-16
)
initrd=$CACHE/vm/initrd-$kver-$hash.cpio
exec 9>"$CACHE/vm/.lock"
flock 9 # serialise initramfs builds of concurrent runs
if [[ ! -f $initrd ]]; then
	log "building initramfs for $kver (${#mods[@]} modules)"
	stage=$(mktemp -d "$CACHE/vm/initrd.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/bin" "$stage/dev" "$stage/modules"
	cp "$bb" "$stage/bin/busybox"
	if [[ $(id -u) -eq 0 ]]; then mknod -m 600 "$stage/dev/console" c 5 1; fi
	printf '%s\n' "$INIT" >"$stage/init"
	chmod 755 "$stage/init"
	i=0
	for m in "${mods[@]}"; do
		i=$((i + 1))
		name=$(printf '%02d-%s' "$i" "$(basename "$m")")
		case $m in
		*.ko.xz) name=${name%.xz}; xz -dc "$m" >"$stage/modules/$name" ;;
		*.ko.zst) name=${name%.zst}; zstd -dcq "$m" >"$stage/modules/$name" ;;
		*.ko.gz) name=${name%.gz}; gzip -dc "$m" >"$stage/modules/$name" ;;
		*) cp "$m" "$stage/modules/$name" ;;
		esac
		echo "$name" >>"$stage/modules.list"
	done
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet) >"$stage.cpio"
	mv -f "$stage.cpio" "$initrd"
	rm -rf "$stage"
	trap - EXIT
	# Drop initramfs images of this KVER built from older inputs.
	find "$CACHE/vm" -maxdepth 1 -name "initrd-$kver-*.cpio" ! -name "${initrd##*/}" -delete
fi
exec 9>&-

# ---------------------------------------------------------------- per-run files

if [[ -z $out ]]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/lemonade-out.XXXXXX")
else
	mkdir -p "$out"
fi
out=$(cd "$out" && pwd -P)
rm -f "$out/rc" "$out/dmesg.txt" "$out/dmesg-bad"

mkdir -p "$CACHE/run"
ctl=$(mktemp -d "$CACHE/run/ctl.XXXXXX")
trap 'rm -rf "$ctl"' EXIT

# Environment passed to the command: CI, GITHUB_ACTIONS, LEMONADE_* and any
# names listed in LEMONADE_GUEST_ENV.
{
	for n in CI GITHUB_ACTIONS ${LEMONADE_GUEST_ENV:-} $(compgen -v LEMONADE_ || true); do
		[[ $n =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -n ${!n+x} ]] || continue
		printf 'export %s=%q\n' "$n" "${!n}"
	done
	printf 'export LEMONADE_VM=1 LEMONADE_OUT=/run/lemonade-out LEMONADE_KVER=%q\n' "$kver"
} >"$ctl/env"
printf '%s\n' "$guest_cmd" >"$ctl/cmd"

bad_re='WARNING:|BUG:|Oops|general protection|kernel BUG|UBSAN|KASAN:|possible recursive locking|possible circular locking|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|lockdep is turned off|RCU stall|rcu_sched self-detected|refcount_t:|Call Trace|ODEBUG'

# Stage 2: PID 1 after switch_root, running the host's bash on the overlay.
{
	printf '#!/bin/bash\n'
	printf 'CTL=%q REPO=%q MODDIR=%q KVER=%q BAD_RE=%q IGNORE_RE=%q\n' \
		"$ctl" "$REPO" "$moddir" "$kver" "$bad_re" "${LEMONADE_DMESG_IGNORE:-}"
	cat <<'EOF'
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 SHELL=/bin/bash
O=/run/lemonade-out
say() { echo "lemonade-vm: $*"; }
halt() {
	sync
	busybox poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 30
	exit 1 # init exits -> panic -> reboot -> QEMU exits (-no-reboot)
}
fail() { say "error: $*"; dmesg | tail -n 40; halt; }

mount -t proc -o nosuid,nodev,noexec proc /proc || fail "mount /proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fail "mount /sys"
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
stty -onlcr 2>/dev/null || true
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || fail "mount /run"
mkdir -p $O && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 lemonadeout $O ||
	fail "cannot mount the output share"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
case $REPO/ in
/tmp/*) ;;
*) mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp || fail "mount /tmp" ;;
esac
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup 2>/dev/null || true
mkdir -p "/lib/modules/$KVER" && mount --bind "$MODDIR" "/lib/modules/$KVER" ||
	fail "cannot bind the kernel modules"
ip link set lo up || fail "ip link set lo up"
echo lemonade-vm >/proc/sys/kernel/hostname
. "$CTL/env"
# the command may look at the kernel log itself (guest.sh, after each test)
export BAD_RE IGNORE_RE
cd "$REPO" || fail "cannot cd to $REPO"

read -r up _ </proc/uptime
say "guest $KVER up in ${up}s; running in $REPO:"
bash "$CTL/cmd" </dev/null
rc=$?
say "command exited with status $rc"
echo "$rc" >$O/rc
dmesg >$O/dmesg.txt 2>&1
bash "$REPO/selftests/vm/dmesg-bad.sh" $O/dmesg.txt >$O/dmesg-bad
if [ -s $O/dmesg-bad ]; then
	say "BAD DMESG: kernel warnings found:"
	cat $O/dmesg-bad
else
	rm -f $O/dmesg-bad
fi
sync
umount $O
halt
EOF
} >"$ctl/stage2.sh"

# ---------------------------------------------------------------- boot

append="console=ttyS0 quiet loglevel=3 panic=-1 printk.devkmsg=on mitigations=off"
append="$append lemonade.ctl=$ctl"
# qboot: minimal firmware, boots -kernel directly and, unlike SeaBIOS,
# writes no terminal escape sequences to the serial console.
bios=()
if [[ -f /usr/share/qemu/qboot.rom ]]; then bios=(-bios qboot.rom); fi
# shellcheck disable=SC2054 # commas are QEMU option syntax
qemu=(qemu-system-x86_64 -nodefaults -nographic -no-reboot
	-accel "${LEMONADE_ACCEL:-tcg,thread=multi}" -cpu max -m 2048 -smp 2 "${bios[@]}"
	-kernel "$vmlinuz" -initrd "$initrd" -append "$append"
	-chardev stdio,id=con,signal=off -serial chardev:con
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$out,mount_tag=lemonadeout,security_model=none,multidevs=remap")
# LEMONADE_QEMU_ARGS: more QEMU options, split at white space (make bench:
# "-icount shift=0", with LEMONADE_ACCEL=tcg,thread=single)
# shellcheck disable=SC2206
qemu+=(${LEMONADE_QEMU_ARGS:-})

log "booting $kver under QEMU/TCG (timeout ${timeout_s}s, out $out)"
t0=$SECONDS
set +e
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null
qrc=$?
set -e
dt=$((SECONDS - t0))

if ((qrc == 124 || qrc == 137)); then
	log "FAIL: timeout after ${timeout_s}s (QEMU killed); out: $out"
	exit 124
fi
if [[ ! -f $out/rc ]]; then
	log "FAIL: the guest did not report an exit status (QEMU status $qrc, ${dt}s); see the console output above"
	exit 1
fi
rc=$(<"$out/rc")
[[ $rc =~ ^[0-9]+$ ]] || rc=1
if [[ -s $out/dmesg-bad ]]; then
	log "FAIL: kernel warnings in guest dmesg (command status $rc); see $out/dmesg-bad and $out/dmesg.txt"
	exit 1
fi
log "command exited with status $rc after ${dt}s; out: $out"
exit "$rc"
