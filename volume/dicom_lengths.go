package volume

// A pre-pass over a DICOM file's element structure (PS3.5 §7.1, §7.5,
// §A.4) that checks every declared value length against the bytes that
// remain, before the library parses the file.
//
// Why: github.com/suyashkumar/dicom v1.1.0 allocates a buffer of an
// element's declared length before reading the value (make([]byte, vl)), so
// a 200-byte file that declares a 1 GiB value costs 1 GiB and, once the
// memory is reused, seconds of zeroing per file; FuzzDICOMSeries found this.
// The walk below mirrors the library's reading rules (which VRs have 4-byte
// lengths, VRs from the dictionary for implicit syntax, what undefined
// lengths mean) so that what it accepts, the library reads within the file.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// maxNesting bounds sequence nesting; real files nest a few levels.
const maxNesting = 32

const undefinedLength = 0xFFFFFFFF

// lengthWalker walks the elements of a DICOM Part 10 file held in b.
type lengthWalker struct {
	b        []byte
	bo       binary.ByteOrder
	implicit bool
}

// checkElementLengths walks the file b (preamble, "DICM", file meta group,
// dataset) and returns an error naming the first element whose declared
// length exceeds what is left of its container.
func checkElementLengths(b []byte) error {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return errNotDICOM
	}
	// The file meta group is explicit VR little endian (PS3.10 §7.1).
	w := lengthWalker{b: b, bo: binary.LittleEndian}
	pos := 132
	ts, seenTS := "", false
	for pos+8 <= len(b) && w.bo.Uint16(b[pos:]) == 0x0002 {
		start := pos
		t, vr, vl, next, err := w.header(pos)
		if err != nil {
			return err
		}
		if vl == undefinedLength || int64(vl) > int64(len(b)-next) {
			return fmt.Errorf("file meta element %v at byte %d declares %d bytes, %d are left", t, start, vl, len(b)-next)
		}
		if t == tag.TransferSyntaxUID && !seenTS {
			seenTS = true
			raw := string(b[next : next+int(vl)])
			if vr == "UI" {
				ts = strings.TrimRight(raw, " \x00")
			}
			if err := sameTransferSyntax(raw, ts); err != nil {
				return err
			}
		}
		pos = next + int(vl)
	}
	switch ts {
	case tsImplicitLE:
		w.implicit = true
	case tsExplicitBE:
		w.bo = binary.BigEndian
	case tsDeflatedLE:
		// The dataset is deflate-compressed: its structure cannot be
		// walked without inflating it, which the library does itself.
		return nil
	}
	_, err := w.elements(pos, len(b), false, 0)
	return err
}

// header reads the element header at pos: its tag, VR, value length and
// where the value starts, by the library's rules.
func (w *lengthWalker) header(pos int) (tag.Tag, string, uint32, int, error) {
	b := w.b
	if pos+8 > len(b) {
		return tag.Tag{}, "", 0, 0, fmt.Errorf("element header at byte %d: %w", pos, errTruncated)
	}
	t := tag.Tag{Group: w.bo.Uint16(b[pos:]), Element: w.bo.Uint16(b[pos+2:])}
	// Items and delimiters are always encoded as tag + 4-byte length.
	if w.implicit || t.Group == 0xFFFE {
		vr := "UN"
		if e, err := tag.Find(t); err == nil && len(e.VRs) > 0 {
			vr = e.VRs[0]
		}
		if t == tag.PixelData {
			vr = "OW"
		}
		return t, vr, w.bo.Uint32(b[pos+4:]), pos + 8, nil
	}
	vr := string(b[pos+4 : pos+6])
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		if pos+12 > len(b) {
			return t, vr, 0, 0, fmt.Errorf("element %v header at byte %d: %w", t, pos, errTruncated)
		}
		return t, vr, w.bo.Uint32(b[pos+8:]), pos + 12, nil
	}
	vl := uint32(w.bo.Uint16(b[pos+6:]))
	if vl == 0xFFFF {
		vl = undefinedLength // as the library reads it
	}
	return t, vr, vl, pos + 8, nil
}

var errTruncated = errors.New("file ends inside the element")

