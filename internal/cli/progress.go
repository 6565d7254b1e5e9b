package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"
)

// progressEvery is the least time between two progress lines.
var progressEvery = 200 * time.Millisecond

// progress shows rows done and the rate on a terminal, at most a few times
// a second, on one line that it rewrites. It stays silent when stderr is not
// a terminal or --quiet was given.
type progress struct {
	w     io.Writer
	total int64 // rows expected, 0 if unknown
	start time.Time
	last  time.Time
	mu    sync.Mutex
	shown bool
	label string // printed before the figures, e.g. a file name
}

func newProgress(e *Env, quiet bool, total int64) *progress {
	if quiet || !e.Terminal {
		return nil
	}
	now := time.Now()
	return &progress{w: e.Stderr, total: total, start: now, last: now}
}

// withLabel sets a label printed before the figures and returns p.
func (p *progress) withLabel(label string) *progress {
	if p != nil {
		p.label = label
	}
	return p
}

// datasetLines shows one progress line per dataset, labelled with its
// name and cleared when the next dataset starts.
type datasetLines struct {
	e       *Env
	quiet   bool
	cur     *progress
	dataset string
}

// update is a progress callback of withdraw's jobs.
func (d *datasetLines) update(dataset string, rows int64, done float64) {
	if d.cur == nil || dataset != d.dataset {
		d.cur.done()
		d.cur, d.dataset = newProgress(d.e, d.quiet, 0).withLabel(fileLabel(dataset)), dataset
	}
	d.cur.updateShare(rows, done)
}

// done clears the last line.
func (d *datasetLines) done() { d.cur.done() }

// fileLabel is the label of a progress line about the file at path.
func fileLabel(path string) string {
	if path == "-" {
		return "<stdin>: "
	}
	return filepath.Base(path) + ": "
}

// update is called with the rows done so far.
func (p *progress) update(rows int64) { p.show(rows, -1) }

// updateShare is called with the rows done and the share of the input
// done (0-1, or -1 when unknown), which gives a percentage and an ETA.
func (p *progress) updateShare(rows int64, done float64) { p.show(rows, done) }

func (p *progress) show(rows int64, done float64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(rows) / el
	line := fmt.Sprintf("%s%s rows  %s rows/s", p.label, group(rows), group(int64(rate)))
	if done < 0 && p.total > 0 {
		done = float64(rows) / float64(p.total)
	}
	if done > 0 && done <= 1 {
		left := time.Duration(el * (1 - done) / done * float64(time.Second))
		line += fmt.Sprintf("  %d%%  ETA %s", int(done*100), left.Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

// done clears the progress line (once: a later update shows it again).
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// group formats n with thin thousands separators: 1 234 567.
func group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
