;; A hand-written stand-in for an `opa build -t wasm` policy.wasm: it implements the parts of OPA's
;; wasm ABI (version 1.2) that @open-policy-agent/opa-wasm calls, so that moat's loader and the SDK
;; can be exercised end to end without an `opa` binary. It is not Rego: "values" are JSON text.
;;
;; Entrypoints (by id; `entrypoints()` lists them out of id order, as OPA's sorted-key dump does for
;; e.g. `-e moat/authz/decision -e moat/authz/allow`, so callers must not take the first key as id 0):
;;   0 moat/authz/allow  [{"result":true}] if the input's JSON text contains "user":"alice",
;;                       else [{"result":false}]; aborts (opa_abort) if it contains "abort":true
;;   1 moat/authz/data   [{"result":<data>}] (the document loaded with setData / data.json)
;;   other ids           opa_abort("invalid entrypoint id")
;;
;; Values: a value is an 8-byte cell {ptr, len} pointing at JSON text on the heap. opa_json_parse
;; and opa_value_parse wrap their argument (no validation beyond "not empty"); opa_json_dump and
;; opa_value_dump copy the text out NUL-terminated. Memory is a bump allocator (opa_free is a no-op),
;; reset by the SDK through opa_heap_ptr_set. opa_value_add_path/remove_path are stubs returning
;; OPA_ERR_INTERNAL (1): the SDK does not call them.
;;
;; The ABI minor version below is 2, so the SDK takes the one-call `opa_eval` fast path; the
;; build script also emits a variant with minor version 1 (authz-abi1.1.wasm) that makes the SDK use
;; the older opa_eval_ctx_* / eval path. Rebuild with ./build.sh (needs wat2wasm from wabt).
(module
  (import "env" "memory" (memory 2))
  (import "env" "opa_abort" (func $opa_abort (param i32)))
  (import "env" "opa_println" (func $opa_println (param i32)))
  (import "env" "opa_builtin0" (func $opa_builtin0 (param i32 i32) (result i32)))
  (import "env" "opa_builtin1" (func $opa_builtin1 (param i32 i32 i32) (result i32)))
  (import "env" "opa_builtin2" (func $opa_builtin2 (param i32 i32 i32 i32) (result i32)))
  (import "env" "opa_builtin3" (func $opa_builtin3 (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "opa_builtin4" (func $opa_builtin4 (param i32 i32 i32 i32 i32 i32) (result i32)))

  (global (export "opa_wasm_abi_version") i32 (i32.const 1))
  (global (export "opa_wasm_abi_minor_version") i32 (i32.const 2)) ;; ABI_MINOR

  ;; static strings (offset, length)
  (data (i32.const 1024) "{}")                           ;; 1024 2   builtins() / empty data
  (data (i32.const 1040) "{\"moat/authz/data\":1,\"moat/authz/allow\":0}") ;; 1040 42
  (data (i32.const 1104) "\"user\":\"alice\"")           ;; 1104 14  allow needle
  (data (i32.const 1136) "\"abort\":true")               ;; 1136 12  abort needle
  (data (i32.const 1152) "[{\"result\":true}]")          ;; 1152 17
  (data (i32.const 1184) "[{\"result\":false}]")         ;; 1184 18
  (data (i32.const 1216) "[{\"result\":")                ;; 1216 11
  (data (i32.const 1232) "}]")                           ;; 1232 2
  (data (i32.const 1248) "moat test policy: input asked to abort\00")
  (data (i32.const 1296) "invalid entrypoint id\00")

  ;; the heap starts above the static data
  (global $heap (mut i32) (i32.const 4096))

  ;; ---- memory -------------------------------------------------------------------------------
  (func $opa_malloc (export "opa_malloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (global.get $heap))
    ;; keep allocations 8-byte aligned
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7))
                             (i32.const -8)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                               (i32.const 65535))
                                      (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))

  (func (export "opa_free") (param i32))

  (func (export "opa_heap_ptr_get") (result i32) (global.get $heap))
  (func (export "opa_heap_ptr_set") (param i32) (global.set $heap (local.get 0)))

  (func $memcpy (param $dst i32) (param $src i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  ;; ---- values: {ptr, len} cells over JSON text ------------------------------------------------
  (func $value_new (param $ptr i32) (param $len i32) (result i32)
    (local $v i32)
    (local.set $v (call $opa_malloc (i32.const 8)))
    (i32.store (local.get $v) (local.get $ptr))
    (i32.store offset=4 (local.get $v) (local.get $len))
    (local.get $v))

  ;; copies the text (the caller's buffer may be reused) and wraps it; 0 for empty text
  (func $opa_json_parse (export "opa_json_parse") (param $ptr i32) (param $len i32) (result i32)
    (local $copy i32)
    (if (i32.eqz (local.get $len)) (then (return (i32.const 0))))
    (local.set $copy (call $opa_malloc (local.get $len)))
    (call $memcpy (local.get $copy) (local.get $ptr) (local.get $len))
    (call $value_new (local.get $copy) (local.get $len)))

  (func (export "opa_value_parse") (param i32 i32) (result i32)
    (call $opa_json_parse (local.get 0) (local.get 1)))

  ;; NUL-terminated copy of a value's text
  (func $opa_json_dump (export "opa_json_dump") (param $v i32) (result i32)
    (local $len i32) (local $out i32)
    (if (i32.eqz (local.get $v)) (then (return (call $cstr (i32.const 1024) (i32.const 2)))))
    (local.set $len (i32.load offset=4 (local.get $v)))
    (call $cstr (i32.load (local.get $v)) (local.get $len)))

  (func (export "opa_value_dump") (param i32) (result i32) (call $opa_json_dump (local.get 0)))

  (func $cstr (param $ptr i32) (param $len i32) (result i32)
    (local $out i32)
    (local.set $out (call $opa_malloc (i32.add (local.get $len) (i32.const 1))))
    (call $memcpy (local.get $out) (local.get $ptr) (local.get $len))
    (i32.store8 (i32.add (local.get $out) (local.get $len)) (i32.const 0))
    (local.get $out))

  (func (export "opa_value_add_path") (param i32 i32 i32) (result i32) (i32.const 1))
  (func (export "opa_value_remove_path") (param i32 i32) (result i32) (i32.const 1))

  (func (export "builtins") (result i32) (call $value_new (i32.const 1024) (i32.const 2)))
  (func (export "entrypoints") (result i32) (call $value_new (i32.const 1040) (i32.const 42)))

  ;; ---- the "policy" ---------------------------------------------------------------------------
  ;; 1 if needle[0..nlen) occurs in hay[0..hlen)
  (func $contains (param $hay i32) (param $hlen i32) (param $needle i32) (param $nlen i32)
                  (result i32)
    (local $i i32) (local $j i32)
    (if (i32.lt_u (local.get $hlen) (local.get $nlen)) (then (return (i32.const 0))))
    (block $no
      (loop $at
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $cmp
            (if (i32.eq (local.get $j) (local.get $nlen)) (then (return (i32.const 1))))
            (br_if $mismatch
              (i32.ne (i32.load8_u (i32.add (i32.add (local.get $hay) (local.get $i)) (local.get $j)))
                      (i32.load8_u (i32.add (local.get $needle) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cmp)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $no (i32.gt_u (local.get $i) (i32.sub (local.get $hlen) (local.get $nlen))))
        (br $at)))
    (i32.const 0))

  ;; evaluates entrypoint $ep and returns the result set as a value
  (func $evaluate (param $ep i32) (param $data i32) (param $in i32) (param $inlen i32) (result i32)
    (local $dptr i32) (local $dlen i32) (local $out i32)
    (if (i32.eqz (local.get $ep))
      (then
        (if (call $contains (local.get $in) (local.get $inlen) (i32.const 1136) (i32.const 12))
          (then (call $opa_abort (i32.const 1248))))
        (if (call $contains (local.get $in) (local.get $inlen) (i32.const 1104) (i32.const 14))
          (then (return (call $value_new (i32.const 1152) (i32.const 17)))))
        (return (call $value_new (i32.const 1184) (i32.const 18)))))
    (if (i32.eq (local.get $ep) (i32.const 1))
      (then
        (local.set $dptr (i32.const 1024))
        (local.set $dlen (i32.const 2))
        (if (local.get $data)
          (then
            (local.set $dptr (i32.load (local.get $data)))
            (local.set $dlen (i32.load offset=4 (local.get $data)))))
        ;; [{"result": + data + }]
        (local.set $out (call $opa_malloc (i32.add (local.get $dlen) (i32.const 13))))
        (call $memcpy (local.get $out) (i32.const 1216) (i32.const 11))
        (call $memcpy (i32.add (local.get $out) (i32.const 11)) (local.get $dptr) (local.get $dlen))
        (call $memcpy (i32.add (i32.add (local.get $out) (i32.const 11)) (local.get $dlen))
                      (i32.const 1232) (i32.const 2))
        (return (call $value_new (local.get $out) (i32.add (local.get $dlen) (i32.const 13))))))
    (call $opa_abort (i32.const 1296))
    (unreachable))

  ;; ABI 1.2 fast path: input is raw JSON text at $in (length $inlen, 0 = no input), already written
  ;; by the SDK below $heap_ptr; returns a NUL-terminated JSON result set.
  (func (export "opa_eval")
        (param $reserved i32) (param $ep i32) (param $data i32) (param $in i32) (param $inlen i32)
        (param $heap_ptr i32) (param $format i32) (result i32)
    (global.set $heap (local.get $heap_ptr))
    (call $opa_json_dump
      (call $evaluate (local.get $ep) (local.get $data) (local.get $in) (local.get $inlen))))

  ;; ABI 1.0/1.1 path: context cell {input, data, entrypoint, result}
  (func (export "opa_eval_ctx_new") (result i32)
    (local $c i32)
    (local.set $c (call $opa_malloc (i32.const 16)))
    (i64.store (local.get $c) (i64.const 0))
    (i64.store offset=8 (local.get $c) (i64.const 0))
    (local.get $c))
  (func (export "opa_eval_ctx_set_input") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "opa_eval_ctx_set_data") (param i32 i32)
    (i32.store offset=4 (local.get 0) (local.get 1)))
  (func (export "opa_eval_ctx_set_entrypoint") (param i32 i32)
    (i32.store offset=8 (local.get 0) (local.get 1)))
  (func (export "opa_eval_ctx_get_result") (param i32) (result i32)
    (i32.load offset=12 (local.get 0)))
  (func (export "eval") (param $c i32) (result i32)
    (local $input i32) (local $in i32) (local $inlen i32)
    (local.set $input (i32.load (local.get $c)))
    (if (local.get $input)
      (then
        (local.set $in (i32.load (local.get $input)))
        (local.set $inlen (i32.load offset=4 (local.get $input)))))
    (i32.store offset=12 (local.get $c)
      (call $evaluate (i32.load offset=8 (local.get $c)) (i32.load offset=4 (local.get $c))
                      (local.get $in) (local.get $inlen)))
    (i32.const 0))
)
