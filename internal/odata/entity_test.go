package odata

// Shared fixtures of the tests: an entity set like Jobs, with a join to robots.

var jobStates = []string{"Pending", "Running", "Stopping", "Terminating", "Faulted", "Successful", "Stopped", "Suspended", "Resumed"}

var itemStatuses = []string{"New", "InProgress", "Failed", "Successful", "Abandoned", "Retried", "Deleted"}

var testJobs = Entity{Set: "Jobs", Props: []Prop{
	{Name: "Id", Column: "j.id", Type: Int},
	{Name: "Name", Column: "j.name", Type: String},
	{Name: "Reference", Column: "j.reference_folded", Type: String, Folded: true},
	{Name: "State", Column: "j.state", Type: Enum, Enum: jobStates},
	{Name: "Status", Column: "j.status", Type: Enum, Enum: itemStatuses},
	{Name: "CreationTime", Column: "j.created_at", Type: Time},
	{Name: "IsActive", Column: "j.is_active", Type: Bool},
	{Name: "Key", Column: "j.key", Type: Guid},
	{Name: "Robot/Id", Column: "r.id", Type: Int},
	{Name: "Robot/Name", Column: "r.name", Type: String},
	{Name: "InputArguments", Column: "j.input", Type: String, NoFilter: true, NoSort: true},
}}
