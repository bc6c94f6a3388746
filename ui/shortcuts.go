package ui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// Shortcut is one entry of the window's shortcut table, the single source
// of the keys the window acts on and of the help panel (F1) and README
// table that list them: whatever is added here works and is documented at
// once. An entry with no key documents a mouse action.
type Shortcut struct {
	// Group is the help panel's section: "Tools", "Segments", "Models",
	// "Edit", "File", "View", "Help", "Mouse".
	Group string
	// Name says what the entry does, in a few words ("Brush").
	Name string
	// Help says more, for the help panel; may be empty.
	Help string
	// Key is the key that runs the entry, with Modifier held (0 for none,
	// fyne.KeyModifierShortcutDefault for Ctrl, Cmd on macOS); Also are
	// more keys doing the same without a modifier (Enter on the keypad).
	Key      fyne.KeyName
	Modifier fyne.KeyModifier
	Also     []fyne.KeyName
	// Rune is a typed character that runs the entry too ('?'), for keys
	// whose name depends on the keyboard layout.
	Rune rune
	// Mouse describes the mouse gesture of an entry without a key
	// ("Wheel", "Right-drag").
	Mouse string
	// Run does it. Entries without Run only document.
	Run func()
}

// Shortcuts is the table; see Shortcut. Its zero value is empty and
// usable; Add appends.
//
// Keys reach the table the way Fyne's GLFW driver delivers them
// (internal/driver/glfw/window.go, processKeyPressed and triggersShortcut
// in v2.7.1): the focused widget, if any, gets every key first; Ctrl+Z,
// Ctrl+Y, Ctrl+C, Ctrl+V, Ctrl+X and Ctrl+A arrive as Fyne's standard
// shortcuts (fyne.ShortcutUndo and so on), Shift+Insert and Shift+Delete
// as Paste and Cut, any other key with Ctrl, Alt or Super as a
// desktop.CustomShortcut, and a key with Shift alone, or none, as a typed
// key (with its character as a typed rune), the modifiers held being
// known only to the driver (desktop.Driver.CurrentKeyModifiers).
type Shortcuts struct {
	entries []Shortcut
	// canvas, when set, is where entries the driver delivers as shortcuts
	// are registered, as the shortcut it makes (driverShortcut).
	canvas fyne.Canvas
	// blocked, when set, reports that no entry may run now: a dialog is
	// open over the window.
	blocked func() bool
}

// Add appends s to the table. A key (with its modifier) or rune already
// bound is an error, and s is not added: one key, one meaning.
func (t *Shortcuts) Add(s Shortcut) error {
	for _, k := range s.keys() {
		if o, ok := t.lookup(k, s.Modifier); ok {
			return fmt.Errorf("shortcut %s for %q: already bound to %q", keyLabel(k, s.Modifier), s.Name, o.Name)
		}
	}
	if s.Rune != 0 {
		if o, ok := t.lookupRune(s.Rune); ok {
			return fmt.Errorf("shortcut %q for %q: already bound to %q", s.Rune, s.Name, o.Name)
		}
	}
	t.entries = append(t.entries, s)
	if sc, ok := driverShortcut(s.Key, s.Modifier); ok && s.Run != nil && t.canvas != nil {
		run := s.Run
		t.canvas.AddShortcut(sc, func(fyne.Shortcut) {
			if !t.isBlocked() {
				run()
			}
		})
	}
	return nil
}

func (t *Shortcuts) isBlocked() bool { return t.blocked != nil && t.blocked() }

