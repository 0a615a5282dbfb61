;; A partitioner written against the host function
;; sluice.partition_call_by_json_field (docs/plugin-abi.md section 12):
;; routes by the JSON field "customer_id" of the records as the host holds
;; them; records without it go to partition 0. It asks for keys only
;; (sluice_partition_fields 0), so the values are never copied in: it traps
;; if a record arrives with a value. Input at 1024, the result right after
;; it. Also exports probe, which forwards its arguments to the host
;; function (for the host's own tests: outside a partition call).
(module
  (import "sluice" "partition_call_by_json_field"
    (func $by_field (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "customer_id")
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_partition_fields") (result i32) (i32.const 0))
  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $need i32)
    ;; input + output (8 + size bytes at most) + 1024, in pages
    (local.set $need (i32.shr_u (i32.add (i32.mul (local.get $size) (i32.const 2))
                                         (i32.const 66567)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 1024))
  (func (export "probe") (param i32 i32 i32) (result i32)
    (call $by_field (local.get 0) (local.get 1) (local.get 2)))
  (func (export "sluice_partition") (param $ptr i32) (param $len i32) (param $n i32) (result i64)
    (local $out i32) (local $count i32) (local $i i32) (local $slot i32) (local $rec i32) (local $klen i32)
    (local.set $out (i32.add (local.get $ptr) (local.get $len)))
    (local.set $count (i32.load align=1 (local.get $ptr)))
    ;; Every record's value length (after size, offset, timestamp, key) is 0.
    (local.set $rec (i32.add (local.get $ptr) (i32.const 4)))
    (block $checked (loop $check
      (br_if $checked (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $klen (i32.load offset=20 align=1 (local.get $rec)))
      (if (i32.lt_s (local.get $klen) (i32.const 0)) (then (local.set $klen (i32.const 0))))
      (if (i32.ne (i32.load offset=24 align=1 (i32.add (local.get $rec) (local.get $klen))) (i32.const 0))
        (then unreachable))
      (local.set $rec (i32.add (i32.add (local.get $rec) (i32.const 4)) (i32.load align=1 (local.get $rec))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $check)))
    (i32.store (local.get $out) (i32.const 0))
    (i32.store offset=4 (local.get $out) (local.get $count))
    (if (i32.ne (call $by_field (i32.const 64) (i32.const 11) (i32.add (local.get $out) (i32.const 8)))
                (local.get $count))
      (then unreachable))
    ;; -1 (no field): partition 0
    (local.set $i (i32.const 0))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $slot (i32.add (i32.add (local.get $out) (i32.const 8)) (i32.shl (local.get $i) (i32.const 2))))
      (if (i32.lt_s (i32.load (local.get $slot)) (i32.const 0))
        (then (i32.store (local.get $slot) (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.add (i32.const 8) (i32.shl (local.get $count) (i32.const 2)))))))
