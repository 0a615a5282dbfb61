;; A Sluice partitioner written by hand in WAT, against docs/plugin-abi.md
;; (ABI version 1) alone.
;;
;; Records with a key go to (murmur2(key) & 0x7fffffff) % partitions: Kafka's
;; default partitioner, bit for bit. Records without a key (key_len = -1) are
;; spread round-robin. It takes no parameters, so it does not export
;; sluice_init, and imports nothing. It reads only keys, and says so with
;; sluice_partition_fields, so the host does not copy values into it.
;;
;; Memory layout: one input buffer at IN = 1024 (handed out by sluice_alloc
;; for every call), the partition result written right after the input.
(module
  (memory (export "memory") 1)

  ;; round-robin position for keyless records; lives as long as the instance
  (global $rr (mut i32) (i32.const 0))

  (func (export "sluice_abi_version") (result i32)
    (i32.const 1))

  ;; neither values (bit 0) nor headers (bit 1) are needed: they arrive empty
  (func (export "sluice_partition_fields") (result i32)
    (i32.const 0))

  ;; sluice_alloc(size) -> ptr: make room for the input (size bytes at 1024)
  ;; and for the result after it. Every record takes at least 32 bytes of
  ;; input and 4 bytes of result, so size + 8 bytes of result is plenty.
  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $need i32)
    ;; pages = ceil((1024 + size + 8 + size) / 65536)
    (local.set $need
      (i32.shr_u
        (i32.add (i32.shl (local.get $size) (i32.const 1)) (i32.const 66567))
        (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size)))
                    (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1024))

  ;; Kafka's Utils.murmur2 over len bytes at p.
  (func $murmur2 (param $p i32) (param $len i32) (result i32)
    (local $h i32) (local $k i32) (local $end i32) (local $rem i32)
    (local.set $h (i32.xor (i32.const 0x9747b28c) (local.get $len)))
    (local.set $end (i32.add (local.get $p) (i32.and (local.get $len) (i32.const -4))))
    (block $body_done
      (loop $body
        (br_if $body_done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $k (i32.mul (i32.load align=1 (local.get $p)) (i32.const 0x5bd1e995)))
        (local.set $k (i32.xor (local.get $k) (i32.shr_u (local.get $k) (i32.const 24))))
        (local.set $k (i32.mul (local.get $k) (i32.const 0x5bd1e995)))
        (local.set $h (i32.xor (i32.mul (local.get $h) (i32.const 0x5bd1e995)) (local.get $k)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $body)))
    ;; the 1 to 3 trailing bytes, falling through like Kafka's switch
    (local.set $rem (i32.and (local.get $len) (i32.const 3)))
    (if (i32.eq (local.get $rem) (i32.const 3))
      (then (local.set $h (i32.xor (local.get $h)
              (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 16))))))
    (if (i32.ge_u (local.get $rem) (i32.const 2))
      (then (local.set $h (i32.xor (local.get $h)
              (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8))))))
    (if (i32.ge_u (local.get $rem) (i32.const 1))
      (then
        (local.set $h (i32.xor (local.get $h) (i32.load8_u (local.get $p))))
        (local.set $h (i32.mul (local.get $h) (i32.const 0x5bd1e995)))))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x5bd1e995)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 15))))

  ;; sluice_partition(ptr, len, n) -> (out << 32) | (8 + 4*count)
  (func (export "sluice_partition") (param $ptr i32) (param $len i32) (param $n i32) (result i64)
    (local $out i32) (local $count i32) (local $i i32) (local $rec i32)
    (local $keylen i32) (local $part i32)
    (local.set $out (i32.add (local.get $ptr) (local.get $len)))
    (local.set $count (i32.load align=1 (local.get $ptr)))
    (local.set $rec (i32.add (local.get $ptr) (i32.const 4)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        ;; record: u32 size | i64 offset | i64 timestamp | i32 key_len | key ...
        (local.set $keylen (i32.load offset=20 align=1 (local.get $rec)))
        (if (i32.eq (local.get $keylen) (i32.const -1))
          (then
            (local.set $part (i32.rem_u (global.get $rr) (local.get $n)))
            (global.set $rr (i32.add (global.get $rr) (i32.const 1))))
          (else
            (local.set $part
              (i32.rem_u
                (i32.and (call $murmur2 (i32.add (local.get $rec) (i32.const 24)) (local.get $keylen))
                         (i32.const 0x7fffffff))
                (local.get $n)))))
        (i32.store offset=8 align=1
          (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (local.get $part))
        ;; next record: rec + 4 + size
        (local.set $rec (i32.add (local.get $rec)
                          (i32.add (i32.const 4) (i32.load align=1 (local.get $rec)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store align=1 (local.get $out) (i32.const 0))             ;; status: success
    (i32.store offset=4 align=1 (local.get $out) (local.get $count)) ;; one partition per record
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.add (i32.const 8) (i32.shl (local.get $count) (i32.const 2))))))
)
