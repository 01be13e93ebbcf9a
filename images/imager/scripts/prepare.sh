# Kernel and initramfs for one arch: the kernel from the pinned linux-image
# .deb (dpkg-deb -x, no maintainer scripts); a newc initramfs with the stage2
# rootfs, /init and the modules in kernel.json (with their dependencies).
. /in/scripts/common.sh
: "${KREL:?}"
mkdir -p /work/k /work/initramfs
dpkg-deb -x /in/debs/linux-image.deb /work/k
cp "/work/k/boot/vmlinuz-$KREL" /out/kernel
depmod -b /work/k "$KREL"
R=/work/initramfs
tar -xf /in/rootfs.tar -C "$R" --no-same-owner
install -m 0755 /in/cfg/init "$R/init"
mkdir -p "$R/dev" "$R/proc" "$R/sys" "$R/newroot"
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
M="/lib/modules/$KREL"
mkdir -p "$R$M"
: > /work/load
for m in $(cat /in/cfg/modules.txt); do
  modprobe -d /work/k -S "$KREL" --show-depends "$m" > /work/deps || { echo "module $m not found in $KREL" >&2; exit 1; }
  sed -n 's/^insmod \([^ ]*\).*/\1/p' /work/deps >> /work/load
done
# First occurrence wins, so dependencies stay ahead of the modules that need them.
awk '!seen[$0]++' /work/load > /work/load.uniq
while read -r ko; do
  rel=${ko#/work/k$M/}
  mkdir -p "$R$M/$(dirname "$rel")"
  cp "$ko" "$R$M/$rel"
  echo "$rel" >> "$R$M/buckos.load"
done < /work/load.uniq
cp "$R$M/buckos.load" /out/modules.txt
stamp "$R"
(cd "$R" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 > /out/initramfs.cpio.gz
cp "/work/k/boot/config-$KREL" /out/config
ls -l /out
if [ "$ARCH" = amd64 ]; then
  # ELF vmlinux for PVH direct boot (Cloud Hypervisor): the bzImage payload, decompressed.
  k=/out/kernel
  setup=$(od -An -tu1 -j 497 -N1 "$k" | tr -d ' ')
  [ "$setup" -eq 0 ] && setup=4
  off=$(od -An -tu4 -j 584 -N4 "$k" | tr -d ' ')
  len=$(od -An -tu4 -j 588 -N4 "$k" | tr -d ' ')
  tail -c +$(( (setup + 1) * 512 + off + 1 )) "$k" | head -c "$len" | xz -dc --single-stream > /out/vmlinux
  [ "$(head -c 4 /out/vmlinux | od -An -c | tr -d ' ')" = '177ELF' ] || { echo "vmlinux extraction failed" >&2; exit 1; }
fi
