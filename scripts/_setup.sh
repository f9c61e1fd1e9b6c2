# Shared by scripts/run-gateway and scripts/test: make .venv and install PromptGate into it.
# Usage: . scripts/_setup.sh [extras]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$REPO/.venv/bin/python" ]; then
    "$PYTHON" -m venv "$REPO/.venv"
fi
# shellcheck disable=SC1091
. "$REPO/.venv/bin/activate"
extras="${1:-}"
target="$REPO"
[ -n "$extras" ] && target="$REPO[$extras]"
# The build backend is chatty even when all is well: keep its output in a
# log and show it only if the install fails.
log="$REPO/.venv/setup.log"
if ! { python -m pip install --quiet --upgrade pip && python -m pip install --quiet -e "$target"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup failed; the log above is also in $log" >&2
    exit 1
fi
