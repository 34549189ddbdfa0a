package agentlog

// Client-side ids: UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, then 74
// random bits. The client makes the ids (not the server) so that a batch re-sent after
// a lost answer replaces itself instead of duplicating, and a span's "running"
// snapshot is later replaced by its final version.
//
// The random bits come from crypto/rand, read in blocks into per-P buffers (a
// sync.Pool): one read per id would cost a system call each, and math/rand's global
// source can be seeded by the application, which would make ids repeat across runs.

import (
	"crypto/rand"
	"sync"
	"sync/atomic"
)

const idRandomBytes = 10

type randomBlock struct {
	buf [idRandomBytes * 256]byte
	off int
}

type idGenerator struct {
	pool sync.Pool
	// fallback counts ids made while crypto/rand failed (it does not on supported
	// systems); they stay unique within the process.
	fallback atomic.Uint64
}

func newIDGenerator() *idGenerator {
	g := &idGenerator{}
	g.pool.New = func() any { return &randomBlock{off: len(randomBlock{}.buf)} }
	return g
}

// next returns a new UUIDv7 for the time ms (Unix milliseconds).
func (g *idGenerator) next(ms int64) (u [16]byte) {
	blk := g.pool.Get().(*randomBlock)
	if blk.off+idRandomBytes > len(blk.buf) {
		if _, err := rand.Read(blk.buf[:]); err != nil {
			g.fillFallback(blk.buf[:])
		}
		blk.off = 0
	}
	r := blk.buf[blk.off : blk.off+idRandomBytes]
	blk.off += idRandomBytes
	u[0] = byte(ms >> 40)
	u[1] = byte(ms >> 32)
	u[2] = byte(ms >> 24)
	u[3] = byte(ms >> 16)
	u[4] = byte(ms >> 8)
	u[5] = byte(ms)
	u[6] = 0x70 | r[0]&0x0f
	u[7] = r[1]
	u[8] = 0x80 | r[2]&0x3f
	u[9] = r[3]
	copy(u[10:], r[4:])
	g.pool.Put(blk)
	return u
}

func (g *idGenerator) fillFallback(b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		x := splitmix64(g.fallback.Add(1) ^ uint64(nowMicrosUnanchored()))
		for j := 0; j < 8; j++ {
			b[i+j] = byte(x >> (8 * j))
		}
	}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
