//go:build !unix

package storage

import (
	"os"
	"time"
)

func lockShared(*os.File, time.Duration) (func(), error) { return func() {}, nil }

func mapReadOnly(*os.File, int64) ([]byte, func()) { return nil, func() {} }
