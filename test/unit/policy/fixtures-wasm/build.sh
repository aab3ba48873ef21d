#!/usr/bin/env bash
# Rebuilds the hand-written OPA-ABI test policies from authz.wat (needs wat2wasm, Debian package
# `wabt`). `./build.sh --check` only verifies that the committed .wasm files match the source.
# authz.wasm declares ABI 1.2 (the SDK's opa_eval fast path); authz-abi1.1.wasm is the same module
# declaring ABI 1.1 (the SDK's opa_eval_ctx_* / eval path).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wat2wasm authz.wat -o "$tmp/authz.wasm"
sed 's/(i32.const 2)) ;; ABI_MINOR/(i32.const 1)) ;; ABI_MINOR/' authz.wat >"$tmp/authz-abi1.1.wat"
grep -q '(i32.const 1)) ;; ABI_MINOR' "$tmp/authz-abi1.1.wat"
wat2wasm "$tmp/authz-abi1.1.wat" -o "$tmp/authz-abi1.1.wasm"
status=0
for f in authz.wasm authz-abi1.1.wasm; do
  if [ "${1:-}" = --check ]; then
    cmp -s "$tmp/$f" "$f" || { echo "$f is out of date with authz.wat (run $0)" >&2; status=1; }
  else
    cp "$tmp/$f" "$f"
  fi
done
exit $status
