#!/bin/sh
# Builds GRUB for each platform in $PLATFORMS from /src/$SOURCE_FILE and
# installs, under /out: lib/grub/<platform>/ (modules, kernel.img, boot
# images) and bin/grub-mkimage, the host tool the image steps run. One build
# directory per platform; non-x86 platforms are cross-compiled (TARGET_CC),
# never emulated. Unpacked to a fixed path, so every recorded path (the
# target code's __FILE__ strings) is the same wherever it runs.
# CFLAGS is -Os, GRUB's own target default: GRUB appends the configure-time
# CFLAGS to its target compiles too, and at -O2 GCC moves cold code into
# .text.unlikely, which the linker puts before the i386-pc startup code; that
# kernel.img's entry was 0x9016, not 0x9000, and the BIOS core hung.
set -eu
umask 022
mkdir -p /build/grub /out/bin /out/lib/grub
tar -xJf "/src/$SOURCE_FILE" -C /build/grub --strip-components=1
# The 2.12 release tarball lacks this generated list; without it the build
# stops at "extra_deps.lst: No such file" (fixed upstream after 2.12).
[ -e /build/grub/grub-core/extra_deps.lst ] || echo 'depends bli part_gpt' > /build/grub/grub-core/extra_deps.lst
for platform in $PLATFORMS; do
  case $platform in
    i386-pc) target=i386 with=pc cross= ;;
    x86_64-efi) target=x86_64 with=efi cross= ;;
    arm64-efi) target=aarch64 with=efi cross=aarch64-linux-gnu- ;;
    *) echo "build.sh: no recipe for GRUB platform $platform" >&2; exit 2 ;;
  esac
  b=/build/b-$platform
  mkdir -p "$b"
  cd "$b"
  echo "== GRUB $platform: configure"
  /build/grub/configure --prefix=/usr --target="$target" --with-platform="$with" \
    --disable-nls --disable-werror --disable-grub-mkfont --disable-grub-themes --disable-grub-mount \
    --disable-device-mapper --disable-libzfs --disable-liblzma --disable-efiemu \
    ${cross:+TARGET_CC=${cross}gcc TARGET_OBJCOPY=${cross}objcopy TARGET_STRIP=${cross}strip TARGET_NM=${cross}nm TARGET_RANLIB=${cross}ranlib} \
    CFLAGS="-Os" > configure.log 2>&1 \
    || { tail -40 configure.log; exit 1; }
  echo "== GRUB $platform: make -j$JOBS"
  make -s -j"$JOBS" > make.log 2>&1 || { tail -60 make.log; exit 1; }
  make -s install DESTDIR="$b/inst" > install.log 2>&1 || { tail -40 install.log; exit 1; }
  cp -a "$b/inst/usr/lib/grub/$platform" /out/lib/grub/
  # The BIOS core is entered at the link address: a kernel.img whose entry is elsewhere cannot boot.
  if [ "$platform" = i386-pc ]; then
    entry=$(od -An -tx4 -j24 -N4 "/out/lib/grub/$platform/kernel.img" | tr -d ' ')
    [ "$entry" = 00009000 ] || { echo "build.sh: i386-pc kernel.img entry is 0x$entry, not 0x9000 (link order broken)" >&2; exit 1; }
  fi
  [ -e /out/bin/grub-mkimage ] || cp "$b/inst/usr/bin/grub-mkimage" /out/bin/
done
times
