package handlers

import (
	"container/list"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/models"
)

// Feed URLs carry a token derived from the secret key, the owner's id and a
// version stored with the owner: nothing secret is stored in the database,
// and raising the version revokes the old URL.
func (s *Server) feedToken(kind, id string, version int) string {
	m := hmac.New(sha256.New, s.Config.SecretKey)
	m.Write([]byte("feed:" + kind + ":" + id + ":" + strconv.Itoa(version)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:32]
}

func (s *Server) validFeedToken(kind, id string, version int, token string) bool {
	return hmac.Equal([]byte(token), []byte(s.feedToken(kind, id, version)))
}

// userFeedURL is u's private feed, or "" when revoked.
func (s *Server) userFeedURL(u models.User, prefs models.CalendarPrefs) string {
	if prefs.FeedRevoked {
		return ""
	}
	return s.Config.URL("/feeds/users/" + u.ID + "/" + s.feedToken("user", u.ID, prefs.FeedVersion) + ".ics")
}

// groupFeedURL is the group's feed: without a token for open groups.
func (s *Server) groupFeedURL(g models.Group) string {
	if g.JoinPolicy == models.JoinOpen {
		return s.Config.URL("/feeds/groups/" + g.ID + ".ics")
	}
	return s.Config.URL("/feeds/groups/" + g.ID + "/" + s.feedToken("group", g.ID, g.FeedVersion) + ".ics")
}

// webcal turns an https feed URL into the webcal:// form calendar apps open.
func webcal(u string) string {
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return "webcal://" + rest
	}
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		return "webcal://" + rest
	}
	return u
}

// notModified answers 304 when the client holds this version, before any
// rendering; it sets the validators on every answer.
func notModified(c *gin.Context, etag string, last time.Time) bool {
	h := c.Writer.Header()
	h.Set("ETag", etag)
	if !last.IsZero() {
		h.Set("Last-Modified", last.UTC().Format(http.TimeFormat))
	}
	h.Set("Cache-Control", "private, no-cache")
	if inm := c.GetHeader("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == etag || tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				c.Status(http.StatusNotModified)
				return true
			}
		}
		return false
	}
	if ims := c.GetHeader("If-Modified-Since"); ims != "" && !last.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !last.Truncate(time.Second).After(t) {
			c.Status(http.StatusNotModified)
			return true
		}
	}
	return false
}

// stampETag makes a feed's ETag from its stamp and the text of anything
// else the feed shows (the owner's name).
func stampETag(prefix string, version int, st models.FeedStamp, other string) string {
	h := fnv.New32a()
	h.Write([]byte(other))
	return fmt.Sprintf(`"%s%d-%d-%d-%s-%x"`, prefix, version, st.Count, st.LastModified.Unix(), st.Extra, h.Sum32())
}

// feedCache keeps the last body rendered for each feed with its ETag, so a
// calendar app that polls without a conditional request (many do) costs
// two small queries instead of a render. Bounded in bytes, least recently
// used first out.
type feedCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *feedEntry, most recent first
	items map[string]*list.Element
}

type feedEntry struct {
	key, etag string
	body      []byte
}

