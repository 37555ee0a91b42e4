//go:build !unix

package store

import (
	"os"
	"path/filepath"
)

type dirReader struct{ dir string }

func newDirReader(dir string) (*dirReader, error) { return &dirReader{dir: dir}, nil }

func (r *dirReader) read(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(r.dir, name))
}

func (r *dirReader) close() {}
