package ui

// The UI tests drive the window as Fyne's GLFW driver (v2.7.1,
// internal/driver/glfw/window.go) drives it in the real app, never by
// calling the handler they mean to reach:
//
//   - Threading: the driver runs the functions goroutines hand to fyne.Do
//     and fyne.DoAndWait on its main loop, between events. loopDriver does
//     the same on the test's goroutine: a goroutine's fyne.Do is queued,
//     DoAndWait queues and waits, and the queue runs after each event and
//     while a test waits for something (pump). So widgets are touched by
//     one goroutine only, as in the app, and -race holds the app to it.
//   - Keys (press): the focused widget gets the key first; Ctrl+Z, Ctrl+Y,
//     Ctrl+C, Ctrl+V, Ctrl+X, Ctrl+A become Fyne's standard shortcuts, any
//     other key with Ctrl, Alt or Super a desktop.CustomShortcut; a key
//     with Shift alone or none is a typed key, then its character a typed
//     rune; the modifiers held are known through CurrentKeyModifiers.
//   - Mouse (mouse): a press goes to the topmost object under the pointer
//     that takes clicks (the dialog's, when one is open), which may take the
//     focus or lose it; moves go to the Hoverable under the pointer, with
//     the buttons held; a release taps.
//
// glfwShortcut and the routing below are written from the driver's source,
// independently of the app's own table (shortcuts.go), so that a wrong
// assumption in the app shows as a failing test.

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/polyseg/polyseg/app"
)

// loopApp is fyne's test app with loopDriver as its driver.
type loopApp struct {
	fyne.App
	drv *loopDriver
}

// Driver implements fyne.App.
func (a *loopApp) Driver() fyne.Driver { return a.drv }

// loopDriver is fyne's test driver with the GLFW driver's threading and
// modifier tracking.
type loopDriver struct {
	fyne.Driver
	main uint64 // the goroutine of the test: the app's main loop

	mu     sync.Mutex
	queue  []queued
	wake   chan struct{}
	closed bool
	misuse []string // DoAndWait called on the main goroutine

	mods fyne.KeyModifier // held, as the driver would report them
}

type queued struct {
	f    func()
	done chan struct{} // nil for fyne.Do
}

// newLoopApp makes a test app whose fyne.Do runs on the calling goroutine's
// loop, and makes it the current app until the test ends.
func newLoopApp(t testing.TB) *loopApp {
	t.Helper()
	// Cleanups run last first: this one, after test.NewTempApp's, makes
	// the app current before this one current again, so that the
	// cleanups of an earlier window of the test find its loop.
	prev := fyne.CurrentApp()
	t.Cleanup(func() {
		if prev != nil {
			fyne.SetCurrentApp(prev)
		}
	})
	base := test.NewTempApp(t)
	d := &loopDriver{Driver: base.Driver(), main: goid(), wake: make(chan struct{}, 1)}
	a := &loopApp{App: base, drv: d}
	fyne.SetCurrentApp(a)
	t.Cleanup(func() {
		d.mu.Lock()
		d.closed = true
		q := d.queue
		d.queue = nil
		misuse := d.misuse
		d.mu.Unlock()
		// Goroutines still waiting on the loop are let go without running
		// their function: the window is gone.
		for _, item := range q {
			if item.done != nil {
				close(item.done)
			}
		}
		for _, m := range misuse {
			t.Errorf("fyne.DoAndWait on the main goroutine (the GLFW driver would log an error and run it later): %s", m)
		}
	})
	return a
}

// loop returns the loop of the current app.
func loop() *loopDriver { return fyne.CurrentApp().Driver().(*loopDriver) }

// DoFromGoroutine implements fyne.Driver as the GLFW driver does while the
// app runs: f runs on the main loop, later; wait makes the caller wait.
func (d *loopDriver) DoFromGoroutine(f func(), wait bool) {
	onMain := goid() == d.main
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if wait && onMain {
		// The driver logs an error and runs f on another goroutine; the
		// test fails (see newLoopApp) after running f, to go on.
		buf := make([]byte, 2048)
		d.misuse = append(d.misuse, string(buf[:runtime.Stack(buf, false)]))
		d.mu.Unlock()
		f()
		return
	}
	item := queued{f: f}
	if wait {
		item.done = make(chan struct{})
	}
	d.queue = append(d.queue, item)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	if wait {
		<-item.done
	}
}

