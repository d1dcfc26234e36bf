package api

import (
	"reflect"
	"testing"
)

func TestParseResourcePath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want resourcePath
		ok   bool
	}{
		{"Folders", resourcePath{Set: "Folders"}, true},
		{"Folders/", resourcePath{Set: "Folders"}, true},
		{"Folders(5)", resourcePath{Set: "Folders", Key: "5", HasKey: true}, true},
		{"Jobs/UiPath.Server.Configuration.OData.StartJobs", resourcePath{Set: "Jobs", Action: "StartJobs"}, true},
		{"Queues/UiPathODataSvc.AddQueueItem", resourcePath{Set: "Queues", Action: "AddQueueItem"}, true},
		{"queues/uipathodatasvc.AddQueueItem", resourcePath{Set: "queues", Action: "AddQueueItem"}, true},
		{"Queues(12)/UiPathODataSvc.SetTransactionResult", resourcePath{Set: "Queues", Key: "12", HasKey: true, Action: "SetTransactionResult"}, true},
		{"Assets/UiPath.Server.Configuration.OData.GetRobotAsset(robotId='a-b',assetName='it''s')",
			resourcePath{Set: "Assets", Action: "GetRobotAsset", Params: map[string]string{"robotid": "a-b", "assetname": "it's"}}, true},
		{"Processes/UiPath.Server.Configuration.OData.GetProcessVersions(processId='x')",
			resourcePath{Set: "Processes", Action: "GetProcessVersions", Params: map[string]string{"processid": "x"}}, true},
		{"Jobs/UiPath.Server.Configuration.OData.GetByKey(identifier=5f0c,x=2)",
			resourcePath{Set: "Jobs", Action: "GetByKey", Params: map[string]string{"identifier": "5f0c", "x": "2"}}, true},
		{"", resourcePath{}, false},
		{"Folders(5", resourcePath{}, false},
		{"Folders)", resourcePath{}, false},
		{"a/b/c", resourcePath{}, false},
		{"Assets/X.F(a='unterminated)", resourcePath{}, false},
	}
	for _, c := range cases {
		got, ok := parseResourcePath(c.in)
		if ok != c.ok || ok && !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseResourcePath(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
