// Command gpucheck is the GPU machine's side of docs/gpu.md: a headless
// binary (no Fyne, so it starts on a machine without X11 or GL libraries)
// built here and carried there by scripts/gpu/pack.sh.
//
//	gpucheck opcheck [--provider cuda] [--json F]   one-operator graphs on the provider, each in its own process
//	gpucheck bench --data DIR --out DIR              SAM and U-Net, CUDA against the CPU in the same run
//	gpucheck phantom --out DIR --scanner A|B ...     the experiment's phantoms (scripts/gpu/data.sha256 checks them)
//
// scripts/gpu/check.sh runs them in order.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpucheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: opcheck, bench or phantom")
	}
	switch args[0] {
	case "opcheck":
		return runOpcheck(ctx, args[1:], stdout)
	case "bench":
		return runBench(ctx, args[1:], stdout)
	case "phantom":
		return runPhantom(ctx, args[1:], stdout)
	case "smoke":
		return runSmoke(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q (want opcheck, bench or phantom)", args[0])
}
