;; Structurally well-formed but fails validation: sluice_abi_version returns
;; nothing although it declares an i32 result. Assembled with --no-check.
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "sluice_partition") (param i32 i32 i32) (result i64) (i64.const 0)))