// driverShortcut returns the shortcut Fyne's GLFW driver makes of key
// pressed with mod held, and false when the driver sends it as a typed key
// instead (no modifier, or Shift alone).
func driverShortcut(key fyne.KeyName, mod fyne.KeyModifier) (fyne.Shortcut, bool) {
	if key == "" {
		return nil, false
	}
	switch mod {
	case 0:
		return nil, false
	case fyne.KeyModifierShortcutDefault:
		switch key {
		case fyne.KeyZ:
			return &fyne.ShortcutUndo{}, true
		case fyne.KeyY:
			return &fyne.ShortcutRedo{}, true
		case fyne.KeyV:
			return &fyne.ShortcutPaste{}, true
		case fyne.KeyC, fyne.KeyInsert:
			return &fyne.ShortcutCopy{}, true
		case fyne.KeyX:
			return &fyne.ShortcutCut{}, true
		case fyne.KeyA:
			return &fyne.ShortcutSelectAll{}, true
		}
	case fyne.KeyModifierShift:
		switch key {
		case fyne.KeyInsert:
			return &fyne.ShortcutPaste{}, true
		case fyne.KeyDelete:
			return &fyne.ShortcutCut{}, true
		}
		return nil, false
	}
	return &desktop.CustomShortcut{KeyName: key, Modifier: mod}, true
}

// Entries returns the table in the order entries were added.
func (t *Shortcuts) Entries() []Shortcut { return slices.Clone(t.entries) }

// keys returns the keys of s.
func (s Shortcut) keys() []fyne.KeyName {
	if s.Key == "" {
		return s.Also
	}
	return append([]fyne.KeyName{s.Key}, s.Also...)
}

func (t *Shortcuts) lookup(k fyne.KeyName, mod fyne.KeyModifier) (Shortcut, bool) {
	for _, s := range t.entries {
		if s.Modifier != mod {
			continue
		}
		if slices.Contains(s.keys(), k) {
			return s, true
		}
	}
	return Shortcut{}, false
}

func (t *Shortcuts) lookupRune(r rune) (Shortcut, bool) {
	for _, s := range t.entries {
		if s.Rune == r {
			return s, true
		}
	}
	return Shortcut{}, false
}

// typedKey runs the entry bound to ev's key with the modifiers mods held
// (as the driver reports them), and reports whether there was one. Only
// Shift counts: with Ctrl, Alt or Super held the driver sends a shortcut,
// not a typed key. A key with Shift runs its Shift entry, or else its
// plain one (Shift+= is +).
func (t *Shortcuts) typedKey(ev *fyne.KeyEvent, mods fyne.KeyModifier) bool {
	if t.isBlocked() {
		return false
	}
	s, ok := Shortcut{}, false
	if mods&fyne.KeyModifierShift != 0 {
		s, ok = t.lookup(ev.Name, fyne.KeyModifierShift)
	}
	if !ok {
		s, ok = t.lookup(ev.Name, 0)
	}
	if !ok || s.Run == nil {
		return false
	}
	s.Run()
	return true
}

// customShortcut runs the entry bound to s when s is a
// desktop.CustomShortcut (Ctrl, Alt or Super with a key the driver makes
// no standard shortcut of), and reports whether it ran one.
func (t *Shortcuts) customShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	if !ok || t.isBlocked() {
		return false
	}
	e, ok := t.lookup(cs.KeyName, cs.Modifier)
	if !ok || e.Run == nil {
		return false
	}
	e.Run()
	return true
}

// typedRune runs the entry bound to r, and reports whether there was one.
func (t *Shortcuts) typedRune(r rune) bool {
	if t.isBlocked() {
		return false
	}
	s, ok := t.lookupRune(r)
	if !ok || s.Run == nil {
		return false
	}
	s.Run()
	return true
}

// keyNames are how keys whose Fyne names are not what the keyboard shows
// are written in the help.
var keyNames = map[fyne.KeyName]string{
	fyne.KeyUp: "↑", fyne.KeyDown: "↓", fyne.KeyLeft: "←", fyne.KeyRight: "→",
	fyne.KeyPageUp: "Page Up", fyne.KeyPageDown: "Page Down",
	fyne.KeyReturn: "Enter", fyne.KeyEnter: "keypad Enter", fyne.KeyEscape: "Esc",
	fyne.KeyBackspace: "Backspace", fyne.KeyDelete: "Delete",
}

