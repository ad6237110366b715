package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestEveryTestedPackageVerifiesLeaks: a package with tests checks for leaked
// goroutines in its TestMain (goleak.VerifyTestMain), so a server, store,
// stream or loop a new package's tests forget to stop fails there too.
func TestEveryTestedPackageVerifiesLeaks(t *testing.T) {
	tested := map[string]bool{} // directory -> some test file calls goleak.VerifyTestMain
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			// The go tool ignores testdata and dot or underscore directories.
			if path != ".." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		tested[dir] = tested[dir] || strings.Contains(string(src), "goleak.VerifyTestMain(")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for dir, verifies := range tested {
		if !verifies {
			missing = append(missing, dir)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("packages whose TestMain does not call goleak.VerifyTestMain (add a main_test.go like assign's): %s", strings.Join(missing, ", "))
	}
	if len(tested) < 2 {
		t.Fatalf("found test files in %d directories: is the walk rooted at the module?", len(tested))
	}
}
