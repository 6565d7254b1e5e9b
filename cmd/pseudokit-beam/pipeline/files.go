package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	// Local files; add the schemes your runner needs (gcs, s3) in main.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"

	"github.com/pseudokit/pseudokit/internal/table"
)

// isRemote reports whether p names a file through a scheme (gs://, s3://)
// rather than a local path.
func isRemote(p string) bool { return strings.Contains(p, "://") }

// join joins a directory and a slash-separated relative path, for local
// paths and URLs alike.
func join(dir, rel string) string {
	if isRemote(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + rel
	}
	return filepath.Join(dir, filepath.FromSlash(rel))
}

// GlobRoot returns the directory part of glob before its first wildcard
// (or glob itself, if it is a local directory): outputs keep the input's
// path below it.
func GlobRoot(glob string) string {
	if st, err := os.Stat(glob); err == nil && st.IsDir() && !isRemote(glob) {
		return filepath.Clean(glob)
	}
	i := strings.IndexAny(glob, "*?[")
	if i < 0 {
		return pathDir(glob)
	}
	return pathDir(glob[:i+1])
}

func pathDir(p string) string {
	if isRemote(p) {
		return p[:strings.LastIndex(p, "/")+1]
	}
	return filepath.Dir(p)
}

// relPath returns p relative to root, slash-separated; an error if p is not
// below root (it would be written outside the output directory).
func relPath(root, p string) (string, error) {
	if isRemote(p) {
		r := strings.TrimSuffix(root, "/") + "/"
		if !strings.HasPrefix(p, r) {
			return "", fmt.Errorf("%s is not under %s", p, root)
		}
		return p[len(r):], nil
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is not under %s", p, root)
	}
	return filepath.ToSlash(rel), nil
}

// stageIn returns a local path holding the file p: p itself when local,
// else a copy in a private temporary directory (Parquet needs random
// access), removed by the returned cleanup.
func stageIn(ctx context.Context, p string) (string, func(), error) {
	if !isRemote(p) {
		return p, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "pseudokit-beam-*")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	local := filepath.Join(dir, path.Base(p))
	if err := download(ctx, p, local); err != nil {
		cleanup()
		return "", nil, err
	}
	return local, cleanup, nil
}

func download(ctx context.Context, src, dst string) error {
	fs, err := filesystem.New(ctx, src)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, src)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stageOut returns a local path to write the output dst to, and a commit
// that puts it in place: for a local dst the path is dst itself (the core
// packages write there atomically), for a remote one a temporary file that
// commit uploads.
func stageOut(ctx context.Context, dst string) (local string, commit func() error, cleanup func(), err error) {
	if !isRemote(dst) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return "", nil, nil, err
		}
		return dst, func() error { return nil }, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "pseudokit-beam-*")
	if err != nil {
		return "", nil, nil, err
	}
	local = filepath.Join(dir, path.Base(dst))
	commit = func() error {
		f, err := os.Open(local)
		if err != nil {
			return err
		}
		defer f.Close()
		return upload(ctx, f, dst)
	}
	return local, commit, func() { os.RemoveAll(dir) }, nil
}

func upload(ctx context.Context, r io.Reader, dst string) error {
	fs, err := filesystem.New(ctx, dst)
	if err != nil {
		return err
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// readFile reads a whole (small) file, local or remote.
func readFile(ctx context.Context, p string) ([]byte, error) {
	if !isRemote(p) {
		return os.ReadFile(p)
	}
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	return filesystem.Read(ctx, fs, p)
}

// writeFile writes a whole (small) file, local (atomically, 0600) or
// remote.
func writeFile(ctx context.Context, p string, data []byte) error {
	if isRemote(p) {
		return upload(ctx, strings.NewReader(string(data)), p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// fileTask is one input file's work: the file staged for reading, and its
// output (same relative path under the output directory) staged for
// writing.
type fileTask struct {
	rel      string // path below the root, slash-separated
	in       string // local path to read
	outPath  string // where the output goes
	out      string // local path to write it to
	commit   func() error
	cleanups []func()
}

// newFileTask stages the input file p (below root) and its output under
// outDir. Close it when done.
func newFileTask(ctx context.Context, root, outDir, p string) (*fileTask, error) {
	t := &fileTask{}
	var err error
	if t.rel, err = relPath(root, p); err != nil {
		return nil, err
	}
	if _, err := table.FormatOf(p, ""); err != nil {
		return nil, err
	}
	in, cleanIn, err := stageIn(ctx, p)
	if err != nil {
		return nil, err
	}
	t.in, t.cleanups = in, append(t.cleanups, cleanIn)
	t.outPath = join(outDir, t.rel)
	out, commit, cleanOut, err := stageOut(ctx, t.outPath)
	if err != nil {
		t.close()
		return nil, err
	}
	t.out, t.commit, t.cleanups = out, commit, append(t.cleanups, cleanOut)
	return t, nil
}

func (t *fileTask) close() {
	for _, c := range t.cleanups {
		c()
	}
}
