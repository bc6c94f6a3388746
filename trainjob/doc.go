// Package trainjob runs the PolyCL trainer of the repository's training/
// folder (python3 -m polycl train-dataset, the learning loop) on a dataset's
// done cases, for polyseg train and the app's Segment > Train on this
// dataset…: it finds PyTorch, checks the dataset, builds the command, runs
// it in a process group of its own, reads its JSON progress lines, stops it
// on cancel and maps its exit status to an error that says what happened.
//
// # Finding the trainer
//
//   - Python: $POLYSEG_PYTHON when set (and then only it); else Debian's
//     /usr/bin/python3, else python3 on PATH. The interpreter must import
//     torch, numpy, scipy, nibabel and onnx; one that lacks any is refused
//     with the Debian packages to install (apt-get install python3-torch
//     ...). The probe also counts the CUDA devices torch sees.
//   - The trainer: the folder holding the polycl package, training/. It is
//     $POLYSEG_TRAINING when set; else training/ beside the executable, in
//     its parent folder (a bin/ layout) or in ../share/polyseg/; else
//     ./training (the repository root, for go run).
//   - Several GPUs: torch's own launcher (python3 -m torch.distributed.run,
//     torchrun) with one process per GPU, --standalone, and --redirects 1
//     --tee 1: every rank's stdout goes through a log file to the console,
//     each line prefixed "[default0]:" (stripped here), and stderr straight
//     to the console. Debian's PyTorch 1.13 on Python 3.11 cannot parse
//     torchrun's default --redirects, nor 0 or 3 (Python 3.11's IntFlag
//     does not list them), so 1 is the one value both it and current
//     PyTorch take that keeps the progress lines.
//
// # Invariants
//
//   - The dataset is checked with dataset.Check, the code of polyseg
//     dataset check, before Python starts: a dataset that fails is refused
//     with a *dataset.CheckError holding the same report.
//   - The done cases are the worklist's (status done) unless the caller
//     names others; they go to the trainer as a --done-file, and a
//     validation case, when named, must be one of them.
//   - The model folder DIR/models/NAME appears whole or not at all: the
//     trainer writes into DIR/models/.NAME.partial and renames it at the
//     end. A run is refused when NAME exists (unless Force) or when a live
//     process still writes its .NAME.partial; one left by a dead run is
//     removed, before and after each run, and reported.
//   - The trainer runs in a process group of its own (and, on Linux, is
//     sent SIGTERM if polyseg dies). Cancelling sends SIGINT to the whole
//     group, as Ctrl+C in a terminal would, then SIGTERM after a grace
//     period, then SIGKILL; Run returns only once the group has ended.
//   - Every exit is mapped: 0 with its done event is a Result; 2 is a
//     refused dataset or command line; 128+n an interruption; 1 a failure
//     with the trainer's own message. A cancelled run's error wraps
//     context.Canceled.
package trainjob
