package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

// The REST API v1: JSON under /api/v1, authenticated by an API key in
// "Authorization: Bearer <key>", acting with its owner's permissions through
// the same model code as the web pages. Errors are RFC 9457 problem details
// in French. The routes, with their documentation, are listed in
// api_routes.go; the OpenAPI document is built from that list.

const (
	apiBase         = "/api/v1"
	ctxAPIKey       = "agora.api_key"
	problemJSON     = "application/problem+json"
	idempotencyHdr  = "Idempotency-Key"
	defaultPageSize = 50
	maxPageSize     = 200
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type      string       `json:"type" doc:"URI of the kind of problem; its anchor on the reference page explains it"`
	Title     string       `json:"title" doc:"short French summary of the kind of problem"`
	Status    int          `json:"status" doc:"HTTP status code"`
	Detail    string       `json:"detail" doc:"French explanation of this occurrence"`
	Instance  string       `json:"instance,omitempty" doc:"path of the request"`
	RequestID string       `json:"request_id" doc:"identifier of the request, also in the X-Request-ID header and the logs"`
	Errors    []FieldError `json:"errors,omitempty" doc:"fields at fault (validation errors)"`
}

// FieldError names one field at fault.
type FieldError struct {
	Field  string `json:"field" doc:"name of the field in the request body or query"`
	Detail string `json:"detail" doc:"French explanation"`
}

// problemKinds gives each status its type anchor and French title.
var problemKinds = map[int][2]string{
	http.StatusBadRequest:            {"requete-invalide", "Requête invalide"},
	http.StatusUnauthorized:          {"non-authentifie", "Authentification requise"},
	http.StatusForbidden:             {"interdit", "Action non autorisée"},
	http.StatusNotFound:              {"introuvable", "Ressource introuvable"},
	http.StatusMethodNotAllowed:      {"methode-non-permise", "Méthode non permise"},
	http.StatusConflict:              {"conflit", "Conflit"},
	http.StatusRequestEntityTooLarge: {"trop-volumineux", "Requête trop volumineuse"},
	http.StatusUnsupportedMediaType:  {"type-non-supporte", "Type de contenu non supporté"},
	http.StatusUnprocessableEntity:   {"validation", "Données invalides"},
	http.StatusTooManyRequests:       {"trop-de-requetes", "Trop de requêtes"},
	http.StatusInternalServerError:   {"erreur-interne", "Erreur interne"},
	http.StatusServiceUnavailable:    {"indisponible", "Service indisponible"},
}

// apiProblem answers with a problem detail and stops the chain.
func (s *Server) apiProblem(c *gin.Context, status int, detail string, fields ...FieldError) {
	kind, ok := problemKinds[status]
	if !ok {
		kind = [2]string{"erreur", http.StatusText(status)}
	}
	p := Problem{
		Type:      s.Config.URL("/api#" + kind[0]),
		Title:     kind[1],
		Status:    status,
		Detail:    detail,
		Instance:  c.Request.URL.Path,
		RequestID: c.GetString(ctxRequestID),
		Errors:    fields,
	}
	b, _ := json.Marshal(p)
	c.Header("Content-Type", problemJSON)
	c.Header("Cache-Control", "no-store")
	c.Writer.WriteHeader(status)
	_, _ = c.Writer.Write(b)
	c.Abort()
}

// apiJSON answers with v as JSON.
func (s *Server) apiJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.apiServerError(c, "encode json", err)
		return
	}
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Writer.WriteHeader(status)
	_, _ = c.Writer.Write(b)
}

func (s *Server) apiServerError(c *gin.Context, what string, err error) {
	s.log(c).Error(what, "error", err)
	s.apiProblem(c, http.StatusInternalServerError, "Une erreur inattendue est survenue. Réessayez ; si elle persiste, donnez l'identifiant de la requête à l'équipe d'Agora.")
}

// --- middleware ---

// apiHeaders: JSON answers need no script, style or frame.
func (s *Server) apiHeaders(c *gin.Context) {
	s.setAPIHeaders(c)
	c.Next()
}

func (s *Server) setAPIHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if s.Config.Secure() {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
	}
}

