package volume

// DICOM series reading, part 3: pixel data to HU.
//
// The library is used for parsing only: its native pixel decoder reads one
// sample per io.ReadFull call into an []int-like frame, which was the
// slowest step of a conversion, so the raw bytes are taken as they are
// (SkipProcessingPixelDataValue) and converted here in one pass.

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Transfer syntaxes this package decodes.
const (
	tsImplicitLE        = "1.2.840.10008.1.2"
	tsExplicitLE        = "1.2.840.10008.1.2.1"
	tsDeflatedLE        = "1.2.840.10008.1.2.1.99"
	tsExplicitBE        = "1.2.840.10008.1.2.2"
	tsJ2KLossless       = "1.2.840.10008.1.2.4.90"
	tsJ2K               = "1.2.840.10008.1.2.4.91"
	tsHTJ2KLossless     = "1.2.840.10008.1.2.4.201"
	tsHTJ2KLosslessRPCL = "1.2.840.10008.1.2.4.202"
	tsHTJ2K             = "1.2.840.10008.1.2.4.203"
)

// isJPEG2000 reports whether a transfer syntax is JPEG 2000 (Part 1 or
// High-Throughput), which OpenJPEG decodes.
func isJPEG2000(ts string) bool {
	switch ts {
	case tsJ2KLossless, tsJ2K, tsHTJ2KLossless, tsHTJ2KLosslessRPCL, tsHTJ2K:
		return true
	}
	return false
}

// checkDecodable fails, naming the transfer syntax, for pixel data this
// package cannot decode. It runs on the headers before any pixel is read.
func checkDecodable(f *dicomFile) error {
	switch ts := f.transferSyntax; {
	case ts == "" || ts == tsImplicitLE || ts == tsExplicitLE || ts == tsDeflatedLE || ts == tsExplicitBE:
		switch f.bitsAllocated {
		case 8, 16, 32:
		default:
			return fmt.Errorf("%s: %d bits allocated per pixel is not supported", f.path, f.bitsAllocated)
		}
		// Checked here, before the volume is allocated, so that a header
		// claiming a huge image is refused unless the file holds its bytes.
		if need := int64(f.rows) * int64(f.cols) * int64(f.bitsAllocated/8); f.pixelBytes < need {
			return fmt.Errorf("%s: pixel data holds %d bytes, %dx%d pixels of %d bits need %d", f.path, f.pixelBytes, f.cols, f.rows, f.bitsAllocated, need)
		}
		return nil
	case isJPEG2000(ts) && jpeg2000Supported:
		return nil
	default:
		how := "convert the series to an uncompressed transfer syntax first (e.g. with gdcmconv --raw)"
		if isJPEG2000(ts) {
			how = "this build has no JPEG 2000 decoder (it needs cgo and libopenjp2)"
		}
		return fmt.Errorf("%s: %w %s: %s", f.path, ErrUnsupportedTransferSyntax, transferSyntaxName(ts), how)
	}
}

// decodeFrame converts a file's pixel data to HU into dst, which holds
// rows×cols values.
func decodeFrame(f *dicomFile, dst []float32) error {
	if err := checkHeader(f); err != nil {
		return err
	}
	if err := checkDecodable(f); err != nil {
		return err
	}
	n := f.rows * f.cols
	if len(dst) != n {
		return fmt.Errorf("frame of %dx%d pixels for a slice of %d voxels", f.cols, f.rows, len(dst))
	}
	if f.encapsulated {
		if !isJPEG2000(f.transferSyntax) {
			return fmt.Errorf("encapsulated pixel data with %w %s", ErrUnsupportedTransferSyntax, transferSyntaxName(f.transferSyntax))
		}
		// One frame per file (checkHeader), so all fragments form one
		// codestream.
		var size int
		for _, fr := range f.fragments {
			size += len(fr)
		}
		if size == 0 {
			return fmt.Errorf("empty JPEG 2000 pixel data")
		}
		stream := make([]byte, 0, size)
		for _, fr := range f.fragments {
			stream = append(stream, fr...)
		}
		return decodeJPEG2000(stream, f, dst)
	}
	if f.native == nil {
		return fmt.Errorf("no pixel data")
	}
	bytesPer := f.bitsAllocated / 8
	if len(f.native) < n*bytesPer {
		return fmt.Errorf("pixel data holds %d bytes, %dx%d pixels of %d bits need %d", len(f.native), f.cols, f.rows, f.bitsAllocated, n*bytesPer)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if f.transferSyntax == tsExplicitBE {
		bo = binary.BigEndian
	}
	conv := newSampleConverter(f)
	src := f.native
	switch f.bitsAllocated {
	case 8:
		for i := range dst {
			dst[i] = conv.convert(uint32(src[i]))
		}
	case 16:
		for i := range dst {
			dst[i] = conv.convert(uint32(bo.Uint16(src[2*i:])))
		}
	case 32:
		for i := range dst {
			dst[i] = conv.convert(bo.Uint32(src[4*i:]))
		}
	default:
		return fmt.Errorf("%d bits allocated per pixel is not supported", f.bitsAllocated)
	}
	return nil
}

// sampleConverter turns a stored sample into HU: keep BitsStored bits,
// sign-extend them when PixelRepresentation is 1 (two's complement: the
// library hands every sample over as unsigned), then apply
// RescaleSlope/Intercept.
type sampleConverter struct {
	mask      uint32
	signBit   uint32
	signed    bool
	slope     float64
	intercept float64
}

func newSampleConverter(f *dicomFile) sampleConverter {
	bits := f.bitsStored
	if bits <= 0 || bits > f.bitsAllocated {
		bits = f.bitsAllocated
	}
	c := sampleConverter{signed: f.pixelRep == 1, slope: f.slope, intercept: f.intercept}
	if bits >= 32 {
		c.mask = math.MaxUint32
	} else {
		c.mask = 1<<uint(bits) - 1
	}
	c.signBit = 1 << uint(bits-1)
	return c
}

func (c sampleConverter) convert(raw uint32) float32 {
	v := raw & c.mask
	var x float64
	if c.signed && v&c.signBit != 0 {
		x = float64(int64(v) - int64(c.mask) - 1)
	} else {
		x = float64(v)
	}
	return c.apply(x)
}

// apply applies RescaleSlope and RescaleIntercept.
func (c sampleConverter) apply(x float64) float32 { return float32(x*c.slope + c.intercept) }
