package onnxrt

// This file reaches the parts of ONNX Runtime's C API that onnxruntime_go
// v1.27 does not wrap and the CUDA plugin needs: the devices a plugin
// execution provider offers (GetEpDevices) and appending one to session
// options (SessionOptionsAppendExecutionProvider_V2), plus the provider
// and device queries polyseg doctor prints. onnxruntime_go wraps them from
// v1.38, which needs ONNX Runtime 1.31, a library no registry reachable
// here serves (docs/gpu.md).
//
// Nothing of ONNX Runtime's headers is used. The library onnxruntime_go
// loaded is opened again (dlopen with RTLD_NOLOAD), and its OrtApi table
// is fetched through OrtGetApiBase; OrtApi is an append-only table of
// function pointers, so each function is the pointer at a fixed index (the
// api* constants). The OrtEnv is ONNX Runtime's process singleton:
// CreateEnv hands out the one onnxruntime_go created, with one more
// reference, which ReleaseEnv drops again. The OrtSessionOptions* is read
// from the one unexported field of ort.SessionOptions
// (sessionOptionsHandle), whose layout checkSessionOptionsLayout and the
// tests guard.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

// Opaque handles: only pointers to them are passed on.
typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtEpDevice OrtEpDevice;
typedef struct OrtHardwareDevice OrtHardwareDevice;

// ps_table is struct OrtApi seen as what it is, an array of function
// pointers; Go passes the index of each function it calls.
typedef void *const *ps_table;

// ps_api_base has the layout of struct OrtApiBase: two function pointers.
typedef struct {
	ps_table (*get_api)(uint32_t version);
	const char *(*get_version_string)(void);
} ps_api_base;

// ps_open returns the OrtApiBase of the library at path, which must be
// loaded already, or NULL: *step says which step failed (1 the library is
// not loaded, 2 it has no OrtGetApiBase). The handle stays open: the
// table lives in the library.
static ps_api_base *ps_open(const char *path, int *step) {
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL) {
		*step = 1;
		return NULL;
	}
	ps_api_base *(*get_base)(void) = (ps_api_base *(*)(void))dlsym(h, "OrtGetApiBase");
	if (get_base == NULL) {
		dlclose(h);
		*step = 2;
		return NULL;
	}
	return get_base();
}

static const char *ps_version(ps_api_base *base) {
	return base->get_version_string();
}

// ps_get_api returns the OrtApi table of that version, or NULL when the
// library does not serve it.
static ps_table ps_get_api(ps_api_base *base, uint32_t version) {
	return base->get_api(version);
}

static const char *ps_error_message(ps_table api, size_t i, OrtStatus *st) {
	return ((const char *(*)(const OrtStatus *))api[i])(st);
}

static void ps_release_status(ps_table api, size_t i, OrtStatus *st) {
	((void (*)(OrtStatus *))api[i])(st);
}

// ps_create_env: the logging level (3, ORT_LOGGING_LEVEL_ERROR) and id
// only matter to an environment not created yet, which Go never asks for.
static OrtStatus *ps_create_env(ps_table api, size_t i, const char *logid, OrtEnv **out) {
	return ((OrtStatus *(*)(int, const char *, OrtEnv **))api[i])(3, logid, out);
}

static void ps_release_env(ps_table api, size_t i, OrtEnv *env) {
	((void (*)(OrtEnv *))api[i])(env);
}

static OrtStatus *ps_get_ep_devices(ps_table api, size_t i, OrtEnv *env, const OrtEpDevice *const **devices, size_t *n) {
	return ((OrtStatus *(*)(const OrtEnv *, const OrtEpDevice *const **, size_t *))api[i])(env, devices, n);
}

static const OrtEpDevice *ps_device_at(const OrtEpDevice *const *devices, size_t k) {
	return devices[k];
}

static OrtStatus *ps_append_v2(ps_table api, size_t i, OrtSessionOptions *o, OrtEnv *env,
		const OrtEpDevice *const *devices, size_t n, const char *const *keys, const char *const *values, size_t nopts) {
	return ((OrtStatus *(*)(OrtSessionOptions *, OrtEnv *, const OrtEpDevice *const *, size_t,
		const char *const *, const char *const *, size_t))api[i])(o, env, devices, n, keys, values, nopts);
}

static const char *ps_ep_string(ps_table api, size_t i, const OrtEpDevice *d) {
	return ((const char *(*)(const OrtEpDevice *))api[i])(d);
}

