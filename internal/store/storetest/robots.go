package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- robots

// robotEnv is a job environment whose machine serves the folder Shared.
type robotEnv struct {
	jobEnv
	machine tenancy.Machine
	robot   int64 // the id of the Robot role
}

func mustRobotEnv(t testing.TB, s store.Store) robotEnv {
	t.Helper()
	je := mustJobEnv(t, s)
	m := mustMachine(t, s, je.tenant.ID, "worker", "worker-client")
	role, err := s.RoleGetByName(t.Context(), je.tenant.ID, tenancy.RoleRobot)
	ok(t, err, "RoleGetByName Robot")
	mustSetMembership(t, s, je.tenant.ID, je.folder, machineP(m), role.ID)
	return robotEnv{jobEnv: je, machine: m, robot: role.ID}
}

func mustConnect(t testing.TB, s store.Store, re robotEnv, m tenancy.Machine, host string, slots int, now time.Time) store.Robot {
	t.Helper()
	r, _, err := s.RobotConnect(t.Context(), store.RobotConnectParams{TenantID: re.tenant.ID, MachineID: m.ID, HostName: host,
		Slots: slots, Version: "0.1.0", Now: now})
	ok(t, err, "RobotConnect "+host)
	return r
}

func dispatch(t testing.TB, s store.Store, re robotEnv, robotID int64, max int) []store.Job {
	t.Helper()
	jobs, err := s.JobDispatch(t.Context(), store.JobDispatchParams{TenantID: re.tenant.ID, RobotID: robotID, Max: max})
	ok(t, err, "JobDispatch")
	return jobs
}

