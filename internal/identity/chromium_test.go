package identity_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium returns the path of Debian's Chromium. Without it the test is skipped, except
// under CI=true, where it fails: CI installs the package (.ci/run).
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); .ci/run installs it")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the real-browser test")
	return ""
}

// consoleProblems collects what a page reports as wrong: console errors, uncaught
// exceptions, and the browser's own error entries (a script or style the CSP blocked, a
// resource that failed).
type consoleProblems struct {
	mu   sync.Mutex
	list []string
}

func (c *consoleProblems) listen(ctx context.Context) error {
	return chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			msg = "console.error: " + strings.Join(args, " ")
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = fmt.Sprintf("exception: %s at %s:%d", d.Text, d.URL, d.LineNumber+1)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level != cdplog.EntryLevelError {
				return
			}
			msg = fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		default:
			return
		}
		c.mu.Lock()
		c.list = append(c.list, msg)
		c.mu.Unlock()
	})
}

func (c *consoleProblems) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.list...)
}

// TestAPIAccessInChromium drives the API access page in a real browser: sign in on the
// login page, create a user key, read it from the page, copy it with the copy button (whose
// script must run under the page's CSP), revoke it through the confirmation, and exchange
// the key at /oauth/token before (it works) and after (it is refused). The page must log no
// error at all.
func TestAPIAccessInChromium(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	e := newTestEnv(t, envOptions{})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		// The sandbox needs kernel features that containers (and root) often lack; the
		// test is about the pages, not about Chromium's isolation.
		chromedp.NoSandbox)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	var problems consoleProblems
	if err := problems.listen(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v (page problems: %v)", what, err, problems.all())
		}
	}
	eval := func(what, js string, opts ...chromedp.EvaluateOption) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js, opts...))
		if err != nil {
			t.Fatalf("%s: %v (page problems: %v)", what, err, problems.all())
		}
		return v
	}
	location := func() string {
		t.Helper()
		return eval("location", "location.href").(string)
	}
	// The clipboard is the page's to use, as when a person clicks the button.
	for _, perm := range []string{"clipboard-write", "clipboard-read"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: e.base}); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}

	// Not signed in: the page sends the browser to the login page, which will return.
	do("open API access",
		chromedp.Navigate(e.portalURL("/apiAccess")),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
	)
	if eval("find the return field", `document.querySelector('input[name="return"]') !== null`) != true {
		t.Fatal("the login page has no return field")
	}
	// Signed in: back on API access.
	do("sign in",
		chromedp.SendKeys(chromedp.CSS(`#email`), aliceEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), userPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#key-name`)),
	)
	if l := location(); l != e.portalURL("/apiAccess") {
		t.Errorf("after signing in the browser is at %s", l)
	}

	// Create a key and read it from the page.
	do("create a user key",
		chromedp.SendKeys(chromedp.CSS(`#key-name`), "from chromium"),
		chromedp.Click(chromedp.CSS(`form[action$="/userKeys"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-secret`)),
	)
	key, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#new-secret`)))
	if err != nil {
		t.Fatal(err)
	}
	if l := location(); !strings.HasPrefix(key, "oo_uk_") || l != e.portalURL("/apiAccess") {
		t.Fatalf("after creating a key the page shows %q at %s", key, l)
	}

	// The copy button: the script showed it, and a click copies the key and says so.
	if eval("see the copy button", `!document.querySelector('button[data-copy="new-secret"]').hidden`) != true {
		t.Fatalf("the copy button stayed hidden: the page's script did not run (page problems: %v)", problems.all())
	}
	do("copy the key",
		chromedp.Click(chromedp.CSS(`button[data-copy="new-secret"]`)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](`document.querySelector('button[data-copy="new-secret"]').firstChild.nodeValue === "Copied"`,
				chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
			return chromedp.Void{}, err
		},
	)
	if copied := eval("read the clipboard", `navigator.clipboard.readText()`, chromedp.EvalAwaitPromise); copied != key {
		t.Errorf("the clipboard holds %q, want the key", copied)
	}

	// The key works at /oauth/token.
	wantSeedTokens(t, e, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, key)), seedAPIAccessClient, false)

	// Revoke it: the link, the confirmation, the page again with a notice.
	do("revoke the key",
		chromedp.Click(chromedp.CSS(`#user-keys a[href$="/revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/revoke"] button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/revoke"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.notice`)))
	if err != nil {
		t.Fatal(err)
	}
	if l := location(); notice != `User key "from chromium" is revoked.` || l != e.portalURL("/apiAccess") {
		t.Errorf("after revoking: notice %q at %s", notice, l)
	}
	if eval("look for the key", `document.getElementById("new-secret") === null`) != true {
		t.Error("the key is shown again after the revocation")
	}
	wantError(t, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, key)), http.StatusBadRequest, "invalid_grant",
		`the user key "from chromium" was revoked at `)

	// Nothing went wrong on the pages.
	if p := problems.all(); len(p) > 0 {
		t.Errorf("the pages reported problems:\n%s", strings.Join(p, "\n"))
	}
	// And the listener does hear problems: a console error, and a script the CSP blocks.
	eval("provoke problems", `console.error("probe");
		var s = document.createElement("script"); s.textContent = "1"; document.body.appendChild(s); true`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := strings.Join(problems.all(), "\n")
		if strings.Contains(got, "probe") && strings.Contains(got, "Content Security Policy") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the problem listener missed a console error or a CSP violation; it heard:\n%s", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
