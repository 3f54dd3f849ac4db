#!/usr/bin/env bash
# The container image's install, without Docker: the commands the Dockerfile's stages run,
# in a fresh virtual environment, then the bot's start-up commands on a new SQLite file.
#
#   scripts/image-install-check.sh [WORK_DIR]
#
# WORK_DIR (default: a new temporary folder) receives src/ (the build context), wheels/,
# venv/ and data/; it is left in place for inspection. PYTHON chooses the interpreter
# (default: python3; the image uses Python 3.11). Exits non-zero at the first step that fails.
#
# Three shortcuts keep it to a few seconds of CPU, and change nothing the image depends on:
# the wheel is built with the setuptools of the calling interpreter when it has one recent
# enough (no build environment installed for one pure-Python wheel); the new environment
# gets its packages from the calling interpreter's pip (`pip --python`, no pip of its own
# installed by ensurepip); and nothing is byte-compiled ahead (Python compiles what it
# imports). IMAGE_CHECK_FAITHFUL=1 runs the Dockerfile's exact commands instead.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

echo "== build stage: the build context and the wheel"
# Copy what the Dockerfile copies (and .dockerignore lets through), so that building writes
# nothing into the checkout.
rm -rf "$work/src" "$work/wheels"
mkdir -p "$work/src"
cp "$root/pyproject.toml" "$root/README.md" "$work/src/"
for package in bot handlers schedules storage; do
  cp -R "$root/$package" "$work/src/$package"
done
find "$work/src" -name __pycache__ -type d -prune -exec rm -rf {} +
faithful="${IMAGE_CHECK_FAITHFUL:-0}"
isolation=()
if [ "$faithful" != 1 ] && "$python" - <<'PY' 2>/dev/null; then
import sys, setuptools
sys.exit(int(setuptools.__version__.split(".")[0]) < 77)  # pyproject's [build-system]
PY
  isolation=(--no-build-isolation)
fi
(cd "$work/src" && "$python" -m pip wheel --no-deps "${isolation[@]}" --wheel-dir "$work/wheels" .)

echo "== runtime stage: a fresh virtual environment with the wheel and its dependencies"
rm -rf "$work/venv"
if [ "$faithful" = 1 ]; then
  "$python" -m venv "$work/venv"
  "$work/venv/bin/pip" install --disable-pip-version-check "$work/wheels"/*.whl
else
  "$python" -m venv --without-pip "$work/venv"
  "$python" -m pip --python "$work/venv/bin/python" install --disable-pip-version-check \
    --no-compile "$work/wheels"/*.whl
fi

echo "== start-up: migrations on a new SQLite file, then one detection"
rm -rf "$work/data"
mkdir -p "$work/data"
cd "$work/data"  # no source tree, .env or liaison.toml here: the image's /config, unmounted
# Only the variables the image sets; nothing from the caller's environment leaks in.
bot_env=(
  env -i "HOME=$work/data" "PATH=$work/venv/bin:/usr/bin:/bin"
  "DATABASE_URL=sqlite:///$work/data/liaison.db"
  "LOG_LEVEL=WARNING"
)
"${bot_env[@]}" liaison-bot db upgrade
verdict="$(echo '{"text": "We are hiring 15 new reps in March"}' | "${bot_env[@]}" liaison-bot detect)"
echo "$verdict"
"$work/venv/bin/python" -c '
import json, sys
verdict = json.loads(sys.argv[1])
assert verdict.get("kind") == "staffing_change", verdict
' "$verdict"
echo "== the image's install works: $work/venv/bin/liaison-bot"
