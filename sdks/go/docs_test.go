package pulsekit_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pulsekit "github.com/pulsekit/go"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheREADMEShowsTheQuickstartFileVerbatim(t *testing.T) {
	readme := readFile(t, "README.md")
	quickstart := readFile(t, filepath.Join("quickstart", "main.go"))
	if !strings.Contains(readme, "```go\n"+quickstart+"```") {
		t.Error("README.md's quickstart differs from quickstart/main.go: paste the file into README.md")
	}
}

func TestTheREADMEDocumentsEveryOption(t *testing.T) {
	readme := readFile(t, "README.md")
	options := reflect.TypeOf(pulsekit.Options{})
	for i := 0; i < options.NumField(); i++ {
		if name := options.Field(i).Name; !strings.Contains(readme, "| `"+name+"` |") {
			t.Errorf("README.md's options table lacks %s", name)
		}
	}
}