// apiRecover turns a panic into a logged 500 problem.
func (s *Server) apiRecover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log(c).Error("panic", "panic", fmt.Sprint(v))
			if !c.Writer.Written() {
				s.apiServerError(c, "panic", fmt.Errorf("%v", v))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// apiLimitBody refuses bodies over the configured size with 413.
func (s *Server) apiLimitBody(c *gin.Context) {
	limit := s.Config.MaxBodyBytes
	if c.Request.ContentLength > limit {
		s.apiProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("Le corps de la requête dépasse %d octets.", limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// apiRateLimitIP limits every API request per client address, before the
// key is even looked up.
func (s *Server) apiRateLimitIP(c *gin.Context) {
	if ok, wait := s.perIP.Allow(clientIP(c)); !ok {
		s.apiTooMany(c, wait)
		return
	}
	c.Next()
}

func (s *Server) apiTooMany(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	s.apiProblem(c, http.StatusTooManyRequests, "Trop de requêtes en peu de temps. Attendez le nombre de secondes indiqué par l'en-tête Retry-After avant de recommencer.")
}

// apiAuth authenticates the request by its API key; the key's owner becomes
// the current user. Session cookies are ignored: the API is not reachable
// with a browser's session, so it needs no CSRF protection.
func (s *Server) apiAuth(c *gin.Context) {
	c.Header("Vary", "Authorization")
	auth := c.GetHeader("Authorization")
	scheme, secret, _ := strings.Cut(auth, " ")
	if auth == "" || !strings.EqualFold(scheme, "Bearer") {
		c.Header("WWW-Authenticate", `Bearer realm="agora"`)
		s.apiProblem(c, http.StatusUnauthorized, "Cette requête demande une clé d'API dans l'en-tête « Authorization: Bearer <clé> ». Créez une clé sur votre profil, rubrique « Clés d'API ».")
		return
	}
	key, user, err := s.Store.APIKeyUser(c.Request.Context(), strings.TrimSpace(secret))
	switch {
	case errors.Is(err, models.ErrNotFound):
		c.Header("WWW-Authenticate", `Bearer realm="agora", error="invalid_token"`)
		s.apiProblem(c, http.StatusUnauthorized, "Cette clé d'API n'existe pas ou a été révoquée.")
		return
	case err != nil:
		s.log(c).Error("api key lookup", "error", err)
		s.apiProblem(c, http.StatusServiceUnavailable, "Agora est momentanément indisponible. Réessayez dans quelques instants.")
		return
	}
	c.Set(ctxUser, &user)
	c.Set(ctxAPIKey, &key)
	// Record use at most once a minute: no write on every request.
	if s.Now().Sub(key.LastUsedAt) > time.Minute {
		if err := s.Store.Tx(c.Request.Context(), func(tx *models.Tx) error { return tx.TouchAPIKey(c.Request.Context(), key.ID) }); err != nil {
			s.log(c).Warn("touch api key", "error", err)
		}
	}
	c.Next()
}

func currentAPIKey(c *gin.Context) *models.APIKey {
	if v, ok := c.Get(ctxAPIKey); ok {
		return v.(*models.APIKey)
	}
	return nil
}

// apiRateLimitKey limits requests per API key.
func (s *Server) apiRateLimitKey(c *gin.Context) {
	if ok, wait := s.perKey.Allow(currentAPIKey(c).ID); !ok {
		s.apiTooMany(c, wait)
		return
	}
	c.Next()
}

// apiAudit writes every authenticated API call to the audit log, once it is
// answered: who (the key's owner), with which key, what, and the status.
// Changes are also audited by the models in their own transactions.
func (s *Server) apiAudit(c *gin.Context) {
	c.Next()
	key := currentAPIKey(c)
	detail := fmt.Sprintf("%s %s → %d (clé « %s »)", c.Request.Method, c.FullPath(), c.Writer.Status(), key.Name)
	ctx := c.Request.Context()
	if err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.Audit(ctx, actor(c), "api.request", "api_key", key.ID, detail)
	}); err != nil {
		s.log(c).Error("audit api call", "error", err)
	}
}

// apiNotFound answers unknown API URLs and methods with problems.
func (s *Server) apiNotFound(c *gin.Context) {
	s.apiProblem(c, http.StatusNotFound, "Cette adresse n'existe pas dans l'API. La liste des adresses est dans /api/v1/openapi.json.")
}

func (s *Server) apiMethodNotAllowed(c *gin.Context) {
	s.apiProblem(c, http.StatusMethodNotAllowed, "Cette adresse n'accepte pas la méthode "+c.Request.Method+".")
}

func isAPIPath(c *gin.Context) bool {
	return c.Request.URL.Path == apiBase || strings.HasPrefix(c.Request.URL.Path, apiBase+"/")
}

// --- request bodies ---

// decodeJSON reads the body into v: 415 unless it is JSON, 413 when too
// large, 400 when unreadable, 422 naming unknown or mistyped fields. It
// returns the raw body (for idempotency) and false when it answered.
func (s *Server) decodeJSON(c *gin.Context, v any) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		s.apiProblem(c, http.StatusUnsupportedMediaType, "Le corps de la requête doit être du JSON, avec l'en-tête « Content-Type: application/json ».")
		return nil, false
	}
	raw, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.apiProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("Le corps de la requête dépasse %d octets.", s.Config.MaxBodyBytes))
		return nil, false
	}
	if err != nil {
		s.apiProblem(c, http.StatusBadRequest, "Le corps de la requête n'a pas pu être lu.")
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return raw, true
	case errors.As(err, &typeErr):
		s.apiProblem(c, http.StatusUnprocessableEntity, "Un champ n'a pas le type attendu.",
			FieldError{Field: typeErr.Field, Detail: "Ce champ doit être de type " + jsonTypeName(typeErr.Type.Kind().String()) + "."})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		s.apiProblem(c, http.StatusUnprocessableEntity, "Le corps de la requête contient un champ inconnu.",
			FieldError{Field: field, Detail: "Ce champ n'existe pas pour cette ressource."})
	default:
		s.apiProblem(c, http.StatusBadRequest, "Le corps de la requête n'est pas du JSON valide.")
	}
	return nil, false
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "chaîne"
	case "int", "int64", "int32", "float64":
		return "nombre"
	case "bool":
		return "booléen"
	case "slice":
		return "tableau"
	case "struct", "map", "ptr":
		return "objet"
	}
	return kind
}

