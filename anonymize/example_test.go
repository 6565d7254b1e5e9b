package anonymize_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/anonymize"
)

// batch makes a record batch of string columns (synthetic data).
func batch(names []string, rows ...[]string) arrow.RecordBatch {
	var fields []arrow.Field
	var cols []arrow.Array
	for j, n := range names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.BinaryTypes.String})
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for _, r := range rows {
			b.Append(r[j])
		}
		cols = append(cols, b.NewArray())
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
}

// Count the equivalence classes of a stream of batches and measure them.
func ExampleCounter() {
	rec := batch([]string{"age", "sex", "diagnosis"},
		[]string{"34", "F", "J45"}, []string{"34", "F", "E10"}, []string{"34", "F", "J45"},
		[]string{"51", "M", "I10"}, []string{"51", "M", "I10"}, []string{"77", "F", "C50"})
	c, _ := anonymize.NewCounter(rec.Schema(), []string{"age", "sex"}, []string{"diagnosis"})
	c.Add(rec) // call once per batch
	r := c.Table().Report(anonymize.ReportOptions{K: 2})
	fmt.Printf("records %d, classes %d, k %d, uniques %d\n", r.Records, r.Classes, r.K, r.SampleUniques)
	fmt.Printf("highest prosecutor risk %.2f, average %.2f\n", r.Risk.ProsecutorHighest, r.Risk.ProsecutorAverage)
	fmt.Printf("distinct l of %s: %d\n", r.Diversity[0].Column, r.Diversity[0].DistinctL)
	// Output:
	// records 6, classes 3, k 1, uniques 1
	// highest prosecutor risk 1.00, average 0.50
	// distinct l of diagnosis: 1
}

// Read an ARX-format hierarchy and generalise with it.
func ExampleReadHierarchy() {
	h, err := anonymize.ReadHierarchy(strings.NewReader("Bachelors;Undergraduate;Higher education;*\nMasters;Graduate;Higher education;*\n"), "education.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	g, _ := h.Generalize("Masters", 2)
	fmt.Println(h.Levels(), g)
	// An inconsistent file is refused with its line.
	_, err = anonymize.ReadHierarchy(strings.NewReader("a;x;p;*\nb;x;q;*\n"), "bad.csv")
	fmt.Println(err)
	// Output:
	// 4 Higher education
	// hierarchy bad.csv: line 2: inconsistent levels: "x" on level 1 generalises to "q" on level 2 here, but to "p" on line 1
}

// The built-in builders make hierarchies for the values a column takes.
func ExampleIntervals() {
	top := 90.0
	h, _ := anonymize.Intervals{Widths: []float64{5, 10, 20}, Top: &top}.Build([]string{"23", "37", "94"})
	fmt.Println(h.Row("37"))
	fmt.Println(h.Row("94"))
	p, _ := anonymize.Postcodes{}.Build([]string{"0351", "7030"})
	fmt.Println(p.Row("0351"))
	// Output:
	// [37 35-39 30-39 20-39 *]
	// [94 >=90 >=90 >=90 *]
	// [0351 035* 03** 0*** *]
}

// Find the optimal generalisation: the transformation that makes the data
// 2-anonymous with the least loss.
func ExampleProblem_Search() {
	rec := batch([]string{"age", "sex"},
		[]string{"31", "F"}, []string{"33", "F"}, []string{"36", "M"}, []string{"38", "M"},
		[]string{"52", "F"}, []string{"57", "F"}, []string{"44", "M"})
	c, _ := anonymize.NewCounter(rec.Schema(), []string{"age", "sex"}, nil)
	c.Add(rec)
	age, _ := anonymize.Intervals{Widths: []float64{5, 10, 20}}.Build([]string{"31", "33", "36", "38", "52", "57", "44"})
	sex, _ := anonymize.NewHierarchy("sex", [][]string{{"F", "*"}, {"M", "*"}}, nil)
	p, _ := anonymize.NewProblem(c.Table(), []*anonymize.Hierarchy{age, sex},
		anonymize.Config{K: 2, Suppression: 0.15, Metric: anonymize.Loss})
	sol, _ := p.Search(context.Background())
	fmt.Printf("levels %v, loss %.4f, suppressed %d of %d, optimal %v\n", sol.Levels, sol.Value, sol.Suppressed, sol.Records, sol.Optimal)
	// Output:
	// levels [2 0], loss 0.2989, suppressed 1 of 7, optimal true
}

// Anonymise a file according to a rule file.
func ExampleJob() {
	dir, _ := os.MkdirTemp("", "anonymize-example")
	defer os.RemoveAll(dir)
	in, out := dir+"/in.csv", dir+"/out.csv"
	data := "id,age,postnr\n"
	for i := range 40 {
		data += fmt.Sprintf("P%d,%d,%04d\n", i, 20+i%30, 1000+i%9)
	}
	os.WriteFile(in, []byte(data), 0o600)
	rules, err := anonymize.ParseRules(strings.NewReader(`
version: 1
k: 4
quasi_identifiers:
  age:    {intervals: [5, 10, 20]}
  postnr: {postcode: [3, 2, 1]}
drop: [id]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := (&anonymize.Job{Rules: rules, In: anonymize.Input{Path: in}, Out: out}).Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d rows, levels %v, k after %d, verified %v\n", sum.RowsOut, sum.Search.Levels, sum.After.K, sum.Verified)
	// Output:
	// 40 rows, levels [4 0], k after 4, verified true
}
