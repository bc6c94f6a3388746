package onnxrt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/models"
)

// apiEntry is one function pointer of struct OrtApi as the C header
// declares it: its position in the table and the ONNX Runtime version its
// documentation says added it (0.0 when it does not say).
type apiEntry struct {
	index        int
	major, minor int
}

var (
	reStatus  = regexp.MustCompile(`^ORT_API2_STATUS\(\s*(\w+)\s*,`)
	reTyped   = regexp.MustCompile(`^ORT_API_T\([^,]+,\s*(\w+)\s*[,)]`)
	reRelease = regexp.MustCompile(`^ORT_CLASS_RELEASE\(\s*(\w+)\s*\)$`)
	rePointer = regexp.MustCompile(`\(\s*ORT_API_CALL\s*\*\s*(\w+)\s*\)`)
	reSince   = regexp.MustCompile(`\\since Version (\d+)\.(\d+)`)
	reVersion = regexp.MustCompile(`(?m)^#define ORT_API_VERSION (\d+)\s*$`)
)

// parseOrtAPI reads the members of struct OrtApi from the C API header
// text: every member is a function pointer, declared through one of the
// header's macros or spelled out, and ends at a ';' outside comments and
// parentheses. It fails on any member it cannot name, so that a form it
// does not know cannot shift the count silently.
func parseOrtAPI(header string) (entries map[string]apiEntry, apiVersion int, err error) {
	m := reVersion.FindStringSubmatch(header)
	if m == nil {
		return nil, 0, fmt.Errorf("no ORT_API_VERSION")
	}
	apiVersion, _ = strconv.Atoi(m[1])
	start := strings.Index(header, "\nstruct OrtApi {")
	if start < 0 {
		return nil, 0, fmt.Errorf("no struct OrtApi")
	}
	src := header[start+len("\nstruct OrtApi {"):]
	entries = map[string]apiEntry{}
	var code, comments strings.Builder
	depth := 0
	for i := 0; i < len(src); i++ {
		switch {
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, 0, fmt.Errorf("unterminated comment")
			}
			comments.WriteString(src[i : i+2+end+2])
			i += 2 + end + 1
		case strings.HasPrefix(src[i:], "//"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			comments.WriteString(src[i : i+end])
			i += end - 1
		case src[i] == '#' && (i == 0 || src[i-1] == '\n'):
			return nil, 0, fmt.Errorf("preprocessor line inside struct OrtApi: %.40q", src[i:])
		case src[i] == '(':
			depth++
			code.WriteByte('(')
		case src[i] == ')':
			depth--
			code.WriteByte(')')
		case src[i] == '}' && depth == 0:
			if rest := strings.TrimSpace(code.String()); rest != "" {
				return nil, 0, fmt.Errorf("member without ';' at the end: %q", rest)
			}
			return entries, apiVersion, nil
		case src[i] == ';' && depth == 0:
			decl := strings.Join(strings.Fields(code.String()), " ")
			var name string
			if m := reStatus.FindStringSubmatch(decl); m != nil {
				name = m[1]
			} else if m := reTyped.FindStringSubmatch(decl); m != nil {
				name = m[1]
			} else if m := reRelease.FindStringSubmatch(decl); m != nil {
				name = "Release" + m[1]
			} else if m := rePointer.FindStringSubmatch(decl); m != nil {
				name = m[1]
			} else {
				return nil, 0, fmt.Errorf("member %d: cannot name %q", len(entries), decl)
			}
			if _, dup := entries[name]; dup {
				return nil, 0, fmt.Errorf("member %s twice", name)
			}
			e := apiEntry{index: len(entries)}
			if s := reSince.FindAllStringSubmatch(comments.String(), -1); s != nil {
				last := s[len(s)-1]
				e.major, _ = strconv.Atoi(last[1])
				e.minor, _ = strconv.Atoi(last[2])
			}
			entries[name] = e
			code.Reset()
			comments.Reset()
		default:
			code.WriteByte(src[i])
		}
	}
	return nil, 0, fmt.Errorf("struct OrtApi does not end")
}

// moduleHeader returns the C API header onnxruntime_go's module ships,
// from the module cache (go list names the version go.mod requires).
func moduleHeader(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("onnxruntime_go's module is not in the module cache (go list: %v)", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "onnxruntime_c_api.h"))
	if err != nil {
		t.Skipf("no C API header in %s: %v", dir, err)
	}
	return string(b)
}

