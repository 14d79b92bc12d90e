package jobs_test

import (
	"testing"

	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/templates"
)

// composer composes the application's emails for https://agora.test.
func composer(t *testing.T) *mail.Composer {
	t.Helper()
	r, err := render.New(templates.FS, map[string]any{"asset": func(p string) string { return p }})
	if err != nil {
		t.Fatal(err)
	}
	return mail.NewComposer(r, "https://agora.test")
}

// eventNotifier turns event notices into emails for https://agora.test.
func eventNotifier(t *testing.T, clock *testutil.Clock) *eventmail.Notifier {
	t.Helper()
	return eventmail.New(composer(t), "https://agora.test", ical.Person{Email: "agora@agora.test"}, clock.Now)
}
