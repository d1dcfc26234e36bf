package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// ---- jobs

// jobEnv is a tenant with a folder, a package with two versions and a release of it.
type jobEnv struct {
	env
	folder  int64
	release store.Release
}

func mustJobEnv(t testing.TB, s store.Store) jobEnv {
	t.Helper()
	e := mustEnv(t, s, "acme")
	f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
	mustPackage(t, s, e.tenant.ID, "Calc", "1.0.0")
	mustPackage(t, s, e.tenant.ID, "Calc", "2.0.0")
	r, err := s.ReleaseCreate(t.Context(), store.ReleaseCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "Nightly",
		PackageName: "Calc", PackageVersion: "1.0.0", InputArguments: `{"amount":1}`, JobPriority: store.PriorityHigh, MaxRunTimeSeconds: 60})
	ok(t, err, "ReleaseCreate")
	return jobEnv{env: e, folder: f.ID, release: r}
}

func mustJobs(t testing.TB, s store.Store, je jobEnv, count int) []store.Job {
	t.Helper()
	r, err := s.ReleaseGet(t.Context(), je.tenant.ID, je.release.ID)
	ok(t, err, "ReleaseGet")
	jobs, err := s.JobCreate(t.Context(), store.JobCreateParams{TenantID: je.tenant.ID, Release: r, Count: count,
		InputArguments: `{"amount":1}`})
	ok(t, err, "JobCreate")
	return jobs
}

func move(t testing.TB, s store.Store, tenantID, id int64, ev store.JobEvent) store.Job {
	t.Helper()
	j, err := s.JobTransition(t.Context(), store.JobTransitionParams{TenantID: tenantID, JobID: id, Event: ev})
	ok(t, err, fmt.Sprintf("JobTransition %d %s", id, ev))
	return j
}

func jobStates(rows []store.Job) string {
	out := make([]string, len(rows))
	for i, j := range rows {
		out[i] = fmt.Sprintf("%d:%s", j.ID, j.State)
	}
	return strings.Join(out, ",")
}