// CurrentKeyModifiers implements desktop.Driver.
func (d *loopDriver) CurrentKeyModifiers() fyne.KeyModifier { return d.mods }

// CreateSplashWindow implements desktop.Driver.
func (d *loopDriver) CreateSplashWindow() fyne.Window { return d.CreateWindow("") }

var _ desktop.Driver = (*loopDriver)(nil)

// drain runs what goroutines queued, and what that queues, until nothing
// is left, as the main loop does between events.
func (d *loopDriver) drain() {
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.mu.Unlock()
			return
		}
		item := d.queue[0]
		d.queue = d.queue[1:]
		d.mu.Unlock()
		item.f()
		if item.done != nil {
			close(item.done)
		}
	}
}

// pumpTimeout bounds how long a test waits for the app: far more than any
// job of these tests takes, so that a deadlock fails instead of hanging.
const pumpTimeout = 3 * time.Minute

// pump runs the loop until done is closed, then drains it.
func (d *loopDriver) pump(t testing.TB, done <-chan struct{}) {
	t.Helper()
	deadline := time.After(pumpTimeout)
	for {
		d.drain()
		select {
		case <-done:
			d.drain()
			return
		case <-d.wake:
		case <-deadline:
			t.Fatalf("the app did not finish within %v", pumpTimeout)
		}
	}
}

// settle runs what is queued: the window's answer to changes the test made
// through the session directly.
func settle() {
	loop().drain()
	for _, w := range fyne.CurrentApp().Driver().AllWindows() {
		relayout(w.Canvas())
	}
}

// wait runs the loop until done is closed.
func wait(t testing.TB, done <-chan struct{}) {
	t.Helper()
	loop().pump(t, done)
	settle()
}

// eventually runs the loop until cond holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pumpTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, pumpTimeout)
		}
		loop().drain()
		select {
		case <-loop().wake:
		case <-time.After(10 * time.Millisecond):
		}
	}
	settle()
}

// waitJob runs the loop until job ends, and returns its error.
func waitJob(t testing.TB, job *app.Job) error {
	t.Helper()
	var err error
	done := make(chan struct{})
	go func() {
		err = job.Wait()
		close(done)
	}()
	wait(t, done)
	return err
}

// goid returns the id of the calling goroutine, from its stack's header
// ("goroutine 12 [running]:").
func goid() uint64 {
	var buf [32]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		panic("goid: " + err.Error())
	}
	return id
}

// newWindow is New on a loop app of its own, with the models' first
// probe shown.
func newWindow(t testing.TB, opts app.Options) *MainWindow {
	t.Helper()
	return newWindowIn(t, newLoopApp(t), opts)
}

// newWindowIn is newWindow on app a, for windows that share one app.
func newWindowIn(t testing.TB, a *loopApp, opts app.Options) *MainWindow {
	t.Helper()
	m := New(a, opts)
	wait(t, m.probed)
	return m
}

// glfwShortcut is the shortcut the GLFW driver makes of key with mods held
// (triggersShortcut), or nil when it makes none and types the key.
func glfwShortcut(key fyne.KeyName, mods fyne.KeyModifier) fyne.Shortcut {
	if mods == fyne.KeyModifierControl {
		switch key {
		case fyne.KeyZ:
			return &fyne.ShortcutUndo{}
		case fyne.KeyY:
			return &fyne.ShortcutRedo{}
		case fyne.KeyV:
			return &fyne.ShortcutPaste{Clipboard: test.NewClipboard()}
		case fyne.KeyC, fyne.KeyInsert:
			return &fyne.ShortcutCopy{Clipboard: test.NewClipboard()}
		case fyne.KeyX:
			return &fyne.ShortcutCut{Clipboard: test.NewClipboard()}
		case fyne.KeyA:
			return &fyne.ShortcutSelectAll{}
		}
	}
	if mods == fyne.KeyModifierShift {
		switch key {
		case fyne.KeyInsert:
			return &fyne.ShortcutPaste{Clipboard: test.NewClipboard()}
		case fyne.KeyDelete:
			return &fyne.ShortcutCut{Clipboard: test.NewClipboard()}
		}
	}
	if mods != 0 && mods != fyne.KeyModifierShift {
		return &desktop.CustomShortcut{KeyName: key, Modifier: mods}
	}
	return nil
}

