//go:build cgo && !nojpeg2000

package volume

// JPEG 2000 pixel data (transfer syntaxes 1.2.840.10008.1.2.4.90/91 and
// HTJ2K .201-.203) is decoded with OpenJPEG, the decoder dcm2niix and
// pydicom's pylibjpeg-openjpeg use; no pure-Go JPEG 2000 decoder is served
// by the module proxy here. It needs cgo and the libopenjp2-7-dev package
// (Debian); without cgo, or with the build tag nojpeg2000 where the library
// is missing, dicom_j2k_nocgo.go reports such series as unsupported.
//
// OpenJPEG is C: a crash on hostile input cannot be recovered from. It is
// fuzzed upstream (OSS-Fuzz); here the image size in the codestream header
// is checked against the DICOM Rows/Columns before anything is decoded, so
// a hostile header cannot make it allocate more than the slice.

/*
#cgo pkg-config: libopenjp2
#include <openjpeg.h>
#include <stdint.h>
#include <string.h>

typedef struct {
	const unsigned char *data;
	OPJ_SIZE_T len;
	OPJ_SIZE_T pos;
} polyseg_memstream;

static OPJ_SIZE_T polyseg_read(void *buf, OPJ_SIZE_T n, void *ud) {
	polyseg_memstream *m = ud;
	if (m->pos >= m->len) return (OPJ_SIZE_T)-1;
	OPJ_SIZE_T r = m->len - m->pos;
	if (r > n) r = n;
	memcpy(buf, m->data + m->pos, r);
	m->pos += r;
	return r;
}

static OPJ_OFF_T polyseg_skip(OPJ_OFF_T n, void *ud) {
	polyseg_memstream *m = ud;
	if (n < 0) {
		if ((OPJ_OFF_T)m->pos < -n) n = -(OPJ_OFF_T)m->pos;
	} else if ((OPJ_SIZE_T)n > m->len - m->pos) {
		n = (OPJ_OFF_T)(m->len - m->pos);
	}
	m->pos += n;
	return n;
}

static OPJ_BOOL polyseg_seek(OPJ_OFF_T n, void *ud) {
	polyseg_memstream *m = ud;
	if (n < 0 || (OPJ_SIZE_T)n > m->len) return OPJ_FALSE;
	m->pos = (OPJ_SIZE_T)n;
	return OPJ_TRUE;
}

typedef struct { char msg[256]; } polyseg_err;

static void polyseg_on_error(const char *msg, void *ud) {
	polyseg_err *e = ud;
	if (e->msg[0] == 0) {
		strncpy(e->msg, msg, sizeof e->msg - 1);
		size_t n = strlen(e->msg);
		while (n > 0 && (e->msg[n-1] == '\n' || e->msg[n-1] == ' ')) e->msg[--n] = 0;
	}
}

static void polyseg_quiet(const char *msg, void *ud) { (void)msg; (void)ud; }

// polyseg_j2k_decode decodes a one-component codestream of exactly w x h
// samples into out. It returns 0 on success and fills e otherwise.
static int polyseg_j2k_decode(const unsigned char *data, size_t len, int jp2,
		OPJ_UINT32 w, OPJ_UINT32 h, OPJ_INT32 *out, int *sgnd, int *prec, polyseg_err *e) {
	polyseg_memstream m = {data, len, 0};
	int rc = -1;
	opj_image_t *img = NULL;
	opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	if (!codec) { strcpy(e->msg, "cannot create the decoder"); return -1; }
	opj_set_error_handler(codec, polyseg_on_error, e);
	opj_set_warning_handler(codec, polyseg_quiet, NULL);
	opj_set_info_handler(codec, polyseg_quiet, NULL);
	opj_dparameters_t p;
	opj_set_default_decoder_parameters(&p);
	opj_stream_t *s = opj_stream_create(len < 65536 ? len + 1 : 65536, OPJ_TRUE);
	if (!s) { strcpy(e->msg, "cannot create a stream"); opj_destroy_codec(codec); return -1; }
	opj_stream_set_user_data(s, &m, NULL);
	opj_stream_set_user_data_length(s, len);
	opj_stream_set_read_function(s, polyseg_read);
	opj_stream_set_skip_function(s, polyseg_skip);
	opj_stream_set_seek_function(s, polyseg_seek);
	if (!opj_setup_decoder(codec, &p) || !opj_read_header(s, codec, &img)) goto done;
	if (img->numcomps != 1) {
		snprintf(e->msg, sizeof e->msg, "%u components, expected 1", img->numcomps);
		goto done;
	}
	if (img->x1 - img->x0 != w || img->y1 - img->y0 != h) {
		snprintf(e->msg, sizeof e->msg, "codestream is %ux%u, DICOM header says %ux%u",
			img->x1 - img->x0, img->y1 - img->y0, w, h);
		goto done;
	}
	if (!opj_decode(codec, s, img) || !opj_end_decompress(codec, s)) goto done;
	opj_image_comp_t *c = &img->comps[0];
	if (c->w != w || c->h != h || c->data == NULL) {
		snprintf(e->msg, sizeof e->msg, "decoded component is %ux%u, expected %ux%u", c->w, c->h, w, h);
		goto done;
	}
	memcpy(out, c->data, (size_t)w * h * sizeof(OPJ_INT32));
	*sgnd = (int)c->sgnd;
	*prec = (int)c->prec;
	rc = 0;
done:
	if (rc != 0 && e->msg[0] == 0) strcpy(e->msg, "cannot decode the codestream");
	if (img) opj_image_destroy(img);
	opj_stream_destroy(s);
	opj_destroy_codec(codec);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// jpeg2000Supported tells whether this build decodes JPEG 2000.
const jpeg2000Supported = true

// decodeJPEG2000 decodes one frame's codestream into dst in HU.
func decodeJPEG2000(stream []byte, f *dicomFile, dst []float32) error {
	// A JP2 file starts with its signature box; DICOM normally holds a bare
	// codestream (SOC marker FF 4F).
	jp2 := C.int(0)
	if len(stream) >= 12 && string(stream[4:8]) == "jP  " {
		jp2 = 1
	}
	out := make([]int32, f.rows*f.cols)
	var sgnd, prec C.int
	var e C.polyseg_err
	rc := C.polyseg_j2k_decode((*C.uchar)(unsafe.Pointer(&stream[0])), C.size_t(len(stream)), jp2,
		C.OPJ_UINT32(f.cols), C.OPJ_UINT32(f.rows), (*C.OPJ_INT32)(unsafe.Pointer(&out[0])), &sgnd, &prec, &e)
	if rc != 0 {
		return fmt.Errorf("JPEG 2000: %s", C.GoString(&e.msg[0]))
	}
	if prec < 1 || prec > 32 {
		return errors.New("JPEG 2000: invalid sample precision")
	}
	conv := sampleConverter{slope: f.slope, intercept: f.intercept}
	// Some encoders mark a codestream unsigned although PixelRepresentation
	// says two's complement; the DICOM header wins, as in dcm2niix.
	if sgnd == 0 && f.pixelRep == 1 && prec < 32 {
		shift := 32 - uint(prec)
		for i, v := range out {
			dst[i] = conv.apply(float64(v << shift >> shift))
		}
		return nil
	}
	for i, v := range out {
		dst[i] = conv.apply(float64(v))
	}
	return nil
}
