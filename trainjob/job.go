package trainjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/models"
)

// ModelsDir is the folder of a dataset that holds its models, one folder
// each.
const ModelsDir = "models"

// Profiles are the trainer's training profiles (training/README.md):
// cpu30 for two CPU cores and half an hour, gpu for one GPU, smoke for
// tests. An empty profile picks gpu when torch sees a GPU, else cpu30.
var Profiles = []string{"cpu30", "gpu", "smoke"}

// Options say what to train and how.
type Options struct {
	// Dataset is the dataset folder (nnU-Net v2 or Decathlon).
	Dataset string
	// Name is the model's name, its folder DIR/models/NAME; empty means
	// model-YYYYMMDD-HHMMSS, the local time.
	Name string
	// Profile is the trainer's profile; empty picks one (Profiles).
	Profile string
	Seed    int
	// ValCase is the done case to hold out for validation; empty lets
	// the trainer draw one by the seed when at least three are done.
	ValCase string
	// Cases are the cases to train on; nil means the worklist's done
	// cases.
	Cases []string
	// Force replaces an existing model of the same name.
	Force bool
	// Extra are further arguments for the trainer (--pretrain none,
	// --epochs N, ...), passed as they are.
	Extra []string
	// Python is the interpreter; nil means FindPython.
	Python *Python
	// Trainer is the folder holding polycl/; empty means FindTrainer.
	Trainer string
	// Processes is the number of training processes: several run under
	// torchrun. Zero means one per GPU when torch sees several, else one.
	Processes int
	// Device is the trainer's --device (auto, cpu, cuda); empty leaves
	// its default, auto.
	Device string
	// CommandNote is recorded in the manifest as the command that made
	// the model; empty means the polyseg train command line that would.
	CommandNote string

	// OnCheck hears of each case the dataset check has read.
	OnCheck func(done, total int)
	// OnEvent hears of each progress event, and OnLine of every line the
	// trainer writes and of polyseg's own notes about the run, in order,
	// one call at a time.
	OnEvent func(Event)
	OnLine  func(Line)

	// Grace is how long a cancelled trainer has between SIGINT and
	// SIGTERM (default 10 s), KillAfter between SIGTERM and SIGKILL
	// (default 20 s).
	Grace, KillAfter time.Duration
}

// Line is one line of a training's log.
type Line struct {
	// Stream is "stdout" (progress events) or "stderr" (the trainer's
	// messages) of the trainer, or "polyseg" for what polyseg says about
	// the run (leftovers removed, signals sent).
	Stream string
	Text   string
}

// Plan is a checked training, ready to run: the dataset passed its check,
// the cases and the interpreter are known.
type Plan struct {
	opt Options

	Dataset *dataset.Dataset
	// Dir is the dataset folder and Out the model folder to make, both
	// absolute; Name is Out's base name.
	Dir, Out, Name string
	// Cases are the done cases, by ID.
	Cases     []string
	Python    *Python
	Trainer   string
	Processes int
	Profile   string
	// Notes are what the dataset check found worth knowing (a done case
	// labelled with background only).
	Notes []dataset.Problem
}

// Result is a finished training.
type Result struct {
	// Dir is the model folder; Manifest its manifest, checked.
	Dir      string
	Manifest *models.Manifest
	// Validation is the held-out case's Dice per label (nil when no case
	// was held out), ValidationCase that case.
	Validation     map[string]*float64
	ValidationCase string
	Cases          []string
	Elapsed        time.Duration
	// Removed are leftovers of killed runs that were removed.
	Removed []string
}

// ErrNoDoneCase is returned when the dataset has no case to train on.
var ErrNoDoneCase = errors.New("no case is done")

// The errors a trainer's exit maps to, wrapped by *TrainerError.
var (
	ErrRefused     = errors.New("the trainer refused the dataset or its arguments") // exit 2
	ErrInterrupted = errors.New("the trainer was interrupted")                      // 128 + signal, or killed
	ErrFailed      = errors.New("the training failed")                              // exit 1, or any other
)

// TrainerError is a run of the trainer that ended without a model.
type TrainerError struct {
	Name string
	// Status is the exit status; -1 when a signal killed the trainer,
	// which State then names.
	Status int
	State  string
	// Kind and Message are those of the trainer's error event (dataset,
	// usage, interrupted, failed); Kind is empty when it wrote none.
	Kind, Message string
	// Tail is the end of the trainer's messages, for a failure it did not
	// describe itself.
	Tail []string
	err  error
}

