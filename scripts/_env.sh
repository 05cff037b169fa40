# Shared by scripts/demo and scripts/test: a virtualenv in .venv with the
# project installed against constraints.txt, reinstalled when either changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.carm-installed
want=$(cat setup.cfg pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # the build backend's warnings are noise to whoever runs the README's commands: shown only on failure
  log=$(mktemp)
  if ! { .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24" \
         && .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]' \
         && .venv/bin/python -m pip check; } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; echo "installing the project failed (above)" >&2; exit 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
