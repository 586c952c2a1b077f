package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/reauth/reauth/internal/termtext"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progress shows long work on stderr: bars when stderr is a terminal, otherwise plain lines
// (every tenth of the work), so that logs and pipes get no control characters.
type progress struct {
	out  io.Writer
	bars *mpb.Progress // nil without a terminal
	mu   sync.Mutex
}

func (a *app) newProgress() *progress {
	p := &progress{out: a.err}
	if f, ok := a.errFile.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bars = mpb.New(mpb.WithOutput(a.err), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
	}
	return p
}

// counter returns a func reporting how many of total units (rows, nodes) are done.
func (p *progress) counter(name, unit string, total int64) func(done int64) {
	if p.bars != nil {
		bar := p.bars.AddBar(total,
			mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.CountersNoUnit("%d / %d "+unit, decor.WCSyncSpace)),
			mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace)),
			mpb.BarRemoveOnComplete(),
		)
		return func(done int64) {
			if done > total {
				total = done
				bar.SetTotal(total, false)
			}
			bar.SetCurrent(done)
		}
	}
	var next int64
	return func(done int64) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if done >= next || done == total {
			fmt.Fprintf(p.out, "%s: %d of %d %s\n", name, done, total, unit)
			next = done + max(total/10, 1)
		}
	}
}

// line prints a line of progress above any bars.
func (p *progress) line(format string, a ...any) {
	// Lines may quote what nodes answered: no control character of theirs reaches the terminal.
	text := termtext.Line(fmt.Sprintf(format, a...)) + "\n"
	if p.bars != nil {
		io.WriteString(p.bars, text)
		return
	}
	p.mu.Lock()
	io.WriteString(p.out, text)
	p.mu.Unlock()
}

// done ends the bars, completing any left open.
func (p *progress) done() {
	if p.bars != nil {
		p.bars.Shutdown()
	}
}
