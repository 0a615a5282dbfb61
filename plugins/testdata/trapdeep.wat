;; Hostile: traps two calls deep, in functions with names (the name
;; section survives the upload's rewrite, so the trap's error names them).
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func $check_order (param $n i32)
    (if (i32.gt_u (local.get $n) (i32.const 0)) (then unreachable)))
  (func $route (param $n i32) (result i64)
    (call $check_order (local.get $n))
    (i64.const 0))
  (func (export "sluice_partition") (param i32 i32 i32) (result i64)
    (call $route (local.get 2))))
