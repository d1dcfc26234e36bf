package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// ---- robots

// runningStates is the SQL list of the states of a job whose process runs on a robot.
const runningStates = `('Running', 'Stopping', 'Terminating')`

// robotFrom is the robots with their machine's name and the number of jobs running on
// each, under the alias rb.
const robotFrom = `(SELECT r.id, r.key, r.tenant_id, r.machine_id, m.name AS machine_name, m.name_norm AS machine_name_norm,
		r.host_name, r.host_name_norm, r.name, r.name_norm, r.slots, r.state, r.version, r.reporting_time, r.connected_at,
		r.created_at, (SELECT COUNT(*) FROM jobs j WHERE j.robot_id = r.id AND j.state IN ` + runningStates + `) AS running
	FROM robots r JOIN machines m ON m.id = r.machine_id) rb`

const robotColumns = `id, key, tenant_id, machine_id, machine_name, host_name, name, slots, state, version, reporting_time,
	connected_at, created_at, running`

func scanRobot(r interface{ Scan(...any) error }) (store.Robot, error) {
	var rb store.Robot
	err := r.Scan(&rb.ID, &rb.Key, &rb.TenantID, &rb.MachineID, &rb.MachineName, &rb.HostName, &rb.Name, &rb.Slots, &rb.State,
		&rb.Version, dbTime{&rb.ReportingTime}, dbTime{&rb.ConnectedAt}, dbTime{&rb.CreatedAt}, &rb.Running)
	return rb, err
}

// servedFolders is a subquery of the ids of the folders that machines serve: those where
// the machine holds a role, and their subfolders. mach is the SQL of the machine id (a
// column or a placeholder), tenant the tenant id's placeholder.
func servedFolders(tenant, mach string) string {
	return `(SELECT f.id FROM memberships ms JOIN folders g ON g.id = ms.folder_id
		JOIN folders f ON f.tenant_id = g.tenant_id AND (f.id = g.id OR substr(f.fqn_norm, 1, length(g.fqn_norm) + 1) = g.fqn_norm || '/')
		WHERE ms.tenant_id = ` + tenant + ` AND ms.principal_kind = 'machine' AND ms.principal_id = ` + mach + `)`
}

// servingMachines is a subquery of the ids of the machines that serve the folder folder
// (a placeholder): members of it or of one of its ancestors.
func servingMachines(tenant, folder string) string {
	return `(SELECT ms.principal_id FROM memberships ms JOIN folders g ON g.id = ms.folder_id
		JOIN folders f ON f.tenant_id = g.tenant_id AND (f.id = g.id OR substr(f.fqn_norm, 1, length(g.fqn_norm) + 1) = g.fqn_norm || '/')
		WHERE ms.tenant_id = ` + tenant + ` AND ms.principal_kind = 'machine' AND f.id = ` + folder + `)`
}

// robotEntity is the OData view of the Robots entity set; sessionEntity of Sessions (one
// session per robot, with the robot's Id).
var (
	robotEntity = odata.Entity{Set: "Robots", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "Key", Column: "key", Type: odata.Guid},
		{Name: "LicenseKey", Column: "key", Type: odata.Guid},
		{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
		{Name: "MachineName", Column: "machine_name_norm", Type: odata.String, Folded: true},
		{Name: "MachineId", Column: "machine_id", Type: odata.Int},
		{Name: "HostName", Column: "host_name_norm", Type: odata.String, Folded: true},
		{Name: "Version", Column: "version", Type: odata.String},
		{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	}}
	sessionEntity = odata.Entity{Set: "Sessions", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "RobotId", Column: "id", Type: odata.Int},
		{Name: "Robot/Id", Column: "id", Type: odata.Int},
		{Name: "Robot/Name", Column: "name_norm", Type: odata.String, Folded: true},
		{Name: "State", Column: "state", Type: odata.Enum, Enum: []string{store.RobotAvailable, store.RobotBusy, store.RobotDisconnected, "Unknown"}},
		{Name: "ReportingTime", Column: "reporting_time", Type: odata.Time},
		{Name: "HostMachineName", Column: "host_name_norm", Type: odata.String, Folded: true},
		{Name: "MachineName", Column: "machine_name_norm", Type: odata.String, Folded: true},
		{Name: "MachineId", Column: "machine_id", Type: odata.Int},
	}}
	robotLogEntity = odata.Entity{Set: "RobotLogs", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "JobKey", Column: "job_key", Type: odata.Guid},
		{Name: "Level", Column: "level", Type: odata.Enum, Enum: store.RobotLogLevels},
		{Name: "TimeStamp", Column: "time", Type: odata.Time},
		{Name: "Message", Column: "message", Type: odata.String, NoSort: true},
		{Name: "RobotName", Column: "robot_name", Type: odata.String},
		{Name: "ProcessName", Column: "process_name", Type: odata.String},
		{Name: "HostMachineName", Column: "host_machine_name", Type: odata.String},
		{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
	}}
)