// runeOf is the character a US keyboard types for key, with Shift or not;
// 0 for keys that type none.
func runeOf(key fyne.KeyName, shift bool) rune {
	k := string(key)
	if len(k) == 1 && k[0] >= 'A' && k[0] <= 'Z' {
		if shift {
			return rune(k[0])
		}
		return rune(k[0] - 'A' + 'a')
	}
	plain := map[fyne.KeyName][2]rune{
		fyne.Key0: {'0', ')'}, fyne.Key1: {'1', '!'}, fyne.Key2: {'2', '@'}, fyne.Key3: {'3', '#'},
		fyne.Key4: {'4', '$'}, fyne.Key5: {'5', '%'}, fyne.Key6: {'6', '^'}, fyne.Key7: {'7', '&'},
		fyne.Key8: {'8', '*'}, fyne.Key9: {'9', '('}, fyne.KeySpace: {' ', ' '},
		fyne.KeyMinus: {'-', '_'}, fyne.KeyEqual: {'=', '+'}, fyne.KeyLeftBracket: {'[', '{'},
		fyne.KeyRightBracket: {']', '}'}, fyne.KeyComma: {',', '<'}, fyne.KeyPeriod: {'.', '>'},
		fyne.KeySlash: {'/', '?'}, fyne.KeySemicolon: {';', ':'}, fyne.KeyApostrophe: {'\'', '"'},
		fyne.KeyBackslash: {'\\', '|'}, fyne.KeyBackTick: {'`', '~'},
	}
	if r, ok := plain[key]; ok {
		if shift {
			return r[1]
		}
		return r[0]
	}
	return 0
}

// press sends one press and release of key, with mods held, to m's
// window, as the GLFW driver does, then runs the loop.
func press(m *MainWindow, mods fyne.KeyModifier, key fyne.KeyName) {
	c := m.Window().Canvas()
	d := loop()
	d.mods = mods
	defer func() { d.mods = 0 }()
	ev := &fyne.KeyEvent{Name: key}
	if k, ok := c.Focused().(desktop.Keyable); ok {
		k.KeyDown(ev)
	}
	typed := true
	other := mods &^ fyne.KeyModifierShift
	if key == fyne.KeyTab && other == 0 {
		if tb, ok := c.Focused().(fyne.Tabbable); !ok || !tb.AcceptsTab() {
			typed = false
			if mods == 0 {
				c.FocusNext()
			} else {
				c.FocusPrevious()
			}
		}
	}
	if sc := glfwShortcut(key, mods); typed && sc != nil {
		typed = false
		if !runMenuShortcut(m, sc) {
			if f, ok := c.Focused().(fyne.Shortcutable); ok {
				f.TypedShortcut(sc)
			} else {
				c.(fyne.Shortcutable).TypedShortcut(sc)
			}
		}
	}
	if typed {
		if f := c.Focused(); f != nil {
			f.TypedKey(ev)
		} else if h := c.OnTypedKey(); h != nil {
			h(ev)
		}
		// GLFW's character callback: none with Ctrl, Alt or Super held.
		if r := runeOf(key, mods&fyne.KeyModifierShift != 0); r != 0 && other == 0 {
			if f := c.Focused(); f != nil {
				f.TypedRune(r)
			} else if h := c.OnTypedRune(); h != nil {
				h(r)
			}
		}
	}
	if k, ok := c.Focused().(desktop.Keyable); ok {
		k.KeyUp(ev)
	}
	d.drain()
}