// The table positions ep_plugin.go calls through are the header's, and
// every function it calls is at least as old as the oldest library it
// accepts.
func TestOrtAPIIndices(t *testing.T) {
	entries, version, err := parseOrtAPI(moduleHeader(t))
	if err != nil {
		t.Fatal(err)
	}
	if version != ortAPIVersion {
		t.Errorf("header's ORT_API_VERSION %d, ep_plugin.go asks for %d", version, ortAPIVersion)
	}
	// The parser itself: the table starts with these two.
	if entries["CreateStatus"].index != 0 || entries["GetErrorCode"].index != 1 {
		t.Fatalf("the table does not start with CreateStatus, GetErrorCode: %+v", entries["CreateStatus"])
	}
	for _, f := range ortFuncs {
		e, ok := entries[f.name]
		if !ok {
			t.Errorf("%s: not in struct OrtApi", f.name)
			continue
		}
		if e.index != f.index {
			t.Errorf("%s: index %d in ep_plugin.go, %d in the header", f.name, f.index, e.index)
		}
		if e.major > minORTMajor || e.major == minORTMajor && e.minor > minORTMinor {
			t.Errorf("%s: added in %d.%d, after the oldest accepted library %d.%d", f.name, e.major, e.minor, minORTMajor, minORTMinor)
		}
		t.Logf("%-42s %3d  since %d.%d", f.name, e.index, e.major, e.minor)
	}
}

// The parser refuses what it cannot count.
func TestParseOrtAPIRefuses(t *testing.T) {
	const head = "#define ORT_API_VERSION 24\n"
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"every form", "ORT_API2_STATUS(A, int x);\n/* \\since Version 1.22. */ ORT_API_T(void, B, int);\nORT_CLASS_RELEASE(C);\nconst char*(ORT_API_CALL* D)(void);\n", true},
		{"unknown member", "int x;\n", false},
		{"preprocessor", "#ifdef X\nORT_API2_STATUS(A, int x);\n#endif\n", false},
		{"twice", "ORT_API2_STATUS(A, int);\nORT_API2_STATUS(A, int);\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _, err := parseOrtAPI(head + "\nstruct OrtApi {\n" + tc.body + "};\n")
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if tc.ok && (e["A"].index != 0 || e["B"].index != 1 || e["ReleaseC"].index != 2 || e["D"].index != 3 || e["B"].minor != 22) {
				t.Errorf("entries %+v", e)
			}
		})
	}
}

// sessionOptionsLayout mirrors what ep_plugin.go assumes of
// ort.SessionOptions.
func TestSessionOptionsLayout(t *testing.T) {
	if err := checkSessionOptionsLayout(); err != nil {
		t.Fatal(err)
	}
	if unsafe.Sizeof(ort.SessionOptions{}) != unsafe.Sizeof(uintptr(0)) {
		t.Fatalf("ort.SessionOptions is %d bytes, not one pointer", unsafe.Sizeof(ort.SessionOptions{}))
	}
	if f := reflect.TypeFor[ort.SessionOptions]().Field(0); f.Name != "o" || f.Type.Kind() != reflect.Pointer {
		t.Fatalf("ort.SessionOptions' field is %s %s", f.Name, f.Type)
	}
}

// ortFuncs names each api* constant by its member of struct OrtApi.
var ortFuncs = []struct {
	name  string
	index int
}{
	{"GetErrorMessage", apiGetErrorMessage},
	{"CreateEnv", apiCreateEnv},
	{"ReleaseEnv", apiReleaseEnv},
	{"ReleaseStatus", apiReleaseStatus},
	{"GetAvailableProviders", apiGetAvailableProviders},
	{"ReleaseAvailableProviders", apiReleaseAvailableProviders},
	{"GetEpDevices", apiGetEpDevices},
	{"SessionOptionsAppendExecutionProvider_V2", apiAppendExecutionProviderV2},
	{"HardwareDevice_Type", apiHardwareDeviceType},
	{"HardwareDevice_VendorId", apiHardwareDeviceVendorID},
	{"HardwareDevice_Vendor", apiHardwareDeviceVendor},
	{"HardwareDevice_DeviceId", apiHardwareDeviceDeviceID},
	{"EpDevice_EpName", apiEpDeviceEpName},
	{"EpDevice_EpVendor", apiEpDeviceEpVendor},
	{"EpDevice_Device", apiEpDeviceDevice},
}

func TestCheckORTVersion(t *testing.T) {
	for v, ok := range map[string]bool{"1.24.0": true, "1.29.0": true, "1.30.1": true, "2.0.0": true, "1.23.2": false, "1.9.0": false, "0.99": false, "": false, "1": false, "x.y": false} {
		if err := checkORTVersion(v); (err == nil) != ok {
			t.Errorf("%q: %v, want accepted %v", v, err, ok)
		}
	}
	if err := checkORTVersion("1.22.0"); err == nil || !strings.Contains(err.Error(), "older than 1.24") {
		t.Errorf("1.22: %v, want a refusal naming 1.24", err)
	}
}

