#!/bin/bash
# Builds the tiny test VM image (docs/vm.md) from Debian packages:
#   OUT/metadata.tar.xz  metadata.yaml (type virtual-machine, x86_64), templates/ (none),
#                        boot/vmlinuz and boot/initrd.img (direct kernel boot, ours)
#   OUT/disk.qcow2       the root disk: an ext4 file system (no partition table) with
#                        busybox, the kernel's virtio modules and incus-agent
# Usage: scripts/vm-image.sh OUT AGENT_BINARY [CACHE_DIR]
# The kernel package (Debian's linux-image-*-cloud-amd64) is downloaded once into
# CACHE_DIR; the image is rebuilt only when the agent or this script changed.
set -euo pipefail
out=${1:?OUT}
agent=${2:?AGENT_BINARY}
cache=${3:-$(dirname "$0")/../.cache/vm}
busybox=/bin/busybox
mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)

stamp=$( (sha256sum "$agent" "$0" "$busybox" | cut -d' ' -f1) | sha256sum | cut -c1-16)
if [ -f "$out/disk.qcow2" ] && [ -f "$out/metadata.tar.xz" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$out (cached)"
  exit 0
fi

# The kernel: the newest linux-image-*-cloud-amd64 the package index names, cached.
deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
  [ -n "$pkg" ] || { echo "linux-image-cloud-amd64: not in the package index (apt-get update?)" >&2; exit 1; }
  (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "apt-get download $pkg failed" >&2; exit 1; }
  deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb | head -n1)
fi

work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/kpkg"
kver=$(ls "$work/kpkg/lib/modules" | head -n1)
kmod="$work/kpkg/lib/modules/$kver/kernel"
# Load order (no modprobe in busybox's insmod): dependencies first.
mods="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_modern_dev.ko
drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko drivers/char/virtio_console.ko
drivers/block/virtio_blk.ko net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko
drivers/acpi/button.ko drivers/input/evdev.ko"

# --- initramfs: busybox, the modules, an init that mounts /dev/vda and switches to it.
ini="$work/initramfs"
mkdir -p "$ini"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$ini/bin/busybox"
ln -s busybox "$ini/bin/sh"
for m in $mods; do cp "$kmod/$m" "$ini/modules/"; done
{
  echo '#!/bin/sh'
  echo 'export PATH=/bin'
  echo 'busybox mount -t devtmpfs dev /dev; busybox mount -t proc proc /proc; busybox mount -t sysfs sys /sys'
  echo 'for m in' $(for m in $mods; do basename "$m"; done) '; do busybox insmod /modules/$m; done'
  echo 'i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do busybox sleep 0.05; i=$((i+1)); done'
  echo 'busybox mount -t ext4 /dev/vda /newroot || { echo "no root disk"; exec busybox sh; }'
  echo 'busybox mount --move /dev /newroot/dev; busybox umount /proc /sys'
  echo 'exec busybox switch_root /newroot /sbin/init'
} > "$ini/init"
chmod 755 "$ini/init"
mkdir -p "$work/boot"
cp "$work/kpkg/boot/vmlinuz-$kver" "$work/boot/vmlinuz"
(cd "$ini" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$work/boot/initrd.img"

# --- the root disk: busybox init, DHCP on eth0, acpid (power button -> poweroff), the agent.
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc/acpi/PWRF,dev,proc,sys,run,tmp,root,var/run,var/log,usr/share/udhcpc}
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
  [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
ln -sf ../bin/busybox "$root/sbin/init"
cp "$agent" "$root/sbin/incus-agent"
chmod 755 "$root/sbin/incus-agent"
echo tiny > "$root/etc/hostname"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
cat > "$root/etc/inittab" <<'EOF'
::sysinit:/etc/rcS
::respawn:/sbin/incus-agent
::respawn:/bin/acpid -f
ttyS0::respawn:/bin/getty -n -l /bin/sh -L 115200 ttyS0 vt100
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF
cat > "$root/etc/rcS" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/virtio-ports; mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
hostname -F /etc/hostname
# udev's name link for the agent's port (no udev here)
for p in /sys/class/virtio-ports/*; do
  [ -f "$p/name" ] && ln -sf "../$(basename "$p")" "/dev/virtio-ports/$(cat "$p/name")"
done
ip link set lo up
ip link set eth0 up 2>/dev/null && udhcpc -b -q -i eth0 -s /usr/share/udhcpc/default.script -x hostname:"$(hostname)" >/dev/null 2>&1 &
EOF
chmod 755 "$root/etc/rcS"
cat > "$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface" scope global
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : > /etc/resolv.conf; for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
EOF
chmod 755 "$root/usr/share/udhcpc/default.script"
printf '#!/bin/sh\npoweroff\n' > "$root/etc/acpi/PWRF/00000080"
chmod 755 "$root/etc/acpi/PWRF/00000080"

mke2fs -q -t ext4 -L root -d "$root" -E root_owner=0:0 "$work/disk.raw" 64M
qemu-img convert -c -O qcow2 "$work/disk.raw" "$work/disk.qcow2"

cat > "$work/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Tiny test VM (busybox, Debian kernel $kver, incus-agent)
  os: busybox
  release: tiny
  variant: test
  type: virtual-machine
templates: {}
EOF
tar -C "$work" --owner=0 --group=0 -cJf "$work/metadata.tar.xz" metadata.yaml boot/vmlinuz boot/initrd.img
mv "$work/metadata.tar.xz" "$work/disk.qcow2" "$out/"
echo "$stamp" > "$out/.stamp"
echo "$out"
