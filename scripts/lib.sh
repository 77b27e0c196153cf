# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers for scripts/setup, scripts/test and scripts/demo: logging,
# Debian package installation, hugepages and the meson build. Sourced, not run.

HVNET_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HVNET_BUILD=${HVNET_BUILD:-$HVNET_TOP/build}
HVNET_HUGEPAGES=${HVNET_HUGEPAGES:-512}

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages listed in scripts/packages that are missing.
hvnet_install_packages() {
	local want missing=() p
	want=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HVNET_TOP/scripts/packages")
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root so they can be installed"
	say "installing ${#missing[@]} Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/hvnet-apt.log 2>&1; then
		apt-get update -q >>/tmp/hvnet-apt.log 2>&1 || true
		apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/hvnet-apt.log 2>&1 ||
			{ tail -20 /tmp/hvnet-apt.log >&2; die "apt-get install failed (log: /tmp/hvnet-apt.log)"; }
	fi
}

# Reserves 2 MiB hugepages and mounts hugetlbfs when absent. Sets
# HVNET_NO_HUGE=1 (and warns) when that is impossible, so DPDK programs are
# started with --no-huge instead.
hvnet_hugepages() {
	local total
	if [ "${HVNET_NO_HUGE:-0}" = 1 ]; then
		warn "HVNET_NO_HUGE=1: DPDK runs without hugepages (slower)"
		return 0
	fi
	total=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
	if [ "${total:-0}" -lt "$HVNET_HUGEPAGES" ]; then
		echo "$HVNET_HUGEPAGES" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
		total=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
	fi
	if ! grep -qs ' hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages 2>/dev/null
		mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
	fi
	if [ "${total:-0}" -lt 64 ] || ! grep -qs ' hugetlbfs ' /proc/mounts; then
		warn "could not reserve hugepages (have ${total:-0}); DPDK runs with --no-huge (slower)"
		export HVNET_NO_HUGE=1
	else
		say "hugepages: $total x 2 MiB reserved, hugetlbfs mounted"
		export HVNET_NO_HUGE=0
	fi
}

# Configures (once) and builds the project into $HVNET_BUILD.
hvnet_build() {
	local opts=()
	[ "${CI:-}" = true ] && opts+=(-Dwerror=true)
	if [ ! -f "$HVNET_BUILD/build.ninja" ]; then
		say "configuring $HVNET_BUILD"
		meson setup "$HVNET_BUILD" "$HVNET_TOP" "${opts[@]}" >/tmp/hvnet-meson.log 2>&1 ||
			{ cat /tmp/hvnet-meson.log >&2; die "meson setup failed"; }
	fi
	say "building"
	ninja -C "$HVNET_BUILD" >/tmp/hvnet-ninja.log 2>&1 ||
		{ grep -E 'error|FAILED' -A3 /tmp/hvnet-ninja.log | head -60 >&2; die "build failed (log: /tmp/hvnet-ninja.log)"; }
}

# Runs CMD ARGS until it succeeds, for at most SECONDS; on time out says what
# it waited for (WHAT) on stderr and returns 1.
hvnet_wait() { # SECONDS WHAT CMD...
	local t=$1 end=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then
			printf 'timeout: %s: not within %s s\n' "$what" "$t" >&2
			return 1
		fi
		sleep 0.2
	done
}
