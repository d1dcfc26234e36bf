package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// ---- jobs

const jobColumns = `id, key, tenant_id, folder_id, release_id, release_name, package_id, package_name, package_version,
	entry_point, state, priority, input_arguments, output_arguments, info, source, reference, batch_key, stop_strategy,
	max_run_time_seconds, host_machine_name, error_code, error_title, error_detail, error_at, created_at, updated_at,
	start_time, end_time, robot_id, robot_ids`

func scanJob(r interface{ Scan(...any) error }) (store.Job, error) {
	var (
		j       store.Job
		state   string
		errCode string
		errT    string
		errD    string
		errAt   *time.Time
		robots  string
	)
	err := r.Scan(&j.ID, &j.Key, &j.TenantID, &j.FolderID, dbID{&j.ReleaseID}, &j.ReleaseName, dbID{&j.PackageID},
		&j.PackageName, &j.PackageVersion, &j.EntryPoint, &state, &j.Priority, &j.InputArguments, &j.OutputArguments,
		&j.Info, &j.Source, &j.Reference, &j.BatchKey, &j.StopStrategy, &j.MaxRunTimeSeconds, &j.HostMachineName,
		&errCode, &errT, &errD, dbNullTime{&errAt}, dbTime{&j.CreatedAt}, dbTime{&j.UpdatedAt}, dbNullTime{&j.StartTime},
		dbNullTime{&j.EndTime}, dbID{&j.RobotID}, &robots)
	j.RobotIDs = parseRobotIDs(robots)
	j.State = store.JobState(state)
	if errCode != "" || errT != "" || errD != "" {
		j.Error = &store.JobError{Code: errCode, Title: errT, Detail: errD}
		if errAt != nil {
			j.Error.At = *errAt
		}
	}
	return j, err
}

// jobEntity is the OData view of the Jobs entity set. Release/Name and ReleaseName read
// the job's copy of its release's name, kept current (see writeRelease), so that the
// filter uses the jobs_list index instead of a join.
var jobEntity = odata.Entity{Set: "Jobs", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "Key", Column: "key", Type: odata.Guid},
	{Name: "State", Column: "state", Type: odata.Enum, Enum: enumNames(store.JobStates)},
	{Name: "JobPriority", Column: "priority", Type: odata.Enum, Enum: []string{store.PriorityLow, store.PriorityNormal, store.PriorityHigh}},
	{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	{Name: "LastModificationTime", Column: "updated_at", Type: odata.Time},
	{Name: "StartTime", Column: "start_time", Type: odata.Time},
	{Name: "EndTime", Column: "end_time", Type: odata.Time},
	{Name: "ReleaseName", Column: "release_name_norm", Type: odata.String, Folded: true},
	{Name: "Release/Name", Column: "release_name_norm", Type: odata.String, Folded: true},
	{Name: "Release/Id", Column: "release_id", Type: odata.Int},
	{Name: "ProcessKey", Column: "package_name", Type: odata.String},
	{Name: "ProcessVersion", Column: "package_version", Type: odata.String},
	{Name: "Source", Column: "source", Type: odata.String},
	{Name: "SourceType", Column: "source", Type: odata.String},
	{Name: "Reference", Column: "reference", Type: odata.String},
	{Name: "BatchExecutionKey", Column: "batch_key", Type: odata.Guid},
	{Name: "HostMachineName", Column: "host_machine_name", Type: odata.String},
	{Name: "Info", Column: "info", Type: odata.String, NoSort: true},
	{Name: "StopStrategy", Column: "NULLIF(stop_strategy, '')", Type: odata.Enum, Enum: []string{"", store.StopSoft, store.StopKill}},
	{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
}}

// jobInsertRows is how many jobs one INSERT of JobCreate writes.
const jobInsertRows = 50

