//go:build linux

package platform

import (
	"os"
	"syscall"
)

// fileDescriptors returns the process's open file descriptors and its
// soft limit (RLIMIT_NOFILE); 0, 0 when either cannot be read.
func fileDescriptors() (open, limit int) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 || rl.Cur > 1<<31 {
		return 0, 0
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, 0
	}
	return len(ents), int(rl.Cur)
}
