package dataset

// Tests with several processes: the test binary runs itself again as a
// helper (POLYSEG_DATASET_HELPER names the role), as os/exec's tests do, so
// that locks are raced for and writes killed by real processes.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polyseg/polyseg/internal/lockfile"
	"github.com/polyseg/polyseg/volume"
)

const helperEnv = "POLYSEG_DATASET_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(role, os.Getenv("DS_DIR"), os.Getenv("DS_CASE")); err != nil {
			fmt.Println("error", oneLine(err))
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// runHelper is the helper process's main.
func runHelper(role, dir, id string) error {
	d, err := Open(ctx, dir, Options{})
	if err != nil {
		return err
	}
	switch role {
	case "race":
		return raceHelper(d, id)
	case "saveloop":
		base, _ := strconv.Atoi(os.Getenv("DS_BASE"))
		return saveLoop(d, id, base)
	case "addloop":
		return addLoop(d, os.Getenv("DS_PREFIX"))
	}
	return fmt.Errorf("unknown helper role %q", role)
}

// raceHelper answers commands on stdin, one a line: "acquire", "takeover
// HOLDER-JSON" and "release", printing "won", "lost" or "released".
func raceHelper(d *Dataset, id string) error {
	var held *CaseLock
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		var err error
		switch cmd {
		case "acquire":
			held, err = d.Acquire(id)
		case "takeover":
			var h Holder
			if err := json.Unmarshal([]byte(arg), &h); err != nil {
				return err
			}
			held, err = d.TakeOver(id, h)
		case "release":
			if held != nil {
				if err := held.Release(); err != nil {
					return err
				}
				held = nil
			}
			fmt.Println("released")
			continue
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
		switch {
		case err == nil:
			fmt.Println("won")
		case errors.Is(err, ErrLocked):
			fmt.Println("lost")
		default:
			return err
		}
	}
	return in.Err()
}

// version returns the label volume a save loop writes as its save n:
// values 1 to 4 in a pattern that depends on n, and a block of the value
// base+n, which tells the version apart and is new to dataset.json.
func version(g volume.Grid, base, n int) *volume.Labels {
	l := volume.NewLabels(g)
	for i := range l.Data {
		l.Data[i] = uint16(1 + (i/97+n)%4)
	}
	for k := range 4 {
		for j := range 8 {
			for i := range 8 {
				l.Data[g.Index(i, j, k)] = uint16(base + n)
			}
		}
	}
	return l
}

// saveLoop locks the case (taking over the lock of a killed predecessor),
// then saves versions 0, 1, 2, ... of its labels and updates its state,
// until it is killed. It prints "ready", then "saving N" before and "saved
// N" after each save.
func saveLoop(d *Dataset, id string, base int) error {
	l, err := d.Acquire(id)
	var le *LockedError
	if errors.As(err, &le) && le.Stale {
		l, err = d.TakeOver(id, le.Holder)
	}
	if err != nil {
		return err
	}
	scan, _, _, err := d.OpenCase(ctx, id)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	for n := 0; ; n++ {
		fmt.Println("saving", n)
		if err := l.SaveLabels(ctx, version(scan.Grid, base, n), scan, nil); err != nil {
			return err
		}
		if _, err := l.UpdateState(func(s *State) { s.EditTime += time.Second; s.Note = fmt.Sprint("save ", n) }); err != nil {
			return err
		}
		fmt.Println("saved", n)
	}
}

// addLoop adds cases PREFIX0, PREFIX1, ... until it is killed.
func addLoop(d *Dataset, prefix string) error {
	scan := bigScan()
	fmt.Println("ready")
	for n := 0; ; n++ {
		if _, err := d.AddCase(ctx, fmt.Sprint(prefix, n), scan, version(scan.Grid, 6, n%3), nil); err != nil {
			return err
		}
		fmt.Println("added", n)
	}
}

// bigGrid is large enough that writing a case takes tens of milliseconds,
// so that a kill at a random moment lands inside a write.
var bigGrid = volume.Grid{Dims: [3]int{128, 128, 32}, Affine: volume.Affine{
	{0.9, 0, 0, -70}, {0, 0.9, 0, -60}, {0, 0, 3, 20}, {0, 0, 0, 1}}}

