package benchmarks

import (
	"fmt"
	"testing"

	"github.com/rephase/rephase/ringbuffer"
)

var ringBlocks = []int{64, 256, 1024}

// BenchmarkRingSameGoroutine times one Write + one Read of a block on the same goroutine: the
// fixed cost of the ring's bookkeeping, next to a buffered chan []float32 doing the same.
func BenchmarkRingSameGoroutine(b *testing.B) {
	for _, block := range ringBlocks {
		in, out := make([]float32, block), make([]float32, block)
		b.Run(fmt.Sprintf("ringbuffer/block=%d", block), func(b *testing.B) {
			p, c := ringbuffer.New(8 * block)
			b.ReportAllocs()
			b.SetBytes(int64(4 * block))
			for i := 0; i < b.N; i++ {
				p.Write(in)
				c.Read(out)
			}
		})
		b.Run(fmt.Sprintf("chan/block=%d", block), func(b *testing.B) {
			ch, blocks := newChanRing(block)
			b.ReportAllocs()
			b.SetBytes(int64(4 * block))
			for i := 0; i < b.N; i++ {
				blk := blocks[i%len(blocks)]
				copy(blk, in)
				ch <- blk
				copy(out, <-ch)
			}
		})
	}
}

// newChanRing is the channel baseline: a buffered chan []float32 carrying blocks from a pool
// that is two larger than the channel, so a block is never refilled while the reader holds it.
func newChanRing(block int) (chan []float32, [][]float32) {
	const depth = 8
	blocks := make([][]float32, depth+2)
	for i := range blocks {
		blocks[i] = make([]float32, block)
	}
	return make(chan []float32, depth), blocks
}

// BenchmarkRingCrossGoroutine times moving one block from a producer goroutine to the consumer
// (ns per block), the ring against the buffered channel, in one run. The ring's producer uses
// the blocking WriteAll and the consumer ReadFull, as a file reader feeding a worker would.
func BenchmarkRingCrossGoroutine(b *testing.B) {
	for _, block := range ringBlocks {
		b.Run(fmt.Sprintf("ringbuffer/block=%d", block), func(b *testing.B) {
			p, c := ringbuffer.New(8 * block)
			b.ReportAllocs()
			b.SetBytes(int64(4 * block))
			go func() {
				in := make([]float32, block)
				for i := 0; i < b.N; i++ {
					p.WriteAll(in)
				}
			}()
			out := make([]float32, block)
			for i := 0; i < b.N; i++ {
				c.ReadFull(out)
			}
		})
		b.Run(fmt.Sprintf("chan/block=%d", block), func(b *testing.B) {
			ch, blocks := newChanRing(block)
			b.ReportAllocs()
			b.SetBytes(int64(4 * block))
			go func() {
				in := make([]float32, block)
				for i := 0; i < b.N; i++ {
					blk := blocks[i%len(blocks)]
					copy(blk, in)
					ch <- blk
				}
			}()
			out := make([]float32, block)
			for i := 0; i < b.N; i++ {
				copy(out, <-ch)
			}
		})
	}
}
