package npy_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/rephase/rephase/stream/npy"
)

// Reading librosa magnitudes: np.save("mag.npy", np.abs(librosa.stft(y))) writes a Fortran-order
// bins × frames float32 array, whose file order is frames × bins row-major.
func Example() {
	dir, _ := os.MkdirTemp("", "npy")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mag.npy")
	dict := "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }"
	dict += strings.Repeat(" ", 127-10-len(dict)) + "\n" // data at byte 128
	b := binary.LittleEndian.AppendUint16([]byte(npy.Magic+"\x01\x00"), uint16(len(dict)))
	b = append(b, dict...)
	for _, v := range []float32{1, 2, 3, 4, 5, 6} { // frame 0: 1 2 3, frame 1: 4 5 6
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	os.WriteFile(path, b, 0o644)

	f, err := npy.Open(path) // header parsed, size checked; nothing allocated for the data yet
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	bins, frames, _ := f.Header.Matrix()
	fmt.Println(f.Header.Descr, bins, "bins ×", frames, "frames, Fortran order:", f.Header.Fortran)
	v, _ := f.ReadFloat64(nil)
	fmt.Println(v)
	// Output:
	// <f4 3 bins × 2 frames, Fortran order: true
	// [1 2 3 4 5 6]
}
