#!/usr/bin/env bash
# Makes a machine ready to build, test and run LayerTracer. Safe to run again: a ready machine costs
# well under a second and prints one line per step.
#
#   bash tools/setup.sh [--browser] [--torch]
#
#   always     Node.js >= 20.19, node_modules current with package-lock.json (npm ci), and a WebGPU
#              adapter through Dawn; with none, as root on Debian bookworm: Mesa lavapipe
#              (mesa-vulkan-drivers >= 24) from bookworm-backports on the machine's own mirror.
#   --browser  Debian's chromium (headless WebGPU tests in test/browser).
#   --torch    python3-torch and python3-torchvision (reference exports, weight exporter).
#
# Anything it cannot install itself (not root, not Debian) stops it with a message naming what to
# install. apt runs non-interactively; its output goes to a log that is shown only on failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_browser=0
want_torch=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    --torch) want_torch=1 ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *)
      echo "setup: unknown option $arg (use --browser, --torch)" >&2
      exit 64
      ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
# Overridable only so the source-list parsing can be tested against sample files.
APT_ETC="${LAYERTRACER_APT_ETC:-/etc/apt}"
LOG="${TMPDIR:-/tmp}/layertracer-setup.$$.log"
trap 'rm -f "$LOG"' EXIT

say() { echo "setup: $*"; }
die() {
  echo "setup: ERROR: $*" >&2
  exit 1
}
show_log() {
  if [[ -s "$LOG" ]]; then
    echo "---- last lines of the log ----" >&2
    tail -n 40 "$LOG" >&2
    echo "-------------------------------" >&2
  fi
}

# ------------------------------------------------------------------ platform facts

is_root=0
[[ "$(id -u)" == 0 ]] && is_root=1
os_id=""
codename=""
if [[ -r /etc/os-release ]]; then
  os_id="$(. /etc/os-release && echo "${ID:-}")"
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
fi
is_debian=0
[[ "$os_id" == debian ]] && command -v apt-get > /dev/null && is_debian=1
can_apt=$((is_root && is_debian))

apt_updated=0
apt_update() {
  ((apt_updated)) && return 0
  local try
  for try in 1 2 3 4; do
    # Lock::Timeout: wait for another apt/dpkg (unattended-upgrades, a parallel job) instead of failing.
    if apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 update -q >> "$LOG" 2>&1; then
      apt_updated=1
      return 0
    fi
    echo "setup: apt-get update failed (try $try of 4), retrying" >&2
    sleep $((try * 5))
  done
  show_log
  die "apt-get update failed 4 times; check the network and /etc/apt/sources.list*"
}

# apt_install [-t suite] package...
apt_install() {
  apt_update
  if ! apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Dpkg::Use-Pty=0 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install -y -q "$@" >> "$LOG" 2>&1; then
    show_log
    die "apt-get install $* failed"
  fi
}

deb_installed() { # deb_installed package... : all installed?
  local p
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null || true)" == installed ]] || return 1
  done
}

# ------------------------------------------------------------------ 1. Node.js

# vite (under vitest) needs Node ^20.19 or >= 22.12.
node_ok() {
  command -v node > /dev/null && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1);'
}
if ! node_ok || ! command -v npm > /dev/null; then
  have="$(command -v node > /dev/null && node --version || echo none)"
  # Debian trixie and later ship a new enough nodejs; bookworm's 18.x is too old for vite/vitest.
  if ((can_apt)); then
    apt_update
    cand="$(apt-cache policy nodejs 2> /dev/null | awk '/Candidate:/ {print $2}')"
    if dpkg --compare-versions "${cand:-0}" ge 20.19 2> /dev/null; then
      say "installing nodejs $cand and npm (apt)"
      apt_install nodejs npm
    fi
  fi
  node_ok && command -v npm > /dev/null ||
    die "Node.js >= 20.19 and npm are needed (found: $have). Install them from https://nodejs.org, deb.nodesource.com (node_20.x or newer) or nvm, then run this again."
fi
say "node $(node --version) ok"

# ------------------------------------------------------------------ 2. node_modules

# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci (node_modules missing or older than package-lock.json)"
  if ! npm ci --no-audit --no-fund --loglevel=error >> "$LOG" 2>&1; then
    show_log
    die "npm ci failed"
  fi
else
  say "node_modules up to date"
fi

# ------------------------------------------------------------------ 3. WebGPU adapter

probe_out=""
probe() { # sets probe_out to the adapter line; status 0 when Dawn gives an adapter and a device
  probe_out="$(node tools/check-adapter.mjs 2>> "$LOG")"
}

# Mirror URI of the machine's own Debian archive (not -security), so backports come from the same place.
debian_mirror() {
  local uri=""
  if [[ -r "$APT_ETC/sources.list.d/debian.sources" ]]; then
    # deb822: blank-line separated stanzas; take the first URI of the stanza that lists the release suite.
    uri="$(awk -v suite="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; hit = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) hit = 1 }
          if ($i ~ /^Enabled:[ \t]*no/) { hit = 0; break }
        }
        if (hit && uris != "") { print uris; exit }
      }' "$APT_ETC/sources.list.d/debian.sources")"
  fi
  if [[ -z "$uri" && -r "$APT_ETC/sources.list" ]]; then
    # one-line format: deb [options] URI suite component...
    uri="$(awk -v suite="$codename" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$APT_ETC/sources.list")"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