func robotTests() []test {
	return []test{
		{"ConnectCreatesOnceAndFaultsForgottenJobs", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			now := time.Now().UTC().Truncate(time.Second)
			r := mustConnect(t, s, re, re.machine, "build-7", 2, now)
			checkNew(t, "robot", r.ID, r.Key, r.CreatedAt)
			if r.Name != "worker@build-7" || r.State != store.RobotAvailable || r.Slots != 2 || r.MachineName != "worker" ||
				!r.ReportingTime.Equal(now) {
				t.Errorf("RobotConnect = %+v", r)
			}
			again := mustConnect(t, s, re, re.machine, "BUILD-7", 1, now.Add(time.Second))
			if again.ID != r.ID || again.Slots != 1 || again.HostName != "BUILD-7" {
				t.Errorf("second RobotConnect = %+v, want robot %d with 1 slot", again, r.ID)
			}
			mustJobs(t, s, re.jobEnv, 2)
			jobs := dispatch(t, s, re, r.ID, 5)
			if len(jobs) != 1 {
				t.Fatalf("JobDispatch took %d jobs with 1 slot", len(jobs))
			}
			got, err := s.RobotGet(c, re.tenant.ID, r.ID)
			ok(t, err, "RobotGet")
			if got.State != store.RobotBusy || got.Running != 1 {
				t.Errorf("robot after dispatch: state %s, running %d", got.State, got.Running)
			}
			// Connecting again while still running it keeps the job.
			_, ended, err := s.RobotConnect(c, store.RobotConnectParams{TenantID: re.tenant.ID, MachineID: re.machine.ID, HostName: "build-7",
				Slots: 2, RunningJobKeys: []string{jobs[0].Key}})
			ok(t, err, "RobotConnect with its job")
			if len(ended) != 0 {
				t.Errorf("RobotConnect ended %v", jobStates(ended))
			}
			_, ended, err = s.RobotConnect(c, store.RobotConnectParams{TenantID: re.tenant.ID, MachineID: re.machine.ID, HostName: "build-7", Slots: 2})
			ok(t, err, "RobotConnect without its job")
			if len(ended) != 1 || ended[0].State != store.JobFaulted || ended[0].Error == nil || ended[0].Error.Code != store.JobErrorRobotRestarted {
				t.Fatalf("RobotConnect ended %+v, want job %d Faulted RobotRestarted", ended, jobs[0].ID)
			}
			got, err = s.RobotGet(c, re.tenant.ID, r.ID)
			ok(t, err, "RobotGet")
			if got.State != store.RobotAvailable || got.Running != 0 {
				t.Errorf("robot after reconnect: state %s, running %d", got.State, got.Running)
			}
			byKey, err := s.RobotGetByKey(c, re.tenant.ID, strings.ToUpper(r.Key))
			ok(t, err, "RobotGetByKey")
			if byKey.ID != r.ID {
				t.Errorf("RobotGetByKey = %d", byKey.ID)
			}
			_, err = s.RobotGet(c, re.tenant.ID+1000, r.ID)
			wantNotFound(t, err, "RobotGet of another tenant")
			_, _, err = s.RobotConnect(c, store.RobotConnectParams{TenantID: re.tenant.ID, MachineID: re.machine.ID, HostName: " ", Slots: 1})
			wantErr(t, err, store.ErrInvalid, "RobotConnect without a host")
		}},
		{"DispatchOrderAndFolders", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			now := time.Now().UTC().Truncate(time.Second)
			r := mustConnect(t, s, re, re.machine, "h1", 10, now)
			rel, err := s.ReleaseGet(c, re.tenant.ID, re.release.ID)
			ok(t, err, "ReleaseGet")
			mk := func(priority string, at time.Time) store.Job {
				jobs, err := s.JobCreate(c, store.JobCreateParams{TenantID: re.tenant.ID, Release: rel, Count: 1, Priority: priority, Now: at})
				ok(t, err, "JobCreate")
				return jobs[0]
			}
			low := mk(store.PriorityLow, now.Add(-3*time.Second))
			normalOld := mk(store.PriorityNormal, now.Add(-2*time.Second))
			high := mk(store.PriorityHigh, now.Add(-time.Second))
			normalNew := mk(store.PriorityNormal, now)
			// A job of a folder the machine does not serve, and one of a subfolder it does.
			other := mustFolder(t, s, re.tenant.ID, 0, "Other")
			mustPackage(t, s, re.tenant.ID, "Other", "1.0.0")
			otherRel := mustRelease(t, s, re.tenant.ID, other.ID, "OtherProc", "Other", "1.0.0")
			_, err = s.JobCreate(c, store.JobCreateParams{TenantID: re.tenant.ID, Release: otherRel, Count: 1})
			ok(t, err, "JobCreate in Other")
			sub := mustFolder(t, s, re.tenant.ID, re.folder, "Sub")
			subRel := mustRelease(t, s, re.tenant.ID, sub.ID, "SubProc", "Other", "1.0.0")
			subJobs, err := s.JobCreate(c, store.JobCreateParams{TenantID: re.tenant.ID, Release: subRel, Count: 1, Priority: store.PriorityLow})
			ok(t, err, "JobCreate in Shared/Sub")

			got := dispatch(t, s, re, r.ID, 2)
			want := []int64{high.ID, normalOld.ID}
			if ids := ids(got, func(j store.Job) int64 { return j.ID }); !slices.Equal(ids, want) {
				t.Fatalf("first dispatch took %v, want %v", ids, want)
			}
			for _, j := range got {
				if j.State != store.JobRunning || j.HostMachineName != "h1" || j.RobotID != r.ID || j.StartTime == nil {
					t.Errorf("dispatched job = %+v", j)
				}
			}
			rest := dispatch(t, s, re, r.ID, 10)
			want = []int64{normalNew.ID, low.ID, subJobs[0].ID}
			if ids := ids(rest, func(j store.Job) int64 { return j.ID }); !slices.Equal(ids, want) {
				t.Fatalf("second dispatch took %v, want %v (never the job of folder Other)", ids, want)
			}
			if more := dispatch(t, s, re, r.ID, 10); len(more) != 0 {
				t.Errorf("third dispatch took %s", jobStates(more))
			}
			running, err := s.RobotJobs(c, re.tenant.ID, r.ID)
			ok(t, err, "RobotJobs")
			if len(running) != 5 {
				t.Errorf("RobotJobs: %s", jobStates(running))
			}
			robots, machines, err := s.RobotsOfFolder(c, re.tenant.ID, sub.ID)
			ok(t, err, "RobotsOfFolder")
			if len(robots) != 1 || robots[0].Running != 5 || !slices.Equal(machines, []string{"worker"}) {
				t.Errorf("RobotsOfFolder(Sub) = %+v, %v", robots, machines)
			}
			robots, machines, err = s.RobotsOfFolder(c, re.tenant.ID, other.ID)
			ok(t, err, "RobotsOfFolder")
			if len(robots) != 0 || len(machines) != 0 {
				t.Errorf("RobotsOfFolder(Other) = %+v, %v", robots, machines)
			}
		}},
		{"DispatchSlotsAndSpecific", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			now := time.Now().UTC()
			a := mustConnect(t, s, re, re.machine, "a", 1, now)
			b := mustConnect(t, s, re, re.machine, "b", 3, now)
			rel, err := s.ReleaseGet(c, re.tenant.ID, re.release.ID)
			ok(t, err, "ReleaseGet")
			specific, err := s.JobCreate(c, store.JobCreateParams{TenantID: re.tenant.ID, Release: rel, Count: 2, RobotIDs: []int64{b.ID}})
			ok(t, err, "JobCreate Specific")
			if !slices.Equal(specific[0].RobotIDs, []int64{b.ID}) {
				t.Errorf("JobCreate RobotIDs = %v", specific[0].RobotIDs)
			}
			back, err := s.JobGet(c, re.tenant.ID, specific[0].ID)
			ok(t, err, "JobGet")
			if !slices.Equal(back.RobotIDs, []int64{b.ID}) {
				t.Errorf("JobGet RobotIDs = %v", back.RobotIDs)
			}
			if got := dispatch(t, s, re, a.ID, 5); len(got) != 0 {
				t.Errorf("robot a took %s, which only b may take", jobStates(got))
			}
			if got := dispatch(t, s, re, b.ID, 5); len(got) != 2 {
				t.Errorf("robot b took %s, want both", jobStates(got))
			}
			mustJobs(t, s, re.jobEnv, 4)
			if got := dispatch(t, s, re, b.ID, 5); len(got) != 1 {
				t.Errorf("robot b with 1 free slot took %s", jobStates(got))
			}
			if got := dispatch(t, s, re, a.ID, 5); len(got) != 1 {
				t.Errorf("robot a with 1 slot took %s", jobStates(got))
			}
			if got := dispatch(t, s, re, a.ID, 5); len(got) != 0 {
				t.Errorf("robot a with no free slot took %s", jobStates(got))
			}
			_, err = s.JobDispatch(c, store.JobDispatchParams{TenantID: re.tenant.ID, RobotID: missingID, Max: 1})
			wantNotFound(t, err, "JobDispatch for a missing robot")
		}},
		{"DispatchConcurrent", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			const robots, jobs = 6, 40
			var rs []store.Robot
			for i := range robots {
				rs = append(rs, mustConnect(t, s, re, re.machine, fmt.Sprintf("host-%d", i), 100, time.Now()))
			}
			mustJobs(t, s, re.jobEnv, jobs)
			var mu sync.Mutex
			taken := map[int64]int64{}
			parallel(robots, func(w int) {
				for {
					got, err := s.JobDispatch(c, store.JobDispatchParams{TenantID: re.tenant.ID, RobotID: rs[w].ID, Max: 3})
					if err != nil {
						t.Errorf("JobDispatch: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						if prev, dup := taken[j.ID]; dup {
							t.Errorf("job %d taken by robots %d and %d", j.ID, prev, rs[w].ID)
						}
						taken[j.ID] = rs[w].ID
					}
					mu.Unlock()
				}
			})
			if len(taken) != jobs {
				t.Errorf("%d jobs taken, want %d", len(taken), jobs)
			}
		}},
		{"TouchDisconnectAndSearch", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			now := time.Now().UTC().Truncate(time.Second)
			r := mustConnect(t, s, re, re.machine, "h1", 1, now)
			other := mustMachine(t, s, re.tenant.ID, "loner", "loner-client")
			lone := mustConnect(t, s, re, other, "h2", 1, now)
			ok(t, s.RobotDisconnect(c, re.tenant.ID, lone.ID, now), "RobotDisconnect")
			got, err := s.RobotGet(c, re.tenant.ID, lone.ID)
			ok(t, err, "RobotGet")
			if got.State != store.RobotDisconnected {
				t.Errorf("state after disconnect = %s", got.State)
			}
			touched, err := s.RobotTouch(c, re.tenant.ID, r.ID, now.Add(time.Minute), 0)
			ok(t, err, "RobotTouch")
			if !touched.ReportingTime.Equal(now.Add(time.Minute)) || touched.State != store.RobotAvailable {
				t.Errorf("RobotTouch = %+v", touched)
			}
			// Within fresh of the last write, with the state unchanged, nothing is written…
			touched, err = s.RobotTouch(c, re.tenant.ID, r.ID, now.Add(time.Minute+time.Second), 5*time.Second)
			ok(t, err, "RobotTouch within fresh")
			if !touched.ReportingTime.Equal(now.Add(time.Minute)) {
				t.Errorf("RobotTouch within fresh moved the reporting time to %v", touched.ReportingTime)
			}
			// …but a change of state is, at once: the disconnected robot calls again.
			touched, err = s.RobotTouch(c, re.tenant.ID, lone.ID, now.Add(time.Second), time.Hour)
			ok(t, err, "RobotTouch of a disconnected robot")
			if touched.State != store.RobotAvailable || !touched.ReportingTime.Equal(now.Add(time.Second)) {
				t.Errorf("RobotTouch of a disconnected robot = %+v, want Available at %v", touched, now.Add(time.Second))
			}
			ok(t, s.RobotDisconnect(c, re.tenant.ID, lone.ID, now), "RobotDisconnect")
			touched, err = s.RobotTouch(c, re.tenant.ID, r.ID, now.Add(3*time.Minute), 5*time.Second)
			ok(t, err, "RobotTouch past fresh")
			if !touched.ReportingTime.Equal(now.Add(3 * time.Minute)) {
				t.Errorf("RobotTouch past fresh left the reporting time at %v", touched.ReportingTime)
			}
			_, err = s.RobotTouch(c, re.tenant.ID, 1<<40, now, time.Second)
			wantNotFound(t, err, "RobotTouch of a missing robot")
			page, total, err := s.RobotSearch(c, store.SearchParams{TenantID: re.tenant.ID, Query: odata.Query{Top: 10, Count: true}})
			ok(t, err, "RobotSearch")
			if total != 2 || len(page) != 2 {
				t.Errorf("RobotSearch: %d of %d", len(page), total)
			}
			page, _, err = s.RobotSearch(c, store.SearchParams{TenantID: re.tenant.ID, FolderID: re.folder, Query: odata.Query{Top: 10}})
			ok(t, err, "RobotSearch in Shared")
			if len(page) != 1 || page[0].ID != r.ID {
				t.Errorf("RobotSearch in Shared: %+v", page)
			}
			q, err := odata.Parse(map[string][]string{"$filter": {"State eq 'Disconnected'"}}, odata.Limits{DefaultTop: 10, MaxTop: 100})
			ok(t, err, "odata.Parse")
			page, _, err = s.SessionSearch(c, store.SearchParams{TenantID: re.tenant.ID, Query: q})
			ok(t, err, "SessionSearch")
			if len(page) != 1 || page[0].ID != lone.ID {
				t.Errorf("SessionSearch State eq Disconnected: %+v", page)
			}
			page, _, err = s.RobotSearch(c, store.SearchParams{TenantID: re.tenant.ID, OnlyFolders: []int64{}, Query: odata.Query{Top: 10}})
			ok(t, err, "RobotSearch in no folder")
			if len(page) != 0 {
				t.Errorf("RobotSearch in no folder: %+v", page)
			}
		}},
		{"SweepUnresponsiveOverdueAndLogs", func(t *testing.T, s store.Store) {
			c := t.Context()
			re := mustRobotEnv(t, s)
			t0 := time.Now().UTC().Truncate(time.Second)
			quiet := mustConnect(t, s, re, re.machine, "quiet", 1, t0)
			busy := mustConnect(t, s, re, re.machine, "busy", 1, t0)
			mustJobs(t, s, re.jobEnv, 1) // max run time 60 s
			lost := dispatch(t, s, re, quiet.ID, 1)
			rel, err := s.ReleaseGet(c, re.tenant.ID, re.release.ID)
			ok(t, err, "ReleaseGet")
			_, err = s.JobCreate(c, store.JobCreateParams{TenantID: re.tenant.ID, Release: rel, Count: 1})
			ok(t, err, "JobCreate")
			kept, err := s.JobDispatch(c, store.JobDispatchParams{TenantID: re.tenant.ID, RobotID: busy.ID, Max: 1, Now: t0})
			ok(t, err, "JobDispatch")
			_, err = s.RobotTouch(c, re.tenant.ID, busy.ID, t0.Add(50*time.Second), 0)
			ok(t, err, "RobotTouch")
			ok(t, s.RobotLogAdd(c, []store.RobotLog{
				{TenantID: re.tenant.ID, FolderID: re.folder, JobID: lost[0].ID, JobKey: lost[0].Key, RobotID: quiet.ID, RobotName: quiet.Name,
					ProcessName: "Nightly", HostMachineName: "quiet", Level: "Info", Time: t0, Message: "old"},
				{TenantID: re.tenant.ID, FolderID: re.folder, JobID: lost[0].ID, JobKey: strings.ToUpper(lost[0].Key), RobotID: quiet.ID,
					RobotName: quiet.Name, ProcessName: "Nightly", HostMachineName: "quiet", Level: "Error", Time: t0.Add(time.Minute), Message: "new"},
			}), "RobotLogAdd")

			res, err := s.RobotSweep(c, store.RobotSweepParams{UnresponsiveBefore: t0.Add(30 * time.Second), Grace: 30 * time.Second,
				LogsBefore: t0.Add(time.Second), Now: t0.Add(80 * time.Second)})
			ok(t, err, "RobotSweep")
			if len(res.Unresponsive) != 1 || res.Unresponsive[0].ID != lost[0].ID || len(res.Overdue) != 0 || res.LogsDeleted != 1 {
				t.Fatalf("first sweep = %+v", res)
			}
			j := res.Unresponsive[0]
			if j.State != store.JobFaulted || j.Error == nil || j.Error.Code != store.JobErrorRobotUnresponsive ||
				!strings.Contains(j.Error.Detail, "robot worker@quiet was last seen at "+t0.Format(time.RFC3339)) {
				t.Errorf("unresponsive job = %+v %+v", j, j.Error)
			}
			// The busy robot keeps answering, but its job is due at 60 s and runs past 90 s.
			res, err = s.RobotSweep(c, store.RobotSweepParams{Grace: 30 * time.Second, Now: t0.Add(89 * time.Second)})
			ok(t, err, "RobotSweep")
			if len(res.Overdue) != 0 {
				t.Errorf("sweep within the grace ended %s", jobStates(res.Overdue))
			}
			res, err = s.RobotSweep(c, store.RobotSweepParams{Grace: 30 * time.Second, Now: t0.Add(91 * time.Second)})
			ok(t, err, "RobotSweep")
			if len(res.Overdue) != 1 || res.Overdue[0].ID != kept[0].ID || res.Overdue[0].Error.Code != store.JobErrorMaxRunTimeExceeded {
				t.Errorf("sweep past the grace = %+v", res)
			}
			logs, total, err := s.RobotLogSearch(c, store.SearchParams{TenantID: re.tenant.ID, FolderID: re.folder,
				Query: odata.Query{Top: 10, Count: true}})
			ok(t, err, "RobotLogSearch")
			if total != 1 || logs[0].Message != "new" || logs[0].Level != "Error" || logs[0].JobKey != lost[0].Key || logs[0].JobID != lost[0].ID {
				t.Errorf("RobotLogSearch = %+v (%d)", logs, total)
			}
			st, err := s.RobotStats(c, 0, t0)
			ok(t, err, "RobotStats")
			if st.Connected != 2 || st.Slots != 2 || st.BusySlots != 0 || st.PendingJobs != 0 {
				t.Errorf("RobotStats = %+v", st)
			}
			// By tenant: this one's, and another's, which has none.
			st, err = s.RobotStats(c, re.tenant.ID, t0)
			ok(t, err, "RobotStats of the tenant")
			if st.Connected != 2 || st.Slots != 2 {
				t.Errorf("RobotStats of the tenant = %+v", st)
			}
			st, err = s.RobotStats(c, re.tenant.ID+1000, t0)
			ok(t, err, "RobotStats of another tenant")
			if st != (store.RobotStats{}) {
				t.Errorf("RobotStats of another tenant = %+v, want zeros", st)
			}
		}},
	}
}