// --- pagination ---

// Page is one page of a list.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor" doc:"pass it as ?cursor= to get the next page; null on the last page"`
}

// pageParams reads ?limit= and ?cursor=. The cursor is opaque to clients.
func (s *Server) pageParams(c *gin.Context) (limit, offset int, ok bool) {
	limit = defaultPageSize
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			s.apiProblem(c, http.StatusBadRequest, "Paramètre limit invalide.",
				FieldError{Field: "limit", Detail: fmt.Sprintf("Donnez un nombre entier entre 1 et %d.", maxPageSize)})
			return 0, 0, false
		}
		limit = n
	}
	if v := c.Query("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "o:") || n < 0 {
			s.apiProblem(c, http.StatusBadRequest, "Paramètre cursor invalide.",
				FieldError{Field: "cursor", Detail: "Reprenez la valeur next_cursor donnée par la page précédente, telle quelle."})
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

// pageOf builds a page from the items at offset, fetched with limit+1 so
// that we know whether another page follows.
func pageOf[T any](items []T, limit, offset int) Page[T] {
	p := Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		next := base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset+limit)))
		p.NextCursor = &next
	}
	return p
}

// pageSlice pages a list already held in memory.
func pageSlice[T any](all []T, limit, offset int) Page[T] {
	if offset > len(all) {
		offset = len(all)
	}
	end := min(len(all), offset+limit+1)
	return pageOf(all[offset:end], limit, offset)
}

// --- idempotency ---