static const OrtHardwareDevice *ps_ep_hardware(ps_table api, size_t i, const OrtEpDevice *d) {
	return ((const OrtHardwareDevice *(*)(const OrtEpDevice *))api[i])(d);
}

// ps_hw_int: HardwareDevice_Type returns an enum, which the C ABI passes
// as an int; VendorId and DeviceId return uint32_t.
static int ps_hw_type(ps_table api, size_t i, const OrtHardwareDevice *h) {
	return ((int (*)(const OrtHardwareDevice *))api[i])(h);
}

static uint32_t ps_hw_id(ps_table api, size_t i, const OrtHardwareDevice *h) {
	return ((uint32_t (*)(const OrtHardwareDevice *))api[i])(h);
}

static const char *ps_hw_string(ps_table api, size_t i, const OrtHardwareDevice *h) {
	return ((const char *(*)(const OrtHardwareDevice *))api[i])(h);
}

static OrtStatus *ps_get_providers(ps_table api, size_t i, char ***names, int *n) {
	return ((OrtStatus *(*)(char ***, int *))api[i])(names, n);
}

static OrtStatus *ps_release_providers(ps_table api, size_t i, char **names, int n) {
	return ((OrtStatus *(*)(char **, int))api[i])(names, n);
}

static const char *ps_string_at(char **names, int k) {
	return names[k];
}
*/
import "C"

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// ortAPIVersion is the C API version asked for: the one onnxruntime_go
// v1.27 asks for (ORT_API_VERSION in the onnxruntime_c_api.h of its
// module), so both see the same table.
const ortAPIVersion = 24

// The oldest ONNX Runtime accepted: GetApi(24) needs 1.24, and every
// function called here is older (the newest, GetEpDevices and the
// EpDevice and HardwareDevice accessors, came in 1.22, as their "\since"
// lines in the header say; TestOrtAPIIndices checks each).
const minORTMajor, minORTMinor = 1, 24

// Indices into the OrtApi table: the position of each function pointer
// among the members of struct OrtApi in onnxruntime_c_api.h of
// github.com/yalue/onnxruntime_go@v1.27.0 (API version 24), counted from 0
// in declaration order. The table only ever grows at its end, so they hold
// for every later library. TestOrtAPIIndices counts them again from that
// header; a C compiler agrees (offsetof(OrtApi, f) / sizeof(void *)).
const (
	apiGetErrorMessage           = 2
	apiCreateEnv                 = 3
	apiReleaseEnv                = 92
	apiReleaseStatus             = 93
	apiGetAvailableProviders     = 125
	apiReleaseAvailableProviders = 126
	apiGetEpDevices              = 303
	apiAppendExecutionProviderV2 = 304 // SessionOptionsAppendExecutionProvider_V2
	apiHardwareDeviceType        = 307
	apiHardwareDeviceVendorID    = 308 // HardwareDevice_VendorId
	apiHardwareDeviceVendor      = 309
	apiHardwareDeviceDeviceID    = 310 // HardwareDevice_DeviceId
	apiEpDeviceEpName            = 312
	apiEpDeviceEpVendor          = 313
	apiEpDeviceDevice            = 316
)

// ortTable is the OrtApi table of the process's library, found once.
var ortTable struct {
	once sync.Once
	api  C.ps_table
	err  error
}

// ortAPI returns the OrtApi table of lib, the library onnxruntime_go has
// loaded and initialised, or says why it cannot be used.
func ortAPI(lib string) (C.ps_table, error) {
	if !ort.IsInitialized() {
		// CreateEnv would then make an environment onnxruntime_go does
		// not know of.
		return nil, errors.New("ONNX Runtime is not initialised")
	}
	ortTable.once.Do(func() {
		ortTable.api, ortTable.err = openAPI(lib)
	})
	return ortTable.api, ortTable.err
}

func openAPI(lib string) (C.ps_table, error) {
	cPath := C.CString(lib)
	defer C.free(unsafe.Pointer(cPath))
	var step C.int
	base := C.ps_open(cPath, &step)
	switch {
	case base == nil && step == 1:
		return nil, fmt.Errorf("ONNX Runtime C API: %s is not the loaded library", lib)
	case base == nil:
		return nil, fmt.Errorf("ONNX Runtime C API: %s has no OrtGetApiBase", lib)
	}
	// The version first: asked for a table it does not have, a library
	// complains on stderr.
	version := C.GoString(C.ps_version(base))
	if err := checkORTVersion(version); err != nil {
		return nil, fmt.Errorf("ONNX Runtime C API: %s: %w", lib, err)
	}
	api := C.ps_get_api(base, ortAPIVersion)
	if api == nil {
		return nil, fmt.Errorf("ONNX Runtime C API: %s (version %s) does not serve API version %d", lib, version, ortAPIVersion)
	}
	return api, nil
}

