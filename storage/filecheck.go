package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// checkBoltFile validates the page structure of a bbolt file before bbolt
// maps it. bbolt trusts its file: a damaged page makes it read outside the
// mapping (a fault no recover catches) or panic in a goroutine of its own
// (the free-page scan of Open with NoFreelistSync, which reports what it
// finds by panicking), and either stops the process. So Open walks the file
// here first, with plain reads and bounds checks, and refuses anything
// bbolt's own consistency walk would complain about:
//
//   - at least one meta page is valid (magic, version, FNV-64a checksum),
//     the one bbolt would pick (the valid one with the highest txid) names a
//     page size that is a power of two in [minPageSize, maxPageSize], a root
//     and a freelist page below the high-water mark, and the file holds
//     every page below that mark;
//   - every page reachable from the root bucket, through branch pages and
//     sub-bucket headers, lies below the high-water mark with its overflow,
//     carries its own id, is a branch or a leaf page, is referenced once,
//     and holds its element headers, keys and values within its bounds;
//   - keys are strictly ascending within a page and lie within the range the
//     parent branch gives them (bbolt's key-order check);
//   - inline buckets hold a well-formed leaf page and no sub-buckets;
//   - a synced freelist, if present, lists sorted page ids below the mark
//     that no reachable page uses.
//
// It reads the first page of every tree page and the few bytes of keys and
// bucket headers beyond it; batch payloads (overflow pages of leaf values)
// are not read (their CRC is checked when they are read). That is the walk
// bbolt itself does on every read-write Open of a file without a synced
// freelist, so it roughly doubles the page reads of Open.
//
// Any failure wraps ErrCorrupt.
func checkBoltFile(r io.ReaderAt, size int64) error {
	return (&fileChecker{r: r, size: size}).run()
}

// checkBoltBytes is checkBoltFile over the whole file in memory (mapped):
// pages are sliced, not copied.
func checkBoltBytes(data []byte) error {
	return (&fileChecker{r: bytes.NewReader(data), size: int64(len(data)), data: data}).run()
}

func (c *fileChecker) run() error {
	if err := c.check(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// bbolt's on-disk constants (go.etcd.io/bbolt/internal/common). The file is
// in the machine's byte order, as bbolt writes it through unsafe casts.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeaderSize = 16
	boltElemSize       = 16 // branch and leaf element headers alike
	boltBucketHdrSize  = 16 // root pgid + sequence
	boltMetaSize       = 64
	boltMetaSumOffset  = 56 // the checksum covers the bytes before it
	boltBranchFlag     = 0x01
	boltLeafFlag       = 0x02
	boltFreelistFlag   = 0x10
	boltBucketLeafFlag = 0x01
	boltNoFreelist     = ^uint64(0)
	boltDefaultPage    = 4096

	minPageSize = 512
	maxPageSize = 1 << 16
	// maxTreeDepth bounds branch nesting: a B+tree of this depth would
	// hold more pages than any file can.
	maxTreeDepth = 64
)

var ne = binary.NativeEndian

type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64
	txid     uint64
}

type fileChecker struct {
	r        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64
	seen     []uint64 // bitmap of referenced pages
	data     []byte   // the whole file, when mapped (else nil: read with r)
}

func (c *fileChecker) check() error {
	if c.size == 0 {
		return errors.New("file is empty")
	}
	m, err := c.readMetas()
	if err != nil {
		return err
	}
	c.pageSize, c.hwm = int64(m.pageSize), m.hwm
	if m.hwm < 3 || m.root < 2 || m.root >= m.hwm {
		return fmt.Errorf("meta page: root page %d, high-water mark %d", m.root, m.hwm)
	}
	if need := int64(m.hwm) * c.pageSize; need/c.pageSize != int64(m.hwm) || need > c.size {
		return fmt.Errorf("file of %d bytes is shorter than its %d pages of %d bytes (truncated)", c.size, m.hwm, c.pageSize)
	}
	c.seen = make([]uint64, (m.hwm+63)/64)
	c.mark(0)
	c.mark(1)
	if err := c.walkBucket(m.root); err != nil {
		return err
	}
	if m.freelist != boltNoFreelist {
		return c.checkFreelist(m.freelist)
	}
	return nil
}

