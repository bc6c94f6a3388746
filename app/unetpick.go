package app

import (
	"fmt"

	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/models"
)

// unetPick is the segmentation model chosen while the app runs (a
// dataset's own model, DIR/models/NAME) in place of ModelOptions.UNet.
// Models chosen before stay loaded until the Models is closed: a job may
// still be running one.
type unetPick struct {
	man    *models.Manifest       // nil: ModelOptions.UNet
	loaded map[string]*unet.Model // by pickKey
}

// pickKey tells models apart by file and content: a model folder replaced
// by a new training of the same name is another model.
func pickKey(m *models.Manifest) string { return m.Path + "\x00" + m.SHA256 }

// UseUNet makes the model of manifest man the segmentation model, which
// Segment runs and whose probabilities guard propagation for the labels
// it knows; nil goes back to ModelOptions.UNet. The model loads when
// first needed (UNet). Every session sharing these Models sees the choice.
func (m *Models) UseUNet(man *models.Manifest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pick.man = man
	m.status.UNet, m.status.UNetErr = "", nil
	switch {
	case man != nil:
		m.status.UNet = man.Name
	case m.unet != nil:
		m.status.UNet = m.unet.Manifest().Name
	}
}

// ChosenUNet returns the manifest UseUNet chose; nil while the default
// (ModelOptions.UNet) is in use.
func (m *Models) ChosenUNet() *models.Manifest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pick.man
}

// pickedUNet returns the chosen model, loading it the first time; ok is
// false when none is chosen.
func (m *Models) pickedUNet() (u *unet.Model, ok bool, err error) {
	m.mu.Lock()
	man := m.pick.man
	if man == nil {
		m.mu.Unlock()
		return nil, false, nil
	}
	u = m.pick.loaded[pickKey(man)]
	m.mu.Unlock()
	if u != nil {
		return u, true, nil
	}
	m.load.Lock()
	defer m.load.Unlock()
	m.mu.Lock()
	u = m.pick.loaded[pickKey(man)] // loaded while this waited
	m.mu.Unlock()
	if u != nil {
		return u, true, nil
	}
	rt, err := m.runtimeLocked()
	if err != nil {
		return nil, true, err
	}
	u, err = unet.Load(rt, man)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrNoModel, err)
		if m.pick.man == man {
			m.status.UNetErr = err
		}
		return nil, true, err
	}
	if m.pick.loaded == nil {
		m.pick.loaded = map[string]*unet.Model{}
	}
	m.pick.loaded[pickKey(man)] = u
	if m.pick.man == man {
		m.status.UNet, m.status.UNetErr = man.Name, nil
	}
	m.noteProvider(rt)
	return u, true, nil
}

// loadedPickLocked returns the chosen model if it is loaded; ok is false
// when none is chosen. m.mu is held.
func (m *Models) loadedPickLocked() (*unet.Model, bool) {
	if m.pick.man == nil {
		return nil, false
	}
	return m.pick.loaded[pickKey(m.pick.man)], true
}

// closePickedLocked closes every chosen model loaded; m.mu and m.load are
// held.
func (m *Models) closePickedLocked() []error {
	var errs []error
	for k, u := range m.pick.loaded {
		errs = append(errs, u.Close())
		delete(m.pick.loaded, k)
	}
	return errs
}
