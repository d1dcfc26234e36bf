// Package packages reads process packages: the .nupkg files that UiPath's tools and
// OpenOrch's users upload, which releases ("processes") run on robots.
//
// # Format
//
// A package is a zip archive (DESIGN §7) holding:
//
//   - <id>.nuspec at its root, NuGet's manifest: <package><metadata> with <id> (letters,
//     digits and underscores joined by single dots or hyphens, at most 100 characters),
//     <version> (2 to 4 numbers and an optional pre-release label: 1.0.0, 1.2.3-beta.1;
//     stored normalized as NuGet does, so 1.0 and 1.0.0.0 are 1.0.0), and optionally
//     <title>, <description>, <authors> and <releaseNotes>;
//   - project.json at its root (or, as NuGet lays packages out, in lib/<framework>/ or
//     content/), whose "main" names the file the robot runs, relative to project.json;
//   - the files themselves.
//
// project.json may declare the process's arguments:
//
//	{
//	  "main": "run.sh",
//	  "arguments": {
//	    "input":  [{"name": "amount", "type": "number", "required": true},
//	               {"name": "currency", "type": "string", "default": "EUR"}],
//	    "output": [{"name": "total", "type": "number"}]
//	  }
//	}
//
// Types are the kinds of JSON value (string, number, integer, boolean, object, array) or
// any, the default. An input argument is required, or has a default, or neither (it is then
// optional without a value). A package that declares input arguments takes only those, with
// values of their types; one that declares none takes any input object. A job's input is
// the defaults, overridden by the values set on the release, overridden by the job's own
// (Arguments.Resolve). The declarations appear in the API as UiPath's ArgumentMetadata:
// JSON arrays of {"name","type","required","hasDefault"}.
//
// # Limits
//
// A package is at most MaxSize (64 MiB); its files unpack to at most MaxUnpackedSize
// (256 MiB) in at most MaxEntries entries. Read checks every entry: names that would unpack
// outside the package's directory (absolute paths, drive letters, ..), symbolic links and
// duplicate names are refused, and every entry is decompressed once, so that a damaged
// archive or a "zip bomb" whose headers understate its sizes is refused at upload rather
// than on a robot. Refusals are *InvalidError values that name the entry or field at fault
// and say how to fix it.
//
// # Storage
//
// The API stores a package's bytes in the database, once per tenant and SHA-256 (not in the
// data directory): with PostgreSQL several server nodes share one database but no disk, and
// every node must serve every package, so the database is the one place all of them see. It
// also keeps a package and its bytes in one transaction and one backup. Packages are capped
// at 64 MiB, well within what either engine stores in a row.
package packages
