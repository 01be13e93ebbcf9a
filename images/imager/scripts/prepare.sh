# Kernel and initramfs for one arch: the kernel comes from the kernel stage
# (built from the pinned source, every driver that finds the root built in,
# so the initramfs carries no modules); a newc initramfs with the stage2
# rootfs and /init.
. /in/scripts/common.sh
: "${KREL:?}"
cp /in/kernel/vmlinuz /out/kernel
# The ELF vmlinux for PVH direct boot (Cloud Hypervisor), where the arch boots one.
[ ! -e /in/kernel/vmlinux ] || cp /in/kernel/vmlinux /out/vmlinux
R=/work/initramfs
mkdir -p "$R"
root_tree_files "$R"
install -m 0755 /in/cfg/init "$R/init"
mkdir -p "$R/dev" "$R/proc" "$R/sys" "$R/newroot"
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
stamp "$R"
(cd "$R" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 > /out/initramfs.cpio.gz
ls -l /out
