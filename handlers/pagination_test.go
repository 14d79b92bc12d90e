package handlers_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

var emailCell = regexp.MustCompile(`<td>[a-z0-9]+@example\.org</td>`)

func rows(body string) int { return len(emailCell.FindAllString(body, -1)) }

// Admin lists are paginated by 50; a page past the end shows the last one.
func TestAdminUsersPagination(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	for i := 0; i < 59; i++ { // 60 accounts with the admin
		ts.createUser(fmt.Sprintf("agent%02d@example.org", i), models.RoleAgent)
	}
	first := admin.get("/admin/users")
	if !strings.Contains(first.Body, "1 / 2") || rows(first.Body) != 50 {
		t.Fatalf("page 1: want 50 rows of 60, got %d", rows(first.Body))
	}
	for _, page := range []string{"2", "9"} {
		p := admin.get("/admin/users?page=" + page)
		if !strings.Contains(p.Body, "2 / 2") || rows(p.Body) != 10 {
			t.Fatalf("page %s: want the 10 last rows, got %d", page, rows(p.Body))
		}
	}
	if p := admin.get("/admin/users?q=agent0&page=1"); rows(p.Body) != 10 || strings.Contains(p.Body, "1 / 2") {
		t.Fatalf("filtered list: %d rows", rows(p.Body))
	}
}