// checkORTVersion refuses a library older than the oldest whose table has
// every function called here.
func checkORTVersion(v string) error {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return fmt.Errorf("version %q is not MAJOR.MINOR[.PATCH]", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("version %q is not MAJOR.MINOR[.PATCH]", v)
	}
	if major < minORTMajor || major == minORTMajor && minor < minORTMinor {
		return fmt.Errorf("version %s is older than %d.%d, the oldest that serves C API version %d (the plugin execution providers' calls came in 1.22)", v, minORTMajor, minORTMinor, ortAPIVersion)
	}
	return nil
}

// statusError converts a non-nil OrtStatus into an error and releases it.
func statusError(api C.ps_table, st *C.OrtStatus) error {
	msg := C.GoString(C.ps_error_message(api, apiGetErrorMessage, st))
	C.ps_release_status(api, apiReleaseStatus, st)
	return errors.New(strings.TrimSpace(msg))
}

// envHandle is an OrtEnv*.
type envHandle = *C.OrtEnv

// withEnv runs f with the process's OrtEnv, holding a reference to it for
// the call.
func withEnv(api C.ps_table, f func(envHandle) error) error {
	logid := C.CString("polyseg")
	defer C.free(unsafe.Pointer(logid))
	var env envHandle
	if st := C.ps_create_env(api, apiCreateEnv, logid, &env); st != nil {
		return fmt.Errorf("ONNX Runtime environment: %w", statusError(api, st))
	}
	defer C.ps_release_env(api, apiReleaseEnv, env)
	return f(env)
}

// epDevice is one OrtEpDevice the environment offers, and what it says of
// itself. The environment owns it: it stays valid while the library that
// contributed it is registered, which is for the rest of the process.
type epDevice struct {
	Device
	p *C.OrtEpDevice
}

// hardwareTypes are the names of OrtHardwareDeviceType's values.
var hardwareTypes = []string{"CPU", "GPU", "NPU"}

// epDevices lists the devices the environment of the loaded library lib
// offers, including those of plugin providers registered with it.
func epDevices(lib string) ([]epDevice, error) {
	api, err := ortAPI(lib)
	if err != nil {
		return nil, err
	}
	var out []epDevice
	err = withEnv(api, func(env envHandle) error {
		var list **C.OrtEpDevice
		var n C.size_t
		if st := C.ps_get_ep_devices(api, apiGetEpDevices, env, &list, &n); st != nil {
			return fmt.Errorf("ONNX Runtime devices: %w", statusError(api, st))
		}
		for k := C.size_t(0); k < n; k++ {
			out = append(out, describeDevice(api, C.ps_device_at(list, k)))
		}
		return nil
	})
	return out, err
}

func describeDevice(api C.ps_table, d *C.OrtEpDevice) epDevice {
	e := epDevice{p: d}
	e.Provider = goString(C.ps_ep_string(api, apiEpDeviceEpName, d))
	e.ProviderVendor = goString(C.ps_ep_string(api, apiEpDeviceEpVendor, d))
	if h := C.ps_ep_hardware(api, apiEpDeviceDevice, d); h != nil {
		t := int(C.ps_hw_type(api, apiHardwareDeviceType, h))
		if t >= 0 && t < len(hardwareTypes) {
			e.Hardware = hardwareTypes[t]
		} else {
			e.Hardware = fmt.Sprintf("hardware type %d", t)
		}
		e.Vendor = goString(C.ps_hw_string(api, apiHardwareDeviceVendor, h))
		e.VendorID = uint32(C.ps_hw_id(api, apiHardwareDeviceVendorID, h))
		e.DeviceID = uint32(C.ps_hw_id(api, apiHardwareDeviceDeviceID, h))
	}
	return e
}

