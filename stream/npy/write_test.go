package npy

import (
	"bytes"
	"testing"
)

// TestWriteColumnsRoundTrip: a cols × rows row-major slice written by WriteColumns reads back as
// a (rows, cols) Fortran array with the same values in file order, with a header as numpy
// writes it (data 64-byte aligned), for empty, 1-column and larger arrays.
func TestWriteColumnsRoundTrip(t *testing.T) {
	for _, cols := range []int{0, 1, 5, 1000} {
		data := make([]float64, 3*cols)
		for j := range cols {
			data[3*j], data[3*j+1], data[3*j+2] = float64(j), 0.5, -float64(j)
		}
		var b bytes.Buffer
		if err := WriteColumns(&b, 3, cols, data); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatalf("%d columns: %v\n%q", cols, err, b.Bytes()[:64])
		}
		rows, c, err := r.Header.Matrix()
		if err != nil || rows != 3 || c != cols || !r.Header.Fortran || r.Header.DataOffset%64 != 0 {
			t.Fatalf("%d columns: header %+v %v", cols, r.Header, err)
		}
		v, err := r.ReadFloat64(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			if v[i] != data[i] {
				t.Fatalf("%d columns: value %d is %v, want %v", cols, i, v[i], data[i])
			}
		}
	}
}

func TestEncodeShapes(t *testing.T) {
	for shape, want := range map[string][]int{"()": {}, "(7,)": {7}, "(2, 3)": {2, 3}, "(1, 2, 3)": {1, 2, 3}} {
		h := Encode(Header{Descr: "<f8", Shape: want})
		if !bytes.Contains(h, []byte("'shape': "+shape+", }")) || len(h)%64 != 0 || h[len(h)-1] != '\n' {
			t.Errorf("%v: %q", want, h)
		}
	}
}
