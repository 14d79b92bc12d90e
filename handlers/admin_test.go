package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// audits returns the audit entries with this action, newest first.
func (ts *testServer) audits(action string) []models.AuditEntry {
	ts.t.Helper()
	entries, _, err := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		ts.t.Fatal(err)
	}
	var out []models.AuditEntry
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestRoleChangeAndLastAdmin(t *testing.T) {
	ts := newTestServer(t)
	admin, me := ts.loginAs("admin@example.org", models.RoleAdmin)
	agent := ts.createUser("agent@example.org", models.RoleAgent)

	// Promote, audited with who, what and the request.
	p := admin.post("/admin/users/"+agent.ID+"/role", url.Values{"role": {"organiser"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("role change = %d", p.Status)
	}
	if u, _ := ts.Store.UserByID(t.Context(), agent.ID); u.Role != models.RoleOrganiser {
		t.Fatalf("role = %s", u.Role)
	}
	e := ts.audits("user.role")
	if len(e) != 1 || e[0].ActorID != me.ID || e[0].ActorEmail != "admin@example.org" || e[0].TargetID != agent.ID ||
		e[0].Detail != "agent → organiser" || e[0].RequestID == "" || !e[0].At.Equal(ts.Clock.Now()) {
		t.Fatalf("audit: %+v", e)
	}

	// The only admin cannot demote themself.
	p = admin.post("/admin/users/"+me.ID+"/role", url.Values{"role": {"agent"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("demote last admin = %d", p.Status)
	}
	if flash := admin.get(p.Header.Get("Location")); !strings.Contains(flash.Body, "au moins un administrateur") {
		t.Fatal("no message about the last admin")
	}
	if u, _ := ts.Store.UserByID(t.Context(), me.ID); u.Role != models.RoleAdmin {
		t.Fatalf("the last admin became %s", u.Role)
	}
	if len(ts.audits("user.role")) != 1 {
		t.Fatal("a refused change was audited")
	}
	// With a second admin, it works.
	admin.post("/admin/users/"+agent.ID+"/role", url.Values{"role": {"admin"}})
	if p := admin.post("/admin/users/"+me.ID+"/role", url.Values{"role": {"agent"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("demote = %d", p.Status)
	}
	if u, _ := ts.Store.UserByID(t.Context(), me.ID); u.Role != models.RoleAgent {
		t.Fatalf("role = %s", u.Role)
	}
}

func TestRoleChangeBadInput(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	agent := ts.createUser("agent@example.org", models.RoleAgent)
	if p := admin.post("/admin/users/"+agent.ID+"/role", url.Values{"role": {"superadmin"}}); p.Status != http.StatusBadRequest {
		t.Fatalf("unknown role = %d", p.Status)
	}
	if p := admin.post("/admin/users/inconnu/role", url.Values{"role": {"admin"}}); p.Status != http.StatusNotFound {
		t.Fatalf("unknown user = %d", p.Status)
	}
	if u, _ := ts.Store.UserByID(t.Context(), agent.ID); u.Role != models.RoleAgent {
		t.Fatalf("role = %s", u.Role)
	}
}

func TestDirectionsCreateRenameDeactivate(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	agent, agentUser := ts.loginAs("agent@example.org", models.RoleAgent)

	save := func(code, name string, active bool) page {
		v := url.Values{"code": {code}, "name": {name}}
		if active {
			v.Set("active", "on")
		}
		return admin.post("/admin/directions", v)
	}
	if p := save("dsna", "Direction de la sécurité numérique", true); p.Status != http.StatusSeeOther {
		t.Fatalf("create = %d %s", p.Status, fieldError(p.Body, "code"))
	}
	d, err := ts.Store.DirectionByCode(t.Context(), "DSNA")
	if err != nil || d.Name != "Direction de la sécurité numérique" || !d.Active {
		t.Fatalf("created: %+v %v", d, err)
	}
	if p := admin.get("/admin/directions"); !strings.Contains(p.Body, "Direction de la sécurité numérique") {
		t.Fatal("new direction not listed")
	}
	if p := agent.get("/profile"); !strings.Contains(p.Body, `value="DSNA"`) {
		t.Fatal("new direction not offered on the profile")
	}
	// Rename.
	save("DSNA", "Délégation à la sécurité numérique", true)
	if d, _ := ts.Store.DirectionByCode(t.Context(), "DSNA"); d.Name != "Délégation à la sécurité numérique" {
		t.Fatalf("renamed: %+v", d)
	}
	// Deactivate: kept in the admin list, no longer offered nor accepted.
	save("DSNA", "Délégation à la sécurité numérique", false)
	if d, _ := ts.Store.DirectionByCode(t.Context(), "DSNA"); d.Active {
		t.Fatal("still active")
	}
	if p := admin.get("/admin/directions"); !strings.Contains(p.Body, "Réactiver") {
		t.Fatal("inactive direction not listed with a way back")
	}
	if p := agent.get("/profile"); strings.Contains(p.Body, `value="DSNA"`) {
		t.Fatal("inactive direction offered on the profile")
	}
	p := agent.post("/profile", url.Values{"name": {"Agent"}, "direction": {"DSNA"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(fieldError(p.Body, "direction"), "n'existe pas") {
		t.Fatalf("inactive direction chosen: %d %q", p.Status, fieldError(p.Body, "direction"))
	}
	if u, _ := ts.Store.UserByID(t.Context(), agentUser.ID); u.DirectionCode != "DNUM" {
		t.Fatalf("direction = %s", u.DirectionCode)
	}
	if e := ts.audits("direction.save"); len(e) != 3 || !strings.Contains(e[0].Detail, "inactive") || e[2].TargetID != "DSNA" {
		t.Fatalf("audit: %+v", e)
	}
}

func TestOutboxAdmin(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	ctx := context.Background()
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		_, err := tx.Enqueue(ctx, models.OutboxMessage{
			DedupeKey: "invite:1", Kind: "invitation", Recipient: "b@example.org", Subject: "Invitation : comité produit",
			TextBody:  "Bonjour,\nVoir http://localhost:8080/groups/1 et https://visio.example/abc.\n",
			HTMLBody:  `<p>Bonjour <script>alert(1)</script><a href="http://localhost:8080/groups/1">groupe</a></p>`,
			ICSMethod: "REQUEST", ICSBody: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
		})
		return err
	})
	msgs, _, _ := ts.Store.ListOutbox(ctx, models.OutboxFilter{Kind: "invitation"})
	m := msgs[0]
	// A failed message: listed under "failed", with its error, and can be retried.
	_, _ = ts.Store.ClaimDue(ctx, 10, 0)
	if err := ts.Store.MarkFailed(ctx, m.ID, "550 5.1.1 Mailbox unavailable"); err != nil {
		t.Fatal(err)
	}
	list := admin.get("/admin/outbox?state=failed")
	if !strings.Contains(list.Body, "Invitation : comité produit") || !strings.Contains(list.Body, "/admin/outbox/"+m.ID) || strings.Contains(list.Body, "Votre lien de connexion") {
		t.Fatalf("failed list:\n%s", list.Body)
	}
	show := admin.get("/admin/outbox/" + m.ID)
	for _, want := range []string{"550 5.1.1 Mailbox unavailable", "b@example.org", "Renvoyer ce courriel", `href="http://localhost:8080/groups/1"`, `href="https://visio.example/abc"`, "/admin/outbox/" + m.ID + "/html", "/admin/outbox/" + m.ID + "/ics"} {
		if !strings.Contains(show.Body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	// The HTML body is served alone, sandboxed: no script runs, nothing loads.
	h := admin.get("/admin/outbox/" + m.ID + "/html")
	csp := h.Header.Get("Content-Security-Policy")
	if h.Status != 200 || !strings.HasPrefix(csp, "sandbox") || strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") ||
		!strings.Contains(csp, "default-src 'none'") || h.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Body, "<script>alert(1)</script>") {
		t.Fatalf("HTML view: %d CSP %q", h.Status, csp)
	}
	if ics := admin.get("/admin/outbox/" + m.ID + "/ics"); ics.Status != 200 || !strings.HasPrefix(ics.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(ics.Header.Get("Content-Type"), "method=REQUEST") {
		t.Fatalf("ics: %d %q", ics.Status, ics.Header.Get("Content-Type"))
	}
	// Retry.
	p := admin.post("/admin/outbox/"+m.ID+"/retry", nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("retry = %d", p.Status)
	}
	got, _ := ts.Store.OutboxByID(ctx, m.ID)
	if got.State != models.MailPending || got.Attempts != 0 || got.LastError != "" || !got.NextAttemptAt.Equal(ts.Clock.Now()) {
		t.Fatalf("after retry: %+v", got)
	}
	if e := ts.audits("mail.retry"); len(e) != 1 || e[0].TargetID != m.ID {
		t.Fatalf("audit: %+v", e)
	}
	// Only a failed message can be retried.
	admin.post("/admin/outbox/"+m.ID+"/retry", nil)
	if len(ts.audits("mail.retry")) != 1 {
		t.Fatal("retried a pending message")
	}
}

// A confirmation with an inline QR code reads sensibly in the admin: the
// page says what the image holds, the HTML view shows it as a data: image
// (the only images its CSP allows) instead of a broken cid: reference.
func TestOutboxAdminInlineQR(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	ctx := context.Background()
	const qr = "http://localhost:8080/events/01J/checkin?code=QZ7XW9KJ"
	m := models.OutboxMessage{DedupeKey: "event:qr", Kind: "event.registered", Recipient: "b@example.org", Subject: "Inscription confirmée : Journée produit",
		TextBody: "Votre code d'accès le jour J : QZ7X-W9KJ\n", HTMLBody: `<p><img src="cid:` + mail.QRContentID(qr) + `" alt="QR code d'accès"></p>`}
	mail.EmbedQR(&m, qr)
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error { _, err := tx.Enqueue(ctx, m); return err })
	msgs, _, _ := ts.Store.ListOutbox(ctx, models.OutboxFilter{Kind: "event.registered"})
	if len(msgs) != 1 || msgs[0].InlineQR != qr {
		t.Fatalf("queued: %+v", msgs)
	}
	id := msgs[0].ID
	if list := admin.get("/admin/outbox"); !strings.Contains(list.Body, "/admin/outbox/"+id) {
		t.Fatal("the message is not listed")
	}
	show := admin.get("/admin/outbox/" + id)
	if !strings.Contains(show.Body, "<dt>Image intégrée</dt>") || !strings.Contains(show.Body, qr) || !strings.Contains(show.Body, "QZ7X-W9KJ") {
		t.Fatalf("message page:\n%s", show.Body)
	}
	h := admin.get("/admin/outbox/" + id + "/html")
	if h.Status != 200 || strings.Contains(h.Body, "cid:") || !strings.Contains(h.Body, `<img src="data:image/png;base64,iVBORw0KGgo`) ||
		!strings.Contains(h.Header.Get("Content-Security-Policy"), "img-src data:") {
		t.Fatalf("HTML view: %d %q\n%.300s", h.Status, h.Header.Get("Content-Security-Policy"), h.Body)
	}
}

// A captured login email (no SMTP) is readable by an admin, with its link
// clickable: a newcomer can log in without a mail server.
func TestCapturedLoginEmailIsReadable(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	ts.newClient().post("/login", url.Values{"email": {"nouveau@example.org"}})
	link := ts.lastLoginLink("nouveau@example.org")
	msgs, _, _ := ts.Store.ListOutbox(t.Context(), models.OutboxFilter{Recipient: "nouveau@example.org"})
	p := admin.get("/admin/outbox/" + msgs[0].ID)
	if !strings.Contains(p.Body, `href="http://localhost:8080`+link+`"`) || h1(p.Body) != "Votre lien de connexion à Agora" {
		t.Fatalf("login email page lacks its link %s:\n%s", link, p.Body)
	}
	if !strings.Contains(msgs[0].HTMLBody, link) {
		t.Fatal("HTML body lacks the link")
	}
}

// Logins, account creations, profile changes, role and direction changes
// are all in the audit log, which admins can filter.
func TestAuditLog(t *testing.T) {
	ts := newTestServer(t)
	admin, me := ts.loginAs("admin@example.org", models.RoleAdmin)
	newcomer := ts.newClient()
	newcomer.login("nouveau@example.org")
	newcomer.post("/profile", url.Values{"name": {"Nouveau Nom"}, "direction": {"DGS"}, "notify_email": {"on"}})
	admin.post("/admin/users", url.Values{"email": {"cree@example.org"}, "name": {"Créé"}, "role": {"organiser"}, "direction": {"DGOS"}})
	nouveau, _ := ts.Store.UserByEmail(t.Context(), "nouveau@example.org")
	admin.post("/admin/users/"+nouveau.ID+"/role", url.Values{"role": {"organiser"}})
	admin.post("/admin/directions", url.Values{"code": {"DSNA"}, "name": {"Sécurité"}, "active": {"on"}})

	for action, want := range map[string]int{"login": 2, "user.create": 2, "user.profile": 2, "user.role": 1, "direction.save": 1} {
		if got := len(ts.audits(action)); got != want {
			t.Errorf("%d %q entries, want %d", got, action, want)
		}
	}
	if e := ts.audits("login"); e[1].ActorID != me.ID || e[1].Detail != "login.magic_link" {
		t.Errorf("login entry: %+v", e[1])
	}
	if e := ts.audits("user.profile"); e[0].ActorID != nouveau.ID || e[0].TargetID != nouveau.ID {
		t.Errorf("profile entry: %+v", e[0])
	}
	p := admin.get("/admin/audit?action=user.")
	if !strings.Contains(p.Body, "user.role") || !strings.Contains(p.Body, "user.profile") || strings.Contains(p.Body, "<code>login</code>") || strings.Contains(p.Body, "direction.save") {
		t.Fatalf("filtered audit page:\n%s", p.Body)
	}
}

// The profile keeps name, direction and the email notification choice.
func TestProfileNotificationPreference(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.loginAs("a@example.org", models.RoleAgent)
	if p := c.get("/profile"); !strings.Contains(p.Body, `id="notify_email" name="notify_email" value="true" checked`) {
		t.Fatal("notifications not on by default")
	}
	if p := c.post("/profile", url.Values{"name": {"Marie Curie"}, "direction": {"DREES"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("save = %d", p.Status)
	}
	got, _ := ts.Store.UserByID(t.Context(), u.ID)
	if got.NotifyEmail || got.Name != "Marie Curie" || got.DirectionCode != "DREES" {
		t.Fatalf("after unchecking: %+v", got)
	}
	p := c.get("/profile")
	if strings.Contains(p.Body, `name="notify_email" value="true" checked`) || !strings.Contains(p.Body, "Votre profil est enregistré") {
		t.Fatal("profile page does not show the saved choice and the confirmation")
	}
	c.post("/profile", url.Values{"name": {"Marie Curie"}, "direction": {"DREES"}, "notify_email": {"on"}})
	if got, _ := ts.Store.UserByID(t.Context(), u.ID); !got.NotifyEmail {
		t.Fatal("notifications not turned back on")
	}
	if e := ts.audits("user.profile"); len(e) != 2 || e[0].TargetID != u.ID {
		t.Fatalf("audit: %+v", e)
	}
}