add_backports_source() {
  local suite="$codename-backports"
  # apt reads only *.list and *.sources; a suite word on an uncommented line means it is there already.
  if grep -rqsE --include='*.list' --include='*.sources' "^[^#]*[[:space:]]$suite([[:space:]]|$)" \
    "$APT_ETC/sources.list" "$APT_ETC/sources.list.d/"; then
    return 0
  fi
  local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mirror="$(debian_mirror)"
  say "adding apt source $suite main on $mirror"
  {
    echo "Types: deb"
    echo "URIs: $mirror"
    echo "Suites: $suite"
    echo "Components: main"
    if [[ -r "$keyring" ]]; then echo "Signed-By: $keyring"; fi
  } > "$APT_ETC/sources.list.d/$suite.sources"
  apt_updated=0
}

install_lavapipe() {
  if [[ "$codename" == bookworm ]]; then
    # bookworm's own Mesa (22.3) is too old for Dawn's needs; backports carries 24+.
    add_backports_source
    say "installing mesa-vulkan-drivers from bookworm-backports (apt)"
    apt_install -t bookworm-backports mesa-vulkan-drivers
  else
    say "installing mesa-vulkan-drivers (apt)"
    apt_install mesa-vulkan-drivers
  fi
}

no_adapter_help="Install a Vulkan driver and run this again: on Debian bookworm, as root,
  add bookworm-backports to apt and run: apt-get install -t bookworm-backports mesa-vulkan-drivers
  (Mesa lavapipe >= 24, a software adapter); elsewhere mesa-vulkan-drivers >= 24 from your
  distribution, or your GPU's Vulkan driver."

if probe; then
  # An adapter from an old lavapipe (bookworm's own Mesa 22) is usable in name only: upgrade it.
  mesa_major="$(sed -nE 's/.*llvmpipe.*Mesa ([0-9]+)\..*/\1/p' <<< "$probe_out")"
  if [[ -n "$mesa_major" ]] && ((mesa_major < 24)); then
    if ((can_apt)); then
      say "lavapipe from Mesa $mesa_major is too old; upgrading"
      install_lavapipe
      probe || {
        show_log
        die "Dawn lost its adapter after the Mesa upgrade. $no_adapter_help"
      }
    else
      say "WARNING: lavapipe from Mesa $mesa_major is older than 24; kernels may fail. $no_adapter_help"
    fi
  fi
else
  status=$?
  if ((status == 3)); then
    show_log
    die "the webgpu package does not load (rerun after rm -rf node_modules)"
  fi
  ((can_apt)) || die "Dawn finds no WebGPU adapter$( ((is_debian)) && echo ' and this is not root' || echo ' and this is not Debian'). $no_adapter_help"
  say "no WebGPU adapter yet"
  install_lavapipe
  probe || {
    show_log
    die "Dawn still finds no WebGPU adapter after installing Mesa lavapipe. $no_adapter_help"
  }
fi
say "WebGPU ${probe_out%%;*}"

# ------------------------------------------------------------------ 4. chromium (--browser)

if ((want_browser)); then
  chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [[ ! -x "$chromium" ]]; then
    ((can_apt)) || die "the browser tests need Debian's chromium at $chromium (apt-get install chromium as root), or set CHROMIUM_PATH to a Chromium >= 120"
    say "installing chromium (apt)"
    apt_install chromium
    [[ -x "$chromium" ]] || die "chromium installed but $chromium is missing"
  fi
  ver="$(dpkg-query -W -f='${Version}' chromium 2> /dev/null || true)"
  say "chromium ${ver:-at $chromium} ok"
fi

# ------------------------------------------------------------------ 5. torch (--torch)

if ((want_torch)); then
  if deb_installed python3-torch python3-torchvision; then
    say "python3-torch $(dpkg-query -W -f='${Version}' python3-torch) ok"
  elif python3 -c 'import torch, torchvision' 2> /dev/null; then
    say "torch $(python3 -c 'import torch; print(torch.__version__)') ok (not from apt)"
  else
    ((can_apt)) || die "the reference and exporter tools need PyTorch: apt-get install python3-torch python3-torchvision (Debian, as root) or pip install torch torchvision"
    say "installing python3-torch python3-torchvision (apt)"
    apt_install python3-torch python3-torchvision
    # apt's torch belongs to Debian's own interpreter, which a pyenv or venv python3 on PATH hides.
    /usr/bin/python3 -c 'import torch, torchvision' 2>> "$LOG" || {
      show_log
      die "python3-torch installed but does not import"
    }
    say "python3-torch $(dpkg-query -W -f='${Version}' python3-torch) ok"
  fi
fi
