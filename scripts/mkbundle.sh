#!/usr/bin/env bash
# mkbundle.sh - make an OCI bundle whose rootfs is a static busybox.
#
# Usage: scripts/mkbundle.sh [options] DIR [--] CMD [ARG...]
#
# Writes DIR/config.json and DIR/rootfs (bin/busybox with one symlink per
# applet, made on the host side, plus a minimal /etc). The config is the
# default one that `RUNTIME spec` writes, with process.args set to CMD ARG...
# and process.terminal false.
#
# Options:
#   -s, --spec-from RUNTIME   runtime whose `spec` writes the default config
#                             (default: $BERTH, else <repo>/bin/berth)
#   -c, --cgroups-path PATH   set linux.cgroupsPath
#   -H, --hostname NAME       set hostname
#   -o, --oci-version V       set ociVersion (crun <= 1.8 wants 1.0.x)
#   -r, --rootfs PATH         use this existing rootfs (absolute root.path), make none
#   -b, --busybox PATH        static busybox to copy (default: /bin/busybox from busybox-static)
set -euo pipefail

die() { echo "mkbundle: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
spec_from=${BERTH:-$REPO/bin/berth}
cgroups_path='' hostname='' oci_version='' rootfs=''
busybox=${BUSYBOX:-/bin/busybox}
while [ $# -gt 0 ]; do
	case $1 in
	-s | --spec-from) spec_from=${2:?}; shift ;;
	-c | --cgroups-path) cgroups_path=${2:?}; shift ;;
	-H | --hostname) hostname=${2:?}; shift ;;
	-o | --oci-version) oci_version=${2:?}; shift ;;
	-r | --rootfs) rootfs=${2:?}; shift ;;
	-b | --busybox) busybox=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 2 ] || { usage >&2; exit 2; }
dir=$1
shift
[ "${1:-}" = -- ] && shift
[ $# -ge 1 ] || die "no command given"
command -v jq >/dev/null || die "need jq (scripts/install-deps.sh)"
spec_bin=$(command -v -- "$spec_from") || die "no runtime '$spec_from' to write the default config (make build?)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
[ ! -e "$dir/config.json" ] || die "$dir/config.json exists"

# ---------------------------------------------------------------- rootfs ----
if [ -n "$rootfs" ]; then
	case $rootfs in /*) ;; *) die "--rootfs needs an absolute path" ;; esac
	[ -x "$rootfs/bin/busybox" ] || die "$rootfs has no bin/busybox"
	root_path=$rootfs
else
	[ -x "$busybox" ] || die "no busybox at $busybox (apt-get install busybox-static)"
	# The rootfs has no dynamic loader: the busybox must be static.
	if command -v readelf >/dev/null && LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
		die "$busybox is dynamically linked; install busybox-static"
	fi
	r=$dir/rootfs
	mkdir -p "$r"/{bin,dev,etc,proc,root,sys,tmp}
	chmod 1777 "$r/tmp"
	cp "$busybox" "$r/bin/busybox"
	# `busybox --install -s`, done on the host side: one symlink per applet.
	"$busybox" --list | while read -r applet; do
		[ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"
	done
	[ -e "$r/bin/sh" ] || die "busybox has no sh applet"
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/:/bin/false
		nobody:x:65534:65534:nobody:/:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		nogroup:x:65534:
	EOF
	root_path=rootfs
fi

# ---------------------------------------------------------------- config ----
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && "$spec_bin" spec) || die "$spec_bin spec failed"
[ -s "$tmp/config.json" ] || die "$spec_bin spec wrote no config.json"
# Each argument goes in through its own --arg: jq 1.6 would read "-c" after
# --args as one of its own options.
jq_args=() args_expr=
i=0
for a in "$@"; do
	jq_args+=(--arg "a$i" "$a")
	args_expr+="${args_expr:+,}\$a$i"
	i=$((i + 1))
done
jq "${jq_args[@]}" --arg root "$root_path" --arg cg "$cgroups_path" --arg host "$hostname" --arg ver "$oci_version" '
	.process.args = ['"$args_expr"']
	| .process.terminal = false
	| .root.path = $root
	| if $cg != "" then .linux.cgroupsPath = $cg else . end
	| if $host != "" then .hostname = $host else . end
	| if $ver != "" then .ociVersion = $ver else . end
	' "$tmp/config.json" >"$dir/config.json" || die "jq on the default config failed"
echo "$dir"