func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// appendEP appends the execution provider of devices (all of one
// provider, from epDevices of the same library) to session options o,
// with provider options opts.
func appendEP(lib string, o *ort.SessionOptions, devices []epDevice, opts map[string]string) error {
	if len(devices) == 0 {
		return errors.New("append execution provider: no device")
	}
	h, err := sessionOptionsHandle(o)
	if err != nil {
		return err
	}
	api, err := ortAPI(lib)
	if err != nil {
		return err
	}
	// Arrays C reads: C memory, as cgo wants for arrays of pointers.
	devs := cArray[*C.OrtEpDevice](len(devices))
	defer C.free(unsafe.Pointer(&devs[0]))
	for i, d := range devices {
		if d.p == nil || d.Provider != devices[0].Provider {
			return fmt.Errorf("append execution provider: device %d is not one of %s's", i, devices[0].Provider)
		}
		devs[i] = d.p
	}
	keys := slices.Sorted(maps.Keys(opts))
	var cKeys, cVals []*C.char
	if len(keys) > 0 {
		cKeys, cVals = cArray[*C.char](len(keys)), cArray[*C.char](len(keys))
		defer C.free(unsafe.Pointer(&cKeys[0]))
		defer C.free(unsafe.Pointer(&cVals[0]))
		for i, k := range keys {
			cKeys[i], cVals[i] = C.CString(k), C.CString(opts[k])
			defer C.free(unsafe.Pointer(cKeys[i]))
			defer C.free(unsafe.Pointer(cVals[i]))
		}
	}
	var keyPtr, valPtr **C.char
	if len(keys) > 0 {
		keyPtr, valPtr = &cKeys[0], &cVals[0]
	}
	return withEnv(api, func(env envHandle) error {
		st := C.ps_append_v2(api, apiAppendExecutionProviderV2, h, env, &devs[0], C.size_t(len(devs)),
			keyPtr, valPtr, C.size_t(len(keys)))
		if st != nil {
			return fmt.Errorf("append %s: %w", devices[0].Provider, statusError(api, st))
		}
		return nil
	})
}

// cArray allocates n zeroed elements in C memory; the caller frees the
// first one's address.
func cArray[T any](n int) []T {
	var zero T
	p := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(zero)))
	return unsafe.Slice((*T)(p), n)
}

// availableProviders lists the execution providers compiled into the
// loaded library lib (plugins registered at run time are not among them;
// epDevices lists those).
func availableProviders(lib string) ([]string, error) {
	api, err := ortAPI(lib)
	if err != nil {
		return nil, err
	}
	var names **C.char
	var n C.int
	if st := C.ps_get_providers(api, apiGetAvailableProviders, &names, &n); st != nil {
		return nil, fmt.Errorf("ONNX Runtime providers: %w", statusError(api, st))
	}
	out := make([]string, 0, int(n))
	for k := C.int(0); k < n; k++ {
		out = append(out, C.GoString(C.ps_string_at(names, k)))
	}
	if st := C.ps_release_providers(api, apiReleaseAvailableProviders, names, n); st != nil {
		return out, fmt.Errorf("ONNX Runtime providers: %w", statusError(api, st))
	}
	return out, nil
}

// sessionOptionsHandle returns the OrtSessionOptions* inside o.
// onnxruntime_go keeps it in SessionOptions' only field, unexported; a
// struct of the same layout reads it. checkSessionOptionsLayout refuses a
// SessionOptions of any other shape, so that an onnxruntime_go that
// changes it gives an error here instead of a crash in ONNX Runtime.
func sessionOptionsHandle(o *ort.SessionOptions) (*C.OrtSessionOptions, error) {
	if err := checkSessionOptionsLayout(); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, errors.New("no session options")
	}
	h := (*struct{ o *C.OrtSessionOptions })(unsafe.Pointer(o)).o
	if h == nil {
		return nil, errors.New("session options already destroyed")
	}
	return h, nil
}

// checkSessionOptionsLayout checks that ort.SessionOptions is still one
// field, o, a pointer to the C OrtSessionOptions.
func checkSessionOptionsLayout() error {
	t := reflect.TypeFor[ort.SessionOptions]()
	if t.NumField() == 1 && t.Size() == unsafe.Sizeof(uintptr(0)) {
		f := t.Field(0)
		if f.Name == "o" && f.Type.Kind() == reflect.Pointer && strings.Contains(f.Type.Elem().Name(), "OrtSessionOptions") {
			return nil
		}
	}
	return fmt.Errorf("onnxruntime_go's SessionOptions is not one pointer to OrtSessionOptions any more (%d fields, %d bytes): inference/ep_plugin.go needs updating", t.NumField(), t.Size())
}
