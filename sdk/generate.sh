#!/usr/bin/env bash
# sdk/generate.sh — generates the k8intel client SDKs from proto/ (docs/sdk.md).
#
#   sdk/generate.sh [OUT_DIR]
#
# Python: protoc --python_out/--pyi_out/--grpc_python_out into <python>/k8intel_sdk/_gen, with
# the generated imports made package-relative (k8intel_sdk._gen.k8intel.v1, ...) so that the
# package does not claim the top-level names `k8intel`, `google.rpc` or `grpc.health`.
# Node: a copy of every .proto under <node>/proto (proto-loader reads them at run time) and
# `npm install` when node_modules is missing or older than package-lock.json.
#
# Without OUT_DIR the packages are generated in place (sdk/python, sdk/node; the generated parts
# are gitignored). With OUT_DIR the hand-written sources are copied to OUT_DIR/python and
# OUT_DIR/node first and generated there (what the interop test does, under the build dir).
# Idempotent; concurrent runs on one OUT_DIR wait for each other.
set -euo pipefail

SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SDK
ROOT="$(dirname "$SDK")"
readonly ROOT
readonly PROTOC="${K8I_PROTOC:-protoc}"
readonly GRPC_PYTHON_PLUGIN="${K8I_GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}"
readonly PYTHON=/usr/bin/python3

log() { printf '[sdk] %s\n' "$*" >&2; }
die() { printf '[sdk] error: %s\n' "$*" >&2; exit 1; }

OUT="${1:-$SDK}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
readonly OUT

command -v "$PROTOC" >/dev/null || die "protoc not found (tools/dev install)"
[[ -x $GRPC_PYTHON_PLUGIN ]] || die "$GRPC_PYTHON_PLUGIN not found (tools/dev install)"
command -v npm >/dev/null || die "npm not found (tools/dev install)"

exec 8>"$OUT/.generate.lock"
flock -w 600 8 || die "timed out waiting for $OUT/.generate.lock"

# Every .proto of the API, relative to proto/, in a stable order.
mapfile -t PROTOS < <(cd "$ROOT/proto" && find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
((${#PROTOS[@]})) || die "no .proto files under $ROOT/proto"

# copy_sources LANG: OUT/LANG becomes a copy of sdk/LANG (generated parts and node_modules kept
# out of the copy; an existing node_modules of the destination is kept).
copy_sources() {
  local lang=$1 dst="$OUT/$1"
  [[ $OUT == "$SDK" ]] && return 0
  mkdir -p "$dst"
  find "$dst" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  (cd "$SDK/$lang" && find . -mindepth 1 -maxdepth 1 ! -name node_modules ! -name proto \
    -exec cp -a {} "$dst/" \;)
  rm -rf "$dst/k8intel_sdk/_gen"
}

generate_python() {
  local pkg="$OUT/python/k8intel_sdk" tmp
  tmp="$(mktemp -d "$OUT/python/.gen.XXXXXX")"
  "$PROTOC" -I "$ROOT/proto" -I /usr/include \
    --python_out="$tmp" --pyi_out="$tmp" --grpc_python_out="$tmp" \
    --plugin=protoc-gen-grpc_python="$GRPC_PYTHON_PLUGIN" "${PROTOS[@]}"
  # Package-relative imports and module names; an __init__.py in every generated directory.
  "$PYTHON" - "$tmp" <<'PY'
import os
import re
import sys

root = sys.argv[1]
prefix = "k8intel_sdk._gen."
generated = set()
for d, _, files in os.walk(root):
    if any(f.endswith((".py", ".pyi")) for f in files):
        generated.add(os.path.relpath(d, root).replace(os.sep, "."))
imports = re.compile(r"^(from|import) ([A-Za-z_][\w.]*)", re.M)
names = re.compile(r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, )'([\w.]+)'")


def fix(m):
    # Only modules generated here move; google.protobuf, grpc and typing stay.
    mod = m.group(2)
    owner = mod if m.group(1) == "from" else mod.rpartition(".")[0]
    return f"{m.group(1)} {prefix}{mod}" if owner in generated else m.group(0)


for d, _, files in os.walk(root):
    for f in files:
        if not f.endswith((".py", ".pyi")):
            continue
        path = os.path.join(d, f)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        text = imports.sub(fix, text)
        text = names.sub(lambda m: f"{m.group(1)}'{prefix}{m.group(2)}'", text)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
for d, _, _ in os.walk(root):
    open(os.path.join(d, "__init__.py"), "a").close()
PY
  rm -rf "$pkg/_gen"
  mv "$tmp" "$pkg/_gen"
  log "python: generated $(find "$pkg/_gen" -name '*_pb2.py' | wc -l) modules into ${pkg#"$ROOT"/}/_gen"
}

generate_node() {
  local dir="$OUT/node" p
  rm -rf "$dir/proto"
  for p in "${PROTOS[@]}"; do
    mkdir -p "$dir/proto/$(dirname "$p")"
    cp "$ROOT/proto/$p" "$dir/proto/$p"
  done
  log "node: copied ${#PROTOS[@]} .proto files into ${dir#"$ROOT"/}/proto"
  if [[ ! -d $dir/node_modules/@grpc/grpc-js || ! -d $dir/node_modules/@grpc/proto-loader ||
    ! -f $dir/node_modules/.package-lock.json ||
    $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    log "node: npm install in ${dir#"$ROOT"/}"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --prefer-offline >&2)
  fi
}

copy_sources python
generate_python
copy_sources node
generate_node
log "done: $OUT/python, $OUT/node"