// runMenuShortcut runs the main menu's item whose shortcut has sc's name,
// as the driver does before any widget sees the key.
func runMenuShortcut(m *MainWindow, sc fyne.Shortcut) bool {
	mm := m.Window().MainMenu()
	if mm == nil {
		return false
	}
	var run func(items []*fyne.MenuItem) bool
	run = func(items []*fyne.MenuItem) bool {
		for _, it := range items {
			if it.Shortcut != nil && it.Shortcut.ShortcutName() == sc.ShortcutName() && it.Action != nil {
				it.Action()
				return true
			}
			if it.ChildMenu != nil && run(it.ChildMenu.Items) {
				return true
			}
		}
		return false
	}
	for _, menu := range mm.Items {
		if run(menu.Items) {
			return true
		}
	}
	return false
}

// typeKey presses key without modifiers.
func typeKey(m *MainWindow, key fyne.KeyName) { press(m, 0, key) }

// typeText types s on a US keyboard, key by key, with Shift for capitals.
func typeText(t testing.TB, m *MainWindow, s string) {
	t.Helper()
	for _, r := range s {
		var key fyne.KeyName
		shift := false
		switch {
		case r >= 'a' && r <= 'z':
			key = fyne.KeyName(string(r - 'a' + 'A'))
		case r >= 'A' && r <= 'Z':
			key, shift = fyne.KeyName(string(r)), true
		case r >= '0' && r <= '9':
			key = fyne.KeyName(string(r))
		case r == ' ':
			key = fyne.KeySpace
		case r == '-':
			key = fyne.KeyMinus
		case r == '_':
			key, shift = fyne.KeyMinus, true
		case r == '.':
			key = fyne.KeyPeriod
		default:
			t.Fatalf("typeText: no key for %q", r)
		}
		mods := fyne.KeyModifier(0)
		if shift {
			mods = fyne.KeyModifierShift
		}
		press(m, mods, key)
	}
}

// mouseState is what the driver remembers of the mouse between events.
type mouseState struct {
	pos      fyne.Position
	buttons  desktop.MouseButton
	over     desktop.Hoverable
	pressed  fyne.CanvasObject
	dragged  fyne.Draggable
	dragFrom fyne.Position // canvas position of the dragged object's origin
	// second is set for the second click of a double click, first for the
	// first: the driver waits for a second click before it taps an object
	// that takes double taps, and then double-taps it instead.
	first, second bool
}

var mice sync.Map // fyne.Canvas -> *mouseState

func mouseOf(c fyne.Canvas) *mouseState {
	s, _ := mice.LoadOrStore(c, &mouseState{})
	return s.(*mouseState)
}

// objectAt returns the topmost object at canvas position pos that matches,
// and pos in its coordinates, as the driver finds it
// (driver.FindObjectAtPositionMatching): every visible object is looked
// at, children after their parent, within the clip of the scrollable
// objects around them; only the top overlay when there is one.
func objectAt(c fyne.Canvas, pos fyne.Position, match func(fyne.CanvasObject) bool) (fyne.CanvasObject, fyne.Position) {
	var found fyne.CanvasObject
	var foundAt fyne.Position
	inside := func(p fyne.Position, sz fyne.Size) bool {
		return pos.X >= p.X && pos.Y >= p.Y && pos.X < p.X+sz.Width && pos.Y < p.Y+sz.Height
	}
	var walk func(o fyne.CanvasObject, origin, clipPos fyne.Position, clipSize fyne.Size)
	walk = func(o fyne.CanvasObject, origin, clipPos fyne.Position, clipSize fyne.Size) {
		if o == nil || !o.Visible() {
			return
		}
		p := origin.Add(o.Position())
		var children []fyne.CanvasObject
		clip := false
		switch x := o.(type) {
		case *fyne.Container:
			children = x.Objects
		case fyne.Widget:
			r := test.WidgetRenderer(x)
			children = r.Objects()
			_, clip = r.(interface{ IsClip() })
		}
		if _, ok := o.(fyne.Scrollable); ok {
			clip = true
		}
		if clip {
			clipPos, clipSize = p, o.Size()
		}
		if inside(clipPos, clipSize) && inside(p, o.Size()) && match(o) {
			found, foundAt = o, pos.Subtract(p)
		}
		for _, child := range children {
			walk(child, p, clipPos, clipSize)
		}
	}
	huge := fyne.NewSize(1e9, 1e9)
	if top := c.Overlays().Top(); top != nil {
		walk(top, fyne.Position{}, fyne.Position{}, huge)
	} else {
		walk(c.Content(), fyne.Position{}, fyne.Position{}, huge)
	}
	return found, foundAt
}

