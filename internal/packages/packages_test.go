package packages

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// file is one entry of a test archive.
type file struct {
	name    string
	body    string
	symlink bool
	stored  bool // zip.Store rather than zip.Deflate
}

// build makes a zip archive of the entries, in order.
func build(t *testing.T, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		if f.stored {
			h.Method = zip.Store
		}
		if f.symlink {
			h.SetMode(fs.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func spec(id, version string) file {
	return file{name: id + ".nuspec", body: `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata><id>` + id + `</id><version>` + version + `</version><title>The ` + id + `</title>
  <authors>ann</authors><description>Adds numbers.</description></metadata>
</package>`}
}

func good(extra ...file) []file {
	return append([]file{spec("Calc", "1.0"), {name: "project.json", body: `{"main":"run.sh","name":"ignored"}`},
		{name: "run.sh", body: "#!/bin/sh\necho hi\n"}}, extra...)
}

func TestReadGood(t *testing.T) {
	m, err := Read(build(t, good(file{name: "lib/"}, file{name: "./lib/x.txt", body: "x"})...))
	if err != nil {
		t.Fatal(err)
	}
	want := Manifest{ID: "Calc", Version: "1.0.0", Title: "The Calc", Description: "Adds numbers.", Authors: "ann", EntryPoint: "run.sh"}
	if m.ID != want.ID || m.Version != want.Version || m.Title != want.Title || m.Description != want.Description ||
		m.Authors != want.Authors || m.EntryPoint != want.EntryPoint || m.Arguments != nil {
		t.Errorf("manifest %+v, want %+v", m, want)
	}

	// The NuGet layout: project.json in lib/<framework>/, main relative to it.
	m, err = Read(build(t, spec("Studio.Made", "2.1.0-beta.1"), file{name: "lib/net45/project.json", body: `{"main":"Main.xaml"}`},
		file{name: "lib/net45/Main.xaml", body: "<Activity/>"}, file{name: "[Content_Types].xml", body: "<Types/>"}))
	if err != nil {
		t.Fatal(err)
	}
	if m.EntryPoint != "lib/net45/Main.xaml" || m.Version != "2.1.0-beta.1" {
		t.Errorf("NuGet layout: %+v", m)
	}

	// Declared arguments, normalized: types lower-cased, "any" by default.
	m, err = Read(build(t, spec("Args", "1.0.0"), file{name: "run.py", body: "print(1)"}, file{name: "project.json", body: `{
		"main": "run.py",
		"arguments": {"input": [{"name": "amount", "type": "Number", "required": true},
		                        {"name": "currency", "type": "string", "default": "EUR"},
		                        {"name": "extra"}],
		              "output": [{"name": "total", "type": "number"}]}}`}))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Arguments.Encode()
	want2 := `{"input":[{"name":"amount","type":"number","required":true},{"name":"currency","type":"string","default":"EUR"},{"name":"extra","type":"any"}],"output":[{"name":"total","type":"number"}]}`
	if got != want2 {
		t.Errorf("arguments\n got %s\nwant %s", got, want2)
	}
	in, out := m.Arguments.Metadata()
	if in == nil || *in != `[{"name":"amount","type":"number","required":true,"hasDefault":false},{"name":"currency","type":"string","required":false,"hasDefault":true,"default":"EUR"},{"name":"extra","type":"any","required":false,"hasDefault":false}]` {
		t.Errorf("input metadata %v", *in)
	}
	if out == nil || !strings.Contains(*out, `"name":"total"`) {
		t.Errorf("output metadata %v", out)
	}
}

func TestReadRefusals(t *testing.T) {
	big := strings.Repeat("0", 1<<20)
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"not a zip", []byte("hello, I am not a zip"), "not a readable zip archive"},
		{"no nuspec", build(t, file{name: "project.json", body: `{"main":"run.sh"}`}, file{name: "run.sh"}), "no .nuspec file at its root"},
		{"nuspec in a subdirectory only", build(t, file{name: "x/Calc.nuspec", body: spec("Calc", "1.0.0").body}, file{name: "project.json", body: `{"main":"run.sh"}`}, file{name: "run.sh"}), "no .nuspec file at its root"},
		{"two nuspecs", build(t, append(good(), spec("Other", "1.0.0"))...), "several .nuspec files at its root (Calc.nuspec, Other.nuspec)"},
		{"nuspec not XML", build(t, file{name: "Calc.nuspec", body: "<package><metadata>"}, file{name: "project.json", body: `{"main":"a"}`}, file{name: "a"}), "Calc.nuspec is not valid XML"},
		{"nuspec without metadata", build(t, file{name: "Calc.nuspec", body: "<package/>"}), "has no <package><metadata>"},
		{"nuspec without id", build(t, spec("", "1.0.0")), "has no <id>"},
		{"bad id", build(t, spec("no spaces", "1.0.0")), `package id "no spaces" is not a NuGet id`},
		{"nuspec without version", build(t, spec("Calc", "")), "Calc.nuspec has no <version>"},
		{"bad version", build(t, spec("Calc", "one")), `version "one" is not a package version`},
		{"no project.json", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}), "no project.json at its root"},
		{"project.json twice outside the root", build(t, spec("Calc", "1.0.0"), file{name: "lib/a/project.json", body: `{"main":"x"}`}, file{name: "lib/b/project.json", body: `{"main":"x"}`}), "project.json in several places (lib/a/project.json, lib/b/project.json)"},
		{"project.json not JSON", build(t, spec("Calc", "1.0.0"), file{name: "project.json", body: `{"main":`}), "project.json"},
		{"no main", build(t, spec("Calc", "1.0.0"), file{name: "project.json", body: `{"name":"x"}`}), `project.json has no "main"`},
		{"main not a string", build(t, spec("Calc", "1.0.0"), file{name: "project.json", body: `{"main":5}`}), `"main" must be a string`},
		{"main empty", build(t, spec("Calc", "1.0.0"), file{name: "project.json", body: `{"main":" "}`}), `empty "main"`},
		{"main missing from the package", build(t, spec("Calc", "1.0.0"), file{name: "project.json", body: `{"main":"Run.sh"}`}, file{name: "run.sh"}), `names Run.sh, which the package does not hold (names are case-sensitive: the package has run.sh)`},
		{"main escaping", build(t, spec("Calc", "1.0.0"), file{name: "project.json", body: `{"main":"../etc/passwd"}`}), `"main" must be a path inside the package`},
		{"entry ../evil", build(t, append(good(), file{name: "../evil", body: "x"})...), `entry "../evil" leads out of the package`},
		{"entry a/../../evil", build(t, append(good(), file{name: "a/../../evil"})...), `entry "a/../../evil" leads out of the package`},
		{"entry ..\\evil", build(t, append(good(), file{name: `..\evil`})...), `entry "..\\evil" leads out of the package`},
		{"absolute entry", build(t, append(good(), file{name: "/etc/cron.d/x"})...), `entry "/etc/cron.d/x" is an absolute path`},
		{"drive letter", build(t, append(good(), file{name: `C:\Windows\x`})...), `entry "C:\\Windows\\x" is an absolute path`},
		{"symbolic link", build(t, append(good(), file{name: "link", body: "/etc/passwd", symlink: true})...), `entry "link" is a symbolic link`},
		{"duplicate names", build(t, append(good(), file{name: "RUN.sh"})...), `entries "run.sh" and "RUN.sh" are the same file`},
		{"bad argument type", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}, file{name: "project.json", body: `{"main":"run.sh","arguments":{"input":[{"name":"a","type":"money"}]}}`}), `type "money" is not known; use one of string, number`},
		{"argument twice", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}, file{name: "project.json", body: `{"main":"run.sh","arguments":{"input":[{"name":"a"},{"name":"A"}]}}`}), `declares the input argument "A" twice`},
		{"default of the wrong type", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}, file{name: "project.json", body: `{"main":"run.sh","arguments":{"input":[{"name":"n","type":"integer","default":1.5}]}}`}), `its default must be an integer, got 1.5 (a number)`},
		{"required with a default", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}, file{name: "project.json", body: `{"main":"run.sh","arguments":{"input":[{"name":"n","required":true,"default":1}]}}`}), "is required and has a default"},
		{"argument without a name", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}, file{name: "project.json", body: `{"main":"run.sh","arguments":{"output":[{"type":"string"}]}}`}), `arguments.output[0] has no "name"`},
		{"metadata file too large", build(t, spec("Calc", "1.0.0"), file{name: "run.sh"}, file{name: "project.json", body: `{"main":"run.sh","x":"` + big + `"}`}), "project.json is larger than 1 MiB"},
		{"too large", make([]byte, MaxSize+1), "the package is 64 MiB; the limit is 64 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.content)
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *InvalidError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// A zip bomb: under 1 MiB that would unpack to more than the limit, refused by the sizes
// its headers give before anything is unpacked; and one whose header understates its
// size, refused while reading.
func TestReadZipBomb(t *testing.T) {
	// Deflate 1 MiB of zeros once, then store those compressed bytes under many names.
	var one bytes.Buffer
	ow := zip.NewWriter(&one)
	w, _ := ow.Create("zeros")
	w.Write(make([]byte, 1<<20))
	ow.Close()
	oz, _ := zip.NewReader(bytes.NewReader(one.Bytes()), int64(one.Len()))
	zeros := oz.File[0]
	var raw bytes.Buffer
	rr, _ := zeros.OpenRaw()
	raw.ReadFrom(rr)
	bomb := func(entries int, declared uint64) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range good() {
			w, _ := zw.Create(f.name)
			w.Write([]byte(f.body))
		}
		for i := range entries {
			h := zeros.FileHeader
			h.Name, h.UncompressedSize64 = "zeros/"+itoa(i), declared
			w, err := zw.CreateRaw(&h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(raw.Bytes())
		}
		zw.Close()
		return buf.Bytes()
	}
	honest := bomb(257, 1<<20)
	if len(honest) > 1<<20 {
		t.Fatalf("the bomb is %d bytes; it should compress well", len(honest))
	}
	_, err := Read(honest)
	if err == nil || !strings.Contains(err.Error(), `would come to more than 256 MiB (by entry "zeros/`) {
		t.Errorf("zip bomb: %v", err)
	}
	// archive/zip stops an entry at the size its header gives (Read's own count of what it
	// unpacked would stop it otherwise).
	_, err = Read(bomb(1, 1))
	if err == nil || !strings.Contains(err.Error(), `entry "zeros/0" is damaged`) {
		t.Errorf("lying zip bomb: %v", err)
	}
}

func TestReadTooManyEntries(t *testing.T) {
	files := good()
	for i := range MaxEntries {
		files = append(files, file{name: "f/" + itoa(i), stored: true})
	}
	_, err := Read(build(t, files...))
	if err == nil || !strings.Contains(err.Error(), "entries; the limit is 10000") {
		t.Errorf("too many entries: %v", err)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestReadDamagedEntry(t *testing.T) {
	content := build(t, good(file{name: "data.txt", body: strings.Repeat("hello ", 1000)})...)
	// Flip a byte in the middle of data.txt's compressed bytes.
	zr, _ := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	for _, f := range zr.File {
		if f.Name == "data.txt" {
			off, _ := f.DataOffset()
			content[off+5] ^= 0xff
		}
	}
	_, err := Read(content)
	if err == nil || !strings.Contains(err.Error(), `entry "data.txt"`) {
		t.Errorf("damaged entry: %v", err)
	}
}

func TestVersions(t *testing.T) {
	norm := map[string]string{
		"1.0": "1.0.0", "1.0.0.0": "1.0.0", "1.2.3.4": "1.2.3.4", "01.002.3": "1.2.3", "1.0.0+build.7": "1.0.0",
		"2.0.0-Beta.1": "2.0.0-Beta.1", "1.0.6981.35861": "1.0.6981.35861",
	}
	for in, want := range norm {
		if got, err := NormalizeVersion(in); err != nil || got != want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1", "1.2.3.4.5", "a.b", "1.-2", "1.0.0-", "1.0.0-a..b", "1.0.0+", "1.0.0-ä", "-1.0", strings.Repeat("1.", 40) + "1"} {
		if _, err := NormalizeVersion(bad); err == nil {
			t.Errorf("NormalizeVersion(%q) succeeded", bad)
		}
	}
	// In ascending precedence.
	order := []string{"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
		"1.0.0-rc.1", "1.0.0", "1.0.0.1", "1.2.0", "1.10.0", "2.0.0"}
	for i := range order {
		for j := range order {
			got := CompareVersions(order[i], order[j])
			want := cmpInt(int64(i), int64(j))
			if got != want {
				t.Errorf("CompareVersions(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	if CompareVersions("1.0.0-BETA", "1.0.0-beta") != 0 || CompareVersions("1.0", "1.0.0") != 0 {
		t.Error("equal versions do not compare equal")
	}
	if CompareVersions("junk", "0.0.1") != -1 || CompareVersions("0.0.1", "junk") != 1 {
		t.Error("a text that is not a version should sort below every version")
	}
}

func TestArgumentValues(t *testing.T) {
	a, err := parseArguments(json.RawMessage(`{"input":[{"name":"amount","type":"number","required":true},
		{"name":"count","type":"integer"},{"name":"currency","type":"string","default":"EUR"},
		{"name":"flags","type":"array"},{"name":"opts","type":"object"},{"name":"ok","type":"boolean"},{"name":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	vals := func(s string) map[string]json.RawMessage {
		t.Helper()
		v, err := DecodeValues(json.RawMessage(s))
		if err != nil {
			t.Fatalf("DecodeValues(%s): %v", s, err)
		}
		return v
	}
	if err := a.CheckInput(vals(`{"amount":1.5,"count":3,"flags":[1],"opts":{},"ok":false,"x":null,"currency":"USD"}`)); err != nil {
		t.Errorf("good values refused: %v", err)
	}
	if err := a.CheckInput(vals(`"{\"count\":1e3}"`)); err != nil {
		t.Errorf("a string holding the object, and 1e3 as an integer: %v", err)
	}
	for in, want := range map[string]string{
		`{"Amount":1}`:    `"Amount" is not an input argument of the package (names match exactly: did you mean "amount"?)`,
		`{"nope":1}`:      "its input arguments are amount, count, currency, flags, opts, ok, x",
		`{"amount":"5"}`:  `input argument "amount" must be a number, got "5" (a string)`,
		`{"count":2.5}`:   `input argument "count" must be an integer, got 2.5 (a number)`,
		`{"ok":"yes"}`:    `must be a boolean`,
		`{"flags":{}}`:    `must be an array, got {} (an object)`,
		`{"opts":[]}`:     `must be an object, got [] (an array)`,
		`{"currency":7}`:  `must be a string, got 7 (a whole number)`,
		`{"amount":null}`: `must be a number, got null (null)`,
	} {
		if err := a.CheckInput(vals(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckInput(%s) = %v, want %q", in, err, want)
		}
	}
	for _, bad := range []string{`[1]`, `5`, `"nope"`, `{"a":1} {}`} {
		if _, err := DecodeValues(json.RawMessage(bad)); err == nil {
			t.Errorf("DecodeValues(%s) succeeded", bad)
		}
	}
	for _, none := range []string{``, `null`, `""`, `"  "`} {
		if v, err := DecodeValues(json.RawMessage(none)); err != nil || v != nil {
			t.Errorf("DecodeValues(%q) = %v, %v; want no values", none, v, err)
		}
	}

	// Resolve: defaults < release < job; required arguments must end with a value.
	got, err := a.Resolve(vals(`{"amount":1,"currency":"USD"}`), vals(`{"amount":2}`))
	if err != nil || EncodeValues(got) != `{"amount":2,"currency":"USD"}` {
		t.Errorf("Resolve = %s, %v", EncodeValues(got), err)
	}
	got, err = a.Resolve(nil, nil)
	if err == nil || !strings.Contains(err.Error(), "required input arguments amount have no value") {
		t.Errorf("Resolve without amount = %s, %v", EncodeValues(got), err)
	}
	if _, err := a.Resolve(vals(`{"amount":1}`), vals(`{"bogus":1}`)); err == nil {
		t.Error("Resolve took an undeclared argument")
	}
	var none *Arguments
	if got, err := none.Resolve(vals(`{"anything":1}`)); err != nil || EncodeValues(got) != `{"anything":1}` {
		t.Errorf("nothing declared: %s, %v", EncodeValues(got), err)
	}

	// Fit keeps what the declarations still take.
	kept, dropped := a.Fit(vals(`{"amount":1,"count":"x","gone":true}`))
	if EncodeValues(kept) != `{"amount":1}` || strings.Join(dropped, ",") != "count,gone" {
		t.Errorf("Fit = %s, dropped %v", EncodeValues(kept), dropped)
	}
	if back, err := ParseArguments(a.Encode()); err != nil || back.Encode() != a.Encode() {
		t.Errorf("ParseArguments(Encode) = %v, %v", back, err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{300: "300 bytes", 1536: "1.5 KiB", 64 << 20: "64 MiB", 256 << 20: "256 MiB", 3 << 30: "3 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