// JobCreate implements store.Store.
func (s *DB) JobCreate(ctx context.Context, p store.JobCreateParams) ([]store.Job, error) {
	r := p.Release
	if p.Count < 1 || p.Count > store.JobCreateMax {
		return nil, fmt.Errorf("a start makes from 1 to %d jobs, not %d: %w", store.JobCreateMax, p.Count, store.ErrInvalid)
	}
	if r.ID == 0 || r.Package.ID == 0 {
		return nil, fmt.Errorf("jobs need a release read with its package: %w", store.ErrInvalid)
	}
	priority := p.Priority
	if priority == "" {
		priority = r.JobPriority
	}
	source := p.Source
	if source == "" {
		source = store.JobSourceDefault
	}
	var out []store.Job
	err := s.inTx(ctx, func(tx *DB) error {
		at := tx.jobTime(p.Now)
		now := tx.t(at)
		batch := newKey()
		// A statement inserts up to jobInsertRows jobs: a start of 1,000 jobs is 10 round
		// trips rather than 1,000. (Binding cost grows faster than the rows on SQLite's
		// driver beyond a few thousand parameters, so the statements stay small.)
		const cols = 20
		var keys []string
		byKey := make(map[string]int64, p.Count)
		for done := 0; done < p.Count; {
			n := min(p.Count-done, jobInsertRows)
			var q strings.Builder
			q.WriteString(`INSERT INTO jobs (key, tenant_id, folder_id, release_id, release_name, release_name_norm, package_id,
				package_name, package_version, entry_point, state, priority, input_arguments, info, source, reference, batch_key,
				max_run_time_seconds, robot_ids, created_at, updated_at) VALUES `)
			args := make([]any, 0, cols*n)
			for i := range n {
				if i > 0 {
					q.WriteString(", ")
				}
				first := len(args)
				q.WriteString("(")
				for c := 1; c <= cols; c++ {
					fmt.Fprintf(&q, "$%d, ", first+c)
				}
				fmt.Fprintf(&q, "$%d)", first+cols) // updated_at = created_at
				keys = append(keys, newKey())
				args = append(args, keys[len(keys)-1], p.TenantID, r.FolderID, r.ID, r.Name, norm(r.Name), r.Package.ID, r.PackageName,
					r.PackageVersion, r.Package.EntryPoint, string(store.JobPending), priority, p.InputArguments, p.Info, source,
					p.Reference, batch, r.MaxRunTimeSeconds, robotIDsText(p.RobotIDs), now)
			}
			// RETURNING's order is not promised: each id comes with its key.
			q.WriteString(" RETURNING id, key")
			rows, err := tx.w().QueryContext(ctx, q.String(), args...)
			got, err := collect(rows, err, func(r *sql.Rows) (int64, error) {
				var id int64
				var key string
				err := r.Scan(&id, &key)
				byKey[key] = id
				return id, err
			})
			if tx.d.IsForeignKey(err) {
				return fmt.Errorf("process %q (or the version %s of package %s it runs) no longer exists: %w", r.Name,
					r.PackageVersion, r.PackageName, store.ErrNotFound)
			}
			if err = tx.classify(err, ""); err != nil {
				return err
			}
			if len(got) != n {
				return fmt.Errorf("sqlstore: %d jobs inserted, want %d", len(got), n)
			}
			done += n
		}
		if len(byKey) != p.Count {
			return fmt.Errorf("sqlstore: %d jobs inserted, want %d", len(byKey), p.Count)
		}
		// The jobs are what was inserted: no need to read them back.
		for _, key := range keys {
			out = append(out, store.Job{ID: byKey[key], Key: key, TenantID: p.TenantID, FolderID: r.FolderID, ReleaseID: r.ID,
				ReleaseName: r.Name, PackageID: r.Package.ID, PackageName: r.PackageName, PackageVersion: r.PackageVersion,
				EntryPoint: r.Package.EntryPoint, State: store.JobPending, Priority: priority, InputArguments: p.InputArguments,
				Info: p.Info, Source: source, Reference: p.Reference, BatchKey: batch, MaxRunTimeSeconds: r.MaxRunTimeSeconds,
				RobotIDs: p.RobotIDs, CreatedAt: at, UpdatedAt: at})
		}
		return tx.notifyRobots(ctx, p.TenantID)
	})
	return out, err
}