// The C API is only ever taken from the library already loaded.
func TestOpenAPIRefusesAnotherLibrary(t *testing.T) {
	testRuntime(t)
	if _, err := openAPI(filepath.Join(t.TempDir(), "libonnxruntime.so.1")); err == nil || !strings.Contains(err.Error(), "not the loaded library") {
		t.Errorf("a library not loaded: %v", err)
	}
}

// The loaded library lists its CPU provider as a device and among the
// providers built into it, through the indices above.
func TestEpDevices(t *testing.T) {
	rt := testRuntime(t)
	devs, err := epDevices(rt.Library())
	if err != nil {
		t.Fatal(err)
	}
	var cpu *epDevice
	for i, d := range devs {
		t.Logf("device %+v", d.Device)
		if d.Provider == "CPUExecutionProvider" {
			cpu = &devs[i]
		}
	}
	if cpu == nil || cpu.Hardware != "CPU" || cpu.ProviderVendor == "" || cpu.p == nil {
		t.Errorf("CPU device %+v among %d", cpu, len(devs))
	}
	provs, err := availableProviders(rt.Library())
	if err != nil || !slices.Contains(provs, "CPUExecutionProvider") {
		t.Errorf("providers %v, %v", provs, err)
	}
	checkAppendRoundTrip(t, rt)
}

// checkAppendRoundTrip appends the CPU provider's device to session
// options through the handle read out of ort.SessionOptions, with a
// provider option, and reads the option back through onnxruntime_go's own
// API: ONNX Runtime keeps provider options as session config entries
// "ep.<provider in lower case>.<key>". A wrong handle cannot give that
// value back. Then a session made with those options runs.
func checkAppendRoundTrip(t *testing.T, rt *Runtime) {
	t.Helper()
	devs, err := epDevices(rt.Library())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(devs, func(d epDevice) bool { return d.Provider == "CPUExecutionProvider" })
	if i < 0 {
		t.Fatalf("no CPU device among %+v", devs)
	}
	o, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer o.Destroy()
	if err := appendEP(rt.Library(), o, devs[i:i+1], map[string]string{"polyseg_check": "7331"}); err != nil {
		t.Fatal(err)
	}
	const key = "ep.cpuexecutionprovider.polyseg_check"
	if v, err := o.GetSessionConfigEntry(key); err != nil || v != "7331" {
		t.Fatalf("%s read back through onnxruntime_go: %q, %v; want 7331", key, v, err)
	}
	checkSession(t, rt, o)
}

// checkSession makes a session of the U-Net with options o (nil: default
// ones) through onnxruntime_go.
func checkSession(t *testing.T, rt *Runtime, o *ort.SessionOptions) {
	t.Helper()
	m, err := models.Resolve("polycl-liver", rt.ModelDir(), models.SearchDirs(rt.ModelDir())...)
	if err != nil {
		t.Skipf("no model to run: %v", err)
	}
	var in, out []string
	for _, x := range m.Inputs {
		in = append(in, x.Name)
	}
	for _, x := range m.Outputs {
		out = append(out, x.Name)
	}
	s, err := ort.NewDynamicAdvancedSession(m.ModelPath(), in, out, o)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	s.Destroy()
}

// ortGoEnv is onnxruntime_go's OrtEnv*, which it does not export: the only
// way to see that CreateEnv hands out the same environment.
//
//go:linkname ortGoEnv github.com/yalue/onnxruntime_go.ortEnv
var ortGoEnv unsafe.Pointer

// CreateEnv gives the environment onnxruntime_go made (ONNX Runtime's
// OrtEnv is a process singleton), and ReleaseEnv drops only the reference
// it took: calls after the first give it again, and onnxruntime_go still
// makes sessions afterwards.
func TestEnvIsOnnxruntimeGos(t *testing.T) {
	rt := testRuntime(t)
	api, err := ortAPI(rt.Library())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err := withEnv(api, func(env envHandle) error {
			if unsafe.Pointer(env) != ortGoEnv || env == nil {
				return fmt.Errorf("CreateEnv gave %p, onnxruntime_go has %p", env, ortGoEnv)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	checkSession(t, rt, nil)
}

// A destroyed or missing SessionOptions gives an error, not a crash.
func TestSessionOptionsHandle(t *testing.T) {
	testRuntime(t)
	o, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	if h, err := sessionOptionsHandle(o); err != nil || h == nil {
		t.Fatalf("live options: %v", err)
	}
	o.Destroy()
	if _, err := sessionOptionsHandle(o); err == nil {
		t.Error("destroyed options: no error")
	}
	if _, err := sessionOptionsHandle(nil); err == nil {
		t.Error("nil options: no error")
	}
	if err := appendEP(testRuntime(t).Library(), o, nil, nil); err == nil {
		t.Error("no devices: no error")
	}
}
