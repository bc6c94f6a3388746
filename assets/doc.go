// Package assets holds the small files polyseg ships inside its binary
// (the TotalSegmentator v2 colour table, the application icon, AppIcon)
// and the colour-table type that names and colours label values.
//
// # Colour-table files
//
// A colour table is a UTF-8 text file in the format of 3D Slicer's colour
// tables (.ctbl / .txt), so tables can be exchanged with Slicer:
//
//	# comment lines start with '#'; blank lines are ignored
//	value name r g b a
//	5 liver 196 64 52 255
//
// value is a label value 0..65535, name a single word (no white space;
// Slicer writes multi-word names with underscores), r g b a integers 0..255
// (a is the colour's own opacity; the viewer multiplies it by the overlay
// opacity). Each value appears at most once. Value 0 is the background: it
// may be listed (Slicer lists it) but is never drawn.
//
// # Security considerations
//
// Colour tables are user files. ReadColorTable bounds the line length
// (values are unique uint16s, which bounds the entries), rejects any
// malformed line with its line number, and never panics.
//
// # Invariants
//
// A ColorTable's entries are sorted by value and unique; every label value,
// listed or not, has a colour (FallbackColor for unlisted values) and a name.
package assets
