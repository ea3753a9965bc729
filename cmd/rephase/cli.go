package main

// The command line's helpers; see main.go for the choice of cobra + pflag.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rephase/rephase/retrieval"
	"github.com/rephase/rephase/retrieval/fft"
)

// errHelpShown is returned by parseFlags after --help or -h printed the command's help: the
// command ends with exit status 0.
var errHelpShown = errors.New("help shown")

// flagSink, when not nil, receives the FlagSet of a command run with --help instead of its help
// being printed (flagsOf). Not safe for concurrent use; set only by main, before any command runs.
var flagSink func(fs *pflag.FlagSet)

// newFlagSet returns an empty FlagSet for the command name whose --help prints, on standard
// output, "usage: rephase USE", the description about (may be empty) and the flags with their
// defaults. Parse it with parseFlags or parseWithInput.
func newFlagSet(name, use, about string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false // in the order defined: the important ones first
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		if flagSink != nil {
			flagSink(fs)
			return
		}
		printHelp(os.Stdout, use, about, fs)
	}
	return fs
}

// printHelp writes a command's help: usage line, description, flags.
func printHelp(w io.Writer, use, about string, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "usage: rephase %s\n\n", use)
	if about != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimRight(about, "\n"))
	}
	fmt.Fprintf(w, "flags:\n%s", fs.FlagUsagesWrapped(100))
	if a := aliasNames(fs); len(a) > 0 {
		fmt.Fprintf(w, "\naliases: %s\n", strings.Join(a, ", "))
	}
}

// aliasPairs are the long names accepted for one another: a command with --out takes --output,
// one with --output (live) takes --out, and likewise --in and --input.
var aliasPairs = [][2]string{{"out", "output"}, {"in", "input"}}

// aliasMap maps each long name that is an alias in fs (see aliasPairs) to the flag it stands for.
func aliasMap(fs *pflag.FlagSet) map[string]string {
	has := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { has[f.Name] = true })
	m := map[string]string{}
	for _, p := range aliasPairs {
		for i := range p {
			if has[p[i]] && !has[p[1-i]] {
				m[p[1-i]] = p[i]
			}
		}
	}
	return m
}

// aliases returns the pflag normalisation of fs's flag names that accepts the aliases of aliasMap.
func aliases(fs *pflag.FlagSet) func(*pflag.FlagSet, string) pflag.NormalizedName {
	m := aliasMap(fs)
	return func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if to, ok := m[name]; ok {
			return pflag.NormalizedName(to)
		}
		return pflag.NormalizedName(name)
	}
}

// aliasNames describes the aliases of fs for its help, e.g. "--output for --out".
func aliasNames(fs *pflag.FlagSet) []string {
	var a []string
	for from, to := range aliasMap(fs) {
		a = append(a, "--"+from+" for --"+to)
	}
	slices.Sort(a)
	return a
}

// parseFlags parses args into fs. After --help or -h it returns errHelpShown (the help is on
// standard output); a bad flag gives an inputError of one line that suggests the nearest flag
// name for an unknown one and points to `rephase help CMD`.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if fs.Lookup("help") == nil { // last in the help
		fs.BoolP("help", "h", false, "print this help and exit")
		fs.SetNormalizeFunc(aliases(fs))
	}
	err := fs.Parse(args)
	if err == nil {
		if h, _ := fs.GetBool("help"); h {
			fs.Usage()
			return errHelpShown
		}
		return nil
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := suggestFlag(fs, name); s != "" {
			msg += " (did you mean --" + s + "?)"
		}
	}
	return badInput("%s: %s; see 'rephase help %s'", fs.Name(), msg, fs.Name())
}

// suggestFlag returns the flag of fs whose name is nearest to name by Levenshtein distance, if
// that is at most 2 (ties: the first in definition order), or else "".
func suggestFlag(fs *pflag.FlagSet, name string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := levenshtein(strings.ToLower(name), f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// levenshtein is the edit distance (insertions, deletions, substitutions) between a and b, by
// runes.
func levenshtein(a, b string) int {
	r, s := []rune(a), []rune(b)
	prev := make([]int, len(s)+1)
	cur := make([]int, len(s)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(s); j++ {
			cost := 1
			if r[i-1] == s[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(s)]
}

// parseWithInput parses flags, which may come before or after one positional argument, and
// returns that argument ("" if none). Errors as parseFlags; a second positional argument is an
// inputError.
func parseWithInput(fs *pflag.FlagSet, args []string, cmd string) (string, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	switch fs.NArg() {
	case 0:
		return "", nil
	case 1:
		return fs.Arg(0), nil
	}
	return "", badInput("%s: more than one input (%q, %q)", cmd, fs.Arg(0), fs.Arg(1))
}

// flagsOf returns the FlagSet that run defines, by running it with --help while flagSink takes
// the FlagSet instead of printing it. run must define its flags before parsing and do nothing
// else first (true of every command). Not safe for concurrent use.
func flagsOf(run func([]string) error) *pflag.FlagSet {
	var got *pflag.FlagSet
	flagSink = func(fs *pflag.FlagSet) { got = fs }
	defer func() { flagSink = nil }()
	run([]string{"--help"})
	return got
}

// valuesOf returns the values listed in a flag's usage as "a | b | c" (the words before a space or
// parenthesis in each alternative), for completion; nil if the usage lists none or an alternative
// is a placeholder in capitals.
func valuesOf(usage string) []string {
	if !strings.Contains(usage, " | ") {
		return nil
	}
	if i := strings.LastIndex(usage, ": "); i >= 0 && i < strings.Index(usage, " | ") {
		usage = usage[i+2:]
	}
	var vals []string
	for _, alt := range strings.Split(usage, " | ") {
		alt = strings.TrimSpace(alt)
		if i := strings.IndexAny(alt, " (,;"); i >= 0 {
			alt = alt[:i]
		}
		if alt == "" || strings.ToLower(alt) != alt { // placeholders such as DEVICE
			return nil
		}
		vals = append(vals, alt)
	}
	return vals
}

// version is what `rephase --version` prints: the module version (with the VCS revision when the
// binary was built from a checkout), the Go version and the FFT backend of the build.
func version() string {
	v, rev, dirty, goVer := "(unknown)", "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v, goVer = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev
		if dirty {
			v += ", modified"
		}
		v += ")"
	}
	return fmt.Sprintf("%s, %s, FFT backend %s", v, goVer, fft.Backend)
}

// windowUsage is the help of every --window flag: the names retrieval.ParseWindow accepts.
const windowUsage = "analysis window: hann (alias hanning) | hamming | blackman | gauss (gaussian) | rect (rectangular, boxcar)"

// precisionUsage is the help of --precision.
const precisionUsage = "frame-pass precision: auto (float32 for fgla and gla, float64 for the others, as " +
	"retrieval.Optimizer.DefaultPrecision) | float32 | float64"

// parsePrecision parses --precision for optimizer o.
func parsePrecision(s string, o retrieval.Optimizer) (fft.Precision, error) {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		return o.DefaultPrecision(), nil
	}
	var p fft.Precision
	if err := p.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--precision %q: want auto, float32 or float64", s)
	}
	return p, nil
}
