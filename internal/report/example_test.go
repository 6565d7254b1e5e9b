package report_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pseudokit/pseudokit/internal/report"
)

// Build a report over a raw dataset, its pseudonymised output and the run
// summary, and print the checks.
func ExampleBuild() {
	r, err := report.Build(context.Background(), report.Options{
		Inputs:    []string{"testdata/raw.csv"},
		Outputs:   []string{"testdata/out.csv"},
		Summaries: []string{"testdata/run.json"},
		QI:        []string{"fodselstiar", "kjonn"},
		K:         3,
		Tool:      "pseudokit example",
		Now:       time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	for _, c := range r.Checks {
		fmt.Printf("%-4s %s\n", c.Status, c.Name)
	}
	// Output:
	// pass No direct identifier remains in the outputs
	// pass k-anonymity of testdata/out.csv on fodselstiar, kjonn
	// warn Every input column has a rule
	// pass Output testdata/out.csv is what the recorded runs made of testdata/raw.csv
	// n/a  Vault access log verifies
}

// Verify recomputes every figure of a report from the files it names.
func ExampleVerify() {
	r, err := report.Build(context.Background(), report.Options{
		Inputs: []string{"testdata/raw.csv"}, Outputs: []string{"testdata/out.csv"}, Now: time.Unix(0, 0),
	})
	if err != nil {
		panic(err)
	}
	f, _ := os.CreateTemp("", "report-*.json")
	defer os.Remove(f.Name())
	r.WriteJSON(f)
	f.Seek(0, 0)
	back, _ := report.ReadJSON(f)
	f.Close()
	v, err := report.Verify(context.Background(), back, report.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(v.Mismatches), "mismatches")
	// Output:
	// 0 mismatches
}
