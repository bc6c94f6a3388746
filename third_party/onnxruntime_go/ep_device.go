package onnxruntime_go

// polyseg: plugin execution providers, backported from onnxruntime_go
// v1.38.0 (EpDevice, GetEpDevices, AppendExecutionProviderV2 keep its names
// and signatures, so that moving to an upstream release is a go.mod change),
// plus the hardware-device and provider queries polyseg doctor reports. See
// POLYSEG.md.

// #include "onnxruntime_wrapper.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// EpDevice is an opaque handle to an OrtEpDevice: a single (execution
// provider, hardware device) pair surfaced by an execution provider,
// including the plugins registered with RegisterExecutionProviderLibrary.
//
// EpDevice values returned from GetEpDevices are owned by the OrtEnv. They
// remain valid until the library that contributed them is unregistered or
// the environment is destroyed.
type EpDevice struct {
	p *C.OrtEpDevice
}

// EpName returns the name of the execution provider that owns this device,
// e.g. "CUDAExecutionProvider".
func (d EpDevice) EpName() string {
	if d.p == nil {
		return ""
	}
	return C.GoString(C.EpDeviceEpName(d.p))
}

// EpVendor returns the execution provider's vendor, e.g. "Microsoft".
func (d EpDevice) EpVendor() string {
	if d.p == nil {
		return ""
	}
	return C.GoString(C.EpDeviceEpVendor(d.p))
}

// HardwareDeviceType is the kind of hardware an EpDevice runs on.
type HardwareDeviceType int

// The values of OrtHardwareDeviceType.
const (
	HardwareDeviceCPU HardwareDeviceType = 0
	HardwareDeviceGPU HardwareDeviceType = 1
	HardwareDeviceNPU HardwareDeviceType = 2
)

func (t HardwareDeviceType) String() string {
	switch t {
	case HardwareDeviceCPU:
		return "CPU"
	case HardwareDeviceGPU:
		return "GPU"
	case HardwareDeviceNPU:
		return "NPU"
	}
	return fmt.Sprintf("HardwareDeviceType(%d)", int(t))
}

// HardwareType returns the kind of hardware device this EpDevice uses.
func (d EpDevice) HardwareType() HardwareDeviceType {
	if d.p == nil {
		return -1
	}
	return HardwareDeviceType(C.EpDeviceHardwareType(d.p))
}

// HardwareVendor returns the hardware device's vendor name.
func (d EpDevice) HardwareVendor() string {
	if d.p == nil {
		return ""
	}
	s := C.EpDeviceHardwareVendor(d.p)
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// HardwareVendorID returns the hardware device's PCI vendor ID (0x10de for
// NVIDIA), or 0 when unknown.
func (d EpDevice) HardwareVendorID() uint32 {
	if d.p == nil {
		return 0
	}
	return uint32(C.EpDeviceHardwareVendorID(d.p))
}

// HardwareDeviceID returns the hardware device's PCI device ID, or 0.
func (d EpDevice) HardwareDeviceID() uint32 {
	if d.p == nil {
		return 0
	}
	return uint32(C.EpDeviceHardwareDeviceID(d.p))
}

// GetEpDevices returns the OrtEpDevice instances known to the environment,
// including those contributed by plugin execution providers loaded with
// RegisterExecutionProviderLibrary.
func GetEpDevices() ([]EpDevice, error) {
	if !IsInitialized() {
		return nil, NotInitializedError
	}
	var raw **C.OrtEpDevice
	var count C.size_t
	status := C.GetEpDevices(ortEnv,
		(***C.OrtEpDevice)(unsafe.Pointer(&raw)), &count)
	if status != nil {
		return nil, statusToError(status)
	}
	n := int(count)
	if n == 0 || raw == nil {
		return nil, nil
	}
	src := unsafe.Slice(raw, n)
	devices := make([]EpDevice, n)
	for i := range devices {
		devices[i] = EpDevice{p: src[i]}
	}
	return devices, nil
}

// AppendExecutionProviderV2 attaches a plugin execution provider to these
// session options, using devices obtained from GetEpDevices that all belong
// to the same execution provider. Wraps the C API
// SessionOptionsAppendExecutionProvider_V2.
func (o *SessionOptions) AppendExecutionProviderV2(devices []EpDevice,
	options map[string]string) error {
	if len(devices) == 0 {
		return fmt.Errorf("AppendExecutionProviderV2 requires at least one EpDevice")
	}
	arr := make([]*C.OrtEpDevice, len(devices))
	for i, d := range devices {
		if d.p == nil {
			return fmt.Errorf("AppendExecutionProviderV2: devices[%d] "+
				"is the zero EpDevice", i)
		}
		arr[i] = d.p
	}
	var keysPtr, valuesPtr **C.char
	if len(options) != 0 {
		keys, values := mapToCStrings(options)
		defer freeCStrings(keys)
		defer freeCStrings(values)
		keysPtr = &(keys[0])
		valuesPtr = &(values[0])
	}
	// arr holds C pointers only, so cgo lets C read it from Go memory.
	status := C.AppendExecutionProviderV2(o.o, ortEnv, &arr[0],
		C.size_t(len(arr)), keysPtr, valuesPtr, C.size_t(len(options)))
	if status != nil {
		return statusToError(status)
	}
	return nil
}

// GetAvailableProviders returns the names of the execution providers
// compiled into the loaded library (plugins registered at run time are not
// among them: see GetEpDevices). It needs only SetSharedLibraryPath and
// InitializeEnvironment.
func GetAvailableProviders() ([]string, error) {
	if !IsInitialized() {
		return nil, NotInitializedError
	}
	var names **C.char
	var count C.int
	status := C.GetAvailableProviders(&names, &count)
	if status != nil {
		return nil, statusToError(status)
	}
	out := make([]string, 0, int(count))
	for _, s := range unsafe.Slice(names, int(count)) {
		out = append(out, C.GoString(s))
	}
	if status := C.ReleaseAvailableProviders(names, count); status != nil {
		return out, statusToError(status)
	}
	return out, nil
}
