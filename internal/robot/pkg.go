package robot

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/packages"
)

// jobFailure is why a job failed before or around its process: what the report says.
type jobFailure struct {
	code, title, detail string
}

func (f *jobFailure) Error() string { return f.title }

func fail(code, format string, args ...any) *jobFailure {
	return &jobFailure{code: code, title: fmt.Sprintf(format, args...)}
}

// pkgLock is the lock of one package version in the cache.
func (r *Robot) pkgLock(sha string) *sync.Mutex {
	r.pkgMu.Lock()
	defer r.pkgMu.Unlock()
	m := r.pkgLocks[sha]
	if m == nil {
		m = &sync.Mutex{}
		r.pkgLocks[sha] = m
	}
	return m
}

// fetchPackage returns the path of the job's package in the cache, downloading it the
// first time and verifying its SHA-256 either way.
func (r *Robot) fetchPackage(ctx context.Context, a JobAssignment) (string, error) {
	sha := strings.ToLower(a.PackageSha256)
	if b, err := hex.DecodeString(sha); err != nil || len(b) != sha256.Size {
		return "", fail(CodePackageInvalid, "the job's packageSha256 %q is not a SHA-256 in hex", a.PackageSha256)
	}
	if a.PackageSize > r.cfg.MaxPackageSize {
		return "", fail(CodePackageInvalid, "package %s %s is %s; this robot takes packages up to %s",
			a.PackageID, a.PackageVersion, packages.Size(a.PackageSize), packages.Size(r.cfg.MaxPackageSize))
	}
	l := r.pkgLock(sha)
	l.Lock()
	defer l.Unlock()
	file := filepath.Join(r.packagesDir(), sha+".nupkg")
	if got, err := hashFile(file); err == nil {
		if got == sha {
			return file, nil
		}
		r.log.Warn("a cached package does not match its hash: downloading it again", "file", file)
		os.Remove(file)
	}

	b := backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			sleep(ctx, b.next())
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		err := r.download(ctx, a, sha, file)
		if err == nil {
			r.log.Info("package downloaded", "package", a.PackageID, "version", a.PackageVersion, "sha256", sha)
			return file, nil
		}
		var jf *jobFailure
		if errors.As(err, &jf) || !isUnavailable(err) {
			return "", err
		}
		lastErr = err
	}
	return "", fail(CodePackageDownload, "package %s %s could not be downloaded: %s", a.PackageID, a.PackageVersion, errText(lastErr))
}

// download fetches the job's package into file, verifying size and hash.
func (r *Robot) download(ctx context.Context, a JobAssignment, sha, file string) error {
	tmp, err := os.CreateTemp(r.packagesDir(), ".download-*")
	if err != nil {
		return fail(CodePackageDownload, "cannot store the package: %v", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	lw := &limitWriter{w: io.MultiWriter(tmp, h), left: r.cfg.MaxPackageSize}
	_, err = r.call(ctx, http.MethodGet, "api/robot/package?jobKey="+url.QueryEscape(a.JobKey), nil, lw, 10*time.Minute)
	if lw.over {
		return fail(CodePackageInvalid, "package %s %s is larger than %s, the most this robot takes", a.PackageID, a.PackageVersion, packages.Size(r.cfg.MaxPackageSize))
	}
	if err != nil {
		if isUnavailable(err) || ctx.Err() != nil {
			return err
		}
		return fail(CodePackageDownload, "the server refused the package of the job: %s", errText(err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fail(CodePackageInvalid, "package %s %s did not verify: its SHA-256 is %s, the job says %s", a.PackageID, a.PackageVersion, got, sha)
	}
	if err := tmp.Close(); err != nil {
		return fail(CodePackageDownload, "cannot store the package: %v", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fail(CodePackageDownload, "cannot store the package: %v", err)
	}
	return nil
}

type limitWriter struct {
	w    io.Writer
	left int64
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.over = true
		return 0, errors.New("package too large")
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unpack extracts the package at file into dir, which must not exist. Entries with
// absolute paths or .. segments, links and anything but files and directories, and a
// total over limit are refused with a *jobFailure naming the entry.
func unpack(file, dir string, limit int64) error {
	zr, err := zip.OpenReader(file)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fail(CodePackageInvalid, "the package is not a readable zip archive: %v", err)
	}
	defer zr.Close()
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fail(CodeStartFailed, "cannot create the job's directory: %v", err)
	}
	var declared uint64
	budget := limit
	for _, f := range zr.File {
		name, err := safeName(f.Name)
		if err != nil {
			return err
		}
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 {
			return fail(CodePackageInvalid, "package entry %q is a symbolic link; a package may hold only files and directories", f.Name)
		}
		if mode&(fs.ModeType&^fs.ModeDir) != 0 {
			return fail(CodePackageInvalid, "package entry %q is not a file or a directory", f.Name)
		}
		declared += f.UncompressedSize64
		if declared > uint64(limit) {
			return fail(CodePackageInvalid, "unpacked, the package comes to more than %s (by entry %q); the limit is %s", packages.Size(limit), f.Name, packages.Size(limit))
		}
		if name == "." {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if mode.IsDir() || strings.HasSuffix(f.Name, "/") {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return fail(CodePackageInvalid, "cannot unpack entry %q: %v", f.Name, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return fail(CodePackageInvalid, "cannot unpack entry %q: %v", f.Name, err)
		}
		n, err := unpackFile(f, target, budget, limit)
		if err != nil {
			return err
		}
		budget -= n
	}
	return nil
}

func unpackFile(f *zip.File, target string, budget, limit int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fail(CodePackageInvalid, "package entry %q cannot be read: %v", f.Name, err)
	}
	defer rc.Close()
	perm := os.FileMode(0o600)
	if f.Mode()&0o111 != 0 {
		perm = 0o700
	}
	// O_EXCL: a duplicate entry, or one that would write through something unpacked
	// before it, is refused rather than followed.
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, fail(CodePackageInvalid, "cannot unpack entry %q: %v", f.Name, err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if n > budget {
		return n, fail(CodePackageInvalid, "unpacked, the package comes to more than %s (by entry %q); the limit is %s", packages.Size(limit), f.Name, packages.Size(limit))
	}
	if err != nil {
		return n, fail(CodePackageInvalid, "package entry %q is damaged: %v", f.Name, err)
	}
	return n, nil
}

// safeName checks an entry's name: a relative path that stays inside the package.
func safeName(raw string) (string, error) {
	if raw == "" || strings.ContainsRune(raw, 0) {
		return "", fail(CodePackageInvalid, "the package has an entry with an empty or invalid name")
	}
	name := strings.ReplaceAll(raw, `\`, "/")
	if strings.HasPrefix(name, "/") || len(name) >= 2 && name[1] == ':' {
		return "", fail(CodePackageInvalid, "package entry %q is an absolute path; entries must be paths inside the package", raw)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", fail(CodePackageInvalid, "package entry %q leads out of the package (..); entries must be paths inside the package", raw)
		}
	}
	return path.Clean(name), nil
}