// elements walks elements from pos to end; in an item of undefined length
// (inItem) it stops after the item delimiter. It returns where it stopped.
func (w *lengthWalker) elements(pos, end int, inItem bool, depth int) (int, error) {
	if depth > maxNesting {
		return 0, fmt.Errorf("sequences nested deeper than %d levels at byte %d", maxNesting, pos)
	}
	for pos < end {
		if end-pos < 8 {
			// Too short for an element: the library stops with an error
			// before allocating anything.
			return end, nil
		}
		t, vr, vl, next, err := w.header(pos)
		if err != nil {
			return 0, err
		}
		if t.Group == 0xFFFE {
			if inItem && t == tag.ItemDelimitationItem {
				return next, nil
			}
			return 0, fmt.Errorf("unexpected item tag %v at byte %d", t, pos)
		}
		if vl == undefinedLength {
			switch {
			case t == tag.PixelData:
				pos, err = w.fragments(next, end)
			case vr == "SQ" || vr == "UN":
				pos, err = w.items(next, end, true, depth+1)
			default:
				err = fmt.Errorf("element %v (%s) at byte %d has an undefined length", t, vr, pos)
			}
			if err != nil {
				return 0, err
			}
			continue
		}
		if int64(vl) > int64(end-next) {
			return 0, fmt.Errorf("element %v at byte %d declares %d bytes, %d are left", t, pos, vl, end-next)
		}
		if vr == "SQ" {
			if _, err := w.items(next, next+int(vl), false, depth+1); err != nil {
				return 0, err
			}
		}
		pos = next + int(vl)
	}
	if inItem {
		return 0, fmt.Errorf("item without a delimiter before byte %d: %w", end, errTruncated)
	}
	return pos, nil
}

// items walks the items of a sequence: up to end for a defined length, or
// to the sequence delimiter (undefined).
func (w *lengthWalker) items(pos, end int, undefined bool, depth int) (int, error) {
	for pos < end || undefined {
		t, _, vl, next, err := w.header(pos)
		if err != nil {
			return 0, err
		}
		switch {
		case t == tag.SequenceDelimitationItem:
			return next, nil
		case t != tag.Item:
			return 0, fmt.Errorf("expected an item, found %v at byte %d", t, pos)
		case vl == undefinedLength:
			pos, err = w.elements(next, end, true, depth)
			if err != nil {
				return 0, err
			}
		case int64(vl) > int64(end-next):
			return 0, fmt.Errorf("item at byte %d declares %d bytes, %d are left", pos, vl, end-next)
		default:
			if _, err := w.elements(next, next+int(vl), false, depth); err != nil {
				return 0, err
			}
			pos = next + int(vl)
		}
	}
	return pos, nil
}

// fragments walks the items of encapsulated pixel data (PS3.5 §A.4): the
// offset table and the fragments, each of defined length, then the
// sequence delimiter.
func (w *lengthWalker) fragments(pos, end int) (int, error) {
	for {
		t, _, vl, next, err := w.header(pos)
		if err != nil {
			return 0, err
		}
		switch {
		case t == tag.SequenceDelimitationItem:
			return next, nil
		case t != tag.Item || vl == undefinedLength:
			return 0, fmt.Errorf("malformed encapsulated pixel data at byte %d", pos)
		case int64(vl) > int64(end-next):
			return 0, fmt.Errorf("pixel data fragment at byte %d declares %d bytes, %d are left", pos, vl, end-next)
		}
		pos = next + int(vl)
	}
}

// libraryString is the first value of a string element as the library
// reads it: trimmed of spaces and NULs at both ends, split at backslashes.
func libraryString(raw string) string {
	if strings.TrimSpace(raw) == "" {
		return raw
	}
	return strings.Split(strings.Trim(raw, " \x00"), "\\")[0]
}

// sameTransferSyntax checks that the library, reading the transfer syntax
// element's value raw, parses the dataset as the length walk does with
// ts: the walk is only worth its checks if it reads the lengths the
// library will allocate. (The library reads an unknown transfer syntax as
// explicit big endian, for one.)
func sameTransferSyntax(raw, ts string) error {
	lib := libraryString(raw)
	bo, implicit, err := uid.ParseTransferSyntaxUID(lib)
	if err != nil {
		return fmt.Errorf("unknown transfer syntax %q", lib)
	}
	if lib == tsDeflatedLE && ts == tsDeflatedLE {
		return nil
	}
	if implicit != (ts == tsImplicitLE) || (bo == binary.BigEndian) != (ts == tsExplicitBE) || (lib == tsDeflatedLE) != (ts == tsDeflatedLE) {
		return fmt.Errorf("transfer syntax element %q is ambiguous", raw)
	}
	return nil
}
