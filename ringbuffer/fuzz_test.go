package ringbuffer

import "testing"

// FuzzAgainstSliceModel drives one ring with a random sequence of operations (decoded from the
// fuzz input) and checks every result against a plain slice used as a bounded FIFO.
func FuzzAgainstSliceModel(f *testing.F) {
	f.Add(uint8(3), []byte{0, 5, 1, 3, 2, 9, 3, 4, 0, 7, 1, 8})
	f.Add(uint8(0), []byte{0, 1, 0, 1, 1, 2})
	f.Add(uint8(6), []byte{2, 200, 3, 100, 2, 50, 3, 150, 0, 255, 1, 255})
	f.Fuzz(func(t *testing.T, capExp uint8, ops []byte) {
		p, c := New(1 << (capExp % 8))
		capacity := p.Cap()
		var model []float32
		next := float32(0)
		var overflows, underflows uint64
		for i := 0; i+1 < len(ops); i += 2 {
			n := int(ops[i+1])
			switch ops[i] % 4 {
			case 0: // Write
				s := make([]float32, n)
				for j := range s {
					s[j] = next + float32(j)
				}
				want := min(n, capacity-len(model))
				if got := p.Write(s); got != want {
					t.Fatalf("op %d: Write(%d) = %d, want %d", i/2, n, got, want)
				}
				if want < n {
					overflows++
				}
				model = append(model, s[:want]...)
				next += float32(want)
			case 1: // Read
				s := make([]float32, n)
				want := min(n, len(model))
				if got := c.Read(s); got != want {
					t.Fatalf("op %d: Read(%d) = %d, want %d", i/2, n, got, want)
				}
				if want < n {
					underflows++
				}
				for j := 0; j < want; j++ {
					if s[j] != model[j] {
						t.Fatalf("op %d: read[%d] = %v, want %v", i/2, j, s[j], model[j])
					}
				}
				model = model[want:]
			case 2: // WriteRegions + partial commit
				a, b := p.WriteRegions(n)
				if len(a)+len(b) != min(n, capacity-len(model)) {
					t.Fatalf("op %d: regions %d+%d for %d with %d free", i/2, len(a), len(b), n, capacity-len(model))
				}
				k := (len(a) + len(b)) * 2 / 3
				for j := 0; j < k; j++ {
					v := next + float32(j)
					if j < len(a) {
						a[j] = v
					} else {
						b[j-len(a)] = v
					}
					model = append(model, v)
				}
				p.CommitWrite(k)
				next += float32(k)
			case 3: // ReadRegions + partial commit
				a, b := c.ReadRegions(n)
				got := append(append([]float32(nil), a...), b...)
				if len(got) != min(n, len(model)) {
					t.Fatalf("op %d: read regions %d for %d with %d available", i/2, len(got), n, len(model))
				}
				for j := range got {
					if got[j] != model[j] {
						t.Fatalf("op %d: region[%d] = %v, want %v", i/2, j, got[j], model[j])
					}
				}
				k := (len(got) + 1) / 2
				c.CommitRead(k)
				model = model[k:]
			}
			if c.Available() != len(model) || p.Free() != capacity-len(model) {
				t.Fatalf("op %d: available %d free %d, model holds %d of %d", i/2, c.Available(), p.Free(), len(model), capacity)
			}
		}
		if p.Overflows() != overflows || c.Underflows() != underflows {
			t.Fatalf("counters %d/%d, model %d/%d", p.Overflows(), c.Underflows(), overflows, underflows)
		}
	})
}
