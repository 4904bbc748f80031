# Sourced by the scripts that need root (packages, network namespaces): as root they go on;
# otherwise they run again through sudo where it exists, and say what to do where it does not
# (a minimal Debian has no sudo, and root needs none).
# Usage, first lines of a script: . "$(dirname "$0")/as-root.sh" "$@"   (before any cd)
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- bash "$0" "$@"
  fi
  echo "$(basename "$0"): needs root (it installs packages and creates network namespaces);" \
    "run it as root, or install sudo" >&2
  exit 1
fi
