package cli

import (
	"fmt"
	"io"
	"sync"
	"time"
)

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
}

func newProgress(e *Env, quiet bool, total int64) *progress {
	if quiet || !e.Terminal {
		return nil
	}
	now := time.Now()
	return &progress{w: e.Stderr, total: total, start: now, last: now}
}

// update is called with the rows done so far.
func (p *progress) update(rows int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(rows) / el
	line := fmt.Sprintf("%s rows  %s rows/s", group(rows), group(int64(rate)))
	if p.total > 0 && rate > 0 {
		left := time.Duration(float64(p.total-rows)/rate) * time.Second
		line += fmt.Sprintf("  %d%%  ETA %s", rows*100/p.total, left.Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

// done clears the progress line.
func (p *progress) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
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
