//go:build !cgo || nojpeg2000

package volume

// Without cgo, or built with -tags nojpeg2000 where libopenjp2 is not
// installed, there is no JPEG 2000 decoder (see dicom_j2k.go):
// checkDecodable reports such series as unsupported before any pixel is read.

import "errors"

const jpeg2000Supported = false

func decodeJPEG2000(_ []byte, _ *dicomFile, _ []float32) error {
	return errors.New("JPEG 2000: this build has no decoder (it needs cgo and libopenjp2)")
}
