# Sourced by scripts/demo and scripts/test: makes .venv with everything from the package registries.
# A second run is quick: the install is skipped while setup.py and this file are unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${WANN_ROS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
extras="train,onnx,dev"
venv_flags=()
if [ -n "${ROS_DISTRO:-}" ]; then
    # A sourced ROS 2 distribution provides rclpy and the messages: use them, do not install the wheels.
    venv_flags+=(--system-site-packages)
else
    extras="$extras,ros"
fi
stamp="$VENV/.wann_ros-stamp"
want="$(cat "$ROOT/setup.py" "$ROOT/scripts/env.sh" | sha256sum | cut -d' ' -f1)-$extras"
if [ ! -x "$VENV/bin/python" ]; then
    echo "[wann_ros] creating virtual environment $VENV" >&2
    "$PYTHON" -m venv "${venv_flags[@]}" "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "[wann_ros] installing wann_ros[$extras] into $VENV (first run takes about a minute)" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
    "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
export PYTHONUNBUFFERED=1
cd "$ROOT"
