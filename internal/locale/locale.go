// Package locale gives Fyne a locale it can parse before Fyne's own package
// initialisation reads it.
//
// Fyne's lang package parses the user's locale when it is initialised and
// logs an error for "C", "POSIX" and "C.UTF-8", the usual values on servers,
// in containers and in CI. Every run of the command line would print that
// error. The main package imports this package for its side effect; it has
// no imports beyond the standard library, so by the Go specification's
// initialisation order (packages in import-path order, each as soon as its
// own imports are done) it is initialised before fyne.io/fyne/v2/lang, which
// waits for golang.org/x/text. TestNoLocaleNoise in cmd/polyseg checks that
// this still holds.
package locale

import (
	"os"
	"strings"
)

func init() {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		if !isPlain(v) {
			return // the first set variable decides, as in setlocale(3)
		}
		os.Setenv(k, "en_US.UTF-8")
	}
	if os.Getenv("LANG") == "" && os.Getenv("LC_ALL") == "" && os.Getenv("LC_MESSAGES") == "" {
		os.Setenv("LANG", "en_US.UTF-8")
	}
}

// isPlain reports whether v names the C/POSIX locale, which carries no
// language for Fyne to use.
func isPlain(v string) bool {
	base, _, _ := strings.Cut(v, ".")
	return base == "C" || base == "POSIX"
}