func clickable(o fyne.CanvasObject) bool {
	switch o.(type) {
	case fyne.Tappable, fyne.SecondaryTappable, fyne.DoubleTappable, fyne.Focusable, desktop.Mouseable:
		return true
	}
	return false
}

// mouseMove moves the pointer to canvas position pos, as the driver's
// processMouseMoved: a drag of a Draggable, hovering otherwise.
func mouseMove(m *MainWindow, pos fyne.Position) {
	c := m.Window().Canvas()
	s := mouseOf(c)
	if s.buttons == 0 {
		relayout(c)
	}
	prev := s.pos
	s.pos = pos
	if s.buttons != 0 && s.buttons != desktop.MouseButtonSecondary && s.dragged == nil {
		if o, local := objectAt(c, prev, func(o fyne.CanvasObject) bool { _, ok := o.(fyne.Draggable); return ok }); o != nil {
			s.dragged, s.dragFrom = o.(fyne.Draggable), prev.Subtract(local)
		}
	}
	o, local := objectAt(c, pos, func(o fyne.CanvasObject) bool { _, ok := o.(desktop.Hoverable); return ok })
	if o != nil && (s.dragged == nil || o != s.dragged.(fyne.CanvasObject)) {
		ev := &desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: local, AbsolutePosition: pos}, Button: s.buttons}
		h := o.(desktop.Hoverable)
		if h == s.over {
			h.MouseMoved(ev)
		} else {
			if s.over != nil {
				s.over.MouseOut()
			}
			s.over = h
			h.MouseIn(ev)
		}
	} else if o == nil && s.over != nil {
		s.over.MouseOut()
		s.over = nil
	}
	if s.dragged != nil && s.buttons != desktop.MouseButtonSecondary {
		ev := &fyne.DragEvent{PointEvent: fyne.PointEvent{Position: pos.Subtract(s.dragFrom), AbsolutePosition: pos},
			Dragged: fyne.NewDelta(pos.X-prev.X, pos.Y-prev.Y)}
		s.dragged.Dragged(ev)
	}
	loop().drain()
}

// mouseButton presses (down) or releases button at the pointer, with mods
// held, as the driver's processMouseClicked: the object under the pointer
// gets MouseDown or MouseUp, the focus moves, a release taps.
func mouseButton(m *MainWindow, button desktop.MouseButton, mods fyne.KeyModifier, down bool) {
	c := m.Window().Canvas()
	s := mouseOf(c)
	loop().mods = mods
	defer func() { loop().mods = 0 }()
	relayout(c)
	co, local := objectAt(c, s.pos, clickable)
	mev := &desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: local, AbsolutePosition: s.pos}, Button: button, Modifier: mods}
	if down {
		if w, ok := co.(desktop.Mouseable); ok {
			w.MouseDown(mev)
		}
	} else {
		if w, ok := s.dragged.(desktop.Mouseable); ok {
			w.MouseUp(mev)
		} else if w, ok := co.(desktop.Mouseable); ok {
			w.MouseUp(mev)
		}
	}
	if f, ok := co.(fyne.Focusable); !ok || f != c.Focused() {
		// A focusable object under the pointer keeps the focus where it is.
		if o, _ := objectAt(c, s.pos, func(o fyne.CanvasObject) bool { _, ok := o.(fyne.Focusable); return ok }); o == nil {
			c.Unfocus()
		}
	}
	ev := &fyne.PointEvent{Position: local, AbsolutePosition: s.pos}
	if down {
		s.buttons |= button
		if _, tap := co.(fyne.Tappable); tap {
			s.pressed = co
		}
		loop().drain()
		return
	}
	s.buttons &^= button
	dragged := s.dragged
	if dragged != nil {
		dragged.DragEnd()
		s.dragged = nil
	}
	if button == desktop.MouseButtonSecondary {
		if w, ok := co.(fyne.SecondaryTappable); ok {
			w.TappedSecondary(ev)
		}
	}
	if button == desktop.MouseButtonPrimary && dragged == nil {
		_, double := co.(fyne.DoubleTappable)
		switch {
		case double && s.second:
			co.(fyne.DoubleTappable).DoubleTapped(ev)
		case double && s.first:
		default:
			if w, ok := co.(fyne.Tappable); ok && co == s.pressed {
				w.Tapped(ev)
			}
		}
	}
	s.pressed = nil
	loop().drain()
}

