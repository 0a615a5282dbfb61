;; A filter processor: drops every record whose key starts with "n" and
;; keeps the rest unchanged. Kept records are moved down in place: the
;; input batch (count, records) at ptr becomes the output body, and the
;; status word goes just before it (sluice_alloc leaves 4 bytes there).
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $size) (i32.const 66563)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 1028))
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (param $partition i32) (result i64)
    (local $n i32) (local $i i32) (local $src i32) (local $dst i32) (local $size i32)
    (local $keylen i32) (local $out i32)
    (local.set $n (i32.load (local.get $ptr)))
    (local.set $src (i32.add (local.get $ptr) (i32.const 4)))
    (local.set $dst (local.get $src))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; size field + the bytes it counts
        (local.set $size (i32.add (i32.load (local.get $src)) (i32.const 4)))
        ;; key_len follows size (4), offset (8) and timestamp (8)
        (local.set $keylen (i32.load (i32.add (local.get $src) (i32.const 20))))
        (if (i32.eqz (i32.and
                       (i32.gt_s (local.get $keylen) (i32.const 0))
                       (i32.eq (i32.load8_u (i32.add (local.get $src) (i32.const 24))) (i32.const 110))))
          (then
            (memory.copy (local.get $dst) (local.get $src) (local.get $size))
            (local.set $dst (i32.add (local.get $dst) (local.get $size)))
            (local.set $out (i32.add (local.get $out) (i32.const 1)))))
        (local.set $src (i32.add (local.get $src) (local.get $size)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.sub (local.get $ptr) (i32.const 4)) (i32.const 0))
    (i32.store (local.get $ptr) (local.get $out))
    (i64.or
      (i64.shl (i64.extend_i32_u (i32.sub (local.get $ptr) (i32.const 4))) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $dst) (i32.sub (local.get $ptr) (i32.const 4)))))))
