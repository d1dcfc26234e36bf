package packages

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The limits of a package. Read refuses a package beyond them with an InvalidError that
// names the limit; an upload stops reading at MaxSize.
const (
	// MaxSize bounds a .nupkg file.
	MaxSize = 64 << 20
	// MaxUnpackedSize bounds the files of a package once unpacked, so that a small archive
	// cannot expand into an unbounded amount of data (a "zip bomb").
	MaxUnpackedSize = 256 << 20
	// MaxEntries bounds the entries (files and directories) of a package.
	MaxEntries = 10_000
	// maxMetadataSize bounds the .nuspec and project.json, which are read into memory.
	maxMetadataSize = 1 << 20
	// maxIDLen is NuGet's limit on a package id.
	maxIDLen = 100
)

// Manifest is what a package says about itself.
type Manifest struct {
	ID           string // the .nuspec's <id>: UiPath's ProcessDto.Id and a release's ProcessKey
	Version      string // the .nuspec's <version>, normalized (Version.String)
	Title        string
	Description  string
	Authors      string
	ReleaseNotes string
	// EntryPoint is the file the robot runs: project.json's "main", as a path from the
	// package's root (project.json may sit at the root, or in lib/<framework>/ or content/
	// as NuGet lays packages out; main is relative to it).
	EntryPoint string
	// Arguments are the declared arguments; nil when project.json declares none.
	Arguments *Arguments
}

// InvalidError is a refusal of a package: Reason says what is wrong and how to fix it.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// idPattern is NuGet's rule for package ids: letters, digits and underscores, in runs
// joined by single dots or hyphens.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*$`)

// CheckID checks a package id.
func CheckID(id string) error {
	switch {
	case id == "":
		return errors.New("the package id is empty")
	case len(id) > maxIDLen:
		return fmt.Errorf("package id %q is %d characters long; the limit is %d", id, len(id), maxIDLen)
	case !idPattern.MatchString(id):
		return fmt.Errorf("package id %q is not a NuGet id: use letters, digits and underscores, joined by single dots or hyphens, such as Acme.Invoices", id)
	}
	return nil
}

