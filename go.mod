module github.com/rephase/rephase

go 1.24.0

require (
	github.com/go-audio/audio v1.0.0
	github.com/go-audio/wav v1.1.0
	github.com/gordonklaus/portaudio v0.0.0-20250206071425-98a94950218b
	github.com/mjibson/go-dsp v0.0.0-20180508042940-11479a337f12
	github.com/sbinet/npyio v0.6.0
	github.com/schollz/progressbar/v3 v3.19.0
	golang.org/x/sys v0.33.0
	golang.org/x/term v0.32.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/campoy/embedmd v1.0.0 // indirect
	github.com/go-audio/riff v1.0.0 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	golang.org/x/tools v0.30.0 // indirect
)
