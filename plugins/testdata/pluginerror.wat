;; Reports an error result: status 1, message "no route for this record".
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (data (i32.const 16) "\01\00\00\00\18\00\00\00no route for this record")
  (func (export "sluice_partition") (param i32 i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 32))))