func (e *TrainerError) Error() string {
	what := e.Message
	if what == "" && len(e.Tail) > 0 {
		what = e.Tail[len(e.Tail)-1]
	}
	exit := e.State
	if exit == "" {
		exit = fmt.Sprintf("exit status %d", e.Status)
	}
	s := fmt.Sprintf("training %s: %v (%s)", e.Name, e.err, exit)
	if what != "" {
		s += ": " + what
	}
	return s + "; no model written"
}

func (e *TrainerError) Unwrap() error { return e.err }

// Run prepares and runs a training (Prepare, Plan.Run).
func Run(ctx context.Context, opt Options) (*Result, error) {
	p, err := Prepare(ctx, opt)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx)
}

// Prepare checks what a training needs before anything starts: the
// dataset (its layout and dataset.Check), the model's name and folder,
// the cases to train on, the interpreter with PyTorch, the trainer.
func Prepare(ctx context.Context, opt Options) (*Plan, error) {
	dir, err := filepath.Abs(opt.Dataset)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", opt.Dataset, err)
	}
	// The dataset is opened as the caller names it, so that the check's
	// messages are those of polyseg dataset check for the same folder.
	d, err := dataset.Open(ctx, opt.Dataset, dataset.Options{})
	if err != nil {
		return nil, err
	}
	if d.Layout == dataset.Plain {
		return nil, fmt.Errorf("dataset %s: a plain folder of scans cannot be trained on: make it an nnU-Net dataset first (polyseg dataset init %s)", dir, dir)
	}
	p := &Plan{opt: opt, Dataset: d, Dir: dir, Name: opt.Name}
	if p.Name == "" {
		p.Name = "model-" + time.Now().Format("20060102-150405")
	}
	if err := dataset.ValidID(p.Name); err != nil {
		return nil, fmt.Errorf("model name %q: %w", p.Name, err)
	}
	p.Out = filepath.Join(dir, ModelsDir, p.Name)
	if _, err := os.Stat(p.Out); err == nil && !opt.Force {
		return nil, fmt.Errorf("model %s: %s exists: choose another name, or replace it (--force)", p.Name, p.Out)
	}
	if pid, ok := partialOwner(p.Out); ok && processAlive(pid) {
		return nil, fmt.Errorf("model %s: another training of it (process %d) is writing %s", p.Name, pid, partialDir(p.Out))
	}

	r, err := d.Check(ctx, opt.OnCheck)
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return nil, r.Err() // a *dataset.CheckError, as polyseg dataset check's
	}
	if p.Cases, err = doneCases(d, opt.Cases); err != nil {
		return nil, err
	}
	for _, n := range r.Notes {
		if slices.Contains(p.Cases, n.Case) {
			p.Notes = append(p.Notes, n)
		}
	}
	if opt.ValCase != "" && !slices.Contains(p.Cases, opt.ValCase) {
		return nil, fmt.Errorf("validation case %q is not among the cases trained on (%s)", opt.ValCase, strings.Join(p.Cases, ", "))
	}

	if p.Trainer = opt.Trainer; p.Trainer == "" {
		if p.Trainer, err = FindTrainer(); err != nil {
			return nil, err
		}
	} else if err := checkTrainer(p.Trainer); err != nil {
		return nil, err
	} else if p.Trainer, err = filepath.Abs(p.Trainer); err != nil {
		return nil, err
	}
	if p.Python = opt.Python; p.Python == nil {
		if p.Python, err = FindPython(ctx); err != nil {
			return nil, err
		}
	}
	p.Processes = opt.Processes
	if p.Processes <= 0 {
		p.Processes = 1
		if p.Python.GPUs > 1 {
			p.Processes = p.Python.GPUs
		}
	}
	p.Profile = opt.Profile
	if p.Profile == "" {
		p.Profile = "cpu30"
		if p.Python.GPUs > 0 {
			p.Profile = "gpu"
		}
	}
	return p, nil
}