func keyLabel(k fyne.KeyName, mod fyne.KeyModifier) string {
	name, ok := keyNames[k]
	if !ok {
		name = string(k)
	}
	var b strings.Builder
	if mod&fyne.KeyModifierShortcutDefault != 0 {
		// Fyne maps it to Cmd on macOS; the app's users are mostly on
		// Linux and Windows workstations.
		b.WriteString("Ctrl+")
	}
	if mod&fyne.KeyModifierAlt != 0 {
		b.WriteString("Alt+")
	}
	if mod&fyne.KeyModifierShift != 0 {
		b.WriteString("Shift+")
	}
	b.WriteString(name)
	return b.String()
}

// KeyLabel says how the help writes the entry's keys ("Ctrl+Z",
// "↑ or →", "F1 or ?") or its mouse gesture.
func (s Shortcut) KeyLabel() string {
	var parts []string
	for n, k := range s.keys() {
		mod := s.Modifier
		if n > 0 || s.Key == "" {
			mod = 0
		}
		parts = append(parts, keyLabel(k, mod))
	}
	if s.Rune != 0 {
		parts = append(parts, string(s.Rune))
	}
	if s.Mouse != "" {
		parts = append(parts, s.Mouse)
	}
	return strings.Join(parts, " or ")
}

// groupOrder is the order of the help's sections; groups it does not name
// come after, in the order their first entry was added.
var groupOrder = []string{"Tools", "Segments", "Models", "Edit", "File", "Dataset", "View", "Mouse", "Help"}

// Groups returns the table's entries by group, in the help's order.
func (t *Shortcuts) Groups() (names []string, entries [][]Shortcut) {
	seen := map[string]int{}
	for _, g := range groupOrder {
		seen[g] = len(names)
		names = append(names, g)
		entries = append(entries, nil)
	}
	for _, s := range t.entries {
		n, ok := seen[s.Group]
		if !ok {
			n = len(names)
			seen[s.Group] = n
			names = append(names, s.Group)
			entries = append(entries, nil)
		}
		entries[n] = append(entries[n], s)
	}
	// Drop sections nobody filled.
	for n := len(names) - 1; n >= 0; n-- {
		if len(entries[n]) == 0 {
			names = slices.Delete(names, n, n+1)
			entries = slices.Delete(entries, n, n+1)
		}
	}
	return names, entries
}

// Markdown returns the table as the README's Markdown table.
func (t *Shortcuts) Markdown() string {
	var b strings.Builder
	b.WriteString("| key or mouse | does |\n|---|---|\n")
	names, groups := t.Groups()
	for n, g := range groups {
		fmt.Fprintf(&b, "| **%s** | |\n", names[n])
		for _, s := range g {
			does := s.Name
			if s.Help != "" {
				does += ": " + s.Help
			}
			fmt.Fprintf(&b, "| %s | %s |\n", mdEscape(s.KeyLabel()), mdEscape(does))
		}
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// keyOf returns how the help writes the keys of the entry named name, ""
// when there is none.
func (t *Shortcuts) keyOf(name string) string {
	for _, s := range t.entries {
		if s.Name == name {
			return s.KeyLabel()
		}
	}
	return ""
}

// menuKey shows an entry's key beside a menu item without binding it.
// Fyne's GLFW driver runs the main menu's item whose shortcut has the name
// of the shortcut it made before the focused widget or the window sees
// the key: bound there, Ctrl+Z would undo a label edit while the user
// types in a field, and Ctrl+O open a file behind a dialog. The shortcut
// table handles the key instead, through the canvas's focus routing; the
// item only shows it.
type menuKey struct {
	key fyne.KeyName
	mod fyne.KeyModifier
}

// ShortcutName implements fyne.Shortcut with a name no driver makes.
func (k *menuKey) ShortcutName() string { return "polyseg menu label " + keyLabel(k.key, k.mod) }

// Key implements fyne.KeyboardShortcut.
func (k *menuKey) Key() fyne.KeyName { return k.key }

// Mod implements fyne.KeyboardShortcut.
func (k *menuKey) Mod() fyne.KeyModifier { return k.mod }
