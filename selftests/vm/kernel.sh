#!/bin/bash
# Fetch a Debian kernel image into a private cache for the QEMU test runner.
#
#   selftests/vm/kernel.sh fetch [LABEL]   # LABEL defaults to 6.1
#   selftests/vm/kernel.sh build-args LABEL
#   selftests/vm/kernel.sh build LABEL [SRCDIR [MAKE-ARGS...]]
#   selftests/vm/kernel.sh deps            # install missing host tools for run.sh
#   selftests/vm/kernel.sh debug-modules   # the module list of the debug kernel
#   selftests/vm/kernel.sh labels          # list known labels
#
# Labels: 5.10 (bullseye-security), 6.1 (bookworm, the host's apt and its
# installed headers), 6.12 (bookworm-security's linux-6.12, host apt), 7.2
# (sid; built in a sid chroot, since it needs gcc-16 and glibc 2.38+),
# debug (6.1 built here from Debian's linux-source-6.1 of the same version
# as the 6.1 label's kernel, with KASAN, lockdep, kmemleak, fault injection:
# selftests/vm/debug.config; built once per source version and config,
# several hours with -j2 under nice 19 on a busy 2-core host; resumable;
# `make check-debug`).
#
# `fetch` prints exactly one line on stdout:  KVER=<kver> ROOT=<dir>
# `build-args` fetches too and prints one line of shell assignments:
#   KVER=<kver> ROOT=<dir> KDIR=<dir> KBUILD_EXTRA='<args>' CHROOT=<dir or empty>
# meaning `make -C SRCDIR kmod KDIR=... KBUILD_EXTRA=...`, run inside CHROOT
# (with SRCDIR bind-mounted at the same path) when CHROOT is set.
# `build` runs exactly that (SRCDIR defaults to this repository).
# Everything else goes to stderr.  Nothing is installed system-wide except
# missing host packages (installed packages are never upgraded).
#
# Cache layout (LEMONADE_CACHE, default /var/cache/nf_lemonade):
#   k/LABEL/debs/        downloaded .debs
#   k/LABEL/root/        the image (and, for host builds, the headers)
#                        unpacked (plus depmod output)
#   k/LABEL/root/.lemonade-kver   stamp: KVER of a complete extraction
#   apt/NAME/            private apt config/lists for non-host suites
#   chroot/SUITE/        debootstrap chroot for kernels the host cannot build
#   debug/src-VERSION/   linux-source-6.1 VERSION unpacked (read-only use)
#   debug/k-VERSION-HASH/ the debug kernel: build/ (O= tree, the module's
#                        KDIR), root/ (boot/vmlinuz-KVER, lib/modules/KVER),
#                        build.log; HASH covers debug.config, debug.modules
#                        and DEBUG_RECIPE
set -euo pipefail

CACHE=${LEMONADE_CACHE:-/var/cache/nf_lemonade}
PROG=${0##*/}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- packages

# ensure_pkgs PKG... : apt-get install only the packages that are not yet
# installed.  --no-upgrade keeps already-installed packages untouched.
ensure_pkgs() {
	local p missing=()
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
			missing+=("$p")
		fi
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) -eq 0 ]] || die "missing host packages (need root to install): ${missing[*]}"
	log "installing missing host packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-upgrade \
		-o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >&2
}

# Host tools needed by run.sh (and by the netfilter selftests in the guest,
# which run on the host's root file system).
RUNNER_PKGS=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd util-linux iproute2)

# ---------------------------------------------------------------- apt

# APT: the apt command line used for one label (host config by default).
APT=(apt-get -q -o APT::Sandbox::User=root)
APT_CACHE=(apt-cache)

# debian_uri SUITE : the URI of the stanza in the host's debian.sources
# that lists SUITE (so no mirror name is hard-coded anywhere).
debian_uri() {
	local src=/etc/apt/sources.list.d/debian.sources
	[[ -r $src ]] || die "$src not found (needed to derive the mirror URI)"
	awk -v want="$1" '
		/^[ \t]*$/ { uri = ""; suites = ""; next }
		tolower($1) == "uris:"   { uri = $2 }
		tolower($1) == "suites:" { for (i = 2; i <= NF; i++) suites = suites " " $i " " }
		uri != "" && index(suites, " " want " ") { print uri; exit }
	' "$src"
}