// RobotConnect implements store.Store.
func (s *DB) RobotConnect(ctx context.Context, p store.RobotConnectParams) (store.Robot, []store.Job, error) {
	host := strings.TrimSpace(p.HostName)
	if host == "" || p.Slots < 1 {
		return store.Robot{}, nil, fmt.Errorf("a robot needs a host name and at least one slot: %w", store.ErrInvalid)
	}
	var (
		out   store.Robot
		ended []store.Job
	)
	err := s.inTx(ctx, func(tx *DB) error {
		ended = nil
		m, err := tx.MachineGet(ctx, p.TenantID, p.MachineID)
		if err != nil {
			return err
		}
		now := tx.jobTime(p.Now)
		name := m.Name + "@" + host
		var id int64
		err = tx.w().QueryRowContext(ctx,
			`INSERT INTO robots (key, tenant_id, machine_id, host_name, host_name_norm, name, name_norm, slots, state, version,
				reporting_time, connected_at, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'Available', $9, $10, $10, $10)
			 ON CONFLICT (machine_id, host_name_norm) DO UPDATE SET host_name = excluded.host_name, name = excluded.name,
				name_norm = excluded.name_norm, slots = excluded.slots, state = 'Available', version = excluded.version,
				reporting_time = excluded.reporting_time, connected_at = excluded.connected_at
			 RETURNING id`,
			newKey(), p.TenantID, m.ID, host, norm(host), name, norm(name), p.Slots, p.Version, tx.t(now)).Scan(&id)
		if err != nil {
			return tx.classify(err, "")
		}
		running, err := tx.RobotJobs(ctx, p.TenantID, id)
		if err != nil {
			return err
		}
		for _, j := range running {
			if slices.Contains(p.RunningJobKeys, j.Key) {
				continue
			}
			j, err := tx.JobTransition(ctx, store.JobTransitionParams{TenantID: p.TenantID, JobID: j.ID, Event: store.JobEventLost, Now: now,
				Change: func(j store.Job) (store.Job, error) {
					j.Error = &store.JobError{Code: store.JobErrorRobotRestarted, Title: "The robot restarted without the job",
						Detail: fmt.Sprintf("robot %s connected again at %s without job %s among its running jobs: its process is gone",
							name, now.Format(time.RFC3339), j.Key), At: now}
					j.Info = "Faulted: robot " + name + " restarted without it"
					return j, nil
				}})
			if err != nil {
				return err
			}
			ended = append(ended, j)
		}
		out, err = tx.RobotTouch(ctx, p.TenantID, id, now, 0)
		return err
	})
	return out, ended, err
}

// RobotGet implements store.Store.
func (s *DB) RobotGet(ctx context.Context, tenantID, id int64) (store.Robot, error) {
	r, err := scanRobot(s.r().QueryRowContext(ctx, `SELECT `+robotColumns+` FROM `+robotFrom+` WHERE tenant_id = $1 AND id = $2`,
		tenantID, id))
	return r, s.notFound(err, "robot %d", id)
}

