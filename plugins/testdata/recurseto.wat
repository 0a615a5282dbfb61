;; Recursion of a bounded depth: sluice_partition recurses 500 calls deep,
;; then sends every record to partition (500 mod 3) = 2. Within a call
;; depth limit of 500 or more it succeeds on every call.
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func $down (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
  (func (export "sluice_partition") (param $ptr i32) (param $len i32) (param $n i32) (result i64)
    (local $count i32) (local $i i32) (local $out i32) (local $p i32)
    (local.set $p (i32.rem_u (call $down (i32.const 500)) (local.get $n)))
    (local.set $count (i32.load (local.get $ptr)))
    (local.set $out (i32.add (local.get $ptr) (local.get $len)))
    (i32.store (local.get $out) (i32.const 0))
    (i32.store offset=4 (local.get $out) (local.get $count))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (i32.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $p))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.add (i32.const 8) (i32.shl (local.get $count) (i32.const 2)))))))
