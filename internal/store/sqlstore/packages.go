package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/packages"
	"github.com/openorch/openorch/internal/store"
)

// ---- packages

const packageColumns = `id, tenant_id, name, version, title, description, authors, release_notes, entry_point, arguments,
	sha256, size, is_latest, created_at`

func scanPackage(r interface{ Scan(...any) error }) (store.Package, error) {
	var p store.Package
	err := r.Scan(&p.ID, &p.TenantID, &p.Name, &p.Version, &p.Title, &p.Description, &p.Authors, &p.ReleaseNotes,
		&p.EntryPoint, &p.Arguments, &p.SHA256, &p.Size, &p.IsLatest, dbTime{&p.CreatedAt})
	return p, err
}

// packageEntity is UiPath's Processes entity set: ProcessDto's Id is the package's name,
// its Key "name:version".
var packageEntity = odata.Entity{Set: "Processes", Props: []odata.Prop{
	{Name: "Id", Column: "name_norm", Type: odata.String, Folded: true},
	{Name: "Key", Column: "(name_norm || ':' || version_norm)", Type: odata.String, Folded: true},
	{Name: "Version", Column: "version", Type: odata.String},
	{Name: "Title", Column: "title", Type: odata.String},
	{Name: "Description", Column: "description", Type: odata.String},
	{Name: "Authors", Column: "authors", Type: odata.String},
	{Name: "ReleaseNotes", Column: "release_notes", Type: odata.String},
	{Name: "Published", Column: "created_at", Type: odata.Time},
	{Name: "IsLatestVersion", Column: "is_latest", Type: odata.Bool},
	{Name: "MainEntryPointPath", Column: "entry_point", Type: odata.String},
	{Name: "ContentSha256", Column: "sha256", Type: odata.String},
	{Name: "Size", Column: "size", Type: odata.Int},
}}

// versionNorm is how versions are matched: normalized (1.0 is 1.0.0) and lower-cased.
func versionNorm(v string) string {
	if n, err := packages.NormalizeVersion(v); err == nil {
		v = n
	}
	return strings.ToLower(v)
}

// packageLock serialises the writes to one package's versions, which keep is_latest.
func packageLock(tenantID int64, name string) string {
	return "package:" + strconv.FormatInt(tenantID, 10) + ":" + norm(name)
}

func packageName(name, version string) string {
	if version == "" {
		return "package " + name
	}
	return "package " + name + " version " + version
}

// PackageAdd implements store.Store.
func (s *DB) PackageAdd(ctx context.Context, p store.PackageAddParams) (store.Package, error) {
	sum := sha256.Sum256(p.Content)
	hash := hex.EncodeToString(sum[:])
	var out store.Package
	err := s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.TenantGetByID(ctx, p.TenantID); err != nil {
			return err
		}
		if err := tx.Lock(ctx, packageLock(p.TenantID, p.Name)); err != nil {
			return err
		}
		if old, err := tx.PackageGet(ctx, p.TenantID, p.Name, p.Version); err == nil {
			return fmt.Errorf("%s already exists (uploaded %s); give the new one a higher version: %w",
				packageName(old.Name, old.Version), old.CreatedAt.Format("2006-01-02 15:04:05 UTC"), store.ErrConflict)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// A package keeps the spelling of its id that its first version had.
		var name string
		err := tx.w().QueryRowContext(ctx, `SELECT name FROM packages WHERE tenant_id = $1 AND name_norm = $2 ORDER BY id LIMIT 1`,
			p.TenantID, norm(p.Name)).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			name = p.Name
		} else if err != nil {
			return err
		}
		now := tx.timestamp()
		if _, err := tx.w().ExecContext(ctx,
			`INSERT INTO package_contents (tenant_id, sha256, size, content, created_at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (tenant_id, sha256) DO NOTHING`,
			p.TenantID, hash, len(p.Content), p.Content, tx.t(now)); err != nil {
			return err
		}
		var id int64
		err = tx.w().QueryRowContext(ctx,
			`INSERT INTO packages (tenant_id, name, name_norm, version, version_norm, title, description, authors, release_notes,
				entry_point, arguments, sha256, size, is_latest, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, FALSE, $14) RETURNING id`,
			p.TenantID, name, norm(name), p.Version, versionNorm(p.Version), p.Title, p.Description, p.Authors, p.ReleaseNotes,
			p.EntryPoint, p.Arguments, hash, len(p.Content), tx.t(now)).Scan(&id)
		if err = tx.classify(err, packageName(p.Name, p.Version)+" already exists"); err != nil {
			return err
		}
		if err := tx.recomputeLatest(ctx, p.TenantID, p.Name); err != nil {
			return err
		}
		out, err = scanPackage(tx.w().QueryRowContext(ctx, `SELECT `+packageColumns+` FROM packages WHERE tenant_id = $1 AND id = $2`,
			p.TenantID, id))
		return err
	})
	return out, err
}

