#!/usr/bin/env bash
# v2vm.sh - boot a disposable qemu guest whose only cgroup hierarchy is
# cgroup v2, run one command in it as root, and hand back its output and exit
# status. berth's `make integration-v2` uses it to run the integration and
# cgroup tests on a pure v2 host when the build machine itself is v1/hybrid.
#
# The guest is the host's Debian kernel (newest /boot/vmlinuz-*, booted with
# cgroup_no_v1=all) plus a busybox initramfs built here. Its init mounts
# cgroup2 at /sys/fs/cgroup and enables every available controller (cpuset
# cpu io memory pids, and hugetlb rdma misc when present) in the root
# cgroup.subtree_control; / and /tmp are tmpfs, so pivot_root works. No
# network. qemu runs with TCG (software emulation) unless told otherwise.
#
# Forms:
#   v2vm.sh [OPTIONS] DIR -- COMMAND [ARGS...]
#       Copy the contents of DIR to /mnt/host (writable tmpfs) and run COMMAND
#       there; /mnt/host is first in PATH.
#   v2vm.sh [OPTIONS] --gotest TESTBIN [--dir DIR] [-- TESTFLAGS...]
#       Run a binary from `go test -c`; DIR (say, the package directory, for
#       its testdata/) becomes /mnt/host and the working directory.
#   v2vm.sh [OPTIONS] [--exec] BIN [ARGS...]
#       The `go test -exec tests/v2vm/v2vm.sh ./pkg` form: BIN is copied in
#       along with the files of the current directory (not subdirectories,
#       except testdata/) and runs with that copy as its working directory.
#       Configure it through the V2VM_* variables.
#
# Options, each with its environment variable:
#   --mem SIZE       V2VM_MEM        guest RAM (2G)
#   --cpus N         V2VM_CPUS       guest CPUs (2)
#   --timeout SECS   V2VM_TIMEOUT    limit for the whole VM, boot included (900)
#   --bin PATH       V2VM_HOST_BINS  host programs (names or paths; the
#                                    variable is space separated) installed at
#                                    the same path in the guest, shared
#                                    libraries included
#   --outdir DIR     V2VM_OUTDIR     host directory mounted read-write at
#                                    /mnt/out (virtio-9p)
#   --env K=V        V2VM_ENV        extra environment for COMMAND (the
#                                    variable holds one K=V per line)
#   --module NAME    V2VM_MODULES    more kernel modules to ship and load now
#                                    (overlay veth bridge tun loop nf_tables
#                                    and a few more are always shipped and are
#                                    loaded on demand by the kernel)
#   --debug          V2VM_DEBUG=1    copy the guest console to stderr
# Environment only:
#   V2VM_CACHE        where the extracted vmlinux and the base initramfs are
#                     kept between runs (/var/tmp/berth-v2vm-cache)
#   V2VM_KERNEL       kernel image to boot (newest /boot/vmlinuz-*)
#   V2VM_ACCEL        tcg (default) or kvm
#   V2VM_CGROUP_OPTS  cgroup2 mount options (nsdelegate,memory_recursiveprot)
#   V2VM_NO_AUTOLIBS=1  do not add the shared libraries of dynamically linked
#                     executables found in DIR
#
# COMMAND's stdout and stderr arrive, merged, on this script's stdout while
# it runs. Exit status: COMMAND's own; 124 when the timeout killed the VM;
# 125 when the VM itself failed (panic, broken init, no exit status seen),
# in which case the end of the guest console is printed on stderr.
set -euo pipefail

die() { echo "v2vm: $*" >&2; exit 125; }
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

MEM=${V2VM_MEM:-2G}
CPUS=${V2VM_CPUS:-2}
TIMEOUT=${V2VM_TIMEOUT:-900}
CACHE=${V2VM_CACHE:-/var/tmp/berth-v2vm-cache}
ACCEL=${V2VM_ACCEL:-tcg}
DEBUG=${V2VM_DEBUG:-0}
OUTDIR=${V2VM_OUTDIR:-}
CGOPTS=${V2VM_CGROUP_OPTS:-nsdelegate,memory_recursiveprot}
read -r -a HOST_BINS <<<"${V2VM_HOST_BINS:-}"
read -r -a EXTRA_MODS <<<"${V2VM_MODULES:-}"
ENVLINES=()
if [[ -n ${V2VM_ENV:-} ]]; then
  while IFS= read -r l; do [[ -n $l ]] && ENVLINES+=("$l"); done <<<"$V2VM_ENV"