func bigScan() *volume.Volume {
	v := &volume.Volume{Grid: bigGrid, Data: make([]float32, bigGrid.Len())}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range v.Data {
		v.Data[i] = float32(r.IntN(2000) - 1000) // noise: gzip works for its bytes
	}
	return v
}

// helper is a running helper process.
type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHelper(t *testing.T, role, dir, id string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, "DS_DIR="+dir, "DS_CASE="+id)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &helper{cmd: cmd, in: in, out: bufio.NewScanner(out)}
}

func (h *helper) line(t *testing.T) string {
	t.Helper()
	if !h.out.Scan() {
		h.cmd.Wait()
		t.Fatalf("helper %d ended: %v", h.cmd.Process.Pid, h.out.Err())
	}
	s := h.out.Text()
	if strings.HasPrefix(s, "error ") {
		t.Fatalf("helper %d: %s", h.cmd.Process.Pid, s)
	}
	return s
}

// TestProcessRace has three processes race for one case, round after
// round: exactly one must win each time, whether the case is free
// (Acquire) or held by a stale lock all three try to take over.
func TestProcessRace(t *testing.T) {
	d := newSynth(t)
	const procs, rounds = 3, 120
	hs := make([]*helper, procs)
	for i := range hs {
		hs[i] = startHelper(t, "race", d.Dir, "a")
	}
	defer func() {
		for _, h := range hs {
			h.in.Close()
			h.cmd.Wait()
		}
	}()
	lockFile := d.lockPath("a")
	takeovers := 0
	for round := range rounds {
		cmd := "acquire"
		if round%2 == 1 {
			// A holder on a host that went away an hour ago.
			ghost := Holder{User: "ghost", Host: "gone-host", PID: 4242, Since: time.Now().Add(-2 * time.Hour), Token: fmt.Sprint("ghost-", round)}
			b, _ := json.Marshal(ghost)
			if err := os.WriteFile(lockFile, b, 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			os.Chtimes(lockFile, old, old)
			cmd = "takeover " + string(b)
			takeovers++
		}
		for _, h := range hs {
			fmt.Fprintln(h.in, cmd)
		}
		var winners []int
		for _, h := range hs {
			switch s := h.line(t); s {
			case "won":
				winners = append(winners, h.cmd.Process.Pid)
			case "lost":
			default:
				t.Fatalf("round %d: helper said %q", round, s)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d (%s): %d processes won: %v", round, strings.Fields(cmd)[0], len(winners), winners)
		}
		if st, _ := lockfile.Inspect(lockFile, lockfile.Options{}); st.Holder.PID != winners[0] {
			t.Fatalf("round %d: the lock file names process %d, the winner is %d", round, st.Holder.PID, winners[0])
		}
		for _, h := range hs {
			fmt.Fprintln(h.in, "release")
		}
		for _, h := range hs {
			if s := h.line(t); s != "released" {
				t.Fatalf("round %d: helper said %q", round, s)
			}
		}
		if exists(lockFile) {
			t.Fatalf("round %d: the lock file is still there after release", round)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(lockFile))
	if len(entries) != 0 {
		t.Errorf("files left in the lock folder: %v", entries)
	}
	t.Logf("%d rounds of %d processes, %d of them taking over a stale lock: one winner each", rounds, procs, takeovers)
}

// TestKillDuringSave kills a process that saves a case in a loop, at
// random moments and right after it starts a save, and checks each time
// that the label file is one complete version, the dataset checks clean,
// and the next process takes the dead one's lock over.
func TestKillDuringSave(t *testing.T) {
	d := newSynth(t)
	if _, err := d.AddCase(ctx, "big", bigScan(), nil, nil); err != nil {
		t.Fatal(err)
	}
	const iterations = 10
	labelFile := filepath.Join(d.Dir, "labelsTr", "big.nii.gz")
	bases := []int{}
	midWrite, saves := 0, 0
	r := rand.New(rand.NewPCG(3, 4))
	lastEdit := time.Duration(0)
	for it := range iterations {
		base := 20 + 40*it
		bases = append(bases, base)
		h := startHelper(t, "saveloop", d.Dir, "big", fmt.Sprint("DS_BASE=", base))
		if s := h.line(t); s != "ready" {
			t.Fatalf("helper said %q", s)
		}
		if it%2 == 0 {
			time.Sleep(time.Duration(r.IntN(150)) * time.Millisecond)
		} else {
			// Right after a save has started: inside the write.
			target := fmt.Sprint("saving ", r.IntN(3))
			for h.line(t) != target {
			}
			time.Sleep(time.Duration(r.IntN(15)) * time.Millisecond)
		}
		h.cmd.Process.Signal(syscall.SIGKILL)
		h.in.Close()
		for h.out.Scan() {
			if strings.HasPrefix(h.out.Text(), "saved") {
				saves++
			}
		}
		h.cmd.Wait() // reaped: its process id is gone, so its lock is stale

		// The label file is one whole version: the initial empty one or
		// some save of some process.
		got, err := volume.ReadLabelsNIfTI(labelFile)
		if err != nil {
			t.Fatalf("iteration %d: the label file after kill -9: %v", it, err)
		}
		m := int(slices.Max(got.Data))
		if m == 0 {
			if slices.ContainsFunc(got.Data, func(v uint16) bool { return v != 0 }) {
				t.Fatalf("iteration %d: a label file that is neither empty nor a save", it)
			}
		} else {
			b := 0
			for _, x := range bases {
				if x <= m {
					b = x
				}
			}
			if b == 0 || !slices.Equal(got.Data, version(bigGrid, b, m-b).Data) {
				t.Fatalf("iteration %d: the label file (largest value %d) is not a whole version", it, m)
			}
		}
		leftover := false
		for _, e := range must(os.ReadDir(filepath.Dir(labelFile))) {
			leftover = leftover || strings.HasPrefix(e.Name(), ".")
		}
		if leftover {
			midWrite++
		}
		d2, err := Open(ctx, d.Dir, Options{})
		if err != nil {
			t.Fatalf("iteration %d: open after kill -9: %v", it, err)
		}
		rep := mustCheck(t, d2)
		if !rep.OK() {
			t.Fatalf("iteration %d: check after kill -9: %v", it, rep.Problems)
		}
		st, err := d2.State("big")
		if err != nil {
			t.Fatalf("iteration %d: state after kill -9: %v", it, err)
		}
		if st.EditTime < lastEdit {
			t.Fatalf("iteration %d: editing time went back from %v to %v", it, lastEdit, st.EditTime)
		}
		lastEdit = st.EditTime
	}
	t.Logf("%d kills, %d saves completed, %d kills left a write's temporary file behind", iterations, saves, midWrite)
	if midWrite == 0 {
		t.Error("no kill landed inside a write: the test proves nothing about torn writes")
	}
	if saves == 0 {
		t.Error("no save completed")
	}
}

// TestKillDuringAdd kills a process that adds cases in a loop; an add cut
// short is reported by Check and finished by adding the case again.
func TestKillDuringAdd(t *testing.T) {
	d := newSynth(t)
	r := rand.New(rand.NewPCG(5, 6))
	interrupted := 0
	for it := range 4 {
		prefix := fmt.Sprintf("k%d_", it)
		h := startHelper(t, "addloop", d.Dir, "", "DS_PREFIX="+prefix)
		if s := h.line(t); s != "ready" {
			t.Fatalf("helper said %q", s)
		}
		time.Sleep(time.Duration(20+r.IntN(200)) * time.Millisecond)
		h.cmd.Process.Signal(syscall.SIGKILL)
		h.in.Close()
		for h.out.Scan() {
		}
		h.cmd.Wait()

		d2, err := Open(ctx, d.Dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rep := mustCheck(t, d2)
		var pending []string
		for _, p := range rep.Problems {
			if strings.Contains(p.What, "add of this case was interrupted") {
				pending = append(pending, p.Case)
			}
		}
		if !rep.OK() && len(pending) != 1 {
			t.Fatalf("iteration %d: problems other than one interrupted add: %v", it, rep.Problems)
		}
		if len(pending) == 1 {
			interrupted++
			if _, err := d2.AddCase(ctx, pending[0], bigScan(), nil, nil); err != nil {
				t.Fatalf("iteration %d: adding %s again: %v", it, pending[0], err)
			}
			d2, _ = Open(ctx, d.Dir, Options{})
			if rep := mustCheck(t, d2); !rep.OK() {
				t.Fatalf("iteration %d: check after finishing the add: %v", it, rep.Problems)
			}
		}
		d = d2
	}
	t.Logf("4 kills, %d of them inside an add, finished by adding again; %d cases", interrupted, len(d.Cases))
}
