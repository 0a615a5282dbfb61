;; Function indices in every place the instrumenter renumbers them: an
;; imported function, a start function, a global initialised with
;; ref.func, an active and a declarative element segment, call_indirect
;; and ref.func in code. Every record goes to partition 4: the start
;; function stores 1, sluice_partition adds $three through the table.
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (type $ret (func (result i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (global $fref funcref (ref.func $three))
  (elem (i32.const 0) $one $three)
  (elem declare func $one)
  (global $base (mut i32) (i32.const 0))
  (func $one (result i32) (i32.const 1))
  (func $three (result i32) (i32.const 3))
  (func $start (global.set $base (call_indirect (type $ret) (i32.const 0))))
  (start $start)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "sluice_partition") (param $ptr i32) (param $len i32) (param $n i32) (result i64)
    (local $count i32) (local $i i32) (local $out i32) (local $p i32)
    (drop (call $sched_yield))
    (drop (ref.func $one))
    (local.set $p (i32.add (global.get $base) (call_indirect (type $ret) (i32.const 1))))
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
