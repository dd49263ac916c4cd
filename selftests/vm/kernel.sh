#!/bin/bash
# Fetch a Debian kernel image into a private cache for the QEMU test runner.
#
#   selftests/vm/kernel.sh fetch [LABEL]   # LABEL defaults to 6.1
#   selftests/vm/kernel.sh deps            # install missing host tools for run.sh
#   selftests/vm/kernel.sh labels          # list known labels
#
# `fetch` prints exactly one line on stdout:  KVER=<kver> ROOT=<dir>
# Everything else goes to stderr.  Nothing is installed system-wide except
# missing host packages (installed packages are never upgraded).
#
# Cache layout (LEMONADE_CACHE, default /var/cache/nf_lemonade):
#   k/LABEL/debs/        downloaded .debs
#   k/LABEL/root/        dpkg-deb -x of the image (plus depmod output)
#   k/LABEL/root/.lemonade-kver   stamp: KVER of a complete extraction
#   apt/NAME/            private apt config/lists for non-host suites
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
		--no-install-recommends "${missing[@]}" >&2
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

# private_apt NAME URI SUITE... : switch APT/APT_CACHE to a private apt
# configuration under $CACHE/apt/NAME with the given suites (main only) and
# refresh its lists.  Example for a future label:
#     6.12) private_apt bookworm-backports "$(debian_uri bookworm)" bookworm-backports ;;
private_apt() {
	local name=$1 uri=$2 d
	shift 2
	[[ -n $uri ]] || die "could not derive an apt URI for $name"
	d=$CACHE/apt/$name
	mkdir -p "$d/sources.d" "$d/lists/partial" "$d/cache/archives/partial"
	cat >"$d/sources.d/$name.sources" <<-EOF
		Types: deb
		URIs: $uri
		Suites: $*
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	local opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$d/sources.d"
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache")
	APT+=("${opts[@]}")
	APT_CACHE+=("${opts[@]}")
	# Refresh at most once a day.
	if [[ -z $(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit) ]]; then
		log "apt update ($name)"
		"${APT[@]}" update >&2
	fi
}

# ---------------------------------------------------------------- labels

# label_setup LABEL : sets SYSTEM_HEADERS (1 if modules are built against
# the host's installed linux-headers-amd64) and the apt configuration.
SYSTEM_HEADERS=0
label_setup() {
	case $1 in
	6.1)
		# Debian 12's own kernel, from the host's apt configuration.
		SYSTEM_HEADERS=1
		;;
	# Later: other suites through a private apt configuration, e.g.
	# 6.12) private_apt bookworm-backports "$(debian_uri bookworm)" bookworm-backports ;;
	*)
		die "unknown kernel label '$1' (known: $(labels | paste -sd' '))"
		;;
	esac
}
labels() { echo 6.1; }

# Installed linux-headers-amd64 -> KVER ("" if not installed).
installed_headers_kver() {
	dpkg-query -W -f='${Status}|${Depends}\n' linux-headers-amd64 2>/dev/null |
		sed -n 's/^install ok installed|.*linux-headers-\([^ ,]*-amd64\).*/\1/p'
}

# Candidate linux-headers-amd64 -> KVER, from the active apt configuration.
candidate_kver() {
	"${APT_CACHE[@]}" depends linux-headers-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(.*-amd64\)$/\1/p' | head -n1
}

# ---------------------------------------------------------------- fetch

fetch() {
	local label=${1:-6.1} kver cand dir root tmp deb
	[[ $label =~ ^[A-Za-z0-9._+-]+$ ]] || die "bad label '$label'"
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	ensure_pkgs kmod
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
		[[ -n $kver ]] || die "cannot resolve KVER for label $label from apt-cache depends linux-headers-amd64"
	fi

	dir=$CACHE/k/$label
	root=$dir/root
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9 # serialise concurrent fetches of the same label
	if [[ -f $root/.lemonade-kver && $(<"$root/.lemonade-kver") == "$kver" ]]; then
		log "cached: $kver in $root"
		printf 'KVER=%s ROOT=%s\n' "$kver" "$root"
		return 0
	fi

	mkdir -p "$dir/debs"
	local pkg=linux-image-$kver-unsigned
	deb=$(find "$dir/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
	if [[ -z $deb ]]; then
		log "downloading $pkg"
		(cd "$dir/debs" && "${APT[@]}" download "$pkg" >&2) ||
			die "apt-get download $pkg failed (is $kver still in the archive? try 'apt-get update')"
		deb=$(find "$dir/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
		[[ -n $deb ]] || die "download of $pkg produced no .deb"
	fi

	log "extracting $(basename "$deb")"
	tmp=$(mktemp -d "$dir/root.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb -x "$deb" "$tmp"
	prepare_root "$tmp" "$kver"
	echo "$kver" >"$tmp/.lemonade-kver"
	rm -rf "$root"
	mv "$tmp" "$root"
	trap - EXIT
	log "ready: $kver in $root"
	printf 'KVER=%s ROOT=%s\n' "$kver" "$root"
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
