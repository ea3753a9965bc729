package main

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/rephase/rephase/internal/outfile"
	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/stream/wav"
)

// checkOutput refuses (exit status 2) an output path that names one of the command's inputs
// (os.SameFile: through symlinks and hard links too), which would be overwritten before, or
// while, it is read.
func checkOutput(flagName, out string, inputs ...string) error {
	if in, same := outfile.SameFile(out, inputs...); same {
		return badInput("%s %s is the input %s: refusing to overwrite it", flagName, out, in)
	}
	return nil
}

// writeOutput writes a WAV through wav.Write, first scaling the channels in place to a peak of
// −1 dBFS with normalize. A non-finite sample (a diverged optimizer: its flags were outside what
// it can take) is reported as an input error, exit status 2, naming the flags to change; nothing
// is written then. It returns the output's level: its peak, the gain applied and, for PCM16, the
// samples clipped (which it also reports on stderr).
func writeOutput(path string, rate int, channels [][]float64, enc wav.Encoding, normalize bool, hint string) (outputLevel, error) {
	var lv outputLevel
	for _, ch := range channels {
		for _, v := range ch {
			lv.peak = math.Max(lv.peak, math.Abs(v)) // NaN is refused by wav.Write below
		}
	}
	lv.gain, lv.pcm16 = 1, enc == wav.PCM16
	if normalize && lv.peak > 0 && !math.IsInf(lv.peak, 0) {
		lv.gain = normalizePeak / lv.peak
		for _, ch := range channels {
			for i := range ch {
				ch[i] *= lv.gain
			}
		}
	}
	if lv.pcm16 {
		lv.clipped = wav.Clipped(channels)
		if lv.clipped > 0 {
			fmt.Fprintf(os.Stderr, "rephase: %s: --pcm16 clipped %d samples (peak %.3g, %+.1f dBFS); --normalize scales the peak to −1 dBFS\n",
				path, lv.clipped, lv.peak*lv.gain, retrieval.DB(lv.peak*lv.gain))
		}
	}
	err := wav.Write(path, rate, channels, enc)
	var nf *wav.NonFiniteError
	if errors.As(err, &nf) {
		return lv, badInput("%v: the reconstruction diverged (%s)", err, hint)
	}
	return lv, err
}

// normalizePeak is --normalize's peak: −1 dBFS.
var normalizePeak = math.Pow(10, -1.0/20)

// outputLevel is what writeOutput reports about the samples it wrote.
type outputLevel struct {
	peak    float64 // largest |sample| before normalisation
	gain    float64 // applied by --normalize (1 without)
	pcm16   bool
	clipped int // PCM16 samples beyond full scale, clipped
}

// report adds the level to a --json result: output_peak (after normalisation), normalize_gain
// with --normalize, clipped_samples with --pcm16.
func (lv outputLevel) report(r map[string]any) {
	r["output_peak"] = lv.peak * lv.gain
	if lv.gain != 1 {
		r["normalize_gain"] = lv.gain
	}
	if lv.pcm16 {
		r["clipped_samples"] = lv.clipped
	}
}

// print writes the level's line of the human-readable report (nothing when there is nothing
// to say).
func (lv outputLevel) print() {
	if lv.gain != 1 {
		fmt.Printf("normalised: gain %.4g (%+.2f dB) to a peak of −1 dBFS\n", lv.gain, retrieval.DB(lv.gain))
	}
	if lv.pcm16 {
		fmt.Printf("16-bit PCM: %d samples clipped (peak %.3g)\n", lv.clipped, lv.peak*lv.gain)
	}
}

// output is a non-WAV output stream (analyze's frames): standard output for "-", otherwise an
// outfile.File, so that a file appears only complete and a failed run leaves none.
type output struct {
	io.Writer
	f *outfile.File
}

// openOutput opens path ("-": standard output) for writing, refusing one of inputs (see
// checkOutput). Defer close; call commit once everything is written.
func openOutput(path string, inputs ...string) (*output, error) {
	if path == "-" {
		return &output{Writer: os.Stdout}, nil
	}
	if err := checkOutput("--out", path, inputs...); err != nil {
		return nil, err
	}
	f, err := outfile.Create(path)
	if err != nil {
		return nil, err
	}
	return &output{Writer: f, f: f}, nil
}

// commit makes a file output appear (outfile.File.Commit); for standard output it does nothing.
func (o *output) commit() error {
	if o.f == nil {
		return nil
	}
	return o.f.Commit()
}

// close abandons an uncommitted file output (its temporary file is removed). Idempotent.
func (o *output) close() {
	if o.f != nil {
		o.f.Close()
	}
}

// writeJSON writes v as one JSON object and a newline, as json.Encoder would, except that a NaN
// or infinite float anywhere in it (the spectral convergence of a silent input is −Inf dB) is
// written as null instead of failing. Every command's --json report goes through it.
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(jsonSafe(reflect.ValueOf(v))); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// jsonSafe returns v as a value encoding/json encodes exactly as it would v, but with every
// non-finite float replaced by nil (null). Values that marshal themselves are kept as they are.
// Struct fields follow encoding/json's rules for exported fields, `json:"name,omitempty"` and
// "-" tags, and keep their order (jsonObject).
func jsonSafe(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if t := v.Type(); t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
		return v.Interface()
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return v.Interface()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonSafe(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Interface() // []byte: base64
		}
		fallthrough
	case reflect.Array:
		a := make([]any, v.Len())
		for i := range a {
			a[i] = jsonSafe(v.Index(i))
		}
		return a
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			var key string
			switch tm, ok := k.Interface().(encoding.TextMarshaler); {
			case k.Kind() == reflect.String:
				key = k.String()
			case ok:
				b, err := tm.MarshalText()
				if err != nil {
					return v.Interface() // let encoding/json report it
				}
				key = string(b)
			case k.CanInt():
				key = strconv.FormatInt(k.Int(), 10)
			case k.CanUint():
				key = strconv.FormatUint(k.Uint(), 10)
			default:
				return v.Interface() // let encoding/json report it
			}
			m[key] = jsonSafe(it.Value())
		}
		return m
	case reflect.Struct:
		var o jsonObject
		appendFields(&o, v)
		return o
	}
	return v.Interface()
}

// appendFields adds the JSON fields of struct v to o, flattening untagged embedded structs.
func appendFields(o *jsonObject, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			appendFields(o, fv)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if strings.Contains(","+opts+",", ",omitempty,") && isEmptyValue(fv) {
			continue
		}
		o.keys = append(o.keys, name)
		o.vals = append(o.vals, jsonSafe(fv))
	}
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// jsonObject is a JSON object whose keys keep their order (a struct's field order).
type jsonObject struct {
	keys []string
	vals []any
}

// MarshalJSON writes the object's fields in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writePlot writes a figure to path through an output file (atomic for a regular file; refused
// if it names the input in).
func writePlot(path, in string, draw func(io.Writer) error) error {
	o, err := openOutput(path, in)
	if err != nil {
		return err
	}
	defer o.close()
	if err := draw(o); err != nil {
		return err
	}
	return o.commit()
}
