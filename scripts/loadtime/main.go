// Command loadtime reads a scan with volume.Open (ReadNIfTI for .nii.gz,
// ReadNRRD for .nrrd) and prints the seconds each read took, for
// scripts/bench_load.sh and scripts/bench_nrrd.sh to compare with nibabel
// and with Python's NRRD reading.
//
// Usage:
//
//	loadtime [-n runs] [-v] FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/polyseg/polyseg/volume"
)

func main() {
	runs := flag.Int("n", 1, "number of reads, one time printed for each")
	verbose := flag.Bool("v", false, "also print the volume's grid, value range and warnings")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: loadtime [-n runs] [-v] FILE")
		os.Exit(2)
	}
	for range *runs {
		t := time.Now()
		v, err := volume.Open(context.Background(), flag.Arg(0), volume.OpenOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtime:", err)
			os.Exit(1)
		}
		fmt.Printf("%.4f\n", time.Since(t).Seconds())
		if *verbose {
			lo, hi := v.Range()
			fmt.Printf("dims %v spacing %v %s range %g..%g\naffine %v\nwarnings %q\n",
				v.Dims, v.Spacing(), v.Affine.AxisCodes(), lo, hi, v.Affine, v.Warnings)
		}
	}
}