# private_apt NAME URI SUITE... [-- URI SUITE...] : switch APT/APT_CACHE to
# a private apt configuration under $CACHE/apt/NAME with the given stanzas
# (main only) and refresh its lists.  Example:
#     private_apt sid "$(debian_uri bookworm)" sid
private_apt() {
	local name=$1 d uri
	shift
	d=$CACHE/apt/$name
	mkdir -p "$d/sources.d" "$d/lists/partial" "$d/cache/archives/partial"
	: >"$d/sources.d/$name.sources.tmp"
	while (($#)); do
		uri=$1
		shift
		[[ -n $uri ]] || die "could not derive an apt URI for $name"
		local suites=()
		while (($#)) && [[ $1 != -- ]]; do
			suites+=("$1")
			shift
		done
		(($#)) && shift # --
		((${#suites[@]})) || die "private_apt $name: no suite for $uri"
		cat >>"$d/sources.d/$name.sources.tmp" <<-EOF
			Types: deb
			URIs: $uri
			Suites: ${suites[*]}
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		EOF
	done
	# A changed configuration invalidates the lists.
	if ! cmp -s "$d/sources.d/$name.sources.tmp" "$d/sources.d/$name.sources"; then
		mv "$d/sources.d/$name.sources.tmp" "$d/sources.d/$name.sources"
		find "$d/lists" -maxdepth 1 -type f -delete
	else
		rm -f "$d/sources.d/$name.sources.tmp"
	fi
	# An empty dpkg status: the host's installed packages (a newer
	# linux-headers-amd64) must not win over the suite's candidates.
	: >>"$d/status"
	local opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$d/sources.d"
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
		-o "Dir::State::status=$d/status")
	APT+=("${opts[@]}")
	APT_CACHE+=("${opts[@]}")
	# Refresh at most once a day.
	if [[ -z $(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit) ]]; then
		log "apt update ($name)"
		"${APT[@]}" update >&2 || die "apt update ($name) failed"
	fi
}

# ---------------------------------------------------------------- labels

# label_setup LABEL : sets SYSTEM_HEADERS (1 if modules are built against
# the host's installed linux-headers-amd64), META (the metapackage whose
# Depends names the KVER), CHROOT_SUITE (build in a debootstrap chroot of
# that suite; empty: build on the host) and the apt configuration.
SYSTEM_HEADERS=0
META=linux-headers-amd64
CHROOT_SUITE=""
CHROOT_URI=""
label_setup() {
	case $1 in
	5.10)
		# Debian 11's kernel: 5.10.0-N is only in bullseye-security.
		private_apt bullseye "$(debian_uri bookworm)" bullseye \
			-- "$(debian_uri bookworm-security)" bullseye-security
		;;
	6.1)
		# Debian 12's own kernel, from the host's apt configuration.
		SYSTEM_HEADERS=1
		;;
	6.12)
		# bookworm-security carries linux-6.12 (newer than the one in
		# bookworm-backports): the host's apt configuration suffices.
		META=linux-headers-6.12-amd64
		;;
	7.2)
		# sid: its kbuild needs gcc-16 and glibc >= 2.38.
		CHROOT_URI=$(debian_uri bookworm)
		private_apt sid "$CHROOT_URI" sid
		CHROOT_SUITE=sid
		;;
	*)
		die "unknown kernel label '$1' (known: $(labels | paste -sd' '))"
		;;
	esac
}
labels() { printf '%s\n' 5.10 6.1 6.12 7.2; } # debug: make check-debug

# Installed linux-headers-amd64 -> KVER ("" if not installed).
installed_headers_kver() {
	dpkg-query -W -f='${Status}|${Depends}\n' linux-headers-amd64 2>/dev/null |
		sed -n 's/^install ok installed|.*linux-headers-\([^ ,]*-amd64\).*/\1/p'
}

# Candidate $META -> KVER, from the active apt configuration.
candidate_kver() {
	"${APT_CACHE[@]}" depends "$META" 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(.*-amd64\)$/\1/p' | head -n1
}

# pkg_depends PKG REGEX : the candidate's Depends matching REGEX (first
# alternative only).
pkg_depends() {
	"${APT_CACHE[@]}" depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \([^ <>]*\)$/\1/p' | grep -E -- "$2" || true
}

pkg_exists() {
	[[ -n $("${APT_CACHE[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p') ]]
}

# image_pkgs KVER : the packages holding vmlinuz and the modules.  7.x split
# linux-image-KVER into linux-binary[-unsigned]-, linux-modules- and
# linux-base-KVER.
image_pkgs() {
	local kver=$1 p
	if pkg_exists "linux-image-$kver-unsigned"; then
		echo "linux-image-$kver-unsigned"
		return
	fi
	pkg_exists "linux-image-$kver" || die "neither linux-image-$kver-unsigned nor linux-image-$kver in apt"
	for p in "linux-binary-unsigned-$kver" "linux-modules-$kver" "linux-base-$kver"; do
		pkg_exists "$p" || die "linux-image-$kver: split package $p not in apt"
		echo "$p"
	done
}

# header_pkgs KVER : arch headers plus the -common and kbuild they depend on.
header_pkgs() {
	local kver=$1 deps
	echo "linux-headers-$kver"
	deps=$(pkg_depends "linux-headers-$kver" '^linux-(headers-.*-common|kbuild-)')
	[[ $deps == *common* && $deps == *kbuild* ]] ||
		die "cannot resolve the -common/kbuild packages of linux-headers-$kver (got: ${deps:-nothing})"
	echo "$deps"
}

# download DIR PKG... : the candidate .debs of PKG... into DIR (kept there),
# one path per line on stdout.
download() {
	local dir=$1 p v f need=() out=()
	shift
	mkdir -p "$dir"
	for p in "$@"; do
		v=$("${APT_CACHE[@]}" show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p')
		[[ -n $v ]] || die "$p: not in apt (is the kernel still in the archive? apt lists are refreshed daily)"
		f=$(find "$dir" -maxdepth 1 -name "${p}_${v//:/%3a}_*.deb" -print -quit)
		if [[ -z $f ]]; then need+=("$p=$v"); fi
	done
	if ((${#need[@]})); then
		log "downloading ${need[*]}"
		(cd "$dir" && "${APT[@]}" download "${need[@]}" >&2) || die "apt-get download failed"
	fi
	for p in "$@"; do
		v=$("${APT_CACHE[@]}" show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p')
		f=$(find "$dir" -maxdepth 1 -name "${p}_${v//:/%3a}_*.deb" -print -quit)
		[[ -n $f ]] || die "download of $p produced no .deb"
		out+=("$f")
	done
	printf '%s\n' "${out[@]}"
}

# unpack DEB DIR : like dpkg-deb -x, but a symlinked directory in DIR (such
# as a merged-/usr lib -> usr/lib) stays a symlink.
unpack() {
	dpkg-deb --fsys-tarfile "$1" | tar -x --keep-directory-symlink -C "$2"
}

# ---------------------------------------------------------------- fetch

fetch() {
	local label=${1:-6.1} kver cand dir root tmp deb
	local -a pkgs debs
	[[ $label =~ ^[A-Za-z0-9._+-]+$ ]] || die "bad label '$label'"
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	ensure_pkgs kmod
	if [[ $label == debug ]]; then
		debug_build
		return
	fi
	label_setup "$label"

	if ((SYSTEM_HEADERS)); then
		# Modules are built against /lib/modules/KVER/build from the
		# installed linux-headers-amd64, so boot exactly that KVER.
		ensure_pkgs linux-headers-amd64
		kver=$(installed_headers_kver)
		[[ -n $kver ]] || die "cannot determine KVER from the installed linux-headers-amd64"
		cand=$(candidate_kver)
		if [[ -n $cand && $cand != "$kver" ]]; then
			log "note: apt offers linux-headers-$cand, but the installed headers are $kver;" \
				"booting $kver (upgrade linux-headers-amd64 to move on)"
		fi
		[[ -e /lib/modules/$kver/build/Makefile ]] ||
			die "installed headers for $kver are incomplete (/lib/modules/$kver/build/Makefile missing)"
	else
		kver=$(candidate_kver)
		[[ -n $kver ]] || die "cannot resolve KVER for label $label from apt-cache depends $META"
	fi
	[[ $kver == "$label".* ]] ||
		die "label $label resolved to kernel $kver (the suite has moved on; update label_setup)"

	dir=$CACHE/k/$label
	root=$dir/root
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9 # serialise concurrent fetches of the same label
	KVER=$kver ROOT=$root
	if [[ -f $root/.lemonade-kver && $(<"$root/.lemonade-kver") == "$kver" ]]; then
		log "cached: $kver in $root"
		exec 9>&-
		return 0
	fi

	mapfile -t pkgs < <(image_pkgs "$kver")
	# Host builds use headers unpacked next to the image; chroot builds
	# unpack them into the chroot instead.
	if ((!SYSTEM_HEADERS)) && [[ -z $CHROOT_SUITE ]]; then
		mapfile -t -O "${#pkgs[@]}" pkgs < <(header_pkgs "$kver")
	fi
	mapfile -t debs < <(download "$dir/debs" "${pkgs[@]}")
	((${#debs[@]} == ${#pkgs[@]})) || die "download failed"

	tmp=$(mktemp -d "$dir/root.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	for deb in "${debs[@]}"; do
		log "extracting $(basename "$deb")"
		unpack "$deb" "$tmp"
	done
	prepare_root "$tmp" "$kver"
	echo "$kver" >"$tmp/.lemonade-kver"
	rm -rf "$root"
	mv "$tmp" "$root"
	trap - EXIT
	exec 9>&-
	log "ready: $kver in $root"
}

# prepare_root ROOT KVER : make an extracted tree usable by kmod and run.sh.
prepare_root() {
	local r=$1 kver=$2 l
	# Merged-/usr layouts ship only usr/lib/modules: give kmod's -b/-d a lib/.
	if [[ ! -e $r/lib && -d $r/usr/lib/modules ]]; then
		ln -s usr/lib "$r/lib"
	fi
	[[ -d $r/lib/modules/$kver ]] || die "no lib/modules/$kver in the extracted image"
	# Same build/source links as the host's headers package, for tools in
	# the guest that look at /lib/modules/$(uname -r)/build.
	for l in build source; do
		if [[ -L /lib/modules/$kver/$l && ! -e $r/lib/modules/$kver/$l ]]; then
			ln -s "$(readlink "/lib/modules/$kver/$l")" "$r/lib/modules/$kver/$l"
		fi
	done
	depmod -b "$r" "$kver"
}

# ---------------------------------------------------------------- debug

# Build dependencies of a kernel from linux-source (host gcc: bookworm's,
# the one Debian built 6.1 with).
DEBUG_PKGS=(build-essential bc bison flex libelf-dev libssl-dev python3 xz-utils kmod cpio)
DEBUG_SRC_PKG=linux-source-6.1
# Part of the cache key with debug.config and debug.modules: bump it when
# a change to debug_build or debug_config changes the kernel it makes.
DEBUG_RECIPE=1

# debug_build : sets KVER ROOT KDIR for the debug kernel, building it first
# unless the cache has it.  Its source is linux-source-6.1 at the version
# of the 6.1 label's kernel (the installed linux-headers-amd64), so the
# debug guest runs the code the suite boots, plus the debug options.
debug_build() {
	local here src_ver hash key dir src b tarball t0 opt val got
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
	ensure_pkgs "${DEBUG_PKGS[@]}"
	# The source version: that of the kernel the 6.1 label boots.
	fetch 6.1 >/dev/null
	src_ver=$(dpkg-query -W -f='${source:Version}' "linux-headers-$KVER" 2>/dev/null) ||
		die "cannot tell the source version of linux-headers-$KVER"
	[[ -n $src_ver ]] || die "linux-headers-$KVER has no source version"
	local base_config=$ROOT/boot/config-$KVER
	[[ -f $base_config ]] || die "no Debian config $base_config"
	hash=$({
		cat "$here/debug.config" "$here/debug.modules"
		echo "recipe $DEBUG_RECIPE"
	} | sha256sum | cut -c1-12)
	key=$src_ver-$hash
	mkdir -p "$CACHE/debug"
	dir=$CACHE/debug/k-$key
	exec 9>"$CACHE/debug/.lock"
	flock 9 # one debug build at a time
	if [[ -f $dir/.lemonade-kver ]]; then
		KVER=$(<"$dir/.lemonade-kver") ROOT=$dir/root KDIR=$dir/build
		log "cached: debug kernel $KVER ($key) in $dir"
		exec 9>&-
		return 0
	fi

	# The source: apt-get download linux-source-6.1=VERSION, unpacked once.
	src=$CACHE/debug/src-$src_ver
	if [[ ! -f $src/.lemonade-src ]]; then
		local debs d
		d=$CACHE/debug/debs
		mkdir -p "$d"
		rm -f "$d"/*.deb
		log "downloading $DEBUG_SRC_PKG=$src_ver"
		(cd "$d" && "${APT[@]}" download "$DEBUG_SRC_PKG=$src_ver" >&2) ||
			die "apt-get download $DEBUG_SRC_PKG=$src_ver failed (has the archive moved past $src_ver? upgrade linux-headers-amd64)"
		debs=("$d"/*.deb)
		rm -rf "$src.tmp"
		mkdir -p "$src.tmp"
		tarball=$(dpkg-deb -c "${debs[0]}" | awk '{ print $6 }' | grep -m1 '/usr/src/linux-source-.*\.tar\.xz$') ||
			die "no source tarball in ${debs[0]}"
		log "unpacking ${tarball##*/} into $src"
		dpkg-deb --fsys-tarfile "${debs[0]}" | tar -xO "$tarball" | tar -xJ -C "$src.tmp" --strip-components=1 ||
			die "cannot unpack $tarball"
		rm -f "${debs[@]}"
		touch "$src.tmp/.lemonade-src"
		rm -rf "$src"
		mv "$src.tmp" "$src"
	fi

	# Unfinished builds of other keys are dropped; an unfinished build of
	# this key goes on where it stopped (make is incremental).
	for d in "$CACHE"/debug/k-*/; do
		[[ -f $d/.lemonade-kver || ${d%/} == "$dir" ]] || rm -rf "$d"
	done
	mkdir -p "$dir"
	b=$dir/build
	if [[ ! -f $dir/.lemonade-config ]]; then
		rm -rf "$b"
		debug_config "$src" "$b" "$base_config" "$here" >"$dir/build.log" 2>&1 ||
			die "debug kernel config failed (see $dir/build.log)"
		touch "$dir/.lemonade-config"
	else
		log "resuming the unfinished build in $dir"
	fi
	t0=$SECONDS
	log "building the debug kernel $key (make -j$(nproc) under nice 19; log: $dir/build.log)"
	nice -n 19 make -C "$src" O="$b" -j"$(nproc)" bzImage modules >>"$dir/build.log" 2>&1 ||
		die "debug kernel build failed (see the end of $dir/build.log)"
	KVER=$(make -s -C "$src" O="$b" kernelrelease 2>/dev/null | tail -n1)
	[[ -n $KVER ]] || die "no kernelrelease"
	mkdir -p "$dir/root/boot"
	make -C "$src" O="$b" INSTALL_MOD_PATH="$dir/root" DEPMOD=/bin/true modules_install >>"$dir/build.log" 2>&1 ||
		die "modules_install failed (see $dir/build.log)"
	cp "$b/arch/x86/boot/bzImage" "$dir/root/boot/vmlinuz-$KVER"
	cp "$b/.config" "$dir/root/boot/config-$KVER"
	cp "$b/System.map" "$dir/root/boot/System.map-$KVER"
	# The module and tools in the guest (dkms, pkg tests) find the tree.
	rm -f "$dir/root/lib/modules/$KVER/build" "$dir/root/lib/modules/$KVER/source"
	ln -s "$b" "$dir/root/lib/modules/$KVER/build"
	ln -s "$src" "$dir/root/lib/modules/$KVER/source"
	depmod -b "$dir/root" "$KVER"
	echo "$((SECONDS - t0))" >"$dir/build-seconds"
	echo "$KVER" >"$dir/.lemonade-kver"
	ROOT=$dir/root KDIR=$b
	log "ready: debug kernel $KVER in $dir (built in $((SECONDS - t0)) s)"
	exec 9>&-
}

# debug_modules : selftests/vm/debug.modules as it should read, from the
# module list of the 6.1 label's image (the directories the suite and the
# kernel's netfilter selftests draw on).  Run it after changing the list of
# directories:  kernel.sh debug-modules >selftests/vm/debug.modules
DEBUG_MODULE_DIRS='^kernel/(net/(netfilter|ipv4|ipv6|bridge|sched|packet|9p|8021q|sctp|llc|802)|fs/(9p|overlayfs|fscache|netfs)|drivers/net/(veth|dummy|macvlan|ipvlan|vrf|tun|ifb|vxlan|geneve|bonding|nlmon|wireguard)|drivers/virtio|crypto/crc32c)'
debug_modules() {
	fetch 6.1 >/dev/null
	sed -n '1,8p' "$(dirname "${BASH_SOURCE[0]}")/debug.modules"
	grep -E "$DEBUG_MODULE_DIRS" "$ROOT/lib/modules/$KVER/modules.order" |
		sed 's|.*/||; s|\.ko.*||; s|-|_|g' | sort -u
}

# debug_config SRC BUILD BASE_CONFIG HERE : Debian's config, trimmed by
# localmodconfig to debug.modules, with debug.config merged over it; fails
# if an option of debug.config did not survive olddefconfig.
debug_config() {
	local src=$1 b=$2 base=$3 here=$4 lsmod line opt want got
	mkdir -p "$b"
	cp "$base" "$b/.config"
	lsmod=$b/lsmod.txt
	{
		echo "Module Size Used"
		grep -v -e '^#' -e '^$' "$here/debug.modules" | sed 's/$/ 0 0/'
	} >"$lsmod"
	make -C "$src" O="$b" olddefconfig || return
	make -C "$src" O="$b" LSMOD="$lsmod" localmodconfig </dev/null || return
	"$src/scripts/kconfig/merge_config.sh" -m -O "$b" "$b/.config" "$here/debug.config" || return
	make -C "$src" O="$b" olddefconfig || return
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) opt=${line%%=*} want=$line ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}; want=$line ;;
		*) continue ;;
		esac
		got=$(grep -E "^($opt=|# $opt is not set)" "$b/.config" || true)
		if [[ $want == *"is not set" && -z $got ]]; then continue; fi
		[[ $got == "$want" ]] || { echo "debug.config: wanted '$want', got '${got:-nothing}'"; return 1; }
	done <"$here/debug.config"
}

# ---------------------------------------------------------------- build

# chroot_setup KVER : a debootstrap chroot of $CHROOT_SUITE with the compiler
# the headers ask for, plus linux-headers-KVER (-common, kbuild) unpacked
# into its / (where their absolute /usr/src paths are right).  Sets CHROOT.
chroot_setup() {
	local kver=$1 ch tmp gcc kbuild stamp deb
	local -a pkgs debs inc
	ch=$CACHE/chroot/$CHROOT_SUITE
	mkdir -p "$CACHE/chroot"
	exec 8>"$CACHE/chroot/.lock-$CHROOT_SUITE"
	flock 8
	mapfile -t pkgs < <(header_pkgs "$kver")
	# The compiler the kernel was built with: a chroot from before the
	# suite moved to another one is made afresh.
	gcc=$(pkg_depends "linux-headers-$kver" '^gcc-[0-9]+' | sed 's/-for-host$//' | head -n1)
	[[ -n $gcc ]] || die "cannot tell which gcc linux-headers-$kver needs"
	if [[ -f $ch/.lemonade-chroot && ! -e $ch/usr/bin/$gcc ]]; then
		log "the $CHROOT_SUITE chroot lacks $gcc: creating it again"
		rm -f "$ch/.lemonade-chroot"
	fi
	if [[ ! -f $ch/.lemonade-chroot ]]; then
		[[ $(id -u) -eq 0 ]] || die "building for $kver needs a $CHROOT_SUITE chroot (run as root)"
		ensure_pkgs debootstrap
		# The compiler, and what kbuild's host tools link against.
		inc=(make "$gcc" pahole)
		kbuild=$(printf '%s\n' "${pkgs[@]}" | grep '^linux-kbuild-')
		mapfile -t -O 3 inc < <(pkg_depends "$kbuild" '^lib')
		log "debootstrap $CHROOT_SUITE into $ch (${inc[*]}); about 100 MB"
		tmp=$ch.tmp
		rm -rf "$tmp"
		debootstrap --variant=minbase --include="$(
			IFS=,
			echo "${inc[*]}"
		)" "$CHROOT_SUITE" "$tmp" "$CHROOT_URI" >&2 ||
			die "debootstrap $CHROOT_SUITE failed (log: $tmp/debootstrap/debootstrap.log)"
		rm -rf "$tmp/var/cache/apt/archives/"*.deb
		touch "$tmp/.lemonade-chroot"
		rm -rf "$ch"
		mv "$tmp" "$ch"
	fi
	stamp=$ch/.lemonade-headers-$kver
	if [[ ! -f $stamp ]]; then
		mapfile -t debs < <(download "$CACHE/k/$LABEL/debs" "${pkgs[@]}")
		((${#debs[@]} == ${#pkgs[@]})) || die "download failed"
		for deb in "${debs[@]}"; do
			log "extracting $(basename "$deb") into the $CHROOT_SUITE chroot"
			unpack "$deb" "$ch"
		done
		[[ -e $ch/lib/modules/$kver/build/Makefile ]] ||
			die "headers for $kver incomplete in $ch"
		touch "$stamp"
	fi
	exec 8>&-
	CHROOT=$ch
}

# build_setup LABEL : fetch, then set KVER ROOT KDIR KBUILD_EXTRA CHROOT.
build_setup() {
	local arch common cc
	LABEL=$1
	KDIR="" KBUILD_EXTRA="" CHROOT=""
	if [[ $LABEL == debug ]]; then
		debug_build
		return
	fi
	fetch "$LABEL"
	if ((SYSTEM_HEADERS)); then
		KDIR=/lib/modules/$KVER/build
	elif [[ -n $CHROOT_SUITE ]]; then
		chroot_setup "$KVER"
		KDIR=/lib/modules/$KVER/build
	else
		# The arch tree's Makefile includes -common's by an absolute
		# /usr/src path; build from -common with O= the arch tree.
		arch=$ROOT/usr/src/linux-headers-$KVER
		common=$(sed -n 's|^include \(/usr/src/[^ ]*\)/Makefile$|\1|p' "$arch/Makefile")
		[[ -n $common && -f $ROOT$common/Makefile ]] ||
			die "cannot find the common headers of $KVER in $ROOT"
		KDIR=$ROOT$common
		KBUILD_EXTRA="O=$arch"
		# Debian pins CC (5.10: gcc-10, absent from bookworm); use the
		# host's gcc when that compiler is missing.
		cc=$(sed -n 's/^CC *= *.*[ )]\([^ )]*\)$/\1/p' "$arch/.kernelvariables" 2>/dev/null | head -n1)
		if [[ -n $cc ]] && ! command -v "$cc" >/dev/null; then
			log "note: $KVER was built with $cc, which the host lacks; using CC=gcc ($(gcc -dumpfullversion))"
			KBUILD_EXTRA+=" CC=gcc"
		fi
		# Module BTF (headers that ship vmlinux) needs pahole.
		if grep -qs '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$arch/.config"; then
			ensure_pkgs pahole
		fi
	fi
}

# build LABEL SRCDIR MAKE-ARGS... : the module build for LABEL.
build() {
	local src=$1
	shift
	src=$(cd "$src" && pwd -P) || die "no source directory"
	[[ -f $src/Makefile ]] || die "$src has no Makefile"
	[[ $src != *[[:space:]]* ]] || die "the source path must not contain white space"
	if [[ -z $CHROOT ]]; then
		log "make -C $src kmod KDIR=$KDIR KBUILD_EXTRA='$KBUILD_EXTRA'"
		make -C "$src" kmod KDIR="$KDIR" KBUILD_EXTRA="$KBUILD_EXTRA" "$@"
		return
	fi
	# objtool reads /proc; the source is bind-mounted at its own path in
	# a throwaway mount namespace, so nothing needs cleaning up.
	log "make -C $src kmod KDIR=$KDIR (in the chroot $CHROOT)"
	mkdir -p "$CHROOT$src"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --pid --fork --mount-proc="$CHROOT/proc" -- /bin/sh -c '
		ch=$1 src=$2
		shift 2
		mount --bind "$src" "$ch$src" || exit 1
		exec chroot "$ch" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin 			HOME=/root LANG=C.UTF-8 make -C "$src" "$@"' sh 		"$CHROOT" "$src" kmod KDIR="$KDIR" KBUILD_EXTRA="$KBUILD_EXTRA" "$@"
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0" >&2
	exit 2
}

main() {
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	fetch)
		(($# <= 1)) || usage
		fetch "$@"
		printf 'KVER=%s ROOT=%s\n' "$KVER" "$ROOT"
		;;
	build-args)
		(($# == 1)) || usage
		build_setup "$1"
		printf "KVER=%s ROOT=%s KDIR=%s KBUILD_EXTRA='%s' CHROOT=%s\n" \
			"$KVER" "$ROOT" "$KDIR" "$KBUILD_EXTRA" "$CHROOT"
		;;
	build)
		(($# >= 1)) || usage
		build_setup "$1"
		shift
		build "${1:-$(dirname "$0")/../..}" "${@:2}"
		;;
	debug-modules)
		(($# == 0)) || usage
		debug_modules
		;;
	deps)
		(($# == 0)) || usage
		ensure_pkgs "${RUNNER_PKGS[@]}"
		;;
	labels) labels ;;
	*) usage ;;
	esac
}

main "$@"
