package broker

// sizer is the optional part of Log that reports its size on disk
// (storage.Log has it; test logs need not).
type sizer interface{ Size() int64 }

// logBytes is the size in bytes of the local replica's log, 0 when the
// replica has no open log or its Log cannot tell.
func (p *partition) logBytes() int64 {
	p.life.RLock()
	defer p.life.RUnlock()
	if s, ok := p.log.(sizer); ok && p.log != nil {
		return s.Size()
	}
	return 0
}
