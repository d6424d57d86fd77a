#!/usr/bin/env bash
# Second CI run: the whole test suite at the LOWEST direct dependency versions pyproject.toml declares.
#
# .ci/lowest_constraints.py pins every direct dependency (project + the `dev` extra, following self-references
# such as cx_framework[spark]) to its declared lower bound, so a dependency added to pyproject.toml is covered
# without touching this script; transitive dependencies resolve normally (like uv's --resolution lowest-direct).
# A lower bound that does not install or does not work fails here: raise it in pyproject.toml.
# Browser tests (real Chromium) are skipped in this run only: they test the page, not the library versions,
# and the AppTest page tests still run here. So are the `slow` integration tests (whole reports, Spark at a
# larger size, 50-seed coverage studies): they call the same library APIs the fast tests cover and would add
# ~5 min to CI. The exception is the one-version-of-the-truth suite, slow tests included: it drives every CLI
# command and app page end to end (it found click 8.1's stderr mixing).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-lowest
start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$PYTHON" .ci/lowest_constraints.py pyproject.toml dev > "$VENV/constraints.new"
if ! cmp -s "$VENV/constraints.new" "$VENV/constraints.txt" 2>/dev/null || [ pyproject.toml -nt "$VENV/.installed" ]; then
  echo "lowest direct versions:" $(tr '\n' ' ' < "$VENV/constraints.new")
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c "$VENV/constraints.new" -e ".[dev]"
  mv "$VENV/constraints.new" "$VENV/constraints.txt"
  touch "$VENV/.installed"
else
  rm -f "$VENV/constraints.new"
fi
# every pin must be what is installed (pip could otherwise keep a newer version from an earlier run)
"$VENV/bin/python" - "$VENV/constraints.txt" <<'PY'
import sys
from importlib.metadata import version
from packaging.version import Version
bad = []
for line in open(sys.argv[1]):
    name, _, pinned = line.strip().partition("==")
    if name and Version(version(name)) != Version(pinned):
        bad.append(f"{name} {version(name)} (expected {pinned})")
if bad:
    sys.exit("lowest-versions venv does not hold the pinned versions: " + ", ".join(bad))
PY
"$VENV/bin/python" -m pytest -n 2 --dist loadfile -q -p no:cacheprovider -m "not browser and not slow" \
  --ignore tests/test_one_truth.py
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not browser" tests/test_one_truth.py
echo "lowest-direct-versions run took $(( $(date +%s) - start )) s"