func newFeedCache(maxBytes int) *feedCache {
	return &feedCache{max: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

func (fc *feedCache) get(key, etag string) ([]byte, bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	el, ok := fc.items[key]
	if !ok || el.Value.(*feedEntry).etag != etag {
		return nil, false
	}
	fc.order.MoveToFront(el)
	return el.Value.(*feedEntry).body, true
}

func (fc *feedCache) put(key, etag string, body []byte) {
	if fc.max <= 0 || len(body) > fc.max/4 {
		return
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if el, ok := fc.items[key]; ok {
		fc.size -= len(el.Value.(*feedEntry).body)
		fc.order.Remove(el)
	}
	fc.items[key] = fc.order.PushFront(&feedEntry{key: key, etag: etag, body: body})
	fc.size += len(body)
	for fc.size > fc.max {
		last := fc.order.Back()
		e := last.Value.(*feedEntry)
		fc.order.Remove(last)
		delete(fc.items, e.key)
		fc.size -= len(e.body)
	}
}

func writeCalendar(c *gin.Context, filename string, body []byte) {
	c.Header("Content-Disposition", `inline; filename="`+filename+`"`)
	c.Data(http.StatusOK, ical.ContentType(""), body)
}

func feedTokenParam(c *gin.Context) string {
	return strings.TrimSuffix(c.Param("token"), ".ics")
}

// userFeed serves a user's private feed: every session of their groups with
// their answers.
func (s *Server) userFeed(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	prefs, err := s.Store.CalendarPrefs(ctx, id)
	if err != nil || prefs.FeedRevoked || !s.validFeedToken("user", id, prefs.FeedVersion, feedTokenParam(c)) {
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			s.serverError(c, "feed prefs", err)
			return
		}
		c.String(http.StatusNotFound, "Flux introuvable : son adresse a peut-être été renouvelée.\n")
		return
	}
	u, err := s.Store.UserByID(ctx, id)
	if err != nil {
		s.serverError(c, "feed owner", err)
		return
	}
	st, err := s.Store.UserFeedStamp(ctx, id)
	if err != nil {
		s.serverError(c, "feed stamp", err)
		return
	}
	// The owner's name and address are in every ATTENDEE line.
	etag := stampETag("u", prefs.FeedVersion, st, u.Name+"\x00"+u.Email)
	if notModified(c, etag, st.LastModified) {
		return
	}
	key := "u:" + id
	if body, ok := s.feedCache.get(key, etag); ok {
		writeCalendar(c, "agora.ics", body)
		return
	}
	items, err := s.Store.UserFeedSessions(ctx, id)
	if err != nil {
		s.serverError(c, "feed sessions", err)
		return
	}
	body, err := s.Invite.Feed("Agora – mes séances", &ical.Person{Name: u.Name, Email: u.Email}, items)
	if err != nil {
		s.serverError(c, "render feed", err)
		return
	}
	s.feedCache.put(key, etag, body)
	writeCalendar(c, "agora.ics", body)
}

// groupFeed serves a group's feed: public for open groups, with the
// group's token otherwise.
func (s *Server) groupFeed(c *gin.Context) {
	ctx := c.Request.Context()
	id := strings.TrimSuffix(c.Param("id"), ".ics")
	g, err := s.Store.GroupByID(ctx, id)
	if err != nil || g.Proposal() {
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			s.serverError(c, "feed group", err)
			return
		}
		c.String(http.StatusNotFound, "Flux introuvable.\n")
		return
	}
	token := feedTokenParam(c)
	if g.JoinPolicy != models.JoinOpen && !s.validFeedToken("group", g.ID, g.FeedVersion, token) {
		c.String(http.StatusNotFound, "Flux introuvable : son adresse a peut-être été renouvelée.\n")
		return
	}
	s.serveGroupCalendar(c, g)
}

func (s *Server) serveGroupCalendar(c *gin.Context, g models.Group) {
	ctx := c.Request.Context()
	st, err := s.Store.GroupFeedStamp(ctx, g.ID)
	if err != nil {
		s.serverError(c, "feed stamp", err)
		return
	}
	etag := stampETag("g", g.FeedVersion, st, "")
	if notModified(c, etag, st.LastModified) {
		return
	}
	key := "g:" + g.ID
	if body, ok := s.feedCache.get(key, etag); ok {
		writeCalendar(c, "groupe.ics", body)
		return
	}
	items, err := s.Store.GroupFeedSessions(ctx, g.ID)
	if err != nil {
		s.serverError(c, "feed sessions", err)
		return
	}
	for i := range items {
		items[i].GroupTitle = g.Title
	}
	body, err := s.Invite.Feed(g.Title, nil, items)
	if err != nil {
		s.serverError(c, "render feed", err)
		return
	}
	s.feedCache.put(key, etag, body)
	writeCalendar(c, "groupe.ics", body)
}

// groupICS downloads a group's schedule (logged in: members, or anyone for
// open groups).
func (s *Server) groupICS(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupRoles)
	if !ok {
		return
	}
	if g.JoinPolicy != models.JoinOpen && !g.memberOrManager() {
		s.forbidden(c, "Le calendrier de ce groupe est réservé à ses membres.")
		return
	}
	s.serveGroupCalendar(c, g.Group)
}

// sessionICS downloads one session (no METHOD: a snapshot to import).
func (s *Server) sessionICS(c *gin.Context) {
	sess, g, ok := s.loadGroupSession(c, needGroupRoles)
	if !ok {
		return
	}
	if g.JoinPolicy != models.JoinOpen && !g.memberOrManager() {
		s.forbidden(c, "Cette séance est réservée aux membres du groupe.")
		return
	}
	body, err := s.Invite.Feed(sess.Title, nil, []models.SessionListItem{{Session: sess, GroupTitle: g.Title}})
	if err != nil {
		s.serverError(c, "render session calendar", err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="seance.ics"`)
	c.Data(http.StatusOK, ical.ContentType(""), body)
}

// --- "Mon agenda": the private feed and reminders ---

type calendarPage struct {
	Layout
	FeedURL    string
	WebcalURL  string
	Prefs      models.CalendarPrefs
	GroupFeeds []groupFeedLink
}

type groupFeedLink struct {
	Title, URL string
}

func (s *Server) calendarShow(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	prefs, err := s.Store.CalendarPrefs(ctx, u.ID)
	if err != nil {
		s.serverError(c, "calendar prefs", err)
		return
	}
	p := calendarPage{Layout: s.layout(c, "Mon agenda", "", Crumb{Label: "Mon agenda"}), Prefs: prefs, FeedURL: s.userFeedURL(*u, prefs)}
	p.WebcalURL = webcal(p.FeedURL)
	s.render(c, http.StatusOK, "calendar", p)
}

// calendarFeed regenerates or revokes the private feed URL.
func (s *Server) calendarFeed(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	revoke := c.PostForm("action") == "revoke"
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := tx.RotateUserFeed(ctx, u.ID, revoke); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "user.feed", "user", u.ID, map[bool]string{true: "revoke", false: "regenerate"}[revoke])
	})
	if err != nil {
		s.serverError(c, "rotate feed", err)
		return
	}
	msg := "Votre flux a une nouvelle adresse. L’ancienne ne fonctionne plus : abonnez votre agenda à la nouvelle."
	if revoke {
		msg = "Votre flux est désactivé. Son adresse ne fonctionne plus."
	}
	s.redirectWithFlash(c, "/calendar", "success", msg)
}

func (s *Server) calendarReminders(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	on := c.PostForm("reminders") == "true"
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := tx.SetReminders(ctx, u.ID, on); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "user.reminders", "user", u.ID, strconv.FormatBool(on))
	})
	if err != nil {
		s.serverError(c, "set reminders", err)
		return
	}
	msg := "Vous ne recevrez plus de rappel la veille des séances."
	if on {
		msg = "Vous recevrez un rappel la veille de chaque séance à laquelle vous avez répondu oui."
	}
	s.redirectWithFlash(c, "/calendar", "success", msg)
}
