package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// Alice deletes her account from her profile: a confirmation page says
// what goes and what stays, the box must be ticked, the form needs its
// CSRF token; then her account is gone, she is logged out, Bob gets her
// place in the session and her seat at the event, her calendar gets the
// cancellations, and the audit entry names no one.
func TestAccountErasureBySelf(t *testing.T) {
	ts := newTestServer(t)
	org, orgUser := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("Communs", models.JoinOpen, "")
	sid := org.createSession(gid, func(v url.Values) { v.Set("capacity", "1") })
	ev := ts.newEvent(orgUser, "Journée produit", 1, models.ModesOnsite)
	alice, aliceUser := ts.loginAs("alice@example.org", models.RoleAgent)
	bob, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	for _, c := range []*client{alice, bob} {
		mustRedirect(t, c.post("/groups/"+gid+"/join", nil), "join")
		mustRedirect(t, c.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}}), "answer")
		mustRedirect(t, c.post("/events/"+ev.Event.ID+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Aucun"}}), "register")
	}
	if n := ts.count("SELECT COUNT(*) FROM rsvps WHERE waiting"); n != 1 {
		t.Fatalf("%d waiting in the session", n)
	}

	if p := alice.get("/profile"); !strings.Contains(p.Body, `href="/profile/delete"`) {
		t.Fatal("no link to delete the account on the profile")
	}
	p := alice.get("/profile/delete")
	if p.Status != http.StatusOK || h1(p.Body) != "Supprimer mon compte" {
		t.Fatalf("confirmation page: %d %q", p.Status, h1(p.Body))
	}
	for _, want := range []string{"définitive", "Ce qui est supprimé", "Ce qui est conservé", "Ce qui est envoyé",
		"jusqu’à son effacement, 365 jours", `action="/profile/delete"`, `href="/profile/data"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the confirmation page does not say %q", want)
		}
	}
	// Not ticked: the page again, with the error under the box.
	p = alice.post("/profile/delete", nil)
	if p.Status != http.StatusUnprocessableEntity || fieldError(p.Body, "confirm") != "Cochez la case pour confirmer la suppression de votre compte." {
		t.Fatalf("unticked: %d %q", p.Status, fieldError(p.Body, "confirm"))
	}
	// Without the form's token: refused.
	if p := alice.postRaw("/profile/delete", "application/x-www-form-urlencoded", strings.NewReader("confirm=true"), nil); p.Status != http.StatusForbidden {
		t.Fatalf("without CSRF token: %d", p.Status)
	}
	if n := ts.count("SELECT COUNT(*) FROM users WHERE id = ?", aliceUser.ID); n != 1 {
		t.Fatal("the account went before confirmation")
	}

	p = alice.post("/profile/delete", url.Values{"confirm": {"true"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/" {
		t.Fatalf("delete: %d %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	if p := alice.get("/"); !strings.Contains(p.Body, "Votre compte Agora est supprimé.") {
		t.Errorf("no confirmation on the home page:\n%s", p.Body)
	}
	if p := alice.get("/profile"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Errorf("still logged in: %d %q", p.Status, p.Header.Get("Location"))
	}
	for q, want := range map[string]int{
		"SELECT COUNT(*) FROM users WHERE email = 'alice@example.org'":                                    0,
		"SELECT COUNT(*) FROM web_sessions WHERE user_id = '" + aliceUser.ID + "'":                        0,
		"SELECT COUNT(*) FROM rsvps WHERE waiting":                                                        0,
		"SELECT COUNT(*) FROM registrations WHERE email = 'alice@example.org'":                            0,
		"SELECT COUNT(*) FROM registrations WHERE state = 'confirmed' AND email = 'bob@example.org'":      1,
		"SELECT COUNT(*) FROM registrations WHERE state = 'cancelled' AND name = '(compte supprimé)'":     1,
		"SELECT COUNT(*) FROM audit_log WHERE actor_email = 'alice@example.org' OR detail LIKE '%alice%'": 0,
	} {
		if n := ts.count(q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	// Her calendar: the event and the session are cancelled.
	kinds := map[string]string{}
	for _, m := range ts.outboxTo("alice@example.org") {
		kinds[m.Kind] = m.ICSMethod
	}
	if kinds["event.cancelled"] != "CANCEL" || kinds["session.removed"] != "CANCEL" || len(kinds) != 2 {
		t.Errorf("emails left for Alice: %v (only the cancellations should be)", kinds)
	}
	// Bob is told he has the places.
	bobKinds := map[string]bool{}
	for _, m := range ts.outboxTo("bob@example.org") {
		bobKinds[m.Kind] = true
	}
	if !bobKinds["event.promoted"] || !bobKinds["session.promoted"] {
		t.Errorf("emails to Bob: %v", bobKinds)
	}
	entries := ts.audits("user.erase")
	if len(entries) != 1 || entries[0].ActorID != aliceUser.ID || entries[0].ActorEmail != "" || entries[0].TargetID != aliceUser.ID ||
		strings.Contains(entries[0].Detail, "alice") {
		t.Errorf("audit: %+v", entries)
	}
	// The group and the session still show, to Bob.
	for _, path := range []string{"/groups/" + gid, "/sessions/" + sid, "/events/" + ev.Event.ID} {
		if p := bob.get(path); p.Status != http.StatusOK {
			t.Errorf("%s: %d", path, p.Status)
		}
	}
}

// An account whose owner alone organises a group that goes on, or the last
// administrator's, cannot be deleted: the page says why and offers no form;
// a forced POST is refused. An administrator deletes another account from
// the users' list once nothing blocks it.
func TestAccountErasureBlockedAndByAdmin(t *testing.T) {
	ts := newTestServer(t)
	admin, adminUser := ts.loginAs("admin@example.org", models.RoleAdmin)
	alice, aliceUser := ts.loginAs("alice@example.org", models.RoleOrganiser)
	gid := alice.createGroup("Comitologie", models.JoinOpen, "")

	p := alice.get("/profile/delete")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Votre compte ne peut pas encore être supprimé") ||
		!strings.Contains(p.Body, "le groupe « Comitologie » n’a pas d’autre organisateur") || strings.Contains(p.Body, `action="/profile/delete"`) {
		t.Fatalf("blocked page: %d\n%s", p.Status, p.Body)
	}
	if p := alice.post("/profile/delete", url.Values{"confirm": {"true"}}); p.Status != http.StatusConflict ||
		!strings.Contains(p.Body, "n’a pas d’autre organisateur") {
		t.Fatalf("forced: %d", p.Status)
	}
	if p := admin.get("/profile/delete"); !strings.Contains(p.Body, "Agora n’a pas d’autre administrateur") {
		t.Errorf("the last admin's page does not say why")
	}
	if p := admin.get("/admin/users/" + adminUser.ID + "/delete"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/profile/delete" {
		t.Errorf("an admin's own account from the admin: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := alice.get("/admin/users/" + aliceUser.ID + "/delete"); p.Status != http.StatusForbidden {
		t.Errorf("an organiser on the admin page: %d", p.Status)
	}
	if p := admin.get("/admin/users/inconnu/delete"); p.Status != http.StatusNotFound {
		t.Errorf("unknown account: %d", p.Status)
	}

	// The group archived, the administrator deletes Alice's account.
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		return tx.SetGroupStatus(context.Background(), adminUser, gid, models.GroupArchived)
	})
	if p := admin.get("/admin/users"); !strings.Contains(p.Body, `href="/admin/users/`+aliceUser.ID+`/delete"`) {
		t.Fatal("no delete link in the users' list")
	}
	p = admin.get("/admin/users/" + aliceUser.ID + "/delete")
	if p.Status != http.StatusOK || h1(p.Body) != "Supprimer un compte" || !strings.Contains(p.Body, "alice@example.org") {
		t.Fatalf("admin confirmation page: %d %q", p.Status, h1(p.Body))
	}
	if p := admin.post("/admin/users/"+aliceUser.ID+"/delete", nil); fieldError(p.Body, "confirm") != "Cochez la case pour confirmer la suppression de ce compte." {
		t.Errorf("unticked: %d %q", p.Status, fieldError(p.Body, "confirm"))
	}
	p = admin.post("/admin/users/"+aliceUser.ID+"/delete", url.Values{"confirm": {"true"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/users" {
		t.Fatalf("admin delete: %d %q", p.Status, p.Header.Get("Location"))
	}
	if n := ts.count("SELECT COUNT(*) FROM users WHERE id = ?", aliceUser.ID); n != 0 {
		t.Fatal("Alice's account is still there")
	}
	if p := alice.get("/profile"); p.Status != http.StatusSeeOther {
		t.Errorf("Alice's session survived: %d", p.Status)
	}
	if e := ts.audits("user.erase"); len(e) != 1 || e[0].ActorID != adminUser.ID || e[0].ActorEmail != "admin@example.org" {
		t.Errorf("audit: %+v", e)
	}
	// The archived group she organised stays.
	if p := admin.get("/groups/" + gid); p.Status != http.StatusOK {
		t.Errorf("archived group: %d", p.Status)
	}
}