// doneCases returns the cases to train on: those named, each of which
// must exist and be labelled, or else the worklist's done cases.
func doneCases(d *dataset.Dataset, named []string) ([]string, error) {
	if named != nil {
		var out []string
		for _, id := range named {
			c, ok := d.Case(id)
			switch {
			case !ok:
				return nil, fmt.Errorf("dataset %s: no case %q", d.Dir, id)
			case !c.Labeled:
				return nil, fmt.Errorf("dataset %s: case %s has no label file to train on", d.Dir, id)
			case slices.Contains(out, id):
				continue
			}
			out = append(out, id)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("dataset %s: %w: the list of cases is empty", d.Dir, ErrNoDoneCase)
		}
		return out, nil
	}
	var out []string
	for _, e := range d.Worklist() {
		if e.Err == nil && e.State.Status == dataset.Done && e.Case.Labeled {
			out = append(out, e.Case.ID)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dataset %s: %w yet: mark the cases whose labels are finished as done (Ctrl+Enter in the app), or name them (--cases)", d.Dir, ErrNoDoneCase)
	}
	return out, nil
}

// Command returns the command line that runs the training, the done
// cases being in doneFile: the interpreter first.
func (p *Plan) Command(doneFile string) []string {
	args := []string{p.Python.Exe}
	if p.Processes > 1 {
		// Debian's torchrun (PyTorch 1.13 on Python 3.11) takes only 1 or
		// 2 here (doc.go); 1 tees the progress lines, stderr is inherited.
		args = append(args, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", strconv.Itoa(p.Processes),
			"--redirects", "1", "--tee", "1")
	}
	args = append(args, "-m", "polycl", "train-dataset", "--dataset", p.Dir, "--out", p.Out,
		"--profile", p.Profile, "--seed", strconv.Itoa(p.opt.Seed), "--done-file", doneFile)
	if p.opt.ValCase != "" {
		args = append(args, "--val-case", p.opt.ValCase)
	}
	if p.opt.Force {
		args = append(args, "--force")
	}
	if p.opt.Device != "" {
		args = append(args, "--device", p.opt.Device)
	}
	args = append(args, "--command-note", p.commandNote())
	return append(args, p.opt.Extra...)
}

// commandNote is what the manifest records as the command that made the
// model.
func (p *Plan) commandNote() string {
	if p.opt.CommandNote != "" {
		return p.opt.CommandNote
	}
	parts := []string{"polyseg", "train", p.Dir, "--name", p.Name, "--profile", p.Profile, "--seed", strconv.Itoa(p.opt.Seed)}
	if p.opt.ValCase != "" {
		parts = append(parts, "--val-case", p.opt.ValCase)
	}
	if p.opt.Cases != nil {
		parts = append(parts, "--cases", strings.Join(p.Cases, ","))
	}
	if len(p.opt.Extra) > 0 {
		parts = append(append(parts, "--"), p.opt.Extra...)
	}
	return strings.Join(parts, " ") + " (cases: " + strings.Join(p.Cases, ", ") + ")"
}

// run is the state of one run of the trainer.
type run struct {
	p *Plan

	mu      sync.Mutex // one callback at a time; guards what follows
	done    *Event     // the done event
	failure *Event     // the error event
	tail    []string   // the last lines of stderr
}

// tailLines is how many of the trainer's last messages an error keeps.
const tailLines = 20

func (r *run) line(stream string, b []byte) {
	text := strings.TrimRight(string(b), "\r\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p.opt.OnLine != nil {
		r.p.opt.OnLine(Line{Stream: stream, Text: text})
	}
	e, ok, err := ParseLine(b)
	switch {
	case err != nil:
		r.noteLocked(fmt.Sprintf("unreadable progress line: %v", err))
		return
	case !ok:
		if t := strings.TrimSpace(rankPrefix.ReplaceAllString(text, "")); t != "" && stream == "stderr" {
			r.tail = append(r.tail, t)
			if len(r.tail) > tailLines {
				r.tail = r.tail[1:]
			}
		}
		return
	}
	switch e.Event {
	case "done":
		r.done = &e
	case "error":
		r.failure = &e
	}
	if r.p.opt.OnEvent != nil {
		r.p.opt.OnEvent(e)
	}
}

func (r *run) note(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteLocked(text)
}

func (r *run) noteLocked(text string) {
	if r.p.opt.OnLine != nil {
		r.p.opt.OnLine(Line{Stream: "polyseg", Text: text})
	}
}

// Run runs the trainer and waits for it. Cancelling ctx stops it (SIGINT
// to its process group, then SIGTERM, then SIGKILL) and returns once every
// process of the group has ended, with an error wrapping ctx's; the model
// folder is then absent, or whole if the trainer had finished first.
func (p *Plan) Run(ctx context.Context) (*Result, error) {
	r := &run{p: p}
	var removed []string
	if gone, err := removeDeadPartial(p.Out); err != nil {
		return nil, err
	} else if gone != "" {
		removed = append(removed, gone)
		r.note("removed " + gone + ", left by a training that was killed")
	}
	doneFile, err := writeDoneFile(p.Cases)
	if err != nil {
		return nil, err
	}
	defer os.Remove(doneFile)

	args := p.Command(doneFile)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = p.Trainer // so that no module of the user's folder shadows one of the trainer's
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath(p.Trainer), "PYTHONUNBUFFERED=1")
	cmd.Stdout = &lineWriter{fn: func(b []byte) { r.line("stdout", b) }}
	cmd.Stderr = &lineWriter{fn: func(b []byte) { r.line("stderr", b) }}
	cmd.SysProcAttr = groupAttr()
	// A worker that outlives the trainer's main process keeps the pipes
	// open; Wait stops waiting for them after a moment, and the group is
	// stopped below.
	cmd.WaitDelay = linger
	r.note("running " + strings.Join(quoteArgs(args), " "))

	started := time.Now()
	lockThread()
	err = cmd.Start()
	if err != nil {
		unlockThread()
		return nil, fmt.Errorf("start the trainer %s: %w", args[0], err)
	}
	pid := cmd.Process.Pid
	ended := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		p.stopOnCancel(ctx, r, pid, ended)
	}()
	waitErr := cmd.Wait()
	unlockThread()
	// The main process has ended. Its workers end with it (torchrun waits
	// for them); one still there after a moment is stopped, then killed.
	p.stopStragglers(r, pid)
	close(ended)
	watch.Wait()
	cmd.Stdout.(*lineWriter).flush()
	cmd.Stderr.(*lineWriter).flush()

	// A run that was killed leaves its work folder; nothing of it is
	// usable.
	if gone, err := removeDeadPartial(p.Out); err != nil {
		r.note(err.Error())
	} else if gone != "" {
		removed = append(removed, gone)
		r.note("removed " + gone + ", the half-written model of this run")
	}

	r.mu.Lock()
	doneEv, failure, tail := r.done, r.failure, slices.Clone(r.tail)
	r.mu.Unlock()
	ps := cmd.ProcessState
	if waitErr != nil && ps == nil {
		return nil, fmt.Errorf("training %s: wait for the trainer: %w", p.Name, waitErr)
	}
	status := ps.ExitCode()
	if status == 0 && doneEv != nil {
		res, err := p.result(doneEv)
		if err != nil {
			return nil, err
		}
		res.Elapsed, res.Removed = time.Since(started), removed
		return res, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("training %s cancelled, no model written: %w", p.Name, ctx.Err())
	}
	te := &TrainerError{Name: p.Name, Status: status, Tail: tail}
	if status < 0 {
		te.State = ps.String()
	}
	if failure != nil {
		te.Kind, te.Message = failure.Kind, failure.Message
	}
	switch {
	case status == 0:
		te.err, te.Message = ErrFailed, "the trainer ended without reporting a model"
	case status == 2:
		te.err = ErrRefused
	case status < 0 || status > 128 || te.Kind == "interrupted":
		te.err = ErrInterrupted
	default:
		te.err = ErrFailed
	}
	return nil, te
}