// JobGet implements store.Store.
func (s *DB) JobGet(ctx context.Context, tenantID, id int64) (store.Job, error) {
	j, err := scanJob(s.r().QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return j, s.notFound(err, "job %d", id)
}

// JobGetByKey implements store.Store.
func (s *DB) JobGetByKey(ctx context.Context, tenantID int64, key string) (store.Job, error) {
	j, err := scanJob(s.r().QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND key = $2`,
		tenantID, strings.ToLower(strings.TrimSpace(key))))
	return j, s.notFound(err, "job with Key %s", key)
}

// JobSearch implements store.Store.
func (s *DB) JobSearch(ctx context.Context, p store.SearchParams) ([]store.Job, int, error) {
	return search(ctx, s, "jobs", jobColumns, "folder_id", jobEntity, p,
		func(r *sql.Rows) (store.Job, error) { return scanJob(r) })
}

// JobTransition implements store.Store.
func (s *DB) JobTransition(ctx context.Context, p store.JobTransitionParams) (store.Job, error) {
	var out store.Job
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanJob(tx.w().QueryRowContext(ctx,
			`SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate, p.TenantID, p.JobID))
		if err = tx.notFound(err, "job %d", p.JobID); err != nil {
			return err
		}
		to, err := store.JobNext(old.State, p.Event)
		if err != nil {
			se := err.(*store.JobStateError)
			se.Job = old
			return se
		}
		now := tx.jobTime(p.Now)
		j := old
		j.State = to
		switch {
		case to == store.JobRunning && j.StartTime == nil:
			j.StartTime = &now
		case to.Final():
			j.EndTime = &now
		}
		switch p.Event {
		case store.JobEventKill:
			j.StopStrategy = store.StopKill
		case store.JobEventSoftStop:
			if j.StopStrategy == "" {
				j.StopStrategy = store.StopSoft
			}
		}
		if p.Change != nil {
			changed, err := p.Change(j)
			if err != nil {
				return err
			}
			// What the event carries; the rest is the machine's.
			j.Info, j.OutputArguments, j.Error, j.HostMachineName = changed.Info, changed.OutputArguments, changed.Error, changed.HostMachineName
		}
		var errCode, errTitle, errDetail string
		var errAt *time.Time
		if j.Error != nil {
			errCode, errTitle, errDetail = j.Error.Code, j.Error.Title, j.Error.Detail
			at := j.Error.At
			if at.IsZero() {
				at = now
			}
			errAt = &at
		}
		_, err = tx.w().ExecContext(ctx,
			`UPDATE jobs SET state = $3, stop_strategy = $4, info = $5, output_arguments = $6, host_machine_name = $7,
				error_code = $8, error_title = $9, error_detail = $10, error_at = $11, start_time = $12, end_time = $13,
				updated_at = $14
			 WHERE tenant_id = $1 AND id = $2`,
			p.TenantID, p.JobID, string(j.State), j.StopStrategy, j.Info, j.OutputArguments, j.HostMachineName,
			errCode, errTitle, errDetail, tx.nt(errAt), tx.nt(j.StartTime), tx.nt(j.EndTime), tx.t(now))
		if err != nil {
			return err
		}
		if p.Event == store.JobEventSoftStop || p.Event == store.JobEventKill {
			// The robot running the job learns of the stop at once (robot/next).
			if err := tx.notifyRobots(ctx, p.TenantID); err != nil {
				return err
			}
		}
		out, err = tx.JobGet(ctx, p.TenantID, p.JobID)
		return err
	})
	return out, err
}

// unfinishedJobs describes, for a refusal, the jobs that have not ended among those
// matching cond (SQL on the jobs table, with $1 the tenant and $2 the argument); "" when
// there are none.
func (s *DB) unfinishedJobs(ctx context.Context, tenantID int64, cond string, arg any) (string, error) {
	const shown = 10
	rows, err := s.w().QueryContext(ctx,
		`SELECT id, state FROM jobs WHERE tenant_id = $1 AND `+cond+`
		   AND state NOT IN ('Successful', 'Faulted', 'Stopped') ORDER BY id LIMIT `+fmt.Sprint(shown+1), tenantID, arg)
	jobs, err := collect(rows, err, func(r *sql.Rows) (string, error) {
		var id int64
		var state string
		err := r.Scan(&id, &state)
		return fmt.Sprintf("%d (%s)", id, state), err
	})
	if err != nil || len(jobs) == 0 {
		return "", err
	}
	if len(jobs) > shown {
		return strings.Join(jobs[:shown], ", ") + " and more", nil
	}
	return strings.Join(jobs, ", "), nil
}

// jobTime is t as stored, or the store's clock when t is zero.
func (s *DB) jobTime(t time.Time) time.Time {
	if t.IsZero() {
		return s.timestamp()
	}
	return t.UTC().Truncate(time.Microsecond)
}
