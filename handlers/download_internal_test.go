package handlers

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// A download that fails after its first bytes went out (exports stream)
// ends with the connection cut, through the real middleware and net/http:
// the client gets an error, not a response that looks whole.
func TestCutDownloadClosesTheConnection(t *testing.T) {
	s := &Server{Deps: Deps{Logger: slog.New(slog.DiscardHandler)}}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/export", s.recoverPanic, func(c *gin.Context) {
		c.Header("Content-Type", "text/csv")
		_, _ = c.Writer.WriteString("Nom;Adresse\r\n")
		c.Writer.Flush()
		s.cutDownload(c, "export registrations", errors.New("disk on fire"))
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/export")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("the cut download read as whole: %q", body)
	}
	if string(body) != "Nom;Adresse\r\n" {
		t.Errorf("read %q before the cut", body)
	}
}
