;; Hostile: sluice_partition recurses without end: the call depth limit
;; (instrument.go) ends it.
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func $down (param $n i64) (result i64)
    (i64.add (call $down (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))
  (func (export "sluice_partition") (param i32 i32 i32) (result i64)
    (call $down (i64.const 0))))