fi

MODE=dir DIR="" TESTBIN=""
CMD=()
while (($#)); do
  case $1 in
    --mem) MEM=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --bin) HOST_BINS+=("$2"); shift 2 ;;
    --outdir) OUTDIR=$2; shift 2 ;;
    --env) ENVLINES+=("$2"); shift 2 ;;
    --module) EXTRA_MODS+=("$2"); shift 2 ;;
    --debug) DEBUG=1; shift ;;
    --dir) DIR=$2; shift 2 ;;
    --gotest) MODE=gotest; TESTBIN=$2; shift 2 ;;
    --exec) MODE="exec"; shift; (($#)) || die "--exec needs a binary"; TESTBIN=$1; shift; CMD=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; CMD=("$@"); break ;;
    -*) die "unknown option $1" ;;
    *) [[ -z $DIR ]] || die "unexpected argument $1"
       if [[ -f $1 && -x $1 ]]; then  # `go test -exec v2vm.sh`: BIN ARGS...
         MODE="exec"; TESTBIN=$1; shift; CMD=("$@"); break
       fi
       DIR=$1; shift ;;
  esac
done
case $MODE in
  dir) [[ -n $DIR && -d $DIR ]] || die "usage: v2vm.sh DIR -- COMMAND [ARGS...] (see --help)"
       ((${#CMD[@]})) || die "no COMMAND given" ;;
  gotest|exec) [[ -f $TESTBIN ]] || die "test binary $TESTBIN not found"
       [[ -z $DIR || -d $DIR ]] || die "--dir $DIR is not a directory" ;;
esac
[[ -z $OUTDIR || -d $OUTDIR ]] || die "outdir $OUTDIR is not a directory"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
BUSYBOX=$(command -v busybox || true)
if [[ -z $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "need a static busybox (apt-get install busybox-static)"
fi

# ---------------------------------------------------------------- kernel ---
KERNEL=${V2VM_KERNEL:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -1)}
[[ -r $KERNEL ]] || die "no readable kernel image (apt-get install linux-image-amd64)"
KVER=${V2VM_KVER:-$(basename "$KERNEL" | sed 's/^vmlinuz-//')}
MODDIR=/lib/modules/$KVER
[[ -f $MODDIR/modules.dep ]] || die "$MODDIR/modules.dep missing (kernel version $KVER)"
# modules shipped in the initramfs; the guest kernel auto-loads them on demand
# (request_module -> busybox modprobe, e.g. mount -t overlay, ip link add type
# veth); only the virtio/9p stack is loaded eagerly, and only with --outdir.
BASE_MODS=(virtio_pci 9pnet_virtio 9p overlay veth bridge br_netfilter tun loop
           nf_tables nft_compat xt_conntrack nf_conntrack)
EAGER_9P=(virtio_pci 9pnet_virtio 9p)

# resolve module names (with dependencies, load order) to paths relative to MODDIR
resolve_mods() {
  local -A seen=()
  local m line path deps i d
  for m in "$@"; do
    m=${m//_/[-_]}
    line=$(grep -E "(^|/)${m}\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -1) || true
    if [[ -z $line ]]; then
      # built in?  then nothing to load
      grep -qE "/${m}\.ko" "$MODDIR/modules.builtin" 2>/dev/null && continue
      echo "v2vm: warning: module $m not found" >&2; continue
    fi
    path=${line%%:*}; read -r -a deps <<<"${line#*:}"
    for ((i=${#deps[@]}-1; i>=0; i--)); do
      d=${deps[i]}; [[ -n ${seen[$d]:-} ]] || { seen[$d]=1; echo "$d"; }
    done
    [[ -n ${seen[$path]:-} ]] || { seen[$path]=1; echo "$path"; }
  done
}

SELF_HASH=$(sed -n '/^# BASE-BEGIN/,/^# BASE-END/p' "$0" | cat - <(printf '%s\n' "${BASE_MODS[@]}" "$KERNEL" "$(stat -c %Y "$KERNEL")") | md5sum | cut -c1-12)
BASEDIR=$CACHE/$KVER-$SELF_HASH
mkdir -p "$CACHE"

# BASE-BEGIN (everything up to BASE-END is part of the cache key)
build_base() {
  local tmp; tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
  local r=$tmp/root
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,mnt/host,mnt/out,etc,newroot,v2vm,lib/modules/"$KVER"}
  chmod 1777 "$r/tmp"
  cp "$BUSYBOX" "$r/bin/busybox"
  local a
  for a in $("$BUSYBOX" --list); do
    [[ $a == busybox ]] || ln -sf busybox "$r/bin/$a"
  done
  # modules
  local p
  local gm=$r/lib/modules/$KVER
  resolve_mods "${BASE_MODS[@]}" > "$tmp/mods.list"
  : > "$gm/modules.dep"; : > "$gm/modules.alias"
  while read -r p; do
    mkdir -p "$gm/$(dirname "$p")"; cp "$MODDIR/$p" "$gm/$p"
    grep -F "$p:" "$MODDIR/modules.dep" | grep "^$p:" >> "$gm/modules.dep" || true
    local n; n=$(basename "$p" .ko); n=${n//-/_}
    grep -E " ${n}\$" "$MODDIR/modules.alias" >> "$gm/modules.alias" || true
  done < "$tmp/mods.list"
  cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "$gm/" 2>/dev/null || true
  ln -sf ../bin/busybox "$r/sbin/modprobe"
  printf '%s\n' "${EAGER_9P[@]}" > "$r/lib/modules/eager-9p.list"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
  printf '127.0.0.1 localhost v2vm\n::1 localhost\n' > "$r/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\n' > "$r/etc/nsswitch.conf"
  echo v2vm > "$r/etc/hostname"
  cat > "$r/init" <<'INIT'
#!/bin/sh
# Guest init, in two stages. Stage 1 runs with / on the initramfs, which is
# not a mount that pivot_root(2) can move away from, so it copies the tree to
# a fresh tmpfs and switch_roots there. Stage 2 sets up the system.
export PATH=/mnt/host:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
con() { echo "v2vm-init: $*" >/dev/console; }
fail() { con "FAILED: $*"; echo "V2VM-EXIT-CODE=125" >/dev/console; sync; poweroff -f; sleep 10; }
if [ "${V2VM_STAGE:-1}" = 1 ]; then
  mount -t proc proc /proc
  mount -t devtmpfs devtmpfs /dev
  exec </dev/console >/dev/console 2>&1
  mount -t tmpfs -o mode=0755 tmpfs /newroot || fail "tmpfs"
  cd /
  for e in * .[!.]*; do
    case $e in proc|dev|newroot|bin|init|'.[!.]*') ;; *) mv "$e" /newroot/ || fail "mv $e" ;; esac
  done
  cp -a /bin /init /newroot/ || fail "cp bin"
  mkdir -p /newroot/proc /newroot/dev /newroot/sys
  exec </dev/null >/dev/null 2>&1
  umount /dev; umount /proc
  export V2VM_STAGE=2
  exec switch_root /newroot /init
  fail "switch_root"
fi
# ---- stage 2: / is a tmpfs
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
[ -f /v2vm/debug ] || dmesg -n 1
mkdir -p /dev/pts /dev/shm /dev/mqueue /sys/fs/cgroup
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx 2>/dev/null
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t mqueue mqueue /dev/mqueue 2>/dev/null
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
# a /tmp of its own, as on most hosts: tests put their bundles there
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "mount /tmp"
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
CGOPTS=$(cat /v2vm/cgopts 2>/dev/null)
mount -t cgroup2 -o "${CGOPTS:-nsdelegate}" cgroup2 /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
for c in cpuset cpu io memory hugetlb pids rdma misc; do
  grep -qw $c /sys/fs/cgroup/cgroup.controllers && echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
echo /sbin/modprobe > /proc/sys/kernel/modprobe
mods=$(cat /v2vm/modules 2>/dev/null)
[ -f /v2vm/outdir ] && mods="$(cat /lib/modules/eager-9p.list) $mods"
for m in $mods; do modprobe $m || con "modprobe $m failed"; done
hostname v2vm; ip link set lo up 2>/dev/null
if [ -f /v2vm/outdir ]; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,access=any v2vmout /mnt/out || fail "mount 9p outdir"
fi
con "ready: cgroup2 controllers [$(cat /sys/fs/cgroup/cgroup.subtree_control)] uptime $(cut -d' ' -f1 /proc/uptime)s"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
export HOME=/root TERM=dumb V2VM=1
[ -f /v2vm/env ] && . /v2vm/env
( exec sh /v2vm/cmd.sh </dev/null >/dev/ttyS1 2>&1 )
rc=$?
sync
con "command exited with $rc at uptime $(cut -d' ' -f1 /proc/uptime)s"
echo "V2VM-EXIT-CODE=$rc" >/dev/console
poweroff -f
sleep 10
INIT
  chmod 755 "$r/init"
  (cd "$r" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$tmp/base.cpio.gz"
  # the kernel only accepts an uncompressed cpio appended after a compressed
  # one if it starts at a 4-byte aligned offset (zero padding is skipped)
  local sz; sz=$(stat -c %s "$tmp/base.cpio.gz")
  (( sz % 4 == 0 )) || head -c $((4 - sz % 4)) /dev/zero >> "$tmp/base.cpio.gz"
  # The bzImage is XZ compressed; decompressing it under TCG costs ~3s per
  # boot, so extract the ELF vmlinux once (booted via its PVH entry point).
  local off
  off=$(LC_ALL=C grep -obUa $'\xfd7zXZ' "$KERNEL" | head -1 | cut -d: -f1 || true)
  if [[ -n $off ]] && grep -q '^CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null &&
     { tail -c +$((off+1)) "$KERNEL" || true; } | xz -dc --single-stream > "$tmp/vmlinux" 2>/dev/null &&
     [[ $(head -c4 "$tmp/vmlinux" | od -An -c | tr -d ' ') == '177ELF' ]]; then
    :
  else
    echo "v2vm: note: could not extract an ELF vmlinux, booting the bzImage (slower)" >&2
    cp "$KERNEL" "$tmp/vmlinux"
  fi
  cp "$gm/modules.dep" "$tmp/modules.dep"
  rm -rf "$r" "$tmp/mods.list"
  chmod 755 "$tmp"
  rm -rf "$CACHE/$KVER"-*; mv "$tmp" "$BASEDIR"
}
# BASE-END

if [[ ! -f $BASEDIR/base.cpio.gz || ! -f $BASEDIR/vmlinux ]]; then
  exec 9>"$CACHE/.lock"; flock 9
  [[ -f $BASEDIR/base.cpio.gz && -f $BASEDIR/vmlinux ]] || build_base
  flock -u 9; exec 9>&-
fi

# ------------------------------------------------------ per-run initramfs ---
W=$(mktemp -d "${TMPDIR:-/tmp}/v2vm.XXXXXX")
QPID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() { if [[ -n $QPID ]]; then kill -TERM "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; fi; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
S=$W/stage
mkdir -p "$S/v2vm" "$S/mnt/host"

copy_with_libs() { # host path -> same path in guest, plus shared libs
  local src=$1 dst=${2:-$1} lib
  mkdir -p "$S/$(dirname "$dst")"; cp -L "$src" "$S/$dst"
  add_libs "$src"
}
add_libs() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [[ -f $lib && ! -e $S/$lib ]] || continue
    mkdir -p "$S/$(dirname "$lib")"; cp -L "$lib" "$S/$lib"
  done
}
is_dyn_elf() { [[ $(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' ') == '177ELF' ]] && ldd "$1" >/dev/null 2>&1; }

GUEST_CWD=/mnt/host
case $MODE in
  dir) cp -a "$DIR/." "$S/mnt/host/" ;;
  gotest)
    [[ -z $DIR ]] || cp -a "$DIR/." "$S/mnt/host/"
    mkdir -p "$S/mnt/test"; cp -L "$TESTBIN" "$S/mnt/test/"
    CMD=("/mnt/test/$(basename "$TESTBIN")" "${CMD[@]}") ;;
  exec)
    if [[ -n $DIR ]]; then cp -a "$DIR/." "$S/mnt/host/"
    else
      find . -maxdepth 1 -type f -exec cp -a {} "$S/mnt/host/" \;
      [[ ! -d testdata ]] || cp -a testdata "$S/mnt/host/"
    fi
    mkdir -p "$S/mnt/test"; cp -L "$TESTBIN" "$S/mnt/test/"
    CMD=("/mnt/test/$(basename "$TESTBIN")" "${CMD[@]}") ;;
esac
if [[ ${V2VM_NO_AUTOLIBS:-0} != 1 ]]; then
  while IFS= read -r -d '' f; do is_dyn_elf "$f" && add_libs "$f"; done \
    < <(find "$S/mnt" -type f -perm -u+x -print0)
fi
for b in "${HOST_BINS[@]}"; do
  p=$(command -v "$b") || die "host binary $b not found"
  copy_with_libs "$(readlink -f "$p")" "$p"
done
if ((${#EXTRA_MODS[@]})); then
  # extra modules: shipped + loaded eagerly (modprobe resolves deps in the guest)
  resolve_mods "${EXTRA_MODS[@]}" > "$W/extra.list"
  mkdir -p "$S/lib/modules/$KVER"
  cp "$BASEDIR/modules.dep" "$S/lib/modules/$KVER/modules.dep"
  while read -r p; do
    mkdir -p "$S/lib/modules/$KVER/$(dirname "$p")"; cp "$MODDIR/$p" "$S/lib/modules/$KVER/$p"
    grep "^$p:" "$MODDIR/modules.dep" >> "$S/lib/modules/$KVER/modules.dep" || true
  done < "$W/extra.list"
  printf '%s\n' "${EXTRA_MODS[@]}" > "$S/v2vm/modules"
fi
{ printf 'cd %s || exit 125\nexec' "$(q "$GUEST_CWD")"; for a in "${CMD[@]}"; do printf ' %s' "$(q "$a")"; done; echo; } > "$S/v2vm/cmd.sh"
for l in "${ENVLINES[@]}"; do [[ $l == *=* ]] || die "bad --env $l"; echo "export ${l%%=*}=$(q "${l#*=}")"; done > "$S/v2vm/env"
echo "$CGOPTS" > "$S/v2vm/cgopts"
[[ $DEBUG != 1 ]] || touch "$S/v2vm/debug"
[[ -z $OUTDIR ]] || touch "$S/v2vm/outdir"
(cd "$S" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) > "$W/run.cpio"
cat "$BASEDIR/base.cpio.gz" "$W/run.cpio" > "$W/initrd"
rm -rf "$S"

# ------------------------------------------------------------------- boot ---
APPEND="console=ttyS0 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 panic=-1 oops=panic reboot=t random.trust_cpu=on"
[[ $DEBUG == 1 ]] || APPEND+=" quiet loglevel=1"
# shellcheck disable=SC2054 # commas belong to qemu option values
ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
[[ $ACCEL != kvm ]] || ACCEL_ARGS=(-accel kvm -cpu host)
# shellcheck disable=SC2054
QARGS=(-nodefaults -no-user-config -display none -monitor none -no-reboot
       "${ACCEL_ARGS[@]}" -machine pc -smp "$CPUS" -m "$MEM" -nic none
       -kernel "$BASEDIR/vmlinux" -initrd "$W/initrd" -append "$APPEND"
       -chardev "file,id=con,path=$W/console.log"
       -chardev stdio,id=out,signal=off
       -device isa-serial,chardev=con,index=0
       -device isa-serial,chardev=out,index=1)
# shellcheck disable=SC2054
[[ -z $OUTDIR ]] || QARGS+=(-fsdev "local,id=out9p,path=$OUTDIR,security_model=none"
                            -device virtio-9p-pci,fsdev=out9p,mount_tag=v2vmout)
[[ ! -f /usr/share/qemu/qboot.rom ]] || QARGS+=(-bios /usr/share/qemu/qboot.rom)

START=$(date +%s.%N)
# timeout(1) sends TERM (qemu exits cleanly on it), KILL 5s later if needed.
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${QARGS[@]}" </dev/null 2>"$W/qemu.err" &
QPID=$!
set +e; wait "$QPID"; QRC=$?; set -e
QPID=""
END=$(date +%s.%N)
[[ $QRC != 124 && $QRC != 137 ]] || touch "$W/timedout"

show_console() { echo "---- v2vm console (tail) ----" >&2; tail -n "${1:-40}" "$W/console.log" 2>/dev/null | tr -d '\r' >&2; cat "$W/qemu.err" >&2; }
[[ $DEBUG != 1 ]] || { tr -d '\r' < "$W/console.log" >&2; awk -v a="$START" -v b="$END" 'BEGIN{printf "v2vm: VM wall time %.2fs\n", b-a}' >&2; }
if [[ -e $W/timedout ]]; then
  echo "v2vm: TIMEOUT after ${TIMEOUT}s, VM killed" >&2; show_console 20; exit 124
fi
RC=$(tr -d '\r' < "$W/console.log" | grep -aoE 'V2VM-EXIT-CODE=[0-9]+' | tail -1 | cut -d= -f2 || true)
if [[ -z $RC ]]; then
  echo "v2vm: VM ended without an exit marker (qemu rc $QRC)" >&2; show_console 60; exit 125
fi
exit "$RC"
