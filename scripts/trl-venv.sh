#!/usr/bin/env bash
# Creates, or reuses, the Python virtual environment of the TRL trainer backend: torch,
# transformers, trl, peft and accelerate as pinned in requirements-trl.txt. The environment is
# cached: its folder holds a stamp with the sha256 of the requirements file, and a matching stamp
# means nothing to do. Prints the environment's python on the last line.
#   RLAIF_TRL_VENV  the folder (default: .venv-trl in the repository)
#   PYTHON          the interpreter that creates it (default: python3)
#   PIP_INDEX_URL   honoured as pip honours it; when unset and a local mirror exists at
#                   /opt/pypi/simple (this project's machines, where the default index is
#                   unreachable), that mirror is used.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/requirements-trl.txt"
venv="${RLAIF_TRL_VENV:-$root/.venv-trl}"
if command -v sha256sum >/dev/null 2>&1; then
  hash="$(sha256sum "$req" | cut -d' ' -f1)"
else # macOS
  hash="$(shasum -a 256 "$req" | cut -d' ' -f1)"
fi
stamp="$venv/.requirements-sha256"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$hash" ]; then
  echo "TRL environment up to date: $venv"
  echo "$venv/bin/python"
  exit 0
fi
start=$SECONDS
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
index=()
if [ -z "${PIP_INDEX_URL:-}" ] && [ -d /opt/pypi/simple ]; then
  index=(--index-url file:///opt/pypi/simple)
  [ -d /opt/pypi-more/simple ] && index+=(--extra-index-url file:///opt/pypi-more/simple)
fi
# A local mirror that lacks some projects makes pip warn once per project and file:// index;
# the warnings say nothing the result does not, so they are dropped (pip's exit status stays).
{ "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${index[@]}" -r "$req" 2>&1 1>&3 |
  sed '/is ignored: it is neither a file nor a directory/d' >&2; } 3>&1
echo "$hash" >"$stamp" # written last: an interrupted install is rebuilt next time
echo "TRL environment built in $((SECONDS - start)) s: $venv"
echo "$venv/bin/python"
