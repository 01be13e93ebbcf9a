# GPT disk: an EFI system partition (FAT, GRUB + kernel + initramfs) and an
# ext4 root populated with mkfs.ext4 -d; partitions written into a sparse file.
. /in/scripts/common.sh
grub_unpack
E=/work/esp
mkdir -p "$E/EFI/BOOT"
boot_tree "$E"
grub_image "$GRUB_EFI_PLATFORM" "$E/EFI/BOOT/$EFI_BOOT_FILE"
esp_mib=$(( $(kib_of "$E") / 1024 + 4 ))
mkfat /work/esp.img $((esp_mib * 1024)) BUCKOS_EFI "$E"
R=/work/root
root_tree "$R"
stamp "$R"
root_mib=$(( $(kib_of "$R") * 3 / 2 / 1024 + 16 ))
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L buckos-root -U "$FS_UUID" -b 4096 -I 256 \
  -E "hash_seed=$FS_UUID,lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0" -d "$R" /work/root.img "${root_mib}M"
# mkfs.ext4 -d copies each file's ctime (when it was unpacked here) and atime
# (reading a directory updates it); pin both.
{ echo /; echo /lost+found; (cd "$R" && find . -mindepth 1 | sed 's#^\.##'); } | while read -r p; do
  printf 'sif "%s" ctime @%s\nsif "%s" atime @%s\n' "$p" "$SOURCE_DATE_EPOCH" "$p" "$SOURCE_DATE_EPOCH"
done > /work/ctime.cmds
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -f /work/ctime.cmds /work/root.img >/dev/null 2>/work/debugfs.err || { cat /work/debugfs.err; exit 1; }
e2fsck -fn /work/root.img >/dev/null
total_mib=$((1 + esp_mib + root_mib + 1))
rm -f /out/image.raw
truncate -s "${total_mib}M" /out/image.raw
sfdisk -q --no-reread --no-tell-kernel /out/image.raw <<EOS
label: gpt
label-id: $DISK_GUID
unit: sectors
first-lba: 2048
start=2048, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_GUID, name="EFI system"
start=$(((1 + esp_mib) * 2048)), size=$((root_mib * 2048)), type=$GPT_ROOT_TYPE, uuid=$ROOT_GUID, name="buckos-root"
EOS
dd if=/work/esp.img of=/out/image.raw bs=1M seek=1 conv=notrunc,sparse status=none
dd if=/work/root.img of=/out/image.raw bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
sfdisk -l /out/image.raw
printf '{"espMiB":%d,"rootMiB":%d,"diskMiB":%d}\n' "$esp_mib" "$root_mib" "$total_mib" > /out/layout.json
