# qcow2 from the raw disk: compressed clusters, written in order by one
# coroutine so two runs produce the same bytes.
. /in/scripts/common.sh
qemu-img convert -q -f raw -O qcow2 -c -m 1 -o compression_type=zlib,cluster_size=65536 /in/image.raw /out/image.qcow2
qemu-img info /out/image.qcow2
