# Finding the VM's own disk with busybox sh: sourced by /init, and run by
# test/integration/image-build.test.ts with the guest's own busybox on the built disk.

# The label of the ext2/3/4 filesystem on $1, empty when it holds none. In the superblock (at
# byte 1024 of the volume): the magic 0xEF53 at offset 56, the 16-byte label at offset 120.
ext_label() {
  [ "$(dd if="$1" bs=8 skip=135 count=1 2>/dev/null | od -An -tx1 -N2 | tr -d ' \n')" = 53ef ] || return 0
  dd if="$1" bs=8 skip=143 count=2 2>/dev/null | tr -d '\000'
}

# The first of the virtio disks holding the ext filesystem labelled $1. The disks appear while
# virtio_blk probes (by the time the seed is found, all have), so look again for a little while.
find_ext_disk() {
  tries=0
  while [ "$tries" -lt 10 ]; do
    for dev in /dev/vd*; do
      [ -b "$dev" ] || continue
      [ "$(ext_label "$dev")" = "$1" ] && echo "$dev" && return 0
    done
    sleep 0.1
    tries=$((tries + 1))
  done
  return 1
}