func jobTests() []test {
	return []test{
		{"JobCreateGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			je := mustJobEnv(t, s)
			now := time.Now().UTC().Truncate(time.Second)
			jobs, err := s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: 3,
				InputArguments: `{"amount":2}`, Source: "AgentService", Reference: "ref-1", Info: "waiting", Now: now})
			ok(t, err, "JobCreate")
			if len(jobs) != 3 {
				t.Fatalf("JobCreate made %d jobs, want 3", len(jobs))
			}
			for i, j := range jobs {
				checkNew(t, "job", j.ID, j.Key, j.CreatedAt)
				want := store.Job{ID: j.ID, Key: j.Key, TenantID: je.tenant.ID, FolderID: je.folder, ReleaseID: je.release.ID,
					ReleaseName: "Nightly", PackageID: je.release.Package.ID, PackageName: "Calc", PackageVersion: "1.0.0",
					EntryPoint: "lib/run.sh", State: store.JobPending, Priority: store.PriorityHigh, InputArguments: `{"amount":2}`,
					Info: "waiting", Source: "AgentService", Reference: "ref-1", BatchKey: jobs[0].BatchKey, MaxRunTimeSeconds: 60,
					CreatedAt: now, UpdatedAt: now}
				same(t, fmt.Sprintf("job %d", i), j, want)
				if i > 0 && j.ID <= jobs[i-1].ID {
					t.Errorf("ids not increasing: %d after %d", j.ID, jobs[i-1].ID)
				}
			}
			if !guidRE.MatchString(jobs[0].BatchKey) {
				t.Errorf("BatchKey %q is not a GUID", jobs[0].BatchKey)
			}
			got, err := s.JobGet(c, je.tenant.ID, jobs[1].ID)
			ok(t, err, "JobGet")
			same(t, "JobGet", got, jobs[1])
			got, err = s.JobGetByKey(c, je.tenant.ID, strings.ToUpper(jobs[2].Key))
			ok(t, err, "JobGetByKey")
			same(t, "JobGetByKey", got, jobs[2])

			// Defaults: the release's priority, source Manual; a second start is another batch.
			more, err := s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: 1, Priority: store.PriorityLow})
			ok(t, err, "JobCreate with defaults")
			if j := more[0]; j.Priority != store.PriorityLow || j.Source != store.JobSourceDefault || j.BatchKey == jobs[0].BatchKey || j.InputArguments != "" {
				t.Errorf("defaults: %+v", j)
			}
			_, err = s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: 0})
			wantInvalid(t, err, "JobCreate of no job")
			_, err = s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: store.JobCreateMax + 1})
			wantInvalid(t, err, "JobCreate of too many jobs")
			most, err := s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: store.JobCreateMax})
			ok(t, err, "JobCreate of the most jobs")
			if len(most) != store.JobCreateMax || most[0].BatchKey != most[len(most)-1].BatchKey || most[0].ID >= most[1].ID {
				t.Errorf("JobCreate of %d jobs made %d", store.JobCreateMax, len(most))
			}
			gone := je.release
			gone.ID = missingID
			_, err = s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: gone, Count: 1})
			wantNotFound(t, err, "JobCreate of a missing release")

			other := mustEnv(t, s, "globex")
			_, err = s.JobGet(c, other.tenant.ID, jobs[0].ID)
			wantNotFound(t, err, "JobGet with another tenant")
			_, err = s.JobGetByKey(c, other.tenant.ID, jobs[0].Key)
			wantNotFound(t, err, "JobGetByKey with another tenant")
			_, err = s.JobTransition(c, store.JobTransitionParams{TenantID: other.tenant.ID, JobID: jobs[0].ID, Event: store.JobEventKill})
			wantNotFound(t, err, "JobTransition with another tenant")
			page, _, err := s.JobSearch(c, store.SearchParams{TenantID: other.tenant.ID, Query: query(t, "", "")})
			ok(t, err, "JobSearch with another tenant")
			if len(page) != 0 {
				t.Errorf("another tenant sees %d jobs", len(page))
			}
		}},
		{"JobSearch", func(t *testing.T, s store.Store) {
			c := t.Context()
			je := mustJobEnv(t, s)
			second := mustFolder(t, s, je.tenant.ID, 0, "Second")
			r2 := mustRelease(t, s, je.tenant.ID, second.ID, "Weekly", "Calc", "2.0.0")
			t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
			var all []store.Job
			for i, r := range []store.Release{je.release, r2, je.release, r2, je.release} {
				jobs, err := s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: r, Count: 1, Now: t0.Add(time.Duration(i) * time.Minute)})
				ok(t, err, "JobCreate")
				all = append(all, jobs...)
			}
			move(t, s, je.tenant.ID, all[0].ID, store.JobEventSoftStop)
			move(t, s, je.tenant.ID, all[1].ID, store.JobEventStart)
			search := func(filter, orderBy string, p store.SearchParams) string {
				t.Helper()
				p.TenantID, p.Query = je.tenant.ID, query(t, filter, orderBy)
				page, total, err := s.JobSearch(c, p)
				ok(t, err, "JobSearch "+filter)
				if total != len(page) {
					t.Errorf("%s: total %d for %d rows", filter, total, len(page))
				}
				return jobStates(page)
			}
			id := func(i int) int64 { return all[i].ID }
			for _, tc := range []struct {
				filter, orderBy string
				p               store.SearchParams
				want            string
			}{
				{"State eq 'Pending'", "", store.SearchParams{}, fmt.Sprintf("%d:Pending,%d:Pending,%d:Pending", id(2), id(3), id(4))},
				{"State eq 6", "", store.SearchParams{}, fmt.Sprintf("%d:Stopped", id(0))},
				{"State eq '1'", "", store.SearchParams{}, fmt.Sprintf("%d:Running", id(1))},
				{"Release/Name eq 'NIGHTLY' and State eq 'Pending'", "CreationTime desc", store.SearchParams{},
					fmt.Sprintf("%d:Pending,%d:Pending", id(4), id(2))},
				{"ReleaseName eq 'weekly'", "", store.SearchParams{}, fmt.Sprintf("%d:Running,%d:Pending", id(1), id(3))},
				{"ProcessVersion eq '2.0.0'", "Id desc", store.SearchParams{FolderID: second.ID}, fmt.Sprintf("%d:Pending,%d:Running", id(3), id(1))},
				{"", "", store.SearchParams{OnlyFolders: []int64{je.folder}}, fmt.Sprintf("%d:Stopped,%d:Pending,%d:Pending", id(0), id(2), id(4))},
				{"", "", store.SearchParams{OnlyFolders: []int64{}}, ""},
				{"StopStrategy eq 'SoftStop'", "", store.SearchParams{}, fmt.Sprintf("%d:Stopped", id(0))},
				{"StartTime ne null", "", store.SearchParams{}, fmt.Sprintf("%d:Running", id(1))},
				{"CreationTime ge " + t0.Add(3*time.Minute).Format(time.RFC3339), "", store.SearchParams{}, fmt.Sprintf("%d:Pending,%d:Pending", id(3), id(4))},
			} {
				if got := search(tc.filter, tc.orderBy, tc.p); got != tc.want {
					t.Errorf("%q (%+v):\n got %s\nwant %s", tc.filter, tc.p, got, tc.want)
				}
			}
			_, _, err := s.JobSearch(c, store.SearchParams{TenantID: je.tenant.ID, Query: query(t, "Nope eq 1", "")})
			wantInvalid(t, err, "JobSearch on an unknown property")
		}},
		{"JobTransition", func(t *testing.T, s store.Store) {
			c := t.Context()
			je := mustJobEnv(t, s)
			jobs := mustJobs(t, s, je, 4)
			tn := je.tenant.ID
			t1 := time.Now().UTC().Truncate(time.Second).Add(time.Minute)

			// A Pending job stops at once: nothing runs it.
			j, err := s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: jobs[0].ID, Event: store.JobEventSoftStop, Now: t1,
				Change: func(j store.Job) (store.Job, error) {
					j.Info = "stopped by ann"
					j.State = store.JobRunning // not the caller's to change
					return j, nil
				}})
			ok(t, err, "SoftStop of a Pending job")
			if j.State != store.JobStopped || j.StopStrategy != store.StopSoft || j.EndTime == nil || !j.EndTime.Equal(t1) ||
				j.StartTime != nil || j.Info != "stopped by ann" || !j.UpdatedAt.Equal(t1) {
				t.Errorf("after SoftStop: %+v", j)
			}
			_, err = s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: jobs[0].ID, Event: store.JobEventKill})
			wantConflict(t, err, "Kill of a Stopped job")
			var se *store.JobStateError
			if !errors.As(err, &se) || se.State != store.JobStopped || se.Job.ID != jobs[0].ID ||
				!strings.Contains(se.Error(), "has already ended (Stopped)") {
				t.Errorf("refusal: %#v (%v)", se, err)
			}

			// A running job: a soft stop, then a kill, then the robot's report; the stop wins.
			j = move(t, s, tn, jobs[1].ID, store.JobEventStart)
			if j.State != store.JobRunning || j.StartTime == nil || j.EndTime != nil {
				t.Errorf("after Start: %+v", j)
			}
			started := *j.StartTime
			j = move(t, s, tn, jobs[1].ID, store.JobEventSoftStop)
			if j.State != store.JobStopping || j.StopStrategy != store.StopSoft {
				t.Errorf("after SoftStop of a Running job: %+v", j)
			}
			j = move(t, s, tn, jobs[1].ID, store.JobEventKill)
			if j.State != store.JobTerminating || j.StopStrategy != store.StopKill {
				t.Errorf("after Kill of a Stopping job: %+v", j)
			}
			j = move(t, s, tn, jobs[1].ID, store.JobEventSoftStop)
			if j.State != store.JobTerminating || j.StopStrategy != store.StopKill {
				t.Errorf("a SoftStop softened a kill: %+v", j)
			}
			j = move(t, s, tn, jobs[1].ID, store.JobEventSucceed)
			if j.State != store.JobStopped || !j.StartTime.Equal(started) || j.EndTime == nil {
				t.Errorf("after the process ended of a Terminating job: %+v", j)
			}

			// Success with output, failure with an error.
			move(t, s, tn, jobs[2].ID, store.JobEventStart)
			j, err = s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: jobs[2].ID, Event: store.JobEventSucceed,
				Change: func(j store.Job) (store.Job, error) {
					j.OutputArguments, j.HostMachineName = `{"total":3}`, "host-1"
					return j, nil
				}})
			ok(t, err, "Succeed")
			if j.State != store.JobSuccessful || j.OutputArguments != `{"total":3}` || j.HostMachineName != "host-1" {
				t.Errorf("after Succeed: %+v", j)
			}
			move(t, s, tn, jobs[3].ID, store.JobEventStart)
			j, err = s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: jobs[3].ID, Event: store.JobEventFail, Now: t1,
				Change: func(j store.Job) (store.Job, error) {
					j.Error = &store.JobError{Code: "Robot", Title: "exit status 3", Detail: "boom"}
					return j, nil
				}})
			ok(t, err, "Fail")
			if j.State != store.JobFaulted || j.Error == nil || j.Error.Title != "exit status 3" || !j.Error.At.Equal(t1) {
				t.Errorf("after Fail: %+v (error %+v)", j, j.Error)
			}
			got, err := s.JobGet(c, tn, jobs[3].ID)
			ok(t, err, "JobGet")
			same(t, "JobGet after Fail", got, j)

			// A refused change leaves the job as it was.
			boom := errors.New("boom")
			_, err = s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: jobs[2].ID, Event: store.JobEventStart})
			wantConflict(t, err, "Start of a Successful job")
			more := mustJobs(t, s, je, 1)
			_, err = s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: more[0].ID, Event: store.JobEventSoftStop,
				Change: func(store.Job) (store.Job, error) { return store.Job{}, boom }})
			if !errors.Is(err, boom) {
				t.Errorf("Change's error: %v", err)
			}
			got, err = s.JobGet(c, tn, more[0].ID)
			ok(t, err, "JobGet")
			same(t, "a job whose change failed", got, more[0])
			_, err = s.JobTransition(c, store.JobTransitionParams{TenantID: tn, JobID: missingID, Event: store.JobEventKill})
			wantNotFound(t, err, "JobTransition of a missing job")
		}},
		{"JobStateMachine", func(t *testing.T, s store.Store) {
			// The documented table, row by row (store/jobs.go, docs/jobs.md).
			want := map[store.JobState]string{
				store.JobPending:     "Start→Running SoftStop→Stopped Kill→Stopped",
				store.JobResumed:     "Start→Running SoftStop→Stopped Kill→Stopped",
				store.JobRunning:     "SoftStop→Stopping Kill→Terminating Succeed→Successful Fail→Faulted Lost→Faulted Suspend→Suspended",
				store.JobStopping:    "SoftStop→Stopping Kill→Terminating Succeed→Stopped Fail→Stopped Lost→Faulted",
				store.JobTerminating: "SoftStop→Terminating Kill→Terminating Succeed→Stopped Fail→Stopped Lost→Faulted",
				store.JobSuspended:   "SoftStop→Stopped Kill→Stopped Resume→Resumed",
				store.JobSuccessful:  "",
				store.JobFaulted:     "",
				store.JobStopped:     "",
			}
			for _, st := range store.JobStates {
				var row []string
				for _, ev := range store.JobEvents(st) {
					to, err := store.JobNext(st, ev)
					ok(t, err, fmt.Sprintf("JobNext(%s, %s)", st, ev))
					row = append(row, fmt.Sprintf("%s→%s", ev, to))
				}
				if got := strings.Join(row, " "); got != want[st] {
					t.Errorf("%s: %s, want %s", st, got, want[st])
				}
				if st.Final() != (want[st] == "") {
					t.Errorf("%s: Final() = %v", st, st.Final())
				}
				if _, err := store.JobNext(st, "Bogus"); !errors.Is(err, store.ErrConflict) {
					t.Errorf("%s accepts an unknown event: %v", st, err)
				}
			}
		}},
		{"ReleaseDeleteWithJobs", func(t *testing.T, s store.Store) {
			c := t.Context()
			je := mustJobEnv(t, s)
			jobs := mustJobs(t, s, je, 2)
			move(t, s, je.tenant.ID, jobs[1].ID, store.JobEventStart)
			err := s.ReleaseDelete(c, je.tenant.ID, je.release.ID)
			wantConflict(t, err, "ReleaseDelete with jobs that have not ended")
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%d (Pending), %d (Running)", jobs[0].ID, jobs[1].ID)) {
				t.Errorf("the refusal does not name the jobs: %v", err)
			}
			move(t, s, je.tenant.ID, jobs[0].ID, store.JobEventKill)
			move(t, s, je.tenant.ID, jobs[1].ID, store.JobEventKill)
			move(t, s, je.tenant.ID, jobs[1].ID, store.JobEventFail)
			ok(t, s.ReleaseDelete(c, je.tenant.ID, je.release.ID), "ReleaseDelete once the jobs ended")
			j, err := s.JobGet(c, je.tenant.ID, jobs[1].ID)
			ok(t, err, "JobGet of a deleted release's job")
			if j.ReleaseID != 0 || j.ReleaseName != "Nightly" || j.State != store.JobStopped || j.PackageID == 0 {
				t.Errorf("the job after its release went: %+v", j)
			}
			_, err = s.JobCreate(c, store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: 1})
			wantNotFound(t, err, "JobCreate of a deleted release")
		}},
		{"PackageDeleteWithJobs", func(t *testing.T, s store.Store) {
			c := t.Context()
			je := mustJobEnv(t, s)
			jobs := mustJobs(t, s, je, 1) // on version 1.0.0
			_, err := s.ReleaseUpdate(c, je.tenant.ID, je.release.ID, func(r store.Release) (store.Release, error) {
				r.PackageVersion = "2.0.0"
				return r, nil
			})
			ok(t, err, "ReleaseUpdate to 2.0.0")
			_, err = s.PackageDelete(c, je.tenant.ID, "Calc", "1.0.0")
			wantConflict(t, err, "PackageDelete of a version a Pending job runs")
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%d (Pending)", jobs[0].ID)) {
				t.Errorf("the refusal does not name the job: %v", err)
			}
			move(t, s, je.tenant.ID, jobs[0].ID, store.JobEventSoftStop)
			_, err = s.PackageDelete(c, je.tenant.ID, "Calc", "1.0.0")
			ok(t, err, "PackageDelete once the job ended")
			j, err := s.JobGet(c, je.tenant.ID, jobs[0].ID)
			ok(t, err, "JobGet")
			if j.PackageID != 0 || j.PackageVersion != "1.0.0" || j.ReleaseID != je.release.ID {
				t.Errorf("the job after its version went: %+v", j)
			}
		}},
		{"ReleaseRenameFollows", func(t *testing.T, s store.Store) {
			c := t.Context()
			je := mustJobEnv(t, s)
			jobs := mustJobs(t, s, je, 1)
			_, err := s.ReleaseUpdate(c, je.tenant.ID, je.release.ID, func(r store.Release) (store.Release, error) {
				r.Name = "Hourly"
				return r, nil
			})
			ok(t, err, "ReleaseUpdate rename")
			page, _, err := s.JobSearch(c, store.SearchParams{TenantID: je.tenant.ID, Query: query(t, "Release/Name eq 'hourly'", "")})
			ok(t, err, "JobSearch")
			if len(page) != 1 || page[0].ID != jobs[0].ID || page[0].ReleaseName != "Hourly" {
				t.Errorf("after the rename: %s", jobStates(page))
			}
		}},
		{"JobStopRace", func(t *testing.T, s store.Store) {
			// Two callers stop the same Pending job: one stops it, the other finds it ended.
			je := mustJobEnv(t, s)
			jobs := mustJobs(t, s, je, 1)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.JobTransition(t.Context(), store.JobTransitionParams{TenantID: je.tenant.ID, JobID: jobs[0].ID,
						Event: store.JobEventSoftStop})
				}()
			}
			wg.Wait()
			won := slices.IndexFunc(errs, func(err error) bool { return err == nil })
			for i, err := range errs {
				if i != won {
					wantConflict(t, err, "the losers' SoftStop")
				}
			}
			if won < 0 || slices.ContainsFunc(errs[won+1:], func(err error) bool { return err == nil }) {
				t.Errorf("want exactly one winner: %v", errs)
			}
		}},
		{"JobCreateReleaseDeleteRace", func(t *testing.T, s store.Store) {
			// A start and a delete of the same release: either the job exists and the
			// delete is refused, or the release is gone and the start is not found.
			je := mustJobEnv(t, s)
			var wg sync.WaitGroup
			var created []store.Job
			var createErr, deleteErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				created, createErr = s.JobCreate(t.Context(), store.JobCreateParams{TenantID: je.tenant.ID, Release: je.release, Count: 1})
			}()
			go func() {
				defer wg.Done()
				deleteErr = s.ReleaseDelete(t.Context(), je.tenant.ID, je.release.ID)
			}()
			wg.Wait()
			switch {
			case createErr == nil && errors.Is(deleteErr, store.ErrConflict):
				if created[0].ReleaseID != je.release.ID {
					t.Errorf("the job lost its release: %+v", created[0])
				}
			case deleteErr == nil && errors.Is(createErr, store.ErrNotFound):
			default:
				t.Errorf("create: %v; delete: %v", createErr, deleteErr)
			}
		}},
	}
}
