package api

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// checkSpecificRobots checks the robots of a Specific start: each must be a robot of a
// machine that serves the folder.
func (a *API) checkSpecificRobots(c *call, f tenancy.Folder, ids []int64) *apiError {
	if len(ids) == 0 {
		return nil
	}
	robots, machines, err := a.st.RobotsOfFolder(c.ctx(), c.tenant.ID, f.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	for _, id := range ids {
		if slices.ContainsFunc(robots, func(r store.Robot) bool { return r.ID == id }) {
			continue
		}
		r, err := a.st.RobotGet(c.ctx(), c.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return invalid("startInfo.RobotIds: robot %d does not exist in tenant %s (odata/Robots lists the robots)", id, c.tenant.Name)
		} else if err != nil {
			return internalError(c.r, err)
		}
		serving := "no machine serves it"
		if len(machines) > 0 {
			serving = "its machines are " + strings.Join(machines, ", ")
		}
		return invalid("startInfo.RobotIds: robot %s (%d) is a robot of machine %s, which does not serve folder %s (%s); assign the machine to the folder (Folders/AssignMachines) or choose another robot",
			r.Name, r.ID, r.MachineName, f.FullyQualifiedName, serving)
	}
	return nil
}

// waitingInfo says why a job of folder f (that only robots ids may take, when set) waits:
// no machine serves the folder, no robot of its machines is connected, or their slots
// are all busy.
func (a *API) waitingInfo(c *call, f tenancy.Folder, ids []int64) string {
	robots, machines, err := a.st.RobotsOfFolder(c.ctx(), c.tenant.ID, f.ID)
	if err != nil {
		return "Waiting for a robot"
	}
	if len(machines) == 0 {
		return fmt.Sprintf("Waiting for a robot: no machine is assigned to folder %s; assign one (Folders/AssignMachines) and start its robot (orch robot)",
			f.FullyQualifiedName)
	}
	if len(ids) > 0 {
		robots = slices.DeleteFunc(robots, func(r store.Robot) bool { return !slices.Contains(ids, r.ID) })
	}
	since := a.now().Add(-a.robots.unresponsiveAfter)
	var connected, names []string
	slots, busy := 0, 0
	for _, r := range robots {
		names = append(names, r.Name)
		if r.State == store.RobotDisconnected || r.ReportingTime.Before(since) {
			continue
		}
		connected = append(connected, r.Name)
		slots += r.Slots
		busy += r.Running
	}
	switch {
	case len(connected) == 0 && len(ids) > 0:
		which := strings.Join(names, ", ")
		if len(names) < len(ids) {
			which = strings.Join(append(names, idList(ids, robots)...), ", ")
		}
		return fmt.Sprintf("Waiting for a robot: none of the robots it may run on (%s) is connected", which)
	case len(connected) == 0:
		return fmt.Sprintf("Waiting for a robot: no robot of a machine in folder %s is connected (its machines: %s)",
			f.FullyQualifiedName, strings.Join(machines, ", "))
	case busy >= slots:
		return fmt.Sprintf("Waiting for a robot: all %d slots of the connected robots that may take it are busy (%s)",
			slots, strings.Join(connected, ", "))
	}
	return fmt.Sprintf("Waiting for a robot: %s has a free slot and takes it next", strings.Join(connected, " or "))
}

// idList names by id the robots of ids missing from robots.
func idList(ids []int64, robots []store.Robot) []string {
	var out []string
	for _, id := range ids {
		if !slices.ContainsFunc(robots, func(r store.Robot) bool { return r.ID == id }) {
			out = append(out, "robot "+strconv.FormatInt(id, 10))
		}
	}
	return out
}

// liveInfo replaces the Info of Pending jobs with why they wait now: what was true when
// they started may no longer be.
func (a *API) liveInfo(c *call, jobs []store.Job) {
	cache := map[string]string{}
	for i, j := range jobs {
		if j.State != store.JobPending {
			continue
		}
		key := strconv.FormatInt(j.FolderID, 10) + fmt.Sprint(j.RobotIDs)
		info, ok := cache[key]
		if !ok {
			f, err := a.folderByIDCached(c.ctx(), c.tenant.ID, j.FolderID)
			if err != nil {
				continue
			}
			info = a.waitingInfo(c, f, j.RobotIDs)
			cache[key] = info
		}
		jobs[i].Info = info
	}
}