// recomputeLatest marks the highest version of a package as its latest, and only it.
func (s *DB) recomputeLatest(ctx context.Context, tenantID int64, name string) error {
	rows, err := s.w().QueryContext(ctx, `SELECT id, version FROM packages WHERE tenant_id = $1 AND name_norm = $2`, tenantID, norm(name))
	type idVersion struct {
		id      int64
		version string
	}
	all, err := collect(rows, err, func(r *sql.Rows) (idVersion, error) {
		var x idVersion
		return x, r.Scan(&x.id, &x.version)
	})
	if err != nil || len(all) == 0 {
		return err
	}
	best := slices.MaxFunc(all, func(a, b idVersion) int { return packages.CompareVersions(a.version, b.version) })
	_, err = s.w().ExecContext(ctx,
		`UPDATE packages SET is_latest = (id = $3) WHERE tenant_id = $1 AND name_norm = $2 AND is_latest <> (id = $3)`,
		tenantID, norm(name), best.id)
	return err
}

// PackageGet implements store.Store.
func (s *DB) PackageGet(ctx context.Context, tenantID int64, name, version string) (store.Package, error) {
	p, err := scanPackage(s.r().QueryRowContext(ctx,
		`SELECT `+packageColumns+` FROM packages WHERE tenant_id = $1 AND name_norm = $2 AND version_norm = $3`,
		tenantID, norm(name), versionNorm(version)))
	return p, s.notFound(err, "%s", packageName(name, version))
}

// PackageGetLatest implements store.Store.
func (s *DB) PackageGetLatest(ctx context.Context, tenantID int64, name string) (store.Package, error) {
	p, err := scanPackage(s.r().QueryRowContext(ctx,
		`SELECT `+packageColumns+` FROM packages WHERE tenant_id = $1 AND name_norm = $2 AND is_latest = TRUE`, tenantID, norm(name)))
	return p, s.notFound(err, "%s", packageName(name, ""))
}

// PackageList implements store.Store.
func (s *DB) PackageList(ctx context.Context, tenantID int64, name string) ([]store.Package, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+packageColumns+` FROM packages WHERE tenant_id = $1 AND name_norm = $2`, tenantID, norm(name))
	out, err := collect(rows, err, func(r *sql.Rows) (store.Package, error) { return scanPackage(r) })
	slices.SortFunc(out, func(a, b store.Package) int { return packages.CompareVersions(b.Version, a.Version) })
	return out, err
}

// PackageSearch implements store.Store.
func (s *DB) PackageSearch(ctx context.Context, p store.SearchParams) ([]store.Package, int, error) {
	sc := searchScope{from: "packages", where: "tenant_id = $1 AND is_latest = TRUE", args: []any{p.TenantID}}
	return searchIn(ctx, s, sc, packageColumns, "", packageEntity, p,
		func(r *sql.Rows) (store.Package, error) { return scanPackage(r) })
}

// PackageVersionSearch implements store.Store.
func (s *DB) PackageVersionSearch(ctx context.Context, name string, p store.SearchParams) ([]store.Package, int, error) {
	sc := searchScope{from: "packages", where: "tenant_id = $1 AND name_norm = $2", args: []any{p.TenantID, norm(name)}}
	return searchIn(ctx, s, sc, packageColumns, "", packageEntity, p,
		func(r *sql.Rows) (store.Package, error) { return scanPackage(r) })
}