// idempotent runs a create that may be retried: with an Idempotency-Key
// header, the first answer is stored in the transaction of the change, and a
// retry with the same key and body gets it again (Idempotent-Replayed:
// true) without changing anything; the same key with another body is a 422.
// fn makes the change in tx and returns the status, the Location and the
// body to answer.
func (s *Server) idempotent(c *gin.Context, body []byte, fn func(tx *models.Tx) (int, string, any, error)) {
	ctx := c.Request.Context()
	user := currentUser(c)
	key := c.GetHeader(idempotencyHdr)
	if key != "" && (len(key) > 255 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e })) {
		s.apiProblem(c, http.StatusBadRequest, "L'en-tête Idempotency-Key doit faire de 1 à 255 caractères ASCII visibles.",
			FieldError{Field: idempotencyHdr, Detail: "Valeur invalide."})
		return
	}
	sum := sha256.Sum256(append([]byte(c.Request.Method+" "+c.Request.URL.Path+"\n"), body...))
	hash := hex.EncodeToString(sum[:])
	if key != "" && s.replayIdempotent(c, user.ID, key, hash) {
		return
	}
	var status int
	var location string
	var out []byte
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		st, loc, v, err := fn(tx)
		if err != nil {
			return err
		}
		if out, err = json.Marshal(v); err != nil {
			return err
		}
		status, location = st, loc
		if key == "" {
			return nil
		}
		return tx.SaveIdempotentResponse(ctx, user.ID, key, models.IdempotentResponse{RequestHash: hash, Status: st, Location: loc, Body: string(out)})
	})
	if key != "" && errors.Is(err, models.ErrConflict) {
		// A concurrent request with the same key won: answer as it did.
		if s.replayIdempotent(c, user.ID, key, hash) {
			return
		}
	}
	if err != nil {
		s.apiModelError(c, err)
		return
	}
	if location != "" {
		c.Header("Location", location)
	}
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Writer.WriteHeader(status)
	_, _ = c.Writer.Write(out)
}

// replayIdempotent answers with the stored response of key, if any.
func (s *Server) replayIdempotent(c *gin.Context, userID, key, hash string) bool {
	prev, err := s.Store.IdempotentResponse(c.Request.Context(), userID, key)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return false
	case err != nil:
		s.apiServerError(c, "read idempotency key", err)
		return true
	case prev.RequestHash != hash:
		s.apiProblem(c, http.StatusUnprocessableEntity, "Cette clé d'idempotence a déjà servi pour une autre requête. Utilisez une nouvelle clé pour chaque nouvelle demande.",
			FieldError{Field: idempotencyHdr, Detail: "Déjà utilisée avec un autre contenu."})
		return true
	}
	if prev.Location != "" {
		c.Header("Location", prev.Location)
	}
	c.Header("Idempotent-Replayed", "true")
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Writer.WriteHeader(prev.Status)
	_, _ = c.Writer.WriteString(prev.Body)
	return true
}

// apiModelError turns the models' errors into problems.
func (s *Server) apiModelError(c *gin.Context, err error) {
	if c.IsAborted() {
		return
	}
	var ve validationError
	var pe problemError
	switch {
	case errors.As(err, &pe):
		s.apiProblem(c, pe.status, pe.detail)
	case errors.As(err, &ve):
		s.apiProblem(c, http.StatusUnprocessableEntity, "Certaines données sont invalides.", ve.fields...)
	case errors.Is(err, models.ErrNotFound):
		s.apiProblem(c, http.StatusNotFound, "Cette ressource n'existe pas, ou vous n'y avez pas accès.")
	case errors.Is(err, models.ErrForbidden):
		s.apiProblem(c, http.StatusForbidden, "Vous n'avez pas les droits nécessaires pour cette action.")
	case errors.Is(err, models.ErrConflict):
		s.apiProblem(c, http.StatusConflict, "Cette action entre en conflit avec l'état actuel de la ressource.")
	default:
		if detail, status := modelErrorText(err); status != 0 {
			s.apiProblem(c, status, detail)
			return
		}
		s.apiServerError(c, "api", err)
	}
}

// validationError carries field errors out of a transaction.
type validationError struct{ fields []FieldError }

func (v validationError) Error() string { return fmt.Sprintf("validation: %d field(s)", len(v.fields)) }

// fieldErrors turns form errors into a validation error (nil when none).
func fieldErrors(errs map[string]string) error {
	if len(errs) == 0 {
		return nil
	}
	var v validationError
	for f, d := range errs {
		v.fields = append(v.fields, FieldError{Field: f, Detail: d})
	}
	sortFieldErrors(v.fields)
	return v
}

func sortFieldErrors(f []FieldError) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Field < f[j-1].Field; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// apiTime formats a time for the API: RFC 3339 with the Paris offset.
func apiTime(t time.Time) string { return t.In(models.Paris).Format(time.RFC3339) }

// apiTimePtr is apiTime, or null for the zero time.
func apiTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := apiTime(t)
	return &v
}
