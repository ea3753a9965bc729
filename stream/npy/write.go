package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteColumns writes a (rows, cols) little-endian float32 array to w, whose values are given
// column after column: data is cols × rows row-major (len(data) = rows·cols, or it panics). The
// file is Fortran-ordered (fortran_order True), which stores exactly that, so a frames × bins
// spectrogram (retrieval's layout) is saved as bins × frames, the layout of
// np.abs(librosa.stft(y)), without a transpose; numpy reads it as any other array
// (np.ascontiguousarray makes it C order). Values are converted to float32.
func WriteColumns(w io.Writer, rows, cols int, data []float64) error {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		panic(fmt.Sprintf("npy: WriteColumns of %d values as %d × %d", len(data), rows, cols))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(Encode(Header{Descr: "<f4", Fortran: true, Shape: []int{rows, cols}})); err != nil {
		return err
	}
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(v)))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Encode returns the version 1.0 header of an array of h.Descr, h.Fortran and h.Shape (the
// other fields are ignored), padded with spaces and a newline to a multiple of 64 bytes, as
// numpy.lib.format writes it.
func Encode(h Header) []byte {
	parts := make([]string, len(h.Shape))
	for i, d := range h.Shape {
		parts[i] = strconv.Itoa(d)
	}
	shape := "(" + strings.Join(parts, ", ") + ")" // Python's tuple repr: (), (n,), (a, b)
	if len(parts) == 1 {
		shape = "(" + parts[0] + ",)"
	}
	order := "False"
	if h.Fortran {
		order = "True"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", h.Descr, order, shape)
	total := len(Magic) + 4 + len(dict) + 1
	pad := (64 - total%64) % 64
	b := make([]byte, 0, total+pad)
	b = append(b, Magic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)+pad+1))
	b = append(b, dict...)
	for range pad {
		b = append(b, ' ')
	}
	return append(b, '\n')
}
