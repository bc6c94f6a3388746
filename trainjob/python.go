package trainjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables that say where the trainer is.
const (
	EnvPython   = "POLYSEG_PYTHON"   // the Python interpreter to train with
	EnvTraining = "POLYSEG_TRAINING" // the training/ folder (it holds polycl/)
)

// DebianPython is the interpreter tried first: Debian's, whose
// python3-torch package is what setup.sh installs.
const DebianPython = "/usr/bin/python3"

// ErrNoPyTorch is wrapped by the errors of FindPython and Probe when no
// interpreter can run the trainer; the message says what to install.
var ErrNoPyTorch = errors.New("PyTorch not found")

// ErrNoTrainer is wrapped by the error of FindTrainer.
var ErrNoTrainer = errors.New("the trainer (training/polycl) was not found")

// required are the modules the trainer imports, with the Debian package
// that provides each.
var required = []struct{ module, deb string }{
	{"torch", "python3-torch"},
	{"numpy", "python3-numpy"},
	{"scipy", "python3-scipy"},
	{"nibabel", "python3-nibabel"},
	{"onnx", "python3-onnx"},
}

// InstallHint is the command that installs what the trainer needs on
// Debian and Ubuntu.
func InstallHint() string {
	debs := make([]string, len(required))
	for i, r := range required {
		debs[i] = r.deb
	}
	return "apt-get install " + strings.Join(debs, " ")
}

// probeScript imports every module the trainer needs and reports, as one
// JSON line, what is missing, torch's version and the CUDA devices.
const probeScript = `
import importlib, json, sys
out = {"python": sys.version.split()[0], "missing": {}, "torch": "", "gpus": 0}
for m in sys.argv[1:]:
    try:
        importlib.import_module(m)
    except Exception as e:
        out["missing"][m] = (str(e).splitlines() or [type(e).__name__])[0]
if "torch" not in out["missing"]:
    import torch
    out["torch"] = torch.__version__
    try:
        out["gpus"] = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:
        pass
print(json.dumps(out))
`

// Python is an interpreter that can run the trainer.
type Python struct {
	Exe     string // the interpreter's path
	Version string // Python's version
	Torch   string // torch.__version__
	// GPUs is the number of CUDA devices torch sees.
	GPUs int
}

// probeTimeout bounds the probe: importing torch takes seconds on a busy
// machine, never a minute.
const probeTimeout = 90 * time.Second

// Probe runs exe and reports whether it can run the trainer. An error
// wraps ErrNoPyTorch and says which modules are missing and which Debian
// packages provide them.
func Probe(parent context.Context, exe string) (*Python, error) {
	ctx, cancel := context.WithTimeout(parent, probeTimeout)
	defer cancel()
	args := []string{"-c", probeScript}
	for _, r := range required {
		args = append(args, r.module)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		msg := lastLine(stderr.String())
		switch {
		case ctx.Err() != nil:
			msg = fmt.Sprintf("importing torch took over %s", probeTimeout)
		case msg == "":
			msg = err.Error()
		}
		return nil, fmt.Errorf("%w: %s does not run (%s); install PyTorch with %s, or set %s to a Python that has it",
			ErrNoPyTorch, exe, msg, InstallHint(), EnvPython)
	}
	var out struct {
		Python  string            `json:"python"`
		Missing map[string]string `json:"missing"`
		Torch   string            `json:"torch"`
		GPUs    int               `json:"gpus"`
	}
	if err := json.Unmarshal([]byte(lastLine(stdout.String())), &out); err != nil {
		return nil, fmt.Errorf("%w: %s answered the probe with %q, not its JSON line", ErrNoPyTorch, exe, lastLine(stdout.String()))
	}
	if len(out.Missing) > 0 {
		var what, debs []string
		for _, r := range required {
			if why, ok := out.Missing[r.module]; ok {
				what = append(what, fmt.Sprintf("%s (%s)", r.module, why))
				debs = append(debs, r.deb)
			}
		}
		return nil, fmt.Errorf("%w: %s cannot import %s; install with apt-get install %s, or set %s to a Python that has them",
			ErrNoPyTorch, exe, strings.Join(what, ", "), strings.Join(debs, " "), EnvPython)
	}
	return &Python{Exe: exe, Version: out.Python, Torch: out.Torch, GPUs: out.GPUs}, nil
}

// FindPython returns the interpreter to train with: $POLYSEG_PYTHON alone
// when it is set, else the first of /usr/bin/python3 and python3 on PATH
// that imports what the trainer needs. The error wraps ErrNoPyTorch and
// names what to install.
func FindPython(ctx context.Context) (*Python, error) {
	if env := os.Getenv(EnvPython); env != "" {
		p, err := Probe(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", EnvPython, env, err)
		}
		return p, nil
	}
	var candidates []string
	if _, err := os.Stat(DebianPython); err == nil {
		candidates = append(candidates, DebianPython)
	}
	if p, err := exec.LookPath("python3"); err == nil && !sameFile(p, DebianPython) {
		candidates = append(candidates, p)
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%w: no python3 (looked for %s and python3 on PATH); install it with %s, or set %s",
			ErrNoPyTorch, DebianPython, InstallHint(), EnvPython)
	}
	var first error
	for _, c := range candidates {
		p, err := Probe(ctx, c)
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// FindTrainer returns the folder that holds the trainer's polycl package
// (the repository's training/): $POLYSEG_TRAINING when set, else
// training/ beside the executable, in its parent folder or in
// ../share/polyseg, else ./training.
func FindTrainer() (string, error) {
	if env := os.Getenv(EnvTraining); env != "" {
		if err := checkTrainer(env); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvTraining, env, err)
		}
		return filepath.Abs(env)
	}
	var tried []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		d := filepath.Dir(exe)
		tried = append(tried, filepath.Join(d, "training"), filepath.Join(d, "..", "training"),
			filepath.Join(d, "..", "share", "polyseg", "training"))
	}
	tried = append(tried, "training")
	for _, t := range tried {
		if checkTrainer(t) == nil {
			return filepath.Abs(t)
		}
	}
	return "", fmt.Errorf("%w: looked in %s; set %s to the repository's training folder", ErrNoTrainer, strings.Join(tried, ", "), EnvTraining)
}

// checkTrainer reports whether dir holds the polycl package with its
// learning loop.
func checkTrainer(dir string) error {
	for _, f := range []string{"__main__.py", "loop.py"} {
		if _, err := os.Stat(filepath.Join(dir, "polycl", f)); err != nil {
			return fmt.Errorf("%w: %s has no polycl/%s", ErrNoTrainer, dir, f)
		}
	}
	return nil
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// lastLine returns the last non-empty line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
