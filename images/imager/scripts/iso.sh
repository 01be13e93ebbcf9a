# Hybrid ISO: ISO 9660 (Rock Ridge) holding the root filesystem and /boot; an
# EFI system partition image appended as a GPT partition and used as the
# El Torito EFI entry; where the arch boots a PC BIOS too (GRUB_BIOS_PLATFORM set: amd64) also GRUB's El Torito BIOS image and MBR.
. /in/scripts/common.sh
grub_unpack
T=/work/iso
root_tree "$T"
boot_tree "$T"
mkdir -p /work/esp/EFI/BOOT
grub_image "$GRUB_EFI_PLATFORM" "/work/esp/EFI/BOOT/$EFI_BOOT_FILE"
mkfat /work/efi.img $(( ($(kib_of /work/esp) / 1024 + 2) * 1024 )) BUCKOS_EFI /work/esp
esp_guid=28732ac11ff8d211ba4b00a0c93ec93b
set -- -r -V "$VOLUME_LABEL" -o /out/image.iso \
  --modification-date="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S00)" \
  -partition_offset 16 -append_partition 2 "$esp_guid" /work/efi.img -appended_part_as_gpt \
  -c boot/boot.cat
if [ -n "$GRUB_BIOS_PLATFORM" ]; then
  mkdir -p "$T/boot/grub/$GRUB_BIOS_PLATFORM"
  grub_image "$GRUB_BIOS_PLATFORM" "$T/boot/grub/$GRUB_BIOS_PLATFORM/eltorito.img"
  set -- "$@" --grub2-mbr "/work/grub/lib/grub/$GRUB_BIOS_PLATFORM/boot_hybrid.img" --mbr-force-bootable \
    -iso_mbr_part_type a2a0d0ebe5b9334487c068b6b72699c7 \
    -b "boot/grub/$GRUB_BIOS_PLATFORM/eltorito.img" -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info \
    -eltorito-alt-boot
fi
set -- "$@" -e --interval:appended_partition_2:all:: -no-emul-boot
stamp "$T"
xorriso -as mkisofs "$@" "$T" 2>&1 | grep -v -e '^xorriso : UPDATE' -e '^Drive current' -e '^Media current' -e 'Writing to' || true
[ -s /out/image.iso ]
xorriso -indev /out/image.iso -report_el_torito plain -report_system_area plain 2>/dev/null | grep -v '^$' | head -40
