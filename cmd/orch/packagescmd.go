package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/openorch/openorch/client"
)

const packagesHelp = `Usage: orch packages publish DIR|FILE [--folder F] (takes --help)

Examples:
  orch packages publish ./hello --folder Shared
  orch packages publish Hello.1.0.1.nupkg --folder Shared
`

const packagesPublishHelp = `Usage: orch packages publish DIR|FILE [--folder F] [--id ID] [--version V] [--output table|json] [--profile P]

Uploads a package and makes the folder's process of it run the new version: the process is
created (named as the package) when the folder has none, else updated to the version.

FILE is a .nupkg. DIR is a directory with a project.json (whose "main" names the file the
robot runs); its files are packed into <id>.<version>.nupkg with a generated <id>.nuspec,
the id and version coming from project.json's "name" and "version", or from --id and
--version. A version that was uploaded before is refused: bump it.

  --folder PATH|ID   the folder of the process (inside a job: the job's folder)
  --id ID            the package id (DIR only; default project.json's "name")
  --version V        the package version (DIR only; default project.json's "version")

Examples:
  orch packages publish ./hello --folder Shared
  orch packages publish ./hello --folder Shared --version 1.0.1
  orch packages publish Hello.1.0.1.nupkg --folder Shared --output json
`

func (c *cli) packagesPublish(ctx context.Context, args []string) error {
	fls := newFlags("packages publish")
	var co common
	co.register(fls, true)
	var id, version string
	fls.StringVar(&id, "id", "", "")
	fls.StringVar(&version, "version", "", "")
	pos, helped, err := c.parseFlags(fls, args, packagesPublishHelp)
	if err != nil || helped {
		return err
	}
	src, err := oneArg("packages publish", "DIR or FILE", pos)
	if err != nil {
		return err
	}
	if err := co.check("packages publish"); err != nil {
		return err
	}
	if co.folder == "" && c.getenv("ORCH_FOLDER_ID") == "" {
		return usageError{"packages publish: --folder is missing: name the folder of the process (e.g. --folder Shared)"}
	}
	fi, err := os.Stat(src)
	if err != nil {
		return usageError{fmt.Sprintf("packages publish: %v", rootCause(err))}
	}
	var nupkg []byte
	if fi.IsDir() {
		nupkg, id, version, err = packDir(src, id, version)
	} else {
		if id != "" || version != "" {
			return usageError{"packages publish: --id and --version go with a DIR; a .nupkg carries its own"}
		}
		nupkg, id, version, err = readNupkg(src)
	}
	if err != nil {
		return err
	}
	s, err := c.session(ctx, &co)
	if err != nil {
		return err
	}
	fileName := id + "." + version + ".nupkg"
	if _, _, err := s.api.Packages.Upload(ctx, fileName, bytes.NewReader(nupkg), client.WithProgress(c.uploadProgress(fileName))); err != nil {
		var ae *client.Error
		if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
			return fmt.Errorf("package %s version %s exists already (%s): bump the version (in project.json, or with --version) and publish again", id, version, ae.Message)
		}
		return s.fail(err)
	}
	if c.isTerminal(c.stderr) {
		fmt.Fprint(c.stderr, "\r\033[K")
	}
	fmt.Fprintf(c.stderr, "uploaded %s (%s)\n", fileName, byteSize(int64(len(nupkg))))

	releases, _, err := s.api.Releases.FindByProcessKey(ctx, id, co.folderOpts()...)
	if err != nil {
		return s.fail(err)
	}
	var out []client.Release
	if len(releases) == 0 {
		r, _, err := s.api.Releases.Create(ctx, client.NewRelease{Name: id, ProcessKey: id, ProcessVersion: version}, co.folderOpts()...)
		if err != nil {
			return s.fail(err)
		}
		fmt.Fprintf(c.stderr, "created process %s (Id %d) running %s\n", r.Name, r.ID, r.ProcessVersion)
		out = append(out, *r)
	}
	// Every process of the package in the folder moves to the new version, as people
	// publishing expect their next job to run it.
	for _, r := range releases {
		if _, err := s.api.Releases.UpdateToVersion(ctx, r.ID, version, co.folderOpts()...); err != nil {
			return s.fail(err)
		}
		fmt.Fprintf(c.stderr, "updated process %s (Id %d) from %s to %s\n", r.Name, r.ID, r.ProcessVersion, version)
		r.ProcessVersion = version
		out = append(out, r)
	}
	if co.output == "json" {
		return writeJSON(c.stdout, out)
	}
	rows := make([][]string, 0, len(out))
	for _, r := range out {
		rows = append(rows, []string{fmt.Sprint(r.ID), r.Name, r.ProcessKey, r.ProcessVersion, r.OrganizationUnitFullyQualifiedName})
	}
	return writeTable(c.stdout, []string{"ID", "PROCESS", "PACKAGE", "VERSION", "FOLDER"}, rows)
}

