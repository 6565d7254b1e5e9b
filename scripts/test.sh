#!/usr/bin/env bash
# Runs every check pseudokit has. The README's test command and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...
# internal/prefetch is assembly on amd64 and arm64 and Go elsewhere: vet both.
for arch in arm64 riscv64; do GOARCH=$arch go vet ./internal/prefetch; done
GOARCH=386 go test -count=1 ./internal/prefetch # the Go fallback, run here
for os in windows darwin; do GOOS=$os go vet ./internal/hugepage; done # the files without madvise

echo "== unformatted files"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

echo "== staticcheck (pinned; fetched through the Go module proxy)"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== govulncheck (pinned; needs its vulnerability database at vuln.go.dev)"
set +e
go run golang.org/x/vuln/cmd/govulncheck@v1.9.0 ./... > /tmp/pseudokit-govulncheck.log 2>&1
vc=$?
set -e
case $vc in
  0) echo "no known vulnerabilities reach pseudokit's code" ;;
  3) cat /tmp/pseudokit-govulncheck.log; echo "govulncheck found vulnerabilities"; exit 1 ;;
  *) if grep -q "fetching vulnerabilities" /tmp/pseudokit-govulncheck.log; then
       echo "skipped: the vulnerability database is not reachable from this machine"
     else
       cat /tmp/pseudokit-govulncheck.log; exit 1
     fi ;;
esac

echo "== go test"
go test ./...

echo "== race detector on the packages with concurrency"
go test -race ./pseudo ./keyvault ./withdraw
# anonymize: the partitioned counting (its search tests take a minute under -race)
go test -race -run 'Counter|Tally|Measure|CSVAndParquetAgree' ./anonymize

echo "== Parquet interop (nested module, xitongsys/parquet-go)"
(cd interop && go test ./...)

echo "== Beam pipelines on Prism (nested module cmd/pseudokit-beam)"
(cd cmd/pseudokit-beam && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test ./...)

echo "== short fuzz runs (${FUZZTIME:=5s} each)"
# Every Fuzz target in the root module, found from the test files.
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v -e '^./interop/' -e '^./cmd/pseudokit-beam/' | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "-- $pkg $target"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=5s "$pkg" > /tmp/pseudokit-fuzz.log 2>&1; then
      # Go's fuzzer can end a timed run with "context deadline exceeded" and no
      # failing input (a toolchain race at the deadline): not a finding.
      if grep -q "context deadline exceeded" /tmp/pseudokit-fuzz.log && ! grep -q "Failing input written" /tmp/pseudokit-fuzz.log; then
        echo "   (the fuzzer stopped at its deadline with no failing input: not a finding)"
      else
        cat /tmp/pseudokit-fuzz.log; exit 1
      fi
    fi
  done
done
echo "all checks passed"