// stopOnCancel stops the trainer's process group once ctx is done: SIGINT,
// then SIGTERM after the grace period, then SIGKILL. It returns when ended
// is closed.
func (p *Plan) stopOnCancel(ctx context.Context, r *run, pid int, ended <-chan struct{}) {
	select {
	case <-ended:
		return
	case <-ctx.Done():
	}
	waits := []time.Duration{p.grace(), p.killAfter(), 0}
	for i, sig := range stopSignals {
		r.note(fmt.Sprintf("cancelled: sending %v to the trainer's processes", sig))
		if err := signalGroup(pid, sig); err != nil {
			r.note(fmt.Sprintf("signal the trainer: %v", err))
		}
		if i == len(stopSignals)-1 {
			return
		}
		select {
		case <-ended:
			return
		case <-time.After(waits[i]):
		}
	}
}

// linger is how long the processes of the trainer's group may outlive
// its main process before they are stopped.
const linger = time.Second

// stopStragglers ends what is left of the trainer's process group once its
// main process has ended: SIGTERM after linger, SIGKILL after KillAfter.
func (p *Plan) stopStragglers(r *run, pid int) {
	waitGone := func(d time.Duration) bool {
		for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if !groupAlive(pid) {
				return true
			}
		}
		return !groupAlive(pid)
	}
	if waitGone(linger) {
		return
	}
	for i, sig := range stopSignals[1:] {
		r.note(fmt.Sprintf("processes of the trainer outlived it: sending %v", sig))
		_ = signalGroup(pid, sig)
		wait := p.killAfter()
		if i == len(stopSignals)-2 {
			wait = 2 * time.Second // after SIGKILL, only the kernel's work
		}
		if waitGone(wait) {
			return
		}
	}
	r.note("processes of the trainer are still there after SIGKILL")
}

