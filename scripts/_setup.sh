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
python -m pip install --quiet --upgrade pip
extras="${1:-}"
if [ -n "$extras" ]; then
    python -m pip install --quiet -e "$REPO[$extras]"
else
    python -m pip install --quiet -e "$REPO"
fi