// Read checks a .nupkg and returns its manifest. Every entry is read once, which proves the
// archive whole (each entry's checksum) and bounds what it unpacks to, whatever its
// headers claim. A refusal is an *InvalidError naming the entry or field at fault.
func Read(content []byte) (Manifest, error) {
	if len(content) > MaxSize {
		return Manifest{}, invalid("the package is %s; the limit is %s", Size(int64(len(content))), Size(MaxSize))
	}
	zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused below, by name
		return Manifest{}, invalid("the file is not a readable zip archive (a .nupkg is a zip file): %v", err)
	}
	if len(zr.File) > MaxEntries {
		return Manifest{}, invalid("the package has %d entries; the limit is %d", len(zr.File), MaxEntries)
	}
	type entry struct {
		name string // cleaned, with / separators
		file *zip.File
	}
	var entries []entry
	seen := map[string]string{}
	var declared uint64
	for _, f := range zr.File {
		name, err := entryName(f.Name)
		if err != nil {
			return Manifest{}, err
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return Manifest{}, invalid("entry %q is a symbolic link; a package may hold only files and directories", f.Name)
		}
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			return Manifest{}, invalid("entries %q and %q are the same file (names of a package differ in more than case); keep one", other, f.Name)
		}
		seen[strings.ToLower(name)] = f.Name
		declared += f.UncompressedSize64
		if declared > MaxUnpackedSize {
			return Manifest{}, invalid("unpacked, the package's files would come to more than %s (by entry %q); the limit is %s",
				Size(MaxUnpackedSize), f.Name, Size(MaxUnpackedSize))
		}
		entries = append(entries, entry{name: name, file: f})
	}

	// Read every file; keep the metadata files' bytes.
	isMeta := func(name string) bool {
		return !strings.Contains(name, "/") && strings.HasSuffix(strings.ToLower(name), ".nuspec") || projectDir(name) != "-"
	}
	meta := map[string][]byte{}
	budget := int64(MaxUnpackedSize)
	for _, e := range entries {
		rc, err := e.file.Open()
		if errors.Is(err, zip.ErrAlgorithm) {
			return Manifest{}, invalid("entry %q uses a compression method this server cannot read (method %d); pack with deflate or store", e.file.Name, e.file.Method)
		} else if err != nil {
			return Manifest{}, invalid("entry %q cannot be read: %v", e.file.Name, err)
		}
		var n int64
		if isMeta(e.name) {
			b, rerr := io.ReadAll(io.LimitReader(rc, maxMetadataSize+1))
			n, err = int64(len(b)), rerr
			if n > maxMetadataSize {
				rc.Close()
				return Manifest{}, invalid("%s is larger than %s; the limit for the package's metadata files is %s", e.file.Name, Size(maxMetadataSize), Size(maxMetadataSize))
			}
			meta[e.name] = b
		} else {
			n, err = io.Copy(io.Discard, io.LimitReader(rc, budget+1))
		}
		rc.Close()
		budget -= n
		if budget < 0 {
			return Manifest{}, invalid("unpacked, the package's files come to more than %s (by entry %q); the limit is %s",
				Size(MaxUnpackedSize), e.file.Name, Size(MaxUnpackedSize))
		}
		if err != nil {
			return Manifest{}, invalid("entry %q is damaged (%v): its bytes do not unpack to what its header says; pack the package again", e.file.Name, err)
		}
	}
	files := make([]string, 0, len(entries))
	for _, e := range entries {
		files = append(files, e.name)
	}

	m, err := readNuspec(meta)
	if err != nil {
		return Manifest{}, err
	}
	if err := readProject(meta, files, &m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// entryName checks an entry's name and returns it cleaned, with / separators. Names that
// would unpack outside the package's directory (absolute paths, drive letters, ..) are
// refused, whether written with / or \.
func entryName(raw string) (string, error) {
	if raw == "" {
		return "", invalid("the package has an entry without a name")
	}
	if strings.ContainsRune(raw, 0) {
		return "", invalid("entry %q has a NUL character in its name", raw)
	}
	name := strings.ReplaceAll(raw, `\`, "/")
	if strings.HasPrefix(name, "/") || len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z') {
		return "", invalid("entry %q is an absolute path; every entry of a package must be a path inside it, such as lib/run.sh", raw)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", invalid("entry %q leads out of the package (..); every entry of a package must be a path inside it, such as lib/run.sh", raw)
		}
	}
	return path.Clean(name), nil
}

// projectDir returns the directory of a project.json candidate: "" for the root,
// "lib/<framework>" or "content" as NuGet lays packages out; "-" when name is none.
func projectDir(name string) string {
	dir, file := path.Split(name)
	if !strings.EqualFold(file, "project.json") {
		return "-"
	}
	dir = strings.TrimSuffix(dir, "/")
	parts := strings.Split(dir, "/")
	switch {
	case dir == "":
		return ""
	case len(parts) == 1 && strings.EqualFold(parts[0], "content"):
		return dir
	case len(parts) == 2 && strings.EqualFold(parts[0], "lib"):
		return dir
	}
	return "-"
}

// nuspec is the part of a .nuspec that OpenOrch reads. Elements match by local name, so
// any of NuGet's schema namespaces (or none) is fine.
type nuspec struct {
	XMLName  xml.Name
	Metadata *struct {
		ID           string `xml:"id"`
		Version      string `xml:"version"`
		Title        string `xml:"title"`
		Description  string `xml:"description"`
		Authors      string `xml:"authors"`
		ReleaseNotes string `xml:"releaseNotes"`
	} `xml:"metadata"`
}

func readNuspec(meta map[string][]byte) (Manifest, error) {
	var names []string
	for name := range meta {
		if !strings.Contains(name, "/") && strings.HasSuffix(strings.ToLower(name), ".nuspec") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	switch len(names) {
	case 0:
		return Manifest{}, invalid("the package has no .nuspec file at its root: a .nupkg holds <id>.nuspec, whose <metadata> gives the package's <id> and <version>")
	case 1:
	default:
		return Manifest{}, invalid("the package has several .nuspec files at its root (%s); keep the one of the package", strings.Join(names, ", "))
	}
	name := names[0]
	var spec nuspec
	if err := xml.Unmarshal(meta[name], &spec); err != nil {
		return Manifest{}, invalid("%s is not valid XML: %v", name, err)
	}
	if spec.XMLName.Local != "package" || spec.Metadata == nil {
		return Manifest{}, invalid("%s has no <package><metadata>: a .nuspec is <package><metadata><id>…</id><version>…</version></metadata></package>", name)
	}
	md := spec.Metadata
	id, version := strings.TrimSpace(md.ID), strings.TrimSpace(md.Version)
	if id == "" {
		return Manifest{}, invalid("%s has no <id> in its <metadata>: add the package id, such as <id>Acme.Invoices</id>", name)
	}
	if err := CheckID(id); err != nil {
		return Manifest{}, invalid("%s: %v", name, err)
	}
	if version == "" {
		return Manifest{}, invalid("%s has no <version> in its <metadata>: add one, such as <version>1.0.0</version>", name)
	}
	v, err := NormalizeVersion(version)
	if err != nil {
		return Manifest{}, invalid("%s: %v", name, err)
	}
	return Manifest{ID: id, Version: v, Title: strings.TrimSpace(md.Title), Description: strings.TrimSpace(md.Description),
		Authors: strings.TrimSpace(md.Authors), ReleaseNotes: strings.TrimSpace(md.ReleaseNotes)}, nil
}

// project is the part of project.json that OpenOrch reads; every other key is left to
// the tools that wrote it.
type project struct {
	Main      json.RawMessage `json:"main"`
	Arguments json.RawMessage `json:"arguments"`
}

func readProject(meta map[string][]byte, files []string, m *Manifest) error {
	var root string
	var others []string
	for name := range meta {
		switch dir := projectDir(name); dir {
		case "-":
		case "":
			root = name
		default:
			others = append(others, name)
		}
	}
	slices.Sort(others)
	name := root
	switch {
	case name != "":
	case len(others) == 1:
		name = others[0]
	case len(others) > 1:
		return invalid("the package has project.json in several places (%s); keep one, at the package's root", strings.Join(others, ", "))
	default:
		return invalid(`the package has no project.json at its root: add one whose "main" names the file the robot runs, such as {"main": "run.sh"}`)
	}
	var p project
	dec := json.NewDecoder(bytes.NewReader(meta[name]))
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return invalid("%s is not valid JSON (at byte %d): %v", name, se.Offset, err)
		}
		return invalid("%s must be a JSON object, such as {\"main\": \"run.sh\"}: %v", name, err)
	}
	var main string
	if len(p.Main) == 0 || string(p.Main) == "null" {
		return invalid(`%s has no "main": name the file the robot runs, such as {"main": "run.sh"}`, name)
	}
	if err := json.Unmarshal(p.Main, &main); err != nil {
		return invalid(`%s: "main" must be a string naming the file the robot runs, such as "run.sh"; got %s`, name, p.Main)
	}
	main = strings.TrimSpace(main)
	if main == "" {
		return invalid(`%s has an empty "main": name the file the robot runs, such as {"main": "run.sh"}`, name)
	}
	rel, err := entryName(main)
	if err != nil {
		return invalid(`%s: "main" must be a path inside the package, such as run.sh or bin/run.sh; %q is not`, name, main)
	}
	entry := path.Join(path.Dir(name), rel)
	if !slices.Contains(files, entry) {
		hint := ""
		for _, f := range files {
			if strings.EqualFold(f, entry) {
				hint = fmt.Sprintf(" (names are case-sensitive: the package has %s)", f)
			}
		}
		return invalid(`%s's "main" names %s, which the package does not hold%s; its files are %s`, name, entry, hint, listFiles(files))
	}
	args, err := parseArguments(p.Arguments)
	if err != nil {
		return invalid("%v", err)
	}
	m.EntryPoint, m.Arguments = entry, args
	return nil
}

// listFiles names a package's files for a message, the first few of them.
func listFiles(files []string) string {
	const show = 10
	s := slices.Clone(files)
	slices.Sort(s)
	if len(s) > show {
		return strings.Join(s[:show], ", ") + fmt.Sprintf(" and %d more", len(s)-show)
	}
	return strings.Join(s, ", ")
}

// Size writes a byte count for messages: "64 MiB", "1.5 KiB", "300 bytes".
func Size(n int64) string {
	const unit = 1024
	switch {
	case n < unit:
		return fmt.Sprintf("%d bytes", n)
	case n < unit*unit:
		return trimZero(float64(n)/unit) + " KiB"
	case n < unit*unit*unit:
		return trimZero(float64(n)/(unit*unit)) + " MiB"
	}
	return trimZero(float64(n)/(unit*unit*unit)) + " GiB"
}

func trimZero(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}