func (p *Plan) grace() time.Duration {
	if p.opt.Grace > 0 {
		return p.opt.Grace
	}
	return 10 * time.Second
}

func (p *Plan) killAfter() time.Duration {
	if p.opt.KillAfter > 0 {
		return p.opt.KillAfter
	}
	return 20 * time.Second
}

// result reads and checks the model the trainer reported.
func (p *Plan) result(done *Event) (*Result, error) {
	m, err := models.LoadFolder(p.Out)
	if err != nil {
		return nil, fmt.Errorf("training %s: the trainer reported %s, but: %w", p.Name, done.Model, err)
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("training %s: %w", p.Name, err)
	}
	t := m.Training()
	return &Result{Dir: p.Out, Manifest: m, Validation: done.Validation, ValidationCase: t.ValidationCase, Cases: t.Cases}, nil
}

// partialDir is the hidden folder the trainer writes a model into before
// renaming it to out.
func partialDir(out string) string {
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
}

// partialOwner returns the process writing out's work folder, from the
// pid file the trainer keeps there; false when there is no such folder.
// A folder without a readable pid file has owner 0.
func partialOwner(out string) (int, bool) {
	dir := partialDir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0, true
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, true
}

// removeDeadPartial removes out's work folder when no live process owns
// it, and returns its path then ("" when there was none to remove).
func removeDeadPartial(out string) (string, error) {
	pid, ok := partialOwner(out)
	if !ok || processAlive(pid) {
		return "", nil
	}
	dir := partialDir(out)
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("remove %s, left by a killed training: %w", dir, err)
	}
	return dir, nil
}

// writeDoneFile writes the cases to train on as the trainer's --done-file.
func writeDoneFile(cases []string) (string, error) {
	f, err := os.CreateTemp("", "polyseg-done-*.json")
	if err != nil {
		return "", fmt.Errorf("done-case file: %w", err)
	}
	b, _ := json.Marshal(map[string][]string{"done": cases})
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("done-case file %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("done-case file %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// pythonPath puts the trainer's folder first on Python's module path.
func pythonPath(trainer string) string {
	if old := os.Getenv("PYTHONPATH"); old != "" {
		return trainer + string(os.PathListSeparator) + old
	}
	return trainer
}

// quoteArgs quotes the arguments that need it, for the log.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

// lineWriter calls fn with each line written to it (without its newline),
// cutting lines at maxLine.
type lineWriter struct {
	fn  func([]byte)
	buf []byte
	cut bool // the line being read was cut: drop the rest of it
}

func (w *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if !w.cut {
				w.buf = append(w.buf, b...)
				if len(w.buf) >= maxLine {
					w.fn(w.buf[:maxLine])
					w.buf, w.cut = w.buf[:0], true
				}
			}
			break
		}
		if !w.cut {
			w.buf = append(w.buf, b[:i]...)
			w.fn(w.buf[:min(len(w.buf), maxLine)])
		}
		w.buf, w.cut = w.buf[:0], false
		b = b[i+1:]
	}
	return n, nil
}

// flush passes on a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 && !w.cut {
		w.fn(w.buf)
	}
	w.buf = w.buf[:0]
}
