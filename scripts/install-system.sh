#!/usr/bin/env bash
# Installs the Debian packages vgrid needs on this machine, only those missing (idempotent and quick).
# QEMU and its tools run the VMs; xorriso packs cloud-init seeds; cpio, kmod, xz-utils, zstd and
# e2fsprogs build the tiny image; OpenSSH's client is what users (and the tests) log in with;
# PostgreSQL's server is the store of a cluster of replicas (the tests start throwaway ones of it);
# nginx and Apache's htpasswd are the lab's login in front of vgrid, as the login tests run them;
# Chromium (driven by playwright-core) is the browser of the browser tests.
set -euo pipefail
packages=(qemu-system-x86 qemu-utils xorriso cpio kmod xz-utils zstd e2fsprogs openssh-client ca-certificates postgresql nginx-light apache2-utils chromium fonts-dejavu-core)
# npm fetches the pinned Node.js and the project's packages; a machine without it gets Debian's.
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2; exit 1
  fi
else SUDO=; fi
echo "installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq -o Acquire::Retries=5
# The packages' own services (nginx on port 80, PostgreSQL's main cluster) are not started: the tests
# start their own, on loopback. policy-rc.d is how Debian says so, for the install only.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && made_policy=1
fi
trap '[ -n "$made_policy" ] && $SUDO rm -f "$policy"' EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o Acquire::Retries=5 --no-install-recommends "${missing[@]}" >&2
