// Package templates embeds Agora's HTML pages and emails.
package templates

import "embed"

// FS holds layouts/, partials/, pages/ and email/.
//
//go:embed layouts partials pages email
var FS embed.FS
