;; Chatty: the echo processor (echo.wat) that writes "chatty: line" to
;; stdout 500 times per call, for the log-cap tests.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "chatty: line\n")
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $size) (i32.const 66563)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 1028))
  (func (export "sluice_process") (param $ptr i32) (param $len i32) (param $partition i32) (result i64)
    (local $i i32)
    ;; iovec at 32: {ptr 64, len 13}; nwritten at 48
    (i32.store (i32.const 32) (i32.const 64))
    (i32.store (i32.const 36) (i32.const 13))
    (loop $more
      (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 500))))
    (i32.store (i32.const 1024) (i32.const 0))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32))
            (i64.extend_i32_u (i32.add (local.get $len) (i32.const 4))))))
