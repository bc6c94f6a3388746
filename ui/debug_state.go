package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"fyne.io/fyne/v2"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/viewer"
)

// DebugStateEnv names the environment variable that makes the app write
// its DebugState to a file (cmd/polyseg view reads it): for a test that
// drives the real binary with real key and mouse events and checks what
// they did.
const DebugStateEnv = "POLYSEG_DEBUG_STATE"

// DebugState is what the window shows, as a test of the real binary needs
// it: the tool, the labels, the dialogs, who has the keys, and where the
// axial view lies in the window (in pixels, for the mouse).
type DebugState struct {
	Seq      int    `json:"seq"` // counts the states written
	Scan     string `json:"scan"`
	Tool     string `json:"tool"`
	Sphere   bool   `json:"sphere"` // the brush is a ball (3D)
	Value    uint16 `json:"value"`  // the segment the tools paint
	Labelled int    `json:"labelled_voxels"`
	Undo     string `json:"undo"`
	Redo     string `json:"redo"`
	Window   string `json:"window"`
	Jobs     int    `json:"jobs"`
	Preview  bool   `json:"preview"`
	Dialogs  int    `json:"dialogs"`
	// Focus is the Go type of the widget that has the keys ("" for the
	// window: the views), Field the text of that widget when it is a
	// text field.
	Focus   string `json:"focus"`
	Field   string `json:"field"`
	Message string `json:"message"`
	// Places are where controls lie in the window, in its pixels: x, y,
	// width, height; "axial" is the axial view, "3D" the 3D check box.
	Places map[string][4]int `json:"places"`
}

// debugState collects the state on Fyne's thread.
func (m *MainWindow) debugState() DebugState {
	var st DebugState
	_, st.Scan = m.session.Volume()
	set := m.toolbar.editor.Settings()
	st.Tool, st.Sphere, st.Value = m.toolbar.editor.Tool().String(), set.Sphere, set.Value
	for _, s := range m.session.Segments() {
		st.Labelled += s.Voxels
	}
	st.Undo, st.Redo = m.session.UndoRedoNames()
	st.Window = m.session.Window().String()
	st.Jobs = len(m.session.Jobs())
	_, st.Preview = m.session.Preview()
	st.Dialogs = len(m.dialogs)
	if f := m.win.Canvas().Focused(); f != nil {
		st.Focus = fmt.Sprintf("%T", f)
		switch e := f.(type) {
		case *keyEntry:
			st.Field = e.Text
		case *keySelectEntry:
			st.Field = e.Text
		}
	}
	st.Message = m.toolbar.message.Text
	k := m.win.Canvas().Scale()
	place := func(o fyne.CanvasObject) [4]int {
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
		return [4]int{int(pos.X * k), int(pos.Y * k), int(o.Size().Width * k), int(o.Size().Height * k)}
	}
	st.Places = map[string][4]int{"axial": place(m.View(viewer.Axial)), "3D": place(m.toolbar.sphere)}
	return st
}

// WriteDebugState writes the window's DebugState to path, as JSON, each
// time it changes (looked at every interval), until stop is called.
func (m *MainWindow) WriteDebugState(path string, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		var last []byte
		seq := 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var st DebugState
			fyne.DoAndWait(func() { st = m.debugState() })
			same, err := json.Marshal(st) // Seq 0: the state alone
			if err != nil || bytes.Equal(same, last) {
				continue
			}
			last = same
			seq++
			st.Seq = seq
			b, err := json.Marshal(st)
			if err != nil {
				continue
			}
			if err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
				fyne.LogError("debug state", err)
			}
		}
	}()
	return func() { close(done) }
}
