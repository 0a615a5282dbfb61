;; Hostile: a valid module that exports nothing.
(module
  (memory 1)
  (func $f (result i32) (i32.const 1)))
