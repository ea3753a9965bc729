// Package benchmarks holds rephase's speed benchmarks (Go testing.B) and, in REPORT.md, the tables
// measured with them. It contains no library code.
//
//	go test -run '^$' -bench . -count 10 ./benchmarks | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
package benchmarks