// drag moves to pts[0], holds button with mods through the rest of pts,
// and releases it at the last; positions are on the canvas.
func drag(m *MainWindow, button desktop.MouseButton, mods fyne.KeyModifier, pts ...fyne.Position) {
	mouseMove(m, pts[0])
	mouseButton(m, button, mods, true)
	for _, p := range pts[1:] {
		mouseMove(m, p)
	}
	mouseButton(m, button, mods, false)
}

// click clicks the left button at canvas position p.
func click(m *MainWindow, p fyne.Position) { drag(m, desktop.MouseButtonPrimary, 0, p) }

// doubleClick clicks twice at canvas position p, within the double-tap
// delay.
func doubleClick(m *MainWindow, p fyne.Position) {
	s := mouseOf(m.Window().Canvas())
	s.first = true
	click(m, p)
	s.first, s.second = false, true
	click(m, p)
	s.second = false
}

// scroll turns the wheel at canvas position p, as processMouseScrolled.
func scroll(m *MainWindow, p fyne.Position, mods fyne.KeyModifier, dy float32) {
	c := m.Window().Canvas()
	mouseMove(m, p)
	loop().mods = mods
	defer func() { loop().mods = 0 }()
	o, local := objectAt(c, p, func(o fyne.CanvasObject) bool { _, ok := o.(fyne.Scrollable); return ok })
	if o != nil {
		o.(fyne.Scrollable).Scrolled(&fyne.ScrollEvent{PointEvent: fyne.PointEvent{Position: local, AbsolutePosition: p},
			Scrolled: fyne.NewDelta(0, dy)})
	}
	loop().drain()
}

// at returns the canvas position of point p of object o, in the
// coordinates of the driver's events (test's AbsolutePositionForObject
// subtracts a pretend inset of the test canvas).
func at(o fyne.CanvasObject, p fyne.Position) fyne.Position {
	var found *fyne.Position
	var walk func(x fyne.CanvasObject, origin fyne.Position)
	walk = func(x fyne.CanvasObject, origin fyne.Position) {
		if x == nil || found != nil || !x.Visible() {
			return
		}
		q := origin.Add(x.Position())
		if x == o {
			found = &q
			return
		}
		switch w := x.(type) {
		case *fyne.Container:
			for _, child := range w.Objects {
				walk(child, q)
			}
		case fyne.Widget:
			for _, child := range test.WidgetRenderer(w).Objects() {
				walk(child, q)
			}
		}
	}
	// The object's canvas, searched in every window: the test driver's
	// CanvasForObject does not know a dialog's objects.
	for _, w := range fyne.CurrentApp().Driver().AllWindows() {
		c := w.Canvas()
		for _, root := range append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...) {
			walk(root, fyne.Position{})
		}
	}
	if found == nil {
		panic("at: the object is not shown on a canvas")
	}
	return found.Add(p)
}

// relayout lays out the window's objects afresh, as the GLFW canvas does
// before each frame when a minimum size changed (an object shown or
// hidden), so that the mouse finds objects where the screen shows them.
func relayout(c fyne.Canvas) {
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *fyne.Container:
			if x.Layout != nil {
				x.Layout.Layout(x.Objects, x.Size())
			}
			for _, child := range x.Objects {
				walk(child)
			}
		case fyne.Widget:
			r := test.WidgetRenderer(x)
			r.Layout(x.Size())
			for _, child := range r.Objects() {
				walk(child)
			}
		}
	}
	walk(c.Content())
	for _, o := range c.Overlays().List() {
		walk(o)
	}
}

// tap taps object o at its centre through the canvas: the mouse goes
// there, presses and releases.
func tap(m *MainWindow, o fyne.CanvasObject) {
	relayout(m.Window().Canvas())
	click(m, at(o, fyne.NewPos(o.Size().Width/2, o.Size().Height/2)))
}