// readMetas finds the meta page bbolt would use.
func (c *fileChecker) readMetas() (boltMeta, error) {
	// bbolt reads the page size from meta 0, or from meta 1 at the default
	// page size if meta 0 is damaged.
	var pageSize uint32
	if m, err := c.readMeta(0); err == nil {
		pageSize = m.pageSize
	} else if m, err := c.readMeta(boltDefaultPage); err == nil {
		pageSize = m.pageSize
	} else {
		return boltMeta{}, fmt.Errorf("no valid meta page: %w", err)
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("meta page: page size %d", pageSize)
	}
	m0, err0 := c.readMeta(0)
	m1, err1 := c.readMeta(int64(pageSize))
	switch {
	case err0 != nil && err1 != nil:
		return boltMeta{}, fmt.Errorf("no valid meta page: %w", err0)
	case err0 == nil && err1 == nil && m1.txid > m0.txid, err0 != nil:
		m0 = m1
	}
	if m0.pageSize != pageSize {
		return boltMeta{}, fmt.Errorf("meta pages disagree on the page size (%d, %d)", pageSize, m0.pageSize)
	}
	return m0, nil
}

func (c *fileChecker) readMeta(off int64) (boltMeta, error) {
	buf := make([]byte, boltPageHeaderSize+boltMetaSize)
	if _, err := c.r.ReadAt(buf, off); err != nil {
		return boltMeta{}, fmt.Errorf("read meta page at %d: %w", off, err)
	}
	b := buf[boltPageHeaderSize:]
	if ne.Uint32(b[0:]) != boltMagic {
		return boltMeta{}, fmt.Errorf("meta page at %d: bad magic", off)
	}
	if v := ne.Uint32(b[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("meta page at %d: version %d", off, v)
	}
	h := fnv.New64a()
	h.Write(b[:boltMetaSumOffset])
	if h.Sum64() != ne.Uint64(b[boltMetaSumOffset:]) {
		return boltMeta{}, fmt.Errorf("meta page at %d: checksum mismatch", off)
	}
	return boltMeta{
		pageSize: ne.Uint32(b[8:]),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		hwm:      ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
	}, nil
}

func (c *fileChecker) mark(id uint64) bool {
	w, bit := id/64, uint64(1)<<(id%64)
	if c.seen[w]&bit != 0 {
		return false
	}
	c.seen[w] |= bit
	return true
}

func (c *fileChecker) marked(id uint64) bool { return c.seen[id/64]&(uint64(1)<<(id%64)) != 0 }

// page is one tree page: its first pageSize bytes, read eagerly, and a way
// to read further into its overflow.
type page struct {
	id       uint64
	flags    uint16
	count    int
	span     int64 // bytes of the page and its overflow
	first    []byte
	c        *fileChecker
	isInline bool
}

// bytesAt returns n bytes at offset off within the page (and its overflow).
func (p *page) bytesAt(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > p.span {
		return nil, fmt.Errorf("page %d: %d bytes at %d run past its %d bytes", p.id, n, off, p.span)
	}
	if off+n <= int64(len(p.first)) {
		return p.first[off : off+n], nil
	}
	if d := p.c.data; d != nil {
		at := int64(p.id)*p.c.pageSize + off
		return d[at : at+n], nil // span lies below the high-water mark, within the file
	}
	buf := make([]byte, n)
	if _, err := p.c.r.ReadAt(buf, int64(p.id)*p.c.pageSize+off); err != nil {
		return nil, fmt.Errorf("page %d: read %d bytes at %d: %w", p.id, n, off, err)
	}
	return buf, nil
}

// loadPage reads and claims tree page id (and its overflow pages).
func (c *fileChecker) loadPage(id uint64) (*page, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("page %d referenced, high-water mark %d", id, c.hwm)
	}
	var first []byte
	if off := int64(id) * c.pageSize; c.data != nil {
		first = c.data[off : off+c.pageSize] // within the file: hwm*pageSize <= size
	} else {
		first = make([]byte, c.pageSize)
		if _, err := c.r.ReadAt(first, off); err != nil {
			return nil, fmt.Errorf("read page %d: %w", id, err)
		}
	}
	p := &page{id: id, c: c, first: first}
	if got := ne.Uint64(first[0:]); got != id {
		return nil, fmt.Errorf("page %d carries id %d", id, got)
	}
	p.flags = ne.Uint16(first[8:])
	p.count = int(ne.Uint16(first[10:]))
	overflow := uint64(ne.Uint32(first[12:]))
	if id+overflow >= c.hwm {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the high-water mark %d", id, overflow, c.hwm)
	}
	for i := uint64(0); i <= overflow; i++ {
		if !c.mark(id + i) {
			return nil, fmt.Errorf("page %d referenced twice", id+i)
		}
	}
	p.span = int64(overflow+1) * c.pageSize
	return p, nil
}