// RobotGetByKey implements store.Store.
func (s *DB) RobotGetByKey(ctx context.Context, tenantID int64, key string) (store.Robot, error) {
	r, err := scanRobot(s.r().QueryRowContext(ctx, `SELECT `+robotColumns+` FROM `+robotFrom+` WHERE tenant_id = $1 AND key = $2`,
		tenantID, strings.ToLower(strings.TrimSpace(key))))
	return r, s.notFound(err, "robot with Key %s", key)
}

// RobotTouch implements store.Store.
func (s *DB) RobotTouch(ctx context.Context, tenantID, robotID int64, now time.Time, fresh time.Duration) (store.Robot, error) {
	const state = `CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.robot_id = robots.id AND j.state IN ` + runningStates + `)
		THEN 'Busy' ELSE 'Available' END`
	now = s.jobTime(now)
	// An UPDATE that matches no row writes nothing; a robot that is not there is found
	// missing by RobotGet.
	if _, err := s.w().ExecContext(ctx, `UPDATE robots SET reporting_time = $3, state = `+state+`
		 WHERE tenant_id = $1 AND id = $2 AND (reporting_time IS NULL OR reporting_time < $4 OR state <> `+state+`)`,
		tenantID, robotID, s.t(now), s.t(now.Add(-fresh))); err != nil {
		return store.Robot{}, err
	}
	return s.RobotGet(ctx, tenantID, robotID)
}

// RobotDisconnect implements store.Store.
func (s *DB) RobotDisconnect(ctx context.Context, tenantID, robotID int64, now time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE robots SET state = 'Disconnected', reporting_time = $3 WHERE tenant_id = $1 AND id = $2`,
		tenantID, robotID, s.t(s.jobTime(now)))
	return s.affected(res, err, "robot %d", robotID)
}

// RobotJobs implements store.Store.
func (s *DB) RobotJobs(ctx context.Context, tenantID, robotID int64) ([]store.Job, error) {
	rows, err := s.w().QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE robot_id = $2 AND tenant_id = $1
		AND state IN `+runningStates+` ORDER BY id`, tenantID, robotID)
	return collect(rows, err, func(r *sql.Rows) (store.Job, error) { return scanJob(r) })
}

// RobotSearch implements store.Store.
func (s *DB) RobotSearch(ctx context.Context, p store.SearchParams) ([]store.Robot, int, error) {
	return s.robotSearch(ctx, robotEntity, p)
}

// SessionSearch implements store.Store.
func (s *DB) SessionSearch(ctx context.Context, p store.SearchParams) ([]store.Robot, int, error) {
	return s.robotSearch(ctx, sessionEntity, p)
}

func (s *DB) robotSearch(ctx context.Context, e odata.Entity, p store.SearchParams) ([]store.Robot, int, error) {
	sc := searchScope{from: robotFrom, where: "tenant_id = $1", args: []any{p.TenantID}}
	var folders []int64
	switch {
	case p.FolderID != 0:
		folders = []int64{p.FolderID}
	case p.OnlyFolders != nil:
		folders = p.OnlyFolders
	}
	if p.FolderID != 0 || p.OnlyFolders != nil {
		if len(folders) == 0 {
			if p.Query.Count {
				return nil, 0, nil
			}
			return nil, -1, nil
		}
		marks := make([]string, len(folders))
		for i, id := range folders {
			sc.args = append(sc.args, id)
			marks[i] = "$" + strconv.Itoa(len(sc.args))
		}
		sc.where += ` AND EXISTS (SELECT 1 FROM memberships ms JOIN folders g ON g.id = ms.folder_id
			JOIN folders f ON f.tenant_id = g.tenant_id AND (f.id = g.id OR substr(f.fqn_norm, 1, length(g.fqn_norm) + 1) = g.fqn_norm || '/')
			WHERE ms.tenant_id = $1 AND ms.principal_kind = 'machine' AND ms.principal_id = rb.machine_id
			AND f.id IN (` + strings.Join(marks, ", ") + `))`
		p.FolderID, p.OnlyFolders = 0, nil
	}
	return searchIn(ctx, s, sc, robotColumns, "", e, p, func(r *sql.Rows) (store.Robot, error) { return scanRobot(r) })
}

