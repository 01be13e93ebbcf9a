# Shared by the imager scripts. Inputs are under /in, results go to /out.
# Every file gets mtime SOURCE_DATE_EPOCH before it is packed. The per-arch
# values (EFI_BOOT_FILE, GRUB_EFI_PLATFORM, GRUB_BIOS_PLATFORM, empty where the
# arch boots no PC BIOS, GPT_ROOT_TYPE, ...) come from the arch table
# (pipeline/model/arch.ts archEnv), passed in by the imager step.
set -eu
umask 022
: "${SOURCE_DATE_EPOCH:?}" "${ARCH:?}" "${EFI_BOOT_FILE:?}" "${GRUB_EFI_PLATFORM:?}" "${GPT_ROOT_TYPE:?}" "${GRUB_BIOS_PLATFORM?}"
export TZ=UTC LC_ALL=C
mkdir -p /out /work

stamp() { find "$@" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# Unpacks the GRUB stage's tree (built from the pinned source: bin/grub-mkimage
# and lib/grub/<platform>/) to /work/grub. The imager has no GRUB of its own.
grub_unpack() {
  mkdir -p /work/grub
  tar -xf /in/grub.tar -C /work/grub --no-same-owner
}

# grub_image <platform> <output>: GRUB with an embedded early config that finds
# this image's boot filesystem by its tag file and reads /boot/grub/grub.cfg.
grub_image() {
  platform=$1 out=$2
  printf 'search --no-floppy --set=root --file /boot/grub/%s\nset prefix=($root)/boot/grub\n' "$BOOT_TAG" > /work/early.cfg
  mods="normal configfile linux search search_fs_file test echo sleep smbios serial terminal part_gpt part_msdos iso9660 fat ext2"
  case "$platform" in
    i386-pc*) mods="$mods biosdisk" ;;
    x86_64-efi) mods="$mods efi_gop efi_uga all_video" ;;
    arm64-efi) mods="$mods efi_gop all_video" ;;
  esac
  format=$platform
  [ "$platform" = i386-pc ] && format=i386-pc-eltorito
  /work/grub/bin/grub-mkimage -O "$format" -d "/work/grub/lib/grub/$platform" -c /work/early.cfg -p /boot/grub -o "$out" $mods
}

# The boot files every image carries: kernel, initramfs, grub.cfg and the tag.
boot_tree() {
  dest=$1
  mkdir -p "$dest/boot/grub"
  cp /in/boot/kernel "$dest/boot/vmlinuz"
  cp /in/boot/initramfs.cpio.gz "$dest/boot/initramfs.cpio.gz"
  cp /in/cfg/grub.cfg "$dest/boot/grub/grub.cfg"
  echo "$IMAGE_ID" > "$dest/boot/grub/$BOOT_TAG"
}

# root_tree_files <dir>: the stage2 rootfs plus the release of the kernel it
# boots with (KREL, from the kernel stage), which the boot smoke test checks.
root_tree_files() {
  dest=$1
  mkdir -p "$dest"
  tar -xf /in/rootfs.tar -C "$dest" --no-same-owner
  echo "$KREL" > "$dest/etc/buckos-kernel-release"
}

# The root filesystem tree of a disk image: plus the id the initramfs looks for.
root_tree() {
  root_tree_files "$1"
  echo "$IMAGE_ID" > "$1/etc/buckos-image-id"
}

# mkfat <image> <size KiB> <label> <tree>: a FAT filesystem populated with mtools (no mount).
mkfat() {
  img=$1 kib=$2 label=$3 tree=$4
  rm -f "$img"
  # --invariant fixes the times mkfs.fat would take from the clock; mlabel
  # (mtools honours SOURCE_DATE_EPOCH) then sets the derived volume id.
  mkfs.fat -C --invariant "$img" "$kib" >/dev/null
  mlabel -i "$img" -N "$FAT_ID" "::$label"
  stamp "$tree"
  (cd "$tree" && for f in *; do mcopy -s -m -Q -i "$img" "$f" ::/; done)
}

kib_of() { du -s -k --apparent-size "$1" | cut -f1; }