// walkBucket checks the page tree of a bucket whose root is a page.
func (c *fileChecker) walkBucket(root uint64) error {
	_, err := c.walkPage(root, nil, nil, 0)
	return err
}

// walkPage checks page id and its subtree; keys must lie in [lo, hi) (nil
// for unbounded). It returns the largest key in the subtree.
func (c *fileChecker) walkPage(id uint64, lo, hi []byte, depth int) ([]byte, error) {
	if depth > maxTreeDepth {
		return nil, fmt.Errorf("page %d: tree deeper than %d", id, maxTreeDepth)
	}
	p, err := c.loadPage(id)
	if err != nil {
		return nil, err
	}
	switch p.flags {
	case boltBranchFlag:
		return c.walkBranch(p, lo, hi, depth)
	case boltLeafFlag:
		return c.checkLeaf(p, lo, hi)
	default:
		return nil, fmt.Errorf("page %d: flags %#x, want a branch or leaf page", id, p.flags)
	}
}

func (c *fileChecker) walkBranch(p *page, lo, hi []byte, depth int) ([]byte, error) {
	if p.count == 0 {
		return nil, fmt.Errorf("branch page %d has no elements", p.id)
	}
	type elem struct {
		key   []byte
		child uint64
	}
	elems := make([]elem, p.count)
	for i := range elems {
		at := int64(boltPageHeaderSize + i*boltElemSize)
		h, err := p.bytesAt(at, boltElemSize)
		if err != nil {
			return nil, err
		}
		pos, ksize := int64(ne.Uint32(h[0:])), int64(ne.Uint32(h[4:]))
		key, err := p.bytesAt(at+pos, ksize)
		if err != nil {
			return nil, err
		}
		elems[i] = elem{key: key, child: ne.Uint64(h[8:])}
	}
	runningMin := lo
	var maxKey []byte
	for i, e := range elems {
		if err := keyInOrder(p.id, i, e.key, runningMin, hi); err != nil {
			return nil, err
		}
		childHi := hi
		if i+1 < len(elems) {
			childHi = elems[i+1].key
		}
		m, err := c.walkPage(e.child, e.key, childHi, depth+1)
		if err != nil {
			return nil, err
		}
		if m != nil {
			maxKey, runningMin = m, m
		}
	}
	return maxKey, nil
}

// keyInOrder is bbolt's verifyKeyOrder: the first key is >= prev, later
// ones are > prev, and every key is < hi.
func keyInOrder(id uint64, i int, key, prev, hi []byte) error {
	if prev != nil {
		cmp := bytes.Compare(prev, key)
		if cmp > 0 || (i > 0 && cmp == 0) {
			return fmt.Errorf("page %d: key %d out of order", id, i)
		}
	}
	if hi != nil && bytes.Compare(key, hi) >= 0 {
		return fmt.Errorf("page %d: key %d beyond its parent's range", id, i)
	}
	return nil
}