// RobotsOfFolder implements store.Store.
func (s *DB) RobotsOfFolder(ctx context.Context, tenantID, folderID int64) ([]store.Robot, []string, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+robotColumns+` FROM `+robotFrom+` WHERE tenant_id = $1 AND machine_id IN `+
		servingMachines("$1", "$2")+` ORDER BY id`, tenantID, folderID)
	robots, err := collect(rows, err, func(r *sql.Rows) (store.Robot, error) { return scanRobot(r) })
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.r().QueryContext(ctx, `SELECT name FROM machines WHERE tenant_id = $1 AND id IN `+servingMachines("$1", "$2")+
		` ORDER BY name_norm`, tenantID, folderID)
	machines, err := collect(rows, err, func(r *sql.Rows) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
	return robots, machines, err
}

// JobDispatch implements store.Store.
func (s *DB) JobDispatch(ctx context.Context, p store.JobDispatchParams) ([]store.Job, error) {
	if p.Max <= 0 {
		return nil, nil
	}
	var out []store.Job
	err := s.inTx(ctx, func(tx *DB) error {
		out = nil
		// The robot's row lock keeps two dispatches of one robot from both filling its
		// free slots.
		var locked int64
		err := tx.w().QueryRowContext(ctx, `SELECT id FROM robots WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate,
			p.TenantID, p.RobotID).Scan(&locked)
		if err = tx.notFound(err, "robot %d", p.RobotID); err != nil {
			return err
		}
		r, err := tx.RobotGet(ctx, p.TenantID, p.RobotID)
		if err != nil {
			return err
		}
		n := min(p.Max, r.Slots-r.Running)
		if n <= 0 {
			return nil
		}
		rows, err := tx.w().QueryContext(ctx,
			`SELECT id FROM jobs WHERE tenant_id = $1 AND state = 'Pending' AND folder_id IN `+servedFolders("$1", "$2")+`
				AND (robot_ids = '' OR robot_ids LIKE $3)
			 ORDER BY CASE priority WHEN 'High' THEN 0 WHEN 'Normal' THEN 1 ELSE 2 END, created_at, id
			 LIMIT $4`+tx.d.SkipLocked,
			p.TenantID, r.MachineID, "%,"+strconv.FormatInt(r.ID, 10)+",%", n)
		ids, err := collect(rows, err, func(r *sql.Rows) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		now := tx.jobTime(p.Now)
		for _, id := range ids {
			j, err := tx.JobTransition(ctx, store.JobTransitionParams{TenantID: p.TenantID, JobID: id, Event: store.JobEventStart, Now: now,
				Change: func(j store.Job) (store.Job, error) {
					j.HostMachineName = r.HostName
					j.Info = "Running on robot " + r.Name
					return j, nil
				}})
			if err != nil {
				return err
			}
			if _, err := tx.w().ExecContext(ctx, `UPDATE jobs SET robot_id = $3 WHERE tenant_id = $1 AND id = $2`,
				p.TenantID, id, r.ID); err != nil {
				return err
			}
			j.RobotID = r.ID
			out = append(out, j)
		}
		if len(out) > 0 {
			_, err = tx.w().ExecContext(ctx, `UPDATE robots SET state = 'Busy' WHERE id = $1`, r.ID)
		}
		return err
	})
	return out, err
}

// robotLogInsertRows is how many log entries one INSERT of RobotLogAdd writes.
const robotLogInsertRows = 50

// RobotLogAdd implements store.Store.
func (s *DB) RobotLogAdd(ctx context.Context, logs []store.RobotLog) error {
	return s.inTx(ctx, func(tx *DB) error {
		const cols = 11
		for done := 0; done < len(logs); {
			n := min(len(logs)-done, robotLogInsertRows)
			var q strings.Builder
			q.WriteString(`INSERT INTO robot_logs (tenant_id, folder_id, job_id, job_key, robot_id, robot_name, process_name,
				host_machine_name, level, time, message) VALUES `)
			args := make([]any, 0, cols*n)
			for i, l := range logs[done : done+n] {
				if i > 0 {
					q.WriteString(", ")
				}
				marks := make([]string, cols)
				for c := range marks {
					marks[c] = "$" + strconv.Itoa(len(args)+c+1)
				}
				q.WriteString("(" + strings.Join(marks, ", ") + ")")
				args = append(args, l.TenantID, l.FolderID, nullID(l.JobID), strings.ToLower(l.JobKey), nullID(l.RobotID), l.RobotName,
					l.ProcessName, l.HostMachineName, l.Level, tx.t(l.Time), l.Message)
			}
			if _, err := tx.w().ExecContext(ctx, q.String(), args...); err != nil {
				return tx.classify(err, "")
			}
			done += n
		}
		return nil
	})
}

const robotLogColumns = `id, tenant_id, folder_id, job_id, job_key, robot_id, robot_name, process_name, host_machine_name, level,
	time, message`

func scanRobotLog(r *sql.Rows) (store.RobotLog, error) {
	var l store.RobotLog
	err := r.Scan(&l.ID, &l.TenantID, &l.FolderID, dbID{&l.JobID}, &l.JobKey, dbID{&l.RobotID}, &l.RobotName, &l.ProcessName,
		&l.HostMachineName, &l.Level, dbTime{&l.Time}, &l.Message)
	return l, err
}

// RobotLogSearch implements store.Store.
func (s *DB) RobotLogSearch(ctx context.Context, p store.SearchParams) ([]store.RobotLog, int, error) {
	return search(ctx, s, "robot_logs", robotLogColumns, "folder_id", robotLogEntity, p, scanRobotLog)
}

// RobotSweep implements store.Store.
func (s *DB) RobotSweep(ctx context.Context, p store.RobotSweepParams) (store.RobotSweepResult, error) {
	var res store.RobotSweepResult
	err := s.inTx(ctx, func(tx *DB) error {
		res = store.RobotSweepResult{}
		if err := tx.Lock(ctx, "robot-sweeper"); err != nil {
			return err
		}
		now := tx.jobTime(p.Now)
		if !p.UnresponsiveBefore.IsZero() && !p.LogsOnly {
			if err := tx.sweepUnresponsive(ctx, p.UnresponsiveBefore, now, &res); err != nil {
				return err
			}
		}
		if !p.LogsOnly {
			if err := tx.sweepOverdue(ctx, p.Grace, now, &res); err != nil {
				return err
			}
		}
		if !p.LogsBefore.IsZero() {
			r, err := tx.w().ExecContext(ctx, `DELETE FROM robot_logs WHERE id IN (SELECT id FROM robot_logs WHERE time < $1
				ORDER BY time LIMIT $2)`, tx.t(p.LogsBefore), store.RobotLogSweepBatch)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			res.LogsDeleted = int(n)
			return err
		}
		return nil
	})
	return res, err
}

// sweepUnresponsive ends Faulted the jobs running on robots that have not called since
// before, or whose robot is gone.
func (s *DB) sweepUnresponsive(ctx context.Context, before, now time.Time, res *store.RobotSweepResult) error {
	type lost struct {
		id, tenantID int64
		robot        sql.NullString
		seen         *time.Time
	}
	rows, err := s.w().QueryContext(ctx, `SELECT j.id, j.tenant_id, r.name, r.reporting_time FROM jobs j
		LEFT JOIN robots r ON r.id = j.robot_id
		WHERE j.state IN `+runningStates+` AND (r.id IS NULL OR r.reporting_time < $1) ORDER BY j.id LIMIT 1000`, s.t(before))
	found, err := collect(rows, err, func(r *sql.Rows) (lost, error) {
		var l lost
		return l, r.Scan(&l.id, &l.tenantID, &l.robot, dbNullTime{&l.seen})
	})
	if err != nil {
		return err
	}
	for _, l := range found {
		detail, info := "the robot that ran the job no longer exists", "Faulted: its robot no longer exists"
		if l.robot.Valid && l.seen != nil {
			detail = fmt.Sprintf("robot %s was last seen at %s", l.robot.String, l.seen.Format(time.RFC3339))
			info = "Faulted: robot " + l.robot.String + " stopped answering"
		}
		j, err := s.JobTransition(ctx, store.JobTransitionParams{TenantID: l.tenantID, JobID: l.id, Event: store.JobEventLost, Now: now,
			Change: func(j store.Job) (store.Job, error) {
				j.Error = &store.JobError{Code: store.JobErrorRobotUnresponsive, Title: "The robot stopped answering", Detail: detail, At: now}
				j.Info = info
				return j, nil
			}})
		if err != nil {
			return err
		}
		res.Unresponsive = append(res.Unresponsive, j)
	}
	return nil
}

// sweepOverdue ends Faulted the jobs running past their maximum run time and grace.
func (s *DB) sweepOverdue(ctx context.Context, grace time.Duration, now time.Time, res *store.RobotSweepResult) error {
	rows, err := s.w().QueryContext(ctx, `SELECT id, tenant_id, start_time, max_run_time_seconds FROM jobs
		WHERE state IN `+runningStates+` AND max_run_time_seconds > 0 AND start_time IS NOT NULL ORDER BY start_time LIMIT 1000`)
	type limited struct {
		id, tenantID, max int64
		start             time.Time
	}
	found, err := collect(rows, err, func(r *sql.Rows) (limited, error) {
		var l limited
		return l, r.Scan(&l.id, &l.tenantID, dbTime{&l.start}, &l.max)
	})
	if err != nil {
		return err
	}
	for _, l := range found {
		due := l.start.Add(time.Duration(l.max) * time.Second)
		if !now.After(due.Add(grace)) {
			continue
		}
		j, err := s.JobTransition(ctx, store.JobTransitionParams{TenantID: l.tenantID, JobID: l.id, Event: store.JobEventLost, Now: now,
			Change: func(j store.Job) (store.Job, error) {
				j.Error = &store.JobError{Code: store.JobErrorMaxRunTimeExceeded, Title: "The job ran past its maximum run time",
					Detail: fmt.Sprintf("the job started at %s may run %ds, so it was due at %s; it was still running at %s",
						l.start.Format(time.RFC3339), l.max, due.Format(time.RFC3339), now.Format(time.RFC3339)), At: now}
				j.Info = "Faulted: it ran past its maximum run time"
				return j, nil
			}})
		if err != nil {
			return err
		}
		res.Overdue = append(res.Overdue, j)
	}
	return nil
}

// RobotStats implements store.Store.
func (s *DB) RobotStats(ctx context.Context, tenantID int64, connectedSince time.Time) (store.RobotStats, error) {
	var st store.RobotStats
	// $1 = 0 counts every tenant.
	const ofTenant = ` AND ($1 = 0 OR tenant_id = $1)`
	err := s.r().QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(slots), 0) FROM robots
		WHERE state <> 'Disconnected' AND reporting_time >= $2`+ofTenant, tenantID, s.t(connectedSince)).Scan(&st.Connected, &st.Slots)
	if err != nil {
		return st, err
	}
	if err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE robot_id IS NOT NULL AND state IN `+runningStates+ofTenant,
		tenantID).Scan(&st.BusySlots); err != nil {
		return st, err
	}
	err = s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state = 'Pending'`+ofTenant, tenantID).Scan(&st.PendingJobs)
	return st, err
}

// notifyRobots tells the other nodes, when the transaction commits, that robots of the
// tenant have something new.
func (s *DB) notifyRobots(ctx context.Context, tenantID int64) error {
	if s.d.Notify == "" {
		return nil
	}
	_, err := s.w().ExecContext(ctx, s.d.Notify, store.RobotNotifyChannel, strconv.FormatInt(tenantID, 10))
	return err
}

// robotIDsText writes the robots of a Specific job as ",3,7," ("" for none), so that
// JobDispatch matches one with LIKE.
func robotIDsText(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	var b strings.Builder
	for _, id := range ids {
		b.WriteString("," + strconv.FormatInt(id, 10))
	}
	return b.String() + ","
}

func parseRobotIDs(s string) []int64 {
	var out []int64
	for _, f := range strings.Split(strings.Trim(s, ","), ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}
