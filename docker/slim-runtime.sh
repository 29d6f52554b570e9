#!/usr/bin/env bash
# Run by the Dockerfile's `slim` stage, as root, after the `build` stage installed /opt/venv and
# trained the models into $RLS_BOT_CACHE. It assembles /rootfs, the whole file system of the
# default image (FROM scratch): the interpreter, the venv, the shared libraries they load, CA
# certificates and time zones, and nothing else. Why: python:3.11-slim alone is about 130 MB and
# the bot's own libraries 180 MB; only this way does the image stay under 250 MB.
#
# What is left out, and why that is safe:
#   - scikit-learn and SciPy only train the models, and the models are already trained for the
#     content baked in (the `full` target keeps them, for a CONTENT_DIR that differs);
#   - huggingface-hub and its helpers only download, and WordLlama loads from its own wheel;
#   - pip and setuptools; tests folders; wordfreq's word lists for languages other than English
#     (bot/understanding/text.py asks for "en" only); debug symbols of extension modules (not of
#     the libraries auditwheel bundled in *.libs/, which stripping would break).
# The check at the end runs the bot's answering, zone lookup and imports inside /rootfs itself,
# so a missing library fails the build, not the container.
set -euo pipefail
cd /  # cp --parents misreads absolute sources from another folder

venv=/opt/venv
root=/rootfs
python="$venv/bin/python"
prefix="$("$python" -c 'import sys; print(sys.base_prefix)')"   # /usr/local in python:3.11-slim
version="$("$python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')"
site="$("$python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"

# -- 1. the venv, trimmed ------------------------------------------------------------------------
"$python" -m pip uninstall --yes --quiet \
    scikit-learn scipy joblib threadpoolctl narwhals \
    huggingface-hub hf-xet fsspec httpx2 httpcore2 tqdm truststore
"$python" -m pip uninstall --yes --quiet pip setuptools
find "$site/wordfreq/data" -type f ! -name '*_en.msgpack.gz' -delete
find "$venv" -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} +
find "$venv" -type f -name '*.so' ! -path '*.libs/*' -exec strip --strip-unneeded {} +

# -- 2. the interpreter and the standard library, without what a server never imports -----------
mkdir -p "$root$prefix/bin" "$root$prefix/lib"
cp -a "$prefix/bin/$version" "$root$prefix/bin/"
ln -s "$version" "$root$prefix/bin/python3"
ln -s "$version" "$root$prefix/bin/python"
cp -a "$prefix"/lib/libpython3*.so* "$root$prefix/lib/"
strip --strip-unneeded "$root$prefix"/lib/libpython3*.so.*
tar -C "$prefix/lib" -cf - \
    --exclude="$version/test" --exclude="$version/idlelib" --exclude="$version/tkinter" \
    --exclude="$version/turtledemo" --exclude="$version/ensurepip" --exclude="$version/lib2to3" \
    --exclude="$version/pydoc_data" --exclude="$version/config-*" --exclude="$version/site-packages/*" \
    --exclude="$version/lib-dynload/_tkinter*" --exclude="$version/lib-dynload/_test*" \
    --exclude='__pycache__' --exclude='*.pyc' "$version" | tar -C "$root$prefix/lib" -xf -
mkdir -p "$(dirname "$root$venv")"
cp -a "$venv" "$root$venv"
mkdir -p "$root$RLS_BOT_CACHE"
cp -a "$RLS_BOT_CACHE/." "$root$RLS_BOT_CACHE/"
chmod -R a+rX "$root$RLS_BOT_CACHE"   # written 0600 by root at build time; read by uid 10001

# -- 3. every shared library those load, and the loader ------------------------------------------
libraries="$(mktemp)"
linked="$(mktemp)"
# ldd fails on the scripts among the executables; what it prints for the rest is what counts
find "$root$prefix" "$root$venv" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -print0 \
    | xargs -0 ldd > "$linked" 2>/dev/null || true
awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' "$linked" \
    | grep -v -e "^$root" -e "^$prefix/" -e "^$venv/" | sort -u > "$libraries"
rm "$linked"
# glibc opens libgcc_s itself when a thread ends (ldd cannot see that)
ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64|libgcc_s\.so\.1 .*AArch64/ { print $NF }' | head -n 1 >> "$libraries"
while read -r library; do cp -L --parents "$library" "$root"; done < "$libraries"
rm "$libraries"
mkdir -p "$root/etc"
printf '%s\n' "$prefix/lib" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib/aarch64-linux-gnu \
    /usr/lib/aarch64-linux-gnu > "$root/etc/ld.so.conf"
ldconfig -r "$root"

# -- 4. certificates, time zones, the user, writable folders -------------------------------------
cp -L --parents /etc/ssl/certs/ca-certificates.crt "$root"
cp -a --parents /usr/share/zoneinfo "$root"
printf 'root:x:0:0:root:/root:/sbin/nologin\nrls:x:10001:10001:rls-bot:/data:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nrls:x:10001:\n' > "$root/etc/group"
mkdir -p "$root/tmp" "$root/data"
chmod 1777 "$root/tmp"
chown 10001:10001 "$root/data"

# -- 5. the bot works inside /rootfs, with nothing from outside it -------------------------------
chroot="$(command -v chroot)"
check='
import asyncpg, aiosqlite, bot.tg.app, bot.web
from bot.reminders.zones import ZoneFinder
finder = ZoneFinder()
assert finder.find("Berln").zone == "Europe/Berlin"
assert finder.at_location(-31.55, 159.08).zone == "Australia/Lord_Howe"
'
env -i PATH="$venv/bin:$prefix/bin" HOME=/data RLS_BOT_CACHE="$RLS_BOT_CACHE" HF_HUB_OFFLINE=1 \
    "$chroot" --userspec=10001:10001 "$root" "$venv/bin/python" -c "$check"
env -i PATH="$venv/bin:$prefix/bin" HOME=/data RLS_BOT_CACHE="$RLS_BOT_CACHE" HF_HUB_OFFLINE=1 \
    "$chroot" --userspec=10001:10001 "$root" "$venv/bin/rls-bot" ask "what foods have magnesium" | grep -q "Pumpkin seeds"
du -sh "$root"
