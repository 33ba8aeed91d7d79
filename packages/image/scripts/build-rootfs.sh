#!/usr/bin/env bash
# Builds the minimal Debian root file system of the measured image, reproducibly,
# and prints its digests: the tarball, the squashfs image, the dm-verity root hash
# (to put on the kernel command line as roothash=) and the component-tree root
# (HOST_DATA / MRCONFIGID). Run it twice: the digests must be identical.
#
#   packages/image/scripts/build-rootfs.sh OUTDIR [production|dev] [MIRROR]
#
# production removes the shells and the package manager from the tree; dev keeps
# them and says so in /etc/veritee-mode (a component, so the two modes have
# different component-tree roots; the kernel command line should carry
# veritee.mode=dev too, which the SNP kernel-hashes table measures).
# Needs root, mmdebstrap, squashfs-tools, cryptsetup-bin (veritysetup); MIRROR
# defaults to the host's apt sources. Not run by the test suite (minutes, network).
set -euo pipefail
out=${1:?usage: build-rootfs.sh OUTDIR [production|dev] [MIRROR]}
mode=${2:-production}
mirror=${3:-}
case "$mode" in production|dev) ;; *) echo "mode must be production or dev" >&2; exit 2 ;; esac
for t in mmdebstrap mksquashfs veritysetup; do command -v "$t" >/dev/null || { echo "missing $t: apt-get install -y mmdebstrap squashfs-tools cryptsetup-bin" >&2; exit 3; }; done
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}
mkdir -p "$out"
hooks=(--customize-hook="echo 'veritee.mode=$mode' > \"\$1/etc/veritee-mode\"")
if [ "$mode" = production ]; then
  hooks+=(--customize-hook='for p in usr/bin usr/sbin bin sbin; do for f in apt apt-get apt-cache apt-config apt-mark dpkg dpkg-deb dpkg-query dpkg-split dpkg-divert dpkg-statoverride dpkg-trigger dpkg-maintscript-helper bash dash sh rbash; do rm -f "$1/$p/$f"; done; done')
fi
mmdebstrap --variant=minbase --mode=unshare --skip=output/dev \
  --aptopt='Acquire::Check-Valid-Until "false"' "${hooks[@]}" \
  bookworm "$out/rootfs.tar" ${mirror:+"$mirror"}
rm -rf "$out/tree" && mkdir "$out/tree" && tar -xpf "$out/rootfs.tar" -C "$out/tree" --numeric-owner
# squashfs-tools takes its timestamps from SOURCE_DATE_EPOCH.
mksquashfs "$out/tree" "$out/rootfs.squashfs" -noappend -reproducible -quiet >/dev/null
# A fixed salt and UUID: the verity tree is then a function of the image alone.
salt=$(printf 'veritee rootfs verity salt' | sha256sum | cut -d' ' -f1)
roothash=$(veritysetup format "$out/rootfs.squashfs" "$out/rootfs.verity" --salt="$salt" --uuid=00000000-0000-4000-8000-000000000000 | awk '/Root hash:/ {print $3}')
node "$repo/packages/cli/dist/bin.js" image manifest --root "$out/tree" --exclude dev --exclude proc --exclude sys --exclude run --exclude tmp --exclude var --out "$out/manifest.json" > "$out/manifest.txt"
{
  echo "mode: $mode"
  echo "rootfs.tar      sha256 $(sha256sum "$out/rootfs.tar" | cut -d' ' -f1)"
  echo "rootfs.squashfs sha256 $(sha256sum "$out/rootfs.squashfs" | cut -d' ' -f1)"
  echo "rootfs.verity   sha256 $(sha256sum "$out/rootfs.verity" | cut -d' ' -f1)"
  echo "dm-verity root hash    $roothash  (kernel command line: roothash=$roothash)"
  grep -E '^(components|root):' "$out/manifest.txt"
} | tee "$out/digests.txt"