// PackageContent implements store.Store.
func (s *DB) PackageContent(ctx context.Context, tenantID int64, hash string) ([]byte, error) {
	var b []byte
	err := s.r().QueryRowContext(ctx, `SELECT content FROM package_contents WHERE tenant_id = $1 AND sha256 = $2`,
		tenantID, strings.ToLower(hash)).Scan(&b)
	return b, s.notFound(err, "package content %.12s…", hash)
}

// PackageDelete implements store.Store.
func (s *DB) PackageDelete(ctx context.Context, tenantID int64, name, version string) ([]store.Package, error) {
	var gone []store.Package
	err := s.inTx(ctx, func(tx *DB) error {
		if err := tx.Lock(ctx, packageLock(tenantID, name)); err != nil {
			return err
		}
		q := `SELECT ` + packageColumns + ` FROM packages WHERE tenant_id = $1 AND name_norm = $2`
		args := []any{tenantID, norm(name)}
		if version != "" {
			q += ` AND version_norm = $3`
			args = append(args, versionNorm(version))
		}
		rows, err := tx.w().QueryContext(ctx, q+` ORDER BY id`+tx.d.ForUpdate, args...)
		gone, err = collect(rows, err, func(r *sql.Rows) (store.Package, error) { return scanPackage(r) })
		if err != nil {
			return err
		}
		if len(gone) == 0 {
			return fmt.Errorf("%s: %w", packageName(name, version), store.ErrNotFound)
		}
		var users []string
		for _, p := range gone {
			rows, err := tx.w().QueryContext(ctx,
				`SELECT r.name, f.fqn FROM releases r JOIN folders f ON f.id = r.folder_id
				 WHERE r.tenant_id = $1 AND r.package_id = $2 ORDER BY f.fqn_norm, r.name_norm`, tenantID, p.ID)
			names, err := collect(rows, err, func(r *sql.Rows) (string, error) {
				var rel, folder string
				err := r.Scan(&rel, &folder)
				return fmt.Sprintf("%s (version %s, folder %s)", rel, p.Version, folder), err
			})
			if err != nil {
				return err
			}
			users = append(users, names...)
		}
		if len(users) > 0 {
			return fmt.Errorf("%s is run by the processes %s; move them to another version or delete them first: %w",
				packageName(gone[0].Name, version), strings.Join(users, ", "), store.ErrConflict)
		}
		// A job that has not ended still needs its version (a robot downloads it).
		for _, p := range gone {
			jobs, err := tx.unfinishedJobs(ctx, tenantID, "package_id = $2", p.ID)
			if err != nil {
				return err
			}
			if jobs != "" {
				return fmt.Errorf("%s is run by jobs that have not ended: %s; stop them (StopJobs) or wait for them to end: %w",
					packageName(p.Name, p.Version), jobs, store.ErrConflict)
			}
		}
		for _, p := range gone {
			if _, err := tx.w().ExecContext(ctx, `DELETE FROM packages WHERE tenant_id = $1 AND id = $2`, tenantID, p.ID); err != nil {
				return tx.classify(err, "")
			}
			if _, err := tx.w().ExecContext(ctx,
				`DELETE FROM package_contents WHERE tenant_id = $1 AND sha256 = $2
				 AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.tenant_id = $1 AND p.sha256 = $2)`, tenantID, p.SHA256); err != nil {
				return err
			}
		}
		return tx.recomputeLatest(ctx, tenantID, name)
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// ---- releases

// releaseFrom is a release with the package version it runs (p_* columns).
const releaseFrom = `(SELECT r.id, r.key, r.tenant_id, r.folder_id, r.name, r.name_norm, r.description, r.input_arguments,
		r.job_priority, r.max_run_time_seconds, r.created_at, r.updated_at,
		p.id AS p_id, p.name AS p_name, p.name_norm AS p_name_norm, p.version AS p_version, p.title AS p_title,
		p.description AS p_description, p.authors AS p_authors, p.release_notes AS p_release_notes,
		p.entry_point AS p_entry_point, p.arguments AS p_arguments, p.sha256 AS p_sha256, p.size AS p_size,
		p.is_latest AS p_is_latest, p.created_at AS p_created_at
	FROM releases r JOIN packages p ON p.tenant_id = r.tenant_id AND p.id = r.package_id) rv`

const releaseColumns = `id, key, tenant_id, folder_id, name, description, input_arguments, job_priority, max_run_time_seconds,
	created_at, updated_at, p_id, p_name, p_version, p_title, p_description, p_authors, p_release_notes, p_entry_point,
	p_arguments, p_sha256, p_size, p_is_latest, p_created_at`

func scanRelease(r interface{ Scan(...any) error }) (store.Release, error) {
	var x store.Release
	p := &x.Package
	err := r.Scan(&x.ID, &x.Key, &x.TenantID, &x.FolderID, &x.Name, &x.Description, &x.InputArguments, &x.JobPriority,
		&x.MaxRunTimeSeconds, dbTime{&x.CreatedAt}, dbTime{&x.UpdatedAt},
		&p.ID, &p.Name, &p.Version, &p.Title, &p.Description, &p.Authors, &p.ReleaseNotes, &p.EntryPoint,
		&p.Arguments, &p.SHA256, &p.Size, &p.IsLatest, dbTime{&p.CreatedAt})
	p.TenantID = x.TenantID
	x.PackageName, x.PackageVersion = p.Name, p.Version
	return x, err
}

// releaseEntity is UiPath's Releases entity set over releaseFrom.
var releaseEntity = odata.Entity{Set: "Releases", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "Key", Column: "key", Type: odata.Guid},
	{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
	{Name: "Description", Column: "description", Type: odata.String},
	{Name: "ProcessKey", Column: "p_name_norm", Type: odata.String, Folded: true},
	{Name: "ProcessVersion", Column: "p_version", Type: odata.String},
	{Name: "IsLatestVersion", Column: "p_is_latest", Type: odata.Bool},
	{Name: "EntryPointPath", Column: "p_entry_point", Type: odata.String},
	{Name: "JobPriority", Column: "job_priority", Type: odata.Enum, Enum: []string{store.PriorityLow, store.PriorityNormal, store.PriorityHigh}},
	{Name: "MaxRunTimeSeconds", Column: "max_run_time_seconds", Type: odata.Int},
	{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
	{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	{Name: "LastModificationTime", Column: "updated_at", Type: odata.Time},
}}

func releaseConflict(name string) string {
	return fmt.Sprintf("a process named %q already exists in this folder", name)
}

// checkRelease refuses values the schema would refuse, with messages that say why.
func checkRelease(r *store.Release) error {
	if strings.TrimSpace(r.Name) == "" {
		return fmt.Errorf("a process needs a name: %w", store.ErrInvalid)
	}
	if r.JobPriority == "" {
		r.JobPriority = store.PriorityNormal
	}
	if !slices.Contains([]string{store.PriorityLow, store.PriorityNormal, store.PriorityHigh}, r.JobPriority) {
		return fmt.Errorf("job priority %q is not Low, Normal or High: %w", r.JobPriority, store.ErrInvalid)
	}
	if r.MaxRunTimeSeconds < 0 {
		return fmt.Errorf("the maximum run time is %d seconds; it is 0 (no limit) or more: %w", r.MaxRunTimeSeconds, store.ErrInvalid)
	}
	return nil
}

// ReleaseCreate implements store.Store.
func (s *DB) ReleaseCreate(ctx context.Context, p store.ReleaseCreateParams) (store.Release, error) {
	var out store.Release
	err := s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.FolderGet(ctx, p.TenantID, p.FolderID); err != nil {
			return err
		}
		pkg, err := tx.PackageGet(ctx, p.TenantID, p.PackageName, p.PackageVersion)
		if err != nil {
			return err
		}
		r := store.Release{Name: p.Name, JobPriority: p.JobPriority, MaxRunTimeSeconds: p.MaxRunTimeSeconds}
		if err := checkRelease(&r); err != nil {
			return err
		}
		now := tx.timestamp()
		var id int64
		err = tx.w().QueryRowContext(ctx,
			`INSERT INTO releases (key, tenant_id, folder_id, name, name_norm, description, package_id, input_arguments,
				job_priority, max_run_time_seconds, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			newKey(), p.TenantID, p.FolderID, p.Name, norm(p.Name), p.Description, pkg.ID, p.InputArguments,
			r.JobPriority, r.MaxRunTimeSeconds, tx.t(now)).Scan(&id)
		if err = tx.classify(err, releaseConflict(p.Name)); err != nil {
			return err
		}
		if err := tx.addReleaseVersion(ctx, p.TenantID, id, pkg.Version); err != nil {
			return err
		}
		out, err = tx.ReleaseGet(ctx, p.TenantID, id)
		return err
	})
	return out, err
}

func (s *DB) addReleaseVersion(ctx context.Context, tenantID, releaseID int64, version string) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO release_versions (tenant_id, release_id, version, created_at) VALUES ($1, $2, $3, $4)`,
		tenantID, releaseID, version, s.t(s.timestamp()))
	return err
}

// ReleaseGet implements store.Store.
func (s *DB) ReleaseGet(ctx context.Context, tenantID, id int64) (store.Release, error) {
	r, err := scanRelease(s.r().QueryRowContext(ctx,
		`SELECT `+releaseColumns+` FROM `+releaseFrom+` WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return r, s.notFound(err, "process %d", id)
}

// ReleaseGetByKey implements store.Store.
func (s *DB) ReleaseGetByKey(ctx context.Context, tenantID int64, key string) (store.Release, error) {
	r, err := scanRelease(s.r().QueryRowContext(ctx,
		`SELECT `+releaseColumns+` FROM `+releaseFrom+` WHERE tenant_id = $1 AND key = $2`, tenantID, strings.ToLower(key)))
	return r, s.notFound(err, "process with Key %s", key)
}

// ReleaseGetByName implements store.Store.
func (s *DB) ReleaseGetByName(ctx context.Context, tenantID, folderID int64, name string) (store.Release, error) {
	r, err := scanRelease(s.r().QueryRowContext(ctx,
		`SELECT `+releaseColumns+` FROM `+releaseFrom+` WHERE tenant_id = $1 AND folder_id = $2 AND name_norm = $3`,
		tenantID, folderID, norm(name)))
	return r, s.notFound(err, "process %q", name)
}

// ReleaseSearch implements store.Store.
func (s *DB) ReleaseSearch(ctx context.Context, p store.SearchParams) ([]store.Release, int, error) {
	sc := searchScope{from: releaseFrom, where: "tenant_id = $1", args: []any{p.TenantID}}
	return searchIn(ctx, s, sc, releaseColumns, "folder_id", releaseEntity, p,
		func(r *sql.Rows) (store.Release, error) { return scanRelease(r) })
}

// lockRelease reads a release for a read-modify-write, locking its row.
func (s *DB) lockRelease(ctx context.Context, tenantID, id int64) (store.Release, error) {
	var locked int64
	err := s.w().QueryRowContext(ctx, `SELECT id FROM releases WHERE tenant_id = $1 AND id = $2`+s.d.ForUpdate, tenantID, id).Scan(&locked)
	if err = s.notFound(err, "process %d", id); err != nil {
		return store.Release{}, err
	}
	return s.ReleaseGet(ctx, tenantID, id)
}

// writeRelease stores the changeable fields of nw, running package version pkgID.
func (s *DB) writeRelease(ctx context.Context, old, nw store.Release, pkgID int64) error {
	if err := checkRelease(&nw); err != nil {
		return err
	}
	res, err := s.w().ExecContext(ctx,
		`UPDATE releases SET name = $3, name_norm = $4, description = $5, package_id = $6, input_arguments = $7,
			job_priority = $8, max_run_time_seconds = $9, updated_at = $10
		 WHERE tenant_id = $1 AND id = $2`,
		old.TenantID, old.ID, nw.Name, norm(nw.Name), nw.Description, pkgID, nw.InputArguments, nw.JobPriority, nw.MaxRunTimeSeconds,
		s.t(s.timestamp()))
	if err := s.affected(res, s.classify(err, releaseConflict(nw.Name)), "process %d", old.ID); err != nil {
		return err
	}
	if nw.Name == old.Name {
		return nil
	}
	// Jobs filter by their release's name (Release/Name) on their own copy of it.
	_, err = s.w().ExecContext(ctx, `UPDATE jobs SET release_name = $3, release_name_norm = $4 WHERE tenant_id = $1 AND release_id = $2`,
		old.TenantID, old.ID, nw.Name, norm(nw.Name))
	return err
}

// ReleaseUpdate implements store.Store.
func (s *DB) ReleaseUpdate(ctx context.Context, tenantID, id int64, fn func(store.Release) (store.Release, error)) (store.Release, error) {
	var out store.Release
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := tx.lockRelease(ctx, tenantID, id)
		if err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if !strings.EqualFold(nw.PackageName, old.PackageName) {
			return fmt.Errorf("process %q runs package %s, and a process runs one package: create another process for %s: %w",
				old.Name, old.PackageName, nw.PackageName, store.ErrInvalid)
		}
		pkgID := old.Package.ID
		if versionNorm(nw.PackageVersion) != versionNorm(old.PackageVersion) {
			pkg, err := tx.PackageGet(ctx, tenantID, old.PackageName, nw.PackageVersion)
			if err != nil {
				return err
			}
			pkgID = pkg.ID
			if err := tx.addReleaseVersion(ctx, tenantID, id, pkg.Version); err != nil {
				return err
			}
		}
		if err := tx.writeRelease(ctx, old, nw, pkgID); err != nil {
			return err
		}
		out, err = tx.ReleaseGet(ctx, tenantID, id)
		return err
	})
	return out, err
}

// ReleaseRollback implements store.Store.
func (s *DB) ReleaseRollback(ctx context.Context, tenantID, id int64, fn func(store.Release) (store.Release, error)) (store.Release, error) {
	var out store.Release
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := tx.lockRelease(ctx, tenantID, id)
		if err != nil {
			return err
		}
		hist, err := tx.ReleaseVersions(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if len(hist) < 2 {
			return fmt.Errorf("process %q has run only version %s of package %s: there is no earlier version to roll back to: %w",
				old.Name, old.PackageVersion, old.PackageName, store.ErrInvalid)
		}
		prev := hist[len(hist)-2]
		pkg, err := tx.PackageGet(ctx, tenantID, old.PackageName, prev.Version)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("version %s of package %s, which process %q ran before %s, has been deleted; choose a version with UpdateToSpecificPackageVersion: %w",
				prev.Version, old.PackageName, old.Name, old.PackageVersion, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if _, err := tx.w().ExecContext(ctx, `DELETE FROM release_versions WHERE tenant_id = $1 AND id = $2`, tenantID, hist[len(hist)-1].ID); err != nil {
			return err
		}
		mid := old
		mid.PackageVersion, mid.Package = pkg.Version, pkg
		nw := mid
		if fn != nil {
			if nw, err = fn(mid); err != nil {
				return err
			}
		}
		if err := tx.writeRelease(ctx, old, nw, pkg.ID); err != nil {
			return err
		}
		out, err = tx.ReleaseGet(ctx, tenantID, id)
		return err
	})
	return out, err
}

// ReleaseVersions implements store.Store.
func (s *DB) ReleaseVersions(ctx context.Context, tenantID, id int64) ([]store.ReleaseVersion, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT id, release_id, version, created_at FROM release_versions WHERE tenant_id = $1 AND release_id = $2 ORDER BY id`,
		tenantID, id)
	out, err := collect(rows, err, func(r *sql.Rows) (store.ReleaseVersion, error) {
		var v store.ReleaseVersion
		return v, r.Scan(&v.ID, &v.ReleaseID, &v.Version, dbTime{&v.CreatedAt})
	})
	if err == nil && len(out) == 0 {
		if _, err := s.ReleaseGet(ctx, tenantID, id); err != nil {
			return nil, err
		}
	}
	return out, err
}

// ReleaseDelete implements store.Store; the release's version history goes with it, and its
// jobs, all ended, stay without it. The row lock orders it against a concurrent JobCreate:
// whichever comes second sees the other's outcome.
func (s *DB) ReleaseDelete(ctx context.Context, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		r, err := tx.lockRelease(ctx, tenantID, id)
		if err != nil {
			return err
		}
		jobs, err := tx.unfinishedJobs(ctx, tenantID, "release_id = $2", id)
		if err != nil {
			return err
		}
		if jobs != "" {
			return fmt.Errorf("process %q has jobs that have not ended: %s; stop them (StopJobs) or wait for them to end, then delete the process: %w",
				r.Name, jobs, store.ErrConflict)
		}
		res, err := tx.w().ExecContext(ctx, `DELETE FROM releases WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return tx.affected(res, err, "process %d", id)
	})
}
