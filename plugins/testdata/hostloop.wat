;; Hostile: sluice_partition calls sluice.partition_call_by_json_field in a
;; loop forever. Each call is a native scan of the whole batch between two
;; fuel checks, so only the host function's own deadline check stops it
;; near its time limit. Keys only are sent; the results go at 1024.
(module
  (import "sluice" "partition_call_by_json_field"
    (func $by_field (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "customer_id")
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_partition_fields") (result i32) (i32.const 0))
  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (i32.mul (local.get $size) (i32.const 2))
                                         (i32.const 66567)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 1024))
  (func (export "sluice_partition") (param $ptr i32) (param $len i32) (param $n i32) (result i64)
    (loop $forever
      (drop (call $by_field (i32.const 64) (i32.const 11) (i32.add (local.get $ptr) (local.get $len))))
      (br $forever))
    (i64.const 0)))