// packDir packs a project directory into a .nupkg: its files and a generated nuspec.
func packDir(dir, id, version string) ([]byte, string, string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "project.json"))
	if err != nil {
		return nil, "", "", usageError{fmt.Sprintf("packages publish: %s is not a project: %v", dir, rootCause(err))}
	}
	var proj struct {
		Name           string `json:"name"`
		Version        string `json:"version"`
		ProjectVersion string `json:"projectVersion"` // UiPath Studio's spelling
		Description    string `json:"description"`
		Main           string `json:"main"`
	}
	if err := json.Unmarshal(raw, &proj); err != nil {
		return nil, "", "", usageError{fmt.Sprintf("packages publish: %s: %v", filepath.Join(dir, "project.json"), err)}
	}
	if proj.Version == "" {
		proj.Version = proj.ProjectVersion
	}
	if id == "" {
		id = proj.Name
	}
	if version == "" {
		version = proj.Version
	}
	if id == "" || version == "" {
		return nil, "", "", usageError{"packages publish: the package needs an id and a version: set \"name\" and \"version\" in project.json, or give --id and --version"}
	}
	if proj.Main == "" {
		return nil, "", "", usageError{"packages publish: project.json has no \"main\": name the file the robot runs"}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			// Version control and the like are not part of the process.
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		// Packages built before and a nuspec of its own would clash with the one made here.
		if !d.Type().IsRegular() || strings.HasSuffix(name, ".nupkg") || (path.Dir(name) == "." && strings.HasSuffix(name, ".nuspec")) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name, h.Method = name, zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return nil, "", "", fmt.Errorf("packages publish: pack %s: %w", dir, err)
	}
	w, err := zw.Create(id + ".nuspec")
	if err != nil {
		return nil, "", "", err
	}
	if _, err := w.Write(nuspec(id, version, proj.Description)); err != nil {
		return nil, "", "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", "", err
	}
	return buf.Bytes(), id, version, nil
}

// nuspecXML is the part of a nuspec the server reads.
type nuspecXML struct {
	XMLName  xml.Name `xml:"package"`
	Metadata struct {
		ID          string `xml:"id"`
		Version     string `xml:"version"`
		Title       string `xml:"title,omitempty"`
		Description string `xml:"description,omitempty"`
		Authors     string `xml:"authors,omitempty"`
	} `xml:"metadata"`
}

func nuspec(id, version, description string) []byte {
	var n nuspecXML
	n.Metadata.ID, n.Metadata.Version, n.Metadata.Title, n.Metadata.Description = id, version, id, description
	b, _ := xml.MarshalIndent(n, "", "  ")
	return append([]byte(xml.Header), append(b, '\n')...)
}

// readNupkg reads a .nupkg and the id and version its nuspec gives.
func readNupkg(file string) ([]byte, string, string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", "", usageError{fmt.Sprintf("packages publish: %v", rootCause(err))}
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, "", "", usageError{fmt.Sprintf("packages publish: %s is not a .nupkg (a zip archive): %v", file, err)}
	}
	for _, f := range zr.File {
		if strings.Contains(f.Name, "/") || !strings.HasSuffix(strings.ToLower(f.Name), ".nuspec") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, "", "", err
		}
		var n nuspecXML
		err = xml.NewDecoder(rc).Decode(&n)
		rc.Close()
		if err != nil || n.Metadata.ID == "" || n.Metadata.Version == "" {
			return nil, "", "", usageError{fmt.Sprintf("packages publish: %s: %s gives no <id> and <version>", file, f.Name)}
		}
		return b, n.Metadata.ID, n.Metadata.Version, nil
	}
	return nil, "", "", usageError{fmt.Sprintf("packages publish: %s has no <id>.nuspec at its root", file)}
}

// uploadProgress shows how much of an upload was sent, on one line rewritten in place, when
// a person reads stderr; scripts get only the final "uploaded" line.
func (c *cli) uploadProgress(name string) func(sent, total int64) {
	if !c.isTerminal(c.stderr) {
		return func(int64, int64) {}
	}
	shown := int64(-1)
	return func(sent, total int64) {
		if total <= 0 {
			return
		}
		pct := sent * 100 / total
		if pct == shown {
			return
		}
		shown = pct
		fmt.Fprintf(c.stderr, "\r\033[Kuploading %s: %d%% of %s", name, pct, byteSize(total))
	}
}

// byteSize writes a size for people: 812 B, 14.2 kB, 3.1 MB.
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/1000/1000)
	}
}
