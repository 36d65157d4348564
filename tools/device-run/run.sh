#!/bin/bash
# Runs on a lent GPU machine after `node tools/device-run/pack.mjs` here (carry .devrun): the kernel
# cases against their CPU references, the kernel bench (GPU timestamps), bench:peers against PyTorch
# CUDA and TF.js, and ResNet-50 profiles at batch 1 and 8. Everything it prints goes to $OUT/log.txt;
# the reports to $OUT/bench, $OUT/peers and $OUT/profile-*.md. Each step has its own time limit, so one
# that hangs cannot take the others' time. DEVRUN_LOCAL=1 skips unpacking system libraries (a dry run
# on a machine that has them).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the folder for the results}
exec > >(tee -a "$OUT/log.txt") 2>&1
t0=$(date +%s)
stamp() { echo "=== $1 at +$(($(date +%s) - t0)) s"; }

stamp setup
if [ -z "${DEVRUN_LOCAL:-}" ]; then
  for f in .devrun/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
mkdir -p /tmp/devrun-node && xz -dc .devrun/node.xz >/tmp/devrun-node/node && chmod +x /tmp/devrun-node/node
export PATH=/tmp/devrun-node:$PATH
[ -d node_modules/webgpu ] || tar -xJf .devrun/node_modules.tar.xz
mkdir -p ../shared/data/cifar10 && cp -n .devrun/shared/*.safetensors ../shared/data/cifar10/
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader 2>/dev/null
PY=
for p in "$(command -v python3)" /usr/bin/python3; do
  if [ -x "$p" ] && "$p" -c "import torch, torchvision" 2>/dev/null; then PY=$p && break; fi
done
[ -n "$PY" ] || { echo "no python3 with torch and torchvision: bench:peers runs without PyTorch"; PY=/usr/bin/python3; }
"$PY" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.cuda.is_available())"
TORCH_DEVICE=$("$PY" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')" 2>/dev/null || echo cpu)

stamp "kernel cases"
timeout 120 node .devrun/kernel-cases.js || echo "kernel cases: exit $?"
stamp "kernel bench"
timeout 200 node .devrun/main.js --min-seconds 0.1 --max-case-seconds 1 --out "$OUT/bench"
stamp "profiles"
for b in 1 8; do
  timeout 60 node .devrun/cli.js profile --arch resnet50 --batch "$b" --warmup 3 --top 14 --out "/tmp/devrun-profile$b" &&
    cp /tmp/devrun-profile"$b"/*.md "$OUT/profile-resnet50-b$b.md"
done
stamp "peers"
timeout 240 node .devrun/peers.js --quick --rounds 5 --warmup 5 --torch-device "$TORCH_DEVICE" --python "$PY" --out "$OUT/peers"
stamp done
