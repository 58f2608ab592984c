// Command velero-plugin-portkit-file is a Velero object-store plugin that keeps objects as files in a
// local directory: the shared "bucket" two local Velero servers use for the cluster-migration flow in
// portkit's tests (portkit.testing.LocalCluster(velero=True)). Not for production use.
//
// BackupStorageLocation: provider "portkit.io/file" with config.root, or provider "velero.io/fs" with
// config.fspath, the directory (absolute path); objectStorage.bucket any name. Under the name "velero.io/fs"
// the same directory also holds the Kopia repositories of Velero's file-system backups, which Velero's
// own "fs" repository back end writes there (node agents mount the directory at the same path). Objects live at <root>/<bucket>/<key>; writes are atomic (temp file + rename),
// so a second Velero server may read while the first writes. Signed URLs are not supported, so
// `velero backup logs` and `describe --details` cannot download from this store.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
)

const (
	pluginName   = "portkit.io/file"
	fsPluginName = "velero.io/fs"
)

func main() {
	framework.NewServer().
		RegisterObjectStore(pluginName, newFileStore).
		RegisterObjectStore(fsPluginName, newFileStore).
		Serve()
}

func newFileStore(logger logrus.FieldLogger) (any, error) {
	return &fileStore{log: logger}, nil
}

type fileStore struct {
	log  logrus.FieldLogger
	root string
}

// Init reads config["root"] (or config["fspath"]), the directory holding the buckets.
func (f *fileStore) Init(config map[string]string) error {
	root := config["root"]
	if root == "" {
		root = config["fspath"]
	}
	if root == "" {
		root = os.Getenv("PORTKIT_VELERO_STORE")
	}
	if root == "" || !filepath.IsAbs(root) {
		return fmt.Errorf("%s: config.root must be an absolute directory path, got %q", pluginName, root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("%s: cannot create root %s: %w", pluginName, root, err)
	}
	f.root = root
	return nil
}

func (f *fileStore) path(bucket, key string) (string, error) {
	if bucket == "" || strings.ContainsAny(bucket, "/\\") || bucket == "." || bucket == ".." {
		return "", fmt.Errorf("%s: invalid bucket name %q", pluginName, bucket)
	}
	clean := filepath.Clean("/" + key)
	if clean != "/"+strings.TrimSuffix(key, "/") && clean != "/"+key {
		return "", fmt.Errorf("%s: invalid object key %q", pluginName, key)
	}
	return filepath.Join(f.root, bucket, clean), nil
}

func (f *fileStore) PutObject(bucket, key string, body io.Reader) error {
	target, err := f.path(bucket, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".put-*")
	if err != nil {
		return err
	}
	_, copyErr := io.Copy(tmp, body)
	closeErr := tmp.Close()
	if err := errors.Join(copyErr, closeErr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), target)
}

func (f *fileStore) ObjectExists(bucket, key string) (bool, error) {
	target, err := f.path(bucket, key)
	if err != nil {
		return false, err
	}
	info, err := os.Stat(target)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !info.IsDir(), nil
}

func (f *fileStore) GetObject(bucket, key string) (io.ReadCloser, error) {
	target, err := f.path(bucket, key)
	if err != nil {
		return nil, err
	}
	return os.Open(target)
}

// keys lists every object key under the bucket that starts with prefix, sorted.
func (f *fileStore) keys(bucket, prefix string) ([]string, error) {
	base, err := f.path(bucket, "")
	if err != nil {
		return nil, err
	}
	var out []string
	err = filepath.WalkDir(base, func(p string, d os.DirEntry, walkErr error) error {
		if walkErr != nil {
			if errors.Is(walkErr, os.ErrNotExist) {
				return nil
			}
			return walkErr
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".put-") {
			return nil
		}
		rel, relErr := filepath.Rel(base, p)
		if relErr != nil {
			return relErr
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	sort.Strings(out)
	return out, err
}

func (f *fileStore) ListCommonPrefixes(bucket, prefix, delimiter string) ([]string, error) {
	keys, err := f.keys(bucket, prefix)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, key := range keys {
		rest := strings.TrimPrefix(key, prefix)
		i := strings.Index(rest, delimiter)
		if delimiter == "" || i < 0 {
			continue
		}
		common := prefix + rest[:i+len(delimiter)]
		if !seen[common] {
			seen[common] = true
			out = append(out, common)
		}
	}
	return out, nil
}

func (f *fileStore) ListObjects(bucket, prefix string) ([]string, error) {
	return f.keys(bucket, prefix)
}

func (f *fileStore) DeleteObject(bucket, key string) error {
	target, err := f.path(bucket, key)
	if err != nil {
		return err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// CreateSignedURL returns a URL of the read-only store server LocalCluster runs next to the store
// ($PORTKIT_VELERO_STORE_URL: http://127.0.0.1:PORT/TOKEN), so `velero backup logs` and `describe --details`
// work; without that server signed URLs are not supported.
func (f *fileStore) CreateSignedURL(bucket, key string, ttl time.Duration) (string, error) {
	base := os.Getenv("PORTKIT_VELERO_STORE_URL")
	if base == "" {
		return "", fmt.Errorf("%s: signed URLs need the local store server ($PORTKIT_VELERO_STORE_URL)", pluginName)
	}
	if _, err := f.path(bucket, key); err != nil {
		return "", err
	}
	parts := strings.Split(key, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(bucket) + "/" + strings.Join(parts, "/"), nil
}
