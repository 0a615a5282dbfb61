;; Hostile: sluice_partition computes fib(60) by naive recursion: 2^40 and
;; more calls, never deeper than 60 and without a loop. The fuel check at
;; every function entry (instrument.go) lets the time limit end it.
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func $fib (param $n i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $n) (i64.const 2))
      (then (local.get $n))
      (else (i64.add (call $fib (i64.sub (local.get $n) (i64.const 1)))
                     (call $fib (i64.sub (local.get $n) (i64.const 2)))))))
  (func (export "sluice_partition") (param i32 i32 i32) (result i64)
    (call $fib (i64.const 60))))