// checkLeaf checks a leaf page's elements and recurses into sub-buckets.
func (c *fileChecker) checkLeaf(p *page, lo, hi []byte) ([]byte, error) {
	if int64(boltPageHeaderSize+p.count*boltElemSize) > p.span {
		return nil, fmt.Errorf("leaf page %d: %d elements do not fit", p.id, p.count)
	}
	prev := lo
	var last []byte
	for i := 0; i < p.count; i++ {
		at := int64(boltPageHeaderSize + i*boltElemSize)
		h, err := p.bytesAt(at, boltElemSize)
		if err != nil {
			return nil, err
		}
		flags := ne.Uint32(h[0:])
		pos, ksize, vsize := int64(ne.Uint32(h[4:])), int64(ne.Uint32(h[8:])), int64(ne.Uint32(h[12:]))
		key, err := p.bytesAt(at+pos, ksize)
		if err != nil {
			return nil, err
		}
		if _, err := p.bytesAt(at+pos+ksize, 0); err != nil {
			return nil, err
		}
		if at+pos+ksize+vsize > p.span {
			return nil, fmt.Errorf("page %d: value %d runs past the page", p.id, i)
		}
		if err := keyInOrder(p.id, i, key, prev, hi); err != nil {
			return nil, err
		}
		prev, last = key, key
		switch flags {
		case 0:
		case boltBucketLeafFlag:
			if p.isInline {
				return nil, fmt.Errorf("inline bucket holds a sub-bucket %x", key)
			}
			if vsize < boltBucketHdrSize {
				return nil, fmt.Errorf("page %d: bucket header %x of %d bytes", p.id, key, vsize)
			}
			v, err := p.bytesAt(at+pos+ksize, vsize)
			if err != nil {
				return nil, err
			}
			if err := c.checkSubBucket(key, v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("page %d: element %d has flags %#x", p.id, i, flags)
		}
	}
	return last, nil
}

// checkSubBucket checks a bucket whose header (and inline page) is v.
func (c *fileChecker) checkSubBucket(name, v []byte) error {
	root := ne.Uint64(v[0:])
	if root != 0 {
		if err := c.walkBucket(root); err != nil {
			return fmt.Errorf("bucket %x: %w", name, err)
		}
		return nil
	}
	in := v[boltBucketHdrSize:]
	if len(in) < boltPageHeaderSize {
		return fmt.Errorf("inline bucket %x of %d bytes", name, len(in))
	}
	p := &page{
		flags: ne.Uint16(in[8:]), count: int(ne.Uint16(in[10:])),
		span: int64(len(in)), first: in, c: c, isInline: true,
	}
	if p.flags != boltLeafFlag {
		return fmt.Errorf("inline bucket %x: flags %#x, want a leaf", name, p.flags)
	}
	if _, err := c.checkLeaf(p, nil, nil); err != nil {
		return fmt.Errorf("inline bucket %x: %w", name, err)
	}
	return nil
}

// checkFreelist checks a synced freelist page.
func (c *fileChecker) checkFreelist(id uint64) error {
	p, err := c.loadPage(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if p.flags != boltFreelistFlag {
		return fmt.Errorf("freelist page %d: flags %#x", id, p.flags)
	}
	n, at := int64(p.count), int64(boltPageHeaderSize)
	if p.count == 0xFFFF {
		b, err := p.bytesAt(at, 8)
		if err != nil {
			return err
		}
		n, at = int64(ne.Uint64(b)), at+8
	}
	if n < 0 || n > int64(c.hwm) {
		return fmt.Errorf("freelist page %d lists %d pages", id, n)
	}
	ids, err := p.bytesAt(at, n*8)
	if err != nil {
		return err
	}
	var prev uint64
	for i := int64(0); i < n; i++ {
		f := ne.Uint64(ids[i*8:])
		if f < 2 || f >= c.hwm || (i > 0 && f <= prev) {
			return fmt.Errorf("freelist page %d: free page %d out of order or range", id, f)
		}
		if c.marked(f) {
			return fmt.Errorf("freelist page %d: page %d is free and in use", id, f)
		}
		prev = f
	}
	return nil
}
