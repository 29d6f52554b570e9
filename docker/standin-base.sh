#!/usr/bin/env bash
# Only for a machine that cannot pull from Docker Hub (like the CI machines of this project): makes
# a local stand-in for python:3.11-slim-bookworm, so `docker build .` works there. It is built the
# way the official image is: a Debian bookworm minbase root file system (debootstrap) with the
# runtime libraries CPython needs, and this machine's own CPython 3.11 copied into /usr/local,
# without its tests, static library, site-packages or byte code; then pip. It trusts the CA
# certificates this machine trusts (an egress proxy's, for instance). Needs root, debootstrap and
# a running Docker daemon. Usage: sudo docker/standin-base.sh [tag]
set -euo pipefail
tag="${1:-python:3.11-slim-bookworm}"
python="$(command -v python3.11 || command -v python3)"
prefix="$("$python" -c 'import sys; print(sys.base_prefix)')"
version="$("$python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')"
[ "$version" = python3.11 ] || { echo "standin-base: needs CPython 3.11, found $version" >&2; exit 2; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase \
    --include=ca-certificates,netbase,tzdata,libssl3,libsqlite3-0,libffi8,libbz2-1.0,liblzma5,libreadline8,libncursesw6,zlib1g,libuuid1,libexpat1,libgdbm6,libcrypt1,libtirpc3 \
    bookworm "$root" http://deb.debian.org/debian
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/var/log/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

tar -C "$prefix" -cf - --exclude="lib/$version/site-packages/*" --exclude="lib/$version/test" \
    --exclude='*/tests' --exclude='*/idle_test' --exclude="lib/$version/idlelib" --exclude="lib/$version/tkinter" \
    --exclude="lib/$version/turtledemo" --exclude='lib-dynload/_tkinter*' --exclude='*.pyc' --exclude='__pycache__' \
    --exclude='*.a' bin/"$version" bin/python3 bin/python include lib | tar -C "$root/usr/local" -xf -
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
chroot "$root" /sbin/ldconfig
chroot "$root" /usr/local/bin/python3 -m ensurepip --upgrade > /dev/null
ln -sf pip3 "$root/usr/local/bin/pip"
find "$root/usr/local" -depth -name __pycache__ -exec rm -rf {} +

tar -C "$root" --numeric-owner -cf - . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$tag"
docker images "$tag"
